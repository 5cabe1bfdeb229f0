"""Hybrid search: dense (FAISS) and BM25 (FTS5) candidates, fused, the top ones reranked by how
well a passage's best sentence covers the question (or, with `rerank="learned"`, a question's by
the fitted model of `index.rerank`), one story shown once, a few passages per article.

`Searching` is mixed into `Archive`, which owns the store, the loaded vectors and the encoder.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from corpus.quotes import Quote
from corpus.types import ArticleInfo, Passage
from index.encoder import Encoder
from index.fts import MAX_TERMS, query_terms, terms_expression
from index.fusion import cap_per_group, convex_fusion, reciprocal_rank_fusion
from index.lexical import best_coverage, term_weights
from index.manifest import Manifest
from index.passage_dates import PassageDates, id_mask
from index.postings import Postings, Scores
from index.rerank import Candidate, asks, default_model, reranked
from index.sentences import lookup_sentences
from index.store import Filters, Store
from index.vectors import VectorIndex

if TYPE_CHECKING:
    from numpy.typing import NDArray

RETRIEVERS = ("hybrid", "dense", "bm25")
RERANKS = ("learned", "coverage")


@dataclass(frozen=True)
class SearchConfig:
    """Knobs of hybrid search; defaults chosen by measurement (docs/quality.md)."""

    candidates: int = 50
    fusion: str = "convex"  # or "rrf"
    dense_share: float = 0.5  # convex: dense weight; BM25 gets the rest
    rerank: str = "coverage"  # or "learned": a question's top passages by the fitted model
    coverage_weight: float = 0.15  # the coverage rerank: its best sentence's share of the terms
    rerank_depth: int = 20
    rrf_k: float = 60.0
    dense_weight: float = 1.0  # rrf weights
    bm25_weight: float = 1.0
    title_weight: float = 0.5
    max_per_article: int = 3


@dataclass(frozen=True)
class Hit:
    """One retrieved passage, its article, and why it ranked where it did."""

    passage: Passage
    article: ArticleInfo
    score: float
    dense_score: float | None = None  # cosine similarity of question and passage
    bm25_score: float | None = None
    dense_rank: int | None = None
    bm25_rank: int | None = None
    also: tuple[ArticleInfo, ...] = ()  # near-duplicates of the article: the same story elsewhere


class Searching:
    """Search over an archive; `Archive` provides the state below and `refresh`."""

    store: Store
    encoder: Encoder
    manifest: Manifest
    search_config: SearchConfig
    _vectors: VectorIndex

    _speaker_cache: tuple[int, list[str]] = (-1, [])
    _dates_cache: tuple[int, PassageDates | None] = (-1, None)

    def refresh(self) -> bool:
        raise NotImplementedError

    @property
    def generation(self) -> int:
        raise NotImplementedError

    def postings(self) -> Postings:
        """BM25 postings of the loaded generation."""
        raise NotImplementedError

    # what reading a question needs (bot.question.Lexicon)

    def document_frequencies(self, terms: Sequence[str]) -> dict[str, int]:
        """How many passages hold each term: from the BM25 postings (a term FTS5 reads as a
        phrase of several tokens is counted by the store)."""
        tokens = self.store.fts_tokens(terms)
        postings = self.postings()
        out = {
            t: postings.document_frequency(found[0]) if found else 0
            for t, found in tokens.items()
            if len(found) <= 1
        }
        if len(out) < len(tokens):
            out.update(self.store.document_frequencies([t for t in tokens if t not in out]))
        return {t: out[t] for t in terms}

    def similar_terms(self, word: str) -> list[tuple[str, int]]:
        """Indexed terms that look like `word` (same first letters, similar length)."""
        return self.store.similar_terms(word)

    def quotes_of(self, speaker_keys: Sequence[str]) -> list[tuple[Quote, ArticleInfo]]:
        """The stored quotes of some speakers (by `corpus.quotes.speaker_key`), in article order."""
        return self.store.quotes(speaker_keys)

    def speaker_names(self) -> list[str]:
        """Every quoted speaker, most quoted first; read once per generation."""
        if self._speaker_cache[0] != self.generation:
            self._speaker_cache = (self.generation, [n for n, _ in self.store.speakers()])
        return self._speaker_cache[1]

    @property
    def passage_count(self) -> int:
        """Passages in the loaded generation (its vectors, one per passage)."""
        return len(self._vectors)

    def search(
        self,
        query: str,
        k: int = 5,
        filters: Filters | None = None,
        retriever: str = "hybrid",
        query_vector: NDArray[np.float32] | None = None,
        max_per_article: int | None = None,
        terms: Sequence[str] | None = None,
    ) -> list[Hit]:
        vectors = None if query_vector is None else query_vector.reshape(1, -1)
        return self.search_batch(
            [query], k, filters, retriever, vectors, max_per_article,
            None if terms is None else [terms],
        )[0]  # fmt: skip

    def search_batch(
        self,
        queries: Sequence[str],
        k: int = 5,
        filters: Filters | None = None,
        retriever: str = "hybrid",
        query_vectors: NDArray[np.float32] | None = None,
        max_per_article: int | None = None,
        terms: Sequence[Sequence[str]] | None = None,
    ) -> list[list[Hit]]:
        """Top-k passages per query from dense and BM25 retrieval, fused, capped per article.

        `query_vectors`, when the caller has already encoded the queries, saves encoding twice;
        `terms`, a parsed question's search terms, replace the words read from each query.
        """
        if retriever not in RETRIEVERS:
            raise ValueError(f"unknown retriever {retriever!r}; choose from {RETRIEVERS}")
        self.refresh()
        filters = filters or Filters()
        if retriever != "bm25" and queries and query_vectors is None:
            query_vectors = self.encoder.encode_queries(list(queries))
        found = self._retrieve(queries, k, filters, retriever, query_vectors, terms)
        cap = max_per_article or self.search_config.max_per_article
        results = []
        for n, (words, dense, lexical) in enumerate(found):
            qv = None if query_vectors is None else query_vectors[n]
            results.append(self._rank(queries[n], words, dense, lexical, k, retriever, qv, cap))
        return results

    def rerank_candidates(
        self,
        query: str,
        k: int = 5,
        terms: Sequence[str] | None = None,
        query_vector: NDArray[np.float32] | None = None,
    ) -> list[Candidate]:
        """The passages the learned rerank scores for a hybrid, unfiltered search of `k`, in
        their fused order, with the model's features: what `bot.fit_rerank` fits on."""
        self.refresh()
        if query_vector is None:
            query_vector = self.encoder.encode_queries([query])[0]
        batch_terms = None if terms is None else [terms]
        vectors = query_vector.reshape(1, -1)
        words, dense, lexical = self._retrieve(
            [query], k, Filters(), "hybrid", vectors, batch_terms
        )[0]
        ranked, _ = self._fused(dense, lexical, "hybrid")
        head = ranked[: self.search_config.rerank_depth]
        found = self.store.passages([pid for pid, _ in head])
        return [c for _, c in self._candidates(words, head, found, dict(dense), query_vector)]

    def _retrieve(
        self,
        queries: Sequence[str],
        k: int,
        filters: Filters,
        retriever: str,
        query_vectors: NDArray[np.float32] | None,
        terms: Sequence[Sequence[str]] | None,
    ) -> list[tuple[list[str], list[tuple[int, float]], list[tuple[int, float]]]]:
        """Per query: its search terms, and its dense and BM25 candidates (passage id, score),
        each scored in both lists when hybrid."""
        config = self.search_config
        pool = max(config.candidates, k * 4)
        allowed = None if filters.is_empty() else self._allowed(filters)

        dense: list[list[tuple[int, float]]] = [[] for _ in queries]
        if retriever != "bm25" and queries and query_vectors is not None:
            scores, ids = self._vectors.search(query_vectors, pool, allowed)
            dense = [
                [(int(i), float(s)) for s, i in zip(row_s, row_i, strict=True) if i >= 0]
                for row_s, row_i in zip(scores, ids, strict=True)
            ]
        words = [list(t) for t in terms] if terms is not None else [query_terms(q) for q in queries]
        lexical: list[list[tuple[int, float]]] = [[] for _ in queries]
        bm25: list[Scores | None] = [None for _ in queries]
        if retriever != "dense":
            bm25 = [self._scores(w) for w in words]
            lexical = [
                self._bm25(w, s, pool, filters, allowed) for w, s in zip(words, bm25, strict=True)
            ]
        if retriever == "hybrid":
            for n in range(len(queries)):
                qv = None if query_vectors is None else query_vectors[n]
                self._complete(dense[n], lexical[n], qv, words[n], bm25[n], pool)
        return list(zip(words, dense, lexical, strict=True))

    def _allowed(self, filters: Filters) -> NDArray[np.bool_]:
        """The passages a filtered search may return, as a mask by passage id: a date range's
        from the passages' days, read once per generation; outlets' from SQLite."""
        if filters.sources:
            return id_mask(self.store.passage_ids(filters))
        generation, dates = self._dates_cache
        if generation != self.generation or dates is None:
            dates = PassageDates.read(self.store)
            self._dates_cache = (self.generation, dates)
        return dates.allowed(filters.since, filters.until)

    def _scores(self, terms: Sequence[str]) -> Scores | None:
        """The BM25 scores of every passage for the terms OR-ed, as FTS5's bm25() computes
        them; None when a term is a phrase of several tokens to FTS5 ("covid_19"), which only
        FTS5 matches (by position), or when there are no terms."""
        terms = list(terms[:MAX_TERMS])
        tokens = self.store.fts_tokens(terms)
        if not terms or any(len(tokens[t]) > 1 for t in terms):
            return None
        phrases = [tokens[t][0] if tokens[t] else "" for t in terms]
        return self.postings().scores(phrases, (self.search_config.title_weight, 1.0))

    def _bm25(
        self,
        terms: Sequence[str],
        scores: Scores | None,
        k: int,
        filters: Filters,
        allowed: NDArray[np.bool_] | None,
    ) -> list[tuple[int, float]]:
        """Top-k (passage id, BM25 score) for the terms OR-ed."""
        if scores is not None:
            return scores.top(k, allowed)
        expression = terms_expression(terms)
        weights = (self.search_config.title_weight, 1.0)
        return self.store.bm25(expression, k, filters, weights) if expression else []

    def _complete(
        self,
        dense: list[tuple[int, float]],
        lexical: list[tuple[int, float]],
        query_vector: NDArray[np.float32] | None,
        terms: Sequence[str],
        scores: Scores | None,
        pool: int,
    ) -> None:
        """Give every candidate its real score in both lists before they are fused: the cosine
        of a passage only BM25 found (from its stored vector), and the BM25 score of a passage
        only dense search found (0 when it holds none of the terms). Fusion then never credits
        a passage with a score it did not earn."""
        in_dense = {pid for pid, _ in dense}
        in_lexical = {pid for pid, _ in lexical}
        missing = [pid for pid, _ in lexical if pid not in in_dense]
        if missing and query_vector is not None:
            vectors = self.store.embeddings(missing, self.manifest.dimension)
            dense += [(pid, float(np.dot(v, query_vector))) for pid, v in vectors.items()]
        unscored = [pid for pid, _ in dense if pid not in in_lexical]
        if unscored and len(lexical) >= pool:  # a full list may have left some out
            if scores is not None:
                lexical += scores.of(unscored)
            elif expression := terms_expression(terms):
                weights = (self.search_config.title_weight, 1.0)
                lexical += self.store.bm25_of(expression, unscored, weights)

    def _fused(
        self, dense: list[tuple[int, float]], lexical: list[tuple[int, float]], retriever: str
    ) -> tuple[list[tuple[int, float]], dict[int, str]]:
        """The candidates in one list, best first, and each one's article (a passage whose
        article is gone is dropped)."""
        config = self.search_config
        if retriever == "dense":
            fused = dense
        elif retriever == "bm25":
            fused = lexical
        elif config.fusion == "rrf":
            fused = reciprocal_rank_fusion(
                [[i for i, _ in dense], [i for i, _ in lexical]],
                [config.dense_weight, config.bm25_weight],
                config.rrf_k,
            )
        else:
            fused = convex_fusion([dense, lexical], [config.dense_share, 1 - config.dense_share])
        owner = self.store.passage_articles([i for i, _ in fused])
        return [(pid, score) for pid, score in fused if pid in owner], owner

    def _rank(
        self,
        query: str,
        terms: list[str],
        dense: list[tuple[int, float]],
        lexical: list[tuple[int, float]],
        k: int,
        retriever: str,
        query_vector: NDArray[np.float32] | None,
        cap: int,
    ) -> list[Hit]:
        # every candidate's article decides stories and caps; only the passages reranked or
        # shown are read whole
        ranked, owner = self._fused(dense, lexical, retriever)
        found: dict[int, tuple[Passage, ArticleInfo]] = {}
        if retriever == "hybrid":
            ranked, found = self._rerank(query, terms, ranked, dict(dense), query_vector)
        stories = self.store.stories({owner[pid] for pid, _ in ranked})
        lead: dict[str, str] = {}  # story -> its best-ranked article, the one shown
        for pid, _ in ranked:
            article_id = owner[pid]
            lead.setdefault(stories.get(article_id, article_id), article_id)
        shown = [
            (pid, score)
            for pid, score in ranked
            if lead[stories.get(owner[pid], owner[pid])] == owner[pid]
        ]
        top = cap_per_group(shown, lambda pair: owner[pair[0]], cap, k)
        found.update(self.store.passages([pid for pid, _ in top if pid not in found]))
        top = [(pid, score) for pid, score in top if pid in found]
        top_stories = {stories[a] for a in {owner[p] for p, _ in top} if a in stories}
        members = self.store.story_members(top_stories)
        dense_rank = {pid: r for r, (pid, _) in enumerate(dense, start=1)}
        dense_score = dict(dense)
        bm25_rank = {pid: r for r, (pid, _) in enumerate(lexical, start=1)}
        bm25_score = dict(lexical)
        if query_vector is not None:
            missing = [pid for pid, _ in top if pid not in dense_score]
            for pid, vector in self.store.embeddings(missing, self.manifest.dimension).items():
                dense_score[pid] = float(np.dot(vector, query_vector))
        return [
            Hit(
                passage=found[pid][0],
                article=found[pid][1],
                score=float(score),
                dense_score=dense_score.get(pid),
                bm25_score=bm25_score.get(pid),
                dense_rank=dense_rank.get(pid),
                bm25_rank=bm25_rank.get(pid),
                also=tuple(
                    other
                    for other in members.get(stories.get(found[pid][1].id, ""), [])
                    if other.id != found[pid][1].id
                ),
            )
            for pid, score in top
        ]

    def sentence_vectors(
        self, refs: Sequence[tuple[int, int]], texts: Sequence[str]
    ) -> NDArray[np.float32]:
        """Vectors of sentences given as (passage id, sentence number): stored at ingest."""
        return lookup_sentences(self.store, self.encoder, self.manifest.dimension, refs, texts)

    def stored_sentence_vectors(
        self, spans: Sequence[tuple[str, int, int]]
    ) -> list[NDArray[np.float32]]:
        """Per (article id, start, end) of its text, the vectors stored at ingest of the sentences
        starting there, without reading any passage (nothing is encoded)."""
        return self.store.sentence_vectors_within(spans, self.manifest.dimension)

    def _rerank(
        self,
        query: str,
        terms: list[str],
        ranked: list[tuple[int, float]],
        dense: dict[int, float],
        query_vector: NDArray[np.float32] | None,
    ) -> tuple[list[tuple[int, float]], dict[int, tuple[Passage, ArticleInfo]]]:
        """The fused list with its top passages reordered, and those passages read whole: a
        question's by the fitted model, any other query's by coverage (see `index.rerank`)."""
        config = self.search_config
        if config.rerank not in RERANKS:
            raise ValueError(f"unknown rerank {config.rerank!r}; choose from {RERANKS}")
        learned = config.rerank == "learned" and query_vector is not None and asks(query)
        if not learned and not config.coverage_weight:
            return ranked, {}
        depth = config.rerank_depth
        found = self.store.passages([pid for pid, _ in ranked[:depth]])
        if learned and query_vector is not None:
            candidates = self._candidates(terms, ranked[:depth], found, dense, query_vector)
            return reranked(candidates, default_model()) + ranked[depth:], found
        return self._rerank_by_coverage(terms, ranked, found), found

    def _candidates(
        self,
        terms: list[str],
        head: list[tuple[int, float]],
        found: dict[int, tuple[Passage, ArticleInfo]],
        dense: dict[int, float],
        query_vector: NDArray[np.float32],
    ) -> list[tuple[int, Candidate]]:
        """The top passages (id, candidate) with the learned rerank's features."""
        head = [(pid, score) for pid, score in head if pid in found]
        weights = term_weights(self, terms, self.passage_count)
        passages = [found[pid][0] for pid, _ in head]
        spans = [(p.article_id, p.start, p.end) for p in passages]
        out = []
        for (pid, score), passage, sentence_vectors in zip(
            head, passages, self.stored_sentence_vectors(spans), strict=True
        ):
            cosine = (
                float(np.max(sentence_vectors @ query_vector))
                if len(sentence_vectors)
                else dense.get(pid, 0.0)
            )
            covered = best_coverage(passage.sentence_texts(), weights)
            out.append((pid, Candidate(passage, score, covered, cosine)))
        return out

    def _rerank_by_coverage(
        self,
        terms: list[str],
        ranked: list[tuple[int, float]],
        found: dict[int, tuple[Passage, ArticleInfo]],
    ) -> list[tuple[int, float]]:
        """Add to the top passages' scores how well their best sentence covers the question's
        rarer words: passage-level BM25 does not see whether the words sit together."""
        depth = self.search_config.rerank_depth
        weights = term_weights(self, terms, self.passage_count)
        head = [
            (pid, score + self.search_config.coverage_weight
             * best_coverage(found[pid][0].sentence_texts(), weights))
            for pid, score in ranked[:depth]
        ]  # fmt: skip
        head.sort(key=lambda pair: -pair[1])
        return head + ranked[depth:]
