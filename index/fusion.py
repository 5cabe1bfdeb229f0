"""Fusing ranked lists from several retrievers, and keeping one article from filling the top."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable, Sequence
from typing import TypeVar

K = TypeVar("K", bound=Hashable)
T = TypeVar("T")


def reciprocal_rank_fusion(
    rankings: Sequence[Sequence[K]], weights: Sequence[float] | None = None, k: float = 60.0
) -> list[tuple[K, float]]:
    """Items by the weighted sum of 1 / (k + rank) over the rankings (rank 1 is the best)."""
    weights = weights or [1.0] * len(rankings)
    scores: dict[K, float] = defaultdict(float)
    for ranking, weight in zip(rankings, weights, strict=True):
        for rank, item in enumerate(ranking, start=1):
            scores[item] += weight / (k + rank)
    return sorted(scores.items(), key=lambda pair: (-pair[1], str(pair[0])))


def convex_fusion(
    rankings: Sequence[Sequence[tuple[K, float]]], weights: Sequence[float]
) -> list[tuple[K, float]]:
    """Items by the weighted sum of their scores, each list divided by its best score. An item
    missing from a list scores 0 there: no score is invented, so callers that want an item's
    real score in every list (a passage BM25 did not return may still hold a term) pass it."""
    scores: dict[K, float] = defaultdict(float)
    for ranking, weight in zip(rankings, weights, strict=True):
        if not ranking:
            continue
        best = max(score for _, score in ranking)
        for item, score in ranking:
            scores[item] += weight * (max(score, 0.0) / best if best > 0 else 0.0)
    return sorted(scores.items(), key=lambda pair: (-pair[1], str(pair[0])))


def cap_per_group(items: Iterable[T], group: Callable[[T], Hashable], cap: int, k: int) -> list[T]:
    """The first k items, skipping any beyond `cap` from the same group."""
    seen: dict[Hashable, int] = defaultdict(int)
    out: list[T] = []
    for item in items:
        key = group(item)
        if seen[key] >= cap:
            continue
        seen[key] += 1
        out.append(item)
        if len(out) == k:
            break
    return out
