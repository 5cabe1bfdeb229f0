"""Conversations in Telegram as users meet them: the real bot process against the fake Bot API.
A follow-up in a private chat, a follow-up in a group reply chain while another member asks
something else, /new, and a restart between two turns."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.telegram_bot import BotProcess, start_bot
from tests.telegram_fake import BOT_USERNAME, FakeBotAPI, SentMessage, parse_html

pytestmark = pytest.mark.model

TOKEN = "123456789:AAConversationTokenNeverLogged_q7"
ALICE, CAROL, DAVE = 701, 702, 703
NEWSROOM = -2001
LAVROV = "What did Lavrov say about sanctions?"
HALEY = "What did Nikki Haley warn would happen if war comes?"
FOLLOW_UP = "When did he say it?"
UNDERSTOOD = "understood as: When did Sergei Lavrov say that about sanctions?"


class Bot(BotProcess):
    def ask(self, chat_id: int, *message: object, **kw: int) -> str:
        """A user writes; the bot's answer, as the user sees it."""
        since = len(self.api.sent)
        self.api.send_text(*message, **kw)  # type: ignore[arg-type]
        return visible(self.final_part(chat_id, since, timeout=60)[0])

    def answer_message(self, chat_id: int, *message: object, **kw: int) -> SentMessage:
        since = len(self.api.sent)
        self.api.send_text(*message, **kw)  # type: ignore[arg-type]
        return self.final_part(chat_id, since, timeout=60)[-1]


def visible(message: SentMessage) -> str:
    assert message.text is not None
    return parse_html(message.text)[0]


def _start(api: FakeBotAPI, index: Path, work: Path, state: Path) -> Bot:
    bot = start_bot(
        api, index, work, TOKEN, (), Bot,
        NEWSQA_STATE_DIR=str(state), TELEGRAM_ALLOWED_CHATS=str(NEWSROOM),
        TELEGRAM_ALLOWED_USERS=f"{ALICE},{CAROL},{DAVE}",
    )  # fmt: skip
    api.wait_until_polling(timeout=60)
    return bot


@pytest.fixture(scope="module")
def setup(
    bundled_index: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[FakeBotAPI, Path, Path, list[Bot]]]:
    work = tmp_path_factory.mktemp("telegram-conversations")
    index, state = work / "index", work / "state"
    shutil.copytree(bundled_index, index)
    with FakeBotAPI(TOKEN, privacy_mode=False) as api:
        bots = [_start(api, index, work / "run0", state)]
        try:
            yield api, index, state, bots
        finally:
            for bot in bots:
                bot.stop()
        assert api.internal_errors == []


def test_private_follow_up_and_new(setup: tuple[FakeBotAPI, Path, Path, list[Bot]]) -> None:
    api, _, _, bots = setup
    bot = bots[-1]
    alice = api.user(ALICE, "Alice")
    first = bot.ask(ALICE, alice, alice, LAVROV)
    assert "pressure of sanctions has been exhausted" in first
    follow = bot.ask(ALICE, alice, alice, FOLLOW_UP)
    assert UNDERSTOOD in follow and "Lavrov" in follow
    since = len(api.sent)
    api.send_text(alice, alice, "/new")
    [reply] = api.wait_for_messages(ALICE, 1, timeout=30, since=since)
    assert "New topic" in visible(reply)
    again = bot.ask(ALICE, alice, alice, FOLLOW_UP)
    assert "understood as" not in again  # nothing to follow after /new


def test_group_reply_chains_do_not_mix(setup: tuple[FakeBotAPI, Path, Path, list[Bot]]) -> None:
    api, _, _, bots = setup
    bot = bots[-1]
    carol, dave = api.user(CAROL, "Carol"), api.user(DAVE, "Dave")
    group = api.group(NEWSROOM, "Newsroom", supergroup=True)
    lavrov = bot.answer_message(NEWSROOM, group, carol, f"@{BOT_USERNAME} {LAVROV}")
    haley = bot.answer_message(NEWSROOM, group, dave, f"@{BOT_USERNAME} {HALEY}")
    assert "utterly destroyed" in visible(haley) or "war" in visible(haley)
    follow = bot.ask(NEWSROOM, group, carol, FOLLOW_UP, reply_to_message_id=lavrov.message_id)
    assert UNDERSTOOD in follow  # Carol's chain, not Dave's later question about Haley
    own = bot.ask(NEWSROOM, group, dave, f"@{BOT_USERNAME} {FOLLOW_UP}")
    assert "understood as" not in own  # a new question in a group starts its own chain


def test_a_restart_between_two_turns(setup: tuple[FakeBotAPI, Path, Path, list[Bot]]) -> None:
    api, index, state, bots = setup
    alice = api.user(ALICE, "Alice")
    assert "pressure of sanctions" in bots[-1].ask(ALICE, alice, alice, LAVROV)
    assert bots[-1].stop() == 0
    bots.append(_start(api, index, index.parent / "run1", state))
    follow = bots[-1].ask(ALICE, alice, alice, FOLLOW_UP)
    assert UNDERSTOOD in follow
    assert (state / "conversations.sqlite").exists()
