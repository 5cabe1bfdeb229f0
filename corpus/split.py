"""Sentence-aware splitting of article text into overlapping passages.

Sentences are found with rules tuned for news prose: honorifics and titles ("Mr", "Gen", "Sen."),
dotted acronyms ("U.S.", "U.N."), initials ("John F. Kennedy"), ellipses (". . ."), closing curly
quotes that belong to the sentence they end, and em dashes that never end one. Every span is an
offset into the original text, so `text[s:e]` is always the exact sentence.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from corpus.types import Passage

Span = tuple[int, int]

ABBREVIATIONS = frozenset(
    """
    mr mrs ms mx dr prof gen lt col maj capt cpt sgt cmdr adm gov sen rep rev hon pres supt
    insp st mt ft jr sr inc ltd co corp plc llc bros dept univ assn vs v etc al cf approx est
    vol fig jan feb mar apr jun jul aug sep sept oct nov dec mon tue tues wed thu thur thurs
    fri sat sun ave blvd rd
    """.split()  # noqa: SIM905 (a word list reads better as text)
)
# After a dotted acronym ("U.S.") a sentence ends only when one of these words starts the next.
SENTENCE_STARTERS = frozenset(
    """
    The A An He She It They We I You But And Or So Yet In On At For This That These Those There
    Its His Her Their Our My What Why How When Where Who Which While After Before Although
    However Meanwhile Still Mr Mrs Ms Dr
    """.split()  # noqa: SIM905 (a word list reads better as text)
)

_TERMINAL = re.compile(r"(?P<term>[.!?]+|…)(?P<close>[”’\"')\]»]*)(?P<space>\s+)(?=(?P<next>\S))")
_OPENERS = "“‘\"'([«"
_ACRONYM = re.compile(r"(?:[A-Za-z]\.)+[A-Za-z]")
_WORD = re.compile(r"[^\s.,;:!?”’\"')\]]+")
_TERMINAL_END = re.compile(r"[.!?…:;][”’\"')\]»]*$")
# a list item or a table row stands on its own line: the line after it never continues it
_LIST_ITEM = re.compile(r"^(?:[-*•▪◦·–]\s|\d{1,3}[.)]\s|\|)")


@dataclass(frozen=True)
class SplitConfig:
    """How articles are cut into passages; stored in the manifest, since it changes the index."""

    sentences_per_passage: int = 6
    overlap: int = 3  # so any four consecutive sentences share a passage (answers quote them)
    max_chars: int = 1000
    max_sentence_chars: int = 600


def paragraphs(text: str) -> list[Span]:
    """Spans of paragraphs: blank lines separate them; a hard-wrapped line (one that starts in
    lower case after a line not ending a sentence) joins the one before, except after a list item
    or a table row. Headings, list items and table rows stay lines of their own."""
    spans: list[Span] = []
    start: int | None = None
    last_end = 0
    pos = 0
    previous = ""
    for line in text.splitlines(keepends=True):
        body = line.rstrip("\r\n")
        stripped = body.strip()
        line_start = pos
        pos += len(line)
        if not stripped:
            if start is not None:
                spans.append((start, last_end))
                start = None
            continue
        lead = line_start + (len(body) - len(body.lstrip()))
        tail = line_start + len(body.rstrip())
        # the paragraph so far ends where its last line does: only that line is looked at
        wrapped = (
            start is not None
            and stripped[0].islower()
            and not _TERMINAL_END.search(previous)
            and not _LIST_ITEM.match(previous)
        )
        previous = stripped
        if start is not None and not wrapped:
            spans.append((start, last_end))
            start = None
        if start is None:
            start = lead
        last_end = tail
    if start is not None:
        spans.append((start, last_end))
    return spans


def _word_before(text: str, end: int) -> str:
    """The run of non-space characters ending at `end`.

    Scans back only to the previous space, never over the text before it, so checking every
    boundary of a paragraph stays linear in its length."""
    start = end
    while start > 0 and not text[start - 1].isspace():
        start -= 1
    return text[start:end]


def _after_spaced_dot(text: str, end: int) -> bool:
    """Whether text[:end] ends with a dot and then spaces: the inside of ". . ."."""
    start = end
    while start > 0 and text[start - 1].isspace():
        start -= 1
    return start < end and start > 0 and text[start - 1] == "."


def _is_boundary(text: str, match: re.Match[str]) -> bool:
    term, nxt = match.group("term"), match.group("next")
    if not (nxt.isupper() or nxt.isdigit() or nxt in _OPENERS):
        return False
    if term in ("…",) or term.startswith(".."):
        return False
    if term == "." and _after_spaced_dot(text, match.start()):
        return False  # the last dot of a spaced ellipsis ". . ."
    if term != ".":
        return True
    word = _word_before(text, match.start())
    if not word:
        return True
    token = word.lstrip(_OPENERS + "—–-")
    if token.lower() in ABBREVIATIONS:
        return False
    if token.lower() in ("no", "nos"):
        return not nxt.isdigit()
    if len(token) == 1 and token.isupper():
        return False  # an initial: "John F. Kennedy"
    if _ACRONYM.fullmatch(token):
        following = _WORD.match(text, match.start("next"))
        return following is not None and following.group(0) in SENTENCE_STARTERS
    return True


def _split_long(text: str, start: int, end: int, limit: int) -> Iterator[Span]:
    """Cut an over-long run of text without sentence punctuation at whitespace."""
    while end - start > limit:
        cut = text.rfind(" ", start + 1, start + limit)
        if cut <= start:
            cut = start + limit
        yield start, cut
        start = cut
        while start < end and text[start].isspace():
            start += 1
    if start < end:
        yield start, end


def sentences(text: str, max_sentence_chars: int = 600) -> list[Span]:
    """Spans of the sentences of `text`, trimmed of surrounding whitespace."""
    spans: list[Span] = []
    for p_start, p_end in paragraphs(text):
        para = text[p_start:p_end]
        begin = 0
        for match in _TERMINAL.finditer(para):
            if not _is_boundary(para, match):
                continue
            end = match.end("close")
            spans.extend(_split_long(text, p_start + begin, p_start + end, max_sentence_chars))
            begin = match.start("next")
        if begin < len(para):
            spans.extend(_split_long(text, p_start + begin, p_end, max_sentence_chars))
    return [(s, e) for s, e in spans if text[s:e].strip()]


def windows(spans: list[Span], config: SplitConfig) -> Iterator[tuple[int, int]]:
    """Half-open ranges of sentence indexes, each a passage: a few sentences, a small overlap."""
    count = len(spans)
    first = 0
    while first < count:
        last = first + 1
        while (
            last < count
            and last - first < config.sentences_per_passage
            and spans[last][1] - spans[first][0] <= config.max_chars
        ):
            last += 1
        yield first, last
        if last >= count:
            return
        first = max(first + 1, last - config.overlap)


def split_passages(article_id: str, text: str, config: SplitConfig | None = None) -> list[Passage]:
    """Cut one article into passages of whole sentences; passages never cross articles."""
    config = config or SplitConfig()
    spans = sentences(text, config.max_sentence_chars)
    passages = []
    for ordinal, (first, last) in enumerate(windows(spans, config)):
        start, end = spans[first][0], spans[last - 1][1]
        passages.append(
            Passage(
                article_id=article_id,
                ordinal=ordinal,
                text=text[start:end],
                start=start,
                sentences=tuple((s - start, e - start) for s, e in spans[first:last]),
            )
        )
    return passages


def embedding_text(title: str, passage_text: str) -> str:
    """What the encoder sees for a passage: its article's title as context, then the passage."""
    return f"{title}\n{passage_text}" if title else passage_text
