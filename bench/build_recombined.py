"""Build a large archive of real news text: a real index's articles, plus new articles made of
its real sentences recombined across articles (goal 2's 1M-passage row).

Term statistics stay those of news because every sentence is a real one; only which sentences
share an article is new. Each recombined article copies a real article's title, outlet, date and
paragraphing (how many sentences each paragraph holds) and fills each paragraph with sentences
drawn at random (seeded) from all the real articles' sentences.

Vectors are the real model's, not encoded again (1M passages would take about 3 hours on two
cores): the source index's real articles keep their stored vectors (the directory is copied);
a recombined passage's vector is the normalised mean of its sentences' stored vectors, and a
sentence's vector is the one the source index stores for it. Rows go in through `Archive.add`,
the ingest path, with an encoder that looks these vectors up, so the SQLite rows, FTS5 table, BM25
postings, FAISS file, quotes and story signatures are what a real ingest writes. A sentence the
splitter cuts differently in its new context (not found among the stored ones) is encoded with
the real model; the build reports how many.

    .venv/bin/python bench/build_recombined.py --source /work/eval/rtqa-full-new \
        --out /work/eval/million-idx --passages 1000000

Running it again on the same `--out` goes on where it stopped (the articles are the same for the
same seed; those stored are skipped). Ctrl-C (or SIGTERM) commits what is encoded and stops.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from corpus.split import SplitConfig, embedding_text, paragraphs, sentences, split_passages  # noqa: E402
from corpus.types import Article  # noqa: E402
from index.store import Store  # noqa: E402

if TYPE_CHECKING:
    from numpy.typing import NDArray

    from index.encoder import Encoder

ORIGIN = "bench/build_recombined.py"
_NEXT = "The next sentence follows."


@dataclass(frozen=True)
class Template:
    """What a recombined article copies from a real one: everything but its sentences."""

    title: str
    url: str | None
    source: str | None
    published: str | None
    shape: tuple[int, ...]  # sentences per paragraph


class SentencePool:
    """The distinct sentences of a real index, each with the vector it stores for it."""

    def __init__(self, texts: list[str], vectors: NDArray[np.float32], templates: list[Template]):
        self.texts = texts
        self.vectors = vectors
        self.templates = templates
        self.row = {text: n for n, text in enumerate(texts)}
        # a heading or byline ("Updated June 13") has no sentence end: the sentence after it in
        # the same paragraph would join it, so a paragraph ends after it instead
        self.ends_paragraph = [len(sentences(f"{text} {_NEXT}")) < 2 for text in texts]

    @classmethod
    def read(cls, store: Store, dimension: int, split: SplitConfig) -> SentencePool:
        """Every stored sentence of the real articles with its vector, and every real article as
        a template (recombined ones, from an earlier run, are neither)."""
        texts: list[str] = []
        rows: list[NDArray[np.float32]] = []
        seen: set[str] = set()
        for ids, _, per_passage in store.iter_vectors_with_sentences(dimension):
            found = store.passages([int(i) for i in ids])
            for pid, vectors in zip(ids, per_passage, strict=True):
                passage, info = found[int(pid)]
                if vectors is None or info.origin == ORIGIN:
                    continue
                for (s, e), vector in zip(passage.sentences, vectors, strict=True):
                    sentence = passage.text[s:e]
                    if sentence not in seen:
                        seen.add(sentence)
                        texts.append(sentence)
                        rows.append(vector)
        templates = []
        query = "SELECT title, url, source, published, text FROM articles WHERE origin != ?"
        for title, url, source, published, text in store.query(query + " ORDER BY rowid", [ORIGIN]):
            shape = tuple(
                n
                for a, b in paragraphs(text)
                if (n := len(sentences(text[a:b], split.max_sentence_chars)))
            )
            if shape:
                templates.append(Template(title, url, source, published, shape))
        return cls(texts, np.stack(rows), templates)


def recombined(pool: SentencePool, seed: int) -> Iterator[Article]:
    """New articles, the n-th always the same for a seed: a real article's title, outlet, date
    and paragraphing, each paragraph of real sentences drawn from all articles."""
    rng = random.Random(seed)
    n = 0
    while True:
        template = rng.choice(pool.templates)
        picks = [[rng.randrange(len(pool.texts)) for _ in range(k)] for k in template.shape]
        yield Article(
            id=f"recombined-{seed}-{n:07d}",
            title=template.title,
            text="\n\n".join(_paragraph(pool, p) for p in picks),
            url=f"{template.url}#recombined-{seed}-{n}" if template.url else None,
            source=template.source,
            published=template.published,
            origin=ORIGIN,
        )
        n += 1


def _paragraph(pool: SentencePool, picks: list[int]) -> str:
    """Sentences joined as one paragraph, broken after any that has no sentence end."""
    parts = []
    for i in picks:
        parts += [pool.texts[i], "\n\n" if pool.ends_paragraph[i] else " "]
    return "".join(parts[:-1])


class LookupEncoder:
    """The stored vectors of the real model: a sentence's own, a passage's registered by
    `derive` beforehand; anything else (a sentence split differently) encoded by `model`."""

    def __init__(self, pool: SentencePool, model: Encoder) -> None:
        self.pool = pool
        self.model = model
        self.extra: dict[str, NDArray[np.float32]] = {}  # sentences encoded here
        self.passages: dict[str, NDArray[np.float32]] = {}  # embedding text -> derived vector
        self.titles: dict[str, NDArray[np.float32]] = {}
        self.encoded = 0  # sentences not found among the stored ones
        self.derived = 0

    @property
    def name(self) -> str:
        return self.model.name

    @property
    def dimension(self) -> int:
        return self.model.dimension

    def load(self) -> None:
        pass

    def sentence_vectors(self, texts: Sequence[str]) -> NDArray[np.float32]:
        missing = sorted({t for t in texts if t not in self.pool.row and t not in self.extra})
        if missing:
            for text, vector in zip(missing, self.model.encode_documents(missing), strict=True):
                self.extra[text] = vector
            self.encoded += len(missing)
        out = np.empty((len(texts), self.dimension), np.float32)
        for n, text in enumerate(texts):
            row = self.pool.row.get(text)
            out[n] = self.pool.vectors[row] if row is not None else self.extra[text]
        return out

    def title_vector(self, title: str) -> NDArray[np.float32]:
        """A title's vector, encoded by the real model once per distinct title."""
        if title not in self.titles:
            self.titles[title] = self.model.encode_documents([title])[0]
        return self.titles[title]

    def derive(self, article: Article, split: SplitConfig) -> int:
        """Register the vector of each passage of `article` (the normalised mean of its
        sentences' vectors and its title's, the title standing in for the real encoding of
        "title, then passage") for `encode_documents`; returns how many passages it has."""
        passages = split_passages(article.id, article.text, split)
        title = self.title_vector(article.title) if article.title else None
        for p in passages:
            vectors = self.sentence_vectors([p.text[s:e] for s, e in p.sentences])
            mean = vectors.sum(axis=0) + (title if title is not None else 0.0)
            self.passages[embedding_text(article.title, p.text)] = mean / np.linalg.norm(mean)
        self.derived += len(passages)
        return len(passages)

    def encode_documents(self, texts: Sequence[str]) -> NDArray[np.float32]:
        out = np.empty((len(texts), self.dimension), np.float32)
        sentence_rows = []
        for n, text in enumerate(texts):
            vector = self.passages.pop(text, None)
            if vector is None:
                sentence_rows.append(n)
            else:
                out[n] = vector
        if sentence_rows:
            out[sentence_rows] = self.sentence_vectors([texts[n] for n in sentence_rows])
        return out

    def encode_queries(self, texts: Sequence[str]) -> NDArray[np.float32]:
        return self.model.encode_queries(texts)


def copy_index(source: Path, out: Path) -> None:
    """The source index, copied whole (never written to); its writer lock left behind."""
    shutil.copytree(source, out, ignore=shutil.ignore_patterns(".write.lock", "*.tmp"))


def fidelity(
    store: Store, encoder: LookupEncoder, sample: int = 1000
) -> tuple[float, float, float]:
    """How close a derived passage vector comes to a real one: cosine between a real passage's
    stored vector (its title and text encoded) and the normalised mean of its stored sentence
    vectors and its title's, over a seeded sample; (p5, median, p95)."""
    (count,) = store.query("SELECT max(id) FROM passages")[0]
    chosen = set(random.Random(0).sample(range(1, count + 1), min(sample, count)))
    cosines = []
    for ids, vectors, per_passage in store.iter_vectors_with_sentences(encoder.dimension):
        picked = [n for n, pid in enumerate(ids) if int(pid) in chosen]
        found = store.passages([int(ids[n]) for n in picked])
        for n in picked:
            rows, (_, info) = per_passage[n], found[int(ids[n])]
            if rows is None or info.origin == ORIGIN:
                continue
            mean = rows.sum(axis=0) + (encoder.title_vector(info.title) if info.title else 0.0)
            cosines.append(float(vectors[n] @ mean / np.linalg.norm(mean)))
    p5, median, p95 = np.percentile(cosines, [5, 50, 95])
    return float(p5), float(median), float(p95)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, required=True, help="a real index (only read)")
    parser.add_argument("--out", type=Path, required=True, help="the index to build")
    parser.add_argument("--passages", type=int, default=1_000_000, help="passages in all")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    from bot.services import make_encoder
    from bot.settings import Settings
    from index import Archive
    from index.archive import DATABASE
    from index.manifest import read_manifest

    started = time.perf_counter()
    if not args.out.exists():
        copy_index(args.source, args.out)
        print(f"copied {args.source} in {time.perf_counter() - started:.0f} s", flush=True)
    manifest = read_manifest(args.out)
    split = SplitConfig(**manifest.split)
    store = Store(args.out / DATABASE)  # brings a copy of an older index to this schema
    try:
        pool = SentencePool.read(store, manifest.dimension, split)
        encoder = LookupEncoder(pool, make_encoder(Settings()))
        low, median, high = fidelity(store, encoder)
    finally:
        store.close()
    print(f"pool: {len(pool.texts):,} distinct sentences, {len(pool.templates):,} templates; "
          f"real passage vector vs the mean of its sentences' and title's: cosine median "
          f"{median:.3f} (p5 {low:.3f}, p95 {high:.3f}); {time.perf_counter() - started:.0f} s",
          flush=True)  # fmt: skip
    stopping = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stopping.append(True))
    with Archive.open(args.out, encoder) as archive:
        stored = {a.info.id for a in archive.articles() if a.info.origin == ORIGIN}
        have = archive.passage_count
        last = [time.perf_counter()]

        def articles() -> Iterator[Article]:
            nonlocal have
            for article in recombined(pool, args.seed):
                if have >= args.passages:
                    return
                if article.id in stored:
                    continue
                have += encoder.derive(article, split)
                yield article

        def progress(done: int, passages: int) -> None:
            if time.perf_counter() - last[0] > 30:
                last[0] = time.perf_counter()
                print(f"{time.perf_counter() - started:7.0f} s: {have:,} passages read "
                      f"({encoder.derived:,} derived, {encoder.encoded:,} sentences and "
                      f"{len(encoder.titles):,} titles encoded); "
                      f"committed {archive.passage_count:,}", flush=True)  # fmt: skip

        report = archive.add(articles(), progress=progress, stop=lambda: bool(stopping))
        seconds = time.perf_counter() - started
        total = archive.passage_count
        articles_count = len(archive.articles())
    size = subprocess.run(["du", "-sb", str(args.out)], capture_output=True, text=True, check=True)
    print(json.dumps({
        "seconds": round(seconds),
        "added_articles": len(report.added),
        "added_passages": report.passages,
        "articles": articles_count,
        "passages": total,
        "sentences_encoded": encoder.encoded,
        "titles_encoded": len(encoder.titles),
        "interrupted": report.interrupted,
        "bytes": int(size.stdout.split()[0]),
    }))  # fmt: skip


if __name__ == "__main__":
    main()
