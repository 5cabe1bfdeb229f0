"""BM25 from the postings in memory against FTS5's own bm25(), on real SQLite: the same passages,
the same scores, through adds, removals, reopening, stale and damaged files."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest
from numpy.typing import NDArray

from corpus.types import Article
from index import Archive, Filters
from index import postings as postings_module
from index.fts import terms_expression
from index.passage_dates import id_mask
from index.postings import Postings, RawPostings, postings_file
from tests.fakes import HashEncoder

WEIGHTS = (0.5, 1.0)
WORDS = (  # noqa: SIM905 (a word list reads better as text)
    "sanctions minister Lavrov Russia Russian China talks oil prices rising rose rises café cafe "
    "Zürich election president week us said the of vote votes voting 2024 13 inflation eggs "
    "Netflix advertising advertisements covid_19 naïve résumé running ran runs"
).split()


@pytest.fixture(autouse=True, params=["pruned", "dense"])
def way(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every test twice: the top k pruned (MaxScore), and every posting summed, which small
    queries take (`postings.DENSE_BELOW`); both must equal FTS5."""
    if request.param == "pruned":
        monkeypatch.setattr(postings_module, "DENSE_BELOW", 0)
    else:
        monkeypatch.setattr(postings_module, "DENSE_BELOW", 10**12)
    return str(request.param)


def random_articles(seed: int, n: int) -> list[Article]:
    rng = random.Random(seed)
    articles = []
    for i in range(n):
        sentences = [
            " ".join(rng.choice(WORDS) for _ in range(rng.randint(4, 14))).capitalize() + "."
            for _ in range(rng.randint(1, 12))
        ]
        title = " ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 5)))
        articles.append(
            Article(
                id=f"s{seed}-{i}",
                title=title,
                text=" ".join(sentences),
                origin=f"test:{seed}:{i}",
                source=rng.choice(["Reuters", "AP"]),
                published=f"2024-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}",
            )
        )
    twin = articles[0]  # the same passage twice: equal scores, which FTS5 orders by id
    articles.append(Article(id=f"s{seed}-twin", title=twin.title, text=twin.text, origin="twin"))
    return articles


QUERIES = [
    ["sanctions", "lavrov"],
    ["rising", "prices", "oil"],
    ["cafe", "zurich"],
    ["the", "of", "said"],  # in most passages: the IDF clamps at 1e-6
    ["president", "election", "2024", "votes", "week", "us"],
    ["nothing", "matches", "this"],
    ["eggs"],
    ["naive", "resume"],
    ["prices", "price"],  # one token twice: FTS5 counts both phrases
]


def assert_same(archive: Archive) -> None:
    """Every query ranks and scores as FTS5's bm25() does, with and without filters."""
    for terms in QUERIES:
        expression = terms_expression(terms)
        assert expression is not None
        scores = archive._scores(terms)
        assert scores is not None
        for k in (1, 5, 50, 10_000):
            assert scores.top(k) == archive.store.bm25(expression, k, Filters(), WEIGHTS)
        since = Filters(since="2024-05-01", sources=("AP",))
        allowed = id_mask(archive.store.passage_ids(since))
        assert scores.top(20, allowed) == archive.store.bm25(expression, 20, since, WEIGHTS)
        ids = [int(i) for i in archive.postings().ids[::3]] + [10**9]
        assert scores.of(ids) == archive.store.bm25_of(expression, ids, WEIGHTS)


def test_scores_equal_fts5_bm25(archive: Archive) -> None:
    archive.add(random_articles(1, 60))
    top = archive._scores(["sanctions", "lavrov"])
    assert top is not None and len(top.top(1000)) > 20  # the queries do match many passages
    assert_same(archive)


def test_postings_follow_adds_and_removals_and_equal_a_build_from_sqlite(
    archive: Archive,
) -> None:
    archive.add(random_articles(1, 30))
    archive.add(random_articles(2, 30))
    archive.remove([f"s1-{i}" for i in range(0, 30, 3)])
    archive.add([*random_articles(1, 30)[:5], *random_articles(3, 10)])  # some back, some new
    assert_same(archive)
    updated = archive.postings()
    rebuilt = Postings.from_raw(archive.store.fts_postings())
    assert np.array_equal(updated.ids, rebuilt.ids)
    for token in rebuilt.tokens:
        a, b = rebuilt.vocabulary[token], updated.vocabulary[token]
        assert np.array_equal(
            rebuilt.rows[rebuilt.starts[a] : rebuilt.starts[a + 1]],
            updated.rows[updated.starts[b] : updated.starts[b + 1]],
        )
    assert np.array_equal(np.sort(rebuilt.lengths), np.sort(updated.lengths))


def test_a_reader_loads_the_file_of_its_generation(tmp_path: Path) -> None:
    directory = tmp_path / "index"
    with Archive.open(directory, HashEncoder(), create=True) as writer:
        writer.add(random_articles(1, 20))
        generation = writer.generation
        expected = writer._scores(["oil", "prices"])
    assert (directory / postings_file(generation)).exists()
    with Archive.open(directory, HashEncoder()) as reader:
        built = []
        reader.store.fts_postings = lambda *a: built.append(a)  # type: ignore[method-assign]
        scores = reader._scores(["oil", "prices"])
        assert built == []  # read from the file, not from SQLite
        assert scores is not None and expected is not None
        assert scores.top(50) == expected.top(50)


@pytest.mark.parametrize("damage", ["missing", "garbage", "stale"])
def test_a_missing_damaged_or_stale_file_is_built_again_from_sqlite(
    tmp_path: Path, damage: str
) -> None:
    directory = tmp_path / "index"
    with Archive.open(directory, HashEncoder(), create=True) as writer:
        writer.add(random_articles(1, 20))
        generation = writer.generation
        old = writer.postings()
        writer.add(random_articles(2, 20))  # a new generation: the old postings are stale now
    path = directory / postings_file(generation + 1)
    if damage == "missing":
        path.unlink()
    elif damage == "garbage":
        path.write_bytes(b"PK\x03\x04 not really a zip file")
    else:  # a crash between writing the file and the commit left the previous one in its place
        Postings(
            old.tokens, old.starts, old.rows, old.title_tf, old.text_tf, old.ids, old.key
        ).save(path)
    with Archive.open(directory, HashEncoder()) as reader:
        assert_same(reader)
    assert Postings.load(path).key != old.key  # saved again, for the next reader


def test_a_term_fts5_reads_as_a_phrase_is_ranked_by_fts5(archive: Archive) -> None:
    archive.add(random_articles(1, 40))
    assert archive.store.fts_tokens(["covid_19"]) == {"covid_19": ("covid", "19")}
    assert archive._scores(["covid_19", "oil"]) is None
    hits = archive.search("covid_19 oil", k=5, retriever="bm25")
    expression = terms_expression(["covid_19", "oil"])
    assert expression is not None
    top = [pid for pid, _ in archive.store.bm25(expression, 5, Filters(), WEIGHTS)]
    assert [h.passage.id for h in hits] == top[: len(hits)] and hits


def test_document_frequencies_from_the_postings_equal_fts5_counts(archive: Archive) -> None:
    archive.add(random_articles(1, 40))
    terms = ["sanctions", "running", "cafe", "covid_19", "absent", "_"]
    expected = {
        t: archive.store.query(
            "SELECT count(*) FROM passages_fts WHERE passages_fts MATCH ?",
            (terms_expression([t]) or '""',),
        )[0][0]
        for t in terms
    }
    assert expected["running"] > 0 and expected["covid_19"] > 0
    assert archive.document_frequencies(terms) == expected
    assert archive.store.document_frequencies(terms) == expected


def test_a_reader_counts_what_another_writer_added_since(tmp_path: Path) -> None:
    directory = tmp_path / "index"
    with Archive.open(directory, HashEncoder(), create=True) as writer:
        writer.add(random_articles(1, 5))
        with Archive.open(directory, HashEncoder()) as reader:
            assert reader.document_frequencies(["zanzibar"]) == {"zanzibar": 0}
            harbour = "The Zanzibar harbour cranes were repainted."
            writer.add([Article(id="z", title="Cranes", text=harbour, origin="z")])
            assert reader.document_frequencies(["zanzibar"]) == {"zanzibar": 1}


def test_a_column_weighted_zero_still_matches_as_fts5_does(archive: Archive) -> None:
    archive.add(random_articles(1, 40))
    for weights in [(0.0, 1.0), (1.0, 0.0)]:
        for terms in QUERIES:
            expression = terms_expression(terms)
            assert expression is not None
            tokens = archive.store.fts_tokens(terms)
            scores = archive.postings().scores([tokens[t][0] for t in terms], weights)
            assert scores.top(10_000) == archive.store.bm25(expression, 10_000, Filters(), weights)


def _part(raw: RawPostings, keep: NDArray[np.bool_]) -> RawPostings:
    """The postings of the rows `keep` selects (a mask over `raw.ids`)."""
    ids = raw.ids[keep]
    held = np.isin(raw.row_id, ids)
    return RawPostings(
        raw.tokens, raw.token[held], raw.row_id[held], raw.title_tf[held], raw.text_tf[held], ids
    )


@pytest.mark.parametrize("among", [False, True], ids=["new ids after", "new ids among"])
def test_adding_rows_equals_building_them_all_at_once(archive: Archive, among: bool) -> None:
    archive.add(random_articles(1, 40))
    raw = archive.store.fts_postings()
    ids = np.sort(raw.ids)
    first = ids % 2 == 0 if among else ids < np.median(ids)
    start = Postings.from_raw(_part(raw, np.isin(raw.ids, ids[first])))
    gone = [int(ids[first][0])]  # and one old row removed
    grown = start.changed(gone, _part(raw, np.isin(raw.ids, ids[~first])), "k")
    expected = Postings.from_raw(_part(raw, ~np.isin(raw.ids, gone)))
    assert np.array_equal(grown.ids, expected.ids)
    found = 0
    for terms in QUERIES:
        tokens = archive.store.fts_tokens(terms)
        phrases = [tokens[t][0] for t in terms]
        top = grown.scores(phrases, WEIGHTS).top(10_000)
        assert top == expected.scores(phrases, WEIGHTS).top(10_000)
        found += len(top)
    assert found > 100
