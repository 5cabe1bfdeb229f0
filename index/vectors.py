"""The FAISS side of the index: vectors keyed by passage id, saved atomically.

Vectors are L2-normalised, so inner product equals cosine similarity. FAISS's short names (xq, D, I)
stay inside this module; callers get `scores, ids`.

Two structures, one interface:

    flat  exact search (IndexIDMap2 over IndexFlatIP): every vector scanned, float32
    ivf   approximate (IndexIVFScalarQuantizer, float16 codes): 1M x 384 vectors in ~0.8 GB, a
          query scans `nprobe` of `nlist` lists; recall@10 against exact >= 0.98 (bench/README.md;
          8-bit codes halve the memory but cap recall@10 near 0.98)

The policy (`index_type`) says which: "flat" always; "ivf" once there are IVF_MIN_TRAIN vectors to
train it on; "auto" (the default) flat until AUTO_THRESHOLD vectors, then ivf. The switch happens
inside `add`, from the vectors already held, so an index grows from one to the other by itself.
IVF was chosen over HNSW because it deletes natively (no tombstones), adds 1,000 vectors in
milliseconds, and trains and builds 1M vectors in a minute on two cores (HNSW took far longer).
"""

from __future__ import annotations

import hashlib
import math
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from index.errors import IndexCorruptError

if TYPE_CHECKING:
    from numpy.typing import NDArray

FLAT = "flat"
IVF = "ivf"
AUTO = "auto"
INDEX_TYPES = (AUTO, FLAT, IVF)
AUTO_THRESHOLD = 50_000  # below this, exact search is fast enough (~5 ms a query) and exact
IVF_MIN_TRAIN = 10_000
TARGET_SCANNED = 0.03  # share of the lists a query scans; measured for recall@10 >= 0.98


def _faiss() -> Any:
    import faiss  # imported when vectors are first touched: commands that only read SQLite skip it

    return faiss


def nlist_for(n: int) -> int:
    """IVF lists for n vectors: about 2 sqrt(n), a power of two, 64 to 4096."""
    return int(min(4096, max(64, 2 ** round(math.log2(2 * math.sqrt(max(n, 1)))))))


class VectorIndex:
    """Inner-product search over vectors with int64 ids (passage ids), exact or IVF."""

    def __init__(self, index: Any, index_type: str = FLAT):
        if index_type not in INDEX_TYPES:
            raise ValueError(f"unknown index type {index_type!r}; choose from {INDEX_TYPES}")
        self._index = index
        self.index_type = index_type  # the policy; `kind` is the structure held now

    @classmethod
    def create(cls, dimension: int, index_type: str = FLAT) -> VectorIndex:
        faiss = _faiss()
        return cls(faiss.IndexIDMap2(faiss.IndexFlatIP(dimension)), index_type)

    @property
    def kind(self) -> str:
        return IVF if self._ivf() is not None else FLAT

    def _ivf(self) -> Any:
        faiss = _faiss()
        return self._index if isinstance(self._index, faiss.IndexIVF) else None

    @property
    def nprobe(self) -> int:
        ivf = self._ivf()
        return int(ivf.nprobe) if ivf is not None else 0

    @property
    def dimension(self) -> int:
        return int(self._index.d)

    def __len__(self) -> int:
        return int(self._index.ntotal)

    def add(self, ids: NDArray[np.int64], vectors: NDArray[np.float32]) -> None:
        if not len(ids):
            return
        xb = np.ascontiguousarray(vectors, dtype=np.float32)
        ids = np.asarray(ids, dtype=np.int64)
        if self.kind == FLAT and self._should_switch(len(self) + len(ids)):
            held_ids, held = self._flat_contents()
            self._index = self._train_ivf(np.concatenate([held, xb]))
            self._index.add_with_ids(held, held_ids)
        self._index.add_with_ids(xb, ids)

    def _should_switch(self, n: int) -> bool:
        if self.index_type == IVF:
            return n >= IVF_MIN_TRAIN
        return self.index_type == AUTO and n >= AUTO_THRESHOLD

    def _flat_contents(self) -> tuple[NDArray[np.int64], NDArray[np.float32]]:
        faiss = _faiss()
        n = len(self)
        ids = faiss.vector_to_array(self._index.id_map).astype(np.int64)
        if n == 0:
            return ids, np.zeros((0, self.dimension), dtype=np.float32)
        return ids, np.asarray(self._index.index.reconstruct_n(0, n), dtype=np.float32)

    def _train_ivf(self, sample: NDArray[np.float32]) -> Any:
        faiss = _faiss()
        d, nlist = self.dimension, nlist_for(len(sample))
        quantizer = faiss.IndexFlatIP(d)
        index = faiss.IndexIVFScalarQuantizer(
            quantizer, d, nlist, faiss.ScalarQuantizer.QT_fp16, faiss.METRIC_INNER_PRODUCT
        )
        rng = np.random.default_rng(0)
        take = min(len(sample), 40 * nlist)
        index.cp.min_points_per_centroid = 1  # a small sample is fine; do not print a warning
        index.cp.niter = 10  # k-means converges enough for routing; 25 doubles the build time
        index.train(sample[rng.choice(len(sample), take, replace=False)])
        index.nprobe = max(8, round(nlist * TARGET_SCANNED))
        return index

    def remove(self, ids: NDArray[np.int64]) -> None:
        if len(ids):
            self._index.remove_ids(np.asarray(ids, dtype=np.int64))

    def search(
        self, queries: NDArray[np.float32], k: int, allowed: NDArray[np.bool_] | None = None
    ) -> tuple[NDArray[np.float32], NDArray[np.int64]]:
        """Top-k (scores, ids) per query, -1 ids padding; `allowed`, a mask by id, restricts
        the ids searched."""
        faiss = _faiss()
        xq = np.ascontiguousarray(queries, dtype=np.float32)
        k = max(1, min(k, len(self)))
        if len(self) == 0 or (allowed is not None and not allowed.any()):
            n = len(xq)
            return np.zeros((n, 0), dtype=np.float32), np.zeros((n, 0), dtype=np.int64)
        params = None
        selector = None
        if allowed is not None:
            # a bit per id: built in one pass, where IDSelectorBatch hashes every allowed id
            bitmap = np.packbits(allowed, bitorder="little")
            selector = faiss.IDSelectorBitmap(len(bitmap), faiss.swig_ptr(bitmap))
        if self.kind == IVF:
            params = faiss.SearchParametersIVF(sel=selector, nprobe=self.nprobe)
        elif selector is not None:
            params = faiss.SearchParameters(sel=selector)
        D, I = self._index.search(xq, k, params=params)  # noqa: E741 (FAISS's names)
        return D, I

    def save(self, path: Path) -> str:
        """Write to `path` atomically (a temporary file, fsync, rename); returns its SHA-256.

        FAISS writes through a Python file, so a full disk raises OSError here: FAISS's own file
        writer only prints a failed final flush to stderr and leaves a short file behind."""
        faiss = _faiss()
        tmp = path.with_name(path.name + ".tmp")
        digest = hashlib.sha256()
        try:
            with open(tmp, "wb") as f:

                def write(chunk: bytes) -> None:
                    digest.update(chunk)
                    f.write(chunk)

                writer = faiss.PyCallbackIOWriter(write)
                faiss.write_index(self._index, writer)
                del writer  # flushes its last chunk
                f.flush()
                os.fsync(f.fileno())
        except BaseException:
            tmp.unlink(missing_ok=True)  # a partial file on a full disk helps no one
            raise
        os.replace(tmp, path)
        return digest.hexdigest()

    @classmethod
    def load(cls, path: Path, index_type: str = FLAT) -> VectorIndex:
        faiss = _faiss()
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
        return cls(index, index_type if index_type in INDEX_TYPES else FLAT)
