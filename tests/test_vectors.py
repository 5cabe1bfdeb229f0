"""The FAISS wrapper against brute-force numpy on seeded vectors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from index.errors import IndexCorruptError
from index.passage_dates import id_mask
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
    _, found = index.search(xq, 5, id_mask(allowed))
    assert (found == brute_force(xb[150:170], allowed, xq, 5)).all()
    _, found = index.search(xq, 5, id_mask([]))
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


# IVF: the approximate structure an index switches to as it grows


def clustered(rng: np.random.Generator, n: int, d: int, centres: np.ndarray) -> np.ndarray:
    """Vectors around a few centres, like sentence embeddings (uniform ones are a worst case)."""
    x = centres[rng.integers(len(centres), size=n)] + 0.6 * unit(rng, n, d)
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def recall_at(found: np.ndarray, exact: np.ndarray) -> float:
    pairs = zip(found, exact, strict=True)
    return float(np.mean([len(set(f) & set(e)) / len(e) for f, e in pairs]))


def test_auto_switches_to_ivf_and_keeps_recall(monkeypatch: pytest.MonkeyPatch) -> None:
    import index.vectors as vectors

    monkeypatch.setattr(vectors, "AUTO_THRESHOLD", 3_000)
    rng = np.random.default_rng(10)
    centres = unit(rng, 50, 32)
    xb, xq = clustered(rng, 6_000, 32, centres), clustered(rng, 50, 32, centres)
    ids = rng.choice(10**9, size=6_000, replace=False).astype(np.int64)
    index = VectorIndex.create(32, "auto")
    index.add(ids[:2_000], xb[:2_000])
    assert index.kind == "flat"
    index.add(ids[2_000:], xb[2_000:])  # crosses the threshold: trained from what it holds
    assert index.kind == "ivf" and len(index) == 6_000
    _, found = index.search(xq, 10)
    assert recall_at(found, brute_force(xb, ids, xq, 10)) >= 0.95


def test_ivf_remove_allowed_and_save_roundtrip(tmp_path: Path) -> None:
    rng = np.random.default_rng(11)
    centres = unit(rng, 40, 16)
    xb, xq = clustered(rng, 12_000, 16, centres), clustered(rng, 20, 16, centres)
    ids = np.arange(12_000, dtype=np.int64) + 5
    index = VectorIndex.create(16, "ivf")
    index.add(ids, xb)
    assert index.kind == "ivf"
    removed = ids[::2]
    index.remove(removed)
    assert len(index) == 6_000
    _, found = index.search(xq, 10)
    assert not set(found.ravel()) & set(removed)
    assert recall_at(found, brute_force(xb[1::2], ids[1::2], xq, 10)) >= 0.9
    allowed = ids[1:400:2]
    _, found = index.search(xq, 5, id_mask(allowed))
    assert set(found.ravel()) - {-1} <= set(allowed)
    index.save(tmp_path / "v.faiss")
    loaded = VectorIndex.load(tmp_path / "v.faiss", "ivf")
    assert loaded.kind == "ivf" and loaded.nprobe == index.nprobe and len(loaded) == 6_000
    assert (loaded.search(xq, 10)[1] == index.search(xq, 10)[1]).all()


def test_flat_policy_never_switches() -> None:
    rng = np.random.default_rng(12)
    index = VectorIndex.create(8, "flat")
    index.add(np.arange(20_000, dtype=np.int64), unit(rng, 20_000, 8))
    assert index.kind == "flat" and index.nprobe == 0
    with pytest.raises(ValueError, match="unknown index type"):
        VectorIndex.create(8, "hnsw")
