"""Splitting throughput for long paragraphs: splitting must stay linear in paragraph length.

Text: the bundled articles' prose, repeated to each size. Ours: the text as one paragraph (every
blank line and newline turned into a space), split into passages as ingest does. Baseline, in the
same run: the same characters in ordinary paragraphs of the articles' own length. A linear
splitter takes about as long for both (ratio near 1); one that re-scans the text before each
sentence boundary grows with the paragraph's length (the 94 KB paragraph that took 11.8 s).

    .venv/bin/python bench/bench_split.py [--sizes 250000 500000 1000000 2000000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from common import today  # noqa: E402

from corpus.bundled import bundled_articles  # noqa: E402
from corpus.split import SplitConfig, split_passages  # noqa: E402

GOAL_SECONDS_2MB = 2.0


def texts(size: int) -> tuple[str, str]:
    """(one paragraph, the same characters in the articles' paragraphs), `size` characters each."""
    prose = "\n\n".join(a.text for a in bundled_articles())
    paragraphed = (prose + "\n\n") * (size // (len(prose) + 2) + 1)
    paragraphed = paragraphed[:size]
    one = " ".join(paragraphed.split("\n"))
    assert len(one) == len(paragraphed)
    return one, paragraphed


def seconds(text: str, config: SplitConfig) -> float:
    started = time.perf_counter()
    passages = split_passages("bench", text, config)
    elapsed = time.perf_counter() - started
    assert passages
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[250_000, 500_000, 1_000_000,
                                                                  2_000_000])  # fmt: skip
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    config = SplitConfig()
    print(f"# {today()}: split_passages, median of {args.rounds} rounds, alternated")
    print(f"{'characters':>10}  {'one paragraph':>13}  {'chars/s':>10}  {'baseline':>9}  ratio")
    for size in args.sizes:
        one, paragraphed = texts(size)
        ours, base = [], []
        for _ in range(args.rounds):
            base.append(seconds(paragraphed, config))
            ours.append(seconds(one, config))
        o, b = statistics.median(ours), statistics.median(base)
        goal = ""
        if size >= 2_000_000:
            met = "met" if o < GOAL_SECONDS_2MB else "MISSED"
            goal = f"  goal < {GOAL_SECONDS_2MB:.0f} s: {met}"
        print(f"{size:>10,}  {o:>11.2f} s  {size / o:>10,.0f}  {b:>7.2f} s  {o / b:5.2f}{goal}")


if __name__ == "__main__":
    main()
