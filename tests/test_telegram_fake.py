"""The fake Bot API answers like Telegram and drives a real python-telegram-bot Application."""

from __future__ import annotations

import asyncio
import datetime as dtm
import hashlib
import html
import http.client
import json
import threading
import time
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlencode

import pytest
from telegram import Bot, BotCommand, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest, Conflict, Forbidden, InvalidToken, RetryAfter
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from tests.telegram_fake import (
    BOT_USERNAME,
    ApiError,
    FakeBotAPI,
    FloodLimit,
    HtmlParseError,
    User,
    check_text,
    detect_entities,
    parse_html,
)

TOKEN = "123456:TEST-token_for-fake"
JSON = dict[str, Any]


def call(
    api: FakeBotAPI,
    method: str,
    params: JSON | None = None,
    *,
    encoding: str = "json",
    token: str = TOKEN,
    timeout: float = 5.0,
) -> tuple[int, JSON]:
    """Call the fake over HTTP with a JSON, form or query-string encoding."""
    url = f"{api.base_url}/bot{token}/{method}"
    params = params or {}
    data: bytes | None = None
    headers = {}
    if encoding == "json":
        data, headers = json.dumps(params).encode(), {"Content-Type": "application/json"}
    elif encoding == "form":
        data = urlencode(params).encode()
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
    else:
        url += "?" + urlencode(params)
    request = urllib.request.Request(url, data=data, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        with error:
            return error.code, json.load(error)


# --------------------------------------------------------------------------- HTML validator


def test_valid_nested_html_gives_plain_text_and_utf16_entities() -> None:
    text = (
        '😀 <b>bold <i>both</i></b> <a href="https://x.org/?a=1&amp;b=2">link</a> '
        '<code>x &lt; y</code> <s>gone</s> <u>under</u> <span class="tg-spoiler">s</span> '
        "<tg-spoiler>t</tg-spoiler> <blockquote expandable>q</blockquote> "
        '<tg-emoji emoji-id="5368324170671202286">👍</tg-emoji> &#169;&#x1F600;&quot;&gt;'
        '<pre><code class="language-python">print(1)</code></pre>'
    )
    plain, entities = parse_html(text)
    assert plain == '😀 bold both link x < y gone under s t q 👍 ©😀">print(1)'
    kinds = {e["type"]: e for e in entities}
    assert kinds["bold"] == {"type": "bold", "offset": 3, "length": 9}  # 😀 is 2 UTF-16 units
    assert kinds["italic"] == {"type": "italic", "offset": 8, "length": 4}
    assert kinds["text_link"]["url"] == "https://x.org/?a=1&b=2"
    assert kinds["expandable_blockquote"]["length"] == 1
    assert kinds["custom_emoji"]["custom_emoji_id"] == "5368324170671202286"
    assert kinds["pre"]["language"] == "python"
    assert "code" in kinds and "spoiler" in kinds and "strikethrough" in kinds


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("<b>unclosed", 'Can\'t find end tag corresponding to start tag "b"'),
        ("<b>x</i>", 'Unmatched end tag at byte offset 4, expected "</b>", found "</i>"'),
        ("<b><i>x</b></i>", "Unmatched end tag"),
        ("x</b>", "Unexpected end tag at byte offset 1"),
        ("AT&T", "Unsupported HTML entity at byte offset 2"),
        ("a &nbsp; b", "Unsupported HTML entity"),
        ("&#0;", "Unsupported HTML entity"),
        ("1 < 2", 'Unsupported start tag "" at byte offset 2'),
        ("é<br>", 'Unsupported start tag "br" at byte offset 2'),
        ("<script>x</script>", 'Unsupported start tag "script"'),
        ("<span>x</span>", 'Tag "span" must have class "tg-spoiler"'),
        ("<a>x</a>", 'Tag "a" must have attribute "href"'),
        ('<a href="x?a=1&b=2">x</a>', "Unsupported HTML entity"),
        ("<b", "Unclosed start tag at byte offset 0"),
        ("<b>x</b", "Unclosed end tag at byte offset 4"),
        ("<b foo>x</b>", "Expected equal sign"),
    ],
)
def test_invalid_html_is_rejected_with_telegrams_reason(text: str, reason: str) -> None:
    with pytest.raises(HtmlParseError, match="^" + reason.replace("(", r"\(")):
        parse_html(text)
    with pytest.raises(ApiError) as raised:
        check_text(text, "HTML")
    assert raised.value.code == 400
    assert raised.value.description.startswith("Bad Request: can't parse entities: ")


def test_length_limit_counts_visible_characters() -> None:
    assert len(check_text("a" * 4096)[0]) == 4096
    assert check_text("<b>" + "a" * 4096 + "</b>", "HTML")[1][0]["length"] == 4096
    assert check_text("&lt;" * 4096, "html")[0] == "<" * 4096
    assert check_text("  " + "é" * 4096 + "\n")[0] == "é" * 4096  # stripped, code points
    for too_long, mode in (("a" * 4097, None), ("&amp;" * 4097, "HTML")):
        with pytest.raises(ApiError, match="^Bad Request: message is too long$"):
            check_text(too_long, mode)


@pytest.mark.parametrize("text", ["", "   \n", "<b> </b>"])
def test_empty_text_is_rejected(text: str) -> None:
    with pytest.raises(ApiError, match="message text is empty"):
        check_text(text, "HTML")


def test_unknown_parse_mode_and_stripped_entities() -> None:
    with pytest.raises(ApiError, match="unsupported parse_mode"):
        check_text("x", "BBCode")
    plain, entities = check_text("  <b> hi</b> ", "HTML")
    assert (plain, entities) == ("hi", [{"type": "bold", "offset": 0, "length": 2}])


def test_detect_entities_finds_commands_and_mentions() -> None:
    text = f"/ask@{BOT_USERNAME} what did @someone_else say? a/b /x"
    entities = detect_entities(text)
    assert entities == [
        {"type": "bot_command", "offset": 0, "length": 5 + len(BOT_USERNAME)},
        {"type": "mention", "offset": text.index("@someone"), "length": 13},
        {"type": "bot_command", "offset": len(text) - 2, "length": 2},
    ]
    assert detect_entities("😀 /start")[0]["offset"] == 3


# --------------------------------------------------------------------------- raw HTTP


def test_http_errors_encodings_and_case_insensitive_methods() -> None:
    with FakeBotAPI(TOKEN) as api:
        assert call(api, "getMe", token="999:wrong") == (
            401,
            {"ok": False, "error_code": 401, "description": "Unauthorized"},
        )
        assert call(api, "sendCarrierPigeon")[0] == 404
        assert call(api, "sendCarrierPigeon")[1]["description"] == "Not Found"
        status, me = call(api, "getme", encoding="query")
        assert status == 200 and me["result"]["username"] == BOT_USERNAME
        assert me["result"]["id"] == 123456 and me["result"]["is_bot"] is True
        alice = api.user(7, "Alice")
        api.send_text(alice, alice, "hi")
        for encoding in ("json", "form", "query"):
            status, sent = call(
                api,
                "sendMessage",
                {"chat_id": 7, "text": "<b>123</b>", "parse_mode": "HTML"},
                encoding=encoding,
            )
            assert status == 200 and sent["result"]["text"] == "123"
        assert [m.message_id for m in api.sent] == [2, 3, 4]  # ids shared with the user's
        assert api.requests[-1].params["chat_id"] == 7  # form values coerced
        assert call(api, "sendMessage", {"chat_id": 8, "text": "x"})[1]["description"] == (
            "Bad Request: chat not found"
        )
        api.user(9, "Bob")
        assert call(api, "sendMessage", {"chat_id": 9, "text": "x"})[0] == 403
        status, error = call(
            api, "sendMessage", {"chat_id": 7, "text": "a < b", "parse_mode": "HTML"}
        )
        assert status == 400
        assert error["description"].startswith("Bad Request: can't parse entities: ")
        assert api.internal_errors == []


def test_edit_rules_buttons_and_callback_answers() -> None:
    with FakeBotAPI(TOKEN) as api:
        alice = api.user(7, "Alice")
        api.send_text(alice, alice, "hi")
        keyboard = {"inline_keyboard": [[{"text": "Go", "callback_data": "go"}]]}
        _, sent = call(api, "sendMessage", {"chat_id": 7, "text": "q", "reply_markup": keyboard})
        message_id = sent["result"]["message_id"]
        assert sent["result"]["reply_markup"] == keyboard
        edit = {"chat_id": 7, "message_id": message_id, "text": "q", "reply_markup": keyboard}
        assert call(api, "editMessageText", edit)[1]["description"].startswith(
            "Bad Request: message is not modified"
        )
        edit["message_id"] = 99
        assert call(api, "editMessageText", edit)[1]["description"] == (
            "Bad Request: message to edit not found"
        )
        edit["message_id"] = 1  # the user's message
        assert call(api, "editMessageText", edit)[1]["description"] == (
            "Bad Request: message can't be edited"
        )
        too_big = {"inline_keyboard": [[{"text": "x", "callback_data": "x" * 65}]]}
        assert (
            call(api, "sendMessage", {"chat_id": 7, "text": "q", "reply_markup": too_big})[1][
                "description"
            ]
            == "Bad Request: BUTTON_DATA_INVALID"
        )
        with pytest.raises(ValueError, match="no button"):
            api.press_button(alice, alice, message_id, "stop")
        query_id = api.press_button(alice, alice, message_id, "go")
        assert api.unanswered_callback_queries() == [query_id]
        assert call(api, "answerCallbackQuery", {"callback_query_id": query_id})[0] == 200
        assert call(api, "answerCallbackQuery", {"callback_query_id": query_id})[0] == 400
        _, edited = call(
            api, "editMessageText", {"chat_id": 7, "message_id": message_id, "text": "done"}
        )
        assert "reply_markup" not in edited["result"]  # no markup given: keyboard removed
        assert [m.method for m in api.sent] == ["sendMessage", "editMessageText"]


def test_long_polling_offset_limit_and_conflict() -> None:
    with FakeBotAPI(TOKEN) as api:
        alice = api.user(7, "Alice")
        results: list[tuple[int, JSON]] = []
        poller = threading.Thread(
            target=lambda: results.append(call(api, "getUpdates", {"timeout": 5}))
        )
        started = time.monotonic()
        poller.start()
        api.wait_until_polling()
        api.send_text(alice, alice, "/start")
        poller.join(5)
        assert time.monotonic() - started < 2  # answered on arrival, not after the timeout
        [(status, body)] = results
        [update] = body["result"]
        assert update["message"]["entities"][0]["type"] == "bot_command"
        first = update["update_id"]
        for text in ("a", "b", "c"):
            api.send_text(alice, alice, text)
        _, body = call(api, "getUpdates", {"offset": first + 1, "limit": 2})
        assert [u["message"]["text"] for u in body["result"]] == ["a", "b"]
        assert api.unconfirmed_updates() == [first + 1, first + 2, first + 3]
        _, body = call(api, "getUpdates", {"offset": first + 3, "timeout": 0})
        assert [u["message"]["text"] for u in body["result"]] == ["c"]
        _, body = call(api, "getUpdates", {"offset": first + 4, "timeout": 0})
        assert body["result"] == []
        api.assert_updates_consumed()

        # A second poller terminates the first one, like a second bot instance would.
        results.clear()
        poller = threading.Thread(
            target=lambda: results.append(call(api, "getUpdates", {"timeout": 5}))
        )
        poller.start()
        api.wait_until_polling()
        assert call(api, "getUpdates", {"timeout": 0})[1]["result"] == []
        poller.join(5)
        assert results[0][0] == 409 and results[0][1]["description"].startswith("Conflict")


def test_privacy_mode_hides_group_chatter() -> None:
    with FakeBotAPI(TOKEN) as api:
        alice = api.user(7, "Alice")
        group = api.group(-1001234, "Newsroom", supergroup=True)
        _, sent = call(api, "sendMessage", {"chat_id": group.id, "text": "I am here"})
        api.send_text(group, alice, "just chatting")
        api.send_text(group, alice, "/ask@other_bot x")
        api.send_text(group, alice, f"/ask@{BOT_USERNAME} what happened?")
        api.send_text(group, alice, "/ask what happened?")
        api.send_text(group, alice, "thanks", reply_to_message_id=sent["result"]["message_id"])
        _, body = call(api, "getUpdates")
        assert [u["message"]["text"] for u in body["result"]] == [
            f"/ask@{BOT_USERNAME} what happened?",
            "/ask what happened?",
            "thanks",
        ]


def test_close_is_fast_with_a_long_poll_in_flight() -> None:
    api = FakeBotAPI(TOKEN).start()
    outcome: list[object] = []

    def poll() -> None:
        try:
            outcome.append(call(api, "getUpdates", {"timeout": 30}, timeout=10))
        except (OSError, http.client.HTTPException) as error:  # connection cut mid-answer
            outcome.append(error)

    poller = threading.Thread(target=poll)
    poller.start()
    api.wait_until_polling()
    started = time.monotonic()
    api.close()
    assert time.monotonic() - started < 1.0
    poller.join(2)
    assert not poller.is_alive() and outcome


# --------------------------------------------------------------------------- python-telegram-bot


def build_app(api: FakeBotAPI) -> Application[Any, Any, Any, Any, Any, Any]:
    """A PTB Application pointed at the fake, with the handlers under test."""
    app = (
        ApplicationBuilder()
        .token(TOKEN)
        .base_url(api.ptb_base_url)
        .base_file_url(api.ptb_base_file_url)
        .build()
    )
    app.add_handler(CommandHandler("start", on_start))
    app.add_handler(CallbackQueryHandler(on_button))
    app.add_handler(MessageHandler(filters.Document.ALL, on_document))
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, on_text))
    return app


async def on_start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Greet with HTML and a button."""
    assert update.message and update.effective_user
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("More", callback_data="more:1")]])
    name = html.escape(update.effective_user.first_name)
    await update.message.reply_html(f"Hello, <b>{name}</b>!", reply_markup=keyboard)


async def on_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Echo."""
    assert update.message and update.message.text
    await update.effective_chat.send_action("typing")  # type: ignore[union-attr]
    await update.message.reply_text(update.message.text)


async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Answer the query and edit the message it came from."""
    query = update.callback_query
    assert query
    await query.answer()
    await query.edit_message_text(f"You chose <i>{query.data}</i>", parse_mode="HTML")


async def on_document(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Download the document and report its digest."""
    assert update.message and update.message.document
    document = update.message.document
    data = await (await document.get_file()).download_as_bytearray()
    digest = hashlib.sha256(data).hexdigest()
    await update.message.reply_text(f"{document.file_name}: {len(data)} bytes, {digest}")


async def converse(api: FakeBotAPI, alice: User) -> None:
    """Run the application with long polling and talk to it."""
    app = build_app(api)
    async with app:
        await app.start()
        assert app.updater
        await app.updater.start_polling(poll_interval=0, timeout=1)
        try:
            api.send_text(alice, alice, "/start")
            [greeting] = await asyncio.to_thread(api.wait_for_messages, alice.id)
            api.send_text(alice, alice, "is anyone there?")
            await asyncio.to_thread(api.wait_for_messages, alice.id, 2)
            api.press_button(alice, alice, greeting.message_id, "more:1")
            await asyncio.to_thread(api.wait_for_messages, alice.id, 3, include_edits=True)
            api.send_document(alice, alice, "report.bin", PAYLOAD, caption="please read")
            await asyncio.to_thread(api.wait_for_messages, alice.id, 3)
        finally:
            await app.updater.stop()
            await app.stop()


PAYLOAD = bytes(range(256)) * 40 + b"\r\n--boundary-like\r\n"


def test_ptb_application_end_to_end_over_long_polling() -> None:
    with FakeBotAPI(TOKEN) as api:
        alice = api.user(1001, "Alice <3", "alice")
        asyncio.run(converse(api, alice))

        start, echo, edit, report = api.sent
        assert (start.method, start.text, start.parse_mode) == (
            "sendMessage",
            "Hello, <b>Alice &lt;3</b>!",
            "HTML",
        )
        assert start.plain_text == "Hello, Alice <3!"
        assert start.reply_markup == {
            "inline_keyboard": [[{"text": "More", "callback_data": "more:1"}]]
        }
        assert echo.plain_text == "is anyone there?"
        assert "reply_parameters" not in echo.params  # PTB 22 quotes only in groups
        assert (edit.method, edit.message_id, edit.plain_text) == (
            "editMessageText",
            start.message_id,
            "You chose more:1",
        )
        digest = hashlib.sha256(PAYLOAD).hexdigest()
        assert report.plain_text == f"report.bin: {len(PAYLOAD)} bytes, {digest}"

        methods = [r.method for r in api.requests]
        assert methods[:3] == ["getMe", "deleteWebhook", "getUpdates"]
        for method in ("sendChatAction", "answerCallbackQuery", "getFile"):
            assert method in methods
        assert all(r.status == 200 for r in api.requests)
        current = api.message(alice.id, start.message_id)
        assert current is not None and current["text"] == "You chose more:1"
        assert api.unanswered_callback_queries() == []
        api.assert_updates_consumed()
        assert api.internal_errors == []


async def bot_errors(api: FakeBotAPI, alice: User, group_id: int) -> None:
    """Telegram's error answers surface as PTB's exceptions."""
    async with Bot(TOKEN, base_url=api.ptb_base_url, base_file_url=api.ptb_base_file_url) as bot:
        with pytest.raises(BadRequest, match="Message is too long"):
            await bot.send_message(alice.id, "x" * 4097)
        with pytest.raises(BadRequest, match="Can't parse entities: unsupported start tag"):
            await bot.send_message(alice.id, "<br>", parse_mode="HTML")
        sent = await bot.send_message(alice.id, "same")
        with pytest.raises(BadRequest, match="Message is not modified"):
            await sent.edit_text("same")
        document = await bot.send_document(alice.id, PAYLOAD, filename="a.bin", caption="<b>")
        assert document.document and document.document.file_name == "a.bin"
        assert document.caption == "<b>"  # no parse_mode: sent verbatim
        downloaded = await (await bot.get_file(document.document.file_id)).download_as_bytearray()
        assert downloaded == bytearray(PAYLOAD)
        api.block(alice)
        with pytest.raises(Forbidden, match="blocked by the user"):
            await bot.send_message(alice.id, "hello?")
        for _ in range(2):
            await bot.send_message(group_id, "news")
        with pytest.raises(RetryAfter) as raised:
            await bot.send_message(group_id, "more news")
        retry = raised.value.retry_after  # a timedelta because PTB_TIMEDELTA is set
        assert isinstance(retry, dtm.timedelta) and 50 <= retry.total_seconds() <= 60
        api.fail_next("sendMessage", 400, "Bad Request: injected")
        with pytest.raises(BadRequest, match="Injected"):
            await bot.send_message(alice.id, "x")
    with pytest.raises(InvalidToken):
        async with Bot("999:wrong", base_url=api.ptb_base_url):
            pass


def test_ptb_bot_sees_telegram_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "true")  # RetryAfter.retry_after warns without it
    with FakeBotAPI(TOKEN, flood_limit=FloodLimit(group_per_minute=2)) as api:
        alice = api.user(1001, "Alice")
        api.send_text(alice, alice, "/start")
        group = api.group(-42, "Desk")
        asyncio.run(bot_errors(api, alice, group.id))
        assert api.requests[-1].status == 401
        assert api.requests[-1].method == "getMe"


async def housekeeping(api: FakeBotAPI) -> None:
    """Commands, webhooks and their effect on getUpdates, through PTB's encodings."""
    async with Bot(TOKEN, base_url=api.ptb_base_url) as bot:
        await bot.set_my_commands([("ask", "Ask the archive"), ("start", "Hello")])
        await bot.set_my_commands([BotCommand("frage", "Frag das Archiv")], language_code="de")
        assert [c.command for c in await bot.get_my_commands()] == ["ask", "start"]
        with pytest.raises(BadRequest, match="Bot_command_invalid"):
            await bot.set_my_commands([("Ask", "upper case is invalid")])
        assert await bot.delete_my_commands(language_code="de")
        await bot.set_webhook("https://example.org/hook", allowed_updates=["message"])
        info = await bot.get_webhook_info()
        assert (info.url, info.allowed_updates) == ("https://example.org/hook", ("message",))
        with pytest.raises(Conflict, match="webhook is active"):
            await bot.get_updates()
        assert await bot.delete_webhook(drop_pending_updates=True)
        assert await bot.get_updates(timeout=0) == ()


def test_commands_and_webhooks_through_ptb() -> None:
    with FakeBotAPI(TOKEN) as api:
        alice = api.user(5, "Alice")
        api.send_text(alice, alice, "dropped by drop_pending_updates")
        asyncio.run(housekeeping(api))
        assert api.commands() == [
            {"command": "ask", "description": "Ask the archive"},
            {"command": "start", "description": "Hello"},
        ]
        assert api.commands(language_code="de") == []
        assert api.webhook_url == ""
        with pytest.raises(AssertionError, match="delivered 0x, dropped"):
            api.assert_updates_consumed()
        [request] = api.wait_for(lambda r: r.method == "setWebhook")
        assert request.params["allowed_updates"] == ["message"]


def test_chunked_body_and_wait_for_timeout() -> None:
    with FakeBotAPI(TOKEN) as api:
        connection = http.client.HTTPConnection("127.0.0.1", int(api.base_url.rsplit(":", 1)[1]))
        try:
            body = iter([b'{"chat_id": 1,', b' "text": "hi"}'])
            connection.request(
                "POST",
                f"/bot{TOKEN}/sendMessage",
                body=body,
                headers={"Content-Type": "application/json"},
                encode_chunked=True,
            )
            with connection.getresponse() as response:
                answer = json.load(response)
        finally:
            connection.close()
        assert answer["description"] == "Bad Request: chat not found"
        assert api.requests[-1].params == {"chat_id": 1, "text": "hi"}
        with pytest.raises(TimeoutError, match="messages to chat 1"):
            api.wait_for_messages(1, timeout=0.05)
