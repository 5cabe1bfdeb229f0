"""Fit the evidence model's weights (`bot/evidence_weights.json`) on public question sets.

    python -m bot.fit_evidence --data INDEX_DIR QUESTIONS.jsonl [--data ...] \
        [--set-weight W ...] [--skip-sample N] [--limit N] --out bot/evidence_weights.json

Each `--data` pairs an index with a question file of `newsqa eval`'s format (`answers` needed).
Every candidate sentence the answerer considers for a question is labelled by whether it holds
one of the expected answers (lower-cased, punctuation removed); the fit ranks each question's
answer-holding candidates first (`bot.evidence.fit_ranking`). Questions where all or none of
the candidates hold an answer teach nothing about ranking and are left out. Each data set
weighs the same in the fit, however many questions it has, unless `--set-weight` (one per
`--data`, in order) says otherwise. `--skip-sample N` leaves out the seeded sample of N questions
that `newsqa eval --limit N` measures, so a set can be both fitted on and reported on honestly;
held-out files are never passed here.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bot.answer import Answerer
from bot.evaluate import EvalQuestion, load_questions
from bot.evidence import FEATURES, EvidenceModel, features, fit_ranking, write_fitted
from bot.services import make_answerer
from bot.settings import load_settings
from corpus.datasets import normal_answer

Block = tuple[list[list[float]], list[int]]  # one question: candidates' features, labels


def examples(answerer: Answerer, questions: list[EvalQuestion], k: int) -> list[Block]:
    """One block per question whose candidates both hold and miss the answer."""
    blocks: list[Block] = []
    for q in questions:
        expected = [normal_answer(a) for a in q.answers if normal_answer(a)]
        if not expected:
            continue
        parsed = answerer.read(q.question)
        if parsed.speaker is not None or parsed.unknown:
            continue  # answered from quotes, or not at all: the model does not rank these
        groups, _ = answerer.evidence(parsed, k, distinct=False)
        rows, labels = [], []
        for g in groups:
            if g.candidate is not None:
                rows.append(features(parsed, g.candidate))
                text = normal_answer(g.candidate.text)
                labels.append(int(any(e in text for e in expected)))
        if any(labels) and not all(labels):
            blocks.append((rows, labels))
    return blocks


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.fit_evidence", description=__doc__)
    parser.add_argument(
        "--data", nargs=2, action="append", required=True, metavar=("INDEX_DIR", "QUESTIONS")
    )
    parser.add_argument(
        "--set-weight", type=float, action="append", metavar="W", help="per --data, in order"
    )
    parser.add_argument("--skip-sample", type=int, metavar="N", help="leave out eval's sample")
    parser.add_argument("--limit", type=int, metavar="N", help="at most N questions per set")
    parser.add_argument("--l2", type=float, default=0.1, help="L2 penalty of the fit")
    parser.add_argument("--k", type=int, default=5)
    parser.add_argument("--out", required=True, type=Path)
    args = parser.parse_args(argv)
    set_weights = args.set_weight or [1.0] * len(args.data)
    if len(set_weights) != len(args.data) or min(set_weights) <= 0:
        parser.error("--set-weight: one positive weight per --data")

    blocks: list[Block] = []
    weights: list[float] = []
    sets: list[dict[str, object]] = []
    for (index_dir, path), set_weight in zip(args.data, set_weights, strict=True):
        questions = load_questions(Path(path))
        if args.skip_sample and args.skip_sample < len(questions):
            sample = {q.question for q in load_questions(Path(path), args.skip_sample)}
            questions = [q for q in questions if q.question not in sample and q.answers]
        questions = questions[: args.limit] if args.limit else questions
        answerer = make_answerer(load_settings({"index_dir": index_dir}))
        with answerer.archive:
            found = examples(answerer, questions, args.k)
        print(f"{path}: {len(found)} of {len(questions)} questions used", file=sys.stderr)
        blocks += found
        weights += [set_weight / max(1, len(found))] * len(found)  # a set's weight, shared
        sets.append({"questions": Path(path).name, "used": len(found), "weight": set_weight})
    model = EvidenceModel(fit_ranking(blocks, weights, l2=args.l2))
    write_fitted(model, FEATURES, args.out, "bot.fit_evidence", argv, sets)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
