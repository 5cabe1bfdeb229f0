"""Small helpers shared by the benchmarks: timing summaries, a results line, and real news to
measure on (RealTime QA articles and questions, ../shared/data/rtqa-dev)."""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from corpus.types import Article

DATA = Path(__file__).resolve().parent.parent.parent / "shared/data/rtqa-dev/articles.jsonl"
QUESTIONS = DATA.with_name("questions.jsonl")


def real_articles(path: Path = DATA, limit: int | None = None) -> list[Article]:
    """The first `limit` articles of a JSONL export, read as `newsqa ingest` reads it."""
    from corpus.readers import ReadLimits, read_input

    return read_input(str(path), ReadLimits()).articles[:limit]


def questions(path: Path = QUESTIONS) -> list[str]:
    """The "question" of each line of a JSONL file."""
    lines = path.read_text("utf-8").splitlines()
    return [json.loads(line)["question"] for line in lines if line.strip()]


def summary(seconds: Sequence[float]) -> dict[str, float]:
    """Median, min, max, p5 and p95, in milliseconds."""
    ms = sorted(s * 1000 for s in seconds)
    q = statistics.quantiles(ms, n=20) if len(ms) > 1 else [ms[0]] * 19
    return {
        "median_ms": statistics.median(ms),
        "min_ms": ms[0],
        "max_ms": ms[-1],
        "p5_ms": q[0],
        "p95_ms": q[-1],
        "n": len(ms),
    }


def timed(fn: Callable[[], object], repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        out.append(time.perf_counter() - started)
    return out


def row(name: str, s: dict[str, float]) -> str:
    return (
        f"{name:<34} median {s['median_ms']:9.1f} ms   min {s['min_ms']:9.1f}   "
        f"max {s['max_ms']:9.1f}   p95 {s['p95_ms']:9.1f}   (n={int(s['n'])})"
    )


def today() -> str:
    return datetime.now(UTC).date().isoformat()
