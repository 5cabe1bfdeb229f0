"""Sentence vectors in SQLite: each distinct sentence of an article stored once, as int8.

Passages overlap (6 sentences, 3 shared with the next), so vectors stored per passage hold most
sentences two or three times. Here a sentence is a row keyed by its article and its absolute start
in the article text, and a passage finds its sentences' rows from its own start and sentence spans.
A vector is stored as its float32 scale followed by int8 codes (vector ~= codes * scale, the scale
being the largest component / 127): 388 bytes for 384 dimensions, against 768 as float16. The
scale is kept in the blob, not a REAL column, so a damaged (NaN) vector stays visible to
`index check` instead of becoming NULL.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

import numpy as np

from corpus.types import Passage

if TYPE_CHECKING:
    from numpy.typing import NDArray

SCHEMA = """
CREATE TABLE IF NOT EXISTS sentence_vectors (
    article_id TEXT NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
    start INTEGER NOT NULL,
    vector BLOB NOT NULL,
    PRIMARY KEY (article_id, start)
) WITHOUT ROWID
"""
_SCALE = np.dtype("<f4")
# (passage id, its start, its sentence spans, a sentence's start, its stored vector) for the
# passages `{where}` picks: each passage is one range of the primary key (its article, starts
# within its text). CROSS JOIN keeps that order.
_OF_PASSAGES = """
SELECT p.id, p.start, p.sentences, s.start, s.vector
FROM passages p CROSS JOIN sentence_vectors s ON s.article_id = p.article_id
    AND s.start >= p.start AND s.start < p.start + p.length
WHERE {where}
"""


def encode_rows(vectors: NDArray[np.float32]) -> list[bytes]:
    """Each row as stored: its float32 scale, then its int8 codes. A row that is not finite keeps
    a NaN scale, so reading it back shows the damage."""
    vectors = np.asarray(vectors, np.float32)
    finite = np.asarray(np.isfinite(vectors).all(axis=1), dtype=bool)
    clean = np.where(finite[:, None], vectors, 0.0)
    peak = np.abs(clean).max(axis=1) if clean.size else np.zeros(len(clean), np.float32)
    scales = np.where(peak > 0, peak / 127.0, 1.0).astype(_SCALE)
    codes = np.clip(np.rint(clean / scales[:, None]), -127, 127).astype(np.int8)
    scales[~finite] = np.nan
    return [scale.tobytes() + row.tobytes() for scale, row in zip(scales, codes, strict=True)]


def decode_rows(blobs: Sequence[bytes], dimension: int) -> NDArray[np.float32]:
    """The (rows x dimension) float32 vectors of stored rows."""
    if not blobs:
        return np.zeros((0, dimension), np.float32)
    raw = np.frombuffer(b"".join(blobs), np.uint8).reshape(len(blobs), 4 + dimension)
    scales = np.ascontiguousarray(raw[:, :4]).view(_SCALE)
    return np.ascontiguousarray(raw[:, 4:]).view(np.int8).astype(np.float32) * scales


def insert(
    db: sqlite3.Connection,
    article_id: str,
    passages: Sequence[Passage],
    vectors: Sequence[NDArray[np.float32]],
) -> None:
    """Store the sentences of an article's passages, one (sentences x dimension) array per
    passage; a sentence shared by two passages is stored once."""
    starts: dict[int, NDArray[np.float32]] = {}
    for passage, rows in zip(passages, vectors, strict=True):
        for (s, _), vector in zip(passage.sentences, rows, strict=True):
            starts.setdefault(passage.start + s, vector)
    if starts:
        blobs = encode_rows(np.stack(list(starts.values())))
        db.executemany(
            "INSERT OR REPLACE INTO sentence_vectors (article_id, start, vector) VALUES (?, ?, ?)",
            [(article_id, start, blob) for start, blob in zip(starts, blobs, strict=True)],
        )


def delete_articles(db: sqlite3.Connection, article_ids: Sequence[str]) -> None:
    for i in range(0, len(article_ids), 500):
        chunk = list(article_ids[i : i + 500])
        marks = ",".join("?" * len(chunk))
        db.execute(f"DELETE FROM sentence_vectors WHERE article_id IN ({marks})", chunk)


def delete_passage(db: sqlite3.Connection, passage_id: int) -> None:
    """Forget the sentence vectors of one passage (an answer encodes them again if needed)."""
    db.execute(
        "DELETE FROM sentence_vectors WHERE (article_id, start) IN (SELECT p.article_id, "
        "p.start + json_extract(j.value, '$[0]') FROM passages p, json_each(p.sentences) j "
        "WHERE p.id = ?)",
        (passage_id,),
    )


def of_passages(
    rows: Iterable[tuple[int, int, str, int, bytes]], dimension: int
) -> dict[int, NDArray[np.float32]]:
    """Per passage id, its (sentences x dimension) vectors, from `_OF_PASSAGES` rows; a passage
    missing any sentence's vector is left out (its sentences are encoded when needed)."""
    found: dict[int, tuple[int, str, dict[int, bytes]]] = {}
    for pid, start, spans, sentence_start, blob in rows:
        found.setdefault(pid, (start, spans, {}))[2][sentence_start] = blob
    picked: list[tuple[int, int]] = []  # (passage id, its sentence count)
    blobs: list[bytes] = []
    for (pid, (start, _, stored)), spans in zip(
        found.items(), json.loads(f"[{','.join(f[1] for f in found.values())}]"), strict=True
    ):
        wanted = [stored.get(start + s) for s, _ in spans]
        if all(blob is not None for blob in wanted):
            picked.append((pid, len(wanted)))
            blobs += wanted  # type: ignore[arg-type]
    vectors = decode_rows(blobs, dimension)
    out: dict[int, NDArray[np.float32]] = {}
    row = 0
    for pid, count in picked:
        out[pid] = vectors[row : row + count]
        row += count
    return out


def read_within(
    db: sqlite3.Connection, spans: Sequence[tuple[str, int, int]], dimension: int
) -> list[NDArray[np.float32]]:
    """For each (article id, start, end), the stored vectors of the sentences that start within
    that stretch of the article's text, in text order ((0 x dimension) when none is stored)."""
    found: list[list[bytes]] = [[] for _ in spans]
    for i in range(0, len(spans), 300):
        chunk = spans[i : i + 300]
        rows = ",".join("(?, ?, ?, ?)" for _ in chunk)
        params = [value for n, span in enumerate(chunk, start=i) for value in (n, *span)]
        for row, blob in db.execute(  # each span one range of the primary key
            f"WITH k(n, a, lo, hi) AS (VALUES {rows}) SELECT k.n, v.vector FROM k "
            "JOIN sentence_vectors v ON v.article_id = k.a AND v.start >= k.lo "
            "AND v.start < k.hi ORDER BY k.n, v.start",
            params,
        ):
            found[row].append(blob)
    return [decode_rows(blobs, dimension) for blobs in found]


def read(
    db: sqlite3.Connection, ids: Sequence[int], dimension: int
) -> dict[int, NDArray[np.float32]]:
    """Stored sentence vectors by passage id; passages stored without them are left out."""
    out: dict[int, NDArray[np.float32]] = {}
    for i in range(0, len(ids), 500):
        chunk = [int(x) for x in ids[i : i + 500]]
        where = f"p.id IN ({','.join('?' * len(chunk))})"
        out.update(of_passages(db.execute(_OF_PASSAGES.format(where=where), chunk), dimension))
    return out


def read_range(
    db: sqlite3.Connection, first: int, last: int, dimension: int
) -> dict[int, NDArray[np.float32]]:
    """Stored sentence vectors of the passages with ids in [first, last]."""
    sql = _OF_PASSAGES.format(where="p.id BETWEEN ? AND ?")
    return of_passages(db.execute(sql, (first, last)), dimension)


def migrate_passage_blobs(db: sqlite3.Connection, dimension: int, batch: int = 256) -> int:
    """Move schema 3's per-passage float16 sentence vectors (`passages.sentence_vectors`) into
    this table, converting them (nothing is encoded again), then drop that column; returns how
    many sentences were stored. Runs inside the caller's transaction."""
    cursor = db.execute(
        "SELECT article_id, start, sentences, sentence_vectors FROM passages "
        "WHERE sentence_vectors IS NOT NULL ORDER BY id"
    )
    stored = 0
    while rows := cursor.fetchmany(batch):
        keys: dict[tuple[str, int], NDArray[np.float16]] = {}
        for article_id, start, spans_json, blob in rows:
            spans = _spans(spans_json)
            if len(blob) != 2 * dimension * len(spans):
                continue  # damaged or of another dimension: encoded when an answer needs it
            vectors = np.frombuffer(blob, np.float16).reshape(-1, dimension)
            for (s, _), vector in zip(spans, vectors, strict=True):
                keys.setdefault((str(article_id), int(start) + s), vector)
        if keys:
            blobs = encode_rows(np.stack(list(keys.values())).astype(np.float32))
            db.executemany(
                "INSERT OR IGNORE INTO sentence_vectors (article_id, start, vector) "
                "VALUES (?, ?, ?)",
                [(a, s, blob) for (a, s), blob in zip(keys, blobs, strict=True)],
            )
            stored += len(keys)
    db.execute("ALTER TABLE passages DROP COLUMN sentence_vectors")
    return stored


def _spans(stored: str) -> list[tuple[int, int]]:
    return [(int(s), int(e)) for s, e in json.loads(stored)]
