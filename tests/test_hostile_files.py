"""Hostile files through `newsqa ingest`: one clear line each, the good ones kept, memory bounded.

In process, with the fake encoder patched into the services (no model needed).
"""

from __future__ import annotations

import json
import os
import tracemalloc
from pathlib import Path

import pytest

from bot.cli import main


@pytest.fixture
def index_dir(fake_cli_index: Path) -> Path:
    return fake_cli_index


def ingest(capsys: pytest.CaptureFixture[str], *paths: Path) -> tuple[int, dict[str, object]]:
    code = main(["ingest", "--json", *map(str, paths)])
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, json.loads(out)


def test_fifty_megabytes_of_text_is_one_line_and_memory_stays_bounded(
    index_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    huge = tmp_path / "huge.txt"
    with huge.open("w") as f:
        line = "The harbour cranes were repainted bright orange on Tuesday. " * 16 + "\n"
        for _ in range(50_000_000 // len(line) + 1):
            f.write(line)
    assert huge.stat().st_size >= 50_000_000
    good = tmp_path / "good.txt"
    good.write_text("Harbour news\n\nThe ferry fares were frozen for the winter, said the mayor.\n")
    tracemalloc.start()
    try:
        code, report = ingest(capsys, huge, good)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert code == 1
    assert report["failed"] == [
        f"{huge}: too large (50.0 MB; limit 20.0 MB, set by max_file_mb (NEWSQA_MAX_FILE_MB))"
    ]
    assert [a["title"] for a in report["added"]] == ["Harbour news"]  # type: ignore[index]
    assert peak < 45_000_000  # the file is never read whole: at most the limit, plus a byte


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("zero.txt", b"", "empty"),
        ("noise.txt", bytes(range(256)) * 64, "binary"),
        ("evil\nname.txt", b"", "empty"),
        ("feed.xml", b"<rss><channel><item><title>x</ti", ""),
        ("broken.jsonl", b'{"title": "a"\n[1, 2]\n"text"\n', ""),
    ],
)
def test_a_bad_file_fails_alone_in_one_line(
    index_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    name: str,
    content: bytes,
    reason: str,
) -> None:
    bad = tmp_path / name
    bad.write_bytes(content)
    good = tmp_path / "good.txt"
    good.write_text("Harbour news\n\nThe ferry fares were frozen for the winter, said the mayor.\n")
    code = main(["ingest", str(bad), str(good)])
    out, err = capsys.readouterr()
    assert code == 1 and "Traceback" not in err
    failed = [line for line in out.splitlines() if line.startswith("  failed")]
    assert len(failed) >= 1 and all(reason in line for line in failed)
    assert "1 added" in out
    assert all("\n" not in line for line in failed)
    if "\n" in name:  # the name is shown escaped, so the report stays one line per failure
        assert "evil\\nname.txt" in failed[0]


def test_legacy_encodings_and_scripts_through_the_cli(
    index_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "in").mkdir()
    (tmp_path / "in/latin1.txt").write_bytes(
        "Café crème\n\nLe café de la gare a rouvert, a dit le maire à Noël.\n".encode("latin-1")
    )
    (tmp_path / "in/cp1252.txt").write_bytes(
        "Smart “quotes”\n\nThe mayor’s “café” reopened – at last, he said.\n".encode("cp1252")
    )
    (tmp_path / "in/page.html").write_bytes(
        b"<html><head><title>Cranes</title><script>steal()</script></head><body><article>"
        b"<p>The harbour authority repainted the cranes of Port Ellery bright orange on Tuesday"
        b" after weeks of complaints.</p><script>document.write('evil')</script></article>"
        b"</body></html>"
    )
    code, report = ingest(capsys, tmp_path / "in")
    assert code == 0
    titles = sorted(a["title"] for a in report["added"])  # type: ignore[union-attr]
    assert titles == ["Café crème", "Cranes", "Smart “quotes”"]
    code = main(["search", "--json", "cranes orange"])
    hits = json.loads(capsys.readouterr()[0])
    assert "steal()" not in hits[0]["text"] and "evil" not in hits[0]["text"]


GOOD_LINE = b'{"title": "Ferry fares", "text": "The ferry fares were frozen for the winter."}\n'


def test_a_jsonl_line_nested_100000_deep_fails_alone(
    index_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    deep = tmp_path / "deep.jsonl"
    deep.write_bytes(
        GOOD_LINE
        + b'{"text": ' + b"[" * 100_000 + b"]" * 100_000 + b"}\n"
        + b'{"title": "Cranes", "text": "The harbour cranes were painted orange."}\n'
    )  # fmt: skip
    front = tmp_path / "deep.md"
    front.write_bytes(b"---\ntitle: " + b"[" * 100_000 + b"\n---\nThe mayor spoke at noon.\n")
    good = tmp_path / "good.txt"
    good.write_text("Harbour news\n\nThe harbour reopened on Monday, said the mayor.\n")
    code, report = ingest(capsys, deep, front, good)
    assert code == 1
    assert report["failed"] == [
        f"{deep}:2: nested too deeply to read",
        f"{front}: nested too deeply to read",
    ]
    titles = sorted(a["title"] for a in report["added"])  # type: ignore[union-attr]
    assert titles == ["Cranes", "Ferry fares", "Harbour news"]


def test_a_file_name_that_is_not_utf8_is_read_with_its_directory(
    index_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.txt").write_text("Cranes\n\nThe harbour cranes were painted orange.\n")
    odd = os.path.join(os.fsencode(folder), b"caf\xe9 \xff.txt")  # Latin-1 bytes in a name
    with open(odd, "wb") as f:
        f.write(b"Cafe news\n\nThe cafe by the station reopened on Monday.\n")
    (folder / "z.jsonl").write_bytes(  # lone surrogates, escaped in JSON, in text and title
        b'{"title": "Odd \\ud800", "text": "The ferry \\udc80 fares were frozen."}\n'
    )
    code, report = ingest(capsys, folder)
    assert code == 0, report["failed"]
    added = {a["title"]: a for a in report["added"]}  # type: ignore[union-attr]
    assert sorted(added) == ["Cafe news", "Cranes", "Odd \ufffd"]
    assert added["Cafe news"]["origin"] == f"{folder}/caf\\xe9 \\xff.txt"
    assert main(["list"]) == 0
    assert "Cafe news" in capsys.readouterr()[0]
