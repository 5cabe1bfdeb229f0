"""Goal 1, start-up: `newsqa repl` until its prompt, and `newsqa ask` one-shot against the naive
baseline (bench/baseline_ask.py), alternated run by run so drift hits both alike.

    .venv/bin/python bench/bench_startup.py [--runs 10]

Uses a temporary index of the bundled articles and a warm ONNX cache (built before timing).
"""

from __future__ import annotations

import argparse
import os
import pty
import select
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import row, summary, today  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
NEWSQA = [str(Path(sys.executable).with_name("newsqa"))]
QUESTION = "What did Lavrov say about sanctions?"


def until_prompt(env: dict[str, str]) -> float:
    """Seconds from start until the REPL shows its prompt, on a pseudo-terminal (like a user)."""
    primary, secondary = pty.openpty()
    started = time.perf_counter()
    proc = subprocess.Popen(
        [*NEWSQA, "repl"], stdin=secondary, stdout=secondary, stderr=secondary, env=env, cwd=ROOT
    )
    os.close(secondary)
    seen = b""
    try:
        while b"newsqa>" not in seen:
            ready, _, _ = select.select([primary], [], [], 30)
            if not ready:
                raise RuntimeError(f"no prompt after 30 s: {seen[-200:]!r}")
            seen += os.read(primary, 4096)
        elapsed = time.perf_counter() - started
        os.write(primary, b":quit\r")
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(primary)
    return elapsed


def run(cmd: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(cmd, env=env, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--backend", help="encoder backend (default: newsqa's default)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        index = Path(tmp) / "index"
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "NEWSQA_INDEX_DIR": str(index)}
        env.pop("NEWSQA_ENCODER_BACKEND", None)
        if args.backend:
            env["NEWSQA_ENCODER_BACKEND"] = args.backend
        subprocess.run([*NEWSQA, "stats"], env=env, cwd=ROOT, check=True, capture_output=True)
        ask = [*NEWSQA, "ask", QUESTION]
        baseline = [sys.executable, str(ROOT / "bench" / "baseline_ask.py"), str(index), QUESTION]
        run(ask, env), run(baseline, env), until_prompt(env)  # warm caches, export ONNX
        prompt, ours, theirs = [], [], []
        for _ in range(args.runs):
            prompt.append(until_prompt(env))
            ours.append(run(ask, env))
            theirs.append(run(baseline, env))
    ratios = [a / b for a, b in zip(ours, theirs, strict=True)]
    encoder = f"{args.backend or 'default'} encoder"
    print(f"# start-up, {today()}, {os.cpu_count()} cores, {args.runs} runs each, {encoder}")
    print(row("newsqa repl: until the prompt", summary(prompt)))
    print(row("newsqa ask (one-shot)", summary(ours)))
    print(row("baseline (ST + faiss, search only)", summary(theirs)))
    print(
        f"ask / baseline ratio: median {statistics.median(ratios):.3f} "
        f"(min {min(ratios):.3f}, max {max(ratios):.3f}); goal <= 0.25"
    )


if __name__ == "__main__":
    main()
