"""Load: many Telegram users asking at once, against the real `newsqa telegram` process.

    .venv/bin/python bench/load_telegram.py --users 50 --questions 20
    .venv/bin/python bench/load_telegram.py --users 50 --questions 20 \
        --index /path/to/index --questions-file questions.jsonl   # a real archive

The bot serves a copy of the index in a temporary directory (its conversations go there too),
so the given index is never written to; the run checks that it is unchanged. A fake Bot API
(tests/telegram_fake.py) on 127.0.0.1 plays the users: each sends a question to its private chat,
waits for the whole answer (the part with the buttons), then asks the next. At each step the users
ask consecutive questions of the list, so questions asked at the same time differ. Rate limits are
set high. Measured in the same run: a single user asking alone, one question at a time (the
baseline), then all users at once; printed: throughput, p50/p95 reply latency, the ratio to the
baseline, whether any update was lost or answered twice, and the machine's load average.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.telegram_bot import BotProcess, start_bot  # noqa: E402
from tests.telegram_fake import FakeBotAPI  # noqa: E402

TOKEN = "555000111:AALoadTestTokenNeverLogged_0123456789"
QUESTIONS = [
    "What did Lavrov say about sanctions?",
    "What did China say about an oil embargo?",
    "Who is battling to maintain international solidarity?",
    "What did Nikki Haley call for?",
    "What happened at the UN Security Council?",
    "What is the North Korea nuclear threat?",
    "What did Russia warn about?",
    "What did Moscow reject?",
]


class QuestionsFileError(ValueError):
    """A questions file holds a line newsqa cannot read as a question."""


def read_questions(paths: list[Path]) -> list[str]:
    """The "question" field of every line of JSONL files, in order (blank lines skipped)."""
    questions: list[str] = []
    for path in paths:
        with path.open(encoding="utf-8") as lines:
            for number, line in enumerate(lines, 1):
                if not line.strip():
                    continue
                try:
                    question = json.loads(line).get("question")
                except (json.JSONDecodeError, AttributeError) as e:
                    raise QuestionsFileError(f"{path}:{number}: not a JSON object") from e
                if not isinstance(question, str) or not question.strip():
                    raise QuestionsFileError(f'{path}:{number}: no "question" text')
                questions.append(question.strip())
    if not questions:
        raise QuestionsFileError(f"no questions in {', '.join(map(str, paths))}")
    return questions


def snapshot(directory: Path) -> dict[str, tuple[int, int]]:
    """Every file under `directory`: its size and modification time (what any write changes)."""
    return {
        str(path.relative_to(directory)): (path.stat().st_size, path.stat().st_mtime_ns)
        for path in sorted(directory.rglob("*"))
        if path.is_file()
    }


def changed(before: dict[str, tuple[int, int]], after: dict[str, tuple[int, int]]) -> list[str]:
    """Files added, removed or written between two snapshots."""
    return sorted(
        name for name in before.keys() | after.keys() if before.get(name) != after.get(name)
    )


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a live process (Linux /proc), None elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def open_files_under(pid: int, directory: Path) -> list[str]:
    """Files under `directory` a live process has open (Linux /proc; empty elsewhere): tells the
    bot's writes from those of another process using the same index."""
    inside = []
    root = directory.resolve()
    for fd in Path(f"/proc/{pid}/fd").glob("*"):
        try:
            target = fd.readlink()
        except OSError:
            continue
        if target.is_relative_to(root):
            inside.append(str(target.relative_to(root)))
    return sorted(set(inside))


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def wait_for_reply(
    bot: BotProcess, chat_id: int, since: int, timeout: float, settle: float = 2.0
) -> tuple[float, bool]:
    """When the whole reply to a question arrived in a chat, and whether it carried buttons.
    A reply without buttons (an answer with no sources, an error) counts as whole once `settle`
    seconds pass without another part; its time is that of its last part."""
    deadline = time.monotonic() + timeout
    seen, last_at = 0, 0.0
    while time.monotonic() < deadline:
        sent = [m for m in bot.api.sent[since:] if m.chat_id == chat_id and not m.is_edit]
        now = time.perf_counter()
        if sent and sent[-1].reply_markup:
            return now, True
        if len(sent) > seen:
            seen, last_at = len(sent), now
        elif seen and now - last_at >= settle:
            return last_at, False
        time.sleep(0.01)
    raise TimeoutError(f"no whole reply in chat {chat_id} within {timeout:.0f} s")


def ask_many(
    bot: BotProcess,
    users: int,
    questions: int,
    first_id: int,
    texts: list[str] = QUESTIONS,
    timeout: float = 120,
) -> dict[str, Any]:
    """`users` users at once, each asking `questions` questions one after another. At each step
    the users ask consecutive questions of `texts`, so questions asked at the same time differ."""
    latencies: list[float] = []
    failures: list[str] = []
    without_buttons: dict[int, int] = {}
    lock = threading.Lock()

    def user(n: int) -> None:
        person = bot.api.user(first_id + n, f"User{n}")
        for q in range(questions):
            since = len(bot.api.sent)
            started = time.perf_counter()
            bot.api.send_text(person, person, texts[(q * users + n) % len(texts)])
            try:
                finished, buttons = wait_for_reply(bot, person.id, since, timeout)
            except TimeoutError as e:
                with lock:
                    failures.append(str(e))
                return
            with lock:
                latencies.append(finished - started)
                if not buttons:
                    without_buttons[person.id] = without_buttons.get(person.id, 0) + 1

    cpu_before = cpu_seconds(bot.process.pid)
    harness_before = resource.getrusage(resource.RUSAGE_SELF)
    started = time.perf_counter()
    threads = [threading.Thread(target=user, args=(n,)) for n in range(users)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    cpu_after = cpu_seconds(bot.process.pid)
    harness_after = resource.getrusage(resource.RUSAGE_SELF)
    answers: dict[int, int] = dict(without_buttons)
    for message in bot.api.sent:
        if first_id <= message.chat_id < first_id + users and message.reply_markup:
            answers[message.chat_id] = answers.get(message.chat_id, 0) + 1
    return {
        "users": users,
        "questions": users * questions,
        "answered": len(latencies),
        "failures": failures,
        "answers_per_user": sorted(set(answers.values())),
        "answered_without_buttons": sum(without_buttons.values()),
        "seconds": elapsed,
        "bot_cpu_s": cpu_after - cpu_before
        if cpu_before is not None and cpu_after is not None
        else None,
        # the simulated users and the fake Bot API share the machine with the bot
        "harness_cpu_s": harness_after.ru_utime
        + harness_after.ru_stime
        - harness_before.ru_utime
        - harness_before.ru_stime,
        "throughput_qps": len(latencies) / elapsed if elapsed else 0.0,
        "p50_ms": 1000 * percentile(latencies, 0.5) if latencies else None,
        "p95_ms": 1000 * percentile(latencies, 0.95) if latencies else None,
        "mean_ms": 1000 * statistics.fmean(latencies) if latencies else None,
    }


def run_load(
    index: Path,
    users: int,
    questions: int,
    baseline_questions: int = 10,
    texts: list[str] = QUESTIONS,
    start_timeout: float = 120,
) -> dict[str, Any]:
    """Start the bot on a copy of `index` (never written to: checked), measure the baseline, then
    the load; check delivery. The copy is in a temporary directory next to the bot's state."""
    source_before = snapshot(index)
    with tempfile.TemporaryDirectory(prefix="newsqa-load-") as tmp:
        work = Path(tmp)
        copy_started = time.perf_counter()
        shutil.copytree(index, work / "index")
        copy_seconds = time.perf_counter() - copy_started
        served_before = snapshot(work / "index")
        with FakeBotAPI(TOKEN, privacy_mode=False) as api:
            bot: BotProcess = start_bot(
                api,
                work / "index",
                work / "logs",
                TOKEN,
                NEWSQA_STATE_DIR=str(work / "state"),
                TELEGRAM_RATE_LIMIT="100000",
                TELEGRAM_RATE_WINDOW="1",
            )
            try:
                start_started = time.perf_counter()
                api.wait_until_polling(timeout=start_timeout)
                start_seconds = time.perf_counter() - start_started
                baseline = ask_many(bot, 1, baseline_questions, 10_000, texts)
                load = ask_many(bot, users, questions, 20_000, texts)
                bot_in_source = open_files_under(bot.process.pid, index)
                bot_in_copy = open_files_under(bot.process.pid, work / "index")
                time.sleep(1.5)  # let the bot confirm the last updates with its next poll
                lost_or_twice = ""
                try:
                    api.assert_updates_consumed()
                except AssertionError as e:
                    lost_or_twice = str(e)
            finally:
                code = bot.stop()
            output = bot.output()
        served_changes = changed(served_before, snapshot(work / "index"))
        return {
            "index": str(index),
            "distinct_questions": len(set(texts)),
            "copy_seconds": copy_seconds,
            "start_seconds": start_seconds,
            "source_index_changes": changed(source_before, snapshot(index)),
            "served_index_changes": served_changes,
            "bot_open_in_source": bot_in_source,
            "bot_open_in_copy": bot_in_copy,
            "baseline": baseline,
            "load": load,
            "delivery_problems": lost_or_twice,
            "fake_errors": api.internal_errors,
            "exit_code": code,
            "token_in_output": TOKEN in output or TOKEN.partition(":")[2] in output,
            "ratio_p50": (load["p50_ms"] / baseline["p50_ms"])
            if load["p50_ms"] and baseline["p50_ms"]
            else None,
        }


def default_index() -> Path:
    """An index of the bundled articles, built once into the benchmark cache."""
    from bot.services import make_encoder
    from bot.settings import load_settings
    from corpus.bundled import bundled_articles
    from index import Archive

    directory = Path(tempfile.gettempdir()) / "newsqa-bench-load-index"
    if not Archive.exists(directory):
        settings = load_settings({})
        with Archive.open(directory, make_encoder(settings), create=True) as archive:
            archive.add(bundled_articles())
    return directory


def ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f} ms"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--questions", type=int, default=20, help="per user")
    parser.add_argument(
        "--index", type=Path, help="index to serve, copied first (default: bundled articles)"
    )
    parser.add_argument(
        "--questions-file",
        type=Path,
        action="append",
        help='JSONL with a "question" field per line (repeatable; default: 8 bundled questions)',
    )
    parser.add_argument(
        "--baseline-questions", type=int, default=10, help="asked by one user alone, first"
    )
    parser.add_argument(
        "--start-timeout", type=float, default=600, help="seconds for the bot to start polling"
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    try:
        texts = read_questions(args.questions_file) if args.questions_file else QUESTIONS
    except (OSError, QuestionsFileError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    load_before = os.getloadavg()
    result = run_load(
        args.index or default_index(),
        args.users,
        args.questions,
        args.baseline_questions,
        texts=texts,
        start_timeout=args.start_timeout,
    )
    result["load_average_before"] = load_before
    result["load_average_after"] = os.getloadavg()
    base, load = result["baseline"], result["load"]
    ok = (
        not load["failures"]
        and load["answers_per_user"] == [args.questions]
        and not result["delivery_problems"]
        and not result["source_index_changes"]
        and not result["bot_open_in_source"]
    )
    if args.json:
        print(json.dumps(result, indent=2))
        return 0 if ok else 1
    print(
        f"index {result['index']}: copied in {result['copy_seconds']:.1f} s, bot polling after "
        f"{result['start_seconds']:.1f} s; {result['distinct_questions']} distinct questions"
    )
    print(
        f"baseline: 1 user, {base['questions']} questions one at a time: "
        f"p50 {ms(base['p50_ms'])}, p95 {ms(base['p95_ms'])}, "
        f"{base['throughput_qps']:.1f} questions/s"
    )
    print(
        f"load: {load['users']} users x {args.questions} questions = {load['questions']}: "
        f"{load['answered']} answered in {load['seconds']:.1f} s, "
        f"{load['throughput_qps']:.1f} questions/s, p50 {ms(load['p50_ms'])}, "
        f"p95 {ms(load['p95_ms'])}; CPU: bot {load['bot_cpu_s'] or 0:.0f} s, "
        f"users + fake API {load['harness_cpu_s']:.0f} s"
    )
    if result["ratio_p50"] is not None:
        print(f"ratio p50 load/baseline: {result['ratio_p50']:.1f}")
    print(
        f"answers per user: {load['answers_per_user']} (expected [{args.questions}]), "
        f"{load['answered_without_buttons']} without buttons; "
        f"updates lost or answered twice: {result['delivery_problems'] or 'none'}; "
        f"token in the bot's output: {result['token_in_output']}"
    )
    print(
        f"source index changed: {result['source_index_changes'] or 'no'} (files of it the bot "
        f"had open: {result['bot_open_in_source'] or 'none'}, of its copy: "
        f"{result['bot_open_in_copy'] or 'none'}); "
        f"files the bot wrote in its copy: {result['served_index_changes'] or 'none'}"
    )
    print(
        "load average (1, 5, 15 min) before: "
        + ", ".join(f"{x:.2f}" for x in result["load_average_before"])
        + "; after: "
        + ", ".join(f"{x:.2f}" for x in result["load_average_after"])
    )
    for failure in load["failures"][:3]:
        print(f"failure: {failure}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
