"""`newsqa eval`: retrieval and answer quality of the current index, measured on a question file.

A question line is JSON with `question` and any of: `answers` (strings one of which must appear in
the answer), `articles` or `passages` (gold ids), `answerable` (false: the bot must abstain).
A dialogue line has `dialogue` (the turns, in order) instead of `question`: its last turn is
scored, as a turn of the conversation; `switch` (true: it starts a new topic and must be answered
as if asked alone) and `same_article` (true: "what else did the article say" must cite only the
article the previous answer cited first, and none of what it showed) add their own checks.
Retrieval is measured for each retriever asked for (dense, BM25, hybrid) on the same questions, so
every report carries its own baselines; answers are measured on the answerer's own (hybrid) path.
"""

from __future__ import annotations

import json
import math
import random
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from pathlib import Path

from bot.answer import Answer, Answerer
from bot.conversation import Conversation
from corpus.datasets import normal_answer
from corpus.errors import CorpusError
from index import Archive, Filters

CUTOFFS = (1, 3, 5, 10)
DEPTH = 100


@dataclass(frozen=True)
class EvalQuestion:
    question: str
    answers: tuple[str, ...] = ()
    articles: tuple[str, ...] = ()
    passages: tuple[int, ...] = ()
    answerable: bool = True
    context: tuple[str, ...] = ()  # a dialogue's earlier turns
    switch: bool = False
    same_article: bool = False
    as_of: date | None = None  # answer as of this day (a news quiz question's date)
    # with as_of: answer from the articles of these many days up to it only, the question's own
    # date words ignored (what a fixed date window alone does, `eval --as-of-window`)
    window_days: int | None = None


def load_questions(path: Path, limit: int | None = None, seed: int = 13) -> list[EvalQuestion]:
    """Questions from a JSONL file; with `limit`, a seeded random sample of that many."""
    questions = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as e:
        raise CorpusError(str(path), f"cannot read ({e.strerror or e})") from e
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            turns = [str(t) for t in record.get("dialogue") or [record["question"]]]
            questions.append(
                EvalQuestion(
                    question=turns[-1],
                    context=tuple(turns[:-1]),
                    switch=bool(record.get("switch", False)),
                    same_article=bool(record.get("same_article", False)),
                    answers=tuple(str(a) for a in record.get("answers", ())),
                    articles=tuple(str(a) for a in record.get("articles", ())),
                    passages=tuple(int(p) for p in record.get("passages", ())),
                    answerable=bool(record.get("answerable", True)),
                    as_of=date.fromisoformat(str(record["as_of"])) if record.get("as_of") else None,
                )
            )
        except (ValueError, KeyError, TypeError) as e:
            raise CorpusError(f"{path}:{number}", f"not a question line ({e})") from e
    if limit is not None and limit < len(questions):
        questions = random.Random(seed).sample(questions, limit)
    return questions


@dataclass
class RetrievalScores:
    """Per-question ranks of the first gold item, and the inputs of nDCG and recall@100."""

    first_ranks: list[int | None] = field(default_factory=list)
    ndcg10: list[float] = field(default_factory=list)
    recall100: list[float] = field(default_factory=list)

    def summary(self) -> dict[str, float]:
        n = len(self.first_ranks)
        if not n:
            return {}
        out = {
            f"recall@{c}": sum(1 for r in self.first_ranks if r is not None and r <= c) / n
            for c in CUTOFFS
        }
        out["mrr"] = sum(1 / r for r in self.first_ranks if r is not None) / n
        out["ndcg@10"] = statistics.fmean(self.ndcg10)
        out["recall@100"] = statistics.fmean(self.recall100)
        out["questions"] = n
        return out


def ndcg_at(ranked: Sequence[str | int], gold: set[str | int], cutoff: int = 10) -> float:
    """Binary-relevance nDCG, as BEIR computes it for SciFact (every judged document scores 1)."""
    dcg = sum(1 / math.log2(i + 2) for i, item in enumerate(ranked[:cutoff]) if item in gold)
    ideal = sum(1 / math.log2(i + 2) for i in range(min(len(gold), cutoff)))
    return dcg / ideal if ideal else 0.0


def rank_gold(
    archive: Archive, q: EvalQuestion, retriever: str
) -> tuple[list[str | int], set[str | int]]:
    """The ranked list (articles, or passages when the gold is passages) and the gold set."""
    if q.passages:
        hits = archive.search(q.question, DEPTH, retriever=retriever)
        return [h.passage.id for h in hits if h.passage.id is not None], set(q.passages)
    hits = archive.search(q.question, DEPTH, retriever=retriever, max_per_article=1)
    return [h.article.id for h in hits], set(q.articles)


def retrieval(
    archive: Archive, questions: Sequence[EvalQuestion], retriever: str
) -> RetrievalScores:
    scores = RetrievalScores()
    for q in questions:
        if not (q.articles or q.passages):
            continue
        ranked, gold = rank_gold(archive, q, retriever)
        first = next((i for i, item in enumerate(ranked, start=1) if item in gold), None)
        scores.first_ranks.append(first)
        scores.ndcg10.append(ndcg_at(ranked, gold))
        scores.recall100.append(len(gold & set(ranked[:DEPTH])) / len(gold))
    return scores


def verified_share(archive: Archive, answer: Answer) -> tuple[int, int]:
    """(sentences that match their cited passage in the store, sentences) for one answer."""
    good = 0
    for s in answer.sentences:
        citation = next((c for c in answer.citations if c.n == s.citation), None)
        if citation is None or citation.passage.id is None:
            continue
        stored = archive.store.passages([citation.passage.id]).get(citation.passage.id)
        if stored is None:
            continue
        passage, article = stored
        if (
            article.id == citation.article.id
            and passage.text[s.start : s.start + len(s.text)] == s.text
        ):
            good += 1
    return good, len(answer.sentences)


@dataclass(frozen=True)
class AnswerRecord:
    """How one answer fared: where the expected answer shows up, if anywhere."""

    question: str
    answer: str
    abstained: bool
    in_answer: bool  # an expected answer inside the answer text
    in_first: bool  # ... inside its first paragraph (the best evidence)
    in_cited: bool  # ... inside one of the cited passages
    in_archive: bool  # the question has gold articles (the archive holds an answer)
    chars: int
    latency_ms: float
    understood_as: str | None = None  # the question as answered, when rewritten or corrected
    followed: bool = False  # a dialogue's last turn was rewritten from the conversation
    in_article: bool = False  # "what else": only the previous article, nothing shown again
    cited: tuple[str, ...] = ()  # the cited articles' ids, in citation order


def answer_record(answerer: Answerer, q: EvalQuestion, k: int) -> tuple[Answer, AnswerRecord]:
    in_article = followed = False
    if q.context:
        conversation = Conversation("eval")
        for turn in q.context:
            conversation.ask(answerer, turn, k)
        previous = conversation.turns[-1]
        started = time.perf_counter()
        answer = conversation.ask(answerer, q.question, k)
        latency = (time.perf_counter() - started) * 1000
        followed = conversation.turns[-1].understood != conversation.turns[-1].asked
        cited = {c.article.id for c in answer.citations}
        in_article = (
            not answer.abstained
            and previous.article is not None
            and cited == {previous.article.id}
            and not set(previous.shown) & {s.text for s in answer.sentences if s.evidence}
        )
    else:
        started = time.perf_counter()
        if q.window_days is not None and q.as_of is not None:
            undated = replace(answerer.read(q.question, q.as_of), dates=None)
            since = q.as_of - timedelta(days=q.window_days - 1)
            answer = answerer.answer(undated, k, filters=Filters(since=since.isoformat()))
        else:
            answer = answerer.answer(q.question, k, as_of=q.as_of)
        latency = (time.perf_counter() - started) * 1000
    expected = [normal_answer(a) for a in q.answers]
    text = "" if answer.abstained else answer.text
    first = text.split("\n\n", 1)[0]
    passages = [normal_answer(c.passage.text) for c in answer.citations]
    record = AnswerRecord(
        question=q.question,
        answer=text,
        abstained=answer.abstained,
        in_answer=any(e in normal_answer(text) for e in expected),
        in_first=any(e in normal_answer(first) for e in expected),
        in_cited=any(e in p for e in expected for p in passages),
        in_archive=bool(q.articles),
        chars=len(text),
        latency_ms=latency,
        understood_as=answer.understood_as,
        in_article=in_article,
        followed=followed,
        cited=tuple(c.article.id for c in answer.citations),
    )
    return answer, record


def right(q: EvalQuestion, record: AnswerRecord) -> bool:
    """Whether a last turn is right: it abstains when it must, stays in the article when asked
    "what else", shows the expected answer otherwise; a topic switch must not be rewritten."""
    if q.switch and record.followed:
        return False
    if not q.answerable:
        return record.abstained
    return record.in_article if q.same_article else record.in_answer


def answers(
    answerer: Answerer,
    questions: Sequence[EvalQuestion],
    k: int,
    records: list[AnswerRecord] | None = None,
) -> dict[str, float]:
    """Answer-level measures on the answerer's own path; `records` collects each answer's."""
    contains = contains_top1 = top1 = cited = first = held = held_contains = held_cited = 0
    expected = abstained_right = abstained = unanswerable = answered_answerable = answerable = 0
    verified = sentences = dialogues = dialogues_right = switches = switches_right = 0
    latencies, lengths = [], []
    for q in questions:
        answer, record = answer_record(answerer, q, k)
        if records is not None:
            records.append(record)
        if q.context:
            dialogues += 1
            dialogues_right += right(q, record)
            switches += q.switch
            switches_right += q.switch and right(q, record)
        latencies.append(record.latency_ms)
        good, total = verified_share(answerer.archive, answer)
        verified, sentences = verified + good, sentences + total
        abstained += answer.abstained
        if not q.answerable:
            unanswerable += 1
            abstained_right += answer.abstained
            continue
        answerable += 1
        answered_answerable += not answer.abstained
        if not answer.abstained:
            lengths.append(record.chars)
        if q.answers:
            expected += 1
            contains += record.in_answer
            cited += record.in_cited
            first += record.in_first
            if record.in_archive:
                held += 1
                held_contains += record.in_answer
                held_cited += record.in_cited
            if q.articles and _top_article(answerer.archive, q) in q.articles:
                top1 += 1
                contains_top1 += record.in_answer
    latencies.sort()
    out: dict[str, float] = {
        "questions": len(questions),
        "answered (answerable)": answered_answerable / answerable if answerable else math.nan,
        "answer contains expected": contains / expected if expected else math.nan,
        "... when gold ranks first": contains_top1 / top1 if top1 else math.nan,
        "cited passage contains it": cited / expected if expected else math.nan,
        "first paragraph holds it": first / contains if contains else math.nan,
    }
    if held < expected:  # some questions have no gold article: the archive may lack the answer
        out["contains (archive holds it)"] = held_contains / held if held else math.nan
        out["cited (archive holds it)"] = held_cited / held if held else math.nan
    if dialogues:
        out["dialogues: last turn right"] = dialogues_right / dialogues
        out["... topic switches handled"] = switches_right / switches if switches else math.nan
    out |= {
        "abstention precision": abstained_right / abstained if abstained else math.nan,
        "abstention recall": abstained_right / unanswerable if unanswerable else math.nan,
        "citation precision": verified / sentences if sentences else math.nan,
        "answer chars p50": statistics.median(lengths) if lengths else math.nan,
        "latency p50 ms": latencies[len(latencies) // 2] if latencies else math.nan,
        "latency p95 ms": latencies[min(len(latencies) - 1, int(len(latencies) * 0.95))]
        if latencies
        else math.nan,
    }
    return out


def _top_article(archive: Archive, q: EvalQuestion) -> str | None:
    hits = archive.search(q.question, 1, max_per_article=1)
    return hits[0].article.id if hits else None


def evaluate(
    answerer: Answerer,
    questions: Sequence[EvalQuestion],
    retrievers: Sequence[str] = ("bm25", "dense", "hybrid"),
    with_answers: bool = True,
    k: int = 5,
    records: list[AnswerRecord] | None = None,
) -> dict[str, dict[str, float]]:
    """The whole report: one section per retriever, and one for answers."""
    report: dict[str, dict[str, float]] = {}
    for retriever in retrievers:
        summary = retrieval(answerer.archive, questions, retriever).summary()
        if summary:
            report[f"retrieval: {retriever}"] = summary
    if with_answers:
        report["answers (hybrid)"] = answers(answerer, questions, k, records)
    return report


def format_report(report: dict[str, dict[str, float]]) -> str:
    lines = []
    for section, values in report.items():
        lines.append(section)
        for name, value in values.items():
            shown = f"{value:.0f}" if name in ("questions", "answer chars p50") else f"{value:.4f}"
            lines.append(f"  {name:<28} {shown}")
    return "\n".join(lines)
