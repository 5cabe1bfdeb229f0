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
from typing import TYPE_CHECKING

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


@dataclass(frozen=True)
class Scores:
    """One query's BM25 score of every row (passage), and which rows hold any of its terms."""

    ids: NDArray[np.int64]  # the passage id of each row, ascending
    total: NDArray[np.float64]
    matched: NDArray[np.bool_]

    def top(self, k: int, allowed: NDArray[np.int64] | None = None) -> list[tuple[int, float]]:
        """Top-k (passage id, score), best first, ties in id order (as FTS5 returns them);
        with `allowed`, only those passages."""
        matched = self.matched if allowed is None else self.matched & np.isin(self.ids, allowed)
        rows = np.flatnonzero(matched)
        total = self.total
        if len(rows) > k > 0:  # every row scoring at least the k-th best, ties included
            kth = np.partition(total[rows], len(rows) - k)[len(rows) - k]
            rows = rows[total[rows] >= kth]
        order = np.argsort(-total[rows], kind="stable")[: max(k, 0)]
        return [(int(self.ids[r]), float(total[r])) for r in rows[order]]

    def of(self, ids: Sequence[int]) -> list[tuple[int, float]]:
        """The scores of those of `ids` that hold any of the terms, in id order."""
        wanted = np.unique(np.asarray(ids, np.int64))
        rows = np.searchsorted(self.ids, wanted)
        present = rows < len(self.ids)
        rows = rows[present][self.ids[rows[present]] == wanted[present]]
        rows = rows[self.matched[rows]]
        return [(int(self.ids[r]), float(self.total[r])) for r in rows]


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
        self._norm = K1 * ((1 - B) + (B * lengths) / average) if average else lengths * 0.0

    def __len__(self) -> int:
        return len(self.ids)

    @classmethod
    def from_raw(cls, raw: RawPostings, key: str = "") -> Postings:
        ids = np.unique(np.asarray(raw.ids, np.int64))
        rows = np.searchsorted(ids, raw.row_id)
        if len(raw.row_id) and (rows.max() >= len(ids) or np.any(ids[rows] != raw.row_id)):
            raise ValueError("postings name rows that are not in the table")
        # a token's rows may come in any order (a row's score sums them); postings already in
        # token order plus a few appended are two sorted runs, which a stable sort merges in O(n)
        order = np.argsort(raw.token, kind="stable")
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
        """The BM25 score of every row for a query OR-ing one-token `phrases` (FTS5's order and
        arithmetic: each phrase's share, summed phrase by phrase), and which rows hold any."""
        total = np.zeros(len(self.ids))
        title_weight, text_weight = weights
        # with positive weights every posting adds a positive share (IDF >= 1e-6), so the rows
        # that hold a phrase are those scoring above 0; else they are marked one by one
        marking = min(weights) <= 0
        matched = np.zeros(len(self.ids), bool)
        for phrase in phrases:
            n = self.vocabulary.get(phrase)
            if n is None:
                continue  # no row holds it: it adds nothing to any score
            lo, hi = int(self.starts[n]), int(self.starts[n + 1])
            hits = hi - lo
            idf = math.log((len(self.ids) - hits + 0.5) / (hits + 0.5))
            idf = idf if idf > 0.0 else MIN_IDF
            rows = self.rows[lo:hi]
            frequency = title_weight * self.title_tf[lo:hi] + text_weight * self.text_tf[lo:hi]
            total[rows] += idf * ((frequency * (K1 + 1.0)) / (frequency + self._norm[rows]))
            if marking:
                matched[rows] = True
        return Scores(self.ids, total, matched if marking else total > 0)

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
