"""A damaged index: every command says what is wrong in one line and how to fix it, and
`newsqa index rebuild` recovers from what is stored, losing nothing that can still be read.

The CLI runs in process with the fake encoder (patched into the services), so these are fast.
"""

from __future__ import annotations

import json
import random
import shutil
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from bot.cli import main
from corpus.types import Article
from index import Archive
from index.archive import DATABASE
from index.errors import IndexCorruptError
from index.recovery import database_problem, fit_header_to_file, salvage_index
from tests.fakes import HashEncoder

WORDS = "harbour minister sanctions oil tariff glass furnace ferry council bridge envoy bank"
WORDS += " rates grain fertiliser chimney quota charter guild apprentice merchant freight"


def make(n: int) -> Article:
    """An article with a word of its own (`tokenN`) to find it by, and several passages."""
    rng, words = random.Random(n), WORDS.split()
    sentences = [
        f"Report token{n} notes that the {rng.choice(words)} and the {rng.choice(words)} "
        f"changed in week {i}, said officials in town {n}."
        for i in range(9)
    ]
    text = " ".join(sentences)
    return Article(
        id=f"{n:016x}",
        title=f"Story token{n}",
        text=text,
        url=f"https://example.org/{n}",
        source="Wire",
        published=f"2024-02-{n % 28 + 1:02d}",
        origin=f"test:{n}",
        pages=(0, len(text) // 2) if n % 2 else (),  # every other one a two-page PDF
    )


ARTICLES = [make(n) for n in range(80)]


@pytest.fixture
def index_dir(fake_cli_index: Path) -> Path:
    directory = fake_cli_index
    with Archive.open(directory, HashEncoder(), create=True) as archive:
        archive.add(ARTICLES[:40])
        archive.add(ARTICLES[40:])
    return directory


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def one_clear_line(err: str, *needles: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


def stored(directory: Path) -> dict[str, Article]:
    with Archive.open(directory, HashEncoder()) as archive:
        assert archive.check() == []
        return {
            a.info.id: article
            for a in archive.articles()
            if (article := archive.store.get_article(a.info.id)) is not None
        }


def searches(directory: Path) -> dict[str, list[tuple[str, int, float]]]:
    with Archive.open(directory, HashEncoder()) as archive:
        return {
            q: [(h.article.id, h.passage.ordinal, round(h.score, 5)) for h in archive.search(q, 8)]
            for q in ("harbour sanctions", "ferry council bridge", "token7 week", "grain quota")
        }


# --- the manifest ---


@pytest.mark.parametrize(
    ("field", "value"),
    [("model", "someone/else"), ("dimension", 32), ("index_type", "ivf")],
)
def test_a_mismatched_manifest_is_named_and_rebuilt(
    index_dir: Path, capsys: pytest.CaptureFixture[str], field: str, value: object
) -> None:
    before = searches(index_dir)
    path = index_dir / "manifest.json"
    manifest = json.loads(path.read_text())
    manifest[field] = value
    path.write_text(json.dumps(manifest))

    with pytest.raises(IndexCorruptError, match=f"manifest.json .* says {field} .*index rebuild"):
        Archive.open(index_dir, HashEncoder())
    for command in (["search", "harbour"], ["stats"], ["list"], ["ingest", str(path)]):
        code, _, err = run(capsys, *command)
        assert code == 1
        one_clear_line(err, "manifest.json", field, "newsqa index rebuild")
    code, out, _ = run(capsys, "index", "check")
    assert code == 1 and "manifest.json" in out and "newsqa index rebuild" in out
    code, out, _ = run(capsys, "index", "rebuild")
    assert code == 0 and "80 articles" in out
    assert json.loads(path.read_text())[field] != value
    assert searches(index_dir) == before
    code, out, _ = run(capsys, "index", "check")
    assert code == 0 and out.startswith("ok:")


# --- the database ---


def rowids(directory: Path) -> dict[int, str]:
    db = sqlite3.connect(directory / DATABASE)
    try:
        return {int(r): str(i) for r, i in db.execute("SELECT rowid, id FROM articles")}
    finally:
        db.close()


def still_readable(database: Path, rows: dict[int, str]) -> set[str]:
    """The oracle: articles whose row SQLite can still read, looked up one by one (in a copy
    whose header claims no more pages than the file has: else SQLite reads nothing at all)."""
    copy = database.with_name("oracle.sqlite")
    shutil.copyfile(database, copy)
    fit_header_to_file(copy)
    db = sqlite3.connect(copy)
    found = set()
    for rowid, article_id in rows.items():
        try:
            row = db.execute("SELECT id, title, text FROM articles WHERE rowid = ?", (rowid,))
            got = row.fetchone()
        except sqlite3.DatabaseError:
            continue
        original = next(a for a in ARTICLES if a.id == article_id)
        if got == (original.id, original.title, original.text):
            found.add(article_id)
    db.close()
    copy.unlink()
    return found


def garble_pages(path: Path, fraction: float, every: int, seed: int = 7) -> None:
    """Overwrite every `every`th page from `fraction` of the file on with random bytes."""
    rng = random.Random(seed)
    page = 4096
    pages = path.stat().st_size // page
    with path.open("r+b") as f:
        for n in range(int(pages * fraction), pages - 1, every):
            f.seek(n * page)
            f.write(rng.randbytes(page))


def damage(path: Path, how: str) -> None:
    if how == "garbled pages":
        garble_pages(path, 0.3, 7)
    elif how == "truncated":
        with path.open("r+b") as f:
            f.truncate(path.stat().st_size * 6 // 10)
    else:
        raise AssertionError(how)


@pytest.mark.parametrize("how", ["garbled pages", "truncated"])
def test_a_damaged_database_is_named_and_what_is_readable_is_saved(
    index_dir: Path, capsys: pytest.CaptureFixture[str], how: str
) -> None:
    rows = rowids(index_dir)
    assert not list(index_dir.glob("*-wal"))  # closed: everything is in the file
    damage(index_dir / DATABASE, how)
    assert database_problem(index_dir / DATABASE) is not None
    readable = still_readable(index_dir / DATABASE, rows)
    assert 0 < len(readable) < len(ARTICLES)

    for command in (["stats"], ["list"], ["search", "token3"], ["remove", "ffffffffffffffff"]):
        code, out, err = run(capsys, *command)
        if code and "no article has" not in err:  # a command that meets the damage says so
            one_clear_line(err, str(index_dir / DATABASE), "damaged", "newsqa index rebuild")
    assert run(capsys, "list")[0] == 1
    code, out, _ = run(capsys, "index", "check")
    assert code == 1 and "newsqa index rebuild" in out

    code, out, err = run(capsys, "index", "rebuild")
    assert "the database is damaged" in err
    saved = stored(index_dir)  # opens with the real code, and check() finds nothing
    assert readable <= set(saved)  # nothing that could be read was lost
    for article_id, article in saved.items():
        original = next(a for a in ARTICLES if a.id == article_id)
        assert (article.title, article.text, article.url, article.published, article.pages) == (
            original.title,
            original.text,
            original.url,
            original.published,
            original.pages,
        )
    lost = len(ARTICLES) - len(saved)
    assert f"saved {len(saved)} articles into a fresh database" in out
    assert (code == 1) == (lost > 0)
    if lost:
        losses_are_counted_and_named(out, [a for a in ARTICLES if a.id not in saved], 80)
    kept = list(index_dir.glob(f"{DATABASE}.damaged-*"))
    assert [p.name for p in kept if not p.name.endswith(("-wal", "-shm"))]
    with Archive.open(index_dir, HashEncoder()) as archive:
        for article_id, article in saved.items():
            token = article.title.split()[-1]
            assert article_id in [h.article.id for h in archive.search(token, 3)]
    code, out, _ = run(capsys, "index", "check")
    assert code == 0 and out.startswith("ok:")


def test_salvage_keeps_readable_vectors_and_encodes_the_lost_ones(index_dir: Path) -> None:
    with Archive.open(index_dir, HashEncoder()) as archive:
        passages = dict(archive.store.query("SELECT id, vector FROM passage_vectors"))
    garble_pages(index_dir / DATABASE, 0.3, 7)
    encoder = HashEncoder()
    report = salvage_index(index_dir, lambda model: encoder)
    assert 0 < report.reencoded < report.articles
    assert sum(encoder.calls) > 0
    with Archive.open(index_dir, HashEncoder()) as archive:
        assert archive.check() == []
        kept = dict(archive.store.query("SELECT id, vector FROM passage_vectors"))
    assert set(kept.values()) & set(passages.values())  # stored vectors were reused


def test_a_database_that_is_not_one_at_all(
    index_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = index_dir / DATABASE
    path.write_bytes(b"\x00garbage" * 4096)
    code, _, err = run(capsys, "stats")
    assert code == 1
    one_clear_line(err, str(path), "damaged", "newsqa index rebuild")
    code, _, err = run(capsys, "index", "rebuild")
    assert code == 1
    assert "restore the index directory from a backup" in err.strip().splitlines()[-1]
    assert path.read_bytes() == b"\x00garbage" * 4096  # nothing was thrown away


def test_an_online_backup_of_the_database_alone_restores_the_index(
    index_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The README's backup: SQLite's online backup while the index is open, then, into an empty
    directory, `newsqa index rebuild` (the FAISS file and the manifest are made again)."""
    before = searches(index_dir)
    with Archive.open(index_dir, HashEncoder()):  # a reader holds it open meanwhile
        source = sqlite3.connect(index_dir / DATABASE)
        target = sqlite3.connect(tmp_path / "backup.sqlite")
        source.backup(target)
        source.close()
        target.close()
    restored = tmp_path / "restored"
    restored.mkdir()
    shutil.copyfile(tmp_path / "backup.sqlite", restored / DATABASE)
    monkeypatch.setenv("NEWSQA_INDEX_DIR", str(restored))
    code, out, _ = run(capsys, "index", "rebuild")
    assert code == 0 and "80 articles" in out
    assert searches(restored) == before
    code, out, _ = run(capsys, "index", "check")
    assert code == 0


# --- damaged vectors ---


def test_bit_flips_in_the_vector_file_are_found_and_rebuilt(
    index_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = searches(index_dir)
    path = (
        index_dir
        / f"vectors.{json.loads((index_dir / 'manifest.json').read_text())['generation']:08d}.faiss"
    )
    data = bytearray(path.read_bytes())
    middle = len(data) // 2 // 4 * 4  # inside the vectors: flip the sign of a few of them
    for offset in range(middle + 3, middle + 3 + 64 * 4 * 5, 4):
        data[offset] ^= 0x80
    path.write_bytes(bytes(data))
    code, out, _ = run(capsys, "index", "check")
    assert code == 1
    assert f"problem: {path.name} is damaged: its checksum differs" in out
    code, out, _ = run(capsys, "index", "rebuild")
    assert code == 0 and "encoded again" not in out  # the stored vectors were sound
    code, out, _ = run(capsys, "index", "check")
    assert code == 0 and out.startswith("ok:")
    assert searches(index_dir) == before


def test_nan_and_negated_stored_vectors_are_found_and_encoded_again(
    index_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = searches(index_dir)
    db = sqlite3.connect(index_dir / DATABASE)
    try:
        rows = db.execute("SELECT id, vector FROM passage_vectors ORDER BY id").fetchall()
        nan, negated = rows[3:6], rows[40:44]
        with db:
            for pid, _ in nan:
                db.execute(
                    "UPDATE passage_vectors SET vector = ? WHERE id = ?",
                    (np.full(64, np.nan, np.float16).tobytes(), pid),
                )
            for pid, blob in negated:
                flipped = -np.frombuffer(blob, np.float16)
                db.execute(
                    "UPDATE passage_vectors SET vector = ? WHERE id = ?", (flipped.tobytes(), pid)
                )
    finally:
        db.close()
    code, out, _ = run(capsys, "index", "check")
    assert code == 1
    [problem] = [line for line in out.splitlines() if "damaged stored vectors" in line]
    assert problem.startswith("problem: 7 passages have damaged stored vectors (3 not finite, ")
    assert "4 pointing away from its sentences" in problem and "'Story token" in problem
    code, out, _ = run(capsys, "index", "rebuild")
    assert code == 0 and "encoded again: 7 passages" in out
    code, out, _ = run(capsys, "index", "check")
    assert code == 0 and out.startswith("ok:")
    assert searches(index_dir) == before  # the top passages are found again


def test_a_truncated_database_counts_and_names_every_lost_article(
    fake_cli_index: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """300 articles, the database cut to a quarter: every article not saved is counted, and
    named by whatever survives of it (its id, origin, or title in the full-text index)."""
    articles = [make(n) for n in range(300)]
    with Archive.open(fake_cli_index, HashEncoder(), create=True) as archive:
        archive.add(articles)
    database = fake_cli_index / DATABASE
    with database.open("r+b") as f:
        f.truncate(database.stat().st_size // 4)
    code, out, _ = run(capsys, "index", "rebuild")
    assert code == 1
    saved = set(stored(fake_cli_index))
    lost = [a for a in articles if a.id not in saved]
    assert len(lost) > 200
    losses_are_counted_and_named(out, lost, 300)


def losses_are_counted_and_named(out: str, lost: list[Article], held: int) -> None:
    """The rebuild's report counts every lost article and names each that anything names (by
    id, with its origin when known, or by title), and says how many nothing names."""
    lines = [line.removeprefix("lost: ") for line in out.splitlines() if line.startswith("lost: ")]
    plural = "s" * (len(lost) != 1)
    assert (
        lines[0] == f"{len(lost)} article{plural} of the {held} the index held could not be saved:"
    )
    hints = [line for line in lines if line.endswith("(it may be one of the articles named by id)")]
    counts = [line for line in lines if line.endswith("add them again from their files or links")]
    named = [line for line in lines[1:] if line not in hints and line not in counts]
    unnamed = int(counts[0].split()[0]) if counts else 0
    assert len(named) + unnamed == len(lost)
    by_id, titles = {a.id: a for a in lost}, {a.title for a in lost}
    for line in named + hints:  # each names a lost article, truly
        if line.startswith("article "):
            article = by_id[line.split()[1]]
            assert f"({article.title!r})" in line or "(" not in line
            assert line.endswith((f"add it again from {article.origin}", "could not be read"))
        else:
            assert line.startswith("an article titled ")
            assert line.split("titled ")[1].split(" could not be read")[0][1:-1] in titles
    assert len(set(named)) == len(named)
