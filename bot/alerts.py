"""Alerts for followed topics: find the new articles about each topic, queue one alert per article
per follower, and hand them out in batches for delivery.

New articles are found in the archive itself (by the time they were added), so articles from feeds,
uploads, `/add` and another process's `newsqa ingest` are all seen. A follow matches an article
added after the follow was made when one of its passages holds every word of the topic; the alert
quotes the sentence of that passage holding most of them. Pure Python over the index's stores:
Telegram, rate limits and access checks are the bot's (`bot/telegram/desk.py`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from bot.timeline import Excerpt, best_sentence
from corpus.types import ArticleInfo, Passage
from index.follows import Follow, FollowStore, PendingAlert, iso
from index.store import Store
from index.topics import TopicError, topic_passages, topic_terms

MAX_BATCH = 5  # articles in one alert message
MAX_FOLLOWS = 20  # topics one user may follow


@dataclass(frozen=True)
class Alert:
    """One new article for one follower: the excerpt that matched, and where it is."""

    pending: PendingAlert
    article: ArticleInfo
    passage: Passage
    excerpt: Excerpt


def _now() -> datetime:
    return datetime.now(UTC)


class AlertDesk:
    """Scans for new articles and keeps the queue of alerts; one per bot, over its index."""

    def __init__(self, store: Store, clock: Callable[[], datetime] = _now):
        self.store = store
        self.follows = FollowStore(store)
        self.clock = clock

    def follow(self, user_id: int, chat_id: int, topic: str) -> Follow:
        """Follow a topic (TopicError for one without words, or past the limit of follows)."""
        topic = " ".join(topic.split())
        topic_terms(topic)
        if len(self.follows.following(user_id)) >= MAX_FOLLOWS:
            raise TopicError(f"you follow {MAX_FOLLOWS} topics already; /unfollow one first")
        return self.follows.follow(user_id, chat_id, topic, self.clock())

    def following(self, user_id: int) -> list[Follow]:
        return self.follows.following(user_id)

    def unfollow(self, user_id: int, number: int) -> Follow | None:
        """Stop following the user's `number`-th topic (1-based, as /following lists them)."""
        mine = self.follows.following(user_id)
        if not 1 <= number <= len(mine):
            return None
        self.follows.unfollow(mine[number - 1].id)
        return mine[number - 1]

    def scan(self) -> int:
        """Match the articles added since the last scan against every follow; returns how many
        alerts were queued."""
        now = self.clock()
        new = self.follows.new_articles(now)
        matches: list[PendingAlert] = []
        if new:
            added = dict(new)
            by_topic: dict[str, list[Follow]] = {}
            for follow in self.follows.follows():
                by_topic.setdefault(follow.topic.casefold(), []).append(follow)
            for group in by_topic.values():
                for article_id, passage_id in self._about(group[0].topic, list(added)).items():
                    matches += [
                        PendingAlert(
                            f.user_id, f.chat_id, article_id, f.topic, passage_id, iso(now)
                        )  # fmt: skip
                        for f in group
                        if added[article_id] >= f.created
                    ]
        self.follows.record_scan([a for a, _ in new], matches, now)
        return len(matches)

    def _about(self, topic: str, article_ids: list[str]) -> dict[str, int]:
        """The best passage of each of the articles that is about the topic."""
        best: dict[str, int] = {}
        for first in range(0, len(article_ids), 500):
            chunk = article_ids[first : first + 500]
            try:
                found = topic_passages(self.store, topic, article_ids=chunk, k=len(chunk) * 50)
            except TopicError:
                return {}
            for passage, info, _ in found:
                best.setdefault(info.id, int(passage.id or 0))
        return best

    def batches(self) -> list[list[Alert]]:
        """The waiting alerts, at most MAX_BATCH per user, oldest first; an alert whose article
        was removed meanwhile is dropped."""
        waiting: dict[int, list[PendingAlert]] = {}
        for alert in self.follows.pending():
            waiting.setdefault(alert.user_id, []).append(alert)
        out = []
        for alerts in waiting.values():
            first = alerts[:MAX_BATCH]
            found = self.store.passages([a.passage_id for a in first])
            batch = []
            for alert in first:
                if alert.passage_id not in found:
                    self.follows.mark_sent([alert], self.clock())  # gone: nothing to send
                    continue
                passage, info = found[alert.passage_id]
                excerpt = best_sentence(passage, topic_terms(alert.topic))
                batch.append(Alert(alert, info, passage, excerpt))
            if batch:
                out.append(batch)
        return out

    def mark_sent(self, batch: list[Alert]) -> None:
        self.follows.mark_sent([a.pending for a in batch], self.clock())
