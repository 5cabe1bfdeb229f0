"""Where an index directory's bytes go, per component, against the article text it holds.

    .venv/bin/python bench/bench_size.py --index DIR [--baseline DIR2] [--json]

The baseline is the article text itself (the sum of the stored articles' UTF-8 lengths), read from
the same database in the same run; every component is printed in MB and as a multiple of it.
SQLite's share is split by table (the `dbstat` virtual table: pages in use, plus the pages SQLite
holds free for reuse, which `newsqa index compact` gives back to the disk). With `--baseline`, a
second index (say, the same archive before a migration) is measured beside the first.

Opens the databases read-only (`mode=ro`): nothing is migrated or written.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
from pathlib import Path

MB = 1_000_000
# dbstat names (tables and their indexes) -> the component they belong to
COMPONENTS = {
    "passages": "passage rows (place, spans; text before schema 7, vector before 6)",
    "passages_article": "passage rows (place, spans; text before schema 7, vector before 6)",
    "passage_vectors": "passage vectors (float16, schema 6)",
    "sentence_vectors": "sentence vectors",
    "sqlite_autoindex_sentence_vectors_1": "sentence vectors",
    "articles": "articles (full text)",
    "articles_info": "articles (full text)",
    "articles_origin": "articles (full text)",
    "articles_published": "articles (full text)",
    "sqlite_autoindex_articles_1": "articles (full text)",
}


def measure(directory: Path) -> dict[str, object]:
    """Bytes per component of one index directory, and the article text they index."""
    db = sqlite3.connect(f"file:{directory / 'newsqa.sqlite'}?mode=ro", uri=True)
    try:
        text = int(db.execute("SELECT coalesce(sum(length(CAST(text AS BLOB))), 0) FROM articles")
                   .fetchone()[0])  # fmt: skip
        articles, passages = db.execute(
            "SELECT (SELECT count(*) FROM articles), (SELECT count(*) FROM passages)"
        ).fetchone()
        page_size = int(db.execute("PRAGMA page_size").fetchone()[0])
        free = int(db.execute("PRAGMA freelist_count").fetchone()[0]) * page_size
        parts: dict[str, int] = {}
        for name, size in db.execute("SELECT name, sum(pgsize) FROM dbstat GROUP BY name"):
            if name.startswith("passages_fts"):
                key = f"full-text index ({name})"
            else:
                key = COMPONENTS.get(name, "other tables (quotes, signatures, feeds, meta)")
            parts[key] = parts.get(key, 0) + int(size)
    finally:
        db.close()
    parts["SQLite free pages (reusable)"] = free
    for path in sorted(directory.iterdir()):
        if path.name.startswith(("vectors.", "lexical.")) and path.is_file():
            kind = "FAISS file" if path.name.startswith("vectors.") else "BM25 postings file"
            parts[f"{kind} {path.name}"] = path.stat().st_size
        elif path.name.startswith("newsqa.sqlite-wal"):
            parts["SQLite write-ahead log"] = path.stat().st_size
    total = sum(p.stat().st_size for p in directory.iterdir() if p.is_file())
    return {
        "index": str(directory),
        "articles": int(articles),
        "passages": int(passages),
        "article_text_bytes": text,
        "total_bytes": total,
        "parts": dict(sorted(parts.items(), key=lambda kv: -kv[1])),
    }


def report(found: dict[str, object]) -> str:
    text = int(found["article_text_bytes"])  # type: ignore[call-overload]
    total = int(found["total_bytes"])  # type: ignore[call-overload]
    parts: dict[str, int] = found["parts"]  # type: ignore[assignment]
    lines = [
        f"{found['index']}: {found['articles']} articles, {found['passages']} passages, "
        f"article text {text / MB:.1f} MB",
        f"  {'component':<58} {'MB':>8} {'x text':>7}",
    ]
    lines += [
        f"  {name:<58} {size / MB:8.1f} {size / max(text, 1):7.2f}" for name, size in parts.items()
    ]
    lines.append(f"  {'directory total':<58} {total / MB:8.1f} {total / max(text, 1):7.2f}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", type=Path, required=True)
    parser.add_argument("--baseline", type=Path, help="a second index to measure beside it")
    parser.add_argument("--json", action="store_true", help="one JSON object per index")
    args = parser.parse_args()
    for directory in [args.index, *([args.baseline] if args.baseline else [])]:
        found = measure(directory)
        print(json.dumps(found) if args.json else report(found))


if __name__ == "__main__":
    main()
