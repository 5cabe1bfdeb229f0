"""The passage reads of real answers, this checkout's storage against a baseline's, replayed.

    .venv/bin/python bench/bench_reads.py --index COPY --baseline DIR --baseline-index COPY2

Answers the real news questions once on --index (this checkout), recording every
`Store.passages` and `Store.articles_passages` call (the ids asked for), then replays those calls
on each side's own copy of the index, in fresh processes, alternated, `--rounds` times: the time
of the storage reads alone, without the rest of the answer, whose noise on a shared machine
(bench_answer.py) hides a difference of a fraction of a millisecond. Prints milliseconds per
answer for each kind of read, per round and as medians, and whether both sides read the same
passages.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(1, str(Path(__file__).resolve().parent))  # after a child's checkout (PYTHONPATH)
from common import QUESTIONS, questions  # noqa: E402

KINDS = ("passages", "articles_passages")


def record(index: Path, questions_file: Path, out: Path) -> None:
    """Answer every question once, writing each passage read's kind and ids to `out`."""
    from bot.answer import Answerer
    from bot.services import make_encoder
    from bot.settings import Settings
    from index import Archive
    from index.store import Store

    calls: list[tuple[str, list[object]]] = []

    def recording(kind: str):  # type: ignore[no-untyped-def]
        real = getattr(Store, kind)

        def wrapper(self, ids, *args):  # type: ignore[no-untyped-def]
            calls.append((kind, list(ids)))
            return real(self, ids, *args)

        return wrapper

    for kind in KINDS:
        setattr(Store, kind, recording(kind))
    with Archive.open(index, make_encoder(Settings())) as archive:
        answerer = Answerer(archive)
        asked = questions(questions_file)
        for q in asked:
            answerer.answer(q)
    out.write_text(json.dumps({"answers": len(asked), "calls": calls}))


def replay(index: Path, calls_file: Path) -> None:
    """Make every recorded call on this checkout's Store; print seconds per kind and a digest."""
    from index.store import Store

    recorded = json.loads(calls_file.read_text())
    store = Store(index / "newsqa.sqlite")
    seconds = dict.fromkeys(KINDS, 0.0)
    texts = 0
    for kind, ids in recorded["calls"]:
        started = time.perf_counter()
        found = getattr(store, kind)(ids)
        seconds[kind] += time.perf_counter() - started
        for value in found.values():
            texts += sum(len(p.text) for p in (value if isinstance(value, list) else [value[0]]))
    store.close()
    print(json.dumps({"seconds": seconds, "answers": recorded["answers"], "chars": texts}))


def run(tree: Path, args: list[str]) -> dict:
    env = {**os.environ, "PYTHONPATH": str(tree), "HF_HUB_OFFLINE": "1"}
    done = subprocess.run([sys.executable, __file__, *args], cwd=tree, env=env,
                          capture_output=True, text=True)  # fmt: skip
    if done.returncode:
        raise SystemExit(f"{tree}: {done.stderr[-3000:]}")
    lines = done.stdout.strip().splitlines()
    return json.loads(lines[-1]) if lines else {}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", type=Path, required=True)
    parser.add_argument("--baseline", type=Path, help="another checkout")
    parser.add_argument("--baseline-index", type=Path, help="the baseline's copy of --index")
    parser.add_argument("--questions", type=Path, default=QUESTIONS)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--record", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--replay", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.record:
        record(args.index, args.questions, args.record)
        return
    if args.replay:
        replay(args.index, args.replay)
        return
    if args.baseline is None or args.baseline_index is None:
        parser.error("--baseline and --baseline-index are needed")
    ours = Path(__file__).resolve().parent.parent
    with tempfile.TemporaryDirectory() as work:
        calls = Path(work) / "calls.json"
        run(ours, ["--index", str(args.index), "--questions", str(args.questions),
                   "--record", str(calls)])  # fmt: skip
        sides = {"ours": (ours, args.index), "baseline": (args.baseline, args.baseline_index)}
        per: dict[str, dict[str, list[float]]] = {s: {k: [] for k in KINDS} for s in sides}
        chars: dict[str, int] = {}
        for n in range(args.rounds):
            order = list(sides) if n % 2 == 0 else list(reversed(sides))
            for side in order:
                tree, index = sides[side]
                found = run(tree, ["--index", str(index), "--replay", str(calls)])
                for kind in KINDS:
                    per[side][kind].append(found["seconds"][kind] * 1000 / found["answers"])
                chars[side] = found["chars"]
    print(f"# passage reads of {found['answers']} answers, replayed, {args.rounds} rounds, "
          f"load average {os.getloadavg()[0]:.1f}")  # fmt: skip
    for side in sides:
        for kind in KINDS:
            rounds = " ".join(f"{x:.3f}" for x in per[side][kind])
            median = statistics.median(per[side][kind])
            print(f"{side:<9} {kind:<18} median {median:6.3f} ms an answer  (rounds: {rounds})")
    print(f"same passage text read by both sides: {chars['ours'] == chars['baseline']} "
          f"({chars['ours']:,} characters)")  # fmt: skip


if __name__ == "__main__":
    main()
