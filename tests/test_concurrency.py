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
from pathlib import Path

from corpus.split import split_passages
from index import Archive
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
        writer = subprocess.run(
            [sys.executable, str(HARNESS), str(directory), to_json(batches)],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=120,
        )
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
