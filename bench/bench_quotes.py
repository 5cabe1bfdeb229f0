"""Quote extraction cost per article, against splitting the same article into passages (the
baseline, measured in the same run): who-said-what runs at ingest for every article, so it must
stay a small multiple of the split it builds on. Replaces a timed unit test.

    .venv/bin/python bench/bench_quotes.py [--rounds 5] [--repeat 20]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from corpus.bundled import bundled_articles  # noqa: E402
from corpus.quotes import extract_quotes  # noqa: E402
from corpus.split import SplitConfig, split_passages  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    articles = bundled_articles()
    config = SplitConfig()
    extract_quotes(articles[0])  # warm the caches
    ours, base = [], []
    for _ in range(args.rounds):
        started = time.perf_counter()
        for _ in range(args.repeat):
            for a in articles:
                split_passages(a.id, a.text, config)
        base.append((time.perf_counter() - started) / (args.repeat * len(articles)))
        started = time.perf_counter()
        for _ in range(args.repeat):
            for a in articles:
                extract_quotes(a)
        ours.append((time.perf_counter() - started) / (args.repeat * len(articles)))
    ratios = [o / b for o, b in zip(ours, base, strict=True)]
    print(f"quotes per article: median {statistics.median(ours) * 1000:.2f} ms")
    print(f"split per article (baseline): median {statistics.median(base) * 1000:.2f} ms")
    print(f"ratio quotes/split: median {statistics.median(ratios):.2f} "
          f"(min {min(ratios):.2f}, max {max(ratios):.2f})")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
