"""`newsqa telegram` as users meet it: the real bot process, unmodified, against a fake Bot API.

One bot process serves the whole module (the model takes seconds to load); each test plays its
own users and chats, and the last one stops the bot with SIGTERM.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.telegram_bot import BotProcess, start_bot
from tests.telegram_fake import BOT_USERNAME, Chat, FakeBotAPI, SentMessage, User, parse_html

pytestmark = pytest.mark.model

TOKEN = "987654321:AAHsecretE2eTokenNeverToBeLogged_x9"
SECRET = TOKEN.partition(":")[2]
ALICE, BOB, CAROL, DAVE, RITA, MALLORY = 501, 502, 503, 504, 505, 666
EVE, TRUDY, OSCAR, PEGGY = 667, 668, 669, 506  # three more strangers; Peggy posts in the newsroom
NEWSROOM, OTHER_GROUP = -1001, -1002  # the first is on the chat allowlist
NEWSQA = Path(sys.executable).parent / "newsqa"
LAVROV = "What did Lavrov say about sanctions?"
BEIJING = "Why does Beijing fear tougher action against North Korea?"  # several answers: "More"


class Bot(BotProcess):
    """The bot process, with helpers to play users against it."""

    def say(self, chat: Chat | User, user: User, text: str, **kw: int) -> int:
        """A user writes; returns the position in api.sent to wait from."""
        since = len(self.api.sent)
        self.api.send_text(chat, user, text, **kw)
        return since

    def replies(self, chat_id: int, since: int, count: int = 1) -> list[SentMessage]:
        """The bot's next `count` new messages to a chat (a generous timeout for the model)."""
        found = self.api.wait_for_messages(chat_id, count, timeout=30, since=since)
        return found[:count]

    def answer(self, chat_id: int, since: int) -> list[SentMessage]:
        """Every part of an answer: messages up to the one carrying the buttons."""
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            sent = [m for m in self.api.sent[since:] if m.chat_id == chat_id and not m.is_edit]
            if sent and sent[-1].reply_markup:
                return sent
            time.sleep(0.05)
        raise AssertionError(f"no answer with buttons: {self.api.sent[since:]}")


def _start(api: FakeBotAPI, index: Path, logs: Path, *args: str) -> Bot:
    return start_bot(
        api,
        index,
        logs,
        TOKEN,
        args,
        Bot,
        TELEGRAM_ALLOWED_USERS=f"{ALICE},{CAROL},{RITA}, {DAVE}",
        TELEGRAM_ALLOWED_CHATS=str(NEWSROOM),
        TELEGRAM_ADMINS=str(BOB),
        TELEGRAM_RATE_LIMIT="4",
        TELEGRAM_RATE_WINDOW="3600",
        NEWSQA_ANSWER_OTHER_MARGIN="4",  # first pages with every outlet's version: long answers
    )


@pytest.fixture(scope="module")
def bot(bundled_index: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bot]:
    work = tmp_path_factory.mktemp("telegram")
    index = work / "index"
    shutil.copytree(bundled_index, index)
    with FakeBotAPI(TOKEN, privacy_mode=False) as api:
        running = _start(api, index, work)
        try:
            api.wait_until_polling(timeout=60)
            yield running
        finally:
            if running.process.poll() is None:
                running.process.kill()
                running.process.wait(5)
        assert api.internal_errors == []


def visible(message: SentMessage) -> str:
    assert message.text is not None and message.parse_mode == "HTML"
    return parse_html(message.text)[0]


def buttons(message: SentMessage) -> list[str]:
    rows = (message.reply_markup or {}).get("inline_keyboard", [])
    return [b["callback_data"] for row in rows for b in row]


def test_start_describes_the_archive_with_questions_from_it(bot: Bot) -> None:
    alice = bot.api.user(ALICE, "Alice")
    [start] = bot.replies(ALICE, bot.say(alice, alice, "/start"))
    text = visible(start)
    assert "The archive holds 2 articles from Financial Times." in text
    examples = [line[2:] for line in text.split("Try asking:\n")[1].split("\n\n")[0].split("\n")]
    assert len(examples) == 3
    assert {"What did Tillerson say?", "What did Jim Mattis say?"} <= set(examples)
    [stats] = bot.replies(ALICE, bot.say(alice, alice, "/stats"))
    assert "Articles: 2" in visible(stats) and "Last update: 20" in visible(stats)


def test_question_cites_its_sources_with_more_and_sources_buttons(bot: Bot) -> None:
    alice = bot.api.user(ALICE, "Alice")
    requests_before = len(bot.api.requests)
    [answer] = bot.answer(ALICE, bot.say(alice, alice, BEIJING))
    text = visible(answer)
    assert "triggering a refugee crisis" in text
    sources = text.split("Sources\n")[1]
    assert "US battles for global push on North Korea" in sources
    assert buttons(answer) == ["more", "sources"]
    assert answer.params["link_preview_options"] == {"is_disabled": True}
    typing = [r for r in bot.api.requests[requests_before:] if r.method == "sendChatAction"]
    assert typing and typing[0].params["action"] == "typing"

    since = len(bot.api.sent)
    query = bot.api.press_button(alice, alice, answer.message_id, "sources")
    [full] = bot.replies(ALICE, since)
    assert "[1] US battles for global push on North Korea" in visible(full)
    assert "triggering a refugee crisis" in visible(full)
    assert bot.api.callback_answers()[query] is not None

    since = len(bot.api.sent)
    bot.api.press_button(alice, alice, answer.message_id, "more")
    more = bot.answer(ALICE, since)
    assert "[1]" in visible(more[0]) and visible(more[0]) != text
    edited = bot.api.message(ALICE, answer.message_id)
    assert edited is not None
    assert [b["callback_data"] for b in edited["reply_markup"]["inline_keyboard"][0]] == ["sources"]

    [again] = bot.replies(ALICE, bot.say(alice, alice, "/sources"))
    assert visible(again).startswith("[")


def test_groups_answer_mentions_replies_and_ask_but_not_chatter(bot: Bot) -> None:
    carol = bot.api.user(CAROL, "Carol")
    group = bot.api.group(NEWSROOM, "Newsroom", supergroup=True)
    since = bot.say(group, carol, "lunch anyone? sanctions are boring")
    [answer] = bot.answer(NEWSROOM, bot.say(group, carol, f"@{BOT_USERNAME} {LAVROV}"))
    assert "the pressure of sanctions has been exhausted" in visible(answer)
    assert answer.params["reply_parameters"]["message_id"] == answer.message_id - 1
    messages = [m for m in bot.api.sent[since:] if m.chat_id == NEWSROOM]
    assert len(messages) == 1  # the chatter was ignored
    replies = bot.answer(
        NEWSROOM,
        bot.say(group, carol, "What did Tillerson say?", reply_to_message_id=answer.message_id),
    )
    assert "Tillerson" in visible(replies[0])
    asked = bot.answer(NEWSROOM, bot.say(group, carol, f"/ask@{BOT_USERNAME} {LAVROV}"))
    assert "the pressure of sanctions" in visible(asked[0])
    since = bot.say(group, carol, "thanks, that was useful")
    time.sleep(1.0)
    assert [m for m in bot.api.sent[since:] if m.chat_id == NEWSROOM] == []


def test_outsiders_are_refused_on_messages_and_buttons(bot: Bot) -> None:
    mallory = bot.api.user(MALLORY, "Mallory")
    [refusal] = bot.replies(MALLORY, bot.say(mallory, mallory, LAVROV))
    assert "this bot is private" in visible(refusal)
    eve = bot.api.user(EVE, "Eve")
    [refusal] = bot.replies(EVE, bot.say(eve, eve, "/start"))
    assert "this bot is private" in visible(refusal)

    alice, trudy = bot.api.user(ALICE, "Alice"), bot.api.user(TRUDY, "Trudy")
    group = bot.api.group(OTHER_GROUP, "Elsewhere")  # not on the chat allowlist
    [answer] = bot.answer(OTHER_GROUP, bot.say(group, alice, f"/ask {LAVROV}"))
    since = len(bot.api.sent)
    query = bot.api.press_button(group, trudy, answer.message_id, "sources")
    bot.api.wait_for(lambda r: r.method == "answerCallbackQuery", since=0, timeout=10)
    deadline = time.monotonic() + 10
    while bot.api.callback_answers()[query] is None and time.monotonic() < deadline:
        time.sleep(0.05)
    reply = bot.api.callback_answers()[query]
    assert reply is not None and "this bot is private" in reply["text"]
    time.sleep(0.3)
    assert [m for m in bot.api.sent[since:] if m.chat_id == OTHER_GROUP] == []


def test_rate_limit_is_friendly(bot: Bot) -> None:
    rita = bot.api.user(RITA, "Rita")
    for _ in range(4):
        bot.answer(RITA, bot.say(rita, rita, LAVROV))
    [slow] = bot.replies(RITA, bot.say(rita, rita, LAVROV))
    assert "faster than I can keep up" in visible(slow)


def settled(bot: Bot, chat_id: int, since: int, expected: int) -> list[str]:
    """What the bot sent to a chat once it has sent `expected` messages, fetched every update,
    and sent nothing more for two seconds."""
    bot.api.wait_for_messages(chat_id, expected, timeout=120, since=since)
    deadline = time.monotonic() + 120
    while bot.api.unconfirmed_updates() and time.monotonic() < deadline:
        time.sleep(0.05)
    quiet_since, count = time.monotonic(), len(bot.api.requests)
    while time.monotonic() - quiet_since < 2.0 and time.monotonic() < deadline:
        time.sleep(0.1)
        if len(bot.api.requests) != count:
            quiet_since, count = time.monotonic(), len(bot.api.requests)
    return [visible(m) for m in bot.api.sent[since:] if m.chat_id == chat_id]


def test_every_command_and_button_spends_the_same_rate_limit(bot: Bot) -> None:
    """A question, then 100 /stats in a row: 16 updates served in all (4 questions' worth, as
    TELEGRAM_RATE_LIMIT=4), one slow-down, then silence, for commands and buttons alike."""
    peggy = bot.api.user(PEGGY, "Peggy")
    group = bot.api.group(NEWSROOM, "Newsroom", supergroup=True)  # anyone in it may ask
    [*_, answer] = bot.answer(NEWSROOM, bot.say(group, peggy, f"/ask {LAVROV}"))
    since = len(bot.api.sent)
    for _ in range(100):
        bot.api.send_text(group, peggy, "/stats")
    sent = settled(bot, NEWSROOM, since, 16)
    assert len(sent) == 16  # the slow-down may come before answers still being made
    assert sum("Articles: " in text for text in sent) == 15
    assert sum("faster than I can keep up" in text for text in sent) == 1
    since = len(bot.api.sent)
    bot.api.send_text(group, peggy, "/help")
    query = bot.api.press_button(group, peggy, answer.message_id, "sources")
    assert settled(bot, NEWSROOM, since, 0) == []
    assert bot.api.callback_answers()[query] is None


def test_a_stranger_is_refused_once_then_ignored(bot: Bot) -> None:
    oscar = bot.api.user(OSCAR, "Oscar")
    since = len(bot.api.sent)
    for n in range(200):
        bot.api.send_text(oscar, oscar, "/stats" if n % 2 else f"{LAVROV} {n}")
    sent = settled(bot, OSCAR, since, 1)
    assert len(sent) == 1 and "this bot is private" in sent[0]


HOSTILE_ARTICLE = (
    "Tom & Jerry <b>unclosed *_[markdown]_* at the harbour\n\n"
    "The harbour cranes of Zanzibar were repainted bright orange on Tuesday, said the port "
    "authority, after <script>alert(1)</script> & other pranks by dockers. "
    "Officials said the cranes would carry names chosen by local schoolchildren.\n"
)


def test_admin_upload_is_found_and_hostile_text_is_escaped(bot: Bot) -> None:
    bob = bot.api.user(BOB, "Bob")
    since = len(bot.api.sent)
    bot.api.send_document(bob, bob, "../../etc/harbour news.txt", HOSTILE_ARTICLE.encode())
    [report] = bot.replies(BOB, since)
    assert "Added (1)\n• Tom & Jerry <b>unclosed *_[markdown]_* at the harbour" in visible(report)
    assert "&lt;b&gt;" in (report.text or "")

    [answer] = bot.answer(BOB, bot.say(bob, bob, "Why were the Zanzibar harbour cranes repainted?"))
    text = visible(answer)
    assert "repainted bright orange on Tuesday" in text
    assert "<script>alert(1)</script> & other pranks" in text
    assert "Tom & Jerry <b>unclosed *_[markdown]_*" in text.split("Sources\n")[1]

    alice = bot.api.user(ALICE, "Alice")
    [reply] = bot.replies(ALICE, bot.say(alice, alice, "What about <b>Zorro & *_[Bogus]? </i>"))
    assert "It never mentions: Zorro, Bogus." in visible(reply)

    [refused] = bot.replies(BOB, bot.say(bob, bob, "/add http://127.0.0.1:9/private"))
    assert "Could not read" in visible(refused) and "127.0.0.1" in visible(refused)


def test_non_admin_upload_is_refused(bot: Bot) -> None:
    dave = bot.api.user(DAVE, "Dave")
    since = len(bot.api.sent)
    bot.api.send_document(dave, dave, "mine.txt", b"Title\n\nSome text about things.")
    [refused] = bot.replies(DAVE, since)
    assert "only the bot's admins can add articles" in visible(refused)
    [refused] = bot.replies(DAVE, bot.say(dave, dave, "/add https://example.org/a"))
    assert "only the bot's admins" in visible(refused)


FILLERS = [
    "the glassblowers of Vellmar kept their furnaces burning through the long winter while the "
    "guild debated prices, quotas, apprentices and the old charter of the town ",
    "sand from the northern dunes arrived late, so the apprentices rationed cullet, mended the "
    "cracked crucibles and quarrelled with the merchants over the price of freight ",
    "council inspectors counted every chimney twice, measured the smoke with brass gauges and "
    "filed reports that nobody in the harbour district ever bothered to read ",
]
WEATHER = ["rain in the valley", "fog over the estuary", "frost on the orchards"]


def _long_articles() -> bytes:
    """Three distinct articles whose answers are long quotes, with long, hostile titles."""
    rows = []
    outlets = ["Harbour Gazette", "Coastal Review", "Tidewater Times"]
    for n, (outlet, filler, weather) in enumerate(zip(outlets, FILLERS, WEATHER, strict=True)):
        title = f"Vellmar guild report {n}: " + ", ".join([f"{weather} & <the> charter"] * 16)
        text = (
            f"Guild master Orla Brennick{n} addressed the assembly on the Vellmar furnaces. "
            f"“The Vellmar glassblowers furnaces will stay lit, {filler * 2}and nobody will put "
            f"them out. We will keep the Vellmar glassblowers furnaces burning, {filler * 2}"
            "whatever the council decides.” She said the Vellmar glassblowers would meet again.\n\n"
            + " ".join(f"Note {i} on the {weather} this season." for i in range(8))
        )
        rows.append(
            {
                "title": title,
                "text": text,
                "source": outlet,
                "url": f"https://example.org/vellmar/{n}?a=1&b=2",
                "published": f"2024-0{n + 1}-01",
            }
        )
    return "\n".join(json.dumps(r) for r in rows).encode()


def test_long_answers_are_split_into_valid_messages(bot: Bot) -> None:
    bob = bot.api.user(BOB, "Bob")
    since = len(bot.api.sent)
    bot.api.send_document(bob, bob, "vellmar.jsonl", _long_articles())
    [report] = bot.replies(BOB, since)
    assert "Added (3)" in visible(report)

    question = "What did the Vellmar glassblowers say about the furnaces?"
    parts = bot.answer(BOB, bot.say(bob, bob, question))
    assert len(parts) >= 2
    for part in parts:
        assert len(visible(part)) <= 4096  # the fake also rejects longer ones
    assert sum(len(visible(p)) for p in parts) > 4096
    assert [buttons(p) for p in parts[:-1]] == [[]] * (len(parts) - 1)
    assert "Sources" in visible(parts[-1])
    assert "Vellmar guild report 2: frost on the orchards & <the> charter" in visible(parts[-1])

    since = len(bot.api.sent)
    bot.api.press_button(bob, bob, parts[-1].message_id, "sources")
    full = bot.replies(BOB, since, count=2)
    assert all(len(visible(m)) <= 4096 for m in full)


def test_handler_errors_are_logged_and_apologised_for(bot: Bot) -> None:
    carol = bot.api.user(CAROL, "Carol")
    bot.api.fail_next("sendMessage", 400, "Bad Request: injected failure")
    [apology] = bot.replies(CAROL, bot.say(carol, carol, "/help"))
    assert "something went wrong" in (apology.plain_text or "")
    [help_] = bot.replies(CAROL, bot.say(carol, carol, "/help"))
    assert "/sources" in visible(help_)
    assert "handling an update failed" in bot.output()
    assert "Injected failure" in bot.output()


def test_flood_control_is_waited_out(bot: Bot) -> None:
    carol = bot.api.user(CAROL, "Carol")
    bot.api.fail_next("sendMessage", 429, "Too Many Requests: retry after 1", retry_after=1)
    started = time.monotonic()
    [help_] = bot.replies(CAROL, bot.say(carol, carol, "/help"))
    assert "/sources" in visible(help_)
    assert time.monotonic() - started >= 1.0


def test_sigterm_stops_cleanly_and_the_token_is_never_shown(bot: Bot) -> None:
    assert bot.process.poll() is None
    bot.process.send_signal(signal.SIGTERM)
    started = time.monotonic()
    assert bot.process.wait(10) == 0
    assert time.monotonic() - started < 5
    output = bot.output()
    assert "ready as @newsqa_test_bot" in output
    assert TOKEN not in output and SECRET not in output


def test_the_command_explains_a_missing_token(tmp_path: Path) -> None:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("TELEGRAM_")},
        "NEWSQA_CONFIG": str(tmp_path / "none.toml"),
    }
    done = subprocess.run(
        [str(NEWSQA), "telegram"], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 1
    assert "no bot token: set TELEGRAM_BOT_TOKEN" in done.stderr


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _post(url: str, update: dict[str, object], secret: str) -> int:
    request = urllib.request.Request(
        url,
        data=json.dumps(update).encode(),
        headers={"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": secret},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        error.close()
        return int(error.code)


def test_webhook_mode_registers_and_answers_updates(bundled_index: Path, tmp_path: Path) -> None:
    index = tmp_path / "index"
    shutil.copytree(bundled_index, index)
    port = _free_port()
    with FakeBotAPI(TOKEN) as api:
        bot = _start(
            api,
            index,
            tmp_path,
            "--webhook-url",
            "https://bot.example.org/newsqa-hook",
            "--port",
            str(port),
            "--secret-token",
            "s3cret-value",
        )
        try:
            [request] = api.wait_for(lambda r: r.method == "setWebhook", timeout=60)
            assert request.params["url"] == "https://bot.example.org/newsqa-hook"
            assert request.params["secret_token"] == "s3cret-value"
            alice = api.user(ALICE, "Alice")
            message = api.send_text(alice, alice, LAVROV)  # what Telegram would post
            url = f"http://127.0.0.1:{port}/newsqa-hook"
            deadline = time.monotonic() + 30
            while True:  # the server starts listening once the model is loaded
                try:
                    status = _post(url, {"update_id": 1, "message": message}, "wrong")
                    break
                except OSError:
                    assert time.monotonic() < deadline
                    time.sleep(0.2)
            assert status == 403
            assert _post(url, {"update_id": 2, "message": message}, "s3cret-value") == 200
            [answer] = bot.answer(ALICE, 0)
            assert "the pressure of sanctions has been exhausted" in visible(answer)
            bot.process.send_signal(signal.SIGTERM)
            assert bot.process.wait(10) == 0
        finally:
            if bot.process.poll() is None:
                bot.process.kill()
                bot.process.wait(5)
        assert TOKEN not in bot.output() and "s3cret-value" not in bot.output()
