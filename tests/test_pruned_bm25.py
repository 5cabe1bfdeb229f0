"""The pruned BM25 top k (MaxScore over the postings in memory) against brute force: every
posting of every term summed, on random postings whose document frequencies follow Zipf's law
as a news archive's do (a few words in most passages, most words in few)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from numpy.typing import NDArray

from index import postings as postings_module
from index.postings import K1, MIN_IDF, B, Postings, RawPostings

WEIGHTS = (0.5, 1.0)


def zipf_postings(seed: int, rows: int, vocabulary: int, gaps: bool) -> Postings:
    """Postings of `rows` passages, each holding words drawn with Zipf-distributed frequency;
    passage ids with gaps (removed passages) or without."""
    rng = np.random.default_rng(seed)
    chance = 1.0 / np.arange(1, vocabulary + 1) ** 1.1
    chance /= chance.sum()
    step = rng.integers(1, 4, rows) if gaps else np.ones(rows, np.int64)
    ids = np.cumsum(step) + 7
    token, row_id, title_tf, text_tf = [], [], [], []
    for passage in ids:
        words, counts = np.unique(
            rng.choice(vocabulary, rng.integers(1, 60), p=chance), return_counts=True
        )
        in_title = rng.random(len(words)) < 0.2
        token += words.tolist()
        row_id += [int(passage)] * len(words)
        title_tf += np.where(in_title, rng.integers(1, 3, len(words)), 0).tolist()
        text_tf += np.where(in_title & (rng.random(len(words)) < 0.5), 0, counts).tolist()
    order = np.argsort(np.array(token), kind="stable")
    return Postings.from_raw(
        RawPostings(
            [f"w{n}" for n in range(vocabulary)],
            np.array(token, np.int64)[order],
            np.array(row_id, np.int64)[order],
            np.array(title_tf, np.int64)[order],
            np.array(text_tf, np.int64)[order],
            ids,
        )
    )


def brute_force(
    postings: Postings, phrases: list[str], weights: tuple[float, float]
) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
    """Every row's score, each phrase's share summed over its whole posting list in the query's
    order, as SQLite's fts5Bm25Function sums them."""
    n = len(postings.ids)
    lengths = np.zeros(n)
    np.add.at(lengths, postings.rows, postings.title_tf.astype(np.float64) + postings.text_tf)
    norm = K1 * ((1 - B) + (B * lengths) / (lengths.sum() / n))
    total, matched = np.zeros(n), np.zeros(n, bool)
    for phrase in phrases:
        t = postings.vocabulary[phrase]
        lo, hi = postings.starts[t], postings.starts[t + 1]
        rows = postings.rows[lo:hi]
        idf = max(math.log((n - (hi - lo) + 0.5) / ((hi - lo) + 0.5)), 0.0) or MIN_IDF
        frequency = weights[0] * postings.title_tf[lo:hi] + weights[1] * postings.text_tf[lo:hi]
        total[rows] += idf * ((frequency * (K1 + 1.0)) / (frequency + norm[rows]))
        matched[rows] = True
    return total, matched


def expected_top(
    postings: Postings,
    total: NDArray[np.float64],
    matched: NDArray[np.bool_],
    k: int,
    allowed: NDArray[np.bool_] | None,
) -> list[tuple[int, float]]:
    ids = postings.ids
    keep = matched.copy()
    if allowed is not None:
        keep &= np.array([i < len(allowed) and allowed[i] for i in ids])
    ranked = sorted(np.flatnonzero(keep), key=lambda r: (-total[r], ids[r]))[:k]
    return [(int(ids[r]), float(total[r])) for r in ranked]


@pytest.mark.parametrize(
    ("gaps", "small"),
    [(False, False), (True, False), (False, True)],
    ids=["ids without gaps", "ids with gaps", "bounds in slices, a first k-th best of a sample"],
)
def test_pruned_top_k_equals_brute_force(
    gaps: bool, small: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        postings_module, "DENSE_BELOW", 0
    )  # these postings are few: pruned all the same
    if small:
        monkeypatch.setattr(postings_module, "FIRST_ROWS", 200)
        monkeypatch.setattr(postings_module, "BOUND_SLICE", 1_000)
    postings = zipf_postings(3, 3_000, 400, gaps)
    frequencies = np.diff(postings.starts)
    assert frequencies.max() > 0.6 * len(postings) and np.median(frequencies) < 80  # Zipf-like
    rng = np.random.default_rng(4)
    ids = postings.ids
    allowed_masks: list[NDArray[np.bool_] | None] = [
        None,
        rng.random(int(ids[-1]) + 1) < 0.3,
        rng.random(int(ids[-1]) // 2) < 0.8,  # shorter than the ids: the rest not allowed
        np.zeros(int(ids[-1]) + 1, bool),
    ]
    pruned_somewhere = False
    for _ in range(40):
        common = rng.choice(5, rng.integers(0, 4), replace=False)  # "said", "us", ...
        rare = rng.choice(np.arange(5, 400), rng.integers(1, 8), replace=False)
        phrases = [f"w{n}" for n in rng.permutation(np.concatenate([common, rare]))]
        if rng.random() < 0.2:
            phrases.append(phrases[0])  # a word twice: FTS5 counts both phrases
        scores = postings.scores(phrases, WEIGHTS)
        total, matched = brute_force(postings, phrases, WEIGHTS)
        matches = int(matched.sum())
        for allowed in allowed_masks:
            for k in sorted({1, 2, 5, 10, 50, max(matches - 1, 1), matches, matches + 10}):
                assert scores.top(k, allowed) == expected_top(postings, total, matched, k, allowed)
        wanted = rng.choice(ids, 200).tolist() + [10**9, -5]
        assert scores.of(wanted) == [
            (int(ids[r]), float(total[r])) for r in np.flatnonzero(matched) if ids[r] in wanted
        ]
        survivors = scores._survivors(10, None)
        pruned_somewhere |= len(survivors) < matches // 4
    assert pruned_somewhere  # common words were looked up, not summed over every row


def test_rows_out_of_order_in_a_token_are_put_in_order(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(postings_module, "DENSE_BELOW", 0)
    postings = zipf_postings(5, 500, 60, gaps=True)
    shuffled = postings.rows.copy()
    rng = np.random.default_rng(6)
    for t in range(len(postings.tokens)):  # a file written before rows were kept in order
        lo, hi = postings.starts[t], postings.starts[t + 1]
        order = lo + rng.permutation(hi - lo)
        shuffled[lo:hi] = postings.rows[order]
        postings.title_tf[lo:hi] = postings.title_tf[order]
        postings.text_tf[lo:hi] = postings.text_tf[order]
    postings.rows[:] = shuffled
    phrases = ["w0", "w3", "w17", "w40"]
    total, matched = brute_force(postings, phrases, WEIGHTS)
    scores = postings.scores(phrases, WEIGHTS)
    for k in (1, 10, 500):
        assert scores.top(k) == expected_top(postings, total, matched, k, None)
