"""Fakes at the edges: a deterministic encoder that needs no model."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence

import numpy as np

_WORD = re.compile(r"\w+")


class HashEncoder:
    """Bag-of-words feature hashing, L2-normalised: texts sharing words have a high cosine."""

    def __init__(self, dimension: int = 64, name: str = "test/hash-encoder"):
        self._dimension = dimension
        self._name = name
        self.calls: list[int] = []  # batch sizes, to prove what was (not) re-encoded

    @property
    def name(self) -> str:
        return self._name

    @property
    def dimension(self) -> int:
        return self._dimension

    def load(self) -> None:
        pass

    def _vector(self, text: str) -> np.ndarray:
        v = np.zeros(self._dimension, dtype=np.float32)
        for word in _WORD.findall(text.lower()):
            h = int.from_bytes(hashlib.blake2b(word.encode(), digest_size=8).digest(), "little")
            v[h % self._dimension] += 1.0 if (h >> 32) & 1 else -1.0
        norm = float(np.linalg.norm(v))
        return v / norm if norm else v

    def encode_documents(self, texts: Sequence[str]) -> np.ndarray:
        self.calls.append(len(texts))
        return (
            np.stack([self._vector(t) for t in texts])
            if texts
            else np.zeros((0, self._dimension), np.float32)
        )

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self.encode_documents(texts)


class RandomEncoder(HashEncoder):
    """A seeded random unit vector per distinct text: no ties, for exact brute-force comparisons."""

    def _vector(self, text: str) -> np.ndarray:
        seed = int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "little")
        v = np.random.default_rng(seed).standard_normal(self._dimension).astype(np.float32)
        return v / np.linalg.norm(v)
