"""The int8 ONNX encoder two ways, in one process, alternated round by round: ONNX Runtime's own
way ("threads": one session whose operators split over every core, its worker threads spinning
between runs; newsqa's way before 2026-12-01) against newsqa's ("sessions": one single-threaded
session per core, a batch of documents shared among them). Real news questions are encoded one
at a time, as the bot and `ask` encode them; real paragraphs, cut at 1,000 characters, in one
batch, as ingest encodes an article batch's passages.

    .venv/bin/python bench/bench_encode.py [--questions 200] [--passages 300] [--rounds 5]
        [--busy N]

Prints, per way and kind of text, the median over rounds of wall and CPU milliseconds per text
(CPU: this process's, all threads), their ratios (sessions / threads), and the machine's load
average. Both ways give the same vectors (tests/test_onnx_encoder.py). `--busy N` runs N other
processes that keep a core busy each (a shared machine, reproducibly) while it measures.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from common import DATA, QUESTIONS, questions, today  # noqa: E402

from index.onnx_encoder import OnnxEncoder  # noqa: E402


def passages(limit: int) -> list[str]:
    """Paragraphs of real articles, cut at 1,000 characters (about a passage's length)."""
    out: list[str] = []
    with DATA.open(encoding="utf-8") as lines:
        for line in lines:
            out += [p[:1000] for p in json.loads(line)["text"].split("\n") if len(p) > 200]
            if len(out) >= limit:
                break
    return out[:limit]


def timed(encode: Callable[[], object], n: int) -> tuple[float, float]:
    """Wall and CPU milliseconds per text."""
    wall, cpu = time.perf_counter(), time.process_time()
    encode()
    return (time.perf_counter() - wall) * 1000 / n, (time.process_time() - cpu) * 1000 / n


def one_by_one(encoder: OnnxEncoder, texts: Sequence[str]) -> Callable[[], None]:
    def encode() -> None:
        for text in texts:
            encoder.encode_documents([text])

    return encode


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--questions", type=int, default=200)
    parser.add_argument("--passages", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--busy", type=int, default=0, help="processes busy meanwhile")
    args = parser.parse_args()
    asked, paragraphs = questions(QUESTIONS)[: args.questions], passages(args.passages)
    ways = {layout: OnnxEncoder(quantize=True, layout=layout) for layout in ("threads", "sessions")}
    for encoder in ways.values():
        encoder.encode_documents(paragraphs[:8])  # load, export if needed, make every session
    kinds: dict[str, tuple[int, Callable[[OnnxEncoder], Callable[[], object]]]] = {
        "question": (len(asked), lambda e: one_by_one(e, asked)),
        "passage": (len(paragraphs), lambda e: lambda: e.encode_documents(paragraphs)),
    }
    results: dict[tuple[str, str], list[tuple[float, float]]] = {}
    load = os.getloadavg()[0]
    busy = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(args.busy)]
    try:
        for n in range(args.rounds):
            order = list(ways.items()) if n % 2 == 0 else list(ways.items())[::-1]
            for name, encoder in order:
                for kind, (count, make) in kinds.items():
                    results.setdefault((name, kind), []).append(timed(make(encoder), count))
    finally:
        for process in busy:
            process.kill()
            process.wait()
    after = os.getloadavg()[0]
    print(f"# int8 ONNX encoder, {today()}, {os.cpu_count()} cores, {args.rounds} rounds, "
          f"{args.busy} busy processes, load average {load:.1f} -> {after:.1f}")  # fmt: skip
    for kind, (count, _) in kinds.items():
        medians = {}
        for name in ways:
            walls, cpus = zip(*results[(name, kind)], strict=True)
            medians[name] = statistics.median(walls), statistics.median(cpus)
            print(f"{kind:8} x {count}  {name:8}  wall {medians[name][0]:6.2f} ms  "
                  f"cpu {medians[name][1]:6.2f} ms a text")  # fmt: skip
        (wall, cpu), (base_wall, base_cpu) = medians["sessions"], medians["threads"]
        print(f"{kind:8} sessions / threads: wall {wall / base_wall:.2f}, cpu {cpu / base_cpu:.2f}")


if __name__ == "__main__":
    main()
