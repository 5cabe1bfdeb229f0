"""Ingest in another process while threads answer from one shared Archive, as the bot does.

The readers never reopen the index: they must see each new generation as it is committed, and
never a half-written one (a hit whose passage or article is missing, an article with only some
of its passages, an error).
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from corpus.split import split_passages
from corpus.types import Article
from index import Archive
from index.archive import vectors_file
from index.postings import Postings, postings_file
from index.vectors import VectorIndex
from tests.fakes import HashEncoder
from tests.test_crash_safety import HARNESS, REPO, make, to_json

QUERIES = ["sanctions envoy report", "oil prices refineries", "harbour bridge", "ferry fares part"]


def test_readers_see_new_articles_and_never_a_half_written_state(tmp_path: Path) -> None:
    directory = tmp_path / "index"
    with Archive.open(directory, HashEncoder(), create=True) as archive:
        archive.add([make(0), make(1)])
    batches = [[make(n)] for n in range(2, 40)] + [[make(1, "revised ")]]
    versions: dict[str, list[str]] = {}  # article id -> every text it has had
    for a in [make(0), make(1), *(a for batch in batches for a in batch)]:
        versions.setdefault(a.id, []).append(a.text)
    counts = {
        i: {len(split_passages(i, text, archive.split_config)) for text in texts}
        for i, texts in versions.items()
    }
    errors: list[BaseException] = []
    generations: list[list[int]] = [[] for _ in range(3)]
    stop = threading.Event()

    with Archive.open(directory, HashEncoder()) as shared:

        def read(n: int) -> None:
            try:
                while not stop.is_set():
                    # read before searching: other threads share `shared` and may refresh it
                    # between this search and any later read
                    generation = shared.generation
                    hits = shared.search(QUERIES[n % len(QUERIES)], k=8)
                    generations[n].append(generation)
                    for hit in hits:  # each hit is whole: a passage of a version of its article
                        p = hit.passage
                        assert any(
                            text[p.start : p.start + len(p.text)] == p.text
                            for text in versions[hit.article.id]
                        )
                        passages = shared.store.article_passages(hit.article.id)
                        if p.id not in {q.id for q in passages}:  # replaced since: by a newer
                            assert shared.store.generation() > generation  # generation only
                        assert len(passages) in counts[hit.article.id], hit.article.id
            except BaseException as e:  # noqa: BLE001 (reported by the main thread)
                errors.append(e)

        readers = [threading.Thread(target=read, args=(n,)) for n in range(3)]
        for reader in readers:
            reader.start()
        writer = _run_writer(directory, batches)
        time.sleep(0.2)
        stop.set()
        for reader in readers:
            reader.join(30)
        assert writer.returncode == 0, writer.stderr
        assert errors == []
        for seen in generations:
            assert seen == sorted(seen)  # never back to an older state
        assert max(max(seen) for seen in generations) == shared.generation
        found = {h.article.id for h in shared.search("report 39 part", k=50, max_per_article=1)}
        assert make(39).id in found  # a new article, without reopening
        assert shared.stats()["articles"] == 40
        assert shared.check() == []


def test_two_first_ingests_into_a_new_directory_both_land(tmp_path: Path) -> None:
    """Released together at a directory that does not exist yet, 20 times: one creates the index
    under the writer lock, the other waits and opens it; neither fails, nothing is lost."""
    failures = []
    for trial in range(20):
        directory = tmp_path / f"trial{trial}" / "index"
        go = tmp_path / f"go{trial}"
        children = [
            subprocess.Popen(
                [sys.executable, str(HARNESS), str(directory), to_json(batch), "--go", str(go)],
                cwd=REPO,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for batch in ([[make(0), make(1)]], [[make(2), make(3)]])
        ]
        for child in children:
            assert child.stdout is not None
            assert child.stdout.readline() == "waiting\n"
        go.touch()
        for child in children:
            out, err = child.communicate(timeout=120)
            if child.returncode != 0:
                failures.append(f"trial {trial}: {err.strip().splitlines()[-1]}")
        with Archive.open(directory, HashEncoder()) as archive:
            ids = sorted(a.info.id for a in archive.articles())
            if ids != [make(n).id for n in range(4)]:
                failures.append(f"trial {trial}: the index holds {ids}")
            assert archive.check() == []
    assert failures == []


def _run_writer(directory: Path, batches: list[list[Article]]) -> subprocess.CompletedProcess[str]:
    """Commit `batches` into the index from another process (tests/crash_harness.py)."""
    return subprocess.run(
        [sys.executable, str(HARNESS), str(directory), to_json(batches)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _commit_in_another_process(directory: Path, batches: list[list[Article]]) -> None:
    writer = _run_writer(directory, batches)
    assert writer.returncode == 0, writer.stderr


def _wait_for(condition: Callable[[], bool], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_a_reader_whose_files_a_writer_removes_before_it_opens_them_reads_the_new_ones(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only the committed generation's files are kept. A reader that read the generation, then
    lost the race to a writer in another process (which committed the next one and removed the
    files of the one the reader was about to open), loads the new generation: no error, no
    rebuild of the postings from SQLite, nothing of the old generation served."""
    directory = tmp_path / "index"
    with Archive.open(directory, HashEncoder(), create=True) as archive:
        archive.add([make(0), make(1)])
        archive.search("sanctions envoy", k=3)  # writes the postings file of this generation
        first = archive.generation
    assert (directory / vectors_file(first)).exists()
    assert (directory / postings_file(first)).exists()
    opened: list[str] = []
    reached, resume = threading.Event(), threading.Event()
    load_vectors, load_postings = VectorIndex.load, Postings.load

    def paused(load: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(path: Path, *args: Any) -> Any:
            opened.append(path.name)
            if len(opened) == 1:  # the reader has read the generation, not yet opened its file
                reached.set()
                assert resume.wait(60)
            return load(path, *args)

        return wrapper

    monkeypatch.setattr(VectorIndex, "load", staticmethod(paused(load_vectors)))
    monkeypatch.setattr(Archive, "_build_postings", lambda self: pytest.fail("rebuilt"))
    loaded: list[Archive] = []
    errors: list[BaseException] = []

    def read() -> None:
        try:
            loaded.append(Archive.open(directory, HashEncoder()))
        except BaseException as e:  # noqa: BLE001 (reported by the main thread)
            errors.append(e)

    reader = threading.Thread(target=read)
    reader.start()
    assert reached.wait(60)
    _commit_in_another_process(directory, [[make(2)]])
    assert not (directory / vectors_file(first)).exists()  # removed under the reader
    resume.set()
    reader.join(60)
    assert errors == []
    archive = loaded[0]
    assert opened == [vectors_file(first), vectors_file(first + 1)]
    assert archive.generation == first + 1
    assert len(archive._vectors) == archive.store.counts()[1]

    # the same race for the postings file: read the generation, lose its file, read the next
    opened.clear()
    reached.clear()
    resume.clear()
    monkeypatch.setattr(VectorIndex, "load", staticmethod(load_vectors))
    monkeypatch.setattr(Postings, "load", staticmethod(paused(load_postings)))
    searching = threading.Thread(target=lambda: loaded.append(archive.search("report 3", k=50)))
    searching.start()
    assert reached.wait(60)
    _commit_in_another_process(directory, [[make(3)]])
    assert not (directory / postings_file(first + 1)).exists()
    resume.set()
    searching.join(60)
    assert opened == [postings_file(first + 1), postings_file(first + 2)]
    assert archive.generation == first + 2
    hits = loaded[1]
    assert isinstance(hits, list)
    assert make(3).id in {h.article.id for h in hits}
    assert archive.check() == []
    archive.close()


def test_readers_opening_the_index_again_and_again_while_another_process_writes(
    tmp_path: Path,
) -> None:
    """Threads open the index afresh (load its vector and postings files) and search, over and
    over, while a writer process commits 30 times, each commit removing the files before it:
    every open succeeds and sees a whole generation."""
    directory = tmp_path / "index"
    with Archive.open(directory, HashEncoder(), create=True) as archive:
        archive.add([make(0), make(1)])
    errors: list[BaseException] = []
    generations: list[list[int]] = [[], []]
    stop = threading.Event()

    def read(n: int) -> None:
        try:
            while not stop.is_set():
                # opening checks the vector file against the passages of its generation
                with Archive.open(directory, HashEncoder()) as fresh:
                    hits = fresh.search(QUERIES[n % len(QUERIES)], k=8)
                    assert hits and all(h.passage.text for h in hits)
                    generations[n].append(fresh.generation)
        except BaseException as e:  # noqa: BLE001 (reported by the main thread)
            errors.append(e)

    # the writer starts committing once both readers have opened the index, and the readers stop
    # once both have opened its last generation: each sees the writes begin and end, however
    # slow this machine is
    go = tmp_path / "go"
    batches = [[make(n)] for n in range(2, 32)]
    writer = subprocess.Popen(
        [sys.executable, str(HARNESS), str(directory), to_json(batches), "--go", str(go)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    readers = [threading.Thread(target=read, args=(n,)) for n in range(2)]
    try:
        assert writer.stdout is not None and writer.stdout.readline() == "waiting\n"
        for reader in readers:
            reader.start()
        _wait_for(lambda: all(generations) or bool(errors))
        before = generations[0][0]
        go.touch()
        _, err = writer.communicate(timeout=120)
        assert writer.returncode == 0, err
        with Archive.open(directory, HashEncoder()) as done:
            last = done.generation
        _wait_for(lambda: all(seen[-1] == last for seen in generations) or bool(errors))
    finally:
        stop.set()
        writer.kill()
        for reader in readers:
            if reader.is_alive():
                reader.join(60)
    assert errors == []
    assert last > before
    for seen in generations:
        assert seen == sorted(seen) and seen[0] < seen[-1] == last  # opened during the writes
    assert sorted(p.name for p in directory.glob("vectors.*")) == [vectors_file(31)]
