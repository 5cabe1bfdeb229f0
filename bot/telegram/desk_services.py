"""What the news-desk handlers call: feeds and their poller, timelines, follows and alerts.

Built once in post_init beside `BotServices`, over the same index directory. The feed poller runs
in a thread of its own (fetching and encoding never block the event loop), idle while there are no
feeds, and commits through a writer of its own, opened once (loading the vectors of a large index
takes a while); the answering archive picks up each commit on its next search. Every other
method blocks on SQLite: call it in a worker thread.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from contextlib import AbstractContextManager, nullcontext

from bot.alerts import Alert, AlertDesk
from bot.services import read_limits, search_config
from bot.settings import Settings
from bot.telegram.services import BotServices
from bot.timeline import Timeline, build_timeline
from bot.watch import FeedWatcher, PollResult, log_result, parse_every
from index import Archive
from index.archive import DATABASE
from index.feeds import Feed, FeedStore
from index.follows import Follow
from index.store import Store


class DeskServices:
    """Feeds, timelines and alerts for the bot."""

    def __init__(self, settings: Settings, services: BotServices):
        self.settings = settings
        self.services = services
        database = settings.index_dir / DATABASE
        self.feeds = FeedStore.open(database)
        self.alerts = AlertDesk(Store(database))
        self.watcher = FeedWatcher(
            FeedStore.open(database),
            self._writer,
            read_limits(settings, allow_private_urls=False),
            report=self._report,
        )
        self._failing: deque[PollResult] = deque(maxlen=50)  # for the admins, when next told
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._feed_writer: Archive | None = None

    def _writer(self) -> AbstractContextManager[Archive]:
        """The poller's writer (its thread alone uses it), opened on the first new article."""
        if self._feed_writer is None:
            self._feed_writer = Archive.open(
                self.settings.index_dir,
                self.services.archive.encoder,
                search=search_config(self.settings),
            )
        return nullcontext(self._feed_writer)

    def start(self) -> None:
        """Start the feed poller (it waits quietly while no feed is followed)."""
        self._thread = threading.Thread(
            target=self.watcher.run, args=(self._stop,), name="newsqa-feeds", daemon=True
        )
        self._thread.start()

    def close(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self.watcher.nudge()
        if self._thread is not None:
            self._thread.join(timeout)
        self.watcher.feeds.close()
        if self._feed_writer is not None and not (self._thread and self._thread.is_alive()):
            self._feed_writer.close()
        self.feeds.close()
        self.alerts.store.close()

    # feeds

    def _report(self, result: PollResult) -> None:
        log_result(result)
        if result.failing:
            self._failing.append(result)

    def newly_failing(self) -> list[PollResult]:
        """Feeds that started failing since the last call (the poller's thread appends)."""
        found = []
        while self._failing:
            found.append(self._failing.popleft())
        return found

    def feed_list(self) -> list[Feed]:
        return self.feeds.feeds()

    def add_feed(self, url: str, every: str | None = None) -> Feed:
        """Follow a feed; the poller reads it at once. NewsqaError for a bad link or interval."""
        feed = self.feeds.add(url, parse_every(every or self.settings.feed_every), time.time())
        self.watcher.nudge()
        return feed

    def remove_feed(self, url: str) -> Feed:
        return self.feeds.remove(url)

    # timelines, follows, alerts

    def timeline(self, topic: str) -> Timeline:
        return build_timeline(self.services.archive, topic)

    def follow(self, user_id: int, chat_id: int, topic: str) -> Follow:
        return self.alerts.follow(user_id, chat_id, topic)

    def following(self, user_id: int) -> list[Follow]:
        return self.alerts.following(user_id)

    def unfollow(self, user_id: int, number: int) -> Follow | None:
        return self.alerts.unfollow(user_id, number)

    def alert_batches(self) -> list[list[Alert]]:
        """Scan for new articles, then the alerts waiting, one batch per follower."""
        self.alerts.scan()
        return self.alerts.batches()

    def mark_sent(self, batch: list[Alert]) -> None:
        self.alerts.mark_sent(batch)
