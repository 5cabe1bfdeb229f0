"""Who follows which topic, and which alerts are waiting or were sent, stored beside the archive.

Tables in the index's SQLite file, so subscriptions survive restarts and every process that adds
articles (feeds, uploads, `newsqa ingest`) is seen the same way:

    follows        one topic followed by one user, in the chat alerts go to
    alerts_pending an article matched a follow; waiting for delivery (rate limits, batching)
    alerts_sent    (user, article) pairs already alerted: at most one alert per article per user
    alerts_seen    articles already matched against the follows, and `alerts_cursor` in
                   alerts_state: where the next scan of new articles starts
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from index.store import Store

SCHEMA = """
CREATE TABLE IF NOT EXISTS follows (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id INTEGER NOT NULL,
    chat_id INTEGER NOT NULL,
    topic TEXT NOT NULL,
    created TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS follows_user ON follows(user_id);
CREATE TABLE IF NOT EXISTS alerts_pending (
    user_id INTEGER NOT NULL,
    article_id TEXT NOT NULL,
    chat_id INTEGER NOT NULL,
    topic TEXT NOT NULL,
    passage_id INTEGER NOT NULL,
    queued TEXT NOT NULL,
    PRIMARY KEY (user_id, article_id)
);
CREATE TABLE IF NOT EXISTS alerts_sent (
    user_id INTEGER NOT NULL,
    article_id TEXT NOT NULL,
    sent TEXT NOT NULL,
    PRIMARY KEY (user_id, article_id)
);
CREATE TABLE IF NOT EXISTS alerts_seen (article_id TEXT PRIMARY KEY, seen TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS alerts_state (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS articles_added ON articles(added)
"""
# A commit stamps its articles when it starts and becomes visible when it ends: scans look this far
# behind their cursor so that a long commit is not missed (`alerts_seen` stops a second match).
SCAN_OVERLAP = timedelta(hours=1)
KEEP_SENT = timedelta(days=30)  # an article older than this in the archive is not "new" any more
KEEP_PENDING = timedelta(days=7)
MAX_PENDING_PER_USER = 100


@dataclass(frozen=True)
class Follow:
    id: int
    user_id: int
    chat_id: int
    topic: str
    created: str


@dataclass(frozen=True)
class PendingAlert:
    user_id: int
    chat_id: int
    article_id: str
    topic: str
    passage_id: int
    queued: str


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).replace(microsecond=0).isoformat()


class FollowStore:
    """The follow and alert tables, over the index's SQLite connection."""

    def __init__(self, store: Store):
        self.store = store
        store.apply_schema(SCHEMA)

    # follows

    def follow(self, user_id: int, chat_id: int, topic: str, now: datetime) -> Follow:
        with self.store.transaction() as db:
            cursor = db.execute(
                "INSERT INTO follows (user_id, chat_id, topic, created) VALUES (?, ?, ?, ?)",
                (user_id, chat_id, topic, iso(now)),
            )
            follow_id = int(cursor.lastrowid or 0)
        return Follow(follow_id, user_id, chat_id, topic, iso(now))

    def following(self, user_id: int) -> list[Follow]:
        """A user's follows, oldest first (the order /following numbers them in)."""
        rows = self.store.query(
            "SELECT id, user_id, chat_id, topic, created FROM follows WHERE user_id = ? "
            "ORDER BY id",
            (user_id,),
        )
        return [Follow(*r) for r in rows]

    def unfollow(self, follow_id: int) -> None:
        with self.store.transaction() as db:
            db.execute("DELETE FROM follows WHERE id = ?", (follow_id,))

    def follows(self) -> list[Follow]:
        rows = self.store.query("SELECT id, user_id, chat_id, topic, created FROM follows")
        return [Follow(*r) for r in rows]

    # new articles

    def new_articles(self, now: datetime) -> list[tuple[str, str]]:
        """(id, added) of articles added since the last scan and not matched yet; the first scan
        only sets the cursor (the archive as it was is not news)."""
        rows = self.store.query("SELECT value FROM alerts_state WHERE key = 'alerts_cursor'")
        if not rows:
            self._set_cursor(now)
            return []
        since = iso(datetime.fromisoformat(rows[0][0]) - SCAN_OVERLAP)
        found = self.store.query(
            "SELECT a.id, a.added FROM articles a WHERE a.added >= ? AND NOT EXISTS "
            "(SELECT 1 FROM alerts_seen s WHERE s.article_id = a.id) ORDER BY a.added",
            (since,),
        )
        return [(str(r[0]), str(r[1])) for r in found]

    def _set_cursor(self, now: datetime) -> None:
        with self.store.transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO alerts_state VALUES ('alerts_cursor', ?)", (iso(now),)
            )

    def record_scan(
        self, seen: Sequence[str], matches: Sequence[PendingAlert], now: datetime
    ) -> None:
        """Queue the matches (never for a (user, article) already alerted), mark the articles
        seen, move the cursor, and forget what is too old to matter."""
        with self.store.transaction() as db:
            db.executemany(
                "INSERT OR IGNORE INTO alerts_pending SELECT ?, ?, ?, ?, ?, ? WHERE NOT EXISTS "
                "(SELECT 1 FROM alerts_sent WHERE user_id = ? AND article_id = ?)",
                [
                    (
                        m.user_id,
                        m.article_id,
                        m.chat_id,
                        m.topic,
                        m.passage_id,
                        m.queued,
                        m.user_id,
                        m.article_id,
                    )  # fmt: skip
                    for m in matches
                ],
            )
            db.executemany(
                "INSERT OR IGNORE INTO alerts_seen VALUES (?, ?)", [(a, iso(now)) for a in seen]
            )
            db.execute(
                "INSERT OR REPLACE INTO alerts_state VALUES ('alerts_cursor', ?)", (iso(now),)
            )
            db.execute("DELETE FROM alerts_seen WHERE seen < ?", (iso(now - 2 * SCAN_OVERLAP),))
            db.execute("DELETE FROM alerts_sent WHERE sent < ?", (iso(now - KEEP_SENT),))
            db.execute("DELETE FROM alerts_pending WHERE queued < ?", (iso(now - KEEP_PENDING),))
            db.execute(
                "DELETE FROM alerts_pending WHERE rowid IN (SELECT rowid FROM (SELECT rowid, "
                "row_number() OVER (PARTITION BY user_id ORDER BY queued DESC) AS n "
                "FROM alerts_pending) WHERE n > ?)",
                (MAX_PENDING_PER_USER,),
            )

    # delivery

    def pending(self) -> list[PendingAlert]:
        """Alerts waiting for delivery, by user, oldest first."""
        rows = self.store.query(
            "SELECT user_id, chat_id, article_id, topic, passage_id, queued FROM alerts_pending "
            "ORDER BY user_id, queued, article_id"
        )
        return [PendingAlert(*r) for r in rows]

    def mark_sent(self, alerts: Sequence[PendingAlert], now: datetime) -> None:
        with self.store.transaction() as db:
            db.executemany(
                "DELETE FROM alerts_pending WHERE user_id = ? AND article_id = ?",
                [(a.user_id, a.article_id) for a in alerts],
            )
            db.executemany(
                "INSERT OR IGNORE INTO alerts_sent VALUES (?, ?, ?)",
                [(a.user_id, a.article_id, iso(now)) for a in alerts],
            )
