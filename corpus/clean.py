"""Strip the junk that scraped news carries, and find a title when there is none.

Junk is recognised line by line with a small set of named rules (image credits, audio-player and
share-bar chrome, "follow us" lines, comment sections, CAPTCHAs, cookie banners). Rules only look at
short lines, so a real paragraph that happens to mention "Twitter" or "cookies" is never dropped.
Kept lines are copied verbatim: quotes taken from the cleaned text are quotes of the source.
"""

from __future__ import annotations

import re

from corpus.split import sentences

MAX_JUNK_WORDS = 25

JUNK_RULES: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (name, re.compile(pattern, re.IGNORECASE))
    for name, pattern in (
        (
            "image credit",
            r"^(?:©|\(c\)\s|copyright\b|photo(?:graph)?s?\s*(?:by\b|:|credit)|image\s*(?:by\b|:|credit)"
            r"|credit:|picture:|illustration:)"
            r"|(?:getty images|via getty|ap photo|/reuters|/afp|/epa)\W*$",
        ),
        (
            "page chrome",
            r"^(?:experimental feature|listen to (?:this )?article|listen"
            r"|play(?:ing)? (?:audio|video)|share(?: this)?(?: article| story| page)?|share on \w+"
            r"|save(?: article| for later)?"
            r"|print(?: this page)?|advertisement|sponsored(?: content)?|skip to (?:main )?content"
            r"|read more|related(?: articles| stories)?|recommended|most read|subscribe(?: now)?"
            r"|sign up\b.*\bnewsletter.*|open in app|loading|\d+ min(?:ute)?s? read"
            r"|(?:reporting|writing|editing|additional reporting) by\b.*)\W*$",
        ),
        (
            "social follow",
            r"^follow\b.*\bon (?:twitter|x|facebook|instagram|linkedin|threads|bluesky|telegram)\b"
            r"|^(?:@\w+[\s,]*)+$",
        ),
        (
            "comments",
            r"^(?:leave a (?:reply|comment)|post a comment|add a comment|show comments|cancel reply"
            r"|\d+ comments?|comments?|reply|view comments)\W*$",
        ),
        ("captcha", r"\bcaptcha\b"),
        ("cookie notice", r"\bcookies?\b.*\b(?:accept|consent|policy|settings)\b"),
        ("no words", r"^[\W_]*$"),
    )
)

_TITLE_MAX_WORDS = 20
_INFERRED_TITLE_WORDS = 14
_CLAUSE_BREAK = re.compile(r",\s|\s[—–]\s|:\s|;\s")
_SENTENCE_END = re.compile(r"[.,;:][”’\"')\]»]*$")  # a closing quote may follow the stop


def junk_rule(line: str) -> str | None:
    """The name of the junk rule a line matches, or None for a line worth keeping."""
    stripped = line.strip()
    if len(stripped.split()) > MAX_JUNK_WORDS:
        return None
    for name, pattern in JUNK_RULES:
        if pattern.search(stripped):
            return name
    return None


def clean_text(text: str) -> str:
    """Drop junk lines; keep every other line verbatim, one blank line between paragraphs."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\ufeff", "")
    kept: list[str] = []
    for line in text.split("\n"):
        line = line.rstrip()
        if not line.strip():
            if kept and kept[-1]:
                kept.append("")
            continue
        if junk_rule(line) is None:
            kept.append(line.strip())
    while kept and not kept[-1]:
        kept.pop()
    return "\n".join(kept)


def looks_like_title(line: str) -> bool:
    """A headline: short, one line, not ending like a sentence of body text."""
    words = line.split()
    return 0 < len(words) <= _TITLE_MAX_WORDS and not _SENTENCE_END.search(line.rstrip())


def infer_title(text: str) -> str:
    """A title from the first sentence of the body, cut at a clause break if it runs long."""
    spans = sentences(text)
    if not spans:
        return ""
    first = text[spans[0][0] : spans[0][1]].strip()
    words = first.split()
    if len(words) <= _INFERRED_TITLE_WORDS:
        return first.rstrip(".!")
    for match in _CLAUSE_BREAK.finditer(first):
        head = first[: match.start()]
        if 5 <= len(head.split()) <= _INFERRED_TITLE_WORDS + 6:
            return head
    return " ".join(words[:_INFERRED_TITLE_WORDS]).rstrip(",;:") + "…"


def split_title(text: str) -> tuple[str, str]:
    """(title, body) of cleaned plain text: the first line if it reads as a title, else inferred."""
    first, _, rest = text.partition("\n")
    if looks_like_title(first) and rest.strip():
        return first.strip(), rest.strip("\n")
    return infer_title(text), text
