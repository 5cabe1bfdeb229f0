"""Errors of the index directory; see corpus/errors.py for the whole hierarchy."""

from __future__ import annotations

from corpus.errors import NewsqaError


class ArchiveError(NewsqaError):
    """The index directory cannot be used as it is."""


class IndexNotFoundError(ArchiveError):
    """No index where one was expected."""


class IndexCorruptError(ArchiveError):
    """Part of the index is damaged or missing; the message names the part and the fix."""


class ModelMismatchError(ArchiveError):
    """The index was built with another embedding model than the configured one."""


class IndexLockedError(ArchiveError):
    """Another process is writing to the index."""


class DiskFullError(ArchiveError):
    """A write ran out of disk space; nothing of it was kept, the index is as it was before."""


class EncoderError(NewsqaError):
    """The embedding model could not be loaded or run."""
