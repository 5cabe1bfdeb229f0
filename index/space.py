"""Running out of disk space: recognised from any layer of a write, reported in one line.

A full disk shows up as an OSError (ENOSPC, EDQUOT) from Python, as SQLITE_FULL ("database or
disk is full") from SQLite, and as a RuntimeError whose text carries the C library's message from
FAISS. Each write of the archive runs inside `disk_space`, which turns any of them into a
`DiskFullError` naming the directory, the free space and about how much the write needs.
"""

from __future__ import annotations

import errno
import shutil
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from index.errors import DiskFullError

_FULL_ERRNOS = (errno.ENOSPC, errno.EDQUOT)
_FULL_TEXTS = ("No space left on device", "Disk quota exceeded", "database or disk is full")


def is_disk_full(error: BaseException) -> bool:
    if isinstance(error, OSError) and error.errno in _FULL_ERRNOS:
        return True
    if isinstance(error, sqlite3.Error) and getattr(error, "sqlite_errorcode", None) == (
        sqlite3.SQLITE_FULL
    ):
        return True
    return isinstance(error, RuntimeError | sqlite3.Error) and any(
        text in str(error) for text in _FULL_TEXTS
    )


def human_size(n: int) -> str:
    """'12.3 MB', or '950 bytes' where megabytes would round to nothing (as corpus.fetch's)."""
    return f"{n / 1e6:.1f} MB" if n >= 100_000 else f"{n:,} bytes"


def free_bytes(directory: Path) -> int:
    try:
        return shutil.disk_usage(directory).free
    except OSError:
        return 0


@contextmanager
def disk_space(directory: Path, needed: Callable[[], int], what: str) -> Iterator[None]:
    """Turn running out of space inside the block into one DiskFullError; `needed` estimates
    the bytes the write needs, `what` names it ("adding 12 articles")."""
    try:
        yield
    except BaseException as e:
        if not is_disk_full(e):
            raise
        raise DiskFullError(
            f"the disk holding {directory} is full ({human_size(free_bytes(directory))} free; "
            f"{what} needs about {human_size(needed())}); nothing of it was written and the "
            "index is as it was. Free some space and run the command again"
        ) from e
