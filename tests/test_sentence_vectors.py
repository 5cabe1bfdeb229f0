"""Sentence vectors stored once per distinct sentence, as int8, and the migration of schema 3's
float16 vectors per passage: converted without encoding, and whole or not at all when killed."""

from __future__ import annotations

import random
import shutil
import signal
import sqlite3
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from bot.cli import main
from corpus.split import split_passages
from corpus.types import Article, Passage
from index import Archive
from index import sentence_vectors as sentence_table
from index.archive import DATABASE
from index.errors import IndexCorruptError, IndexLockedError
from index.recovery import salvage_index
from index.store import PASSAGE_TEXT_6, SCHEMA_VERSION, SOURCE_VIEW, TOKENIZE, Filters, Store
from tests.fakes import HashEncoder, RandomEncoder

REPO = Path(__file__).resolve().parent.parent
HARNESS = REPO / "tests" / "crash_harness.py"
WORDS = "harbour minister sanctions oil tariff glass furnace ferry council bridge envoy bank"


def make(n: int) -> Article:
    rng, words = random.Random(n), WORDS.split()
    text = " ".join(
        f"Report {n} says the {rng.choice(words)} and the {rng.choice(words)} moved in week {i}."
        for i in range(14)
    )
    return Article(id=f"a{n:03d}", title=f"Story {n}", text=text, origin=f"test:{n}")


ARTICLES = [make(n) for n in range(12)]


def build(directory: Path, encoder: HashEncoder, articles: int = len(ARTICLES)) -> None:
    with Archive.open(directory, encoder, create=True) as archive:
        archive.add(ARTICLES if articles <= len(ARTICLES) else [make(n) for n in range(articles)])


def all_sentences(archive: Archive) -> tuple[list[tuple[int, int]], list[str]]:
    """Every (passage id, sentence number) of the archive, with the sentence's text."""
    refs, texts = [], []
    for item in archive.articles():
        for passage in archive.store.article_passages(item.info.id):
            for n, (s, e) in enumerate(passage.sentences):
                refs.append((passage.id or 0, n))
                texts.append(passage.text[s:e])
    return refs, texts


def to_schema_3(directory: Path, dimension: int) -> dict[int, bytes]:
    """Rewrite a database of the current schema as schema 3 stored it (float32 passage vectors
    and float16 sentence vectors in each passage's row, every shared sentence again; a
    full-text index with its own copy of the text); returns the sentence blobs by passage id."""
    store = Store(directory / DATABASE)
    ids = [r[0] for r in store.query("SELECT id FROM passages ORDER BY id")]
    vectors = store.sentence_vectors(ids, dimension)
    passage_vectors = store.embeddings(ids, dimension)
    store.close()
    blobs = {pid: v.astype(np.float16).tobytes() for pid, v in vectors.items()}
    db = sqlite3.connect(directory / DATABASE)
    with db:
        db.execute("DROP VIEW passages_fts_source")
        to_schema_6(db)
        db.execute("ALTER TABLE passages ADD COLUMN embedding BLOB")
        db.execute("ALTER TABLE passages ADD COLUMN sentence_vectors BLOB")
        db.executemany(
            "UPDATE passages SET embedding = ?, sentence_vectors = ? WHERE id = ?",
            [(passage_vectors[pid].tobytes(), blob, pid) for pid, blob in blobs.items()],
        )
        db.execute("DROP TABLE passage_vectors")
        db.execute("DROP TABLE sentence_vectors")
        db.execute("DROP TABLE passages_fts")
        db.execute(
            f"CREATE VIRTUAL TABLE passages_fts USING fts5(title, text, tokenize='{TOKENIZE}')"
        )
        db.execute(
            "INSERT INTO passages_fts (rowid, title, text) SELECT p.id, a.title, p.text "
            "FROM passages p JOIN articles a ON a.id = p.article_id"
        )
        db.execute("UPDATE meta SET value = '3' WHERE key = 'schema_version'")
    db.close()
    return blobs


def to_schema_6(db: sqlite3.Connection) -> None:
    """Give each passage its own copy of its text again, as schemas 2-6 stored it (the caller
    has dropped the full-text index's view, which reads the text)."""
    db.execute("ALTER TABLE passages ADD COLUMN text TEXT NOT NULL DEFAULT ''")
    db.execute(
        "UPDATE passages SET text = (SELECT substr(a.text, passages.start + 1, passages.length) "
        "FROM articles a WHERE a.id = passages.article_id)"
    )
    db.execute("ALTER TABLE passages DROP COLUMN length")


def schema(directory: Path) -> tuple[str, bool, int]:
    """Schema version, whether passages still hold float16 sentence vectors, and sentence rows
    stored (and that the full-text index keeps its own copy of the text until schema 5, and the
    passages their float32 vectors until schema 6, and not after)."""
    db = sqlite3.connect(f"file:{directory / DATABASE}?mode=ro", uri=True)
    try:
        version = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0]
        columns = {r[1] for r in db.execute("PRAGMA table_info(passages)")}
        column = "sentence_vectors" in columns
        assert ("embedding" in columns) == (int(version) < 6)
        assert ("text" in columns) == (int(version) < 7) != ("length" in columns)
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_schema")}
        assert ("passages_fts_content" in tables) == (int(version) < 5)
        rows = 0
        if "sentence_vectors" in tables:
            rows = db.execute("SELECT count(*) FROM sentence_vectors").fetchone()[0]
    finally:
        db.close()
    return str(version), column, int(rows)


def test_int8_rows_hold_a_vector_within_half_a_step() -> None:
    rng = np.random.default_rng(7)
    vectors = rng.standard_normal((50, 384)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    vectors[3] = 0.0  # a zero vector comes back as zeros, not NaN
    vectors[4, 10] = np.nan  # a damaged one stays visibly damaged
    blobs = sentence_table.encode_rows(vectors)
    assert {len(b) for b in blobs} == {4 + 384}
    back = sentence_table.decode_rows(blobs, 384)
    sound = [i for i in range(50) if i != 4]
    step = np.abs(vectors[sound]).max(axis=1) / 127
    assert (np.abs(back[sound] - vectors[sound]) <= step[:, None] / 2 + 1e-7).all()
    assert np.array_equal(back[3], np.zeros(384, np.float32))
    assert np.isnan(back[4]).all()
    unit = [i for i in sound if i != 3]
    cosines = (back[unit] * vectors[unit]).sum(axis=1) / np.linalg.norm(back[unit], axis=1)
    assert cosines.min() > 0.999


def test_each_distinct_sentence_is_stored_once(tmp_path: Path) -> None:
    encoder = RandomEncoder(dimension=64)
    build(tmp_path / "index", encoder)
    with Archive.open(tmp_path / "index", encoder) as archive:
        refs, texts = all_sentences(archive)
        distinct = {
            (p.article_id, p.start + s)
            for item in archive.articles()
            for p in archive.store.article_passages(item.info.id)
            for s, _ in p.sentences
        }
        rows = archive.store.query("SELECT count(*) FROM sentence_vectors")[0][0]
        assert len(refs) > rows == len(distinct)  # passages overlap: fewer rows than references
        calls = len(encoder.calls)
        found = archive.sentence_vectors(refs, texts)
        assert len(encoder.calls) == calls  # all read back, nothing encoded
    expected = encoder.encode_documents(texts)
    assert np.abs(found - expected).max() < 0.5 / 127 * np.abs(expected).max() + 1e-6
    assert ((found * expected).sum(axis=1) / np.linalg.norm(found, axis=1)).min() > 0.999


def test_the_sentences_of_a_stretch_of_an_article_are_read_by_place(tmp_path: Path) -> None:
    """`stored_sentence_vectors`: per (article, start, end), the stored vectors of the sentences
    starting in that stretch of its text, in order, as the passages' own lookup reads them."""
    encoder = RandomEncoder(dimension=64)
    build(tmp_path / "index", encoder)
    with Archive.open(tmp_path / "index", encoder) as archive:
        passage = next(
            p
            for item in archive.articles()
            for p in archive.store.article_passages(item.info.id)
            if len(p.sentences) >= 3
        )
        (s0, _), (s1, _), (s2, _) = passage.sentences[:3]
        by_passage = archive.store.sentence_vectors([passage.id or 0], 64)[passage.id or 0]
        start = passage.start
        two, none, one = archive.stored_sentence_vectors(
            [
                (passage.article_id, start + s0, start + s2),  # the first two sentences
                (passage.article_id, start + s0 + 1, start + s1),  # starts inside one: none
                (passage.article_id, start + s2, start + s2 + 1),
            ]
        )
        assert np.array_equal(two, by_passage[:2]) and np.array_equal(one, by_passage[2:3])
        assert none.shape == (0, 64)
        assert archive.stored_sentence_vectors([("no such article", 0, 10**6)])[0].shape == (0, 64)


def test_schema_3_is_converted_without_encoding_and_answers_the_same(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    encoder = RandomEncoder(dimension=64)
    directory = tmp_path / "index"
    build(directory, encoder)
    with Archive.open(directory, encoder) as archive:
        refs, texts = all_sentences(archive)
        before = archive.sentence_vectors(refs, texts)
        hits = [(h.passage.id, round(h.score, 6)) for h in archive.search("harbour oil", 8)]
    blobs = to_schema_3(directory, 64)
    assert schema(directory) == ("3", True, 0)
    calls = len(encoder.calls)
    with Archive.open(directory, encoder) as archive:
        assert f"from schema 3 to {SCHEMA_VERSION}" in caplog.text  # said before the wait
        rows = len({tuple(v) for v in before.tolist()})
        assert schema(directory) == (str(SCHEMA_VERSION), False, rows)
        assert archive.check() == []
        after = archive.sentence_vectors(refs, texts)
        assert len(encoder.calls) == calls  # converted, not encoded again
        assert [(h.passage.id, round(h.score, 6)) for h in archive.search("harbour oil", 8)] == hits
    old = np.stack(
        [np.frombuffer(blobs[pid], np.float16).reshape(-1, 64)[n] for pid, n in refs]
    ).astype(np.float32)
    assert old.shape == after.shape
    assert np.abs(after - old).max() <= np.abs(old).max() / 127 / 2 + 1e-3


@pytest.fixture(scope="module")
def schema_3(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A schema 3 index, and what it holds once migrated."""
    work = tmp_path_factory.mktemp("migrate")
    build(work / "template", HashEncoder(), articles=100)  # more passages than one batch
    blobs = to_schema_3(work / "template", 64)
    assert len(blobs) > 256  # the migration's batch: a kill after the first is halfway
    db = sqlite3.connect(work / "template" / DATABASE)
    found = db.execute(
        "SELECT rowid FROM passages_fts WHERE passages_fts MATCH 'ferry OR envoy' ORDER BY rank"
    ).fetchall()
    db.close()
    shutil.copytree(work / "template", work / "migrated")
    with Archive.open(work / "migrated", HashEncoder()) as archive:
        migrated = archive.store.query("SELECT * FROM sentence_vectors ORDER BY article_id, start")
        bm25 = archive.store.bm25('"ferry" OR "envoy"', 1000, Filters(), (1.0, 1.0))
    assert len(found) == len(bm25) > 10
    return {
        "template": work / "template",
        "blobs": blobs,
        "migrated": migrated,
        "found": found,
        "bm25": bm25,
    }


@pytest.mark.parametrize(
    ("crash", "left"),
    [
        ("sql-migrate-sentences:1:after", "3"),  # halfway: some sentences converted
        ("sql-drop-column:1", "3"),  # all converted, the old column not yet dropped
        ("sql-drop-column:1:after", "3"),
        ("sql-commit:1", "3"),  # everything done but the commit
        ("sql-drop-fts:1:after", "4"),  # schema 4 committed; the old full-text index dropped
        ("sql-rebuild-fts:1:after", "4"),  # the new one built, not committed
        ("sql-commit:2", "4"),
        ("sql-migrate-vectors:1:after", "5"),  # passage vectors: schema 5 committed
        ("sql-drop-column:2", "5"),  # float16 copies made, the float32 column not yet dropped
        ("sql-drop-column:2:after", "5"),
        ("sql-commit:3", "5"),
        ("sql-passage-lengths:1:after", "6"),  # lengths beside the texts, schema 6 committed
        ("sql-drop-column:3", "6"),  # every passage checked, its text not yet dropped
        ("sql-drop-column:3:after", "6"),
        ("sql-commit:4", "6"),
    ],
)
def test_a_migration_killed_halfway_leaves_the_last_schema_whole(
    schema_3: dict[str, Any], tmp_path: Path, crash: str, left: str
) -> None:
    directory = tmp_path / "index"
    shutil.copytree(schema_3["template"], directory)
    command = [sys.executable, str(HARNESS), str(directory), "[]", "--crash", crash]
    done = subprocess.run(command, capture_output=True, timeout=60, cwd=REPO)
    assert done.returncode == -signal.SIGKILL, done.stderr

    db = sqlite3.connect(f"file:{directory / DATABASE}?mode=ro", uri=True)
    if left == "3":
        assert schema(directory) == ("3", True, 0)
        kept = dict(db.execute("SELECT id, sentence_vectors FROM passages"))
        assert kept == schema_3["blobs"]
    else:
        assert schema(directory) == (left, False, len(schema_3["migrated"]))
    found = db.execute(  # the old full-text index is whole
        "SELECT rowid FROM passages_fts WHERE passages_fts MATCH 'ferry OR envoy' ORDER BY rank"
    ).fetchall()
    db.close()
    assert found == schema_3["found"]
    with Archive.open(directory, HashEncoder()) as archive:  # opened again: it completes
        assert archive.check() == []
        assert (
            archive.store.bm25('"ferry" OR "envoy"', 1000, Filters(), (1.0, 1.0))
            == (schema_3["bm25"])
        )
        again = archive.store.query("SELECT * FROM sentence_vectors ORDER BY article_id, start")
    assert again == schema_3["migrated"]


def test_damaged_sentence_vectors_are_found_and_dropped_by_rebuild(tmp_path: Path) -> None:
    encoder = HashEncoder()
    directory = tmp_path / "index"
    build(directory, encoder)
    with Archive.open(directory, encoder) as archive:
        rows = archive.store.query("SELECT article_id, start, vector FROM sentence_vectors")
        article_id, start, blob = rows[5]
        damaged = np.array([np.nan], np.float32).tobytes() + blob[4:]
        with archive.store.transaction() as db:
            db.execute(
                "UPDATE sentence_vectors SET vector = ? WHERE article_id = ? AND start = ?",
                (damaged, article_id, start),
            )
        [problem] = archive.check()
        assert "sentence vectors not finite" in problem
        archive.rebuild(encoder)
        assert archive.check() == []
        left = archive.store.query(
            "SELECT count(*) FROM sentence_vectors WHERE article_id = ? AND start = ?",
            (article_id, start),
        )
        assert left == [(0,)]
        refs, texts = all_sentences(archive)
        found = archive.sentence_vectors(refs, texts)  # the dropped ones encoded on demand
    assert np.isfinite(found).all()


def test_compact_gives_free_pages_back(
    fake_cli_index: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    build(fake_cli_index, HashEncoder(), articles=100)
    to_schema_3(fake_cli_index, 64)
    with Archive.open(fake_cli_index, HashEncoder()) as archive:  # migrated
        archive.remove([f"a{n:03d}" for n in range(0, 100, 2)])  # their pages are free now
        free = archive.store.query("PRAGMA freelist_count")[0][0]
        hits = [(h.passage.id, round(h.score, 6)) for h in archive.search("ferry envoy", 8)]
    assert free > 0
    size = (fake_cli_index / DATABASE).stat().st_size
    assert main(["index", "compact"]) == 0
    assert capsys.readouterr().out.startswith(f"compacted {fake_cli_index}/newsqa.sqlite: ")
    assert (fake_cli_index / DATABASE).stat().st_size < size
    with Archive.open(fake_cli_index, HashEncoder()) as archive:
        assert archive.store.query("PRAGMA freelist_count")[0][0] == 0
        assert archive.check() == []
        assert [(h.passage.id, round(h.score, 6)) for h in archive.search("ferry envoy", 8)] == hits


def test_opening_while_another_process_upgrades_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Not "damaged": the upgrade of a large archive holds the write lock for half a minute."""
    directory = tmp_path / "index"
    build(directory, HashEncoder())
    to_schema_3(directory, 64)
    upgrading = sqlite3.connect(directory / DATABASE, isolation_level=None)
    upgrading.execute("BEGIN IMMEDIATE")
    monkeypatch.setattr(Store, "BUSY_TIMEOUT_MS", 50)
    try:
        with pytest.raises(IndexLockedError, match="another newsqa process is writing to or "):
            Store(directory / DATABASE)
    finally:
        upgrading.execute("ROLLBACK")
        upgrading.close()
    assert schema(directory) == ("3", True, 0)
    Store(directory / DATABASE).close()  # once the lock is gone, it upgrades
    assert schema(directory)[0] == str(SCHEMA_VERSION)


def _as_schema_6(directory: Path, change: str = "") -> None:
    """Rewrite a database of the current schema as schema 6 stored it (each passage with its
    own copy of its text), then run `change` on it."""
    db = sqlite3.connect(directory / DATABASE)
    with db:
        db.execute("DROP VIEW passages_fts_source")
        to_schema_6(db)
        db.execute(SOURCE_VIEW.format(text=PASSAGE_TEXT_6))
        db.execute("UPDATE meta SET value = '6' WHERE key = 'schema_version'")
        if change:
            db.execute(change)
    db.close()
    assert schema(directory)[0] == "6"


def _passages(archive: Archive) -> dict[str, list[Passage]]:
    return archive.store.articles_passages([item.info.id for item in archive.articles()])


def test_schema_6_passages_become_places_in_their_articles_text(tmp_path: Path) -> None:
    encoder = HashEncoder()
    directory = tmp_path / "index"
    build(directory, encoder)
    with Archive.open(directory, encoder) as archive:
        before = _passages(archive)
        hits = [(h.passage, round(h.score, 6)) for h in archive.search("harbour oil", 8)]
    _as_schema_6(directory)
    with Archive.open(directory, encoder) as archive:
        assert schema(directory)[0] == str(SCHEMA_VERSION)
        assert archive.check() == []
        assert _passages(archive) == before
        assert [(h.passage, round(h.score, 6)) for h in archive.search("harbour oil", 8)] == hits
        ids = [p.id or 0 for p in before["a003"]]
        assert {i: p for i, (p, _) in archive.store.passages(ids).items()} == {
            p.id: p for p in before["a003"]
        }
        # removing reads the removed passages' tokens through the view: they stop matching
        archive.remove(["a003"])
        found = archive.store.bm25('"report"', 1000, Filters(), (1.0, 1.0))
        assert found and not {pid for pid, _ in found} & set(ids)
        assert archive.check() == []


def test_a_passage_unlike_its_articles_text_stops_the_upgrade_and_rebuild_splits_it_again(
    tmp_path: Path,
) -> None:
    directory = tmp_path / "index"
    build(directory, HashEncoder())
    _as_schema_6(directory, "UPDATE passages SET text = 'x' || text WHERE id = 2")
    with pytest.raises(IndexCorruptError, match="1 passages differ from their articles' text"):
        Store(directory / DATABASE)
    assert schema(directory)[0] == "6"  # nothing changed
    report = salvage_index(directory, lambda model: HashEncoder())
    assert (report.articles, report.reencoded, report.lost) == (len(ARTICLES), 1, [])
    with Archive.open(directory, HashEncoder()) as archive:
        assert schema(directory)[0] == str(SCHEMA_VERSION)
        assert archive.check() == []
        for article in ARTICLES:
            assert archive.store.article_passages(article.id) == [
                replace(p, id=q.id)
                for p, q in zip(
                    split_passages(article.id, article.text, archive.split_config),
                    archive.store.article_passages(article.id),
                    strict=True,
                )
            ]
