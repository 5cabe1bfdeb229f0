"""The full-text index without its own copy of the text (FTS5 external content over the
passages): words of removed articles stop matching, and `check` sees the index and the passages
drift apart, which a scan of the FTS5 table alone cannot (it reads the passages)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from index import Archive
from index.archive import DATABASE
from index.store import Filters, Store
from tests.conftest import make_article
from tests.fakes import HashEncoder

ARTICLES = [
    make_article("oil", "Refineries in the gulf shut down. Oil prices rose sharply on Monday."),
    make_article("ferry", "Ferry fares were frozen. Island residents had complained for weeks."),
    make_article("bridge", "Engineers reopened the harbour bridge after months of repairs."),
]


def matches(archive: Archive, words: str) -> list[int]:
    expression = " OR ".join(f'"{w}"' for w in words.split())
    return [pid for pid, _ in archive.store.bm25(expression, 10, Filters(), (1.0, 1.0))]


def test_no_copy_of_the_text_and_removed_articles_stop_matching(tmp_path: Path) -> None:
    with Archive.open(tmp_path / "index", HashEncoder(), create=True) as archive:
        archive.add(ARTICLES)
        tables = {r[0] for r in archive.store.query("SELECT name FROM sqlite_schema")}
        assert "passages_fts_content" not in tables
        assert matches(archive, "refineries ferry") != []
        archive.remove(["oil"])
        assert archive.check() == []
        assert [
            archive.store.passages([p])[p][1].id for p in matches(archive, "refineries ferry")
        ] == ["ferry"]
        archive.add([make_article("oil", "Refineries reopened. Tankers queued at the port.")])
        assert archive.check() == []
        assert len(matches(archive, "tankers")) == 1
        assert matches(archive, "gulf") == []  # the old text's words left with it


def test_check_finds_passages_and_index_rows_out_of_step(tmp_path: Path) -> None:
    directory = tmp_path / "index"
    with Archive.open(directory, HashEncoder(), create=True) as archive:
        archive.add(ARTICLES)
    db = sqlite3.connect(directory / DATABASE)
    with db:  # one passage gone behind the index's back, another never indexed
        db.execute("DELETE FROM passages WHERE article_id = 'ferry'")
        db.execute("DELETE FROM passages_fts_docsize WHERE id IN "
                   "(SELECT id FROM passages WHERE article_id = 'bridge')")  # fmt: skip
    db.close()
    store = Store(directory / DATABASE)
    problems = store.integrity_problems()
    store.close()
    assert any(p.startswith("full-text index: 1 rows without a passage") for p in problems)
    assert any(p.startswith("full-text index: 1 passages not indexed") for p in problems)


def test_check_finds_the_index_out_of_step_with_the_text_and_rebuild_makes_it_again(
    tmp_path: Path,
) -> None:
    """An article's text changed behind the index's back (its passages are slices of it): the
    index still holds the old words, which FTS5's plain integrity check, reading the index
    alone, does not see."""
    directory = tmp_path / "index"
    with Archive.open(directory, HashEncoder(), create=True) as archive:
        archive.add(ARTICLES)
    db = sqlite3.connect(directory / DATABASE)
    with db:  # the same length: every passage's place stays
        db.execute("UPDATE articles SET text = replace(text, 'Refineries', 'Distillers')")
    db.close()
    with Archive.open(directory, HashEncoder()) as archive:
        problems = archive.check()
        assert any("its words are not those of the passages" in p for p in problems), problems
        archive.rebuild()
        assert archive.check() == []
        assert matches(archive, "distillers") != []
        assert matches(archive, "refineries") == []
