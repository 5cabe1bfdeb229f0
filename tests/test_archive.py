"""The index directory: incremental writes, atomicity, model checks, and fused search."""

from __future__ import annotations

import dataclasses
import math
import re
from pathlib import Path

import numpy as np
import pytest

from corpus.types import Article
from index import Archive, Filters, SearchConfig
from index.archive import vectors_file
from index.errors import ArchiveError, IndexCorruptError, IndexNotFoundError, ModelMismatchError
from index.fts import match_expression, query_terms
from index.fusion import cap_per_group, reciprocal_rank_fusion
from index.postings import postings_file
from index.vectors import VectorIndex
from tests.conftest import make_article
from tests.fakes import HashEncoder, RandomEncoder

SENTENCES = [
    "The minister said the sanctions had failed.",
    "Oil prices rose sharply on Monday.",
    "The envoy returned from Pyongyang with no deal.",
    "Talks in Minsk ended without agreement.",
    "Farmers protested against the new tariffs.",
    "The central bank held interest rates steady.",
]


def article(n: int, text: str | None = None, **kw: str) -> Article:
    body = text or " ".join(SENTENCES[(n + i) % len(SENTENCES)] for i in range(4))
    return make_article(f"a{n:03d}", body, title=kw.pop("title", f"Story {n}"), **kw)


def ids_of(hits) -> list[str]:  # type: ignore[no-untyped-def]
    return [h.article.id for h in hits]


def test_add_then_reopen_finds_the_same(tmp_path: Path, fake_encoder: HashEncoder) -> None:
    directory = tmp_path / "index"
    with Archive.open(directory, fake_encoder, create=True) as archive:
        report = archive.add([article(1), article(2)])
        assert [a.id for a in report.added] == ["a001", "a002"]
        before = [(h.passage.id, h.score) for h in archive.search("sanctions failed minister")]
    with Archive.open(directory, fake_encoder) as archive:
        assert [
            (h.passage.id, h.score) for h in archive.search("sanctions failed minister")
        ] == before
        assert archive.stats()["articles"] == 2
    names = sorted(p.name for p in directory.iterdir() if not p.name.startswith("."))
    assert [n for n in names if not n.endswith(("-wal", "-shm"))] == [  # one generation's files
        postings_file(1),
        "manifest.json",
        "newsqa.sqlite",
        vectors_file(1),
    ]


def test_unchanged_is_a_noop_and_changed_replaces(
    archive: Archive, fake_encoder: HashEncoder
) -> None:
    archive.add([article(1), article(2)])
    calls = len(fake_encoder.calls)
    generation = archive.stats()["generation"]
    report = archive.add([article(1), article(2)])
    assert [a.id for a in report.unchanged] == ["a001", "a002"]
    assert report.added == report.updated == []
    assert archive.stats()["generation"] == generation
    assert fake_encoder.calls[calls:] == []  # nothing re-encoded

    changed = article(1, text="A brand new report about zeppelins over Lisbon.")
    report = archive.add([changed])
    assert [a.id for a in report.updated] == ["a001"]
    assert fake_encoder.calls[-1] == 1  # only the changed article's passage
    assert archive.search("zeppelins Lisbon", k=1)[0].article.id == "a001"
    texts = [p.text for p in archive.store.article_passages("a001")]
    assert texts == ["A brand new report about zeppelins over Lisbon."]
    assert not archive.search("sanctions", k=10, retriever="bm25") or all(
        h.article.id != "a001" for h in archive.search("sanctions", k=10, retriever="bm25")
    )
    assert archive.check() == []


def test_edited_file_replaces_its_old_version(archive: Archive) -> None:
    first = make_article("old", "Original text of the file.", origin="/news/story.txt")
    archive.add([first])
    added = "2000-01-01T00:00:00+00:00"
    with archive.store.transaction() as db:
        db.execute("UPDATE articles SET added = ?", (added,))
    edited = make_article("new", "Edited text of the file.", origin="/news/story.txt")
    report = archive.add([edited])
    assert [a.id for a in report.updated] == ["new"]
    assert [(s.info.id, s.added) for s in archive.articles()] == [("new", added)]


def test_remove_by_prefix(archive: Archive) -> None:
    archive.add([article(1), article(2), article(13)])
    removed = archive.remove(["a002"])
    assert [a.id for a in removed] == ["a002"]
    assert "a002" not in ids_of(archive.search("minister sanctions", k=10))
    with pytest.raises(ArchiveError, match="2 articles have the id 'a0'"):
        archive.remove(["a0"])
    with pytest.raises(ArchiveError, match="no article has the id 'zzz'"):
        archive.remove(["zzz"])
    assert archive.check() == []
    assert archive.stats()["passages"] == len(archive.store.passage_ids(Filters()))


def test_duplicate_ids_in_one_batch_count_once(archive: Archive) -> None:
    report = archive.add([article(1), article(1)])
    assert len(report.added) == 1 and len(report.unchanged) == 1


def test_model_mismatch_is_a_clear_error(tmp_path: Path) -> None:
    directory = tmp_path / "index"
    Archive.open(directory, HashEncoder(name="model-a"), create=True).close()
    with pytest.raises(
        ModelMismatchError, match="built with model 'model-a'.*configured model is 'model-b'"
    ):
        Archive.open(directory, HashEncoder(name="model-b"))


def test_missing_index_and_foreign_directory(tmp_path: Path, fake_encoder: HashEncoder) -> None:
    with pytest.raises(IndexNotFoundError, match="no index in"):
        Archive.open(tmp_path / "none", fake_encoder)
    (tmp_path / "photos").mkdir()
    (tmp_path / "photos" / "cat.jpg").write_bytes(b"x")
    with pytest.raises(ArchiveError, match="not empty and holds no newsqa index"):
        Archive.open(tmp_path / "photos", fake_encoder, create=True)


class Crash(Exception):
    pass


def _crash_in_save(monkeypatch: pytest.MonkeyPatch, after_write: bool) -> None:
    real_save = VectorIndex.save

    def save(self: VectorIndex, path: Path) -> None:
        if after_write:
            real_save(self, path)
        else:
            path.with_name(path.name + ".tmp").write_bytes(b"half a file")
        raise Crash

    monkeypatch.setattr(VectorIndex, "save", save)


@pytest.mark.parametrize("point", ["vectors-half-written", "vectors-written", "manifest"])
def test_a_crash_mid_write_leaves_the_last_good_index(
    tmp_path: Path, fake_encoder: HashEncoder, monkeypatch: pytest.MonkeyPatch, point: str
) -> None:
    directory = tmp_path / "index"
    with Archive.open(directory, fake_encoder, create=True) as archive:
        archive.add([article(1)])
        good = [(h.passage.id, h.score) for h in archive.search("minister sanctions")]
        with monkeypatch.context() as m:
            if point == "manifest":
                m.setattr("index.archive.write_manifest", lambda *a: (_ for _ in ()).throw(Crash()))
            else:
                _crash_in_save(m, after_write=point == "vectors-written")
            with pytest.raises(Crash):
                archive.add([article(2), article(1, text="Replaced text about zeppelins.")])
    committed = point == "manifest"  # the crash came after the commit
    with Archive.open(directory, fake_encoder) as archive:
        found = ids_of(archive.search("minister sanctions zeppelins", k=10))
        if committed:
            assert set(found) == {"a001", "a002"}
        else:
            assert [(h.passage.id, h.score) for h in archive.search("minister sanctions")] == good
            assert set(found) == {"a001"}
        assert archive.check() == []
        report = archive.add([article(2), article(1, text="Replaced text about zeppelins.")])
        assert len(report.added) + len(report.updated) + len(report.unchanged) == 2
        assert set(ids_of(archive.search("zeppelins minister", k=10))) == {"a001", "a002"}
        assert archive.manifest.articles == 2
    assert not list(directory.glob("*.tmp"))


def test_damaged_vectors_and_manifest_are_rebuilt(
    tmp_path: Path, fake_encoder: HashEncoder
) -> None:
    directory = tmp_path / "index"
    with Archive.open(directory, fake_encoder, create=True) as archive:
        archive.add([article(1), article(2)])
        before = [(h.passage.id, round(h.score, 6)) for h in archive.search("oil prices")]
        generation = int(archive.stats()["generation"])  # type: ignore[call-overload]
    (directory / vectors_file(generation)).write_bytes(b"garbage")
    with pytest.raises(IndexCorruptError, match="damaged.*newsqa index rebuild"):
        Archive.open(directory, fake_encoder)
    (directory / "manifest.json").unlink()
    with pytest.raises(IndexCorruptError, match="manifest.json is missing.*newsqa index rebuild"):
        Archive.open(directory, fake_encoder)
    with Archive.recover(directory) as archive:
        archive.rebuild()
    with Archive.open(directory, fake_encoder) as archive:
        assert [(h.passage.id, round(h.score, 6)) for h in archive.search("oil prices")] == before
        assert archive.check() == []


def test_filters_by_source_and_date(archive: Archive) -> None:
    archive.add(
        [
            article(1, source="Reuters", published="2024-01-10"),
            article(2, source="AFP", published="2024-02-10"),
            article(3, source="reuters", published="2024-03-10"),
            article(4),
        ]
    )
    query = "minister sanctions oil envoy"
    for retriever in ("hybrid", "dense", "bm25"):

        def found(**kw: object) -> set[str]:
            return set(ids_of(archive.search(query, 10, Filters(**kw), retriever)))  # noqa: B023

        assert found(sources=("Reuters",)) == {"a001", "a003"}
        assert found(since="2024-02-01") == {"a002", "a003"}
        assert found(until="2024-02-10") == {"a001", "a002"}
        assert found(since="2024-01-11", until="2024-02-10", sources=("AFP",)) == {"a002"}
        assert found(since="2030-01-01") == set()
        assert found() == {"a001", "a002", "a003", "a004"}


def test_at_most_a_few_passages_per_article(tmp_path: Path, fake_encoder: HashEncoder) -> None:
    long_text = " ".join(f"Sanctions report number {i} says sanctions failed." for i in range(40))
    with Archive.open(
        tmp_path / "i", fake_encoder, create=True, search=SearchConfig(max_per_article=2)
    ) as archive:
        archive.add([article(1, text=long_text), article(2)])
        hits = archive.search("sanctions failed", k=5)
        assert ids_of(hits).count("a001") == 2
        assert "a002" in ids_of(hits)


def test_fts_query_builder_neutralises_syntax() -> None:
    assert query_terms("What did Lavrov say about sanctions?") == ["lavrov", "sanctions"]
    assert match_expression('title:x NEAR("a" b) * OR -c AND') == (
        '"title" OR "x" OR "near" OR "b" OR "c"'
    )
    assert match_expression("?!") is None
    assert match_expression("the of") == '"the" OR "of"'


def test_hostile_queries_never_error(archive: Archive) -> None:
    archive.add([article(1)])
    for query in [
        '"unbalanced',
        "a AND (b",
        "NEAR(x y, 2)",
        "col:*",
        "*",
        "",
        "😀 مرحبا",
        "x" * 10000,
    ]:
        archive.search(query, k=3)


def test_rrf_and_cap_helpers() -> None:
    fused = reciprocal_rank_fusion([["a", "b", "c"], ["c", "a"]], k=1)
    assert [item for item, _ in fused] == ["a", "c", "b"]
    assert fused[0][1] == pytest.approx(1 / 2 + 1 / 3)
    capped = cap_per_group(["a1", "a2", "a3", "b1", "b2"], lambda s: s[0], cap=2, k=3)
    assert capped == ["a1", "a2", "b1"]


# Fused search against brute force on seeded data.

_TOKEN = re.compile(r"\w+")


def _bm25_reference(
    docs: dict[int, tuple[str, str]], terms: list[str], weights: tuple[float, float]
) -> dict[int, float]:
    """FTS5's bm25(): sum over terms and columns of idf * tf(k1+1) / (tf + k1(1-b+b len/avg))."""
    k1, b = 1.2, 0.75
    tokens = {pid: [_TOKEN.findall(col.lower()) for col in cols] for pid, cols in docs.items()}
    n = len(docs)
    averages = [sum(len(t[c]) for t in tokens.values()) / n for c in range(2)]
    scores = {}
    for pid, cols in tokens.items():
        score = 0.0
        for term in terms:
            containing = sum(1 for t in tokens.values() if term in t[0] or term in t[1])
            idf = max(math.log((n - containing + 0.5) / (containing + 0.5)), 1e-6)
            for c in range(2):
                tf = cols[c].count(term)
                score += (
                    weights[c]
                    * idf
                    * tf
                    * (k1 + 1)
                    / (tf + k1 * (1 - b + b * len(cols[c]) / averages[c]))
                )
        if any(term in cols[0] or term in cols[1] for term in terms):
            scores[pid] = score
    return scores


def _convex_reference(
    dense: list[int],
    cosine: dict[int, float],
    bm25: dict[int, float],
    lexical: list[int],
    share: float,
) -> list[tuple[int, float]]:
    """Max-normalised scores, weighted. Every candidate (found by either list) is scored by both:
    its real cosine, and its real BM25 (0 when it holds none of the terms); nothing invented."""
    items = set(dense) | set(lexical)
    top_d = max(cosine[x] for x in dense)
    top_b = max((bm25[x] for x in lexical), default=0.0)
    fused = {
        p: share * max(cosine[p], 0.0) / top_d
        + (1 - share) * (bm25.get(p, 0.0) / top_b if top_b > 0 else 0.0)
        for p in items
    }
    return sorted(fused.items(), key=lambda pair: (-pair[1], str(pair[0])))


@pytest.mark.parametrize("fusion", ["rrf", "convex"])
def test_fused_search_matches_brute_force(tmp_path: Path, fusion: str) -> None:
    rng = np.random.default_rng(42)
    vocabulary = [f"w{i}" for i in range(60)]
    encoder = RandomEncoder(dimension=48)
    articles = []
    for n in range(40):
        sentences = [" ".join(rng.choice(vocabulary, size=8)) + "." for _ in range(3)]
        articles.append(
            make_article(f"s{n:02d}", " ".join(s.capitalize() for s in sentences), title=f"t{n}")
        )
    config = SearchConfig(
        candidates=30, rrf_k=60, max_per_article=100, title_weight=0.5, fusion=fusion,
        dense_share=0.4, coverage_weight=0.0,
    )  # fmt: skip
    with Archive.open(tmp_path / "i", encoder, create=True, search=config) as archive:
        archive.add(articles)
        stored = archive.store.passages(list(archive.store.passage_ids(Filters())))
        pids = np.array(sorted(stored), dtype=np.int64)
        vectors = archive.store.embeddings(list(pids), 48)
        matrix = np.stack([vectors[int(p)] for p in pids])
        docs = {int(p): (stored[int(p)][1].title, stored[int(p)][0].text) for p in pids}
        for _ in range(15):
            query = " ".join(rng.choice(vocabulary, size=3))
            qv = encoder.encode_queries([query])[0]
            cosine = matrix @ qv
            pool = max(config.candidates, 4 * 10)  # the archive widens the pool for large k
            dense = [int(pids[i]) for i in np.argsort(-cosine, kind="stable")[:pool]]
            bm25 = _bm25_reference(docs, query_terms(query), (0.5, 1.0))
            lexical = sorted(bm25, key=lambda p: -bm25[p])[:pool]
            if fusion == "rrf":
                expected = reciprocal_rank_fusion([dense, lexical], [1.0, 1.0], 60)[:10]
            else:
                by_id = {int(p): float(c) for p, c in zip(pids, cosine, strict=True)}
                expected = _convex_reference(dense, by_id, bm25, lexical, 0.4)[:10]
            hits = archive.search(query, k=10)
            got = [(h.passage.id, h.score) for h in hits]
            # Ties in cosine or BM25 may order equal scores differently; compare scores, then ids
            # where the reference has no tie.
            assert [s for _, s in got] == pytest.approx([s for _, s in expected], abs=1e-6)
            assert {p for p, _ in got} == {p for p, _ in expected} or _has_ties(expected)
            assert len(got) == 10
            for hit in hits:
                assert hit.dense_score == pytest.approx(
                    float(cosine[list(pids).index(hit.passage.id)]), abs=1e-5
                )
                if hit.bm25_score is not None:
                    assert hit.bm25_score == pytest.approx(bm25[hit.passage.id], rel=1e-4)


def _has_ties(ranked: list[tuple[int, float]]) -> bool:
    scores = [round(s, 12) for _, s in ranked]
    return len(set(scores)) < len(scores)


def test_sentence_coverage_lifts_the_passage_that_answers(tmp_path: Path) -> None:
    """Two passages share the question's words; the one holding them in one sentence wins."""
    encoder = HashEncoder()
    spread = make_article(
        "spread",
        "The harbour reopened. Fishing stopped for weeks. Then a storm hit the harbour again, "
        "the storm was bad.",
    )
    together = make_article(
        "together", "Talks went on today. The harbour reopened after the storm."
    )
    config = SearchConfig(coverage_weight=0.0, max_per_article=1)
    with Archive.open(tmp_path / "i", encoder, create=True, search=config) as archive:
        archive.add([spread, together])
        query = "harbour reopened storm"
        assert [h.article.id for h in archive.search(query, k=2)] == ["spread", "together"]
        archive.search_config = dataclasses.replace(config, coverage_weight=1.0)
        assert [h.article.id for h in archive.search(query, k=2)] == ["together", "spread"]


def test_passage_round_trip_keeps_offsets(archive: Archive) -> None:
    a = article(1)
    archive.add([a])
    for p in archive.store.article_passages(a.id):
        assert a.text[p.start : p.end] == p.text
        assert all(p.text[s:e].strip() == p.text[s:e] for s, e in p.sentences)
    stored = archive.store.get_article(a.id)
    assert stored is not None and dataclasses.replace(stored) == a


def test_bulk_ingest_commits_grow_with_the_index(
    archive: Archive, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each commit rewrites the vector file, so batches grow with the index: a bulk load makes
    a few commits, not one per fixed-size batch (which would be 20 here), nor one huge one."""
    monkeypatch.setattr("index.archive.MIN_BATCH_CHARS", 1_000)
    monkeypatch.setattr("index.archive.PASSAGE_CHARS", 400)
    texts = [f"Report number {n} on the harbour and its {n} boats." for n in range(400)]
    articles = [make_article(f"b{n:03d}", text) for n, text in enumerate(texts)]
    assert sum(len(t) for t in texts) // 1_000 >= 20
    before = archive.generation
    report = archive.add(articles)
    commits = archive.generation - before
    assert len(report.added) == 400 and archive.passage_count == 400
    assert 3 <= commits <= 10, commits


def test_a_nul_in_an_article_is_stored_as_a_space_and_its_passages_read_back_whole(
    tmp_path: Path, fake_encoder: HashEncoder
) -> None:
    """Passages are read out of their article's text with SQLite's substr(), which stops at a
    NUL character: stored as a space, every offset the same."""
    text = "The minister spoke.\x00 The envoy left Minsk for the talks. " * 12
    with Archive.open(tmp_path / "index", fake_encoder, create=True) as archive:
        archive.add([article(1, text), article(2)])
        stored = archive.store.get_article("a001")
        assert stored is not None and stored.text == text.replace("\x00", " ")
        passages = archive.store.article_passages("a001")
        assert len(passages) > 1
        assert all(stored.text[p.start : p.end] == p.text for p in passages)
        by_id = archive.store.passages([p.id or 0 for p in passages])
        assert [by_id[p.id or 0][0] for p in passages] == passages
        assert "a001" in ids_of(archive.search("envoy Minsk talks"))
        assert len(archive.add([article(1, text)]).unchanged) == 1  # the same article again
        archive.remove(["a001"])
        assert archive.check() == []
