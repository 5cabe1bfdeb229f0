"""Recovering a damaged index: read what SQLite still can, rebuild a fresh database from it.

`salvage_index` copies the damaged database aside, reads it table by table (row by row where a
whole scan fails), adds every readable article to a new index (reusing stored vectors where all of
an article's passages survived, encoding again otherwise), swaps the new files in, and keeps the
damaged database beside them. `newsqa index rebuild` runs it when the database is damaged.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from corpus.split import SplitConfig
from corpus.types import Article, Passage
from index import sentence_vectors as sentence_table
from index.archive import DATABASE, Archive, locked, vectors_file
from index.encoder import Encoder
from index.errors import IndexCorruptError
from index.manifest import MANIFEST, Manifest, read_manifest, write_manifest
from index.store import Store, as_stored
from index.vectors import FLAT

if TYPE_CHECKING:
    from numpy.typing import NDArray


@dataclass
class SalvageReport:
    """What `salvage_index` saved from a damaged database, and what it could not."""

    articles: int  # saved
    reencoded: int  # of those, encoded again: their passages or vectors could not be read
    lost: list[str]  # what could not be saved, one line each
    kept: Path  # the damaged database, moved aside


def salvage_index(directory: Path, encoder_for: Callable[[str], Encoder]) -> SalvageReport:
    """Save what SQLite can still read of a damaged database into a fresh one, in place.

    Articles whose passages and vectors are all readable keep them; the others are split and
    encoded again (`encoder_for(model)` gives the encoder). The damaged file is kept beside
    the new one as `newsqa.sqlite.damaged-<time>`. Readers should be stopped first.
    """
    directory = Path(directory)
    database = directory / DATABASE
    if not database.exists():
        raise IndexCorruptError(
            f"database {database} is missing; restore the index directory from a backup"
        )
    work = directory / ".salvage"
    with locked(directory):
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir()
        try:
            copy = work / "damaged.sqlite"
            shutil.copyfile(database, copy)
            if (directory / f"{DATABASE}-wal").exists():  # commits not yet in the file
                shutil.copyfile(directory / f"{DATABASE}-wal", work / "damaged.sqlite-wal")
            try:
                old: Manifest | None = read_manifest(directory)
            except IndexCorruptError:
                old = None
            found = salvage(copy, old.dimension if old else None)
            model = found.meta.get("model") or (old.model if old else "")
            if not model:
                raise IndexCorruptError(
                    f"neither {database} nor {MANIFEST} names the embedding model; restore "
                    "the index directory from a backup"
                )
            split = json.loads(found.meta.get("split") or "{}") or (old.split if old else {})
            index_type = found.meta.get("index_type") or (old.index_type if old else FLAT)
            encoder = encoder_for(model)
            fresh = work / "new"
            with Archive.open(
                fresh, encoder, create=True, index_type=index_type, split=SplitConfig(**split)
            ) as archive:
                reencoded = archive.add_salvaged(found)
                generation = archive.generation
                _copy_desk_state(copy, archive.store)
            kept = _swap_in(directory, fresh, generation)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    held = old.articles if old is not None else None
    return SalvageReport(len(found.articles), reencoded, _losses(found, held), kept)


# Feeds and follows, and what the poller and the alerts remember (queued alerts name passage ids,
# which a salvage renumbers: they are not kept).
DESK_TABLES = ("feeds", "feed_items", "follows", "alerts_sent", "alerts_seen", "alerts_state")


def _copy_desk_state(damaged: Path, store: Store) -> None:
    """Copy the feed and follow tables' readable rows from the damaged database to the fresh one."""
    from index.feeds import FeedStore
    from index.follows import FollowStore

    FeedStore(store), FollowStore(store)  # their tables, in the fresh database
    db = sqlite3.connect(damaged)
    try:
        for table in DESK_TABLES:
            try:
                columns = [str(r[1]) for r in db.execute(f"PRAGMA table_info({table})")]
                rows, _ = _readable_rows(db, table, ", ".join(columns)) if columns else ([], 0)
                with store.transaction() as fresh:
                    fresh.executemany(
                        f"INSERT OR IGNORE INTO {table} ({', '.join(columns)}) "
                        f"VALUES ({', '.join('?' * len(columns))})",
                        [row[1:] for row in rows],
                    )
            except sqlite3.Error:
                continue  # unreadable, or from another version: the articles matter more
    finally:
        db.close()


@dataclass
class Salvaged:
    """What could still be read from a damaged database, table by table."""

    meta: dict[str, str]
    articles: list[tuple[Article, str, str]]  # (article, content hash, added)
    # by article: each passage with its vector and its sentences' vectors (None: not readable)
    passages: dict[str, list[tuple[Passage, NDArray[np.float32], NDArray[np.float32] | None]]]
    unreadable: dict[str, int]  # table -> rows (at most) that could not be read
    known: dict[str, str | None]  # every article id the indexes still list, with its origin
    traces: dict[str, str] = field(default_factory=dict)  # ids other tables name -> title or ""
    titles: set[str] = field(default_factory=set)  # titles in the full-text index, id unknown


def _pages(columns: Sequence[Any]) -> tuple[int, ...]:
    """The page starts of a salvaged article, if its row has them and they still parse."""
    try:
        pages = json.loads(columns[0]) if columns and columns[0] else []
        return tuple(int(x) for x in pages)
    except (TypeError, ValueError):
        return ()


def _readable_rows(
    db: sqlite3.Connection, table: str, columns: str, give_up_after: int = 10_000
) -> tuple[list[tuple[Any, ...]], int]:
    """The rows of `table` SQLite can still read, and how many row ids failed (an upper bound:
    ids in a damaged page may have been gaps). A whole scan first; if it fails, row by row."""
    sql = f"SELECT rowid, {columns} FROM {table}"
    try:
        return db.execute(f"{sql} ORDER BY rowid").fetchall(), 0
    except sqlite3.DatabaseError:
        pass
    try:
        top: int | None = int(db.execute(f"SELECT max(rowid) FROM {table}").fetchone()[0] or 0)
    except sqlite3.DatabaseError:
        top = None  # probe until a long run of ids holds nothing
    rows: list[tuple[Any, ...]] = []
    failed = misses = rowid = 0
    while (rowid < top) if top is not None else (misses < give_up_after):
        rowid += 1
        try:
            row = db.execute(f"{sql} WHERE rowid = ?", (rowid,)).fetchone()
        except sqlite3.DatabaseError:
            failed += 1
            misses += 1
            continue
        if row is None:
            misses += 1
        else:
            rows.append(row)
            misses = 0
    if top is None:
        failed = max(0, failed - misses)  # trailing failures were past the end
    return rows, failed


def fit_header_to_file(path: Path) -> None:
    """Make a truncated database's header claim only the pages the file still has: SQLite
    refuses every lookup in a file shorter than its header says, even in the pages still there."""
    with path.open("r+b") as f:
        header = f.read(100)
        if len(header) < 100 or not header.startswith(b"SQLite format 3\x00"):
            return
        page_size = int.from_bytes(header[16:18], "big")
        page_size = 65536 if page_size == 1 else page_size
        if page_size < 512:
            return
        pages = path.stat().st_size // page_size
        if int.from_bytes(header[28:32], "big") > pages:
            f.truncate(pages * page_size)
            f.seek(28)
            f.write(pages.to_bytes(4, "big"))


def salvage(path: Path, dimension_hint: int | None = None) -> Salvaged:
    """Read what is readable of a damaged index database (a copy: its header may be rewritten),
    skipping what SQLite cannot read."""
    fit_header_to_file(path)
    try:
        db = sqlite3.connect(path, isolation_level=None)
        db.execute("PRAGMA query_only = ON")
        db.execute("SELECT count(*) FROM sqlite_schema").fetchone()
    except sqlite3.Error as e:
        raise IndexCorruptError(
            f"database {path} cannot be read at all ({e}); restore the index directory from a "
            "backup"
        ) from e
    unreadable: dict[str, int] = {}
    try:
        try:
            meta_rows, unreadable["meta"] = _readable_rows(db, "meta", "key, value")
        except sqlite3.DatabaseError:
            meta_rows = []
        meta = {str(k): str(v) for _, k, v in meta_rows if isinstance(k, str)}
        dimension = int(meta.get("dimension") or dimension_hint or 0)
        columns = "id, title, text, url, source, published, origin, content_hash, added"
        with contextlib.suppress(sqlite3.DatabaseError):  # schema 3 keeps a PDF's page starts
            if "pages" in {r[1] for r in db.execute("PRAGMA table_info(articles)")}:
                columns += ", pages"
        try:
            rows, unreadable["articles"] = _readable_rows(db, "articles", columns)
        except sqlite3.DatabaseError as e:
            raise IndexCorruptError(f"database {path}: no article can be read ({e})") from e
        articles = [
            (
                Article(r[1], r[2], r[3], r[4], r[5], r[6], r[7], _pages(r[10:])),
                str(r[8] or ""),
                str(r[9] or ""),
            )
            for r in rows
            if all(isinstance(x, str) for x in (r[1], r[2], r[3], r[7]))
        ]
        known: dict[str, str | None] = {}
        with contextlib.suppress(sqlite3.DatabaseError):  # the indexes may outlive the table
            ids = db.execute(
                "SELECT rowid, id FROM articles INDEXED BY sqlite_autoindex_articles_1"
            ).fetchall()
            origins: dict[int, str] = {}
            with contextlib.suppress(sqlite3.DatabaseError):
                origins = dict(
                    db.execute("SELECT rowid, origin FROM articles INDEXED BY articles_origin")
                )
            known = {str(i): origins.get(r) for r, i in ids}
        passages: dict[str, list[tuple[Passage, NDArray[np.float32], NDArray[np.float32] | None]]]
        passages = {}
        columns = "article_id, ordinal, start, text, sentences"
        with contextlib.suppress(sqlite3.DatabaseError):
            old = {r[1] for r in db.execute("PRAGMA table_info(passages)")}
            if "text" not in old:  # schema 7: the passage's length, its text is its article's
                columns = "article_id, ordinal, start, length, sentences"
            # before schema 6 the passage's float32 vector was in its row; before 4, its
            # sentences' float16 vectors too
            columns += ", embedding" if "embedding" in old else ", NULL"
            columns += ", sentence_vectors" if "sentence_vectors" in old else ""
        try:
            rows, unreadable["passages"] = _readable_rows(db, "passages", columns)
        except sqlite3.DatabaseError:
            rows = []
        traces, titles = _traces(db, rows)
        sentences = _sentence_rows(db, dimension)
        vectors = _passage_vectors(db, dimension)
        texts = {article.id: article.text for article, _, _ in articles}
        for r in rows:
            try:
                spans = tuple((int(a), int(b)) for a, b in json.loads(r[5]))
                start, text = int(r[3]), r[4]
                if isinstance(text, int):  # schema 7
                    text = texts.get(str(r[1]), "")[start : start + text]
                passage = Passage(str(r[1]), int(r[2]), str(text), start, spans, id=int(r[0]))
            except (TypeError, ValueError):
                continue
            if isinstance(r[6], bytes) and len(r[6]) == 4 * dimension:
                vector = as_stored(np.frombuffer(r[6], np.float32))
            elif passage.id in vectors:
                vector = vectors[passage.id]
            else:
                continue
            found = _passage_sentences(passage, r[7:], sentences, dimension)
            passages.setdefault(passage.article_id, []).append((passage, vector, found))
    finally:
        db.close()
    if not articles and (known or unreadable.get("articles")):
        raise IndexCorruptError(
            f"database {path}: no article can be read; restore the index directory from a backup"
        )
    unread = {k: v for k, v in unreadable.items() if v}
    return Salvaged(meta, articles, passages, unread, known, traces, titles)


def _passage_vectors(db: sqlite3.Connection, dimension: int) -> dict[int, NDArray[np.float32]]:
    """The readable rows of the passage vector table (schema 6), by passage id."""
    with contextlib.suppress(sqlite3.DatabaseError):
        rows, _ = _readable_rows(db, "passage_vectors", "vector")
        return {
            int(pid): np.frombuffer(v, np.float16).astype(np.float32)
            for pid, v in rows
            if isinstance(v, bytes) and len(v) == 2 * dimension
        }
    return {}


def _sentence_rows(db: sqlite3.Connection, dimension: int) -> dict[tuple[str, int], bytes]:
    """The readable rows of the sentence vector table (schema 4), by (article, start)."""
    with contextlib.suppress(sqlite3.DatabaseError):
        rows, _ = _readable_rows(db, "sentence_vectors", "article_id, start, vector")
        return {
            (str(a), int(s)): v
            for _, a, s, v in rows
            if isinstance(v, bytes) and len(v) == 4 + dimension and isinstance(s, int)
        }
    return {}


def _passage_sentences(
    passage: Passage,
    blob: Sequence[Any],
    sentences: dict[tuple[str, int], bytes],
    dimension: int,
) -> NDArray[np.float32] | None:
    """A salvaged passage's sentence vectors: from its own float16 blob (schema 2-3) or the
    sentence table; None unless every sentence's is readable."""
    if blob and isinstance(blob[0], bytes):
        if len(blob[0]) != 2 * dimension * len(passage.sentences):
            return None
        return np.frombuffer(blob[0], np.float16).reshape(-1, dimension).astype(np.float32)
    keys = [(passage.article_id, passage.start + s) for s, _ in passage.sentences]
    if not keys or any(key not in sentences for key in keys):
        return None
    return sentence_table.decode_rows([sentences[key] for key in keys], dimension)


def _traces(
    db: sqlite3.Connection, passage_rows: list[tuple[Any, ...]]
) -> tuple[dict[str, str], set[str]]:
    """What other tables still tell of articles: ids (from passages, quotes, near-duplicate
    signatures) with their titles where the full-text index has them, and titles alone."""
    by_passage = {int(r[0]): str(r[1]) for r in passage_rows}
    traces = dict.fromkeys(by_passage.values(), "")
    for table in ("quotes", "quotes_done", "signatures", "signature_bands"):
        with contextlib.suppress(sqlite3.DatabaseError):
            rows, _ = _readable_rows(db, table, "article_id")
            traces.update(
                (str(r[1]), "") for r in rows if r[1] is not None and str(r[1]) not in traces
            )
    titles: set[str] = set()
    with contextlib.suppress(sqlite3.DatabaseError):  # schema 4 and older: FTS5's copy of titles
        rows, _ = _readable_rows(db, "passages_fts_content", "c0")
        for rowid, title in rows:
            if not isinstance(title, str):
                continue
            article_id = by_passage.get(int(rowid))
            if article_id is not None:
                traces[article_id] = title
            else:
                titles.add(title)
    with contextlib.suppress(sqlite3.DatabaseError):  # the covering index of articles' metadata
        for article_id, title in db.execute(
            "SELECT id, title FROM articles INDEXED BY articles_info"
        ):
            if isinstance(article_id, str) and isinstance(title, str):
                traces[article_id] = title
    return traces, titles


def database_problem(path: Path) -> str | None:
    """What SQLite finds wrong with an index database, or None when its own checks pass."""
    try:
        store = Store(path)
    except IndexCorruptError as e:
        return str(e)
    try:
        rows = store.query("PRAGMA integrity_check")
    except IndexCorruptError as e:
        return str(e)
    finally:
        store.close()
    problems = [str(r[0]) for r in rows if r[0] != "ok"]
    return "; ".join(problems[:3]) if problems else None


def _losses(found: Salvaged, held: int | None) -> list[str]:
    """Every article a salvage could not save, one line each, named by whatever survives of it
    (its id from an index or another table, its origin, its title in the full-text index); then
    how many nothing names, counted from the manifest (`held`), or that this cannot be known."""
    saved = {article.id for article, _, _ in found.articles}
    saved_titles = {article.title for article, _, _ in found.articles}
    lines: list[str] = []
    hints: list[str] = []  # not counted: they may name an article twice
    ids = (set(found.known) | set(found.traces) | set(found.passages)) - saved
    for article_id in sorted(ids):
        title = found.traces.get(article_id, "")
        origin = found.known.get(article_id)
        named = f"article {article_id}" + (f" ({title!r})" if title else "")
        again = f"; add it again from {origin}" if origin else ""
        lines.append(f"{named} could not be read{again}")
    titled = {found.traces.get(i, "") for i in ids}
    untitled = "" in titled  # a title alone may then belong to an article named by id above
    for title in sorted(found.titles - saved_titles - titled):
        if untitled:
            hints.append(f"an article titled {title!r} could not be read (it may be one of the "
                         "articles named by id)")  # fmt: skip
        else:
            lines.append(f"an article titled {title!r} could not be read")
    lost = len(lines)
    if held is not None:
        lost = max(held - len(saved), len(lines))
        if lost > len(lines):
            unnamed = lost - len(lines)
            maybe = " for certain (the titles below may name some)" if hints else ""
            lines.append(
                f"{unnamed} more article{'s' * (unnamed != 1)} could not be read, and nothing "
                f"left names them{maybe}; add them again from their files or links"
            )
    elif found.unreadable:
        lines.append(
            "more articles may be lost: the manifest, which counts them, is unreadable too, "
            "so how many cannot be known"
        )
    if lines or hints:
        total = f" of the {held}" if held is not None else ""
        lines.insert(0, f"{lost} article{'s' * (lost != 1)}{total} the index held could not "
                        "be saved:")  # fmt: skip
    return lines + hints


def _swap_in(directory: Path, fresh: Path, generation: int) -> Path:
    """Move a salvaged index from `fresh` into `directory`; returns where the damaged database
    went. The new FAISS file gets a generation above every old one, so nothing is overwritten."""
    database = directory / DATABASE
    old_vectors = list(directory.glob("vectors.*.faiss*"))
    numbers = [int(p.name.split(".")[1]) for p in old_vectors if p.name.split(".")[1].isdigit()]
    target = max([generation, *(n + 1 for n in numbers)])
    store = Store(fresh / DATABASE)
    with store.transaction() as db:
        Store.set_meta(db, "generation", str(target))
    store.close()
    manifest = read_manifest(fresh)
    os.replace(fresh / vectors_file(generation), directory / vectors_file(target))
    kept = directory / f"{DATABASE}.damaged-{datetime.now(UTC):%Y%m%dT%H%M%S}"
    try:
        os.link(database, kept)
    except OSError:
        shutil.copyfile(database, kept)
    # the old write-ahead log belongs to the damaged file: SQLite must not replay it on the new one
    if (directory / f"{DATABASE}-wal").exists():
        os.replace(directory / f"{DATABASE}-wal", directory / f"{kept.name}-wal")
    (directory / f"{DATABASE}-shm").unlink(missing_ok=True)
    os.replace(fresh / DATABASE, database)
    write_manifest(directory, Manifest(**{**asdict(manifest), "generation": target}))
    for path in old_vectors:
        path.unlink(missing_ok=True)
    return kept
