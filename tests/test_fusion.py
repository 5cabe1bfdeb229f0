"""Fusion never credits a passage with a score it did not earn."""

from __future__ import annotations

from pathlib import Path

from index import Archive, SearchConfig
from index.fusion import convex_fusion
from tests.conftest import make_article
from tests.fakes import RandomEncoder


def test_an_item_missing_from_a_list_scores_zero_there() -> None:
    fused = dict(convex_fusion([[("a", 0.9), ("b", 0.8)], [("a", 4.0)]], [0.5, 0.5]))
    assert fused["a"] == 0.5 * 1.0 + 0.5 * 1.0
    assert fused["b"] == 0.5 * (0.8 / 0.9)  # no BM25 credit: BM25 never found it


def test_a_rare_name_bm25_finds_stays_on_top(tmp_path: Path) -> None:
    """Two passages hold a rare name; the others hold none of the question's words. Giving the
    others the BM25 list's lowest score (near 1 when it has two entries) let them outrank the
    two; with their real BM25 score (0), the two rank first."""
    articles = [make_article(f"f{n}", f"Filler text number {n} about harbours and boats.")
                for n in range(30)]  # fmt: skip
    articles += [
        make_article("z1", "Zbigniewski spoke about the harbour on Monday."),
        make_article("z2", "Reporters asked Zbigniewski about the boats."),
    ]
    config = SearchConfig(dense_share=0.3, coverage_weight=0.0)
    with Archive.open(tmp_path / "i", RandomEncoder(), create=True, search=config) as archive:
        archive.add(articles)
        hits = archive.search("Zbigniewski", k=5)
    assert {h.article.id for h in hits[:2]} == {"z1", "z2"}
    assert all(h.bm25_score is None or h.bm25_score == 0 for h in hits[2:])
