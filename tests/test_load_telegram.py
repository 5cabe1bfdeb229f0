"""A smaller run of bench/load_telegram.py: 10 users x 5 questions at once, against the real
`newsqa telegram` process; nothing lost, nothing answered twice (no timing is asserted)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.model


def test_ten_users_at_once_lose_nothing_and_get_nothing_twice(bundled_index: Path) -> None:
    spec = importlib.util.spec_from_file_location("load_telegram", REPO / "bench/load_telegram.py")
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    result = bench.run_load(bundled_index, users=10, questions=5, baseline_questions=3)
    load = result["load"]
    assert load["failures"] == []
    assert load["answered"] == 50
    assert load["answers_per_user"] == [5]  # each question answered exactly once
    assert result["delivery_problems"] == ""  # each update delivered once and confirmed
    assert result["fake_errors"] == []
    assert result["exit_code"] == 0
    assert result["token_in_output"] is False
