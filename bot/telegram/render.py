"""Answers, sources and reports as Telegram HTML, split into messages Telegram accepts.

Every text from an article or a user goes through `escape`; every paragraph is self-contained
HTML (its tags close inside it), so paragraphs can be packed into messages of at most LIMIT
visible characters, and a paragraph longer than that is cut at a line, sentence or word boundary
with its open tags closed before the cut and reopened after it. Pure functions, no Telegram types.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from bot.answer import NO_ANSWER, Answer, Citation
from bot.render import byline, date_notes, excerpt, page_label, understood_line
from corpus.types import ArticleInfo

LIMIT = 4096  # Telegram's limit on a message's visible text
SEPARATOR = "\n\n"
_TAG = re.compile(r"<(/?)([a-zA-Z][\w-]*)[^>]*>")
_SENTENCE_END = re.compile(r"[.!?…][\"”’')\]]*\s+")


def escape(text: str) -> str:
    """Text safe inside Telegram HTML: `<`, `>` and `&` become entities."""
    return html.escape(text, quote=False)


def is_web_url(url: str | None) -> bool:
    return bool(url) and str(url).lower().startswith(("http://", "https://"))


def link(text_html: str, url: str | None) -> str:
    """`text_html` linked to `url` when it is an http(s) URL, else as it is."""
    if not is_web_url(url):
        return text_html
    return f'<a href="{html.escape(str(url), quote=True)}">{text_html}</a>'


def _details(article: ArticleInfo) -> str:
    return ", ".join(x for x in (article.source, (article.published or "")[:10]) if x)


def _cited_details(c: Citation) -> str:
    """'Outlet, 2017-12-01', and the page quoted where the article has pages."""
    return ", ".join(x for x in (_details(c.article), page_label(c.article, c.passage)) if x)


def source_line(c: Citation) -> str:
    """'[1] Title — Outlet, 2017-12-01', the title linked to the article."""
    details = _cited_details(c)
    tail = f" — {escape(details)}" if details else ""
    return f"[{c.n}] {link(escape(c.article.title), c.article.url)}{tail}"


def cited_groups(answer: Answer) -> list[tuple[str, int]]:
    """Consecutive sentences citing one source, joined: (text, citation number)."""
    groups: list[tuple[list[str], int]] = []
    for sentence in answer.sentences:
        if groups and groups[-1][1] == sentence.citation:
            groups[-1][0].append(sentence.text)
        else:
            groups.append(([sentence.text], sentence.citation))
    return [(" ".join(texts), n) for texts, n in groups]


def answer_paragraphs(answer: Answer) -> list[str]:
    """The excerpts, each ending with its linked citation number, then the sources block."""
    if answer.abstained:
        return abstention_paragraphs(answer)
    by_number = {c.n: c for c in answer.citations}
    line = understood_line(answer)
    understood = [f"<i>{escape(line)}</i>"] if line else []
    notes = date_notes(answer)
    paragraphs = understood + [
        f"<blockquote>{escape(text)} {link(f'[{n}]', by_number[n].article.url)}</blockquote>"
        for text, n in cited_groups(answer)
    ]
    if notes:
        paragraphs.append("<i>" + escape("\n".join(notes)) + "</i>")
    sources = "\n".join(source_line(c) for c in answer.citations)
    paragraphs.append(f"<b>Sources</b>\n{sources}")
    return paragraphs


def abstention_paragraphs(answer: Answer) -> list[str]:
    paragraphs = [escape(NO_ANSWER)]
    if answer.unknown:
        paragraphs[0] += "\nIt never mentions: " + escape(", ".join(answer.unknown)) + "."
    if answer.related:
        lines = [
            f"{source_line(c)}\n<i>{escape(excerpt(c.passage.text))}</i>" for c in answer.related
        ]
        paragraphs.append("<b>May be related</b>\n" + "\n".join(lines))
    return paragraphs


def sources_paragraphs(answer: Answer) -> list[str]:
    """Full sources: each citation's title, outlet, date, link and the whole passage quoted.

    Never where an article without a link came from: that is a path on the server."""
    citations = answer.related if answer.abstained else answer.citations
    if not citations:
        return ["The last answer cited nothing."]
    paragraphs = []
    for c in citations:
        head = f"<b>[{c.n}] {link(escape(c.article.title), c.article.url)}</b>"
        lines = [head]
        if details := _cited_details(c):
            lines.append(escape(details))
        if is_web_url(c.article.url):
            lines.append(escape(str(c.article.url)))
        passage = escape(" ".join(c.passage.text.split()))
        paragraphs.append("\n".join(lines) + f"\n<blockquote>{passage}</blockquote>")
    return paragraphs


@dataclass(frozen=True)
class IngestSummary:
    """What an upload or a link brought in, as the bot reports it."""

    added: tuple[ArticleInfo, ...] = ()
    updated: tuple[ArticleInfo, ...] = ()
    unchanged: tuple[ArticleInfo, ...] = ()
    failed: tuple[str, ...] = ()


def ingest_paragraphs(summary: IngestSummary) -> list[str]:
    paragraphs = []
    for label, infos in (
        ("Added", summary.added),
        ("Updated", summary.updated),
        ("Already in the archive", summary.unchanged),
    ):
        if infos:
            lines = [f"• {escape(byline(info))}" for info in infos]
            paragraphs.append(f"<b>{label}</b> ({len(infos)})\n" + "\n".join(lines))
    if summary.failed:
        lines = [f"• {escape(reason)}" for reason in summary.failed]
        paragraphs.append("<b>Could not read</b>\n" + "\n".join(lines))
    return paragraphs or ["Nothing was added."]


def bullet_list(title_html: str, items: Iterable[str]) -> str:
    return title_html + "".join(f"\n• {escape(item)}" for item in items)


# splitting


def visible_text(text: str) -> str:
    """The text Telegram shows for this HTML."""
    return "".join(chunk for kind, chunk, _ in _tokens(text) if kind == "text")


def visible_length(text: str) -> int:
    """Length of the text Telegram shows for this HTML, in UTF-16 code units (an upper bound
    on code points, so safe whichever unit Telegram counts)."""
    return _units(visible_text(text))


def _units(text: str) -> int:
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def _tokens(text: str) -> list[tuple[str, str, str]]:
    """(kind, content, tag name): kind "text" holds unescaped text, "open"/"close" a raw tag."""
    tokens: list[tuple[str, str, str]] = []
    pos = 0
    for match in _TAG.finditer(text):
        if match.start() > pos:
            tokens.append(("text", html.unescape(text[pos : match.start()]), ""))
        kind = "close" if match.group(1) else "open"
        tokens.append((kind, match.group(0), match.group(2).lower()))
        pos = match.end()
    if pos < len(text):
        tokens.append(("text", html.unescape(text[pos:]), ""))
    return tokens


def _fit(text: str, room: int) -> int:
    """How many characters of `text` fit in `room` UTF-16 units."""
    used = 0
    for i, ch in enumerate(text):
        used += 2 if ord(ch) > 0xFFFF else 1
        if used > room:
            return i
    return len(text)


def _break_at(text: str, room: int, anywhere: bool) -> int:
    """Where to cut `text` so its head fits in `room`: after a line, else a sentence, else a
    word; with `anywhere`, mid-word when nothing else fits. 0: nothing sensible fits."""
    n = _fit(text, room)
    if n >= len(text):
        return n
    head = text[: n + 1]  # a boundary right at the limit still counts
    newline = head.rfind("\n")
    if newline > 0 and newline >= n // 3:
        return min(newline + 1, n)
    sentence_ends = [m.end() for m in _SENTENCE_END.finditer(head) if m.end() <= n]
    if sentence_ends and sentence_ends[-1] >= n // 3:
        return sentence_ends[-1]
    space = max(head.rfind(" "), head.rfind("\t"))
    if space > 0:
        return min(space + 1, n)
    return n if anywhere else 0


def split_paragraph(paragraph: str, limit: int = LIMIT) -> list[str]:
    """One paragraph as pieces of at most `limit` visible characters, each valid on its own."""
    if visible_length(paragraph) <= limit:
        return [paragraph]
    pieces: list[str] = []
    out: list[str] = []
    stack: list[tuple[str, str]] = []  # open tags: (raw start tag, name)
    size = 0

    def flush() -> None:
        nonlocal out, size
        if size > 0:
            closing = "".join(f"</{name}>" for _, name in reversed(stack))
            pieces.append("".join(out).strip() + closing)
        out = [raw for raw, _ in stack]
        size = 0

    for kind, content, name in _tokens(paragraph):
        if kind == "open":
            out.append(content)
            stack.append((content, name))
            continue
        if kind == "close":
            out.append(content)
            if stack:
                stack.pop()
            continue
        text = content
        while size + _units(text) > limit:
            cut = _break_at(text, limit - size, anywhere=size == 0)
            if cut == 0:
                flush()
                continue
            out.append(escape(text[:cut]))
            size += _units(text[:cut])
            text = text[cut:].lstrip(" ")
            flush()
        if text:
            out.append(escape(text))
            size += _units(text)
    flush()
    return [p for p in pieces if visible_text(p).strip()]


def pack(paragraphs: Sequence[str], limit: int = LIMIT) -> list[str]:
    """Paragraphs joined into as few messages as fit, each at most `limit` visible characters."""
    messages: list[str] = []
    current: list[str] = []
    size = 0
    gap = _units(SEPARATOR)
    for paragraph in paragraphs:
        for piece in split_paragraph(paragraph, limit):
            if not visible_text(piece).strip():
                continue  # Telegram rejects a message with nothing to show
            length = visible_length(piece)
            if current and size + gap + length > limit:
                messages.append(SEPARATOR.join(current))
                current, size = [], 0
            size += length + (gap if current else 0)
            current.append(piece)
    if current:
        messages.append(SEPARATOR.join(current))
    return messages


# the bot's own texts

REFUSAL = "Sorry, this bot is private. Ask its owner to add you."
ADMINS_ONLY = "Sorry, only the bot's admins can add articles."
APOLOGY = "Sorry, something went wrong on my side. Please try again in a moment."
FORGOTTEN = "I no longer remember that answer. Please ask again."
ASK_USAGE = "Ask a question after the command, for example: /ask What did Lavrov say?"
NEW_TOPIC = "New topic: your next question starts afresh."
ADD_USAGE = (
    "Send /add followed by a link (https://…), or send me a .txt, .md, .html, .jsonl, .pdf, "
    ".docx, .eml or .mhtml file."
)
NOTHING_YET = "Ask a question first."


def slow_down(seconds: float) -> str:
    return (
        f"You are asking faster than I can keep up. Please try again in {max(1, round(seconds))} s."
    )


def help_html(admin: bool) -> str:
    lines = [
        "<b>Ask the news archive</b>",
        "Write a question in plain language; in a group, mention me or reply to me.",
        "Answers quote the articles word for word, with numbered sources.",
        "",
        "/ask <i>question</i> — ask (works in groups too)",
        "Follow-ups continue the conversation (in a group: reply to my answer); /new starts afresh",
        "/sources — the full sources of the last answer",
        "/stats — what the archive holds",
        "/timeline <i>topic</i> — the story in time order",
        "/follow <i>topic</i> — new articles about it, as they arrive",
        "/following — your topics; /unfollow <i>number</i> stops one",
        "In any chat, type my @name and a question to share an answer.",
        "/help — this help",
    ]
    if admin:
        lines += [
            "",
            "<b>Admin</b>",
            "/add <i>link</i> — add an article from the web",
            "/feeds — the feeds followed; /addfeed <i>link</i>, /removefeed <i>link</i>",
            "Send a .txt, .md, .html, .jsonl, .pdf, .docx, .eml or .mhtml file to add articles.",
        ]
    return "\n".join(lines)


def start_paragraphs(
    articles: int, outlets: Sequence[str], examples: Sequence[str], admin: bool
) -> list[str]:
    """What the bot is, what the archive holds, and questions to try."""
    named = ", ".join(escape(o) for o in outlets[:5])
    if len(outlets) > 5:
        named += f" and {len(outlets) - 5} more"
    holds = f"The archive holds <b>{articles}</b> article{'s' if articles != 1 else ''}"
    holds += f" from {named}." if named else "."
    paragraphs = [
        "I answer questions from a news archive with excerpts quoted word for word from the "
        "articles, each with a numbered source. When the archive holds no answer, I say so.",
        holds,
    ]
    if examples:
        paragraphs.append(bullet_list("Try asking:", examples))
    paragraphs.append(help_html(admin))
    return paragraphs


def stats_html(articles: int, passages: int, outlets: Sequence[str], updated: str) -> str:
    return "\n".join(
        [
            "<b>The archive</b>",
            f"Articles: {articles}",
            f"Passages: {passages}",
            f"Outlets: {len(outlets)}",
            f"Last update: {escape(updated or 'never')}",
        ]
    )
