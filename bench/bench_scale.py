"""Goal 4, scale: exact (flat) against approximate (IVF, 8-bit codes) search at 100k and 1M
vectors of dimension 384: query latency, recall@10 against exact, adding 1,000 vectors, memory.

    .venv/bin/python bench/bench_scale.py [--sizes 100000 1000000] [--queries 200]

Synthetic vectors clustered like sentence embeddings (uniform random vectors on the sphere are a
worst case no text model produces): 2,000 centres, each vector a centre plus noise, normalised;
the median top-1 cosine is 0.67, as for MiniLM on news questions.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from common import row, summary, timed, today  # noqa: E402

from index.vectors import VectorIndex  # noqa: E402

D = 384


def clustered(rng: np.random.Generator, n: int, centres: np.ndarray) -> np.ndarray:
    out = np.empty((n, D), dtype=np.float32)
    for start in range(0, n, 100_000):
        m = min(100_000, n - start)
        x = centres[rng.integers(len(centres), size=m)]
        x = x + 0.04 * rng.standard_normal((m, D)).astype(np.float32)
        out[start : start + m] = x / np.linalg.norm(x, axis=1, keepdims=True)
    return out


def measure(rng: np.random.Generator, centres: np.ndarray, n: int, queries: int) -> None:
    xb = clustered(rng, n, centres)
    xq = clustered(rng, queries, centres)
    ids = np.arange(1, n + 1, dtype=np.int64)
    flat = VectorIndex.create(D, "flat")
    flat.add(ids, xb)
    started = time.perf_counter()
    ivf = VectorIndex.create(D, "ivf")
    ivf.add(ids, xb)
    build = time.perf_counter() - started
    exact = flat.search(xq, 10)[1]
    approx = ivf.search(xq, 10)[1]
    recall = np.mean([len(set(a) & set(e)) / 10 for a, e in zip(approx, exact, strict=True)])
    flat_t = summary([t for q in xq for t in timed(lambda q=q: flat.search(q[None], 50), 1)])
    ivf_t = summary([t for q in xq for t in timed(lambda q=q: ivf.search(q[None], 50), 1)])
    new = clustered(rng, 1_000, centres)
    new_ids = np.arange(n + 1, n + 1_001, dtype=np.int64)
    add_t = summary(timed(lambda: (ivf.add(new_ids, new), ivf.remove(new_ids)), 5))
    rm = summary(timed(lambda: (ivf.remove(ids[:1000]), ivf.add(ids[:1000], xb[:1000])), 3))
    print(f"## {n:,} vectors (ivf: {ivf.kind}, nprobe {ivf.nprobe}, built in {build:.1f} s)")
    print(row("flat search, one query (baseline)", flat_t))
    print(row("ivf search, one query", ivf_t))
    print(
        f"speed-up (median) x{flat_t['median_ms'] / ivf_t['median_ms']:.1f}; "
        f"recall@10 against exact {recall:.4f}"
    )
    print(row("ivf: add 1,000 (+ remove them)", add_t))
    print(row("ivf: remove 1,000 (+ add back)", rm))
    print(
        f"memory for the vectors: flat {n * D * 4 / 1e9:.2f} GB, "
        f"ivf codes {n * (2 * D + 8) / 1e9:.2f} GB"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    centres = rng.standard_normal((2_000, D)).astype(np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    print(f"# vector search at scale, {today()}, dimension {D}, {args.queries} queries")
    for n in args.sizes:
        measure(rng, centres, n, args.queries)


if __name__ == "__main__":
    main()
