"""The values that flow out of corpus/: articles and their passages."""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Article:
    """One news article, cleaned, as the archive stores it."""

    id: str
    title: str
    text: str
    url: str | None = None
    source: str | None = None
    published: str | None = None  # ISO 8601: "2017-12-01" or "2017-12-01T09:30:00+00:00"
    origin: str = ""  # the path or URL it was read from
    pages: tuple[int, ...] = ()  # a paged document's page starts: offsets into `text`, in order


@dataclass(frozen=True)
class Passage:
    """A few consecutive sentences of one article, quoted verbatim.

    `text == article.text[start:start + len(text)]` and every sentence span `(s, e)` is an offset
    into `text`, so later stages can quote single sentences exactly.
    """

    article_id: str
    ordinal: int
    text: str
    start: int
    sentences: tuple[tuple[int, int], ...]
    id: int | None = None  # assigned by the index

    @property
    def end(self) -> int:
        return self.start + len(self.text)

    def sentence_texts(self) -> list[str]:
        return [self.text[s:e] for s, e in self.sentences]


@dataclass(frozen=True)
class ArticleInfo:
    """What a citation needs of an article: everything but its text."""

    id: str
    title: str
    url: str | None
    source: str | None
    published: str | None
    origin: str
    pages: tuple[int, ...] = ()  # as Article.pages

    def page_range(self, start: int, end: int) -> tuple[int, int] | None:
        """The first and last page (from 1) that text[start:end] lies on; None if not paged."""
        return page_range(self.pages, start, end)


def page_range(pages: tuple[int, ...], start: int, end: int) -> tuple[int, int] | None:
    if not pages:
        return None
    first = max(bisect_right(pages, start), 1)
    last = max(bisect_right(pages, max(end - 1, start)), first)
    return first, last


@dataclass(frozen=True)
class ReadFailure:
    """One part of an input that could not be read, in one line: "origin: reason"."""

    message: str


@dataclass(frozen=True)
class ReadResult:
    """What reading one input produced: the articles, and a reason for each part that failed."""

    articles: list[Article] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)  # one line each: "origin: reason"
