"""Run a real ingest in this process and SIGKILL it at a chosen point of the write path.

    python -m tests.crash_harness INDEX_DIR BATCHES [--crash POINT:N[:after]] [--go FILE]

Adds the articles of `BATCHES` (a JSON list of lists of article dicts) to the index with the
fake encoder, one `Archive.add` per batch, through the production code, unmodified. Before that,
`--crash` wraps one function of the write path (POINTS) so that its Nth call kills this process
with SIGKILL, before the call or, with `:after`, right after it returns: no `finally`, no
`atexit`, no flushing, as in a power cut of the process. Prints "ready" once the index is open
(so a parent can kill it from outside at a random moment of the write), and "done" at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sqlite3
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from corpus.types import Article  # noqa: E402
from index import Archive  # noqa: E402
from tests.fakes import HashEncoder  # noqa: E402

# SQL statements the wrapped sqlite3 connection counts, by the point name that selects them
SQL_POINTS = {
    "sql-begin": "BEGIN IMMEDIATE",
    "sql-commit": "COMMIT",
    "sql-insert-article": "INSERT INTO articles",
    "sql-insert-passage": "INSERT INTO passages (",
    "sql-insert-fts": "INSERT INTO passages_fts",
    "sql-delete-passages": "DELETE FROM passages WHERE",
    "sql-set-meta": "INSERT OR REPLACE INTO meta",
    "sql-insert-sentences": "INSERT OR REPLACE INTO sentence_vectors",
}
# Statements only a schema migration runs, when the index is opened (tests/test_sentence_vectors.py)
MIGRATION_POINTS = {
    "sql-migrate-sentences": "INSERT OR IGNORE INTO sentence_vectors",
    "sql-drop-column": "ALTER TABLE passages DROP COLUMN",  # sentence_vectors, embedding, text
    "sql-drop-fts": "DROP TABLE IF EXISTS passages_fts",
    "sql-rebuild-fts": "INSERT INTO passages_fts(passages_fts) VALUES ('rebuild')",
    "sql-migrate-vectors": "INSERT OR REPLACE INTO passage_vectors",
    "sql-passage-lengths": "UPDATE passages SET length",
}
FUNCTION_POINTS = (
    "os.replace",
    "os.fsync",
    "faiss.write_index",
    "write_manifest",
    "Store.insert_article",
    "Store.insert_quotes",
    "VectorIndex.save",
    "Postings.save",
    "Path.unlink",
    "encode_documents",
)
POINTS = (*SQL_POINTS, *FUNCTION_POINTS)


def die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def killing(real: Callable[..., Any], n: int, after: bool) -> Callable[..., Any]:
    """`real`, except that its nth call kills the process (before it runs, or just after)."""
    calls = 0

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == n and not after:
            die()
        result = real(*args, **kwargs)
        if calls == n and after:
            die()
        return result

    return wrapper


def install(point: str, n: int, after: bool) -> None:
    """Wrap the function named by `point` so that its nth call is the last thing this does."""
    if point in SQL_POINTS or point in MIGRATION_POINTS:
        prefix = {**SQL_POINTS, **MIGRATION_POINTS}[point]
        calls = 0

        def counted(run: Callable[..., sqlite3.Cursor], sql: str, *args: Any) -> sqlite3.Cursor:
            """Run one statement, dying before or after the n-th that starts with `prefix`."""
            nonlocal calls
            hit = sql.lstrip().startswith(prefix)
            if hit:
                calls += 1
                if calls == n and not after:
                    die()
            cursor = run(sql, *args)
            if hit and calls == n and after:
                die()
            return cursor

        class KillingConnection(sqlite3.Connection):
            def execute(self, sql: str, *args: Any) -> sqlite3.Cursor:  # type: ignore[override]
                return counted(super().execute, sql, *args)

            def executemany(self, sql: str, *args: Any) -> sqlite3.Cursor:  # type: ignore[override]
                return counted(super().executemany, sql, *args)

        real_connect = sqlite3.connect

        def connect(*args: Any, **kwargs: Any) -> sqlite3.Connection:
            return real_connect(*args, factory=KillingConnection, **kwargs)

        sqlite3.connect = connect  # type: ignore[assignment]
        return
    if point == "os.replace":
        os.replace = killing(os.replace, n, after)
    elif point == "os.fsync":
        os.fsync = killing(os.fsync, n, after)
    elif point == "faiss.write_index":
        import faiss

        faiss.write_index = killing(faiss.write_index, n, after)
    elif point == "write_manifest":
        import index.archive

        index.archive.write_manifest = killing(  # type: ignore[assignment]
            index.archive.write_manifest, n, after
        )
    elif point == "Store.insert_article":
        from index.store import Store

        Store.insert_article = staticmethod(  # type: ignore[method-assign]
            killing(Store.insert_article, n, after)
        )
    elif point == "Store.insert_quotes":
        from index.store import Store

        Store.insert_quotes = staticmethod(  # type: ignore[method-assign]
            killing(Store.insert_quotes, n, after)
        )
    elif point == "VectorIndex.save":
        from index.vectors import VectorIndex

        VectorIndex.save = killing(VectorIndex.save, n, after)  # type: ignore[method-assign]
    elif point == "Postings.save":
        from index.postings import Postings

        Postings.save = killing(Postings.save, n, after)  # type: ignore[method-assign]
    elif point == "Path.unlink":
        Path.unlink = killing(Path.unlink, n, after)  # type: ignore[method-assign]
    elif point == "encode_documents":
        HashEncoder.encode_documents = killing(  # type: ignore[method-assign]
            HashEncoder.encode_documents, n, after
        )
    else:
        known = ", ".join([*POINTS, *MIGRATION_POINTS])
        raise SystemExit(f"unknown crash point {point!r}; choose from {known}")


def articles(batch: list[dict[str, str]]) -> list[Article]:
    return [Article(**fields) for fields in batch]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("index", type=Path)
    parser.add_argument("batches", help="a JSON list of batches, each a list of article dicts")
    parser.add_argument("--crash", metavar="POINT:N[:after]")
    parser.add_argument("--go", type=Path, metavar="FILE", help="open the index once FILE exists")
    args = parser.parse_args(argv)
    batches = json.loads(args.batches)
    if args.crash:
        point, n, *when = args.crash.split(":")
        install(point, int(n), after=when == ["after"])
    if args.go:  # several harnesses released at once, to race each other
        print("waiting", flush=True)
        while not args.go.exists():
            time.sleep(0.001)
    with Archive.open(args.index, HashEncoder(), create=True) as archive:
        print("ready", flush=True)
        for batch in batches:
            archive.add(articles(batch))
    print("done", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
