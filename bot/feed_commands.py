"""`newsqa feeds add|list|remove` and `newsqa watch`: the feeds an index follows; their poller."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
import time
from contextlib import nullcontext
from dataclasses import asdict
from types import FrameType

from bot.commands import describe_article, one_line
from bot.services import open_archive, read_limits
from bot.watch import FeedWatcher, PollResult, describe_every, parse_every
from index.feeds import Feed, FeedStore, iso


def feeds(args: argparse.Namespace) -> int:
    settings = args.settings
    with open_archive(settings, seed_bundled=False, check_model=False) as archive:
        store = FeedStore(archive.store)
        if args.action == "add":
            every = parse_every(args.every or settings.feed_every)
            for url in args.urls:
                feed = store.add(url, every, time.time())
                print(f"following {feed.url} (every {describe_every(feed.every)}); "
                      "`newsqa watch` polls it")  # fmt: skip
        elif args.action == "remove":
            for url in args.urls:
                feed = store.remove(url)
                print(f"stopped following {feed.url} (its {feed.articles} articles stay)")
        else:
            _print_feeds(store.feeds(), args.json)
    return 0


def feed_json(feed: Feed) -> dict[str, object]:
    return {**asdict(feed), "next_run": iso(feed.next_run), "failing": feed.failing}


def _print_feeds(found: list[Feed], as_json: bool) -> None:
    for feed in found:
        if as_json:
            print(json.dumps(feed_json(feed), ensure_ascii=False))
            continue
        status = f"FAILING ({feed.failures} failures in a row)" if feed.failing else feed.status
        print(feed.url)
        print(
            f"    every {describe_every(feed.every)}, {status}, {feed.articles} articles, "
            f"last fetch {feed.last_fetch or 'never'}, next run {iso(feed.next_run)}"
        )
        if feed.last_error:
            print(f"    last error: {one_line(feed.last_error)}")
    if not found and not as_json:
        print("no feeds; add one with `newsqa feeds add URL [--every 15m]`")


def print_result(result: PollResult) -> None:
    """What a poll did, as `newsqa watch` reports it: news on stdout, trouble on stderr."""
    if result.status == "error":
        state = "keeps failing; backing off" if result.failing else "failed"
        print(f"newsqa: feed {result.url} {state}: {one_line(result.error or '')}; next try at "
              f"{iso(result.next_run)}", file=sys.stderr, flush=True)  # fmt: skip
        return
    for label, infos in (("added", result.added), ("updated", result.updated)):
        for info in infos:
            print(f"{label:<8} {info.id}  {describe_article(info)}  <- {result.url}", flush=True)
    for failure in result.failed:
        print(f"newsqa: feed {result.url}: {one_line(failure)}", file=sys.stderr, flush=True)


def watch(args: argparse.Namespace) -> int:
    """Poll the feeds on their schedules until SIGTERM or Ctrl-C (or once, with --once)."""
    settings = args.settings
    limits = read_limits(settings, allow_private_urls=False)
    with open_archive(settings, seed_bundled=False) as archive:
        store = FeedStore(archive.store)
        watcher = FeedWatcher(store, lambda: nullcontext(archive), limits, report=print_result)
        if args.once:
            watcher.poll_due()
            return 0
        if not store.count():
            print("newsqa: no feeds yet; waiting for `newsqa feeds add URL`", file=sys.stderr)
        stop = threading.Event()

        def on_signal(number: int, frame: FrameType | None) -> None:
            stop.set()
            watcher.nudge()

        previous = {s: signal.signal(s, on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
        try:
            print(f"newsqa: watching {store.count()} feeds for {settings.index_dir}",
                  file=sys.stderr, flush=True)  # fmt: skip
            watcher.run(stop)
        finally:
            for number, handler in previous.items():
                signal.signal(number, handler)
    print("newsqa: watch stopped", file=sys.stderr, flush=True)
    return 0
