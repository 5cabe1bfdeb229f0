"""Which passages a filtered search may return, as a mask by passage id: what FAISS's bitmap
selector and the BM25 postings read directly, so a filter costs no id list, hash set or
`np.isin` over every passage.

A date range is answered from memory: each passage's article day, read from SQLite once per
index generation. At a million passages the SQL query listing a range's passages took 27 ms a
search (and a dated question searches twice); the mask takes about 1 ms.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from index.store import Store

if TYPE_CHECKING:
    from numpy.typing import NDArray


def id_mask(ids: Sequence[int] | NDArray[np.int64]) -> NDArray[np.bool_]:
    """A mask by passage id that holds exactly `ids`."""
    ids = np.asarray(ids, np.int64)
    mask = np.zeros(int(ids.max()) + 1 if len(ids) else 0, bool)
    mask[ids] = True
    return mask


class PassageDates:
    """Each passage's day (the first ten characters of its article's `published`, as
    `Filters.sql` compares them), so that a range's passages are two comparisons in memory."""

    def __init__(self, ids: Sequence[int], days: Sequence[str | None]):
        self.days = sorted({d for d in days if d is not None})  # the distinct days, in order
        rank = {d: n for n, d in enumerate(self.days)}
        by_id = np.asarray(ids, np.int64)
        # a passage's day as its rank among the days; -1: no passage, or no date (never in range)
        self.rank = np.full(int(by_id.max()) + 1 if len(by_id) else 0, -1, np.int32)
        self.rank[by_id] = [-1 if d is None else rank[d] for d in days]

    @classmethod
    def read(cls, store: Store) -> PassageDates:
        rows = store.query(
            "SELECT p.id, substr(a.published, 1, 10) FROM articles a INDEXED BY articles_info "
            "CROSS JOIN passages p ON p.article_id = a.id"
        )
        return cls([r[0] for r in rows], [r[1] for r in rows])

    def allowed(self, since: str | None, until: str | None) -> NDArray[np.bool_]:
        """The passages of articles published from `since` to `until` (inclusive, either open):
        those `Store.passage_ids` lists for the same range, as a mask by passage id."""
        # SQLite compares text by its UTF-8 bytes, which order as Python orders code points
        lo = bisect.bisect_left(self.days, since) if since else 0
        hi = bisect.bisect_right(self.days, until) if until else len(self.days)
        mask: NDArray[np.bool_] = (self.rank >= lo) & (self.rank < hi)
        return mask
