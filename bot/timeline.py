"""A story in time order: one dated, cited, verbatim excerpt per article about a topic.

An article is about the topic when one of its passages holds every content word of the topic
(`index.topics`); its excerpt is the sentence of its best passage that holds most of them. The same
story from several outlets or URLs (near-duplicates, `signatures`) is one entry, the earliest,
with the others as "also reported by". Undated articles come last. Long timelines are paged.
"""

from __future__ import annotations

from dataclasses import dataclass

from corpus.types import ArticleInfo, Passage
from index import Archive, Filters
from index.lexical import stem, stems
from index.topics import topic_passages, topic_terms

PAGE_SIZE = 10
MAX_ARTICLES = 1000


@dataclass(frozen=True)
class Excerpt:
    """One verbatim sentence of a passage; `start` is its offset in the passage's text."""

    text: str
    start: int


@dataclass(frozen=True)
class TimelineEntry:
    article: ArticleInfo
    passage: Passage
    excerpt: Excerpt
    also: tuple[ArticleInfo, ...] = ()  # the same story elsewhere

    @property
    def date(self) -> str | None:
        return (self.article.published or "")[:10] or None


@dataclass(frozen=True)
class Timeline:
    topic: str
    entries: tuple[TimelineEntry, ...]
    page_size: int = PAGE_SIZE

    @property
    def pages(self) -> int:
        return max(1, -(-len(self.entries) // self.page_size))

    def page(self, number: int) -> tuple[TimelineEntry, ...]:
        """Entries of page `number` (1-based); empty past the last page."""
        first = (number - 1) * self.page_size
        return self.entries[first : first + self.page_size] if number >= 1 else ()


def best_sentence(passage: Passage, terms: list[str]) -> Excerpt:
    """The sentence of a passage holding most of the terms, verbatim; among equals, the first
    that reads as a sentence (a heading has no closing punctuation)."""
    wanted = {stem(t) for t in terms}
    best, best_rank = passage.sentences[0], (-1, False)
    for span in passage.sentences:
        text = passage.text[span[0] : span[1]]
        rank = (len(wanted & stems(text)), text.rstrip("”’\"')").endswith((".", "!", "?")))
        if rank > best_rank:
            best, best_rank = span, rank
    return Excerpt(passage.text[best[0] : best[1]], best[0])


def build_timeline(archive: Archive, topic: str, filters: Filters | None = None) -> Timeline:
    """The timeline of a topic over the archive (TopicError for a topic without words)."""
    terms = topic_terms(topic)
    best: dict[str, tuple[Passage, ArticleInfo]] = {}
    for passage, info, _ in topic_passages(archive.store, topic, filters, k=MAX_ARTICLES * 3):
        best.setdefault(info.id, (passage, info))
    by_story: dict[str, list[tuple[Passage, ArticleInfo]]] = {}
    stories = archive.store.stories(best)
    for article_id, found in best.items():
        by_story.setdefault(stories.get(article_id, article_id), []).append(found)
    entries = []
    for members in by_story.values():
        members.sort(key=lambda m: _when(m[1]))
        passage, info = members[0]
        also = tuple(other for _, other in members[1:])
        entries.append(TimelineEntry(info, passage, best_sentence(passage, terms), also))
    entries.sort(key=lambda e: _when(e.article))
    return Timeline(topic, tuple(entries[:MAX_ARTICLES]))


def _when(info: ArticleInfo) -> tuple[int, str, str]:
    """Dated articles first, oldest first; then undated ones by title."""
    return (0, info.published, info.title) if info.published else (1, "", info.title)
