"""SIGKILL during ingest, at every step of the write path: the index is always whole.

Each trial copies a small index (the "before" state), runs a real ingest in a child process
(tests/crash_harness.py) that kills itself with SIGKILL at one chosen call of the write path, or
is killed from outside at a random moment, then opens the index with the real code and checks:
it is exactly the state before the run or after it (articles, passages, vectors and search
results), `check()` finds nothing, no article is half there, and rerunning the ingest completes it.
"""

from __future__ import annotations

import dataclasses
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from corpus.split import split_passages
from corpus.types import Article
from index import Archive
from index.archive import vectors_file
from index.manifest import read_manifest
from tests.crash_harness import POINTS
from tests.fakes import HashEncoder

REPO = Path(__file__).resolve().parent.parent
HARNESS = REPO / "tests" / "crash_harness.py"
TOPICS = [
    "The minister said the sanctions had failed and the envoy left Minsk.",
    "Oil prices rose sharply on Monday as refineries in the gulf shut down.",
    "Farmers protested against the new tariffs on grain and fertiliser.",
    "The central bank held interest rates steady for a third month.",
    "Engineers reopened the harbour bridge after months of repairs.",
    "Glassblowers in Vellmar kept their furnaces burning all winter.",
    "Ferry fares were frozen after complaints from island residents.",
    "The council counted every chimney twice and filed its reports.",
]
QUERIES = ["sanctions envoy", "oil prices refineries", "harbour bridge repairs", "ferry fares"]


def make(n: int, variant: str = "") -> Article:
    """An article of three passages or so, on its own topic."""
    lead = TOPICS[n % len(TOPICS)]
    sentences = [f"{lead[:-1]} {variant}report {n}, part {i}." for i in range(9)]
    return Article(
        id=f"art{n:02d}",
        title=f"Story {n} {variant}".strip(),
        text=" ".join(sentences),
        source="Wire",
        published=f"2024-01-{n + 1:02d}",
        origin=f"test:{n}",
    )


BEFORE_BATCHES = [[make(0), make(1)], [make(2)], [make(3)]]  # three commits: stale files to prune
AFTER_BATCH = [make(4), make(5), make(1, "revised "), make(6)]  # adds three, replaces one


def to_json(batches: list[list[Article]]) -> str:
    return json.dumps([[dataclasses.asdict(a) for a in batch] for batch in batches])


def snapshot(directory: Path) -> dict[str, Any]:
    """What the index holds, read with the real code; fails on any inconsistency."""
    with Archive.open(directory, HashEncoder()) as archive:
        assert archive.check() == []
        store = archive.store
        articles = store.query("SELECT id, title, content_hash FROM articles ORDER BY id")
        passages = store.query(
            "SELECT article_id, ordinal, start, length FROM passages ORDER BY article_id, ordinal"
        )
        for item in archive.articles():  # no half article: every passage of each one is there
            stored = store.get_article(item.info.id)
            assert stored is not None
            expected = split_passages(stored.id, stored.text, archive.split_config)
            assert item.passages == len(expected) > 0, item.info.id
        # the FAISS file holds exactly the stored passages, with their stored vectors
        import faiss

        index = faiss.read_index(str(directory / vectors_file(archive.generation)))
        faiss_ids = faiss.vector_to_array(index.id_map).astype(np.int64)
        stored_vectors = store.embeddings(faiss_ids.tolist(), archive.manifest.dimension)
        passage_ids = sorted(r[0] for r in store.query("SELECT id FROM passages"))
        assert sorted(stored_vectors) == passage_ids
        held = index.index.reconstruct_n(0, index.ntotal) if index.ntotal else []
        for pid, vector in zip(faiss_ids, held, strict=True):
            np.testing.assert_array_equal(vector, stored_vectors[int(pid)])
        searches = {
            q: [(h.article.id, h.passage.ordinal, round(h.score, 5)) for h in archive.search(q, 8)]
            for q in QUERIES
        }
    return {"articles": articles, "passages": passages, "searches": searches}


def build(directory: Path, batches: list[list[Article]]) -> list[dict[str, Any]]:
    """Add the batches one `add` at a time; the state after each (the first: before any)."""
    states = []
    with Archive.open(directory, HashEncoder(), create=True):
        pass
    states.append(snapshot(directory))
    for batch in batches:
        with Archive.open(directory, HashEncoder()) as archive:
            archive.add(batch)
        states.append(snapshot(directory))
    return states


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The template index (before), and the reference states of the two kinds of run."""
    work = tmp_path_factory.mktemp("crash")
    template = work / "before"
    build(template, BEFORE_BATCHES)
    before = snapshot(template)
    shutil.copytree(template, work / "one")
    with Archive.open(work / "one", HashEncoder()) as archive:
        archive.add(AFTER_BATCH)
    after = snapshot(work / "one")
    assert after != before
    shutil.copytree(template, work / "steps")
    started = time.perf_counter()
    steps = [before]
    for article in AFTER_BATCH:
        with Archive.open(work / "steps", HashEncoder()) as archive:
            archive.add([article])
        steps.append(snapshot(work / "steps"))
    return {
        "template": template,
        "before": before,
        "after": after,
        "steps": steps,
        "seconds": time.perf_counter() - started,
    }


def run_child(directory: Path, batches: list[list[Article]], crash: str | None) -> int:
    command = [sys.executable, str(HARNESS), str(directory), to_json(batches)]
    if crash:
        command += ["--crash", crash]
    done = subprocess.run(command, capture_output=True, timeout=60, cwd=REPO)
    return done.returncode


def files_are_tidy(directory: Path) -> None:
    known = {"manifest.json", "manifest.json.tmp", "newsqa.sqlite", ".write.lock"}
    for path in directory.iterdir():
        name = path.name
        if name in known or name.startswith("newsqa.sqlite-"):
            continue
        assert name.startswith(("vectors.", "lexical.")), name
        assert name.endswith((".faiss", ".npz")), name
    assert len(list(directory.glob("vectors.*.faiss"))) <= 2
    assert len(list(directory.glob("lexical.*.npz"))) <= 2


# (point, n, kill after the call returns, the state expected: the commit point decides)
CRASHES = [
    ("encode_documents", 1, False, "before"),
    ("encode_documents", 2, True, "before"),
    ("sql-begin", 1, False, "before"),
    ("sql-begin", 1, True, "before"),
    ("sql-delete-passages", 1, True, "before"),
    ("sql-insert-article", 1, False, "before"),
    ("sql-insert-article", 3, True, "before"),
    ("sql-insert-passage", 1, True, "before"),
    ("sql-insert-passage", 5, False, "before"),
    ("sql-insert-fts", 2, True, "before"),
    ("sql-insert-sentences", 2, True, "before"),
    ("Store.insert_article", 2, False, "before"),
    ("Store.insert_article", 4, True, "before"),
    ("Store.insert_quotes", 2, True, "before"),
    ("sql-set-meta", 1, True, "before"),
    ("sql-set-meta", 2, True, "before"),
    ("VectorIndex.save", 1, False, "before"),
    ("faiss.write_index", 1, False, "before"),
    ("faiss.write_index", 1, True, "before"),  # a whole temporary file, not yet renamed
    ("os.fsync", 1, False, "before"),
    ("os.fsync", 1, True, "before"),
    ("os.replace", 1, False, "before"),
    ("os.replace", 1, True, "before"),  # the new FAISS file is in place, SQLite not committed
    ("VectorIndex.save", 1, True, "before"),
    ("Postings.save", 1, False, "before"),
    ("os.fsync", 2, False, "before"),  # the BM25 postings file, written like the FAISS file
    ("os.replace", 2, False, "before"),
    ("os.replace", 2, True, "before"),  # the new postings file is in place, SQLite not committed
    ("Postings.save", 1, True, "before"),
    ("sql-commit", 1, False, "before"),
    ("sql-commit", 1, True, "after"),  # committed: the manifest is now stale
    ("write_manifest", 1, False, "after"),
    ("os.fsync", 3, False, "after"),
    ("os.replace", 3, False, "after"),
    ("os.replace", 3, True, "after"),
    ("write_manifest", 1, True, "after"),
    ("Path.unlink", 1, False, "after"),
    ("Path.unlink", 1, True, "after"),
]


def test_the_crash_points_cover_the_write_path() -> None:
    assert len({(p, n, after) for p, n, after, _ in CRASHES}) >= 20
    assert {p for p, *_ in CRASHES} == set(POINTS)


@pytest.mark.parametrize(
    ("point", "n", "after", "expected"),
    CRASHES,
    ids=[f"{p}#{n}{'-after' if a else ''}" for p, n, a, _ in CRASHES],
)
def test_sigkill_at_a_write_step_leaves_before_or_after(
    world: dict[str, Any], tmp_path: Path, point: str, n: int, after: bool, expected: str
) -> None:
    directory = tmp_path / "index"
    shutil.copytree(world["template"], directory)
    crash = f"{point}:{n}{':after' if after else ''}"
    assert run_child(directory, [AFTER_BATCH], crash) == -signal.SIGKILL

    assert snapshot(directory) == world[expected]
    with Archive.open(directory, HashEncoder()) as archive:  # rerun the ingest: it completes
        archive.add(AFTER_BATCH)
    assert snapshot(directory) == world["after"]
    assert read_manifest(directory).articles == len(world["after"]["articles"])
    files_are_tidy(directory)


def test_sigkill_from_outside_at_random_moments(world: dict[str, Any], tmp_path: Path) -> None:
    """Killed at a random moment of a run of four commits: always one of the five states."""
    rng = random.Random(20241122)
    batches = [[a] for a in AFTER_BATCH]
    seen = set()
    for trial in range(10):
        directory = tmp_path / f"index{trial}"
        shutil.copytree(world["template"], directory)
        command = [sys.executable, str(HARNESS), str(directory), to_json(batches)]
        child = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, text=True)
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "ready"
        time.sleep(rng.uniform(0, world["seconds"] * 1.5))
        os.kill(child.pid, signal.SIGKILL)
        child.wait(30)
        child.stdout.close()

        state = snapshot(directory)
        assert state in world["steps"]
        seen.add(world["steps"].index(state))
        with Archive.open(directory, HashEncoder()) as archive:
            for batch in batches:
                archive.add(batch)
        assert snapshot(directory) == world["steps"][-1]
    assert len(seen) >= 2  # the kills did land at different points of the run
