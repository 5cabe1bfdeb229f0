"""Would smaller sentence-vector codes keep the answers? The ground for issue 11's storage goal.

    .venv/bin/python bench/bench_sentence_codes.py --index DIR QUESTIONS.jsonl [...] \
        [--codes int8 int4 pca256 pca192 pca128]

The stored sentence vectors (int8 codes and a float32 scale per row) are the index's largest
part. Each code is tried by reading every stored row back through it, in this process, and
answering the same questions (undated, as `newsqa eval --ignore-as-of` does) with a fresh
answerer; `int8` is the index as stored, the baseline of the same run (always run first):

- `int4`: the stored vector re-quantised to 4-bit codes with a per-row scale (half the bytes);
- `pcaK`: the stored vector projected on the K leading directions of 10,000 stored vectors
  (uncentred SVD: cosines are what the answer path reads) and back, its length kept: what K int8
  codes a row would keep.

For each code: the bytes a row's codes would take, how many answers are the same text as the
baseline's, how many hold the gold answer, and their median length. Issue 11 asks for at least
95% of answer texts unchanged by its storage work.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import index.sentence_vectors as sentence_table  # noqa: E402
from bot.evaluate import AnswerRecord, answers, load_questions  # noqa: E402
from bot.services import make_answerer  # noqa: E402
from bot.settings import load_settings  # noqa: E402

Codes = Callable[[NDArray[np.float32]], NDArray[np.float32]]
_STORED = sentence_table.decode_rows


def int4(x: NDArray[np.float32]) -> NDArray[np.float32]:
    peak = np.abs(x).max(axis=1, keepdims=True)
    scale = np.where(peak > 0, peak / 7.0, 1.0)
    return (np.clip(np.rint(x / scale), -7, 7) * scale).astype(np.float32)


def projection(sample: NDArray[np.float32], k: int) -> Codes:
    basis = np.linalg.svd(sample, full_matrices=False)[2][:k].T

    def project(x: NDArray[np.float32]) -> NDArray[np.float32]:
        y = (x @ basis) @ basis.T
        norm = np.linalg.norm(y, axis=1, keepdims=True)
        length = np.linalg.norm(x, axis=1, keepdims=True)
        return (y / np.where(norm > 0, norm, 1.0) * length).astype(np.float32)

    return project


def sample_rows(index: Path, n: int, dimension: int) -> NDArray[np.float32]:
    """`n` stored sentence vectors, evenly spaced over the table."""
    import sqlite3

    db = sqlite3.connect(f"file:{index / 'newsqa.sqlite'}?mode=ro", uri=True)
    total = db.execute("SELECT count(*) FROM sentence_vectors").fetchone()[0]
    step = max(1, total // n)
    rows = db.execute("SELECT vector FROM sentence_vectors")  # WITHOUT ROWID: every step-th
    blobs = [b for i, (b,) in enumerate(rows) if i % step == 0]
    db.close()
    return _STORED(blobs[:n], dimension)


def run(index: Path, files: list[Path], code: Codes) -> list[AnswerRecord]:
    sentence_table.decode_rows = lambda blobs, dimension: code(_STORED(blobs, dimension))
    try:
        answerer = make_answerer(load_settings({"index_dir": index}))
        questions = [replace(q, as_of=None) for f in files for q in load_questions(f)]
        records: list[AnswerRecord] = []
        with answerer.archive:
            answers(answerer, questions, 5, records)
        return records
    finally:
        sentence_table.decode_rows = _STORED


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--index", type=Path, required=True)
    parser.add_argument("questions", type=Path, nargs="+")
    parser.add_argument(
        "--codes", nargs="+", default=["int8", "int4", "pca256", "pca192", "pca128"]
    )
    parser.add_argument("--dimension", type=int, default=384)
    args = parser.parse_args()
    d = args.dimension
    sample = sample_rows(args.index, 10_000, d)
    base: list[AnswerRecord] | None = None
    for name in ["int8", *(c for c in args.codes if c != "int8")]:  # the baseline first
        if name == "int8":
            code: Codes = lambda x: x  # noqa: E731
            size = d
        elif name == "int4":
            code, size = int4, d // 2
        elif name.startswith("pca"):
            code, size = projection(sample, int(name[3:])), int(name[3:])
        else:
            parser.error(f"unknown code {name!r}")
        records = run(args.index, args.questions, code)
        base = base or records  # int8: the index as stored
        same = sum(a.answer == b.answer for a, b in zip(base, records, strict=True))
        print(
            f"{name:<7} {4 + size:4d} bytes a row   same answers {same}/{len(records)}"
            f" ({same / len(records):.1%})   gold in answer {sum(r.in_answer for r in records)}"
            f"   median {statistics.median(r.chars for r in records):.0f} chars",
            flush=True,
        )


if __name__ == "__main__":
    main()
