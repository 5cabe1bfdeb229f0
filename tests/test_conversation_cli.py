"""Conversations where users meet them: kept on disk (bounded, expired), the REPL driven with
scripted input, and `newsqa ask` with conversation ids, end to end."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.conversation import ArticleRef, Conversation, Turn
from bot.conversation_store import ConversationStore, ConversationStoreError
from index.encoder import SentenceTransformerEncoder
from tests.test_repl import drive


def turn(n: int, at: float) -> Turn:
    return Turn(
        f"q{n}", f"understood {n}", at, "Sergei Lavrov", ("Lavrov",), "Minsk", ArticleRef("a", "T")
    )


def test_store_keeps_turns_across_instances(tmp_path: Path) -> None:
    ConversationStore(tmp_path).save(Conversation("c", [turn(1, 100.0)]), now=100.0)
    loaded = ConversationStore(tmp_path).load("c", now=200.0)
    assert loaded.turns == [turn(1, 100.0)]
    assert ConversationStore(tmp_path).load("other", now=200.0).turns == []


def test_store_forgets_after_the_quiet_period(tmp_path: Path) -> None:
    store = ConversationStore(tmp_path, quiet_s=60)
    store.save(Conversation("old", [turn(1, 0.0)]), now=0.0)
    assert store.load("old", now=61.0).turns == []
    store.save(Conversation("new", [turn(2, 61.0)]), now=61.0)
    assert store.count() == 1  # the quiet one is deleted, not only hidden


def test_store_is_bounded(tmp_path: Path) -> None:
    store = ConversationStore(tmp_path, max_conversations=3)
    for n in range(5):
        store.save(Conversation(str(n), [turn(t, n) for t in range(30)]), now=float(n))
    assert store.count() == 3
    assert store.load("0", now=5.0).turns == []
    assert len(store.load("4", now=5.0).turns) == Conversation("x").max_turns


def test_store_failure_is_one_clear_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("not a directory")
    with pytest.raises(ConversationStoreError, match="conversations"):
        ConversationStore(tmp_path / "file").load("c", now=0.0)


@pytest.mark.model
def test_repl_follow_up_new_and_history(
    bundled_index: Path, real_encoder: SentenceTransformerEncoder
) -> None:
    code, out = drive(
        "What did Lavrov say about sanctions?\nWhen did he say it?\n:history\n:new\n"
        "When did he say it?\n:history\n",
        bundled_index,
        real_encoder,
    )
    assert code == 0
    lines = out.splitlines()
    follow = lines.index("newsqa> When did he say it?")
    assert lines[follow + 1] == "(understood as: When did Sergei Lavrov say that about sanctions?)"
    history = lines.index("newsqa> :history")
    assert lines[history + 1 : history + 4] == [
        "1. What did Lavrov say about sanctions?",
        "2. When did he say it?",
        "   (understood as: When did Sergei Lavrov say that about sanctions?)",
    ]
    assert "New topic: the next question starts afresh." in lines
    again = lines.index("newsqa> When did he say it?", follow + 1)
    assert not lines[again + 1].startswith("(understood as")  # nothing to follow after :new
    last = lines.index("newsqa> :history", history + 1)
    assert lines[last + 1 : last + 3] == ["1. When did he say it?", "bye"]


def _newsqa(args: list[str], index: Path, state: Path, stdin: str = "") -> list[dict[str, object]]:
    env = {
        **os.environ, "NEWSQA_INDEX_DIR": str(index), "NEWSQA_STATE_DIR": str(state),
        "HF_HUB_OFFLINE": "1",
    }  # fmt: skip
    done = subprocess.run(
        [str(Path(sys.executable).with_name("newsqa")), *args],
        input=stdin, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines()]


@pytest.mark.model
def test_ask_json_lines_of_conversations(bundled_index: Path, tmp_path: Path) -> None:
    lines = [
        '{"question": "What did Lavrov say about sanctions?", "conversation": "a"}',
        '{"question": "What did Nikki Haley warn would happen if war comes?", "conversation": "b"}',
        '{"question": "When did he say it?", "conversation": "a"}',
        "When did he say it?",
        '{"question": 3}',
    ]
    a1, b1, a2, alone, bad = _newsqa(
        ["ask", "--json", "-"], bundled_index, tmp_path, "\n".join(lines) + "\n"
    )
    assert (a1["conversation"], b1["conversation"], a2["conversation"]) == ("a", "b", "a")
    assert a1["understood_as"] == "What did Lavrov say about sanctions?"
    assert a2["question"] == "When did he say it?"
    assert a2["understood_as"] == "When did Sergei Lavrov say that about sanctions?"
    assert alone["conversation"] is None and alone["understood_as"] == "When did he say it?"
    assert "error" in bad


@pytest.mark.model
def test_ask_conversation_from_a_shell(bundled_index: Path, tmp_path: Path) -> None:
    args = ["ask", "--json", "--conversation", "shell"]
    (first,) = _newsqa([*args, "What did Lavrov say about sanctions?"], bundled_index, tmp_path)
    (second,) = _newsqa([*args, "When did he say it?"], bundled_index, tmp_path)
    assert first["conversation"] == second["conversation"] == "shell"
    assert second["understood_as"] == "When did Sergei Lavrov say that about sanctions?"
    assert (tmp_path / "conversations.sqlite").exists()


def test_reply_links_lead_to_their_conversation_until_quiet(tmp_path: Path) -> None:
    store = ConversationStore(tmp_path, quiet_s=60, max_conversations=2)
    store.link(-1, 10, "chain-a", now=0.0)
    store.link(-1, 11, "chain-b", now=1.0)
    assert store.linked(-1, 10, now=2.0) == "chain-a"
    assert store.linked(-2, 10, now=2.0) is None  # another chat's message 10
    assert store.linked(-1, 10, now=61.0) is None  # quiet too long
    store.link(-1, 12, "chain-c", now=3.0)
    assert store.linked(-1, 10, now=4.0) is None  # bounded: the oldest link went first
    store.forget("chain-c")
    assert store.linked(-1, 12, now=4.0) is None
    assert store.linked(-1, 11, now=4.0) == "chain-b"


def test_a_damaged_file_is_set_aside_and_conversations_start_afresh(tmp_path: Path) -> None:
    (tmp_path / "conversations.sqlite").write_bytes(b"not a database, a power cut's leftovers" * 50)
    store = ConversationStore(tmp_path)
    assert store.load("c", now=0.0).turns == []
    store.save(Conversation("c", [turn(1, 0.0)]), now=0.0)
    assert store.load("c", now=1.0).turns == [turn(1, 0.0)]
    assert (tmp_path / "conversations.sqlite.damaged").exists()


def test_a_locked_file_is_not_taken_for_a_damaged_one(tmp_path: Path) -> None:
    """Another process writing the file when a store first opens it: the call fails (or waits),
    and the conversations stay where they are; only a damaged file is set aside."""
    import sqlite3

    first = ConversationStore(tmp_path)
    first.save(Conversation("kept", [turn(1, 1.0)]), now=1.0)
    first.close()
    writer = sqlite3.connect(tmp_path / "conversations.sqlite", isolation_level=None)
    writer.execute("PRAGMA journal_mode = DELETE")  # so that its write keeps readers out too
    writer.execute("BEGIN EXCLUSIVE")  # another process, mid-write
    store = ConversationStore(tmp_path)
    store.BUSY_TIMEOUT_S = 0.05
    with pytest.raises(ConversationStoreError, match="locked"):
        store.save(Conversation("new", [turn(2, 2.0)]), now=2.0)
    writer.execute("ROLLBACK")
    writer.close()
    assert not (tmp_path / "conversations.sqlite.damaged").exists()
    assert store.load("kept", now=2.0).turns == [turn(1, 1.0)]  # prepared at this call instead
    store.close()


def in_threads(work: Callable[[int], None], count: int) -> list[BaseException]:
    """Run work(0..count-1) in as many threads, together; their errors (pytest does not see
    other threads' errors)."""
    import threading

    errors: list[BaseException] = []

    def guarded(n: int) -> None:
        try:
            work(n)
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=guarded, args=(n,)) for n in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors


def test_threads_opening_a_new_store_at_once_prepare_it_once(tmp_path: Path) -> None:
    import threading

    store = ConversationStore(tmp_path)
    prepared: list[int] = []
    prepare = store._prepare

    def counted() -> None:
        prepared.append(threading.get_ident())
        prepare()

    store._prepare = counted  # type: ignore[method-assign]
    start = threading.Barrier(8)

    def work(n: int) -> None:
        start.wait()
        store.save(Conversation(f"t{n}", [turn(n, 1.0)]), now=1.0)

    assert in_threads(work, 8) == [] and len(prepared) == 1 and store.count() == 8
    store.close()


def test_store_threads_share_the_file_and_a_removed_file_is_made_again(tmp_path: Path) -> None:
    """Each thread keeps its own connection; what one saves another reads, another process
    (another store) too; a file removed under a running store is made again, not written to
    unseen."""
    store = ConversationStore(tmp_path)

    def work(n: int) -> None:
        for k in range(20):
            store.save(Conversation(f"t{n}-{k}", [turn(k, 1.0)]), now=1.0)

    assert in_threads(work, 4) == [] and store.count() == 80
    assert ConversationStore(tmp_path).load("t3-19", now=2.0).turns == [turn(19, 1.0)]
    for suffix in ("", "-wal", "-shm"):
        (tmp_path / f"conversations.sqlite{suffix}").unlink(missing_ok=True)
    store.save(Conversation("after", [turn(1, 3.0)]), now=3.0)
    assert ConversationStore(tmp_path).load("after", now=4.0).turns == [turn(1, 3.0)]
    assert store.count() == 1
    store.close()
    assert store.load("after", now=4.0).turns == [turn(1, 3.0)]  # a closed store opens again
    store.close()
