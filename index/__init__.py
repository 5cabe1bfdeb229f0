"""Embedding, storing and searching passages: one index directory, hybrid dense + BM25 search."""

from index.archive import Archive, IngestReport
from index.errors import (
    ArchiveError,
    EncoderError,
    IndexCorruptError,
    IndexLockedError,
    IndexNotFoundError,
    ModelMismatchError,
)
from index.search import Hit, SearchConfig
from index.store import Filters

__all__ = [
    "Archive",
    "ArchiveError",
    "EncoderError",
    "Filters",
    "Hit",
    "IndexCorruptError",
    "IndexLockedError",
    "IndexNotFoundError",
    "IngestReport",
    "ModelMismatchError",
    "SearchConfig",
]
