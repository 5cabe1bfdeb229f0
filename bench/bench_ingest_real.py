"""Issue 11's ingest goal: `newsqa ingest` of real news articles against the naive pipeline
(`bench/baseline_ingest.py`: plain `SentenceTransformer.encode` over non-overlapping chunks of
about 1,000 characters of the same articles, then a FAISS file), each as a whole process from
the JSONL file to files on disk, alternated round by round, each into a fresh directory.

    .venv/bin/python bench/bench_ingest_real.py [--limit 300] [--rounds 3] [--articles FILE]
        [--baseline CHECKOUT] [--busy N]

Prints each round's seconds, the medians and the ratio of medians (naive / ours: above 1, ours is
faster; the goal is 2). With `--baseline`, another checkout's `newsqa ingest` (e.g. `git worktree
add /tmp/base main`) runs in the same rounds too, and its ratio to ours is printed. `--busy N`
runs N other processes that keep a core busy each meanwhile (a shared machine). Every side
loads its model inside the timed process; the ONNX export that newsqa makes once per machine is
made before the first round, untimed.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import DATA, today  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
NEWSQA = str(Path(sys.executable).with_name("newsqa"))


def _run(cmd: list[str], env: dict[str, str]) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run(cmd, env=env, cwd=ROOT, check=True, capture_output=True, text=True)
    return time.perf_counter() - started, done.stdout


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--articles", type=Path, default=DATA)
    parser.add_argument("--limit", type=int, default=300, help="the file's first N articles")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--baseline", type=Path, help="another checkout of newsqa, run alike")
    parser.add_argument("--busy", type=int, default=0, help="processes busy meanwhile")
    args = parser.parse_args()
    lines = [x for x in args.articles.read_text("utf-8").splitlines() if x.strip()][: args.limit]
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "articles.jsonl"
        source.write_text("\n".join(lines) + "\n", "utf-8")
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)}
        env.pop("NEWSQA_ENCODER_BACKEND", None)
        warm = {**env, "NEWSQA_INDEX_DIR": str(Path(tmp) / "warm")}
        subprocess.run([NEWSQA, "stats"], env=warm, cwd=ROOT, check=True, capture_output=True)
        times: dict[str, list[float]] = {"ours": [], "naive": [], "baseline": []}
        busy = [
            subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(args.busy)
        ]
        chunks = passages = ""
        try:
            for n in range(args.rounds):
                index = {**env, "NEWSQA_INDEX_DIR": str(Path(tmp) / f"ours{n}")}
                out = str(Path(tmp) / f"naive{n}")
                sides = [
                    ("ours", [NEWSQA, "ingest", str(source)], index),
                    ("naive", [sys.executable, "bench/baseline_ingest.py", str(source), out], env),
                ]
                if args.baseline:
                    base = {
                        **env,
                        "PYTHONPATH": str(args.baseline.resolve()),
                        "NEWSQA_INDEX_DIR": str(Path(tmp) / f"base{n}"),
                    }
                    sides.append(("baseline", [NEWSQA, "ingest", str(source)], base))
                for name, cmd, side_env in sides if n % 2 == 0 else sides[::-1]:
                    seconds, stdout = _run(cmd, side_env)
                    times[name].append(seconds)
                    if name == "naive":
                        chunks = stdout.strip()
                stats = subprocess.run(
                    [NEWSQA, "stats"],
                    env=index,
                    cwd=ROOT,
                    check=True,
                    capture_output=True,
                    text=True,
                ).stdout
                passages = next((x.split()[-1] for x in stats.splitlines() if "passages" in x), "?")
                line = ", ".join(f"{name} {t[-1]:.1f} s" for name, t in times.items() if t)
                print(f"round {n + 1}: {line}", flush=True)
        finally:
            for process in busy:
                process.kill()
                process.wait()
    ours, naive = statistics.median(times["ours"]), statistics.median(times["naive"])
    print(
        f"# ingest of {len(lines)} real articles, {today()}, {os.cpu_count()} cores, "
        f"{args.busy} busy processes"
    )
    print(f"ours  (newsqa ingest, {passages} passages): median {ours:.1f} s")
    print(f"naive (ST encode, {chunks} chunks):      median {naive:.1f} s")
    if times["baseline"]:
        base = statistics.median(times["baseline"])
        print(f"baseline ({args.baseline}): median {base:.1f} s, baseline / ours {base / ours:.2f}")
    print(f"naive / ours: {naive / ours:.2f} (goal >= 2)")


if __name__ == "__main__":
    main()
