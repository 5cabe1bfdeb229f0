"""The newsqa error hierarchy.

    NewsqaError                  anything newsqa reports to a user as one clear line
    ├── CorpusError              an input could not be read as articles
    │   └── FetchError           a URL could not be fetched
    ├── ArchiveError             the index directory cannot be used (index/errors.py)
    │   ├── IndexNotFoundError
    │   ├── IndexCorruptError
    │   ├── ModelMismatchError
    │   ├── IndexLockedError
    │   └── DiskFullError
    └── AnswerError              a question could not be answered (bot/)

Edges translate them once: the CLI prints `str(error)` and exits non-zero, the Telegram bot replies
politely and logs the traceback.
"""

from __future__ import annotations


class NewsqaError(Exception):
    """Base of every error newsqa reports to a user."""


class CorpusError(NewsqaError):
    """An input (file, feed, URL, line) could not be read as articles."""

    def __init__(self, origin: str, reason: str) -> None:
        super().__init__(f"{origin}: {reason}")
        self.origin = origin
        self.reason = reason


class FetchError(CorpusError):
    """A URL could not be fetched (unreachable, refused, wrong content)."""
