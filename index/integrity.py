"""Content checks of stored vectors: what `index check` verifies beyond counts.

A vector file is checked against the SHA-256 recorded when it was written (in the database, the
commit point, and in manifest.json). A stored passage vector must be finite and of unit length,
and must point the same way as the vectors of its own sentences, stored beside it: a passage's
embedding is close to those of its sentences (cosine 0.2-0.9 for the packaged model), so one
whose best cosine with them is clearly negative has been negated or replaced. What this cannot
see: a vector swapped for another plausible one, or a low bit flipped in a stored vector (which
barely moves a search either).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from numpy.typing import NDArray

NORM_TOLERANCE = 1e-3  # float32 unit vectors are within 1e-6; a damaged one is far outside
AGREEMENT_FLOOR = -0.1  # a passage whose best cosine with its own sentences is below this


@dataclass(frozen=True)
class DamagedVector:
    passage_id: int
    vector: str  # why the passage vector is damaged ("not finite", ...), or "" when it is sound
    sentences: bool  # whether its stored sentence vectors are damaged (not finite)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def damaged_vectors(
    rows: Iterable[
        tuple[NDArray[np.int64], NDArray[np.float32], Sequence[NDArray[np.float32] | None]]
    ],
) -> Iterator[DamagedVector]:
    """The damaged ones among batches of (passage ids, their vectors, their sentence vectors, or
    None where they were never stored)."""
    for ids, vectors, sentence_vectors in rows:
        finite = np.asarray(np.isfinite(vectors).all(axis=1), dtype=bool)
        with np.errstate(invalid="ignore", over="ignore"):
            norms = np.linalg.norm(np.where(np.isfinite(vectors), vectors, 0), axis=1)
        for n, passage_id in enumerate(ids):
            sentences = sentence_vectors[n]
            sentences_damaged = sentences is not None and not bool(np.isfinite(sentences).all())
            why = ""
            if not finite[n]:
                why = "not finite"
            elif abs(float(norms[n]) - 1.0) > NORM_TOLERANCE:
                why = "not of unit length"
            elif _disagrees(vectors[n], None if sentences_damaged else sentences):
                why = "pointing away from its sentences"
            if why or sentences_damaged:
                yield DamagedVector(int(passage_id), why, sentences_damaged)


def _disagrees(vector: NDArray[np.float32], sentences: NDArray[np.float32] | None) -> bool:
    """Whether a passage vector points away from all of its own sentences' vectors."""
    if sentences is None or not len(sentences):
        return False
    return float((sentences @ vector).max()) < AGREEMENT_FLOOR
