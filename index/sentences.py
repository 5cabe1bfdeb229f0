"""Sentence vectors: encoded once at ingest, stored once, looked up when answering.

An answer scores each sentence of the retrieved passages against the question. Encoding 10-25
sentences per question costs far more than the search itself, so ingest encodes every distinct
sentence of an article once (passages overlap; their shared sentences are not encoded twice) and
stores it once, as int8 (index/sentence_vectors.py). Passages stored before that (schema 1) are
encoded when an answer first needs them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from corpus.types import Passage
from index.encoder import Encoder
from index.store import Store

if TYPE_CHECKING:
    from numpy.typing import NDArray


def encode_sentences(
    encoder: Encoder, articles: Sequence[tuple[str, Sequence[Passage]]]
) -> dict[str, list[NDArray[np.float32]]]:
    """Per article id, one (sentences x dimension) array per passage, in passage order."""
    texts: list[str] = []
    where: list[dict[int, int]] = []  # per article: absolute sentence start -> row in `texts`
    for _, passages in articles:
        rows: dict[int, int] = {}
        for p in passages:
            for s, e in p.sentences:
                if p.start + s not in rows:
                    rows[p.start + s] = len(texts)
                    texts.append(p.text[s:e])
        where.append(rows)
    if not texts:
        return {article_id: [] for article_id, _ in articles}
    vectors = encoder.encode_documents(texts)
    out: dict[str, list[NDArray[np.float32]]] = {}
    for (article_id, passages), rows in zip(articles, where, strict=True):
        out[article_id] = [
            vectors[[rows[p.start + s] for s, _ in p.sentences]].reshape(-1, vectors.shape[1])
            for p in passages
        ]
    return out


def lookup_sentences(
    store: Store,
    encoder: Encoder,
    dimension: int,
    refs: Sequence[tuple[int, int]],
    texts: Sequence[str],
) -> NDArray[np.float32]:
    """Vectors of sentences given as (passage id, sentence number) with their texts: the stored
    ones where there are, the rest encoded now."""
    stored = store.sentence_vectors(sorted({pid for pid, _ in refs}), dimension)
    out = np.empty((len(refs), dimension), dtype=np.float32)
    missing = []
    for row, (pid, n) in enumerate(refs):
        vectors = stored.get(pid)
        if vectors is not None and n < len(vectors):
            out[row] = vectors[n]
        else:
            missing.append(row)
    if missing:
        out[missing] = encoder.encode_documents([texts[row] for row in missing])
    return out
