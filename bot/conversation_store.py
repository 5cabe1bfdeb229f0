"""Conversations kept on disk, so that a follow-up still follows after a restart or in the next
`newsqa ask --conversation ID`: one small SQLite file in the state directory.

Bounded and expired: a conversation keeps its last `Conversation.max_turns` turns; one quiet for
longer than the quiet period is forgotten (deleted at the next save); past `max_conversations`
the least recently used go first.
"""

from __future__ import annotations

import json
import sqlite3
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
CREATE INDEX IF NOT EXISTS conversations_updated ON conversations(updated)
"""


class ConversationStoreError(NewsqaError):
    """The conversations file cannot be read or written."""


class ConversationStore:
    """Load and save conversations by id; every call opens, commits and closes the file, so
    several processes (the bot, a shell) can share it."""

    def __init__(self, directory: Path, quiet_s: float = 15 * 60, max_conversations: int = 10_000):
        self.path = directory / FILE
        self.quiet_s = quiet_s
        self.max_conversations = max_conversations

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with closing(sqlite3.connect(self.path, timeout=10)) as db, db:
                db.executescript(SCHEMA)
                yield db
        except sqlite3.Error as e:
            raise ConversationStoreError(f"conversations file {self.path}: {e}") from e
        except OSError as e:
            raise ConversationStoreError(f"conversations directory {self.path.parent}: {e}") from e

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
