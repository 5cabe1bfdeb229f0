"""The feeds an index follows, and what each fetch of them found, stored beside the archive.

Two tables in the index's SQLite file: `feeds` (one row per feed: its schedule, the validators of
its last answer for conditional GET, its failures) and `feed_items` (the items already read, with
a fingerprint, so an unchanged item is never fetched again and an edited one is read anew).
Times are Unix seconds (`next_run`) and ISO 8601 in UTC (`last_fetch`, `added`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from corpus.errors import NewsqaError
from corpus.ids import normalize_url
from index.store import Store

SCHEMA = """
CREATE TABLE IF NOT EXISTS feeds (
    url TEXT PRIMARY KEY,
    every REAL NOT NULL,
    added TEXT NOT NULL,
    next_run REAL NOT NULL,
    last_fetch TEXT,
    status TEXT NOT NULL DEFAULT 'new',
    last_error TEXT,
    failures INTEGER NOT NULL DEFAULT 0,
    articles INTEGER NOT NULL DEFAULT 0,
    etag TEXT,
    last_modified TEXT
);
CREATE TABLE IF NOT EXISTS feed_items (
    feed_url TEXT NOT NULL REFERENCES feeds(url) ON DELETE CASCADE,
    key TEXT NOT NULL,
    digest TEXT NOT NULL,
    article_id TEXT NOT NULL,
    seen REAL NOT NULL,
    PRIMARY KEY (feed_url, key)
);
"""
_COLUMNS = (
    "url, every, added, next_run, last_fetch, status, last_error, failures, articles, etag, "
    "last_modified"
)
FAILING_AFTER = 5  # consecutive failures after which a feed is reported as failing
ITEM_MEMORY = 90 * 86400.0  # items gone from a feed are forgotten after this long


class FeedError(NewsqaError):
    """A feed cannot be added or removed (not a link, already there, not there)."""


@dataclass(frozen=True)
class Feed:
    """One followed feed and the state of its schedule."""

    url: str
    every: float  # seconds between polls when it works
    added: str
    next_run: float  # Unix time
    last_fetch: str | None = None
    status: str = "new"  # new, ok, not modified, error
    last_error: str | None = None
    failures: int = 0  # consecutive
    articles: int = 0  # articles it brought into the archive
    etag: str | None = None
    last_modified: str | None = None

    @property
    def failing(self) -> bool:
        return self.failures >= FAILING_AFTER


def iso(unix: float) -> str:
    return datetime.fromtimestamp(unix, UTC).replace(microsecond=0).isoformat()


def feed_key(url: str) -> str:
    """How a feed's URL is stored: trimmed, and a valid http(s) link; FeedError otherwise."""
    url = url.strip()
    if not url.startswith(("http://", "https://")):
        raise FeedError(f"{url!r} is not a feed link (it must start with http:// or https://)")
    try:
        normalize_url(url)
    except ValueError as e:
        raise FeedError(f"{url!r} is not a valid link ({e})") from e
    return url


class FeedStore:
    """The feed tables, over the index's SQLite connection."""

    def __init__(self, store: Store):
        self.store = store
        store.apply_schema(SCHEMA)

    @classmethod
    def open(cls, database: Path) -> FeedStore:
        """Its own connection to an index's database (for a poller beside the answering one)."""
        return cls(Store(database))

    def close(self) -> None:
        self.store.close()

    def add(self, url: str, every: float, now: float) -> Feed:
        """Follow a feed, first polled at once; FeedError if it is already followed."""
        url = feed_key(url)
        if self._find(url) is not None:
            raise FeedError(f"{url} is already followed; `newsqa feeds remove` it first")
        with self.store.transaction() as db:
            db.execute(
                "INSERT INTO feeds (url, every, added, next_run) VALUES (?, ?, ?, ?)",
                (url, every, iso(now), now),
            )
        found = self.get(url)
        assert found is not None
        return found

    def remove(self, url: str) -> Feed:
        """Stop following a feed (its articles stay in the archive); FeedError if not followed."""
        found = self._find(url.strip())
        if found is None:
            raise FeedError(f"{url.strip()} is not followed; `newsqa feeds list` shows the feeds")
        with self.store.transaction() as db:
            db.execute("DELETE FROM feed_items WHERE feed_url = ?", (found.url,))
            db.execute("DELETE FROM feeds WHERE url = ?", (found.url,))
        return found

    def _find(self, url: str) -> Feed | None:
        """The feed with this URL, or with one that normalises to the same link."""
        exact = self.get(url)
        if exact is not None:
            return exact
        try:
            wanted = normalize_url(url)
        except ValueError:
            return None
        return next((f for f in self.feeds() if _same_link(f.url, wanted)), None)

    def get(self, url: str) -> Feed | None:
        rows = self.store.query(f"SELECT {_COLUMNS} FROM feeds WHERE url = ?", (url,))
        return Feed(*rows[0]) if rows else None

    def feeds(self) -> list[Feed]:
        return [Feed(*r) for r in self.store.query(f"SELECT {_COLUMNS} FROM feeds ORDER BY added")]

    def count(self) -> int:
        return int(self.store.query("SELECT count(*) FROM feeds")[0][0])

    def due(self, now: float) -> list[Feed]:
        """Feeds whose next poll is at or before `now`, longest overdue first."""
        rows = self.store.query(
            f"SELECT {_COLUMNS} FROM feeds WHERE next_run <= ? ORDER BY next_run", (now,)
        )
        return [Feed(*r) for r in rows]

    def next_run(self) -> float | None:
        """When the earliest feed is next due (None without feeds)."""
        value = self.store.query("SELECT min(next_run) FROM feeds")[0][0]
        return None if value is None else float(value)

    def record_fetch(
        self,
        url: str,
        now: float,
        next_run: float,
        status: str,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        added: int = 0,
    ) -> None:
        """A poll that reached the feed: its validators, and how many articles it added."""
        with self.store.transaction() as db:
            db.execute(
                "UPDATE feeds SET last_fetch = ?, next_run = ?, status = ?, last_error = NULL,"
                " failures = 0, articles = articles + ?, etag = ?, last_modified = ?"
                " WHERE url = ?",
                (iso(now), next_run, status, added, etag, last_modified, url),
            )

    def record_failure(self, url: str, now: float, error: str, backoff: float) -> Feed | None:
        """A poll that failed: one more consecutive failure, next poll after `backoff(failures)`
        seconds; returns the feed as it is now (None if it was removed meanwhile)."""
        with self.store.transaction() as db:
            row = db.execute("SELECT failures FROM feeds WHERE url = ?", (url,)).fetchone()
            if row is None:
                return None
            db.execute(
                "UPDATE feeds SET last_fetch = ?, next_run = ?, status = 'error', last_error = ?,"
                " failures = failures + 1 WHERE url = ?",
                (iso(now), now + backoff, error[:500], url),
            )
        return self.get(url)

    def archived(self, article_ids: Sequence[str]) -> set[str]:
        """Which of these articles the archive already holds (from any feed or input)."""
        found: set[str] = set()
        for first in range(0, len(article_ids), 500):
            chunk = list(article_ids[first : first + 500])
            rows = self.store.query(
                f"SELECT id FROM articles WHERE id IN ({','.join('?' * len(chunk))})", chunk
            )
            found.update(str(r[0]) for r in rows)
        return found

    def items(self, url: str) -> dict[str, str]:
        """The items already read from a feed: key -> digest."""
        rows = self.store.query("SELECT key, digest FROM feed_items WHERE feed_url = ?", (url,))
        return {str(k): str(d) for k, d in rows}

    def record_items(
        self, url: str, read: Sequence[tuple[str, str, str]], seen: Iterable[str], now: float
    ) -> None:
        """Remember items read (key, digest, article id), mark `seen` keys as still in the feed,
        and forget items gone from it for a long time."""
        with self.store.transaction() as db:
            if db.execute("SELECT 1 FROM feeds WHERE url = ?", (url,)).fetchone() is None:
                return  # removed while it was being polled
            db.executemany(
                "INSERT OR REPLACE INTO feed_items VALUES (?, ?, ?, ?, ?)",
                [(url, key, digest, article, now) for key, digest, article in read],
            )
            db.executemany(
                "UPDATE feed_items SET seen = ? WHERE feed_url = ? AND key = ?",
                [(now, url, key) for key in seen],
            )
            db.execute(
                "DELETE FROM feed_items WHERE feed_url = ? AND seen < ?", (url, now - ITEM_MEMORY)
            )


def _same_link(url: str, normalized: str) -> bool:
    try:
        return normalize_url(url) == normalized
    except ValueError:
        return False
