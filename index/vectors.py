"""The FAISS side of the index: vectors keyed by passage id, saved atomically.

Vectors are L2-normalised, so inner product equals cosine similarity. FAISS's short names (xq, D, I)
stay inside this module; callers get `scores, ids`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import faiss
import numpy as np

from index.errors import IndexCorruptError

if TYPE_CHECKING:
    from numpy.typing import NDArray

FLAT = "flat"
INDEX_TYPES = (FLAT,)


class VectorIndex:
    """Exact inner-product search over vectors with int64 ids (passage ids)."""

    def __init__(self, index: faiss.Index, index_type: str = FLAT):
        self._index = index
        self.index_type = index_type

    @classmethod
    def create(cls, dimension: int, index_type: str = FLAT) -> VectorIndex:
        if index_type not in INDEX_TYPES:
            raise ValueError(f"unknown index type {index_type!r}; choose from {INDEX_TYPES}")
        return cls(faiss.IndexIDMap2(faiss.IndexFlatIP(dimension)), index_type)

    @property
    def dimension(self) -> int:
        return int(self._index.d)

    def __len__(self) -> int:
        return int(self._index.ntotal)

    def add(self, ids: NDArray[np.int64], vectors: NDArray[np.float32]) -> None:
        if len(ids):
            self._index.add_with_ids(
                np.ascontiguousarray(vectors, dtype=np.float32), np.asarray(ids, dtype=np.int64)
            )

    def remove(self, ids: NDArray[np.int64]) -> None:
        if len(ids):
            self._index.remove_ids(np.asarray(ids, dtype=np.int64))  # type: ignore[arg-type]

    def search(
        self, queries: NDArray[np.float32], k: int, allowed: NDArray[np.int64] | None = None
    ) -> tuple[NDArray[np.float32], NDArray[np.int64]]:
        """Top-k (scores, ids) per query, -1 ids padding; `allowed` restricts the ids searched."""
        xq = np.ascontiguousarray(queries, dtype=np.float32)
        k = max(1, min(k, len(self)))
        if len(self) == 0 or (allowed is not None and len(allowed) == 0):
            n = len(xq)
            return np.zeros((n, 0), dtype=np.float32), np.zeros((n, 0), dtype=np.int64)
        params = None
        if allowed is not None:
            selector = faiss.IDSelectorBatch(np.asarray(allowed, np.int64))
            params = faiss.SearchParameters(sel=selector)  # type: ignore[call-arg]
        D, I = self._index.search(xq, k, params=params)  # noqa: E741 (FAISS's names)
        return D, I

    def save(self, path: Path) -> None:
        """Write to `path` atomically: a temporary file, fsync, then rename over."""
        tmp = path.with_name(path.name + ".tmp")
        faiss.write_index(self._index, str(tmp))
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: Path, index_type: str = FLAT) -> VectorIndex:
        if not path.exists():
            raise IndexCorruptError(
                f"vector file {path.name} is missing from {path.parent}; "
                "run `newsqa index rebuild` to restore it from the stored passages"
            )
        try:
            index = faiss.read_index(str(path))
        except RuntimeError as e:
            raise IndexCorruptError(
                f"vector file {path} is damaged ({str(e).splitlines()[0][:120]}); "
                "run `newsqa index rebuild` to restore it from the stored passages"
            ) from e
        return cls(index, index_type)
