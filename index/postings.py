"""BM25 over the full-text index's own postings, held in memory: the same scores as FTS5's
`bm25()`, at the cost of the postings of the query's tokens, not of every row an OR query matches.

FTS5 ranks a query by calling `bm25()` on every row that holds any of its terms; on a real news
archive a question's common words ("us", "week", "president") match most passages, and that call
took 81% of an answer's time. Here each token's postings (which passages hold it, how often in the
title and in the text) are numpy arrays, and a query sums each term's share with array arithmetic,
in the order and with the formula of SQLite's `fts5Bm25Function` (k1 = 1.2, b = 0.75, IDF clamped
at 1e-6, document length the row's tokens in all columns), so the scores are the same numbers.

The postings are derived from SQLite (the FTS5 table's `fts5vocab` instance view): saved beside the
FAISS file as `lexical.<generation>.npz`, stamped with what identifies the generation, updated
on every commit from the rows it adds and removes, and built again from SQLite when the file is
missing or stale. Tokens are FTS5's own (`Store.fts_tokens`), so no tokenizer is reimplemented.
"""

from __future__ import annotations

import math
import os
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from index.errors import IndexCorruptError

if TYPE_CHECKING:
    from numpy.typing import NDArray

K1 = 1.2  # SQLite's fts5Bm25Function constants
B = 0.75
MIN_IDF = 1e-6
FORMAT = 1


def postings_file(generation: int) -> str:
    return f"lexical.{generation:08d}.npz"


@dataclass(frozen=True)
class RawPostings:
    """Postings as read from FTS5: one entry per (token, row), before they are indexed."""

    tokens: list[str]  # the distinct tokens; `token` below indexes this list
    token: NDArray[np.int64]
    row_id: NDArray[np.int64]  # passage id
    title_tf: NDArray[np.int64]
    text_tf: NDArray[np.int64]
    ids: NDArray[np.int64]  # every row of the table, also those without a token


class _TokenPostings(NamedTuple):
    """One token's postings in row order."""

    rows: NDArray[np.int32]
    title_tf: NDArray[np.uint16]
    text_tf: NDArray[np.uint16]


def _shares(
    idf: float,
    weights: tuple[float, float],
    title_tf: NDArray[np.uint16],
    text_tf: NDArray[np.uint16],
    norm: NDArray[np.float64],
) -> NDArray[np.float64]:
    """A term's share of each row's score: fts5Bm25Function's arithmetic, in its order."""
    title_weight, text_weight = weights
    frequency = title_weight * title_tf + text_weight * text_tf
    return idf * ((frequency * (K1 + 1.0)) / (frequency + norm))


DENSE_BELOW = 75_000  # postings plus a quarter of the rows: below it, every posting is summed
BOUND_SLICE = 1 << 20  # postings a slice of the pass computing every token's bound
FIRST_ROWS = 20_000  # at most this many rows scored exactly for the first k-th best
EPSILON = 1e-9  # slack for bounds and partial sums added in another order than the exact score


@dataclass(frozen=True)
class _Term:
    """One phrase of a query: its postings, rows ascending, and the most it adds to any row."""

    idf: float
    rows: NDArray[np.int32]
    title_tf: NDArray[np.uint16]
    text_tf: NDArray[np.uint16]
    bound: float


class Scores:
    """One query's BM25 over the postings, computed when asked: the top k of the rows holding
    any term, or the scores of given passages. Same numbers and order as FTS5's `bm25()`.

    `top` prunes as MaxScore does. Each term has a bound, the most it adds to any row. A first
    k-th best score comes from the rows of the highest-bound term, scored exactly. The terms
    whose bounds together stay below it are not essential: a row holding only those cannot
    enter the top k, so only the other terms' postings are read whole (the rare words); the
    common ones ("said", "us") are looked up, by binary search, for those rows, highest bound
    first, dropping every row that can no longer reach the k-th best. The few rows left are
    then scored exactly, term by term in the query's order, as FTS5 sums them."""

    def __init__(self, postings: Postings, terms: list[_Term], weights: tuple[float, float]):
        self._postings = postings
        self._terms = terms  # in the query's order: a row's score sums them in this order
        self._weights = weights

    def top(self, k: int, allowed: NDArray[np.bool_] | None = None) -> list[tuple[int, float]]:
        """Top-k (passage id, score), best first, ties in id order (as FTS5 returns them);
        with `allowed` (a mask by passage id), only those passages."""
        if k <= 0 or not self._terms:
            return []
        postings = sum(len(t.rows) for t in self._terms)
        # shares 0 or negative: no bound holds. Or so few postings that summing them all costs
        # less than pruning (at 96k passages, queries of under 50,000 postings: 0.67 against
        # 0.87 ms; at 1M passages the dense arrays alone cost more)
        if min(self._weights) <= 0 or postings + len(self._postings.ids) // 4 < DENSE_BELOW:
            rows, total = self._every_row(allowed)
        else:
            rows = self._survivors(k, allowed)
            total, _ = self._exact(rows)
        if len(rows) > k:  # every row scoring at least the k-th best, ties included
            kth = np.partition(total, len(rows) - k)[len(rows) - k]
            rows, total = rows[total >= kth], total[total >= kth]
        order = np.argsort(-total, kind="stable")[:k]  # rows ascend: ties stay in id order
        ids = self._postings.ids
        return [(int(ids[r]), float(total[i])) for r, i in zip(rows[order], order, strict=True)]

    def of(self, ids: Sequence[int]) -> list[tuple[int, float]]:
        """The scores of those of `ids` that hold any of the terms, in id order."""
        own = self._postings.ids
        wanted = np.unique(np.asarray(ids, np.int64))
        rows = np.searchsorted(own, wanted)
        present = rows < len(own)
        rows = rows[present][own[rows[present]] == wanted[present]].astype(np.int32)
        total, matched = self._exact(rows)
        return [(int(own[r]), float(s)) for r, s in zip(rows[matched], total[matched], strict=True)]

    def _share(
        self, term: _Term, at: slice | NDArray[np.int64], rows: NDArray[np.int32]
    ) -> NDArray[np.float64]:
        """The term's share of the score of `rows`, its postings `at`."""
        norm = self._postings.norm[rows]
        return _shares(term.idf, self._weights, term.title_tf[at], term.text_tf[at], norm)

    def _exact(self, rows: NDArray[np.int32]) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
        """The exact score of each of `rows` (ascending), and whether it holds any term: each
        term's share added in the query's order, as FTS5 adds them."""
        total = np.zeros(len(rows))
        matched = np.zeros(len(rows), bool)
        for term in self._terms:
            which, at = _intersect(rows, term.rows)
            total[which] += self._share(term, at, rows[which])
            matched[which] = True
        return total, matched

    def _every_row(
        self, allowed: NDArray[np.bool_] | None
    ) -> tuple[NDArray[np.int32], NDArray[np.float64]]:
        """Every matching (allowed) row and its exact score, summed over whole posting lists."""
        n = len(self._postings.ids)
        total = np.zeros(n)
        matched = np.zeros(n, bool)
        for term in self._terms:
            total[term.rows] += self._share(term, slice(None), term.rows)
            matched[term.rows] = True
        if allowed is not None:
            matched &= self._postings.allowed_rows(allowed)
        rows = np.flatnonzero(matched).astype(np.int32)
        return rows, total[rows]

    def _survivors(self, k: int, allowed: NDArray[np.bool_] | None) -> NDArray[np.int32]:
        """The rows (ascending) that could be in the top k (MaxScore)."""
        by_bound = sorted(self._terms, key=lambda t: -t.bound)
        kth = self._first_kth(k, by_bound[0].rows, allowed)
        # the terms of lowest bound, as long as their bounds sum below the k-th best, are not
        # essential; every other term's postings are read whole
        essential, below, floor = len(by_bound), 0.0, kth * (1 - EPSILON)
        while essential > 1 and (below + by_bound[essential - 1].bound) * (1 + EPSILON) < floor:
            essential -= 1
            below += by_bound[essential].bound
        taken = []
        for term in by_bound[:essential]:
            rows, share = term.rows, self._share(term, slice(None), term.rows)
            if allowed is not None:
                keep = self._postings.allowed_rows(allowed, rows)
                rows, share = rows[keep], share[keep]
            taken.append((rows, share))
        candidates, scores = _sum_by_row(taken, len(self._postings.ids))
        # rows that cannot reach the first k-th best go at once
        keep = scores + below * (1 + EPSILON) >= floor
        candidates, scores = candidates[keep], scores[keep]
        # then the others, highest bound first, each looked up for the rows that could still
        # reach the k-th best
        left, others = below, by_bound[essential:]
        while True:
            if len(scores) >= k:
                kth = max(kth, float(np.partition(scores, len(scores) - k)[len(scores) - k]))
            keep = (scores + max(left, 0.0) * (1 + EPSILON)) >= kth * (1 - EPSILON)
            candidates, scores = candidates[keep], scores[keep]
            if not others:
                break
            term = others.pop(0)
            left -= term.bound
            which, at = _intersect(candidates, term.rows)
            scores[which] += self._share(term, at, candidates[which])
        return candidates

    def _first_kth(
        self, k: int, rows: NDArray[np.int32], allowed: NDArray[np.bool_] | None
    ) -> float:
        """A first k-th best score: the k-th best exact score of some rows (the postings of the
        term of highest bound, or a sample of them), or -inf when they are fewer than k."""
        if allowed is not None:
            rows = rows[self._postings.allowed_rows(allowed, rows)]
        if len(rows) < k:
            return -math.inf
        if len(rows) > FIRST_ROWS >= 2 * k:  # any rows give a k-th best to start from: a sample
            rows = rows[:: len(rows) // FIRST_ROWS + 1]
        total, _ = self._exact(rows)
        return float(np.partition(total, len(total) - k)[len(total) - k])


def _sum_by_row(
    taken: list[tuple[NDArray[np.int32], NDArray[np.float64]]], n: int
) -> tuple[NDArray[np.int32], NDArray[np.float64]]:
    """The rows (ascending) of some terms' postings, and the sum of their shares in each: added
    in no particular order, a partial score to prune by, not the exact one."""
    postings = sum(len(rows) for rows, _ in taken)
    if len(taken) == 1:
        return taken[0]
    if postings * 16 < n:  # few: sorted and summed
        rows, where = np.unique(np.concatenate([r for r, _ in taken]), return_inverse=True)
        sums = np.bincount(where, np.concatenate([s for _, s in taken]), len(rows))
        return rows.astype(np.int32), np.asarray(sums, np.float64)
    dense = np.bincount(  # many: summed in one pass, a slot per row
        np.concatenate([r for r, _ in taken]), np.concatenate([s for _, s in taken]), n
    )
    found = np.flatnonzero(dense)  # shares are positive: a row holding a term sums above 0
    return found.astype(np.int32), np.asarray(dense[found], np.float64)


def _intersect(
    rows: NDArray[np.int32], postings: NDArray[np.int32]
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Where `rows` and a term's `postings` (both ascending) share a row: the positions in each,
    by binary search of the shorter in the longer."""
    if len(rows) <= len(postings):
        at = np.searchsorted(postings, rows)
        hit = at < len(postings)
        hit[hit] = postings[at[hit]] == rows[hit]
        return np.flatnonzero(hit), at[hit]
    at = np.searchsorted(rows, postings)
    hit = at < len(rows)
    hit[hit] = rows[at[hit]] == postings[hit]
    return at[hit], np.flatnonzero(hit)


class Postings:
    """Every passage's tokens as FTS5 counts them, by token (CSR), for exact BM25 in memory."""

    def __init__(
        self,
        tokens: list[str],
        starts: NDArray[np.int64],
        rows: NDArray[np.int32],
        title_tf: NDArray[np.uint16],
        text_tf: NDArray[np.uint16],
        ids: NDArray[np.int64],
        key: str,
    ):
        self.tokens = tokens
        self.vocabulary = {t: n for n, t in enumerate(tokens)}
        self.starts, self.rows = starts, rows
        self.title_tf, self.text_tf = title_tf, text_tf
        self.ids = ids  # ascending; a posting's row is a position in it
        self.key = key  # the stamp of the generation these postings belong to
        tokens_of_row = title_tf.astype(np.float64) + text_tf
        lengths = np.bincount(rows, weights=tokens_of_row, minlength=len(ids))
        self.lengths = lengths
        average = float(lengths.sum()) / len(ids) if len(ids) else 0.0
        # fts5Bm25Function's `k1 * (1 - b + b * D / avgdl)`, once per row; C evaluates it this way
        norm = K1 * ((1 - B) + (B * lengths) / average) if average else lengths * 0.0
        self.norm = np.asarray(norm, np.float64)
        # read when a query first holds the token: its postings by row; and every token's bound
        self._tokens: dict[int, _TokenPostings] = {}
        self._bounds: dict[tuple[float, float], NDArray[np.float64]] = {}
        contiguous = len(ids) and int(ids[-1]) - int(ids[0]) + 1 == len(ids)
        self._first_id = int(ids[0]) if contiguous else None

    def __len__(self) -> int:
        return len(self.ids)

    @classmethod
    def from_raw(cls, raw: RawPostings, key: str = "") -> Postings:
        ids = np.unique(np.asarray(raw.ids, np.int64))
        rows = np.searchsorted(ids, raw.row_id)
        if len(raw.row_id) and (rows.max() >= len(ids) or np.any(ids[rows] != raw.row_id)):
            raise ValueError("postings name rows that are not in the table")
        # by token, then row (so a row is found in a token's postings by binary search); postings
        # already in that order plus a few appended are two sorted runs, which a stable sort
        # merges in O(n)
        order = np.argsort(raw.token * max(len(ids), 1) + rows, kind="stable")
        token = raw.token[order]
        starts = np.zeros(len(raw.tokens) + 1, np.int64)
        np.cumsum(np.bincount(token, minlength=len(raw.tokens)), out=starts[1:])
        return cls(
            list(raw.tokens),
            starts,
            rows[order].astype(np.int32),
            np.minimum(raw.title_tf[order], 65535).astype(np.uint16),
            np.minimum(raw.text_tf[order], 65535).astype(np.uint16),
            ids,
            key,
        )

    def raw(self) -> RawPostings:
        counts = np.diff(self.starts)
        return RawPostings(
            self.tokens,
            np.repeat(np.arange(len(self.tokens), dtype=np.int64), counts),
            self.ids[self.rows],
            self.title_tf.astype(np.int64),
            self.text_tf.astype(np.int64),
            self.ids,
        )

    def changed(self, removed: Iterable[int], added: RawPostings, key: str) -> Postings:
        """These postings less the rows `removed`, plus `added` (rows new to them). Tokens no row
        holds any more stay, with no postings: harmless, and never read."""
        removed = np.asarray(list(removed), np.int64)
        tokens = list(self.tokens)
        vocabulary = dict(self.vocabulary)
        for token in added.tokens:
            if token not in vocabulary:
                vocabulary[token] = len(tokens)
                tokens.append(token)
        renumber = np.array([vocabulary[t] for t in added.tokens], np.int64)
        new_token = renumber[added.token] if len(added.token) else added.token
        new_ids = np.unique(np.asarray(added.ids, np.int64))
        if len(new_ids) and len(self.ids) and new_ids[0] <= self.ids[-1]:
            old = self.raw()  # new rows among the old ones (ids are normally always new)
            keep = ~np.isin(old.row_id, removed)
            return Postings.from_raw(
                RawPostings(
                    tokens,
                    np.concatenate([old.token[keep], new_token]),
                    np.concatenate([old.row_id[keep], added.row_id]),
                    np.concatenate([old.title_tf[keep], added.title_tf]),
                    np.concatenate([old.text_tf[keep], added.text_tf]),
                    np.concatenate([self.ids[~np.isin(self.ids, removed)], new_ids]),
                ),
                key,
            )
        # the common case, new ids after the old: old rows keep their order and new ones follow,
        # so row numbers are remapped rather than looked up again (0.1 s, not 2, at 8M postings)
        kept_rows = ~np.isin(self.ids, removed)
        row_of = np.cumsum(kept_rows) - 1
        kept = kept_rows[self.rows]
        of_posting = np.repeat(np.arange(len(self.tokens), dtype=np.int64), np.diff(self.starts))
        first_new = int(kept_rows.sum())
        rows = np.concatenate(
            [row_of[self.rows[kept]], first_new + np.searchsorted(new_ids, added.row_id)]
        )
        by_token = np.concatenate([of_posting[kept], new_token])
        order = np.argsort(by_token, kind="stable")  # two sorted runs: merged in linear time
        starts = np.zeros(len(tokens) + 1, np.int64)
        np.cumsum(np.bincount(by_token, minlength=len(tokens)), out=starts[1:])
        title_tf = np.concatenate([self.title_tf[kept], np.minimum(added.title_tf, 65535)])
        text_tf = np.concatenate([self.text_tf[kept], np.minimum(added.text_tf, 65535)])
        return Postings(
            tokens,
            starts,
            rows[order].astype(np.int32),
            title_tf[order].astype(np.uint16),
            text_tf[order].astype(np.uint16),
            np.concatenate([self.ids[kept_rows], new_ids]),
            key,
        )

    def document_frequency(self, token: str) -> int:
        """How many rows hold `token`."""
        n = self.vocabulary.get(token)
        return 0 if n is None else int(self.starts[n + 1] - self.starts[n])

    def scores(self, phrases: Sequence[str], weights: tuple[float, float]) -> Scores:
        """BM25 for a query OR-ing one-token `phrases` (FTS5's arithmetic: each phrase's share,
        summed phrase by phrase), computed as `Scores` is asked for it."""
        terms = []
        for phrase in phrases:
            n = self.vocabulary.get(phrase)
            if n is None or self.starts[n] == self.starts[n + 1]:
                continue  # no row holds it: it adds nothing to any score
            token = self._term(n)
            hits = len(token.rows)
            idf = math.log((len(self.ids) - hits + 0.5) / (hits + 0.5))
            idf = idf if idf > 0.0 else MIN_IDF
            bound = self._bound(n, weights) if min(weights) > 0 else math.inf
            terms.append(_Term(idf, token.rows, token.title_tf, token.text_tf, bound))
        return Scores(self, terms, weights)

    def _term(self, n: int) -> _TokenPostings:
        """Token `n`'s postings in row order."""
        found = self._tokens.get(n)
        if found is None:
            lo, hi = int(self.starts[n]), int(self.starts[n + 1])
            rows, title_tf, text_tf = self.rows[lo:hi], self.title_tf[lo:hi], self.text_tf[lo:hi]
            if np.any(rows[1:] <= rows[:-1]):  # a file written before rows were kept in order
                order = np.argsort(rows, kind="stable")
                rows, title_tf, text_tf = rows[order], title_tf[order], text_tf[order]
            found = _TokenPostings(rows, title_tf, text_tf)
            self._tokens[n] = found
        return found

    def _bound(self, n: int, weights: tuple[float, float]) -> float:
        """The most token `n` adds to any row's score."""
        bounds = self._bounds.get(weights)
        if bounds is None:
            bounds = self._bounds[weights] = self._every_bound(weights)
        return float(bounds[n])

    def _every_bound(self, weights: tuple[float, float]) -> NDArray[np.float64]:
        """Every token's most added to a row's score: one pass over the postings when a query
        first asks (about a second at 1M passages, each token's cost once), in slices of
        BOUND_SLICE postings to bound the memory it takes."""
        counts = np.diff(self.starts)
        total = len(self.ids)
        idf = np.array([math.log((total - c + 0.5) / (c + 0.5)) for c in counts.tolist()])
        idf[idf <= 0.0] = MIN_IDF
        bounds = np.zeros(len(self.tokens))
        first = 0
        while first < len(self.tokens):
            end = int(np.searchsorted(self.starts, self.starts[first] + BOUND_SLICE, "right")) - 1
            end = min(max(end, first + 1), len(self.tokens))
            lo, hi = int(self.starts[first]), int(self.starts[end])
            held = counts[first:end] > 0
            if hi > lo:
                shares = _shares(
                    np.repeat(idf[first:end], counts[first:end]),  # type: ignore[arg-type]
                    weights,
                    self.title_tf[lo:hi],
                    self.text_tf[lo:hi],
                    self.norm[self.rows[lo:hi]],
                )
                starts = self.starts[first:end][held] - lo
                bounds[first:end][held] = np.maximum.reduceat(shares, starts)
            first = end
        return bounds

    def allowed_rows(
        self, allowed: NDArray[np.bool_], rows: NDArray[np.int32] | None = None
    ) -> NDArray[np.bool_]:
        """Which of `rows` (default: all) are passages `allowed` (a mask by passage id) holds."""
        ids: NDArray[np.int64]
        if rows is None:
            ids = self.ids
        elif self._first_id is not None:  # ids without gaps: a row's id is an offset away
            ids = rows.astype(np.int64) + self._first_id
        else:
            ids = self.ids[rows]
        inside = ids < len(allowed)
        keep = np.zeros(len(ids), bool)
        keep[inside] = allowed[ids[inside]]
        return keep

    # the file

    def save(self, path: Path) -> None:
        """Write atomically: a temporary file, fsync, rename."""
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        try:
            with open(tmp, "wb") as handle:
                np.savez(
                    handle,
                    format=np.array([FORMAT]),
                    key=np.frombuffer(self.key.encode(), np.uint8),
                    tokens=np.frombuffer("\n".join(self.tokens).encode(), np.uint8),
                    starts=self.starts,
                    rows=self.rows,
                    title_tf=self.title_tf,
                    text_tf=self.text_tf,
                    ids=self.ids,
                )
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise

    @classmethod
    def load(cls, path: Path) -> Postings:
        try:
            with open(path, "rb") as handle, np.load(handle, allow_pickle=False) as data:
                if int(data["format"][0]) != FORMAT:
                    raise IndexCorruptError(f"{path.name} has another format")
                text = data["tokens"].tobytes().decode()
                postings = cls(
                    text.split("\n") if text else [],
                    data["starts"],
                    data["rows"],
                    data["title_tf"],
                    data["text_tf"],
                    data["ids"],
                    data["key"].tobytes().decode(),
                )
        except (OSError, ValueError, KeyError, zipfile.BadZipFile, UnicodeDecodeError) as e:
            raise IndexCorruptError(f"{path.name} cannot be read ({e})") from e
        if len(postings.starts) != len(postings.tokens) + 1 or postings.starts[-1] != len(
            postings.rows
        ):
            raise IndexCorruptError(f"{path.name} is inconsistent")
        return postings
