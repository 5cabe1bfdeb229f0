"""The FAISS wrapper against brute-force numpy on seeded vectors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from index.errors import IndexCorruptError
from index.vectors import VectorIndex


def unit(rng: np.random.Generator, n: int, d: int) -> np.ndarray:
    x = rng.standard_normal((n, d)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def brute_force(xb: np.ndarray, ids: np.ndarray, xq: np.ndarray, k: int) -> np.ndarray:
    scores = xq @ xb.T
    order = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    return ids[order]


def test_search_matches_brute_force() -> None:
    rng = np.random.default_rng(7)
    xb, xq = unit(rng, 500, 32), unit(rng, 20, 32)
    ids = rng.choice(10_000, size=500, replace=False).astype(np.int64)
    index = VectorIndex.create(32)
    index.add(ids, xb)
    scores, found = index.search(xq, 10)
    assert (found == brute_force(xb, ids, xq, 10)).all()
    assert np.allclose(scores, np.sort(xq @ xb.T, axis=1)[:, ::-1][:, :10], atol=1e-5)


def test_remove_and_allowed_ids() -> None:
    rng = np.random.default_rng(8)
    xb, xq = unit(rng, 200, 16), unit(rng, 5, 16)
    ids = np.arange(1000, 1200, dtype=np.int64)
    index = VectorIndex.create(16)
    index.add(ids, xb)
    index.remove(ids[:100])
    assert len(index) == 100
    _, found = index.search(xq, 10)
    assert (found == brute_force(xb[100:], ids[100:], xq, 10)).all()
    allowed = ids[150:170]
    _, found = index.search(xq, 5, allowed)
    assert (found == brute_force(xb[150:170], allowed, xq, 5)).all()
    _, found = index.search(xq, 5, np.array([], dtype=np.int64))
    assert found.shape == (5, 0)


def test_save_load_roundtrip_and_damage(tmp_path: Path) -> None:
    rng = np.random.default_rng(9)
    xb = unit(rng, 50, 8)
    index = VectorIndex.create(8)
    index.add(np.arange(50, dtype=np.int64), xb)
    path = tmp_path / "v.faiss"
    index.save(path)
    assert not list(tmp_path.glob("*.tmp"))
    loaded = VectorIndex.load(path)
    assert (loaded.search(xb[:3], 1)[1].ravel() == [0, 1, 2]).all()
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(IndexCorruptError, match="damaged.*newsqa index rebuild"):
        VectorIndex.load(path)
    with pytest.raises(IndexCorruptError, match="missing.*newsqa index rebuild"):
        VectorIndex.load(tmp_path / "absent.faiss")
