"""bench/build_recombined.py: new articles of a real index's sentences, with its stored vectors,
written through the ingest path."""

from __future__ import annotations

import importlib.util
import sys
from contextlib import closing
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from corpus.split import SplitConfig, embedding_text, sentences, split_passages
from index import Archive
from index.store import Store
from tests.conftest import REPO, make_article
from tests.fakes import HashEncoder

TEXTS = [
    "Markets fell on Monday. Oil rose 3% after the talks failed.\n\n"
    "Updated June 13, 2025\n\n"
    "Traders said the sanctions would last. “We expect more,” Ms. Lee said.",
    "The mayor opened the bridge. It cost $40 million.\n\nRelated: Bridges of the city\n\n"
    "Residents cheered. Some complained about the tolls. The council meets on Friday.",
    "Rain is forecast for the weekend. Flights were delayed at the airport.\n\n"
    "Officials urged drivers to stay home. Schools will open late on Tuesday.",
]


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    path = REPO / "bench/build_recombined.py"
    spec = importlib.util.spec_from_file_location("build_recombined", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["build_recombined"] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def source(tmp_path: Path) -> Path:
    directory = tmp_path / "source"
    articles = [
        make_article(f"a{n}", text, source="Outlet", published=f"2024-06-1{n}")
        for n, text in enumerate(TEXTS)
    ]
    with Archive.open(directory, HashEncoder(), create=True) as archive:
        archive.add(articles)
    return directory


def test_recombined_articles_are_real_sentences_the_splitter_finds_again(
    bench: ModuleType, source: Path
) -> None:
    with closing(Store(source / "newsqa.sqlite")) as store:
        pool = bench.SentencePool.read(store, 64, SplitConfig())
    assert "Updated June 13, 2025" in pool.texts
    made = [a for _, a in zip(range(30), bench.recombined(pool, seed=3), strict=False)]
    again = [a for _, a in zip(range(30), bench.recombined(pool, seed=3), strict=False)]
    assert made == again
    other = [a for _, a in zip(range(30), bench.recombined(pool, seed=4), strict=False)]
    assert [a.text for a in other] != [a.text for a in made]
    for article in made:
        found = [article.text[s:e] for s, e in sentences(article.text)]
        assert all(text in pool.row for text in found), found
        template = next(t for t in pool.templates if t.title == article.title)
        assert len(found) == sum(template.shape)
        assert (article.source, article.published) == (template.source, template.published)
    assert len({a.id for a in made}) == 30


def test_build_writes_derived_vectors_through_the_ingest_path(
    bench: ModuleType, source: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    bench.copy_index(source, out)
    model = HashEncoder()
    with closing(Store(out / "newsqa.sqlite")) as store:
        pool = bench.SentencePool.read(store, 64, SplitConfig())
    encoder = bench.LookupEncoder(pool, model)
    split = SplitConfig()
    articles = [a for _, a in zip(range(5), bench.recombined(pool, seed=0), strict=False)]
    for article in articles:
        encoder.derive(article, split)
    with Archive.open(out, encoder) as archive:
        archive.add(articles)
        assert archive.check() == []
        assert len(archive.articles()) == len(TEXTS) + 5
        article = articles[0]
        passage = split_passages(article.id, article.text, split)[0]
        ((pid,),) = archive.store.query(
            "SELECT id FROM passages WHERE article_id = ? AND ordinal = 0", (article.id,)
        )
        stored = dict(
            (int(i), v) for ids, vectors in archive.store.iter_embeddings(64)
            for i, v in zip(ids, vectors, strict=True)
        )[pid]  # fmt: skip
    assert encoder.encoded == 0  # every sentence was found among the stored ones
    assert encoder.passages == {}  # every derived passage vector was used
    rows = [pool.vectors[pool.row[passage.text[s:e]]] for s, e in passage.sentences]
    expected = np.sum(rows, axis=0, dtype=np.float32) + model.encode_documents([article.title])[0]
    np.testing.assert_allclose(stored, expected / np.linalg.norm(expected), atol=1e-3)  # float16
    encoded = model.encode_documents([embedding_text(article.title, passage.text)])[0]
    assert not np.allclose(stored, encoded)  # derived, not the model's encoding of the passage
