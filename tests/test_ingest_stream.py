"""Ingest as a newsroom meets it: exports larger than the file limit, progress, Ctrl-C and resume.

In process, with the fake encoder patched into the services; the SIGINT is a real signal.
"""

from __future__ import annotations

import io
import json
import os
import signal
import tracemalloc
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pytest

from bot import progress as progress_module
from bot.cli import main
from bot.progress import IngestProgress
from corpus.readers import ReadLimits, count_articles, stream_input
from corpus.types import Article, ReadFailure
from index import archive as archive_module
from tests.fakes import HashEncoder


def story(n: int) -> dict[str, str]:
    return {
        "id": f"story-{n:04d}",
        "title": f"Harbour report number {n}",
        "text": (
            f"The harbour board met for the {n}th time on Tuesday. "
            f"It approved {n} new moorings for the ferry fleet. "
            "The mayor said the vote was long overdue."
        ),
        "source": "Harbour Gazette",
        "published": "2024-03-01",
    }


def write_export(path: Path, count: int) -> Path:
    with path.open("w", encoding="utf-8") as f:
        for n in range(count):
            f.write(json.dumps(story(n)) + "\n")
    return path


def stored_ids(capsys: pytest.CaptureFixture[str]) -> list[str]:
    assert main(["list", "--json"]) == 0
    out = capsys.readouterr().out
    return [json.loads(line)["id"] for line in out.splitlines()]


def test_an_export_larger_than_the_file_limit_is_read_one_record_at_a_time(
    fake_cli_index: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    export = write_export(tmp_path / "export.jsonl", 120)
    with export.open("a", encoding="utf-8") as f:
        f.write(json.dumps({"title": "Huge", "text": "word " * 5000}) + "\n")
    assert export.stat().st_size > 30_000
    monkeypatch.setenv("NEWSQA_MAX_FILE_MB", "0.02")  # 20 KB: the export is larger, each line not
    code = main(["ingest", "--json", str(export)])
    report = json.loads(capsys.readouterr().out)
    assert code == 1
    assert len(report["added"]) == 120
    assert report["failed"] == [
        f"{export}:121: record too large (25,030 bytes; limit 20,000 bytes, "
        "set by max_file_mb (NEWSQA_MAX_FILE_MB))"
    ]
    assert len(stored_ids(capsys)) == 120


def test_streaming_an_export_holds_one_record_in_memory(tmp_path: Path) -> None:
    export = tmp_path / "big.jsonl"
    with export.open("w", encoding="utf-8") as f:
        line = json.dumps({"title": "Cranes", "text": "The harbour cranes were repainted. " * 300})
        for _ in range(25_000_000 // len(line)):
            f.write(line + "\n")
    tracemalloc.start()
    try:
        reads = stream_input(str(export), ReadLimits(max_file_bytes=1_000_000))
        first = next(reads)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert isinstance(first, Article) and first.title == "Cranes"
    assert peak < 2_000_000  # a 25 MB file, read as it is needed


def test_a_binary_file_named_jsonl_is_one_failure(tmp_path: Path) -> None:
    path = tmp_path / "noise.jsonl"
    path.write_bytes(bytes(range(256)) * 64)
    assert list(stream_input(str(path))) == [ReadFailure(f"{path}: binary file, not text")]


def test_counting_articles_for_progress(tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    write_export(tmp_path / "in" / "a.jsonl", 7)
    (tmp_path / "in" / "b.txt").write_text("Title\n\nBody text here.\n")
    (tmp_path / "in" / "c.jsonl").write_text('{"text": "no newline at the end"}')
    assert count_articles(str(tmp_path / "in")) == 9
    assert count_articles(str(tmp_path / "in" / "a.jsonl")) == 7
    assert count_articles("https://example.com/feed.xml") is None


class InterruptingEncoder(HashEncoder):
    """Sends the process a real SIGINT, as Ctrl-C does, after `after` document batches."""

    def __init__(self, after: int) -> None:
        super().__init__()
        self.after = after

    def encode_documents(self, texts: Sequence[str]) -> np.ndarray:
        if len(self.calls) == self.after:
            os.kill(os.getpid(), signal.SIGINT)
        return super().encode_documents(texts)


@pytest.fixture
def terminal() -> Iterator[None]:
    """SIGINT as in a terminal's foreground process: Python's handler (a suite run as a shell's
    background job starts with SIGINT ignored, which ingest then keeps ignoring)."""
    handler = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, handler)


def test_ctrl_c_commits_what_is_done_and_the_same_command_resumes(
    fake_cli_index: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch, terminal: None,
) -> None:  # fmt: skip
    export = write_export(tmp_path / "export.jsonl", 300)
    monkeypatch.setattr(archive_module, "ENCODE_PASSAGES", 20)
    encoder = InterruptingEncoder(after=12)  # sentences and passages: two batches per chunk
    monkeypatch.setattr("bot.commands.make_encoder", lambda *a, **k: encoder)

    code = main(["ingest", "--json", str(export)])
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # restored
    captured = capsys.readouterr()
    first = json.loads(captured.out)
    assert code == 130
    assert first["interrupted"] is True
    assert 0 < len(first["added"]) < 300
    assert "stopping after the step under way" in captured.err
    assert (
        f"newsqa: interrupted: {len(first['added'])} articles ({first['passages']} passages) "
        f"are committed to {fake_cli_index}; run the same command again to go on"
    ) in captured.err
    assert sorted(stored_ids(capsys)) == sorted(a["id"] for a in first["added"])

    monkeypatch.setattr("bot.commands.make_encoder", lambda *a, **k: HashEncoder())
    code = main(["ingest", "--json", str(export)])
    second = json.loads(capsys.readouterr().out)
    assert code == 0
    assert second["interrupted"] is False
    assert len(second["unchanged"]) == len(first["added"])
    assert len(second["added"]) == 300 - len(first["added"])
    ids = stored_ids(capsys)
    assert sorted(ids) == [f"story-{n:04d}" for n in range(300)]  # every article, once
    assert main(["index", "check"]) == 0
    assert capsys.readouterr().out.startswith("ok: ")


def test_an_ingest_told_to_ignore_ctrl_c_ignores_it(
    fake_cli_index: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """Started with SIGINT ignored (nohup, a shell's background job), ingest keeps ignoring it:
    the Ctrl-C meant for the foreground does not stop it."""
    export = write_export(tmp_path / "export.jsonl", 60)
    monkeypatch.setattr(archive_module, "ENCODE_PASSAGES", 20)
    encoder = InterruptingEncoder(after=2)
    monkeypatch.setattr("bot.commands.make_encoder", lambda *a, **k: encoder)
    handler = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        code = main(["ingest", "--json", str(export)])
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, handler)
    done = json.loads(capsys.readouterr().out)
    assert code == 0 and done["interrupted"] is False and len(done["added"]) == 60


def test_a_log_gets_a_progress_line_every_few_seconds_and_no_cursor_codes(
    fake_cli_index: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    export = write_export(tmp_path / "export.jsonl", 60)
    monkeypatch.setattr(archive_module, "ENCODE_PASSAGES", 10)
    monkeypatch.setattr(progress_module, "LOG_INTERVAL", 0.0)  # every step: the test is not timed
    assert main(["ingest", str(export)]) == 0
    err = capsys.readouterr().err
    lines = err.splitlines()
    assert lines[0] == f"newsqa: reading {export}"
    progress = [line for line in lines[1:-1] if " of 60 articles (" in line]
    assert len(progress) >= 5
    assert lines[-1].startswith("newsqa: done: 60 of 60 articles (100%), ")
    assert "\r" not in err and "\x1b" not in err


def test_progress_lines_say_rate_and_time_left() -> None:
    now = [0.0]
    out = io.StringIO()
    progress = IngestProgress(300, out, bar=False, interval=10.0, clock=lambda: now[0])
    for _ in range(10):
        now[0] += 4.0
        progress.advance(10, 80)
    assert out.getvalue().splitlines() == [
        "newsqa: 30 of 300 articles (10%), 240 passages, 2.5 articles/s, about 1m48s left",
        "newsqa: 60 of 300 articles (20%), 480 passages, 2.5 articles/s, about 1m36s left",
        "newsqa: 90 of 300 articles (30%), 720 passages, 2.5 articles/s, about 1m24s left",
    ]


def test_time_left_follows_the_recent_rate_not_the_skipped_articles() -> None:
    now = [0.0]
    out = io.StringIO()
    progress = IngestProgress(300, out, bar=False, interval=10.0, clock=lambda: now[0])
    now[0] = 10.0
    progress.advance(100)  # unchanged articles, skipped at once
    for _ in range(4):
        now[0] += 10.0
        progress.advance(10, 80)  # then one article a second
    lines = out.getvalue().splitlines()
    assert lines[0].endswith("10.0 articles/s, about 20s left")
    assert lines[-1].endswith("1.6 articles/s, about 1m42s left")
    assert progress.line(overall=True).endswith("2.8 articles/s, about 57s left")


def test_reading_shows_before_the_first_article_is_stored() -> None:
    now = [0.0]
    out = io.StringIO()
    progress = IngestProgress(181, out, bar=False, interval=10.0, clock=lambda: now[0])
    for _ in range(30):
        now[0] += 1.0
        progress.reading(2)
    assert out.getvalue().splitlines() == [
        "newsqa: 0 of 181 articles (0%), 20 read, 0 passages, 0.0 articles/s",
        "newsqa: 0 of 181 articles (0%), 40 read, 0 passages, 0.0 articles/s",
        "newsqa: 0 of 181 articles (0%), 60 read, 0 passages, 0.0 articles/s",
    ]


def test_progress_on_a_terminal_is_a_bar_with_passages_rate_and_time_left() -> None:
    out = io.StringIO()
    progress = IngestProgress(300, out, bar=True)
    for _ in range(30):
        progress.advance(10, 80)
    progress.close()
    screen = out.getvalue()
    assert "\r" in screen
    last = screen.rstrip("\n").split("\r")[-1]
    assert "300/300" in last and "2,400 passages" in last and "articles/s" in last
    assert "0 read" in last  # reading() was never called


def test_ctrl_c_while_pages_are_read_keeps_the_pages_read_before_it(
    fake_cli_index: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch, terminal: None,
) -> None:  # fmt: skip
    folder = tmp_path / "pages"
    folder.mkdir()
    for n in range(10):
        (folder / f"page{n}.txt").write_text(
            f"Page {n}\n\nThe harbour board met for the {n}th time."
        )
    monkeypatch.setattr(archive_module, "ENCODE_PASSAGES", 1)
    from bot import commands

    real = commands.stream_input

    def slow_reader(item: str, limits: ReadLimits) -> Iterator[Article | ReadFailure]:
        for n, read in enumerate(real(item, limits), start=1):
            if n == 6:  # Ctrl-C while the sixth page is read, before any batch is full
                os.kill(os.getpid(), signal.SIGINT)
            yield read

    monkeypatch.setattr(commands, "stream_input", slow_reader)
    assert main(["ingest", "--json", str(folder)]) == 130
    report = json.loads(capsys.readouterr().out)
    assert [a["title"] for a in report["added"]] == [f"Page {n}" for n in range(5)]
    assert len(stored_ids(capsys)) == 5


@pytest.mark.model
def test_the_installed_command_draws_a_bar_on_a_terminal(tmp_path: Path) -> None:
    """`newsqa ingest` in a fresh process whose stderr is a terminal (a pty), the real model."""
    import fcntl
    import pty
    import struct
    import subprocess
    import sys
    import termios

    export = write_export(tmp_path / "export.jsonl", 3)
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 120, 0, 0))
    env = {
        **os.environ,
        "NEWSQA_INDEX_DIR": str(tmp_path / "idx"),
        "NEWSQA_CONFIG": str(tmp_path / "none.toml"),
    }
    script = Path(sys.executable).with_name("newsqa")
    process = subprocess.Popen(
        [str(script), "ingest", str(export)], stdout=subprocess.PIPE, stderr=slave, env=env
    )
    os.close(slave)
    screen = b""
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:  # the terminal closed: the process is done with it
            break
        if not chunk:
            break
        screen += chunk
    out, _ = process.communicate(timeout=300)
    os.close(master)
    assert process.returncode == 0
    assert out.decode().startswith("3 added, 0 updated, 0 unchanged, 0 failed")
    shown = screen.decode(errors="replace")
    assert "\r" in shown and "3/3" in shown and "3 read" in shown and "passages" in shown
    assert "newsqa: reading" not in shown  # the log's lines are for logs
