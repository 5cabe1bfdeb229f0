"""Polling feeds on their schedules: `newsqa watch`, and the same poller inside `newsqa telegram`.

Each due feed is fetched with its last validators (ETag, Last-Modified), so an unchanged feed costs
one 304. Items already read are skipped by their fingerprint; new and edited ones are read (the
linked page when the item is only a summary, through the private-address guard and the fetch
policy) and committed to the archive, one commit per feed and poll. A failing feed is retried after
a doubling delay (capped at a day), and reported as failing after `FAILING_AFTER` failures in a
row, so a dead feed costs a few requests a day, not one a minute.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Protocol

from corpus.errors import CorpusError, NewsqaError
from corpus.feeds import feed_items, read_item, summary_article
from corpus.fetch import fetch
from corpus.ids import article_id
from corpus.readers import ReadLimits
from corpus.types import Article, ArticleInfo
from index.archive import IngestReport
from index.feeds import FAILING_AFTER, Feed, FeedStore, iso

log = logging.getLogger("newsqa.watch")
MAX_BACKOFF = 86400.0
MIN_EVERY = 1.0
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_DURATION = re.compile(r"^(\d+(?:\.\d+)?)\s*([smhd]?)$")


class ArticleSink(Protocol):
    """Where new articles go: `Archive.add`."""

    def add(self, articles: Iterable[Article]) -> IngestReport: ...


def parse_every(text: str) -> float:
    """Seconds in "30s", "15m", "2h", "1d" (or a plain number of seconds); NewsqaError if not."""
    match = _DURATION.match(text.strip().lower())
    if not match:
        raise NewsqaError(f"{text!r} is not a polling interval; write it like 30s, 15m, 2h or 1d")
    seconds = float(match[1]) * _UNITS[match[2] or "s"]
    if seconds < MIN_EVERY:
        raise NewsqaError(f"{text!r} is too short: feeds are polled at most once a second")
    return seconds


def describe_every(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"


def backoff(every: float, failures: int) -> float:
    """Seconds until the next try after `failures` failures in a row: doubling, capped at a day
    (or at the feed's own interval, if that is longer)."""
    return min(every * 2.0 ** min(failures, 30), max(every, MAX_BACKOFF))


@dataclass(frozen=True)
class PollResult:
    """What one poll of one feed did."""

    url: str
    status: str  # ok, not modified, error
    added: tuple[ArticleInfo, ...] = ()
    updated: tuple[ArticleInfo, ...] = ()
    failed: tuple[str, ...] = ()  # items that could not be read in full
    error: str | None = None
    failing: bool = False  # this poll made the feed one that keeps failing
    next_run: float = 0.0


class FeedWatcher:
    """Polls the feeds of one index; `run` loops until its stop event is set."""

    def __init__(
        self,
        feeds: FeedStore,
        writer: Callable[[], AbstractContextManager[ArticleSink]],
        limits: ReadLimits,
        clock: Callable[[], float] = time.time,
        report: Callable[[PollResult], None] | None = None,
    ):
        self.feeds = feeds
        self.writer = writer
        self.limits = limits
        self.clock = clock
        self.report = report or log_result
        self._wake = threading.Event()

    def nudge(self) -> None:
        """Wake `run` now (a feed was added, or it should stop)."""
        self._wake.set()

    def poll(self, feed: Feed, stop: threading.Event | None = None) -> PollResult:
        """Fetch one feed and commit what is new in it; never raises for a feed's own faults.
        Once `stop` is set no further item is read: those read are committed, the feed stays due."""
        now = self.clock()
        validators = {"If-None-Match": feed.etag, "If-Modified-Since": feed.last_modified}
        try:
            fetched = fetch(
                feed.url,
                max_bytes=self.limits.max_file_bytes,
                allow_private=self.limits.allow_private_urls,
                policy=self.limits.fetch_policy,
                deadline=self.limits.fetch_deadline,
                conditional={k: v for k, v in validators.items() if v},
            )
            next_run = now + feed.every
            if fetched.status == 304:
                self.feeds.record_fetch(
                    feed.url,
                    now,
                    next_run,
                    "not modified",
                    etag=fetched.etag or feed.etag,
                    last_modified=fetched.last_modified or feed.last_modified,
                )
                return PollResult(feed.url, "not modified", next_run=next_run)
            items = feed_items(fetched.body, feed.url)
            known = self.feeds.items(feed.url)
            articles: list[Article] = []
            read: list[tuple[str, str, str]] = []
            failed: list[str] = []
            # a teaser whose article the archive holds already (another feed had it, or an
            # ingest of its link) is not fetched again; one edited since this feed read it is
            archived = self.feeds.archived(
                [article_id(i.link, "") for i in items if i.summary_only and i.link]
            )
            partial = False
            for item in items:
                if stop is not None and stop.is_set():
                    partial = True  # commit what was read; the rest on the next poll
                    break
                if known.get(item.key) == item.digest:
                    continue
                held = article_id(item.link, "") if item.link else None
                if item.summary_only and item.key not in known and held in archived:
                    read.append((item.key, item.digest, str(held)))
                    continue
                try:
                    article = read_item(item, self.limits)
                    read.append((item.key, item.digest, article.id))
                except CorpusError as e:
                    failed.append(str(e))
                    try:  # the summary is better than nothing; the page is tried again later
                        article = summary_article(item, self.limits)
                    except CorpusError:
                        continue
                articles.append(article)
            report = IngestReport()
            if articles:
                with self.writer() as archive:
                    report = archive.add(articles)
            self.feeds.record_items(feed.url, read, [i.key for i in items], now)
            # with items left unread, forget the validators so that the next poll reads them
            if partial:
                next_run = now
            self.feeds.record_fetch(
                feed.url,
                now,
                next_run,
                "ok",
                etag=None if failed or partial else fetched.etag,
                last_modified=None if failed or partial else fetched.last_modified,
                added=len(report.added),
            )
            return PollResult(
                feed.url,
                "ok",
                tuple(report.added),
                tuple(report.updated),
                (*failed, *report.failed),
                next_run=next_run,
            )
        except NewsqaError as e:
            return self._failed(feed, now, str(e))
        except Exception as e:  # a bug must not stop the poller (or the bot it runs in)
            log.exception("polling %s failed", feed.url)
            return self._failed(feed, now, f"internal error ({type(e).__name__})")

    def _failed(self, feed: Feed, now: float, error: str) -> PollResult:
        delay = backoff(feed.every, feed.failures + 1)
        after = self.feeds.record_failure(feed.url, now, error, delay)
        failing = after is not None and after.failing and not feed.failing
        return PollResult(feed.url, "error", error=error, failing=failing, next_run=now + delay)

    def poll_due(self, stop: threading.Event | None = None) -> list[PollResult]:
        """Poll every feed that is due now, reporting each result."""
        results = []
        for feed in self.feeds.due(self.clock()):
            if stop is not None and stop.is_set():
                break
            result = self.poll(feed, stop)
            self.report(result)
            results.append(result)
        return results

    def run(self, stop: threading.Event, idle: float = 30.0) -> None:
        """Poll feeds as they fall due until `stop` is set; feeds added meanwhile (by another
        process too) are seen within `idle` seconds, or at once after `nudge`. When `stop` is set
        mid-poll, the items read so far are committed and the rest left for the next run."""
        while not stop.is_set():
            try:
                self.poll_due(stop)
                upcoming = self.feeds.next_run()
            except NewsqaError as e:  # the database itself: locked for long, or damaged
                log.error("cannot read the feeds: %s", e)
                upcoming = None
            wait = idle if upcoming is None else min(idle, upcoming - self.clock())
            if not stop.is_set():
                self._wake.wait(max(wait, 0.2))
            self._wake.clear()


def log_result(result: PollResult) -> None:
    """One log line per poll that found something or failed."""
    if result.status == "error":
        if result.failing:
            log.error(
                "feed %s keeps failing (%d failures in a row, last: %s); next try at %s",
                result.url,
                FAILING_AFTER,
                result.error,
                iso(result.next_run),
            )
        else:
            log.warning("feed %s failed: %s; next try at %s", result.url, result.error,
                        iso(result.next_run))  # fmt: skip
        return
    if result.added or result.updated:
        log.info(
            "feed %s: %d added, %d updated", result.url, len(result.added), len(result.updated)
        )
    for failure in result.failed:
        log.warning("feed %s: %s", result.url, failure)
