"""A filter's passages from memory (each passage's article day, read once per generation)
against the SQL query that lists them, and searches filtered by date through it."""

from __future__ import annotations

import numpy as np

from corpus.types import Article
from index import Archive, Filters
from index.passage_dates import PassageDates, id_mask
from tests.test_postings import random_articles

RANGES = [
    ("2024-05-01", None),
    (None, "2024-05-01"),
    ("2024-03-10", "2024-06-19"),
    ("2024-04-11", "2024-04-11"),  # one day, also one stamped with a time of day
    ("2024-06-19", "2024-03-10"),  # empty
    ("2030-01-01", None),
    (None, "1999-12-31"),
    ("2024-05", "2024-07"),  # partial dates compare as text, as SQLite compares them
]


def test_a_date_range_holds_the_passages_sql_lists(archive: Archive) -> None:
    archive.add(random_articles(1, 40))
    archive.add(
        [
            Article(id="undated", title="Oil", text="Oil prices rose again.", origin="u"),
            Article(
                id="stamped", title="Talks", text="The talks resumed on Monday.", origin="s",
                published="2024-04-11T09:30:00+00:00",
            ),
        ]
    )  # fmt: skip
    dates = PassageDates.read(archive.store)
    every = archive.store.passage_ids(Filters())
    nonempty = 0
    for since, until in RANGES:
        expected = archive.store.passage_ids(Filters(since=since, until=until))
        mask = dates.allowed(since, until)
        assert np.array_equal(np.flatnonzero(mask), np.sort(expected)), (since, until)
        assert np.array_equal(np.flatnonzero(id_mask(expected)), np.sort(expected))
        nonempty += 0 < len(expected) < len(every)
    assert nonempty >= 4


def test_a_dated_search_reads_the_days_once_per_generation(archive: Archive) -> None:
    archive.add(random_articles(1, 30))
    reads = []
    read = PassageDates.read

    def counted(store: object) -> PassageDates:
        reads.append(1)
        return read(store)  # type: ignore[arg-type]

    PassageDates.read = counted  # type: ignore[method-assign,assignment]
    try:
        since = Filters(since="2024-05-01")
        first = archive.search("oil prices", k=10, filters=since)
        assert first and all((h.article.published or "") >= "2024-05-01" for h in first)
        assert archive.search("oil prices", k=10, filters=since) == first
        assert len(reads) == 1
        archive.add(random_articles(2, 10))  # a new generation: its passages' days
        again = archive.search("oil prices", k=10, filters=since)
        assert len(reads) == 2 and again
        assert all((h.article.published or "") >= "2024-05-01" for h in again)
        outlet = archive.search("oil prices", k=10, filters=Filters(sources=("AP",)))
        assert len(reads) == 2 and {h.article.source for h in outlet} == {"AP"}  # SQL, not days
    finally:
        PassageDates.read = read  # type: ignore[method-assign]
