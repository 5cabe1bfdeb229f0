"""The SQLite side of the index: articles, passages with their vectors, and FTS5 for BM25.

SQLite is the source of truth and the commit point of every write: the FAISS file is a cache of the
vectors stored here, named by the `generation` this database records.
"""

from __future__ import annotations

import contextlib
import json
import logging
import sqlite3
import threading
from array import array
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from corpus import dedup
from corpus.quotes import Quote, speaker_key
from corpus.types import Article, ArticleInfo, Passage
from index import sentence_vectors as sentence_table
from index.errors import IndexCorruptError, IndexLockedError
from index.postings import RawPostings
from index.space import is_disk_full

if TYPE_CHECKING:
    from numpy.typing import NDArray

log = logging.getLogger("newsqa")

SCHEMA_VERSION = 7  # 2: passages.sentence_vectors (float16, one row per sentence of the passage)
# 3: articles.pages (JSON: the offset in the text where each page starts, for PDF and the like)
# 4: sentence vectors in their own table, each sentence once, int8 (index/sentence_vectors.py)
# 5: the full-text index reads titles and texts from the passages (FTS5 external content)
# 6: passage vectors in their own table, as float16 (the FAISS file is built from them)
# 7: a passage's text is its place in its article's text (start, length), not a copy
SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS articles (
    id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    text TEXT NOT NULL,
    url TEXT,
    source TEXT,
    published TEXT,
    origin TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    added TEXT NOT NULL,
    updated TEXT NOT NULL,
    pages TEXT
);
CREATE INDEX IF NOT EXISTS articles_origin ON articles(origin);
CREATE INDEX IF NOT EXISTS articles_published ON articles(published);
CREATE TABLE IF NOT EXISTS passages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    article_id TEXT NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
    ordinal INTEGER NOT NULL,
    start INTEGER NOT NULL,
    length INTEGER NOT NULL, -- the passage's text is articles.text[start:start + length]
    sentences TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS passages_article ON passages(article_id, ordinal);
-- a passage's vector, float16: apart from the passage's text, so that a passage row (about 800
-- bytes) shares its page with others instead of taking one of its own with a float32 vector
CREATE TABLE IF NOT EXISTS passage_vectors (
    id INTEGER PRIMARY KEY REFERENCES passages(id) ON DELETE CASCADE,
    vector BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS signatures (
    article_id TEXT PRIMARY KEY REFERENCES articles(id) ON DELETE CASCADE,
    signature BLOB NOT NULL,
    story TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS signatures_story ON signatures(story);
CREATE TABLE IF NOT EXISTS signature_bands (
    key INTEGER NOT NULL,
    article_id TEXT NOT NULL REFERENCES articles(id) ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS signature_bands_key ON signature_bands(key);
CREATE INDEX IF NOT EXISTS signature_bands_article ON signature_bands(article_id);
CREATE TABLE IF NOT EXISTS quotes (
    id INTEGER PRIMARY KEY,
    article_id TEXT NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
    speaker TEXT NOT NULL,
    speaker_key TEXT NOT NULL,
    text TEXT NOT NULL,
    start INTEGER NOT NULL,
    end INTEGER NOT NULL,
    sentence_start INTEGER NOT NULL,
    sentence_end INTEGER NOT NULL,
    cue TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS quotes_speaker ON quotes(speaker_key);
CREATE INDEX IF NOT EXISTS quotes_article ON quotes(article_id);
CREATE TABLE IF NOT EXISTS quotes_done (
    article_id TEXT PRIMARY KEY REFERENCES articles(id) ON DELETE CASCADE
);
"""
# FTS5 reads a passage's title and text from this view when it needs them (to delete a row's
# tokens, to rebuild) instead of keeping its own copy: an external-content table (schema 5).
# Writers keep the two in step: a passage enters the index after its row, and leaves it before.
# SQLite's substr counts characters (code points), as Python's slices do.
PASSAGE_TEXT = "substr(a.text, p.start + 1, p.length)"
PASSAGE_TEXT_6 = "p.text"  # schemas 5 and 6 kept a copy of each passage's text in its row
SOURCE_VIEW = """
CREATE VIEW IF NOT EXISTS passages_fts_source AS
    SELECT p.id AS id, a.title AS title, {text} AS text
    FROM passages p JOIN articles a ON a.id = p.article_id
"""
FULL_TEXT = """
CREATE VIRTUAL TABLE IF NOT EXISTS passages_fts USING fts5(
    title, text, content = 'passages_fts_source', content_rowid = 'id',
    tokenize = 'porter unicode61 remove_diacritics 2'
);
"""
# An article's metadata without its text: the columns after `text` live beyond its overflow pages,
# so reading them from the table walks the whole article (0.6 ms per 50 passages' rows). Created
# after the migrations, which add `pages` to older indexes.
ARTICLES_INFO = """
CREATE INDEX IF NOT EXISTS articles_info
    ON articles(id, title, url, source, published, origin, pages)
"""
TOKENIZE = "porter unicode61 remove_diacritics 2"  # passages_fts's, for the scratch table below
_INFO_COLUMNS = "a.id, a.title, a.url, a.source, a.published, a.origin, a.pages"
REPAIR = (
    "run `newsqa index rebuild` to save what can still be read into a fresh database (the "
    "damaged file is kept beside it), or restore the index directory from a backup"
)
_CORRUPT_CODES = frozenset({"SQLITE_CORRUPT", "SQLITE_NOTADB", "SQLITE_IOERR_SHORT_READ"})


def is_corruption(error: sqlite3.Error) -> bool:
    """Whether an SQLite error means a damaged file (not a lock, a bug or a full disk)."""
    name = str(getattr(error, "sqlite_errorname", ""))
    text = str(error).lower()
    return (
        name.startswith(("SQLITE_CORRUPT", "SQLITE_NOTADB"))
        or name in _CORRUPT_CODES
        or "malformed" in text
        or "not a database" in text
    )


def damaged(path: Path, error: sqlite3.Error) -> IndexCorruptError:
    return IndexCorruptError(f"database {path} is damaged ({error}); {REPAIR}")


@dataclass(frozen=True)
class Filters:
    """Restrict a search to some outlets and a published-date range (inclusive, YYYY-MM-DD)."""

    sources: tuple[str, ...] = ()
    since: str | None = None
    until: str | None = None

    def is_empty(self) -> bool:
        return not self.sources and self.since is None and self.until is None

    def sql(self) -> tuple[str, list[str]]:
        """A WHERE clause over `articles a`, and its parameters."""
        clauses: list[str] = ["1"]
        params: list[str] = []
        if self.sources:
            clauses.append(f"a.source COLLATE NOCASE IN ({','.join('?' * len(self.sources))})")
            params.extend(self.sources)
        if self.since:
            clauses.append("substr(a.published, 1, 10) >= ?")
            params.append(self.since)
        if self.until:
            clauses.append("substr(a.published, 1, 10) <= ?")
            params.append(self.until)
        return " AND ".join(clauses), params


@dataclass(frozen=True)
class StoredArticle:
    info: ArticleInfo
    content_hash: str
    passages: int
    added: str
    updated: str


def _raw_postings(found: Iterable[tuple[str, int, str, int]], ids: Sequence[int]) -> RawPostings:
    """Postings from (token, row, column, count) in token order, as fts5vocab's instance view
    groups them."""
    tokens: list[str] = []
    token, row_id, title_tf, text_tf = array("q"), array("q"), array("q"), array("q")
    last_term, last_doc = None, -1
    for term, doc, column, count in found:
        if term != last_term:
            tokens.append(term)
            last_term, last_doc = term, -1
        if doc != last_doc:
            token.append(len(tokens) - 1)
            row_id.append(doc)
            title_tf.append(0)
            text_tf.append(0)
            last_doc = doc
        if column == "title":
            title_tf[-1] += count
        else:
            text_tf[-1] += count
    return RawPostings(
        tokens,
        np.frombuffer(token, np.int64).copy(),
        np.frombuffer(row_id, np.int64).copy(),
        np.frombuffer(title_tf, np.int64).copy(),
        np.frombuffer(text_tf, np.int64).copy(),
        np.asarray(ids, np.int64),
    )


def _info(row: Sequence[str | None]) -> ArticleInfo:
    return ArticleInfo(
        id=str(row[0]),
        title=str(row[1]),
        url=row[2],
        source=row[3],
        published=row[4],
        origin=str(row[5]),
        pages=_pages(row[6]),
    )


def _spans(stored: Iterable[str]) -> list[tuple[tuple[int, int], ...]]:
    """Passages' sentence spans, each stored as JSON `[[start, end], ...]`, parsed in one call
    (an answer reads a few hundred)."""
    return [tuple(map(tuple, spans)) for spans in json.loads(f"[{','.join(stored)}]")]


def _float16(blob: bytes) -> bytes:
    """A float32 vector as stored before schema 6, as float16 bytes."""
    return np.frombuffer(blob, np.float32).astype(np.float16).tobytes()


def as_stored(vectors: NDArray[np.float32]) -> NDArray[np.float32]:
    """Vectors as the database keeps them (float16), back in float32: what the FAISS file is
    given too, so that it and the database hold the very same vectors."""
    return np.asarray(vectors, np.float32).astype(np.float16).astype(np.float32)


def _pages(value: str | None) -> tuple[int, ...]:
    return tuple(int(x) for x in json.loads(value)) if value else ()


class Store:
    """One SQLite connection, shared by threads under a lock; writes go through `transaction()`."""

    BUSY_TIMEOUT_MS = 10_000  # how long a write waits for another process's

    def __init__(self, path: Path, *, create: bool = False):
        if not create and not path.exists():
            raise IndexCorruptError(
                f"database {path} is missing; restore it from a backup or build a new index "
                "with `newsqa ingest` in an empty directory"
            )
        self.path = path
        self._lock = threading.RLock()
        self._frequencies: tuple[int, dict[str, int]] = (-1, {})  # per generation, by token
        self._tokens: dict[str, tuple[str, ...]] = {}  # what `fts_tokens` made of a text
        try:
            self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA foreign_keys = ON")
            self._db.execute(f"PRAGMA busy_timeout = {self.BUSY_TIMEOUT_MS}")
            self._db.execute("PRAGMA journal_mode = WAL")
            self._db.execute("PRAGMA synchronous = FULL")
            # IF NOT EXISTS throughout: on an older index this adds what it lacks, else nothing
            self._db.executescript(SCHEMA)
            self._db.execute(sentence_table.SCHEMA)
            if not self._has_table("passages_fts"):  # older ones get it from `_migrate_to_5`
                self._db.execute(SOURCE_VIEW.format(text=PASSAGE_TEXT))
                self._db.executescript(FULL_TEXT)
            if create:
                self._db.execute(
                    "INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)",
                    (str(SCHEMA_VERSION),),
                )
                self._db.execute("INSERT OR IGNORE INTO meta VALUES ('dedup', ?)", (dedup.VERSION,))
            self._db.execute("SELECT count(*) FROM articles").fetchone()
            self._migrate()
            self._db.execute(ARTICLES_INFO)
        except sqlite3.DatabaseError as e:
            with contextlib.suppress(sqlite3.Error, AttributeError):
                self._db.close()
            if str(getattr(e, "sqlite_errorname", "")).startswith("SQLITE_BUSY"):
                # an upgrade of a large archive holds the write lock for half a minute
                raise IndexLockedError(
                    f"another newsqa process is writing to or upgrading {path}; try again when "
                    "it is done"
                ) from e
            raise damaged(path, e) from e

    def _migrate(self) -> None:
        """Bring an older schema up to date in place; refuse a newer one."""
        version = int(self.get_meta("schema_version") or 1)
        if version > SCHEMA_VERSION:
            raise IndexCorruptError(
                f"database {self.path} has schema {version}, newer than this newsqa's "
                f"{SCHEMA_VERSION}; upgrade newsqa"
            )
        stored = self._db.execute("SELECT 1 FROM passages LIMIT 1").fetchone()
        if version < SCHEMA_VERSION and stored:
            log.warning(
                "upgrading the index %s from schema %d to %d, once, in place: about half a "
                "minute per 100,000 passages",
                self.path.parent, version, SCHEMA_VERSION,
            )  # fmt: skip
        if version < 3:
            self._migrate_to_3(version)
        if version < 4:
            self._migrate_to_4()
        if version < 5:
            self._migrate_to_5()
        if version < 6:
            self._migrate_to_6()
        if version < 7:
            self._migrate_to_7()
        if self.get_meta("dedup") != dedup.VERSION:
            self._redo_signatures()

    def _migrate_to_3(self, version: int) -> None:
        if version < 2:
            # Old passages keep a NULL: their sentences are encoded when an answer needs them.
            with self.transaction() as db:
                columns = {r[1] for r in db.execute("PRAGMA table_info(passages)")}
                if "sentence_vectors" not in columns:
                    db.execute("ALTER TABLE passages ADD COLUMN sentence_vectors BLOB")
                self.set_meta(db, "schema_version", "2")
        with self.transaction() as db:
            if "pages" not in {r[1] for r in db.execute("PRAGMA table_info(articles)")}:
                db.execute("ALTER TABLE articles ADD COLUMN pages TEXT")
            self.set_meta(db, "schema_version", "3")

    def _migrate_to_4(self) -> None:
        """Sentence vectors move from a float16 blob per passage to one int8 row per distinct
        sentence (index/sentence_vectors.py): converted, not encoded again, in one transaction,
        so a crash leaves schema 3 whole. The freed pages are reused by later ingests; `newsqa
        index compact` gives them back to the disk."""
        with self.transaction() as db:
            if int(self.get_meta("schema_version") or 1) >= 4:
                return  # another process migrated it while this one waited
            columns = {r[1] for r in db.execute("PRAGMA table_info(passages)")}
            if "sentence_vectors" in columns:
                dimension = int(self.get_meta("dimension") or 0)
                if dimension:
                    sentence_table.migrate_passage_blobs(db, dimension)
                else:
                    db.execute("ALTER TABLE passages DROP COLUMN sentence_vectors")
            self.set_meta(db, "schema_version", "4")

    def _migrate_to_5(self) -> None:
        """The full-text index made again over the passages (external content), without its own
        copy of every title and text (77 MB of the real 96,208-passage archive). Its tokens and
        row ids are the same, so the BM25 postings file stays valid. One transaction."""
        with self.transaction() as db:
            if int(self.get_meta("schema_version") or 1) >= 5:
                return
            db.execute("DROP TABLE IF EXISTS passages_fts")
            db.execute(SOURCE_VIEW.format(text=PASSAGE_TEXT_6))  # `_migrate_to_7` replaces it
            for statement in FULL_TEXT.split(";"):
                if statement.strip():
                    db.execute(statement)
            db.execute("INSERT INTO passages_fts(passages_fts) VALUES ('rebuild')")
            self.set_meta(db, "schema_version", "5")

    def _migrate_to_6(self) -> None:
        """Passage vectors move from `passages.embedding` (float32) to `passage_vectors`
        (float16), in one transaction. The FAISS file is left as it is: an IVF one already holds
        float16 codes of the same vectors; a flat one differs from them by float16 rounding
        (under 1e-3 in a cosine) until its next rebuild."""
        with self.transaction() as db:
            if int(self.get_meta("schema_version") or 1) >= 6:
                return
            if "embedding" in {r[1] for r in db.execute("PRAGMA table_info(passages)")}:
                cursor = db.execute("SELECT id, embedding FROM passages ORDER BY id")
                while rows := cursor.fetchmany(2000):
                    db.executemany(
                        "INSERT OR REPLACE INTO passage_vectors (id, vector) VALUES (?, ?)",
                        [(pid, _float16(blob)) for pid, blob in rows],
                    )
                db.execute("ALTER TABLE passages DROP COLUMN embedding")
            self.set_meta(db, "schema_version", "6")

    def _migrate_to_7(self) -> None:
        """Each passage's text becomes its place in its article's text (`length` beside `start`)
        instead of a copy: passages overlap, so their copies took more than the articles (83 MB
        of passage rows for 31 MB of article text in the real 3,300-article archive). Checked
        first: every passage must be its article's text at that place, else nothing changes (a
        rebuild splits such an article again). One transaction; the full-text index is kept (its
        view reads the same text)."""
        with self.transaction() as db:
            if int(self.get_meta("schema_version") or 1) >= 7:
                return
            if "text" in {r[1] for r in db.execute("PRAGMA table_info(passages)")}:
                db.execute("ALTER TABLE passages ADD COLUMN length INTEGER NOT NULL DEFAULT 0")
                db.execute("UPDATE passages SET length = length(text)")
                astray = db.execute(
                    "SELECT count(*) FROM passages p JOIN articles a ON a.id = p.article_id "
                    f"WHERE {PASSAGE_TEXT} IS NOT p.text"
                ).fetchone()[0]
                if astray:
                    raise IndexCorruptError(
                        f"database {self.path}: {astray} passages differ from their articles' "
                        f"text, so it cannot be upgraded to schema 7; {REPAIR}"
                    )
                db.execute("DROP VIEW IF EXISTS passages_fts_source")
                db.execute("ALTER TABLE passages DROP COLUMN text")
                db.execute(SOURCE_VIEW.format(text=PASSAGE_TEXT))
            self.set_meta(db, "schema_version", "7")

    def _has_table(self, name: str) -> bool:
        found = self._db.execute("SELECT 1 FROM sqlite_schema WHERE name = ?", (name,))
        return found.fetchone() is not None

    def _redo_signatures(self) -> None:
        """Signatures of another shingle size cannot be compared with new ones: make them all
        again, oldest article first, so each story keeps its first article's id."""
        with self.transaction() as db:
            db.execute("DELETE FROM signature_bands")
            db.execute("DELETE FROM signatures")
            for article_id, text in db.execute("SELECT id, text FROM articles ORDER BY added, id"):
                sig = dedup.signature(text)
                story = self.find_story(db, sig, article_id, text)
                self.insert_signature(db, article_id, sig, story)
            self.set_meta(db, "dedup", dedup.VERSION)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE ... COMMIT, or ROLLBACK on any exception."""
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                try:
                    yield self._db
                    self._db.execute("COMMIT")  # on a full disk, this is what fails
                except BaseException as e:
                    with contextlib.suppress(sqlite3.Error):  # a damaged file may refuse this too
                        if self._db.in_transaction:
                            self._db.execute("ROLLBACK")
                        if is_disk_full(e):  # give the disk back what the write-ahead log took
                            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                    raise
            except sqlite3.DatabaseError as e:
                if is_corruption(e):
                    raise damaged(self.path, e) from e
                raise

    @contextmanager
    def _one_state(self) -> Iterator[None]:
        """Reads that see one committed state (a passage's place, then its article's text),
        inside a transaction already open or in a snapshot of their own."""
        with self._lock:
            if self._db.in_transaction:
                yield
            else:
                with self.snapshot():
                    yield

    @contextmanager
    def snapshot(self) -> Iterator[None]:
        """Reads that see one committed state of the database, whatever writers do meanwhile."""
        with self._lock:
            self._db.execute("BEGIN")
            try:
                yield
            finally:
                self._db.execute("COMMIT")

    def vacuum(self) -> None:
        """Rewrite the database without its free pages (SQLite's VACUUM: crash-safe, it goes
        through the journal), then shrink the write-ahead log."""
        with self._lock:
            self._db.execute("VACUUM")
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def apply_schema(self, script: str) -> None:
        """Create the tables of a store module that shares this connection (feeds, follows), if
        they are missing: its `CREATE ... IF NOT EXISTS` statements, in one transaction."""
        with self.transaction() as db:
            for statement in script.split(";"):
                if statement.strip():
                    db.execute(statement)

    def query(self, sql: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            try:
                return self._db.execute(sql, params).fetchall()
            except sqlite3.DatabaseError as e:
                if isinstance(e, sqlite3.OperationalError) and "fts5" in str(e).lower():
                    raise
                if is_corruption(e):
                    raise damaged(self.path, e) from e
                raise IndexCorruptError(f"database {self.path} failed ({e})") from e

    # meta

    def get_meta(self, key: str) -> str | None:
        rows = self.query("SELECT value FROM meta WHERE key = ?", (key,))
        return rows[0][0] if rows else None

    @staticmethod
    def set_meta(db: sqlite3.Connection, key: str, value: str) -> None:
        db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    def generation(self) -> int:
        return int(self.get_meta("generation") or 0)

    # articles

    def counts(self) -> tuple[int, int]:
        rows = self.query("SELECT (SELECT count(*) FROM articles), (SELECT count(*) FROM passages)")
        return int(rows[0][0]), int(rows[0][1])

    def article_hashes(self, ids: Iterable[str]) -> dict[str, str]:
        ids = list(ids)
        found: dict[str, str] = {}
        for i in range(0, len(ids), 500):
            chunk = ids[i : i + 500]
            marks = ",".join("?" * len(chunk))
            for row in self.query(
                f"SELECT id, content_hash FROM articles WHERE id IN ({marks})", chunk
            ):
                found[row[0]] = row[1]
        return found

    def article_ids_by_origin(self, origin: str) -> list[str]:
        return [row[0] for row in self.query("SELECT id FROM articles WHERE origin = ?", (origin,))]

    def get_article(self, article_id: str) -> Article | None:
        rows = self.query(
            "SELECT id, title, text, url, source, published, origin, pages FROM articles "
            "WHERE id = ?",
            (article_id,),
        )
        if not rows:
            return None
        r = rows[0]
        return Article(
            id=r[0], title=r[1], text=r[2], url=r[3], source=r[4], published=r[5], origin=r[6],
            pages=_pages(r[7]),
        )  # fmt: skip

    def find_article_ids(self, prefix: str) -> list[str]:
        return [
            r[0] for r in self.query("SELECT id FROM articles WHERE id LIKE ? || '%'", (prefix,))
        ]

    def list_articles(self) -> list[StoredArticle]:
        rows = self.query(
            f"SELECT {_INFO_COLUMNS}, a.content_hash, count(p.id), a.added, a.updated "
            "FROM articles a LEFT JOIN passages p ON p.article_id = a.id "
            "GROUP BY a.id ORDER BY coalesce(a.published, ''), a.added, a.title"
        )
        return [StoredArticle(_info(r[:7]), r[7], int(r[8]), r[9], r[10]) for r in rows]

    def list_articles_by_id(self, ids: Sequence[str]) -> list[StoredArticle]:
        marks = ",".join("?" * len(ids)) or "NULL"
        rows = self.query(
            f"SELECT {_INFO_COLUMNS}, a.content_hash, count(p.id), a.added, a.updated "
            "FROM articles a LEFT JOIN passages p ON p.article_id = a.id "
            f"WHERE a.id IN ({marks}) GROUP BY a.id",
            list(ids),
        )
        return [StoredArticle(_info(r[:7]), r[7], int(r[8]), r[9], r[10]) for r in rows]

    def passage_ids_of(self, db: sqlite3.Connection, article_ids: Sequence[str]) -> list[int]:
        ids: list[int] = []
        for i in range(0, len(article_ids), 500):
            chunk = list(article_ids[i : i + 500])
            marks = ",".join("?" * len(chunk))
            ids.extend(
                r[0]
                for r in db.execute(f"SELECT id FROM passages WHERE article_id IN ({marks})", chunk)
            )
        return ids

    @staticmethod
    def delete_articles(db: sqlite3.Connection, article_ids: Sequence[str]) -> None:
        for i in range(0, len(article_ids), 500):
            chunk = list(article_ids[i : i + 500])
            marks = ",".join("?" * len(chunk))
            db.execute(
                f"DELETE FROM passages_fts WHERE rowid IN "
                f"(SELECT id FROM passages WHERE article_id IN ({marks}))",
                chunk,
            )
            db.execute(
                f"DELETE FROM passage_vectors WHERE id IN "
                f"(SELECT id FROM passages WHERE article_id IN ({marks}))",
                chunk,
            )
            db.execute(f"DELETE FROM passages WHERE article_id IN ({marks})", chunk)
            db.execute(f"DELETE FROM articles WHERE id IN ({marks})", chunk)
        sentence_table.delete_articles(db, article_ids)

    @staticmethod
    def insert_article(
        db: sqlite3.Connection,
        article: Article,
        content_hash: str,
        now: str,
        passages: Sequence[Passage],
        vectors: NDArray[np.float32],
        added: str | None = None,
        sentence_vectors: Sequence[NDArray[np.float32]] | None = None,
    ) -> list[int]:
        """Insert one article with its passages and vectors; returns the new passage ids.

        `sentence_vectors`, one (sentences x dimension) array per passage, are stored once per
        distinct sentence, as int8 (index/sentence_vectors.py).
        """
        if "\x00" in article.text:  # substr() would stop there (`index.archive.storable`)
            raise ValueError(f"the text of {article.id} holds a NUL character")
        db.execute(
            "INSERT INTO articles (id, title, text, url, source, published, origin, content_hash, "
            "added, updated, pages) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                article.id,
                article.title,
                article.text,
                article.url,
                article.source,
                article.published,
                article.origin,
                content_hash,
                added or now,
                now,
                json.dumps(article.pages) if article.pages else None,
            ),
        )
        ids = []
        for passage, vector in zip(passages, vectors, strict=True):
            if article.text[passage.start : passage.end] != passage.text:
                raise ValueError(f"passage {passage.ordinal} of {article.id} is not in its text")
            cursor = db.execute(
                "INSERT INTO passages (article_id, ordinal, start, length, sentences) "
                "VALUES (?, ?, ?, ?, ?)",
                (
                    article.id,
                    passage.ordinal,
                    passage.start,
                    len(passage.text),
                    json.dumps(passage.sentences),
                ),
            )
            pid = int(cursor.lastrowid or 0)
            db.execute(
                "INSERT INTO passage_vectors (id, vector) VALUES (?, ?)",
                (pid, np.asarray(vector, np.float16).tobytes()),
            )
            db.execute(
                "INSERT INTO passages_fts (rowid, title, text) VALUES (?, ?, ?)",
                (pid, article.title, passage.text),
            )
            ids.append(pid)
        if sentence_vectors is not None:
            sentence_table.insert(db, article.id, passages, sentence_vectors)
        return ids

    @staticmethod
    def find_story(db: sqlite3.Connection, sig: Sequence[int], article_id: str, text: str) -> str:
        """The story an article belongs to: that of its most similar near-duplicate, else its own
        id. Candidates come through the LSH bands, so the cost does not grow with the archive;
        one whose estimate comes near the bar is measured exactly on its text (64 hashes can be
        off by 0.15 on a short article)."""
        keys = dedup.bands(sig)
        rows = db.execute(
            "SELECT DISTINCT s.article_id, s.signature, s.story FROM signature_bands b "
            f"JOIN signatures s ON s.article_id = b.article_id WHERE b.key IN "
            f"({','.join('?' * len(keys))}) AND b.article_id != ?",
            [*keys, article_id],
        ).fetchall()
        best, story = dedup.DUPLICATE_JACCARD, article_id
        shingles: set[int] | None = None
        for candidate, blob, candidate_story in rows:
            estimate = dedup.similarity(sig, np.frombuffer(blob, dtype=np.uint32).tolist())
            if estimate < dedup.DUPLICATE_JACCARD - dedup.ESTIMATE_MARGIN:
                continue
            found = db.execute("SELECT text FROM articles WHERE id = ?", (candidate,)).fetchone()
            if found is None:
                continue
            shingles = dedup.shingles(text) if shingles is None else shingles
            similarity = dedup.jaccard(shingles, dedup.shingles(found[0]))
            if similarity >= best:
                best, story = similarity, candidate_story
        return str(story)

    @staticmethod
    def insert_signature(
        db: sqlite3.Connection, article_id: str, sig: Sequence[int], story: str
    ) -> None:
        db.execute(
            "INSERT OR REPLACE INTO signatures VALUES (?, ?, ?)",
            (article_id, np.asarray(sig, dtype=np.uint32).tobytes(), story),
        )
        db.executemany(
            "INSERT INTO signature_bands VALUES (?, ?)",
            [(key, article_id) for key in dedup.bands(sig)],
        )

    def stories(self, article_ids: Iterable[str]) -> dict[str, str]:
        """The story of each article that has one (articles from before dedup have none)."""
        ids = list(article_ids)
        out: dict[str, str] = {}
        for i in range(0, len(ids), 500):
            chunk = ids[i : i + 500]
            marks = ",".join("?" * len(chunk))
            out.update(
                self.query(
                    f"SELECT article_id, story FROM signatures WHERE article_id IN ({marks})", chunk
                )
            )
        return out

    def story_members(self, stories: Iterable[str]) -> dict[str, list[ArticleInfo]]:
        """The articles of each story, oldest first."""
        keys = list(stories)
        out: dict[str, list[ArticleInfo]] = {k: [] for k in keys}
        for i in range(0, len(keys), 500):
            chunk = keys[i : i + 500]
            marks = ",".join("?" * len(chunk))
            rows = self.query(
                f"SELECT s.story, {_INFO_COLUMNS} FROM signatures s JOIN articles a "
                f"ON a.id = s.article_id WHERE s.story IN ({marks}) ORDER BY a.added, a.id",
                chunk,
            )
            for row in rows:
                out[row[0]].append(_info(row[1:8]))
        return out

    @staticmethod
    def insert_quotes(db: sqlite3.Connection, article_id: str, found: Sequence[Quote]) -> None:
        db.executemany(
            "INSERT INTO quotes (article_id, speaker, speaker_key, text, start, end, "
            "sentence_start, sentence_end, cue) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (article_id, q.speaker, speaker_key(q.speaker), q.text, q.start, q.end,
                 q.sentence_start, q.sentence_end, q.cue)
                for q in found
            ],
        )  # fmt: skip
        db.execute("INSERT OR IGNORE INTO quotes_done VALUES (?)", (article_id,))

    def speakers(self) -> list[tuple[str, int]]:
        """Every quoted speaker (fullest name seen) and how many quotes the archive holds."""
        rows = self.query(
            "SELECT max(speaker), count(*) FROM quotes GROUP BY speaker_key ORDER BY count(*) DESC"
        )
        return [(str(r[0]), int(r[1])) for r in rows]

    def quotes(self, speaker_keys: Sequence[str] | None = None) -> list[tuple[Quote, ArticleInfo]]:
        """Stored quotes, of some speakers (by `speaker_key`) or of all, in article order."""
        where, params = "1", list(speaker_keys or [])
        if speaker_keys is not None:
            where = f"q.speaker_key IN ({','.join('?' * len(params)) or 'NULL'})"
        rows = self.query(
            "SELECT q.article_id, q.speaker, q.text, q.start, q.end, q.sentence_start, "
            f"q.sentence_end, q.cue, {_INFO_COLUMNS} FROM quotes q "
            f"JOIN articles a ON a.id = q.article_id WHERE {where} ORDER BY a.added, q.start",
            params,
        )
        return [(Quote(*r[:8]), _info(r[8:15])) for r in rows]

    def articles_without_quotes(self) -> list[Article]:
        rows = self.query(
            "SELECT id, title, text, url, source, published, origin FROM articles "
            "WHERE id NOT IN (SELECT article_id FROM quotes_done) ORDER BY added, id"
        )
        return [Article(*r) for r in rows]

    def articles_without_signature(self) -> list[tuple[str, str]]:
        return [
            (r[0], r[1])
            for r in self.query(
                "SELECT id, text FROM articles WHERE id NOT IN (SELECT article_id FROM signatures)"
                " ORDER BY added, id"
            )
        ]

    def added_dates(self, ids: Iterable[str]) -> dict[str, str]:
        ids = list(ids)
        out: dict[str, str] = {}
        for i in range(0, len(ids), 500):
            chunk = ids[i : i + 500]
            marks = ",".join("?" * len(chunk))
            out.update(self.query(f"SELECT id, added FROM articles WHERE id IN ({marks})", chunk))
        return out

    # passages

    def passages(self, ids: Sequence[int]) -> dict[int, tuple[Passage, ArticleInfo]]:
        """Passages by id with their articles; missing ids are left out."""
        out: dict[int, tuple[Passage, ArticleInfo]] = {}
        for i in range(0, len(ids), 500):
            chunk = [int(x) for x in ids[i : i + 500]]
            marks = ",".join("?" * len(chunk))
            # SQLite slices the article's text: only the passage's becomes a Python string
            rows = self.query(
                f"SELECT p.id, p.article_id, p.ordinal, p.start, {PASSAGE_TEXT}, p.sentences, "
                f"{_INFO_COLUMNS} FROM passages p JOIN articles a ON a.id = p.article_id "
                f"WHERE p.id IN ({marks})",
                chunk,
            )
            for r, spans in zip(rows, _spans(r[5] for r in rows), strict=True):
                passage = Passage(
                    article_id=r[1], ordinal=r[2], text=r[4], start=r[3], sentences=spans, id=r[0]
                )
                out[int(r[0])] = (passage, _info(r[6:13]))
        return out

    def passage_articles(self, ids: Sequence[int]) -> dict[int, str]:
        """The article id of each passage (as `passages` reads them, without their text);
        missing ids are left out."""
        out: dict[int, str] = {}
        for i in range(0, len(ids), 500):
            chunk = [int(x) for x in ids[i : i + 500]]
            marks = ",".join("?" * len(chunk))
            out.update(
                self.query(
                    "SELECT p.id, p.article_id FROM passages p "
                    "JOIN articles a INDEXED BY articles_info ON a.id = p.article_id "
                    f"WHERE p.id IN ({marks})",
                    chunk,
                )
            )
        return out

    def article_passages(self, article_id: str) -> list[Passage]:
        return self.articles_passages([article_id]).get(article_id, [])

    def articles_passages(self, article_ids: Sequence[str]) -> dict[str, list[Passage]]:
        """Each article's passages in order, read in one query per 500 articles (an answer reads
        the whole articles of its hits); articles without passages are left out."""
        out: dict[str, list[Passage]] = {}
        ids = list(dict.fromkeys(article_ids))
        for i in range(0, len(ids), 500):
            chunk = ids[i : i + 500]
            marks = ",".join("?" * len(chunk))
            with self._one_state():  # the passages' places, then their articles' texts
                rows = self.query(
                    "SELECT id, article_id, ordinal, start, length, sentences FROM passages "
                    f"INDEXED BY passages_article WHERE article_id IN ({marks}) "
                    "ORDER BY article_id, ordinal",
                    chunk,
                )
                texts = dict(
                    self.query(f"SELECT id, text FROM articles WHERE id IN ({marks})", chunk)
                )
            for r, spans in zip(rows, _spans(r[5] for r in rows), strict=True):
                text = texts.get(r[1], "")[r[3] : r[3] + r[4]]
                passage = Passage(
                    article_id=r[1], ordinal=r[2], text=text, start=r[3], sentences=spans, id=r[0]
                )
                out.setdefault(r[1], []).append(passage)
        return out

    def embeddings(self, ids: Sequence[int], dimension: int) -> dict[int, NDArray[np.float32]]:
        out: dict[int, NDArray[np.float32]] = {}
        for i in range(0, len(ids), 500):
            chunk = [int(x) for x in ids[i : i + 500]]
            marks = ",".join("?" * len(chunk))
            for pid, blob in self.query(
                f"SELECT id, vector FROM passage_vectors WHERE id IN ({marks})", chunk
            ):
                out[int(pid)] = np.frombuffer(blob, np.float16, count=dimension).astype(np.float32)
        return out

    def sentence_vectors(
        self, ids: Sequence[int], dimension: int
    ) -> dict[int, NDArray[np.float32]]:
        """Stored per-sentence vectors by passage id; passages stored without them are left out."""
        with self._reading():
            return sentence_table.read(self._db, ids, dimension)

    def sentence_vectors_within(
        self, spans: Sequence[tuple[str, int, int]], dimension: int
    ) -> list[NDArray[np.float32]]:
        """Per (article id, start, end), the stored vectors of the sentences starting there."""
        with self._reading():
            return sentence_table.read_within(self._db, spans, dimension)

    @contextmanager
    def _reading(self) -> Iterator[None]:
        """Reads on the shared connection; a failure says whether the file is damaged."""
        with self._lock:
            try:
                yield
            except sqlite3.DatabaseError as e:
                if is_corruption(e):
                    raise damaged(self.path, e) from e
                raise IndexCorruptError(f"database {self.path} failed ({e})") from e

    def iter_embeddings(
        self, dimension: int, batch: int = 10_000
    ) -> Iterator[tuple[NDArray[np.int64], NDArray[np.float32]]]:
        """All stored (ids, vectors), in id order, a batch at a time."""
        last = -1
        while True:
            rows = self.query(
                "SELECT id, vector FROM passage_vectors WHERE id > ? ORDER BY id LIMIT ?",
                (last, batch),
            )
            if not rows:
                return
            ids = np.array([r[0] for r in rows], dtype=np.int64)
            vectors = np.frombuffer(b"".join(r[1] for r in rows), np.float16).astype(np.float32)
            yield ids, vectors.reshape(len(rows), dimension)
            last = int(ids[-1])

    def iter_vectors_with_sentences(
        self, dimension: int, batch: int = 5_000
    ) -> Iterator[tuple[NDArray[np.int64], NDArray[np.float32], list[NDArray[np.float32] | None]]]:
        """All stored (ids, vectors, sentence vectors or None), in id order, a batch at a time."""
        for ids, vectors in self.iter_embeddings(dimension, batch):
            with self._lock:
                found = sentence_table.read_range(self._db, int(ids[0]), int(ids[-1]), dimension)
            yield ids, vectors, [found.get(int(i)) for i in ids]

    @staticmethod
    def repair_vectors(
        db: sqlite3.Connection, passage_id: int, vector: NDArray[np.float32] | None, drop: bool
    ) -> None:
        """Store a passage's vector encoded again (when given); with `drop`, forget its damaged
        sentence vectors (an answer encodes them again when it needs them)."""
        if vector is not None:
            blob = np.asarray(vector, np.float16).tobytes()
            db.execute(
                "INSERT OR REPLACE INTO passage_vectors (id, vector) VALUES (?, ?)",
                (passage_id, blob),
            )
        if drop:
            sentence_table.delete_passage(db, passage_id)

    def passage_ids(self, filters: Filters) -> NDArray[np.int64]:
        where, params = filters.sql()
        rows = self.query(
            # the articles first (a few thousand), then their passages by the index on article_id
            "SELECT p.id FROM articles a INDEXED BY articles_info CROSS JOIN passages p "
            f"ON p.article_id = a.id WHERE {where}",
            params,
        )
        return np.array([r[0] for r in rows], dtype=np.int64)

    def bm25(
        self, expression: str, k: int, filters: Filters, weights: tuple[float, float]
    ) -> list[tuple[int, float]]:
        """Top-k (passage id, BM25 score) for an FTS5 expression; higher is better."""
        where, params = filters.sql()
        sql = (
            "SELECT f.rowid, -bm25(passages_fts, ?, ?) AS score FROM passages_fts f "
            "JOIN passages p ON p.id = f.rowid JOIN articles a ON a.id = p.article_id "
            f"WHERE passages_fts MATCH ? AND {where} ORDER BY score DESC LIMIT ?"
        )
        rows = self.query(sql, [weights[0], weights[1], expression, *params, k])
        return [(int(r[0]), float(r[1])) for r in rows]

    def bm25_of(
        self, expression: str, ids: Sequence[int], weights: tuple[float, float]
    ) -> list[tuple[int, float]]:
        """The BM25 scores of the given passages that match an FTS5 expression."""
        if not ids:
            return []
        marks = ",".join("?" * len(ids))
        rows = self.query(
            "SELECT rowid, -bm25(passages_fts, ?, ?) FROM passages_fts "
            f"WHERE passages_fts MATCH ? AND rowid IN ({marks})",
            [weights[0], weights[1], expression, *ids],
        )
        return [(int(r[0]), float(r[1])) for r in rows]

    def document_frequencies(self, terms: Sequence[str]) -> dict[str, int]:
        """How many passages contain each term, with the full-text tokenizer's stemming: read
        from FTS5's vocabulary, one lookup for all terms (a term of several tokens, a phrase,
        is counted by a query)."""
        tokens = self.fts_tokens(terms)
        single = {t: found[0] for t, found in tokens.items() if len(found) == 1}
        generation = self.generation()
        if self._frequencies[0] != generation:
            self._frequencies = (generation, {})
        counts = self._frequencies[1]  # fts5vocab counts a token's rows by reading them all
        for token in set(single.values()) - counts.keys():
            rows = self.query("SELECT doc FROM temp.passages_vocab WHERE term = ?", (token,))
            counts[token] = int(rows[0][0]) if rows else 0
        if len(counts) > 100_000:
            self._frequencies = (generation, {})
        out = {}
        for term in terms:
            if term in single:
                out[term] = int(counts.get(single[term], 0))
            elif not tokens[term]:
                out[term] = 0  # an FTS5 phrase of no tokens matches nothing
            else:
                out[term] = int(
                    self.query(
                        "SELECT count(*) FROM passages_fts WHERE passages_fts MATCH ?",
                        ('"' + term.replace('"', '""') + '"',),
                    )[0][0]
                )
        return out

    def _scratch(self) -> None:
        """The temporary tables that read FTS5's own tokens: the vocabulary of passages_fts, and
        a scratch FTS5 table with its tokenizer, and that table's token instances."""
        with self._lock:
            self._db.execute(
                "CREATE VIRTUAL TABLE IF NOT EXISTS temp.passages_vocab "
                "USING fts5vocab(main, passages_fts, row)"
            )
            self._db.execute(
                "CREATE VIRTUAL TABLE IF NOT EXISTS temp.scratch_fts "
                f"USING fts5(title, text, tokenize = '{TOKENIZE}')"
            )
            self._db.execute(
                "CREATE VIRTUAL TABLE IF NOT EXISTS temp.scratch_tokens "
                "USING fts5vocab(temp, scratch_fts, instance)"
            )

    def fts_tokens(self, texts: Sequence[str]) -> dict[str, tuple[str, ...]]:
        """Each text as the full-text index reads it: its tokens, in order (folded, stemmed)."""
        out = {t: self._tokens.get(t) for t in texts}
        missing = [t for t, tokens in out.items() if tokens is None]
        made = self._tokenize(missing) if missing else {}
        if made:
            if len(self._tokens) > 100_000:
                self._tokens = {}
            self._tokens.update(made)
        return {t: made[t] if tokens is None else tokens for t, tokens in out.items()}

    def _tokenize(self, unique: list[str]) -> dict[str, tuple[str, ...]]:
        found: dict[str, list[str]] = {t: [] for t in unique}
        with self._lock:
            self._scratch()
            self._db.executemany(
                "INSERT INTO temp.scratch_fts (rowid, text) VALUES (?, ?)", enumerate(unique)
            )
            rows = self._db.execute(
                "SELECT doc, term FROM temp.scratch_tokens ORDER BY doc, offset"
            ).fetchall()
            self._db.execute("DELETE FROM temp.scratch_fts")
        for doc, term in rows:
            found[unique[doc]].append(term)
        return {t: tuple(tokens) for t, tokens in found.items()}

    def fts_postings(self, ids: Sequence[int] | None = None) -> RawPostings:
        """The postings of some rows of passages_fts (all when `ids` is None): per token and row,
        how often it occurs in the title and in the text, as FTS5 counts them. Some rows are
        tokenized again in a scratch table; all rows are read from FTS5's own index."""
        with self._lock:
            self._scratch()
            if ids is None:
                indexed = self._db.execute("SELECT id FROM passages_fts_docsize ORDER BY id")
                rows = [r[0] for r in indexed]
                self._db.execute(
                    "CREATE VIRTUAL TABLE IF NOT EXISTS temp.passages_tokens "
                    "USING fts5vocab(main, passages_fts, instance)"
                )
                source = "temp.passages_tokens"
            else:
                rows = [int(i) for i in ids]
                for i in range(0, len(rows), 500):
                    chunk = rows[i : i + 500]
                    marks = ",".join("?" * len(chunk))
                    self._db.execute(
                        "INSERT INTO temp.scratch_fts (rowid, title, text) SELECT rowid, title, "
                        f"text FROM passages_fts WHERE rowid IN ({marks})",
                        chunk,
                    )
                source = "temp.scratch_tokens"
            try:
                return _raw_postings(
                    self._db.execute(
                        f"SELECT term, doc, col, count(*) FROM {source} GROUP BY term, doc, col"
                    ),
                    rows,
                )
            finally:
                if ids is not None:
                    self._db.execute("DELETE FROM temp.scratch_fts")

    def similar_terms(self, word: str, slack: int = 3) -> list[tuple[str, int]]:
        """Indexed terms (stemmed as the full-text index stores them) sharing the first three
        letters of `word`, at most `slack` letters shorter or 2 longer, with their passage
        counts: the candidates for a word form or a near-spelling the archive holds."""
        word = word.lower()
        if len(word) < 4:
            return []
        self._scratch()
        prefix = word[:3]
        rows = self.query(
            "SELECT term, doc FROM temp.passages_vocab WHERE term >= ? AND term < ?",
            (prefix, prefix + "\U0010ffff"),
        )
        low, high = len(word) - slack, len(word) + 2
        return [(str(t), int(n)) for t, n in rows if low <= len(str(t)) <= high]

    def integrity_problems(self) -> list[str]:
        """What SQLite's own checks and the FTS5 consistency check find wrong."""
        problems = [r[0] for r in self.query("PRAGMA integrity_check") if r[0] != "ok"]
        try:
            with self._lock:
                self._db.execute(
                    "INSERT INTO passages_fts(passages_fts) VALUES ('integrity-check')"
                )
        except sqlite3.DatabaseError as e:
            problems.append(f"full-text index: {e}")
        else:
            try:  # a plain check reads the index alone; this one tokenizes the text it indexes
                with self._lock:
                    self._db.execute(
                        "INSERT INTO passages_fts(passages_fts, rank) VALUES ('integrity-check', 1)"
                    )
            except sqlite3.DatabaseError as e:
                problems.append(f"full-text index: its words are not those of the passages ({e})")
        # the index's own list of rows (a scan of passages_fts reads the passages themselves)
        orphans, missing = self.query(
            "SELECT (SELECT count(*) FROM passages_fts_docsize WHERE id NOT IN "
            "(SELECT id FROM passages)), (SELECT count(*) FROM passages WHERE id NOT IN "
            "(SELECT id FROM passages_fts_docsize))"
        )[0]
        if orphans:
            problems.append(f"full-text index: {orphans} rows without a passage")
        if missing:
            problems.append(f"full-text index: {missing} passages not indexed")
        return problems
