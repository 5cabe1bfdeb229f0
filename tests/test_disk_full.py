"""A full disk during ingest, remove and rebuild: one line naming the directory and the space a
write needs, nothing left behind, and the last good index intact.

The full disk is real at the layer that meets it: SQLite at its page limit (`max_page_count`)
answers SQLITE_FULL, "database or disk is full", as on a full disk; the vector file is written to
/dev/full, whose every write the kernel answers with ENOSPC (a partial file is left where the
temporary file was, as a full disk leaves one).
"""

from __future__ import annotations

import builtins
import re
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from bot.cli import main

FULL = re.compile(
    r"newsqa: error: the disk holding (?P<dir>\S+) is full \([\d.,]+ (?:MB|bytes) free; "
    r"(?P<what>[a-z ]+[\d a-z]*) needs about (?P<needed>[\d.,]+) (?:MB|bytes)\); nothing of it was "
    r"written and the index is as it was\. Free some space and run the command again"
)


def story(n: int) -> str:
    return (
        f"Harbour story {n}\n\nThe harbour cranes of Port Ellery were repainted, report {n} said. "
        f"Ferry fares on route {n} were frozen for the winter, the mayor said on Tuesday.\n"
    )


@pytest.fixture
def index_dir(fake_cli_index: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    for n in range(3):
        (tmp_path / f"story{n}.txt").write_text(story(n))
    assert main(["ingest", *(str(tmp_path / f"story{n}.txt") for n in range(3))]) == 0
    capsys.readouterr()
    return fake_cli_index


def state(capsys: pytest.CaptureFixture[str]) -> str:
    assert main(["list", "--json"]) == 0
    listed = capsys.readouterr()[0]
    assert main(["index", "check"]) == 0, capsys.readouterr()[0]
    capsys.readouterr()
    return listed


def one_error_line(capsys: pytest.CaptureFixture[str], directory: Path) -> re.Match[str]:
    err = capsys.readouterr()[1]
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if not line.startswith("newsqa: reading")]
    assert len(lines) == 1, err
    found = FULL.fullmatch(lines[0])
    assert found is not None, lines[0]
    assert found["dir"] == str(directory) and float(found["needed"].replace(",", "")) > 0
    return found


def no_leftovers(directory: Path) -> None:
    assert sorted(p.name for p in directory.iterdir() if p.name.endswith(".tmp")) == []


def fill_sqlite(patch: pytest.MonkeyPatch) -> None:
    """SQLite may not grow the database by one page more."""
    real = sqlite3.connect

    def connect(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        db = real(*args, **kwargs)
        db.execute("PRAGMA max_page_count = 1")  # clamped to the pages it has now
        return db

    patch.setattr(sqlite3, "connect", connect)


def fill_vectors(patch: pytest.MonkeyPatch) -> None:
    """The vector file's temporary file is begun, then written to /dev/full."""
    real = builtins.open

    def open_(file: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        if str(file).endswith(".faiss.tmp") and "w" in mode:
            Path(file).write_bytes(b"\x00" * 4096)  # what a full disk leaves behind
            return real("/dev/full", mode, *args, **kwargs)
        return real(file, mode, *args, **kwargs)

    patch.setattr(builtins, "open", open_)


@pytest.mark.parametrize(
    ("full", "command"),
    [
        (fill_sqlite, "ingest"),
        (fill_vectors, "ingest"),
        (fill_vectors, "remove"),
        (fill_vectors, "rebuild"),
    ],
)
def test_a_full_disk_is_one_line_and_loses_nothing(
    index_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    full: Any,
    command: str,
) -> None:
    before = state(capsys)
    new = tmp_path / "new.txt"  # long enough to need new pages of the database
    new.write_text(story(7) + "".join(f"Line {n} of the long report. " for n in range(3000)))
    first_id = before.split('"id": "')[1].split('"')[0]
    argv = {
        "ingest": ["ingest", str(new)],
        "remove": ["remove", first_id],
        "rebuild": ["index", "rebuild"],
    }[command]
    with monkeypatch.context() as patch:
        full(patch)
        assert main(argv) == 1
        found = one_error_line(capsys, index_dir)
    what = {"ingest": "adding 1 article", "remove": "removing 1 article"}
    assert found["what"] == what.get(command, "rebuilding the index")
    no_leftovers(index_dir)
    assert state(capsys) == before
    assert main(argv) == 0  # with room again, the same command works


def test_a_telegram_upload_on_a_full_disk_is_one_friendly_reply(
    index_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The admin hears that the disk is full, not the server's path; the log has the details."""
    from bot.services import make_answerer
    from bot.settings import load_settings
    from bot.telegram.services import DISK_FULL, BotServices, UploadError

    before = state(capsys)
    services = BotServices(load_settings(), make_answerer(load_settings()))
    try:
        with monkeypatch.context() as patch:
            fill_vectors(patch)
            with pytest.raises(UploadError) as refused:
                services.ingest_upload("story.txt", story(9).encode())
        assert str(refused.value) == DISK_FULL
        assert str(index_dir) not in str(refused.value)
        with monkeypatch.context() as patch:  # and when even the upload finds no room
            real = Path.write_bytes

            def no_room(path: Path, data: bytes) -> int:
                if path.parent.name.startswith("newsqa-upload-"):
                    with open("/dev/full", "wb") as full:
                        full.write(data)  # the kernel refuses it when it is flushed: ENOSPC
                return real(path, data)

            patch.setattr(Path, "write_bytes", no_room)
            with pytest.raises(UploadError, match="disk is full"):
                services.ingest_upload("story.txt", story(9).encode())
    finally:
        services.close()
    no_leftovers(index_dir)
    assert state(capsys) == before
