"""`newsqa watch` as an operator runs it: the real process and model, a news site on 127.0.0.1
(allowed by the fetch policy) publishing over time, a restart, and a feed server that fails."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest

from index import Archive
from index.onnx_encoder import OnnxEncoder
from tests.feed_server import FeedServer, Item, page
from tests.test_feeds import T0, full_item

pytestmark = pytest.mark.model
NEWSQA = Path(sys.executable).parent / "newsqa"


def wait_until(condition: Callable[[], bool], what: str, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {timeout}s for {what}")
        time.sleep(0.05)


def test_watch_polls_commits_survives_a_restart_and_backs_off(
    bundled_index: Path, real_encoder: OnnxEncoder, tmp_path: Path
) -> None:
    index = tmp_path / "index"
    shutil.copytree(bundled_index, index)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "NEWSQA_"))},
        "NEWSQA_INDEX_DIR": str(index),
        "NEWSQA_CONFIG": str(tmp_path / "no-config.toml"),
        "NEWSQA_FETCH_ALLOW": "127.0.0.1",
        "HF_HUB_OFFLINE": "1",
    }

    def newsqa(*args: str) -> str:
        done = subprocess.run([NEWSQA, *args], env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        return done.stdout

    def start() -> subprocess.Popen[bytes]:
        with (tmp_path / "watch.log").open("ab") as out:
            return subprocess.Popen([NEWSQA, "watch"], env=env, stdout=out, stderr=out)

    def log() -> str:
        return (tmp_path / "watch.log").read_text()

    with FeedServer() as site, Archive.open(index, real_encoder) as archive:

        def top_title(question: str) -> str:
            return archive.search(question, 1)[0].article.title

        site.publish(
            Item("ferry", "Night ferry returns", T0, summary="After two years."),
            page(
                "Night ferry returns | Harbour Gazette",
                "The night ferry to the islands "
                "returned on Friday after two years without a crossing.",
                "The operator said bookings for the summer were strong.",
            ),  # fmt: skip
        )
        newsqa("feeds", "add", site.feed_url, "--every", "1s")
        watch = start()
        try:
            wait_until(lambda: top_title("When did the night ferry return?") ==
                       "Night ferry returns", "the first item")  # fmt: skip

            # a new item is searchable after the next poll (or the one in flight when it appeared)
            before = site.hits("/feed.xml")
            site.publish(full_item("dredging", "Dredging starts in the harbour", 2,
                                   "Dredgers began deepening the harbour channel on Monday. "
                                   * 30))  # fmt: skip
            wait_until(lambda: top_title("When did the dredgers begin deepening the channel?")
                       == "Dredging starts in the harbour", "the second item")  # fmt: skip
            assert site.hits("/feed.xml", 200) - before <= 2

            # nothing new: the feed answers 304 and nothing is read again
            polled = site.hits("/feed.xml")
            wait_until(lambda: site.hits("/feed.xml") >= polled + 3, "three more polls")
            assert site.requests[-1].status == 304 and site.requests[-1].conditional
            assert site.hits("/news/ferry") == 1
            assert archive.store.counts()[0] == 4

            # a restart: SIGTERM ends it cleanly; the next process neither duplicates nor re-reads
            watch.send_signal(signal.SIGTERM)
            assert watch.wait(30) == 0 and "watch stopped" in log()
            requests = len(site.requests)
            watch = start()
            wait_until(lambda: site.hits("/feed.xml") >= polled + 6, "polls after the restart")
            assert [r.status for r in site.requests[requests:]][:2] == [304, 304]
            assert site.hits("/news/ferry") == 1 and archive.store.counts()[0] == 4

            # the feed server fails: the poller waits twice as long after each failure
            site.fail = True
            wait_until(lambda: site.hits("/feed.xml", 500) >= 3, "three failed polls")
            [feed] = [json.loads(line) for line in newsqa("feeds", "list", "--json").splitlines()]
            assert feed["status"] == "error" and "HTTP 500" in feed["last_error"]
            failures = feed["failures"]
            gap = datetime.fromisoformat(feed["next_run"]) - datetime.fromisoformat(
                feed["last_fetch"]
            )
            assert failures >= 3 and 2**failures <= gap.total_seconds() <= 2**failures + 1
            assert "HTTP 500" in log()

            watch.send_signal(signal.SIGINT)  # Ctrl-C
            assert watch.wait(30) == 0
        finally:
            if watch.poll() is None:
                watch.kill()
                watch.wait(5)
    assert "Traceback" not in log()
