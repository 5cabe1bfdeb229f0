"""How strongly one sentence answers a question: a tiny logistic model over a few features,
its weights fitted on public data (`python -m bot.fit_evidence`, docs/quality.md) and shipped as
`bot/evidence_weights.json`.

Features of a candidate sentence (each in [0, 1] or a small range):
- `cosine`: the encoder's similarity of sentence and question;
- `coverage`, `context_coverage`: the IDF-weighted share of the question's terms in the sentence,
  and in the sentence with the context an answer would show;
- `hit_score`, `hit_rank`: how the passage it came from ranked in the hybrid search;
- `holds_expected`, `lacks_expected`: the question asks for a number, a measure (a number with
  its unit), an amount, a date, a place, a name, a person, a reason or a quote, and the sentence
  holds one of that type (or does not);
- `new_names`: capitalised words the question does not contain (an answer names something new);
- `position`: how early in its article the sentence stands (news puts the facts first);
- `short`, `colon`: a headline-like fragment, or a sentence that announces what follows.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from bot.question import DATE, MEASURE, MONEY, NAME, NUMBER, PERSON, PLACE, QUOTE, REASON, Question
from corpus.names import CALENDAR, STARTERS, words

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

FEATURES = (
    "bias",
    "cosine",
    "coverage",
    "context_coverage",
    "hit_score",
    "hit_rank",
    "holds_expected",
    "lacks_expected",
    "new_names",
    "position",
    "short",
    "colon",
)

_NUMBER_WORDS = words(
    """one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen
    sixteen seventeen eighteen nineteen twenty thirty forty fifty sixty seventy eighty ninety
    hundred thousand million billion trillion dozen dozens hundreds thousands millions billions
    half third quarter single double triple once twice"""
)
_MONTHS = (
    "January|February|March|April|May|June|July|August|September|October|November|December|"
    "Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept|Sep|Oct|Nov|Dec"
)
_PATTERNS = {
    NUMBER: re.compile(r"\d|\b(?:" + "|".join(sorted(_NUMBER_WORDS)) + r")\b", re.IGNORECASE),
    MONEY: re.compile(
        r"[$£€¥₹]\s?\d|\b\d[\d,.]*\s*(?:million|billion|trillion|bn|m)?\s*(?:dollars|euros|"
        r"pounds|yuan|yen|rupees|roubles|rubles)\b|\b(?:USD|EUR|GBP)\b",
        re.IGNORECASE,
    ),
    DATE: re.compile(
        rf"\b(?:{_MONTHS})\b\.?|\b(?:1[89]|20)\d\d\b|\b(?:Monday|Tuesday|Wednesday|Thursday|"
        r"Friday|Saturday|Sunday|yesterday|today|tomorrow|tonight)\b|\b\d{1,2}/\d{1,2}/\d{2,4}\b"
    ),
    REASON: re.compile(
        r"\b(?:because|due to|owing to|as a result|caused by|after|amid|following|since|"
        r"blamed|over concerns?|in response to|so that|in order to|to (?:protest|avoid|prevent)|"
        r"reason)\b",
        re.IGNORECASE,
    ),
    QUOTE: re.compile(r"[“”\"]"),
    PLACE: re.compile(
        r"\b(?:in|at|from|to|near|across|into|off|outside|inside)\s+(?:the\s+)?[A-Z][\w’'-]+"
    ),
}
_UNITS = (
    r"(?:second|minute|hour|day|night|week|month|year|decade|centur(?:y|ie)|season|term|"
    r"mile|kilomet(?:er|re)|km|met(?:er|re)|foot|feet|ft|inch(?:e)?|yard|mph|kph|knot|acre|"
    r"hectare|ton(?:ne)?|pound|lb|kilo(?:gram(?:me)?)?|kg|gram(?:me)?|storey|stor(?:y|ie)|"
    r"floor)s?"
)
_MEASURE = re.compile(  # a number with its unit: "five years", "a 1.2-mile bridge", "45 minutes",
    # "500 square feet", "an hour" (but not "a dance floor": "a" only right before its unit)
    rf"(?:\d[\d,.]*|\b(?:{'|'.join(sorted(_NUMBER_WORDS))}))[\s-]+(?:[\w-]+\s+)?{_UNITS}\b"
    rf"|\b(?:a|an)\s+{_UNITS}\b",
    re.IGNORECASE,
)
# numbers that say when, not how many: "March 16", "16th March", "in 2012", "8 p.m.", "3/14/2024"
_WHEN_NUMBERS = re.compile(
    rf"\b(?:{_MONTHS})\.?\s+\d{{1,2}}(?:st|nd|rd|th)?\b|\b\d{{1,2}}(?:st|nd|rd|th)?\s+(?:{_MONTHS})\b"
    r"|\b(?:in|since|until|from|before|after|during)\s+(?:1[89]|20)\d\d\b"
    r"|\b\d{1,2}(?::\d\d)?\s*(?:a\.m\.|p\.m\.|am\b|pm\b)|\b\d{1,2}/\d{1,2}(?:/\d{2,4})?\b",
    re.IGNORECASE,
)
_CAPITALISED = re.compile(r"\b[A-Z][\w’'-]*")
_COMMON_STARTS = STARTERS | CALENDAR | words("Mr Mrs Ms Dr")


def new_names(text: str, question: Question, people: bool = False) -> int:
    """Capitalised words of `text` (not its first) that the question does not contain; with
    `people`, not acronyms either (NBA, FBI: organisations, not the person a "who" asks for)."""
    asked = set(question.focus)
    found = _CAPITALISED.findall(text)[1:] if text[:1].isupper() else _CAPITALISED.findall(text)
    return sum(
        1
        for w in found
        if w.lower() not in asked
        and w not in _COMMON_STARTS
        and not (people and len(w) > 1 and w.isupper())
    )


def holds(kind: str, text: str, question: Question) -> bool:
    """Whether a sentence holds a value of the type the question asks for."""
    if kind == NAME:
        return new_names(text, question) > 0
    if kind == PERSON:
        return new_names(text, question, people=True) > 0
    if kind == MEASURE:
        return bool(_MEASURE.search(text))
    if kind == PLACE:
        return bool(_PATTERNS[PLACE].search(text)) and new_names(text, question) > 0
    if kind == NUMBER:  # a count: "March 16" or "in 2012" answers no "how many"
        return bool(_PATTERNS[NUMBER].search(_WHEN_NUMBERS.sub(" ", text)))
    return bool(_PATTERNS[kind].search(text))


@dataclass(frozen=True)
class Candidate:
    """What the model sees of one candidate sentence."""

    text: str  # the sentence
    cosine: float
    coverage: float
    context_coverage: float
    hit_score: float  # the passage's fused score over the best hit's
    hit_rank: int  # 0 for the best hit
    sentence_index: int  # in its article


def features(question: Question, c: Candidate) -> list[float]:
    """The feature vector of a candidate, in the order of FEATURES."""
    expected = question.expects
    held = expected is not None and holds(expected, c.text, question)
    return [
        1.0,
        c.cosine,
        c.coverage,
        c.context_coverage,
        c.hit_score,
        1.0 / (1.0 + c.hit_rank),
        1.0 if held else 0.0,
        1.0 if expected is not None and not held else 0.0,
        min(new_names(c.text, question), 3) / 3,
        1.0 / (1.0 + c.sentence_index / 5),
        1.0 if len(c.text) < 50 else 0.0,
        1.0 if c.text.rstrip().endswith(":") else 0.0,
    ]


@dataclass(frozen=True)
class EvidenceModel:
    """Logistic weights per feature; `score` is the log-odds that a sentence holds the answer."""

    weights: tuple[float, ...]

    def score(self, question: Question, candidate: Candidate) -> float:
        x = features(question, candidate)
        return sum(w * v for w, v in zip(self.weights, x, strict=True))

    def to_json(self, about: dict[str, object]) -> str:
        weights = {name: round(w, 4) + 0.0 for name, w in zip(FEATURES, self.weights, strict=True)}
        return json.dumps({"features": weights, "about": about}, indent=2)

    @classmethod
    def from_weights(cls, weights: dict[str, float]) -> EvidenceModel:
        return cls(tuple(float(weights.get(name, 0.0)) for name in FEATURES))


@lru_cache(maxsize=1)
def default_model() -> EvidenceModel:
    """The shipped weights (bot/evidence_weights.json)."""
    text = resources.files("bot").joinpath("evidence_weights.json").read_text(encoding="utf-8")
    return EvidenceModel.from_weights(json.loads(text)["features"])


class Fitted(Protocol):
    """A fitted linear model as the fit scripts write it."""

    @property
    def weights(self) -> tuple[float, ...]: ...

    def to_json(self, about: dict[str, object]) -> str: ...


def write_fitted(
    model: Fitted,
    names: Sequence[str],
    out: Path,
    prog: str,
    argv: list[str] | None,
    sets: list[dict[str, object]],
) -> None:
    """Write a fit script's model with the command that made it and the sets it used, and show
    its weights."""
    command = " ".join(sys.argv[1:] if argv is None else argv)
    about: dict[str, object] = {"command": f"python -m {prog} {command}", "sets": sets}
    out.write_text(model.to_json(about) + "\n", encoding="utf-8")
    width = max(map(len, names), default=0)
    for name, w in zip(names, model.weights, strict=True):
        print(f"  {name:<{width + 2}} {w:+.3f}", file=sys.stderr)


def fit_ranking(
    questions: Sequence[tuple[Sequence[Sequence[float]], Sequence[int]]],
    question_weights: Sequence[float] | None = None,
    l2: float = 0.1,
) -> tuple[float, ...]:
    """Weights that rank each question's answer-holding candidates first: the conditional
    logit (a softmax over one question's candidates, maximising the share of probability on
    those that hold the answer), L2-regularised, fitted by L-BFGS from zero (deterministic).
    The bias is constant within a question, so it stays 0 here; the threshold lives elsewhere."""
    import numpy as np
    from scipy.optimize import minimize  # a dependency of sentence-transformers

    blocks = [(np.asarray(x, np.float64), np.asarray(y, bool)) for x, y in questions]
    qw = np.ones(len(blocks)) if question_weights is None else np.asarray(question_weights)
    qw = qw * (len(qw) / qw.sum())  # a mean of 1: the weights set the balance, l2 the strength
    dim = blocks[0][0].shape[1]

    def loss(w: NDArray[np.float64]) -> tuple[float, NDArray[np.float64]]:
        total, grad = 0.5 * l2 * float(w @ w), l2 * w
        for (x, y), weight in zip(blocks, qw, strict=True):
            s = x @ w
            s = s - s.max()
            e = np.exp(s)
            p_all, p_pos = e / e.sum(), e * y / (e * y).sum()
            total += weight * -float(np.log((e * y).sum() / e.sum()))
            grad = grad + weight * (x.T @ (p_all - p_pos))
        return total, grad

    result = minimize(loss, np.zeros(dim), jac=True, method="L-BFGS-B")
    return tuple(float(v) for v in result.x)
