"""Goal 2, answer latency on real news, warm: question to finished `Answer` (`Answerer.answer`,
model loaded), this checkout against a baseline, rounds alternated, each side in a fresh process.

The archive is real news: an existing index (`--index DIR`, e.g. a copy of the 3,300-article
RealTime QA archive, so nobody re-ingests for a latency run), or else one built here by the real
ingest path from the first `--limit` articles of ../shared/data/rtqa-dev/articles.jsonl. The
questions are that set's real news questions (`--questions`): the first `--warm` answered untimed,
every other one answered once a round (none twice: a process keeps a question's vector).

The baseline is another checkout (`--baseline DIR`, e.g. `git worktree add /tmp/base main`), on
its own copy of the index if it should not see this checkout's additions (`--baseline-index`);
without one, it is this checkout with BM25 ranked by FTS5's bm25() on every matching row (the
path before the in-memory postings, index/postings.py).

    .venv/bin/python bench/bench_answer.py --index DIR [--baseline DIR --baseline-index DIR]
    .venv/bin/python bench/bench_answer.py --limit 300 [--rounds 3]
    .venv/bin/python bench/bench_answer.py --index DIR --baseline DIR --interleave

With `--interleave` both sides' processes are up at once and answer each question in turn (who
goes first alternating), so a change in the machine's load falls on both sides alike; without
it, a round runs one side's process to the end, then the other's.

Prints each side's median, p95 and spread, the ratio, how many answer texts agree, the median
parts (timings_ms), each side's peak resident memory (the answering process: model, index and
all), the load average and, with `--profile`, where this checkout's time goes.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NamedTuple

sys.path.insert(1, str(Path(__file__).resolve().parent))  # after a child's checkout (PYTHONPATH)
from common import DATA, QUESTIONS, questions, real_articles, row, summary, today  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


class Warmed(NamedTuple):
    archive: Any  # index.Archive of the checkout under test, imported in the child process
    answerer: Any  # bot.answer.Answerer
    asked: list[str]


@contextmanager
def _warmed(index: Path, questions_file: Path, warm: int, fts5: bool) -> Iterator[Warmed]:
    """The index opened with this checkout's code (BM25 ranked by FTS5's `bm25()` with `fts5`),
    an answerer on it, the questions, and the first `warm` of them answered untimed."""
    from bot.answer import Answerer
    from bot.services import make_encoder
    from bot.settings import Settings
    from index import Archive

    asked = questions(questions_file)
    with Archive.open(index, make_encoder(Settings())) as archive:
        if fts5:
            archive._scores = lambda terms: None  # type: ignore[method-assign]
        answerer = Answerer(archive)
        for q in asked[:warm]:
            answerer.answer(q)
        yield Warmed(archive, answerer, asked)


def child(index: Path, questions_file: Path, warm: int, fts5: bool, profile: bool) -> None:
    """In a fresh process, with one checkout first on sys.path: answer every question once."""
    with _warmed(index, questions_file, warm, fts5) as (archive, answerer, asked):
        seconds, answers, parts = [], [], []
        profiler = None
        if profile:
            import cProfile

            profiler = cProfile.Profile()
            profiler.enable()
        for q in asked[warm:]:
            started = time.perf_counter()
            answer = answerer.answer(q)
            seconds.append(time.perf_counter() - started)
            answers.append(answer.text)
            parts.append(answer.timings_ms)
        if profiler is not None:
            import pstats

            profiler.disable()
            pstats.Stats(profiler, stream=sys.stderr).sort_stats("cumulative").print_stats(25)
        passages = archive.passage_count
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: kilobytes
    print(json.dumps({"seconds": seconds, "answers": answers, "parts": parts,
                      "passages": passages, "peak_rss_mb": peak_mb}))  # fmt: skip


def serve(index: Path, questions_file: Path, warm: int, fts5: bool) -> None:
    """In a fresh process: answer the warm-up questions, say "ready", then answer question N
    for each N read from stdin, one JSON line each (`--interleave`)."""
    with _warmed(index, questions_file, warm, fts5) as (archive, answerer, asked):
        print("ready", flush=True)
        for line in sys.stdin:
            started = time.perf_counter()
            answer = answerer.answer(asked[int(line)])
            seconds = time.perf_counter() - started
            print(json.dumps({"seconds": seconds, "answer": answer.text,
                              "parts": answer.timings_ms}), flush=True)  # fmt: skip
        passages = archive.passage_count
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"passages": passages, "peak_rss_mb": peak_mb}), flush=True)


def interleaved(sides: list[tuple[Path, Path, bool]], args: argparse.Namespace) -> list[dict]:
    """Both sides' processes up at once, each question answered by one then the other (which
    goes first alternating), so a change in the machine's load falls on both alike."""
    processes = []
    for tree, index, fts5 in sides:
        command = [sys.executable, __file__, "--serve", "--index", str(index),
                   "--questions", str(args.questions), "--warm", str(args.warm)]  # fmt: skip
        env = {**os.environ, "PYTHONPATH": str(tree), "HF_HUB_OFFLINE": "1"}
        processes.append(subprocess.Popen(command + ["--fts5"] * fts5, cwd=tree, env=env,
                                          stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                          text=True))  # fmt: skip
    for process in processes:
        assert process.stdout is not None and process.stdout.readline().strip() == "ready"
    results: list[dict] = [{"seconds": [], "answers": [], "parts": []} for _ in processes]
    for n in range(args.warm, len(questions(args.questions))):
        for side in (0, 1) if n % 2 == 0 else (1, 0):
            process = processes[side]
            assert process.stdin is not None and process.stdout is not None
            process.stdin.write(f"{n}\n")
            process.stdin.flush()
            done = json.loads(process.stdout.readline())
            results[side]["seconds"].append(done["seconds"])
            results[side]["answers"].append(done["answer"])
            results[side]["parts"].append(done["parts"])
    for process, result in zip(processes, results, strict=True):
        out, _ = process.communicate("")
        if process.returncode:
            raise SystemExit(f"a side failed (exit {process.returncode})")
        result.update(json.loads(out.strip().splitlines()[-1]))
    return results


def run(tree: Path, index: Path, args: argparse.Namespace, fts5: bool = False) -> dict:
    command = [sys.executable, __file__, "--child", "--index", str(index),
               "--questions", str(args.questions), "--warm", str(args.warm)]  # fmt: skip
    command += ["--fts5"] * fts5 + ["--profile"] * (args.profile and tree == ROOT and not fts5)
    env = {**os.environ, "PYTHONPATH": str(tree), "HF_HUB_OFFLINE": "1"}
    done = subprocess.run(command, cwd=tree, env=env, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"{tree}: {done.stderr[-3000:]}")
    if args.profile and done.stderr:
        print(done.stderr[-6000:])
    result: dict = json.loads(done.stdout.strip().splitlines()[-1])
    return result


TOPICS = ("the economy", "the war", "China", "immigration", "the election", "tariffs")


def speaker_questions(index: Path, n: int) -> list[str]:
    """'What did X say about T?' for the index's `n` most quoted speakers, three topics each
    (rotating), the kind of question the RealTime QA set lacks."""
    sys.path.insert(0, str(ROOT))
    from index.store import Store

    store = Store(index / "newsqa.sqlite")
    try:
        speakers = [name for name, _ in store.speakers()[:n]]
    finally:
        store.close()
    return [
        f"What did {speaker} say about {topic}?"
        for i, speaker in enumerate(speakers)
        for topic in TOPICS[i % 3 : i % 3 + 3]
    ]


def build(directory: Path, limit: int) -> None:
    """An index of the first `limit` real articles, through the real ingest path and model."""
    sys.path.insert(0, str(ROOT))
    from bot.services import make_encoder
    from bot.settings import Settings
    from index import Archive

    with Archive.open(directory, make_encoder(Settings()), create=True) as archive:
        archive.add(real_articles(DATA, limit))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", type=Path, help="an existing index (nothing is built)")
    parser.add_argument("--limit", type=int, default=300, help="articles to build one from")
    parser.add_argument("--questions", type=Path, default=QUESTIONS)
    parser.add_argument(
        "--speaker-questions", type=int, metavar="N",
        help="instead of --questions: 'What did X say about T?' for the N most quoted speakers "
        "of the index (three topics each)",
    )  # fmt: skip
    parser.add_argument("--baseline", type=Path, help="another checkout of newsqa")
    parser.add_argument("--baseline-index", type=Path, help="the baseline's copy of --index")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--warm", type=int, default=10, help="questions answered untimed first")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument(
        "--interleave", action="store_true",
        help="run both sides at once, alternating question by question (robust to load changes)",
    )  # fmt: skip
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--fts5", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.index, args.questions, args.warm, args.fts5, args.profile)
        return
    if args.serve:
        serve(args.index, args.questions, args.warm, args.fts5)
        return
    with tempfile.TemporaryDirectory() as tmp:
        index = args.index
        started = time.perf_counter()
        if index is None:
            index = Path(tmp) / "index"
            build(index, args.limit)
        built = time.perf_counter() - started
        if args.speaker_questions:
            args.questions = Path(tmp) / "speaker-questions.jsonl"
            args.questions.write_text(
                "".join(json.dumps({"question": q}) + "\n"
                        for q in speaker_questions(index, args.speaker_questions)),
                "utf-8",
            )  # fmt: skip
        base_tree = args.baseline or ROOT
        base_index = args.baseline_index or index
        name = f"baseline {args.baseline}" if args.baseline else "baseline: FTS5 bm25()"
        ours: list[float] = []
        base: list[float] = []
        ours_parts: list[dict] = []
        mine = theirs = {}
        peaks: dict[str, list[float]] = {"ours": [], "baseline": []}
        for n in range(args.rounds):
            sides = [(ROOT, index, False), (base_tree, base_index, args.baseline is None)]
            if n % 2:
                sides.reverse()
            if args.interleave:
                both = interleaved(sides, args)
                results = {(tree, fts5): r for (tree, _, fts5), r in zip(sides, both, strict=True)}
            else:
                results = {(tree, fts5): run(tree, ix, args, fts5) for tree, ix, fts5 in sides}
            mine = results[(ROOT, False)]
            theirs = results[(base_tree, args.baseline is None)]
            ours += mine["seconds"]
            base += theirs["seconds"]
            ours_parts += mine["parts"]
            peaks["ours"].append(mine["peak_rss_mb"])
            peaks["baseline"].append(theirs["peak_rss_mb"])
            print(f"round {n + 1}: ours median "
                  f"{statistics.median(mine['seconds']) * 1000:.1f} ms, baseline "
                  f"{statistics.median(theirs['seconds']) * 1000:.1f} ms, load average "
                  f"{os.getloadavg()[0]:.2f}", flush=True)  # fmt: skip
    same = sum(a == b for a, b in zip(mine["answers"], theirs["answers"], strict=True))
    same_first = sum(
        a.split("\n\n")[0] == b.split("\n\n")[0]
        for a, b in zip(mine["answers"], theirs["answers"], strict=True)
    )
    source = args.index or f"{args.limit} articles, built in {built:.0f} s"
    print(f"# answer latency on real news, {today()}, {os.cpu_count()} cores, "
          f"{mine['passages']:,} passages ({source}), "
          f"{len(mine['answers'])} questions x {args.rounds} rounds")  # fmt: skip
    ours_s, base_s = summary(ours), summary(base)
    print(row("answer (this checkout)", ours_s))
    print(row(name, base_s))
    print(f"ratio of medians ours/baseline {ours_s['median_ms'] / base_s['median_ms']:.3f}; "
          f"same answer text for {same}/{len(mine['answers'])} questions, "
          f"same first paragraph for {same_first}")  # fmt: skip
    keys = sorted({k for p in ours_parts for k in p})
    medians = [f"{k} {statistics.median(p.get(k, 0.0) for p in ours_parts):.1f}" for k in keys]
    print("ours, median parts (ms): " + ", ".join(medians))
    print("peak RSS of the answering process (MB, per round): "
          + "; ".join(f"{side} " + ", ".join(f"{mb:.0f}" for mb in mbs)
                      for side, mbs in peaks.items()))  # fmt: skip
    print(f"load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
