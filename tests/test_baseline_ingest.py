"""bench/baseline_ingest.py: the naive pipeline's chunks cover the text in order, once."""

from __future__ import annotations

import importlib.util
from types import ModuleType

import pytest

from tests.conftest import REPO


@pytest.fixture(scope="module")
def baseline() -> ModuleType:
    path = REPO / "bench" / "baseline_ingest.py"
    spec = importlib.util.spec_from_file_location("baseline_ingest", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_chunks_cut_at_spaces_and_keep_every_word_once(baseline: ModuleType) -> None:
    words = [f"word{n}" for n in range(700)]
    text = " ".join(words)
    pieces = baseline.chunks(text, 1000)
    assert all(len(p) <= 1000 for p in pieces)
    assert all(len(p) >= 500 for p in pieces[:-1])  # cut near the size, not at the first space
    assert " ".join(pieces).split() == words  # nothing lost, nothing repeated, in order
    unbroken = baseline.chunks("one " + "x" * 2500, 1000)  # no space near the size: cut there
    assert [len(p) for p in unbroken] == [1000, 1000, 504]
    assert baseline.chunks("", 1000) == []
