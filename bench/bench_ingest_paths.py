"""Ingest of real articles without the model: this checkout against another, in the same run.

Times `Archive.add` of the first N RealTime QA articles (real news, ../shared/data/rtqa-dev) into
a fresh index: cleaning aside (the articles are read once, before the clock), everything but the
model: splitting, quotes, near-duplicate signatures, SQLite with FTS5, the FAISS file and its
checksum, commits. The encoder is a stand-in of next to no cost (one of 1,024 fixed vectors per
text, by its hash), so what is measured is what newsqa's own code costs; the model's share
(`bench_ingest.py`, 96% of a real ingest) does not depend on the code compared here.

Ours is this checkout; the baseline is another (`--baseline DIR`, e.g. `git worktree add
/tmp/base main`). Each round runs both, alternated, each in a fresh process.

    .venv/bin/python bench/bench_ingest_paths.py --baseline /tmp/base [--limit 3000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared/data/rtqa-dev/articles.jsonl"


class StandInEncoder:
    """One of 1,024 fixed unit vectors per text, chosen by a hash of it: next to no cost."""

    name = "bench/stand-in"
    dimension = 384

    def __init__(self) -> None:
        import numpy as np

        table = np.random.default_rng(0).standard_normal((1024, self.dimension))
        self.table = (table / np.linalg.norm(table, axis=1, keepdims=True)).astype(np.float32)

    def load(self) -> None:
        pass

    def encode_documents(self, texts: list[str]) -> object:
        rows = [hash_row(text) for text in texts]
        return self.table[rows] if rows else self.table[:0]

    encode_queries = encode_documents


def hash_row(text: str) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=2).digest(), "little") % 1024


def child(limit: int) -> None:
    """In a fresh process with this checkout or the baseline first on sys.path: time one ingest."""
    from corpus.readers import ReadLimits, read_input
    from index import Archive

    articles = read_input(str(DATA), ReadLimits()).articles[:limit]
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        with Archive.open(Path(tmp) / "index", StandInEncoder(), create=True) as archive:  # type: ignore[arg-type]
            report = archive.add(articles)
        seconds = time.perf_counter() - started
    print(json.dumps({"seconds": seconds, "articles": len(report.added),
                      "passages": report.passages}))  # fmt: skip


def run(tree: Path, limit: int) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    done = subprocess.run(
        [sys.executable, __file__, "--child", "--limit", str(limit)],
        cwd=tree, env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", type=Path, help="another checkout of newsqa")
    parser.add_argument("--limit", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.limit)
        return
    if args.baseline is None:
        parser.error("--baseline DIR is required")
    ours, base = [], []
    for n in range(args.rounds):
        first, second = (ROOT, args.baseline) if n % 2 else (args.baseline, ROOT)
        a, b = run(first, args.limit), run(second, args.limit)
        mine, theirs = (a, b) if first == ROOT else (b, a)
        ours.append(mine["seconds"])
        base.append(theirs["seconds"])
        print(f"round {n + 1}: ours {mine['seconds']:.1f} s, baseline {theirs['seconds']:.1f} s "
              f"({mine['articles']:.0f} articles, {mine['passages']:.0f} passages; baseline "
              f"{theirs['passages']:.0f})", flush=True)  # fmt: skip
    ratios = [o / b for o, b in zip(ours, base, strict=True)]
    print(f"ours median {statistics.median(ours):.1f} s (min {min(ours):.1f}), baseline "
          f"{statistics.median(base):.1f} s (min {min(base):.1f}); ratio ours/baseline "
          f"{statistics.median(ratios):.3f} ({min(ratios):.3f}-{max(ratios):.3f})")  # fmt: skip


if __name__ == "__main__":
    main()
