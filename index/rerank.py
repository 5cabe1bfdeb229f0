"""The learned rerank of search's top passages: a tiny linear model over features that cost
nothing to compute at question time, its weights fitted on public questions
(`python -m bot.fit_rerank`, docs/quality.md) and shipped as `index/rerank_weights.json`.

Features of a candidate passage:
- `fused`: its fused dense + BM25 score (`index.fusion.convex_fusion`, 0 to 1);
- `coverage`: the IDF-weighted share of the question's terms in its best-covering sentence;
- `sentence_cosine`: the encoder's similarity of the question and its closest sentence, from
  the sentence vectors stored at ingest (nothing is encoded; the passage's own cosine when
  none are stored).

The model is fitted on questions (SQuAD, RealTime QA), so it reranks questions only; any other
query (a claim, a few keywords) keeps the coverage rerank. It is not the default
(`NEWSQA_RERANK=learned` selects it): it lifts SQuAD's paragraph retrieval, but the answers on
real news questions did not follow (docs/quality.md, "A learned rerank of search's top passages").
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from corpus.types import Passage

FEATURES = ("fused", "coverage", "sentence_cosine")

_ASKS = re.compile(
    r"^\W*(?:who|whom|whose|what|when|where|which|why|how|is|are|was|were|do|does|did|can|"
    r"could|will|would|should|has|have|had)\b",
    re.IGNORECASE,
)


def asks(query: str) -> bool:
    """Whether a query is a question (ends in "?" or opens with a question word): what the
    model was fitted on."""
    return query.rstrip().endswith("?") or _ASKS.match(query) is not None


@dataclass(frozen=True)
class Candidate:
    """What the model sees of one passage among search's top ones."""

    passage: Passage
    fused: float
    coverage: float
    sentence_cosine: float

    def features(self) -> list[float]:
        """The feature vector, in the order of FEATURES."""
        return [self.fused, self.coverage, self.sentence_cosine]


@dataclass(frozen=True)
class RerankModel:
    """Linear weights per feature, fitted as a conditional logit over one question's passages."""

    weights: tuple[float, ...]

    def score(self, candidate: Candidate) -> float:
        """The model's score in units of the fused score (its weight scaled to 1), so a reranked
        passage's score reads like the coverage rerank's: fused score plus a bonus."""
        x = candidate.features()
        return sum(w * v for w, v in zip(self.weights, x, strict=True)) / self.weights[0]

    def to_json(self, about: dict[str, object]) -> str:
        weights = {name: round(w, 4) + 0.0 for name, w in zip(FEATURES, self.weights, strict=True)}
        return json.dumps({"features": weights, "about": about}, indent=2)

    @classmethod
    def from_weights(cls, weights: dict[str, float]) -> RerankModel:
        if float(weights.get("fused", 0.0)) <= 0:
            raise ValueError("a rerank model needs a positive weight on the fused score")
        return cls(tuple(float(weights.get(name, 0.0)) for name in FEATURES))


@lru_cache(maxsize=1)
def default_model() -> RerankModel:
    """The shipped weights (index/rerank_weights.json)."""
    text = resources.files("index").joinpath("rerank_weights.json").read_text(encoding="utf-8")
    return RerankModel.from_weights(json.loads(text)["features"])


def reranked(
    candidates: Sequence[tuple[int, Candidate]], model: RerankModel
) -> list[tuple[int, float]]:
    """(passage id, model score) of (passage id, candidate) pairs, best first; a tie keeps the
    fused order."""
    scored = [(pid, model.score(c)) for pid, c in candidates]
    order = sorted(range(len(scored)), key=lambda n: (-scored[n][1], n))
    return [scored[n] for n in order]
