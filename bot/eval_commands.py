"""CLI handlers for evaluation: `newsqa eval` and `newsqa eval-data`."""

from __future__ import annotations

import argparse
import json
import math
from dataclasses import asdict, replace
from pathlib import Path

from bot.evaluate import AnswerRecord, evaluate, format_report, load_questions
from bot.services import make_answerer
from corpus.datasets import LOADERS, write_jsonl


def eval_questions(args: argparse.Namespace) -> int:
    questions = load_questions(Path(args.questions), args.limit)
    if args.ignore_as_of:
        questions = [replace(q, as_of=None) for q in questions]
    elif args.as_of_window:
        questions = [replace(q, window_days=args.as_of_window) for q in questions]
    answerer = make_answerer(args.settings)
    records: list[AnswerRecord] = []
    with answerer.archive:
        report = evaluate(
            answerer,
            questions,
            retrievers=args.retriever or ("bm25", "dense", "hybrid"),
            with_answers=not args.no_answers,
            k=args.k or args.settings.k,
            records=records,
        )
    if args.answers_out:
        with Path(args.answers_out).open("w", encoding="utf-8") as f:
            for record in records:
                f.write(json.dumps(asdict(record), ensure_ascii=False) + "\n")
    if args.json:
        clean = {
            s: {k: None if math.isnan(v) else v for k, v in m.items()} for s, m in report.items()
        }
        print(json.dumps(clean))
    else:
        print(format_report(report))
    return 0


def eval_data(args: argparse.Namespace) -> int:
    articles, questions = LOADERS[args.dataset](Path(args.path))
    out = Path(args.out)
    write_jsonl(out / "articles.jsonl", articles)
    write_jsonl(out / "questions.jsonl", questions)
    for half in sorted({str(q["split"]) for q in questions if "split" in q}):
        write_jsonl(out / f"questions-{half}.jsonl", [q for q in questions if q["split"] == half])
    print(
        f"wrote {len(articles)} articles to {out / 'articles.jsonl'} and "
        f"{len(questions)} questions to {out / 'questions.jsonl'}"
    )
    return 0
