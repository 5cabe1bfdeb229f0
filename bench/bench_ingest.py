"""Goal 3, ingest: passages a second through the whole `newsqa ingest` path against plain
`SentenceTransformer.encode` of the same passages, in the same run, and what each encoder backend
does to retrieval quality on SciFact (nDCG@10, BEIR protocol, 300 test claims).

Ours, timed per round from the JSONL file to the committed index: read and clean the articles,
split them, encode every passage (title + text) and every distinct sentence (the answer path reads
the stored sentence vectors), write SQLite with FTS5, quotes and near-duplicate signatures, write
and fsync the FAISS file. The baseline is only the encoding of the passages that ingest produced,
with the library's defaults: `SentenceTransformer(model).encode(texts, normalize_embeddings=True)`.
Both models are loaded before the clock starts. Rounds alternate baseline and backends.

    .venv/bin/python bench/bench_ingest.py [--data ../shared/data/scifact] [--limit N]
        [--rounds R] [--backends onnx-int8 onnx torch]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from common import today  # noqa: E402

from bot.evaluate import EvalQuestion, ndcg_at, retrieval  # noqa: E402
from bot.services import make_encoder, open_archive, read_limits  # noqa: E402
from bot.settings import Settings  # noqa: E402
from corpus.datasets import scifact, write_jsonl  # noqa: E402
from corpus.readers import read_input  # noqa: E402
from corpus.split import SplitConfig, embedding_text, split_passages  # noqa: E402
from corpus.types import Article  # noqa: E402
from index.encoder import Encoder, model_location  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


class TimedEncoder:
    """Delegates to an encoder and adds up the seconds spent encoding."""

    def __init__(self, inner: Encoder):
        self.inner, self.seconds = inner, 0.0

    @property
    def name(self) -> str:
        return self.inner.name

    @property
    def dimension(self) -> int:
        return self.inner.dimension

    def load(self) -> None:
        self.inner.load()

    def encode_documents(self, texts: Sequence[str]) -> Any:
        started = time.perf_counter()
        try:
            return self.inner.encode_documents(texts)
        finally:
            self.seconds += time.perf_counter() - started

    def encode_queries(self, texts: Sequence[str]) -> Any:
        return self.inner.encode_queries(texts)


def subset(data: Path, limit: int) -> tuple[list[dict[str, Any]], list[EvalQuestion]]:
    """SciFact's articles (every judged one plus the first `limit` others; all with 0) and the
    test claims with their judged articles."""
    records, questions = scifact(data)
    judged = {a for q in questions for a in q["articles"]}
    if limit:
        records = [r for i, r in enumerate(records) if i < limit or r["id"] in judged]
    return records, [
        EvalQuestion(question=str(q["question"]), articles=tuple(q["articles"])) for q in questions
    ]


def passage_texts(articles: Sequence[Article], split: SplitConfig) -> tuple[list[str], list[str]]:
    """What ingest encodes as passages, in the same form, and the article id of each."""
    pairs = [
        (embedding_text(a.title, p.text), a.id)
        for a in articles
        for p in split_passages(a.id, a.text, split)
    ]
    return [text for text, _ in pairs], [owner for _, owner in pairs]


def ingest_once(source: Path, settings: Settings, encoder: TimedEncoder) -> tuple[float, int]:
    """Seconds and passages of one ingest of `source` into a fresh index."""
    encoder.seconds = 0.0
    started = time.perf_counter()
    result = read_input(str(source), read_limits(settings))
    with open_archive(settings, encoder=encoder, seed_bundled=False) as archive:
        report = archive.add(result.articles)
    return time.perf_counter() - started, report.passages


def dense_ndcg(
    ids: Sequence[str], passages: np.ndarray, queries: np.ndarray, questions: Sequence[EvalQuestion]
) -> float:
    """nDCG@10 ranking each article by its best passage, exact cosine."""
    scores = queries @ passages.T
    out = []
    for q, row in zip(questions, scores, strict=True):
        best: dict[str, float] = {}
        for article, score in zip(ids, row, strict=True):
            best[article] = max(best.get(article, -1.0), float(score))
        ranked = sorted(best, key=best.__getitem__, reverse=True)[:10]
        out.append(ndcg_at(ranked, set(q.articles)))
    return float(np.mean(out))


def spread(values: Sequence[float]) -> str:
    return f"{statistics.median(values):.1f} ({min(values):.1f}-{max(values):.1f})"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared/data/scifact")
    parser.add_argument("--limit", type=int, default=500, help="SciFact articles besides judged")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--backends", nargs="+", default=["onnx-int8", "onnx"])
    args = parser.parse_args()
    os.environ["HF_HUB_OFFLINE"] = "1"
    work = Path(tempfile.mkdtemp(prefix="newsqa-bench-ingest-"))
    records, questions = subset(args.data, args.limit)
    source = work / "scifact.jsonl"
    write_jsonl(source, records)
    base_settings = Settings(index_dir=work / "unused")
    articles = read_input(str(source), read_limits(base_settings)).articles
    split = SplitConfig(base_settings.passage_sentences, base_settings.passage_overlap)
    texts, owners = passage_texts(articles, split)

    from sentence_transformers import SentenceTransformer

    plain = SentenceTransformer(model_location(base_settings.model), device="cpu")
    plain.encode(texts[:32])
    encoders = {}
    for backend in args.backends:
        settings = Settings(index_dir=work / "unused", encoder_backend=backend)
        encoder = TimedEncoder(make_encoder(settings))
        encoder.encode_documents(texts[:32])  # load (and export once) outside the timing
        encoders[backend] = encoder

    base_seconds: list[float] = []
    ours: dict[str, list[tuple[float, int, float]]] = {b: [] for b in args.backends}
    baseline_vectors = np.zeros(0)
    for round_ in range(args.rounds):
        started = time.perf_counter()
        baseline_vectors = plain.encode(texts, normalize_embeddings=True)
        base_seconds.append(time.perf_counter() - started)
        for backend, encoder in encoders.items():
            settings = Settings(index_dir=work / f"{backend}-{round_}", encoder_backend=backend)
            seconds, passages = ingest_once(source, settings, encoder)
            assert passages == len(texts), (passages, len(texts))
            ours[backend].append((seconds, passages, encoder.seconds))
        print(f"round {round_ + 1}/{args.rounds} done", file=sys.stderr, flush=True)

    n = len(texts)
    print(
        f"# ingest, {today()}, {os.cpu_count()} cores: SciFact {len(articles)} articles, "
        f"{n} passages, {args.rounds} rounds; figures are median (min-max)"
    )
    base_rates = [n / s for s in base_seconds]
    print(f"{'SentenceTransformer.encode (baseline)':<40} {spread(base_rates)} passages/s")
    query_texts = [q.question for q in questions]
    base_ndcg = dense_ndcg(
        owners, baseline_vectors, plain.encode(query_texts, normalize_embeddings=True), questions
    )
    quality = [f"{'baseline dense (SentenceTransformer)':<40} nDCG@10 {base_ndcg:.4f}"]
    for backend, runs in ours.items():
        rates = [n / s for s, _, _ in runs]
        ratios = [r / b for r, b in zip(rates, base_rates, strict=True)]
        encoding = statistics.median(e / s for s, _, e in runs)
        print(
            f"{'newsqa ingest, ' + backend:<40} {spread(rates)} passages/s   "
            f"x{statistics.median(ratios):.2f} ({min(ratios):.2f}-{max(ratios):.2f})   "
            f"encoding {encoding:.0%} of the time"
        )
        settings = Settings(
            index_dir=work / f"{backend}-{args.rounds - 1}", encoder_backend=backend
        )
        with open_archive(settings, encoder=encoders[backend], seed_bundled=False) as archive:
            for retriever in ("dense", "hybrid"):
                ndcg = retrieval(archive, questions, retriever).summary()["ndcg@10"]
                delta = f" ({ndcg - base_ndcg:+.4f} vs baseline)" if retriever == "dense" else ""
                quality.append(
                    f"{'newsqa ' + backend + ', ' + retriever:<40} nDCG@10 {ndcg:.4f}{delta}"
                )
    print("\n".join(quality))


if __name__ == "__main__":
    main()
