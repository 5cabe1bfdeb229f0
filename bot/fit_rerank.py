"""Fit the learned rerank's weights (`index/rerank_weights.json`) on public question sets.

    python -m bot.fit_rerank --articles INDEX_DIR QUESTIONS.jsonl [--articles ...] \
        [--answers INDEX_DIR QUESTIONS.jsonl ...] [--skip-sample N] [--split-out DIR] \
        --out index/rerank_weights.json

`--articles` sets (SQuAD) label a passage by whether its article is a gold one, and search as
`newsqa eval` measures retrieval (the question as asked, 100 results); `--answers` sets
(RealTime QA) label it by whether its text holds a gold answer (lower-cased, punctuation
removed), and search as the answer path does (the parsed question, its terms, 8 results).
Each set's scored questions are split in two by a seeded draw: the fit sees one half and never
the other, which `--split-out DIR` writes as `NAME-heldout.jsonl` (with what it fitted on as
`NAME-fitted.jsonl`) for `newsqa eval` to report. `--skip-sample N` also leaves out the sample
`newsqa eval --limit N` measures. Only questions train it (the rerank applies to questions
only, `index.rerank.asks`), and only those whose top passages both hold and miss the gold:
the others teach nothing about ranking. Each set weighs the same, however many it has.
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

from bot.answer import Answerer
from bot.evaluate import EvalQuestion, load_questions
from bot.evidence import fit_ranking, write_fitted
from bot.services import make_answerer
from bot.settings import load_settings
from corpus.datasets import normal_answer
from index.rerank import FEATURES, RerankModel, asks

Block = tuple[list[list[float]], list[int]]  # one question: candidates' features, labels
SEED = 17
ANSWER_K = 8  # the answer path's search: max(k, AnswerConfig.candidates)
EVAL_K = 100  # newsqa eval's retrieval depth


def halves(questions: list[EvalQuestion], by_articles: bool) -> tuple[list[int], list[int]]:
    """(fitted, held-out) positions among the questions a set scores: a seeded half held out."""
    scored = [n for n, q in enumerate(questions) if (q.articles if by_articles else q.answers)]
    held = set(random.Random(SEED).sample(range(len(scored)), len(scored) // 2))
    return (
        [n for i, n in enumerate(scored) if i not in held],
        [n for i, n in enumerate(scored) if i in held],
    )


def block(answerer: Answerer, q: EvalQuestion, by_articles: bool) -> Block | None:
    """The features and labels of a question's reranked passages, if they teach anything."""
    archive = answerer.archive
    if by_articles:
        if not asks(q.question):
            return None
        candidates = archive.rerank_candidates(q.question, EVAL_K)
        labels = [int(c.passage.article_id in q.articles) for c in candidates]
    else:
        parsed = answerer.read(q.question)
        if not asks(parsed.understood_as):
            return None
        candidates = archive.rerank_candidates(
            parsed.understood_as, ANSWER_K, terms=parsed.search_terms
        )
        gold = [normal_answer(a) for a in q.answers if normal_answer(a)]
        texts = [normal_answer(c.passage.text) for c in candidates]
        labels = [int(any(g in t for g in gold)) for t in texts]
    if not any(labels) or all(labels):
        return None
    return [c.features() for c in candidates], labels


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.fit_rerank", description=__doc__)
    for flag, labelled in (("--articles", "gold articles"), ("--answers", "gold answers")):
        parser.add_argument(
            flag, nargs=2, action="append", default=[], metavar=("INDEX_DIR", "QUESTIONS"),
            help=f"a set labelled by {labelled}",
        )  # fmt: skip
    parser.add_argument("--skip-sample", type=int, metavar="N", help="leave out eval's sample")
    parser.add_argument("--split-out", type=Path, metavar="DIR", help="write the two halves")
    parser.add_argument("--l2", type=float, default=1.0, help="L2 penalty of the fit")
    parser.add_argument("--out", required=True, type=Path)
    args = parser.parse_args(argv)
    if not args.articles and not args.answers:
        parser.error("give at least one --articles or --answers set")

    blocks: list[Block] = []
    weights: list[float] = []
    sets: list[dict[str, object]] = []
    data = [(d, True) for d in args.articles] + [(d, False) for d in args.answers]
    for (index_dir, path), by_articles in data:
        questions = load_questions(Path(path))
        fitted, held = halves(questions, by_articles)
        if args.skip_sample and args.skip_sample < len(questions):
            sample = {q.question for q in load_questions(Path(path), args.skip_sample)}
            fitted = [n for n in fitted if questions[n].question not in sample]
        if args.split_out:
            _write_halves(Path(path), questions, fitted, held, args.split_out)
        answerer = make_answerer(load_settings({"index_dir": index_dir}))
        with answerer.archive:
            found = [b for n in fitted if (b := block(answerer, questions[n], by_articles))]
        print(f"{path}: {len(found)} of {len(fitted)} questions used", file=sys.stderr)
        if not found:
            continue
        blocks += found
        weights += [1.0 / len(found)] * len(found)  # each set weighs the same
        sets.append({"questions": Path(path).name, "fitted": len(fitted), "used": len(found)})
    if not blocks:
        parser.error("no question taught anything: no set had questions whose top passages differ")
    model = RerankModel(fit_ranking(blocks, weights, l2=args.l2))
    write_fitted(model, FEATURES, args.out, "bot.fit_rerank", argv, sets)
    return 0


def _write_halves(
    path: Path, questions: list[EvalQuestion], fitted: list[int], held: list[int], out: Path
) -> None:
    """The set's lines of each half as they are in its file, for `newsqa eval`: the fitted
    one as DIR/<folder>-<name>-fitted.jsonl, the held-out one as ...-heldout.jsonl."""
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    if len(lines) != len(questions):
        raise ValueError(f"{path}: expected one question per non-empty line")
    out.mkdir(parents=True, exist_ok=True)
    for name, part in (("fitted", fitted), ("heldout", held)):
        text = "".join(lines[n] + "\n" for n in part)
        (out / f"{path.parent.name}-{path.stem}-{name}.jsonl").write_text(text, encoding="utf-8")


if __name__ == "__main__":
    raise SystemExit(main())
