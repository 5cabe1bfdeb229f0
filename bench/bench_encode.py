"""The int8 ONNX encoder with ONNX Runtime's spin-waiting threads (its default) against without
(newsqa's setting), in one process, alternated round by round: real news questions encoded one
at a time, as the bot and `ask` encode them, then real passages one at a time, as ingest does.

    .venv/bin/python bench/bench_encode.py [--questions 200] [--passages 300] [--rounds 5]

Prints, per side and kind of text, the median over rounds of wall and CPU milliseconds per text
(CPU: this process's, all threads), their ratios (without / with spinning) and the machine's load
average. Spinning costs most when other work wants the same cores: a bot's other answers, an
ingest's own writes, other processes on a shared machine; on an idle machine it may cost little.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Sequence
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


def timed(encoder: OnnxEncoder, texts: Sequence[str]) -> tuple[float, float]:
    """Wall and CPU milliseconds per text, each text encoded alone."""
    wall, cpu = time.perf_counter(), time.process_time()
    for text in texts:
        encoder.encode_documents([text])
    n = len(texts)
    return (time.perf_counter() - wall) * 1000 / n, (time.process_time() - cpu) * 1000 / n


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--questions", type=int, default=200)
    parser.add_argument("--passages", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    kinds = {"question": questions(QUESTIONS)[: args.questions], "passage": passages(args.passages)}
    sides = {
        "spinning": OnnxEncoder(quantize=True, spin=True),
        "newsqa": OnnxEncoder(quantize=True),
    }
    for encoder in sides.values():
        encoder.encode_documents(kinds["question"][:5])  # load, export if needed, warm up
    results: dict[tuple[str, str], list[tuple[float, float]]] = {}
    load = os.getloadavg()[0]
    for n in range(args.rounds):
        order = list(sides.items()) if n % 2 == 0 else list(sides.items())[::-1]
        for name, encoder in order:
            for kind, texts in kinds.items():
                results.setdefault((name, kind), []).append(timed(encoder, texts))
    print(f"# int8 ONNX encoder, {today()}, {os.cpu_count()} cores, {args.rounds} rounds, "
          f"load average {load:.1f} -> {os.getloadavg()[0]:.1f}")  # fmt: skip
    for kind, texts in kinds.items():
        medians = {}
        for name in sides:
            walls, cpus = zip(*results[(name, kind)], strict=True)
            medians[name] = statistics.median(walls), statistics.median(cpus)
            print(f"{kind:8} x {len(texts)}  {name:8}  wall {medians[name][0]:6.2f} ms  "
                  f"cpu {medians[name][1]:6.2f} ms a text")  # fmt: skip
        ours, spin = medians["newsqa"], medians["spinning"]
        print(
            f"{kind:8} newsqa / spinning: wall {ours[0] / spin[0]:.2f}, cpu {ours[1] / spin[1]:.2f}"
        )


if __name__ == "__main__":
    main()
