"""Golden retrieval on the bundled articles with the real packaged model: each question's passage
must rank in the top 3."""

from __future__ import annotations

from pathlib import Path

import pytest

from index import Archive
from index.encoder import Encoder

pytestmark = pytest.mark.model

GOLDEN = [
    ("What did Lavrov say about sanctions?", "the pressure of sanctions has been exhausted"),
    ("What did Nikki Haley warn the Security Council?", "utterly destroyed"),
    ("How much did fuel prices rise in North Korea?", "fuel prices had spiked 90 per cent"),
    ("Is the US ready to talk to North Korea without preconditions?", "without preconditions"),
    ("What did the Global Times say about an oil embargo?", "humanitarian crisis"),
    ("What nickname did Trump use for Kim Jong Un?", "Little Rocket Man"),
    ("Where did Tillerson say the president wants China to cut the oil off?", "Atlantic Council"),
    ("Does South Korea believe the North mastered re-entry?", "re-entry technology"),
    ("Which North Korean imports has Beijing banned?", "coal, iron ore and seafood"),
    ("What did the US promise China about the 38th parallel?", "38th parallel"),
    ("Why does Beijing fear tougher action against Pyongyang?", "refugee crisis"),
]


@pytest.mark.parametrize(("question", "evidence"), GOLDEN)
def test_golden_question_finds_its_passage(
    bundled_index: Path, real_encoder: Encoder, question: str, evidence: str
) -> None:
    with Archive.open(bundled_index, real_encoder) as archive:
        hits = archive.search(question, k=3)
    assert any(evidence in hit.passage.text for hit in hits), [h.passage.text[:80] for h in hits]


def test_each_retriever_alone_is_not_enough(bundled_index: Path, real_encoder: Encoder) -> None:
    """Fusion earns its keep: it finds every golden passage, at least as many as either alone."""
    found = {}
    with Archive.open(bundled_index, real_encoder) as archive:
        for retriever in ("dense", "bm25", "hybrid"):
            found[retriever] = sum(
                any(e in h.passage.text for h in archive.search(q, k=3, retriever=retriever))
                for q, e in GOLDEN
            )
    assert found["hybrid"] == len(GOLDEN)
    assert found["hybrid"] >= max(found["dense"], found["bm25"])
