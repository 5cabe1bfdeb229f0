"""The `newsqa` command: argument parsing, dispatch, and the one place errors become exit codes."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from bot import commands, eval_commands, feed_commands, quote_commands, timeline_commands
from bot.settings import load_settings
from bot.telegram.command import telegram as telegram_command
from corpus.errors import NewsqaError

EXIT_ERROR = 1
EXIT_USAGE = 2


def _common(parser: argparse.ArgumentParser, suppress: bool) -> None:
    default = argparse.SUPPRESS if suppress else None
    parser.add_argument(
        "--index",
        metavar="DIR",
        default=default,
        help="index directory (default: $NEWSQA_INDEX_DIR or the user data dir)",
    )
    parser.add_argument(
        "--model",
        metavar="NAME",
        default=default,
        help="sentence-transformers model name or path (default: all-MiniLM-L6-v2)",
    )


def _filters(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--k", type=int, metavar="N", help="number of results (default 5)")
    parser.add_argument(
        "--source",
        action="append",
        metavar="OUTLET",
        default=[],
        help="only articles from this outlet (repeatable)",
    )
    parser.add_argument("--since", metavar="YYYY-MM-DD", help="only articles published on or after")
    parser.add_argument(
        "--until", metavar="YYYY-MM-DD", help="only articles published on or before"
    )


def _days(text: str) -> int:
    """A positive number of days, for argparse."""
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"not a positive number of days: {text!r}")
    return int(text)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="newsqa",
        description="Ask questions of a news archive; answers quote articles, with citations.",
    )
    _common(parser, suppress=False)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def command(
        name: str, handler: Callable[[argparse.Namespace], int], help: str
    ) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help, description=help)
        _common(p, suppress=True)
        p.set_defaults(handler=handler)
        return p

    p = command("ingest", commands.ingest, "add articles from files, directories, feeds or URLs")
    p.add_argument("inputs", nargs="+", metavar="PATH_OR_URL")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")

    p = command("stats", commands.stats, "what the index holds")
    p.add_argument("--json", action="store_true", help="print JSON")

    p = command("list", commands.list_articles, "list the articles in the index")
    p.add_argument("--json", action="store_true", help="print JSON lines")

    p = command("show", commands.show, "print one article as stored: metadata and full text")
    p.add_argument("id", metavar="ID", help="the article's id (or a unique id prefix)")
    p.add_argument("--json", action="store_true", help="print JSON")

    p = command("remove", commands.remove, "remove articles by id (or unique id prefix)")
    p.add_argument("ids", nargs="+", metavar="ID")

    p = command("search", commands.search, "raw hybrid search hits, for debugging and scripts")
    p.add_argument("query")
    _filters(p)
    p.add_argument("--retriever", choices=["hybrid", "dense", "bm25"], default="hybrid")
    p.add_argument("--json", action="store_true", help="print JSON")

    p = command("ask", commands.ask, "answer a question with cited excerpts")
    p.add_argument("question", help="the question, or - to read one per line from standard input")
    _filters(p)
    p.add_argument("--json", action="store_true", help="print one JSON object per answer")
    p.add_argument("--more", type=int, default=0, metavar="N", help="skip N pages of evidence")
    p.add_argument(
        "--conversation",
        metavar="ID",
        help="a turn of this conversation: a follow-up is read in the light of its earlier "
        "turns (kept in the state directory)",
    )
    p.add_argument(
        "--as-of", metavar="YYYY-MM-DD",
        help="answer as of this day: from articles published up to it; 'this week' is its week",
    )  # fmt: skip

    p = command("repl", commands.repl, "ask questions interactively (the main job)")
    p.add_argument("--k", type=int, metavar="N", help="passages considered per question")

    p = command("quotes", quote_commands.quotes, "list quotes and their speakers (who said what)")
    p.add_argument("--speaker", metavar="NAME", help="only this person's quotes (any name variant)")
    p.add_argument("--json", action="store_true", help="print JSON lines")

    p = command("timeline", timeline_commands.timeline, "a story in time order, one excerpt "
                "per article")  # fmt: skip
    p.add_argument("topic", help="what the story is about: every word must appear")
    p.add_argument("--since", metavar="YYYY-MM-DD", help="only articles published on or after")
    p.add_argument("--until", metavar="YYYY-MM-DD", help="only articles published on or before")
    p.add_argument("--page", type=int, default=1, metavar="N", help="page N (10 articles each)")
    p.add_argument("--json", action="store_true", help="print one JSON line per article")

    p = command("eval", eval_commands.eval_questions, "measure retrieval and answers on questions")
    p.add_argument("questions", metavar="QUESTIONS.jsonl")
    p.add_argument(
        "--retriever",
        action="append",
        choices=["bm25", "dense", "hybrid"],
        help="retrievers to measure (repeatable; default: all three)",
    )
    p.add_argument("--limit", type=int, metavar="N", help="a seeded random sample of N questions")
    p.add_argument("--no-answers", action="store_true", help="measure retrieval only")
    p.add_argument("--answers-out", metavar="FILE", help="write each answer's record (JSONL)")
    dates = p.add_mutually_exclusive_group()
    dates.add_argument(
        "--ignore-as-of", action="store_true", help="answer every question as of today"
    )
    dates.add_argument(
        "--as-of-window", type=_days, metavar="DAYS",
        help="answer from the DAYS days up to each question's as_of only, ignoring its date words",
    )  # fmt: skip
    p.add_argument("--k", type=int, metavar="N", help="passages considered per answer")
    p.add_argument("--json", action="store_true", help="print JSON")

    p = command("eval-data", eval_commands.eval_data, "turn a public eval set into JSONL files")
    p.add_argument("dataset", choices=["squad", "scifact", "rtqa"])
    p.add_argument("path", help="the SQuAD JSON file, or the SciFact or RealTime QA folder")
    p.add_argument("--out", required=True, metavar="DIR", help="where to write the JSONL files")

    p = command(
        "index", commands.index_maintenance, "check, rebuild or compact the index directory"
    )
    p.add_argument("action", choices=["check", "rebuild", "compact"])

    p = command("feeds", feed_commands.feeds, "follow feeds: add, list or remove them")
    p.add_argument("action", choices=["add", "list", "remove"])
    p.add_argument("urls", nargs="*", metavar="URL")
    p.add_argument("--every", metavar="INTERVAL", help="add: poll every 30s, 15m, 2h, 1d "
                   "(default: the feed_every setting, 15m)")  # fmt: skip
    p.add_argument("--json", action="store_true", help="list: print JSON lines")

    p = command("watch", feed_commands.watch, "poll the feeds on their schedules until stopped")
    p.add_argument("--once", action="store_true", help="poll the feeds that are due, then exit")

    p = command("telegram", telegram_command, "run the Telegram bot (token: TELEGRAM_BOT_TOKEN)")
    p.add_argument("--webhook-url", metavar="URL", help="use a webhook at this https URL")
    p.add_argument("--listen", default="127.0.0.1", help="webhook: address to listen on")
    p.add_argument("--port", type=int, default=8443, help="webhook: port to listen on")
    p.add_argument("--secret-token", metavar="TOKEN", help="webhook: secret Telegram must send")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "action", None) in ("add", "remove") and not args.urls:
        parser.error(f"feeds {args.action} needs at least one URL")
    try:
        args.settings = load_settings({"index_dir": args.index, "model": args.model})
        return int(args.handler(args))
    except NewsqaError as e:
        print(f"newsqa: error: {e}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("newsqa: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
