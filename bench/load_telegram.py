"""Load: many Telegram users asking at once, against the real `newsqa telegram` process.

    .venv/bin/python bench/load_telegram.py --users 50 --questions 20

A fake Bot API (tests/telegram_fake.py) on 127.0.0.1 plays the users: each sends a question to
its private chat, waits for the whole answer (the part with the buttons), then asks the next.
Rate limits are set high. Measured in the same run: a single user asking alone, one question at
a time (the baseline), then all users at once; printed: throughput, p50/p95 reply latency, the
ratio to the baseline, and whether any update was lost or answered twice.
"""

from __future__ import annotations

import argparse
import json
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


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def ask_many(bot: BotProcess, users: int, questions: int, first_id: int) -> dict[str, Any]:
    """`users` users at once, each asking `questions` questions one after another."""
    latencies: list[float] = []
    failures: list[str] = []
    lock = threading.Lock()

    def user(n: int) -> None:
        person = bot.api.user(first_id + n, f"User{n}")
        for q in range(questions):
            since = len(bot.api.sent)
            started = time.perf_counter()
            bot.api.send_text(person, person, QUESTIONS[(n + q) % len(QUESTIONS)])
            try:
                bot.final_part(person.id, since, timeout=120)
            except TimeoutError as e:
                with lock:
                    failures.append(str(e))
                return
            with lock:
                latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    threads = [threading.Thread(target=user, args=(n,)) for n in range(users)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    answers: dict[int, int] = {}
    for message in bot.api.sent:
        if first_id <= message.chat_id < first_id + users and message.reply_markup:
            answers[message.chat_id] = answers.get(message.chat_id, 0) + 1
    return {
        "users": users,
        "questions": users * questions,
        "answered": len(latencies),
        "failures": failures,
        "answers_per_user": sorted(set(answers.values())),
        "seconds": elapsed,
        "throughput_qps": len(latencies) / elapsed if elapsed else 0.0,
        "p50_ms": 1000 * percentile(latencies, 0.5) if latencies else None,
        "p95_ms": 1000 * percentile(latencies, 0.95) if latencies else None,
        "mean_ms": 1000 * statistics.fmean(latencies) if latencies else None,
    }


def run_load(
    index: Path, users: int, questions: int, baseline_questions: int = 10
) -> dict[str, Any]:
    """Start the bot on a copy of `index`, measure the baseline, then the load; check delivery."""
    with tempfile.TemporaryDirectory(prefix="newsqa-load-") as tmp:
        work = Path(tmp)
        shutil.copytree(index, work / "index")
        with FakeBotAPI(TOKEN, privacy_mode=False) as api:
            bot = start_bot(
                api,
                work / "index",
                work / "logs",
                TOKEN,
                TELEGRAM_RATE_LIMIT="100000",
                TELEGRAM_RATE_WINDOW="1",
            )
            try:
                api.wait_until_polling(timeout=120)
                baseline = ask_many(bot, 1, baseline_questions, first_id=10_000)
                load = ask_many(bot, users, questions, first_id=20_000)
                time.sleep(1.5)  # let the bot confirm the last updates with its next poll
                lost_or_twice = ""
                try:
                    api.assert_updates_consumed()
                except AssertionError as e:
                    lost_or_twice = str(e)
            finally:
                code = bot.stop()
            output = bot.output()
        return {
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--questions", type=int, default=20, help="per user")
    parser.add_argument("--index", type=Path, help="index to serve (default: bundled articles)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    result = run_load(args.index or default_index(), args.users, args.questions)
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    base, load = result["baseline"], result["load"]
    print(
        f"baseline: 1 user, {base['questions']} questions one at a time: "
        f"p50 {base['p50_ms']:.0f} ms, p95 {base['p95_ms']:.0f} ms, "
        f"{base['throughput_qps']:.1f} questions/s"
    )
    print(
        f"load: {load['users']} users x {args.questions} questions = {load['questions']}: "
        f"{load['answered']} answered in {load['seconds']:.1f} s, "
        f"{load['throughput_qps']:.1f} questions/s, p50 {load['p50_ms']:.0f} ms, "
        f"p95 {load['p95_ms']:.0f} ms"
    )
    print(f"ratio p50 load/baseline: {result['ratio_p50']:.1f}")
    print(
        f"answers per user: {load['answers_per_user']} (expected [{args.questions}]); "
        f"updates lost or answered twice: {result['delivery_problems'] or 'none'}; "
        f"token in the bot's output: {result['token_in_output']}"
    )
    ok = (
        not load["failures"]
        and load["answers_per_user"] == [args.questions]
        and not result["delivery_problems"]
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
