"""bench/load_telegram.py: a smaller run (10 users x 5 questions at once, against the real
`newsqa telegram` process; nothing lost, nothing answered twice, the served index left as it was;
no timing is asserted), and its questions-file reader."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import sys
from pathlib import Path
from types import ModuleType

import pytest

from tests.conftest import REPO


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("load_telegram", REPO / "bench/load_telegram.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def contents(directory: Path) -> dict[str, tuple[int, str]]:
    """Every file under a directory with its mode and a hash of its bytes."""
    return {
        str(p.relative_to(directory)): (
            p.stat().st_mode,
            hashlib.sha256(p.read_bytes()).hexdigest(),
        )
        for p in sorted(directory.rglob("*"))
        if p.is_file()
    }


@pytest.mark.model
def test_ten_users_at_once_lose_nothing_and_get_nothing_twice(
    bench: ModuleType, bundled_index: Path
) -> None:
    before = contents(bundled_index)
    result = bench.run_load(bundled_index, users=10, questions=5, baseline_questions=3)
    load = result["load"]
    assert load["failures"] == []
    assert load["answered"] == 50
    assert load["answers_per_user"] == [5]  # each question answered exactly once
    assert load["answered_without_buttons"] == 0  # every bundled question has sources
    assert result["delivery_problems"] == ""  # each update delivered once and confirmed
    assert result["fake_errors"] == []
    assert result["exit_code"] == 0
    assert result["token_in_output"] is False
    # the bot served a copy: the index it was given is byte for byte as it was
    assert result["source_index_changes"] == []
    assert contents(bundled_index) == before
    assert result["bot_open_in_source"] == []
    if sys.platform == "linux":  # /proc shows the bot serving its copy
        assert "newsqa.sqlite" in result["bot_open_in_copy"]


def write_lines(path: Path, *lines: str) -> Path:
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def test_questions_are_read_from_jsonl_files_in_order(bench: ModuleType, tmp_path: Path) -> None:
    first = write_lines(
        tmp_path / "a.jsonl",
        json.dumps({"id": "1", "question": " Which item showed a price spike? ", "answers": []}),
        "",
        json.dumps({"question": "Who won the election?"}),
    )
    second = write_lines(tmp_path / "b.jsonl", json.dumps({"question": "Où est Paris ?"}))
    assert bench.read_questions([first, second]) == [
        "Which item showed a price spike?",
        "Who won the election?",
        "Où est Paris ?",
    ]


@pytest.mark.parametrize(
    ("line", "error"),
    [
        ("not json", "questions.jsonl:2: not a JSON object"),
        ('["a list"]', "questions.jsonl:2: not a JSON object"),
        ('{"text": "no question field"}', 'questions.jsonl:2: no "question" text'),
        ('{"question": "  "}', 'questions.jsonl:2: no "question" text'),
        ('{"question": 7}', 'questions.jsonl:2: no "question" text'),
    ],
)
def test_a_line_without_a_question_is_an_error_naming_it(
    bench: ModuleType, tmp_path: Path, line: str, error: str
) -> None:
    path = write_lines(tmp_path / "questions.jsonl", json.dumps({"question": "Fine?"}), line)
    with pytest.raises(bench.QuestionsFileError, match=error):
        bench.read_questions([path])


def test_a_file_without_questions_is_an_error(bench: ModuleType, tmp_path: Path) -> None:
    path = write_lines(tmp_path / "empty.jsonl", "", "  ")
    with pytest.raises(bench.QuestionsFileError, match="no questions in"):
        bench.read_questions([path])


def test_snapshots_see_files_written_added_and_removed(bench: ModuleType, tmp_path: Path) -> None:
    (tmp_path / "kept").write_text("same")
    (tmp_path / "written").write_text("before")
    (tmp_path / "removed").write_text("gone soon")
    before = bench.snapshot(tmp_path)
    (tmp_path / "written").write_text("after, longer")
    (tmp_path / "removed").unlink()
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "added-wal").write_text("new")
    assert bench.changed(before, bench.snapshot(tmp_path)) == [
        "removed",
        "sub/added-wal",
        "written",
    ]
    assert bench.changed(before, before) == []


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc")
def test_open_files_under_a_directory_are_those_a_process_holds_there(
    bench: ModuleType, tmp_path: Path
) -> None:
    (tmp_path / "index").mkdir()
    (tmp_path / "elsewhere").mkdir()
    with (
        (tmp_path / "index" / "newsqa.sqlite").open("wb"),
        (tmp_path / "elsewhere" / "x").open("wb"),
    ):
        assert bench.open_files_under(os.getpid(), tmp_path / "index") == ["newsqa.sqlite"]
    assert bench.open_files_under(os.getpid(), tmp_path / "index") == []
