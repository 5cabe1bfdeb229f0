"""Goal 2, query latency, warm and in process: question to finished `Answer`, on an archive of the
bundled articles (real vectors) padded with synthetic passages (random vectors, generated text) to
N passages. The baseline, in the same run, is the path before this change: the torch encoder, and
every candidate sentence encoded per question instead of read from the index.

    .venv/bin/python bench/bench_answer.py [--passages 100000] [--rounds 5]

Also prints where the time goes (timings_ms of the answers, and a profile of one round).
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from common import row, summary, today  # noqa: E402

from bot.answer import Answerer  # noqa: E402
from bot.services import make_encoder  # noqa: E402
from bot.settings import Settings  # noqa: E402
from corpus.bundled import bundled_articles  # noqa: E402
from corpus.split import split_passages  # noqa: E402
from corpus.types import Article  # noqa: E402
from index import Archive  # noqa: E402
from index.encoder import DEFAULT_MODEL, SentenceTransformerEncoder  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


class RandomVectors:
    """Stands in for the model while padding the archive: random unit vectors, fast."""

    name, dimension = DEFAULT_MODEL, 384

    def __init__(self) -> None:
        self.rng = np.random.default_rng(0)

    def load(self) -> None:
        pass

    def encode_documents(self, texts: Sequence[str]) -> np.ndarray:
        x = self.rng.standard_normal((len(texts), self.dimension)).astype(np.float32)
        return x / np.linalg.norm(x, axis=1, keepdims=True)

    encode_queries = encode_documents


def synthetic_articles(n_passages: int) -> list[Article]:
    rng = np.random.default_rng(1)
    words = np.array([f"w{i}" for i in range(20_000)] + ["the", "of", "in", "said", "government"])
    articles = []
    n = 0
    while n < n_passages:
        sentences = [
            " ".join(rng.choice(words, size=rng.integers(8, 25))).capitalize() + "."
            for _ in range(5)
        ]
        article = Article(
            id=f"s{len(articles)}",
            title="Synthetic",
            text=" ".join(sentences),
            origin=f"bench:{len(articles)}",
        )
        articles.append(article)
        n += len(split_passages(article.id, article.text))  # as the default split cuts it
    return articles


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--passages", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--index-type", default="auto", choices=["auto", "flat", "ivf"])
    args = parser.parse_args()
    os.environ["HF_HUB_OFFLINE"] = "1"
    lines = (ROOT / "tests/data/bundled_questions.jsonl").read_text("utf-8").splitlines()
    questions = [json.loads(line)["question"] for line in lines]
    settings = Settings()
    onnx = make_encoder(settings)  # the default backend, as `newsqa` runs it
    torch = SentenceTransformerEncoder()
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp) / "index"
        started = time.perf_counter()
        with Archive.open(directory, onnx, create=True, index_type=args.index_type) as archive:
            archive.add(bundled_articles())
        with Archive.open(directory, RandomVectors()) as archive:  # type: ignore[arg-type]
            archive.add(synthetic_articles(args.passages - archive.passage_count))
        with Archive.open(directory, onnx) as archive:
            print(
                f"# answer latency, {today()}, {os.cpu_count()} cores, "
                f"{archive.passage_count:,} passages ({archive.stats()['index_type']}), "
                f"{len(questions)} questions x {args.rounds} rounds; "
                f"built in {time.perf_counter() - started:.0f} s"
            )
            ours = Answerer(archive)
            answers = [ours.answer(q) for q in questions]  # warm: model, caches
            times = []
            for _ in range(args.rounds):
                for q in questions:
                    t = time.perf_counter()
                    ours.answer(q)
                    times.append(time.perf_counter() - t)
            profile = cProfile.Profile()
            profile.enable()
            for q in questions:
                ours.answer(q)
            profile.disable()
            parts = {
                key: float(np.median([a.timings_ms.get(key, 0.0) for a in answers]))
                for key in ("search", "select", "total")
            }
        with Archive.open(directory, torch) as archive:
            torch.load()
            before = Answerer(archive)
            archive.sentence_vectors = (  # type: ignore[method-assign]
                lambda refs, texts: torch.encode_documents(texts)
            )
            base_answers = [before.answer(q) for q in questions]
            base = []
            for _ in range(max(1, args.rounds // 2)):
                for q in questions:
                    t = time.perf_counter()
                    before.answer(q)
                    base.append(time.perf_counter() - t)
    same = sum(a.text == b.text for a, b in zip(answers, base_answers, strict=True))
    ours_s, base_s = summary(times), summary(base)
    print(row(f"answer ({settings.encoder_backend}, stored sentences)", ours_s))
    print(row("baseline (torch, encode sentences)", base_s))
    print(
        f"speed-up (median) x{base_s['median_ms'] / ours_s['median_ms']:.1f}; "
        f"same answer text for {same}/{len(questions)} questions"
    )
    print("median parts (ms): " + ", ".join(f"{k} {v:.1f}" for k, v in parts.items()))
    pstats.Stats(profile).sort_stats("cumulative").print_stats(12)


if __name__ == "__main__":
    main()
