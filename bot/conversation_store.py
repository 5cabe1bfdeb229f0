"""Conversations kept on disk, so that a follow-up still follows after a restart or in the next
`newsqa ask --conversation ID`: one small SQLite file in the state directory.

Bounded and expired: a conversation keeps its last `Conversation.max_turns` turns; one quiet for
longer than the quiet period is forgotten (deleted at the next save); past `max_conversations`
the least recently used go first. In Telegram groups a conversation is a reply chain: `replies`
links each answer message to its conversation, with the same bounds.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Any

from bot.conversation import ArticleRef, Conversation, Turn
from corpus.errors import NewsqaError

FILE = "conversations.sqlite"
SCHEMA = """
CREATE TABLE IF NOT EXISTS conversations (
    id TEXT PRIMARY KEY,
    updated REAL NOT NULL,
    turns TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS conversations_updated ON conversations(updated);
CREATE TABLE IF NOT EXISTS replies (
    chat_id INTEGER NOT NULL,
    message_id INTEGER NOT NULL,
    conversation TEXT NOT NULL,
    updated REAL NOT NULL,
    PRIMARY KEY (chat_id, message_id)
);
CREATE INDEX IF NOT EXISTS replies_updated ON replies(updated)
"""


class ConversationStoreError(NewsqaError):
    """The conversations file cannot be read or written."""


class ConversationStore:
    """Load and save conversations by id. Each thread keeps one connection (opening one per call
    cost the bot about a tenth of its CPU under load); every call commits, so several processes
    (the bot, a shell) can share the file. A file removed or replaced under a running process is
    noticed at the next call and opened afresh."""

    BUSY_TIMEOUT_S = 10.0  # how long a call waits for another connection's write

    def __init__(self, directory: Path, quiet_s: float = 15 * 60, max_conversations: int = 10_000):
        self.path = directory / FILE
        self.quiet_s = quiet_s
        self.max_conversations = max_conversations
        self._ready = False  # the schema is made (and WAL set) by the first call
        self._local = threading.local()
        self._opened: list[sqlite3.Connection] = []
        self._lock = threading.Lock()

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        try:
            db = self._connection()
            with db:
                yield db
        except sqlite3.Error as e:
            self._drop()
            raise ConversationStoreError(f"conversations file {self.path}: {e}") from e
        except OSError as e:
            self._drop()
            raise ConversationStoreError(f"conversations directory {self.path.parent}: {e}") from e

    def _connection(self) -> sqlite3.Connection:
        """This thread's connection to the file as it is now on disk."""
        held: tuple[sqlite3.Connection, tuple[int, int]] | None = getattr(self._local, "db", None)
        try:
            stat = os.stat(self.path)
            identity: tuple[int, int] | None = (stat.st_dev, stat.st_ino)
        except FileNotFoundError:
            identity = None
        if held is not None and held[1] == identity:
            return held[0]
        self._drop()
        if identity is None:
            self._ready = False  # removed: made again
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock:  # one thread prepares the file; the others wait for it, then open it
            if not self._ready:
                self._prepare()
        db = sqlite3.connect(self.path, timeout=self.BUSY_TIMEOUT_S, check_same_thread=False)
        # Context for 15 minutes: losing it to a power cut is acceptable (a damaged file is set
        # aside at the next start, `_prepare`), an fsync per question (20 ms here) is not. A
        # crash of the process loses nothing.
        db.execute("PRAGMA synchronous = OFF")
        stat = os.stat(self.path)
        self._local.db = (db, (stat.st_dev, stat.st_ino))
        with self._lock:
            self._opened.append(db)
        return db

    def _drop(self) -> None:
        """Close this thread's connection (after an error, or when the file changed)."""
        held = getattr(self._local, "db", None)
        self._local.db = None
        if held is not None:
            with self._lock:
                if held[0] in self._opened:
                    self._opened.remove(held[0])
            held[0].close()

    def close(self) -> None:
        """Close every thread's connection (at shutdown, when no call is running)."""
        with self._lock:
            opened, self._opened = self._opened, []
        for db in opened:
            db.close()
        self._local = threading.local()

    def _prepare(self) -> None:
        """Make the schema, once per store; a damaged file (a power cut) is set aside as
        `conversations.sqlite.damaged` and the conversations start afresh. A file that is busy
        or locked (another process writing it) is not damaged: that error is raised, and the
        next call prepares again."""
        try:
            with closing(sqlite3.connect(self.path, timeout=self.BUSY_TIMEOUT_S)) as db:
                if db.execute("PRAGMA quick_check").fetchone()[0] != "ok":
                    raise sqlite3.DatabaseError("quick_check failed")
                db.execute("PRAGMA journal_mode = WAL")
                db.executescript(SCHEMA)
        except sqlite3.OperationalError:
            raise  # busy, locked, unreadable: not a damaged file, and never set aside
        except sqlite3.DatabaseError:
            for suffix in ("-wal", "-shm"):
                self.path.with_name(self.path.name + suffix).unlink(missing_ok=True)
            self.path.replace(self.path.with_name(self.path.name + ".damaged"))
            with closing(sqlite3.connect(self.path, timeout=self.BUSY_TIMEOUT_S)) as db:
                db.execute("PRAGMA journal_mode = WAL")
                db.executescript(SCHEMA)
        self._ready = True

    def load(self, id: str, now: float) -> Conversation:
        """The conversation's turns, or none if it is unknown or has been quiet too long."""
        with self._db() as db:
            row = db.execute(
                "SELECT turns FROM conversations WHERE id = ? AND updated >= ?",
                (id, now - self.quiet_s),
            ).fetchone()
        turns = [_turn(t) for t in json.loads(row[0])] if row else []
        return Conversation(id, turns, quiet_s=self.quiet_s)

    def save(self, conversation: Conversation, now: float) -> None:
        turns = json.dumps([asdict(t) for t in conversation.turns[-conversation.max_turns :]])
        with self._db() as db:
            db.execute(
                "INSERT OR REPLACE INTO conversations (id, updated, turns) VALUES (?, ?, ?)",
                (conversation.id, now, turns),
            )
            db.execute("DELETE FROM conversations WHERE updated < ?", (now - self.quiet_s,))
            db.execute(
                "DELETE FROM conversations WHERE id NOT IN "
                "(SELECT id FROM conversations ORDER BY updated DESC LIMIT ?)",
                (self.max_conversations,),
            )

    def forget(self, id: str) -> None:
        with self._db() as db:
            db.execute("DELETE FROM conversations WHERE id = ?", (id,))
            db.execute("DELETE FROM replies WHERE conversation = ?", (id,))

    def link(self, chat_id: int, message_id: int, id: str, now: float) -> None:
        """A message (an answer) continues conversation `id` when someone replies to it."""
        with self._db() as db:
            db.execute(
                "INSERT OR REPLACE INTO replies (chat_id, message_id, conversation, updated) "
                "VALUES (?, ?, ?, ?)",
                (chat_id, message_id, id, now),
            )
            db.execute("DELETE FROM replies WHERE updated < ?", (now - self.quiet_s,))
            db.execute(
                "DELETE FROM replies WHERE rowid NOT IN "
                "(SELECT rowid FROM replies ORDER BY updated DESC LIMIT ?)",
                (self.max_conversations,),
            )

    def linked(self, chat_id: int, message_id: int, now: float) -> str | None:
        """The conversation a message continues, unless it has been quiet too long."""
        with self._db() as db:
            row = db.execute(
                "SELECT conversation FROM replies WHERE chat_id = ? AND message_id = ? "
                "AND updated >= ?",
                (chat_id, message_id, now - self.quiet_s),
            ).fetchone()
        return str(row[0]) if row else None

    def count(self) -> int:
        with self._db() as db:
            return int(db.execute("SELECT count(*) FROM conversations").fetchone()[0])


def _turn(record: dict[str, Any]) -> Turn:
    article = record.get("article")
    return Turn(
        asked=record["asked"],
        understood=record["understood"],
        at=float(record["at"]),
        speaker=record.get("speaker"),
        names=tuple(record.get("names", ())),
        found=record.get("found"),
        article=ArticleRef(**article) if article else None,
        shown=tuple(record.get("shown", ())),
    )
