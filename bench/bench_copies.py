"""What the index's second copies cost to lose: the ground for keeping or dropping them.

    .venv/bin/python bench/bench_copies.py --index COPY [--encode 512] [--tokenize 10000]

The passage vectors are stored twice (SQLite's float16 table, the FAISS file) and BM25 twice
(FTS5's own index, the postings file). Dropping one copy makes the other the only one, so what
losing that one costs decides it. Measured here, on a copy of an index (the Store is opened, so a
schema upgrade would run):

- the FAISS file built again from SQLite's vectors (what a damaged or missing file costs now, or
  what every reader would pay on opening if the file were not kept): the vectors read, and added
  to the file's own trained IVF structure emptied (no k-means), and whether its searches then
  return the same top 10 as the file's (200 stored vectors as queries);
- the passage vectors encoded again with the index's model, on a random sample, extrapolated to
  every passage (what a damaged FAISS file would cost if it were the only copy);
- the postings built again from FTS5's index (what a lost postings file costs now);
- the postings made by tokenizing the passages again, on a sample, extrapolated (what a lost
  postings file would cost if FTS5 kept no index of its own).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.services import make_encoder  # noqa: E402
from bot.settings import Settings  # noqa: E402
from corpus.split import embedding_text  # noqa: E402
from index.archive import DATABASE, vectors_file  # noqa: E402
from index.postings import Postings  # noqa: E402
from index.store import Store  # noqa: E402


def faiss_again(store: Store, directory: Path, dimension: int) -> dict[str, float]:
    import faiss

    path = directory / vectors_file(store.generation())
    started = time.perf_counter()
    held = faiss.read_index(str(path))
    load = time.perf_counter() - started
    started = time.perf_counter()
    batches = list(store.iter_embeddings(dimension))
    ids = np.concatenate([i for i, _ in batches])
    vectors = np.concatenate([v for _, v in batches])
    read = time.perf_counter() - started
    started = time.perf_counter()
    again = faiss.clone_index(held)
    again.reset()  # an IVF index keeps its trained lists' centroids
    again.add_with_ids(vectors, ids)
    add = time.perf_counter() - started
    rng = np.random.default_rng(0)
    xq = vectors[rng.choice(len(vectors), 200, replace=False)]
    if isinstance(held, faiss.IndexIVF):
        held.nprobe = again.nprobe = max(held.nprobe, 1)
    _, I_held = held.search(xq, 10)  # noqa: N806 (FAISS's names)
    _, I_again = again.search(xq, 10)  # noqa: N806
    same = float(np.mean([set(a) == set(b) for a, b in zip(I_held, I_again, strict=True)]))
    return {"load_file_s": load, "read_vectors_s": read, "add_s": add, "same_top10": same}


def encode_again(store: Store, passages: int, sample: int) -> dict[str, float]:
    encoder = make_encoder(Settings())
    rng = np.random.default_rng(0)
    top = int(store.query("SELECT max(id) FROM passages")[0][0])
    found = store.passages(rng.choice(np.arange(1, top + 1), sample, replace=False).tolist())
    texts = [embedding_text(info.title, p.text) for p, info in found.values()]
    encoder.encode_documents(texts[:16])  # loads the model
    started = time.perf_counter()
    encoder.encode_documents(texts)
    seconds = time.perf_counter() - started
    return {"sample": len(texts), "sample_s": seconds, "all_s": seconds / len(texts) * passages}


def postings_again(store: Store, passages: int, sample: int) -> dict[str, float]:
    started = time.perf_counter()
    Postings.from_raw(store.fts_postings(), "bench")
    from_index = time.perf_counter() - started
    picked = store.query("SELECT id FROM passages ORDER BY random() LIMIT ?", (sample,))
    ids = [r[0] for r in picked]
    started = time.perf_counter()
    store.fts_postings(ids)
    tokenized = time.perf_counter() - started
    return {
        "from_fts5_index_s": from_index,
        "tokenize_sample": len(ids),
        "tokenize_sample_s": tokenized,
        "tokenize_all_s": tokenized / len(ids) * passages,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", type=Path, required=True, help="a copy of an index")
    parser.add_argument("--encode", type=int, default=512, help="passages encoded again")
    parser.add_argument("--tokenize", type=int, default=10_000, help="passages tokenized again")
    args = parser.parse_args()
    store = Store(args.index / DATABASE)
    try:
        dimension = int(store.get_meta("dimension") or 0)
        _, passages = store.counts()
        print(f"{args.index}: {passages} passages, load average {os.getloadavg()[0]:.1f}")
        f = faiss_again(store, args.index, dimension)
        print(f"FAISS file loaded: {f['load_file_s']:.2f} s; built again from SQLite: vectors "
              f"read {f['read_vectors_s']:.2f} s, added to its trained lists {f['add_s']:.2f} s; "
              f"same top 10 for {f['same_top10']:.1%} of 200 stored vectors")  # fmt: skip
        e = encode_again(store, passages, args.encode)
        print(f"passage vectors encoded again: {e['sample']:.0f} in {e['sample_s']:.1f} s, so "
              f"about {e['all_s'] / 60:.0f} min for all {passages}")  # fmt: skip
        p = postings_again(store, passages, args.tokenize)
        print(f"postings from FTS5's index: {p['from_fts5_index_s']:.1f} s; tokenizing "
              f"{p['tokenize_sample']:.0f} passages again {p['tokenize_sample_s']:.1f} s, so "
              f"about {p['tokenize_all_s']:.0f} s for all")  # fmt: skip
        print(f"load average at the end: {os.getloadavg()[0]:.1f}")
    finally:
        store.close()


if __name__ == "__main__":
    main()
