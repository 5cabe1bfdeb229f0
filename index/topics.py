"""Passages about a topic: every content word of the topic present (FTS5, with its stemming).

Timelines and alerts need "is this article about X", not "what is closest to X": a passage is
about a topic when it holds all of the topic's content words, so "North Korea sanctions" matches
neither a passage on sanctions against Iran nor one on North Korean football. FTS5 finds the
candidates; a plainer stemming than its porter one confirms each word is really there.
"""

from __future__ import annotations

from collections.abc import Sequence

from corpus.types import ArticleInfo, Passage
from index.fts import query_terms
from index.lexical import stem, stems
from index.store import Filters, Store

MAX_TOPIC_TERMS = 8


class TopicError(ValueError):
    """A topic with no word to look for."""


def topic_terms(topic: str) -> list[str]:
    """The words a passage must hold to be about `topic`; TopicError when there are none."""
    terms = query_terms(topic)[:MAX_TOPIC_TERMS]
    if not terms:
        raise TopicError("name a topic in words, for example: sanctions on North Korea")
    return terms


def topic_expression(topic: str) -> str:
    """An FTS5 expression AND-ing the quoted words of the topic (no FTS5 syntax gets through)."""
    return " AND ".join('"' + t.replace('"', '""') + '"' for t in topic_terms(topic))


def topic_passages(
    store: Store,
    topic: str,
    filters: Filters | None = None,
    k: int = 1000,
    article_ids: Sequence[str] | None = None,
) -> list[tuple[Passage, ArticleInfo, float]]:
    """The passages about `topic` (best BM25 first), optionally only those of some articles."""
    filters = filters or Filters()
    where, params = filters.sql()
    only = ""
    if article_ids is not None:
        if not article_ids:
            return []
        only = f" AND p.article_id IN ({','.join('?' * len(article_ids))})"
        params = [*params, *article_ids]
    rows = store.query(
        "SELECT f.rowid, -bm25(passages_fts) AS score FROM passages_fts f "
        "JOIN passages p ON p.id = f.rowid JOIN articles a ON a.id = p.article_id "
        f"WHERE passages_fts MATCH ? AND {where}{only} ORDER BY score DESC LIMIT ?",
        [topic_expression(topic), *params, k],
    )
    scores = {int(r[0]): float(r[1]) for r in rows}
    found = store.passages(list(scores))
    # FTS5's porter stemmer conflates more than a reader would ("inflatable" for "inflation"):
    # keep the passages that hold every word under the excerpt's own, plainer stemming
    wanted = {stem(t) for t in topic_terms(topic)}
    return [
        (*found[i], scores[i]) for i in scores if i in found and wanted <= stems(found[i][0].text)
    ]
