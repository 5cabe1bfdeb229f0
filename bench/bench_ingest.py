"""Goal 3, ingest: encoding throughput (passages a second) of plain SentenceTransformer.encode
against the ONNX encoder (fp32 and int8), on the same SciFact passages in the same run, and the
retrieval quality each gives: BEIR protocol, dense retrieval, nDCG@10 over the 300 test queries.

    .venv/bin/python bench/bench_ingest.py [--data ../shared/data/scifact] [--limit N]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from index.encoder import model_location  # noqa: E402
from index.onnx_encoder import OnnxEncoder  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def load(data: Path) -> tuple[list[str], list[str], dict[str, str], dict[str, dict[str, int]]]:
    docs = [json.loads(line) for line in (data / "corpus.jsonl").read_text("utf-8").splitlines()]
    queries = {
        q["_id"]: q["text"]
        for q in map(json.loads, (data / "queries.jsonl").read_text("utf-8").splitlines())
    }
    qrels: dict[str, dict[str, int]] = defaultdict(dict)
    for line in (data / "qrels-test.tsv").read_text("utf-8").splitlines()[1:]:
        qid, did, score = line.split("\t")
        qrels[qid][did] = int(score)
    ids = [d["_id"] for d in docs]
    texts = [(d.get("title", "") + " " + d["text"]).strip() for d in docs]
    return ids, texts, {q: queries[q] for q in qrels}, qrels


def ndcg_at_10(run: dict[str, list[str]], qrels: dict[str, dict[str, int]]) -> float:
    scores = []
    for qid, rels in qrels.items():
        found = run.get(qid, [])[:10]
        dcg = sum(rels.get(d, 0) / math.log2(i + 2) for i, d in enumerate(found))
        ideal = sorted(rels.values(), reverse=True)[:10]
        idcg = sum(r / math.log2(i + 2) for i, r in enumerate(ideal))
        scores.append(dcg / idcg if idcg else 0.0)
    return float(np.mean(scores))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared/data/scifact")
    parser.add_argument("--limit", type=int, default=0, help="only the first N documents")
    args = parser.parse_args()
    os.environ["HF_HUB_OFFLINE"] = "1"
    ids, texts, queries, qrels = load(args.data)
    if args.limit:  # a smaller corpus: every judged document plus the first N others
        judged = {d for rels in qrels.values() for d in rels}
        keep = [i for i, d in enumerate(ids) if i < args.limit or d in judged]
        ids, texts = [ids[i] for i in keep], [texts[i] for i in keep]
    cache = Path(tempfile.mkdtemp())
    from sentence_transformers import SentenceTransformer

    plain = SentenceTransformer(model_location("all-MiniLM-L6-v2"), device="cpu")
    encoders: dict[str, object] = {
        "SentenceTransformer.encode (baseline)": lambda t: plain.encode(
            t, batch_size=64, normalize_embeddings=True, convert_to_numpy=True
        ),
        "newsqa onnx (fp32)": OnnxEncoder(cache_dir=cache).encode_documents,
        "newsqa onnx-int8": OnnxEncoder(cache_dir=cache, quantize=True).encode_documents,
    }
    for encode in encoders.values():
        encode(texts[:64])  # load and export outside the timing
    qids = list(queries)
    results = {}
    for name, encode in encoders.items():
        started = time.perf_counter()
        doc_vectors = encode(texts)  # type: ignore[operator]
        seconds = time.perf_counter() - started
        query_vectors = encode([queries[q] for q in qids])  # type: ignore[operator]
        top = np.argsort(-(query_vectors @ doc_vectors.T), axis=1)[:, :10]
        run = {q: [ids[j] for j in row] for q, row in zip(qids, top, strict=True)}
        results[name] = (len(texts) / seconds, seconds, ndcg_at_10(run, qrels))
    base_rate, _, base_ndcg = next(iter(results.values()))
    print(f"# ingest encoding, SciFact {len(texts)} documents, {os.cpu_count()} cores")
    for name, (rate, seconds, ndcg) in results.items():
        print(
            f"{name:<40} {rate:7.1f} passages/s  ({seconds:6.1f} s)  x{rate / base_rate:4.2f}  "
            f"nDCG@10 {ndcg:.4f} ({ndcg - base_ndcg:+.4f})"
        )


if __name__ == "__main__":
    main()
