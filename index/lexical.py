"""Lexical evidence shared by search and answers: which of a question's words a text covers,
weighted by how rare each word is in the archive (IDF from the full-text index)."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import Protocol

_WORD = re.compile(r"\w+")

TermWeights = dict[str, float]


class Frequencies(Protocol):
    """What term weights need: how many passages hold each term (an `Archive` answers from its
    BM25 postings in memory, a `Store` from FTS5's vocabulary)."""

    def document_frequencies(self, terms: Sequence[str]) -> dict[str, int]: ...


@lru_cache(maxsize=200_000)  # a news archive's vocabulary: most words recur in every answer
def stem(word: str) -> str:
    """A crude English stemmer, enough to match "sanctions" with "sanction" both ways."""
    word = word.lower().removesuffix("’s").removesuffix("'s")
    for suffix, keep in (("ies", "y"), ("es", ""), ("s", ""), ("ing", ""), ("ed", "")):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3 and not word.endswith("ss"):
            return word[: -len(suffix)] + keep
    return word


def term_weights(store: Frequencies, terms: Sequence[str], passages: int) -> TermWeights:
    """IDF of each term (a question's content words, `index.fts.query_terms`) over `passages`
    passages, keyed by its stem."""
    frequencies = store.document_frequencies(terms)
    total = max(1, passages)
    return {stem(t): math.log(1 + (total - df + 0.5) / (df + 0.5)) for t, df in frequencies.items()}


def coverage(text: str, weights: TermWeights) -> float:
    """The IDF-weighted share of the question's terms that appear in `text` (0 to 1)."""
    return covered(stems(text), weights) if weights else 0.0


def covered(words: frozenset[str], weights: TermWeights) -> float:
    """`coverage` of a text given its stemmed words (`stems`)."""
    if not weights:
        return 0.0
    return sum(w for t, w in weights.items() if t in words) / sum(weights.values())


@lru_cache(maxsize=50_000)  # the sentences of the top passages recur from question to question
def stems(text: str) -> frozenset[str]:
    """The stemmed words of a text."""
    return frozenset(map(stem, _WORD.findall(text)))


def joined_stems(texts: Iterable[str]) -> frozenset[str]:
    """`stems(" ".join(texts))`, from each text's own (cached) stems: words never run across
    the joining spaces."""
    return frozenset().union(*map(stems, texts))


def best_coverage(texts: Iterable[str], weights: TermWeights) -> float:
    """The coverage of the best-covering text, e.g. the best sentence of a passage."""
    return max((coverage(t, weights) for t in texts), default=0.0)
