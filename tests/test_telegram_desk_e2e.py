"""The news desk in `newsqa telegram`, as users meet it: the real bot process against the Bot API
fake, a news site on 127.0.0.1 (allowed by the fetch policy) publishing over time, followers
getting alerts, timelines, and inline queries."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from tests.feed_server import FeedServer, Item, page
from tests.telegram_bot import BotProcess, start_bot
from tests.telegram_fake import FakeBotAPI, SentMessage, parse_html
from tests.test_feeds import T0

pytestmark = pytest.mark.model

TOKEN = "987654321:AAHsecretDeskTokenNeverToBeLogged_x9"
ALICE, BOB, CAROL, MALLORY = 601, 602, 603, 666
EVE = 667  # a second stranger: the bot tells each stranger only once a while
NEWSQA = Path(sys.executable).parent / "newsqa"
LAVROV = "What did Lavrov say about sanctions?"


class Desk(BotProcess):
    site: FeedServer
    index: Path

    def command(self, user_id: int, text: str, count: int = 1) -> list[str]:
        """A user writes to the bot in private; the visible text of its next replies."""
        user = self.api.user(user_id, f"User{user_id}")
        since = len(self.api.sent)
        self.api.send_text(user, user, text)
        found = self.api.wait_for_messages(user_id, count, timeout=60, since=since)
        return [visible(m) for m in found[:count]]

    def to(self, user_id: int, since: int) -> list[SentMessage]:
        return [m for m in self.api.sent[since:] if m.chat_id == user_id and not m.is_edit]


def visible(message: SentMessage) -> str:
    assert message.text is not None and message.parse_mode == "HTML"
    return parse_html(message.text)[0]


def story(slug: str, title: str, hours: int, *paragraphs: str) -> tuple[Item, str]:
    return Item(slug, title, T0 + timedelta(hours=hours), summary="Read more."), page(
        title, *paragraphs
    )


@pytest.fixture(scope="module")
def desk(bundled_index: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Desk]:
    work = tmp_path_factory.mktemp("desk")
    index = work / "index"
    shutil.copytree(bundled_index, index)
    with FakeBotAPI(TOKEN) as api, FeedServer() as site:
        running = start_bot(
            api,
            index,
            work,
            TOKEN,
            (),
            Desk,
            TELEGRAM_ALLOWED_USERS=f"{ALICE},{CAROL}",
            TELEGRAM_ADMINS=str(BOB),
            TELEGRAM_RATE_LIMIT="50",
            TELEGRAM_ALERT_EVERY="0.5",
            NEWSQA_FETCH_ALLOW="127.0.0.1",
        )
        running.site, running.index = site, index
        try:
            api.wait_until_polling(timeout=90)
            yield running
        finally:
            if running.process.poll() is None:
                running.process.terminate()
                running.process.wait(30)
        assert api.internal_errors == []
        assert "Traceback" not in running.output()


def test_admins_manage_feeds_and_others_may_not(desk: Desk) -> None:
    [refused] = desk.command(ALICE, f"/addfeed {desk.site.feed_url}")
    assert "only the bot's admins" in refused
    [refused] = desk.command(MALLORY, "/feeds")
    assert "this bot is private" in refused
    [usage] = desk.command(BOB, "/addfeed")
    assert usage.startswith("Send /addfeed followed by a feed link")
    [bad] = desk.command(BOB, f"/addfeed {desk.site.feed_url} soon")
    assert "not a polling interval" in bad
    [added] = desk.command(BOB, f"/addfeed {desk.site.feed_url} 1s")
    assert added.startswith(f"Following {desk.site.feed_url} every 1s.")
    [again] = desk.command(BOB, f"/addfeed {desk.site.feed_url}")
    assert "already followed" in again
    deadline = time.monotonic() + 30
    while desk.site.hits("/feed.xml") == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    [listed] = desk.command(BOB, "/feeds")
    assert desk.site.feed_url in listed and "every 1s" in listed


def test_a_follower_gets_exactly_one_alert_per_matching_article(desk: Desk) -> None:
    [followed] = desk.command(ALICE, "/follow night ferry")
    assert followed.startswith("Following “night ferry”.")
    [refused] = desk.command(EVE, "/follow night ferry")
    assert "this bot is private" in refused
    since = len(desk.api.sent)
    ferry, ferry_page = story("ferry", "Night ferry returns", 1,
                              "The night ferry to the islands returned on Friday.",
                              "Bookings were strong, the operator said.")  # fmt: skip
    bus, bus_page = story("bus", "Bus fares rise", 2, "Bus fares rise in April across the region.")
    desk.site.publish(ferry, ferry_page)
    desk.site.publish(bus, bus_page)
    [alert] = desk.api.wait_for_messages(ALICE, 1, timeout=90, since=since)
    text = visible(alert)
    assert text.startswith("New on “night ferry”")
    assert "The night ferry to the islands returned on Friday." in text
    assert "Night ferry returns — Harbour Gazette, 2024-06-03" in text
    assert 'href="' + desk.site.page_url("ferry") + '"' in str(alert.text)

    # two at once, one from another process's ingest: one batch, one alert each
    since = len(desk.api.sent)
    later, later_page = story("ferry2", "Night ferry timetable", 3,
                              "The night ferry will sail twice a week in winter.")  # fmt: skip
    desk.site.publish(later, later_page)
    jsonl = desk.index.parent / "more.jsonl"
    jsonl.write_text('{"title": "Night ferry strike", "text": "Crews of the night ferry plan a '
                     'strike in July.", "url": "https://elsewhere.example/strike"}\n')  # fmt: skip
    env = {**os.environ, "NEWSQA_INDEX_DIR": str(desk.index), "HF_HUB_OFFLINE": "1",
           "NEWSQA_CONFIG": str(desk.index.parent / "none.toml")}  # fmt: skip
    subprocess.run([NEWSQA, "ingest", str(jsonl)], env=env, check=True, capture_output=True)
    found = desk.api.wait_for_messages(ALICE, 1, timeout=90, since=since)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        seen = " ".join(visible(m) for m in desk.to(ALICE, since))
        if "Night ferry timetable" in seen and "Night ferry strike" in seen:
            break
        time.sleep(0.1)
    polls = desk.site.hits("/feed.xml")
    deadline = time.monotonic() + 30  # a few more polls and alert rounds: nothing is sent twice
    while desk.site.hits("/feed.xml") < polls + 4 and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(1.5)
    found = desk.to(ALICE, since)
    seen = " ".join(visible(m) for m in found)
    assert seen.count("Night ferry timetable — Harbour Gazette") == 1
    assert seen.count("Night ferry strike — elsewhere.example") == 1
    assert "The night ferry will sail twice a week in winter." in seen
    assert "Bus fares" not in seen and "Night ferry returns" not in seen
    assert desk.to(CAROL, 0) == []


def test_following_and_unfollow(desk: Desk) -> None:
    desk.command(ALICE, "/follow bus fares")
    [listed] = desk.command(ALICE, "/following")
    assert "1. night ferry\n2. bus fares" in listed
    [gone] = desk.command(ALICE, "/unfollow 2")
    assert gone == "Stopped following “bus fares”."
    [missing] = desk.command(ALICE, "/unfollow 7")
    assert "no topic numbered 7" in missing


def test_timeline_of_a_topic(desk: Desk) -> None:
    [shown] = desk.command(ALICE, "/timeline night ferry")
    assert shown.startswith("Timeline: night ferry\n")
    dated = [line for line in shown.splitlines() if line.startswith("2024-")]
    assert dated == sorted(dated) and len(dated) >= 2
    [nothing] = desk.command(ALICE, "/timeline submarine cables")
    assert nothing == "The archive holds nothing about “submarine cables”."


def test_inline_queries_offer_the_answer_s_excerpts(desk: Desk) -> None:
    alice = desk.api.user(ALICE, "Alice")
    answer = desk.api.wait_for_inline_answer(desk.api.send_inline_query(alice, LAVROV), 60)
    results = answer["results"]
    assert results and results[0]["type"] == "article"
    content = results[0]["input_message_content"]
    assert content["parse_mode"] == "HTML"
    assert "the pressure of sanctions has been exhausted" in parse_html(content["message_text"])[0]
    assert results[0]["title"].startswith("US battles for global push on North Korea")
    assert answer["is_personal"] is True

    mallory = desk.api.user(MALLORY, "Mallory")
    refused = desk.api.wait_for_inline_answer(desk.api.send_inline_query(mallory, LAVROV), 30)
    assert refused["results"] == [] and refused["button"]["text"] == "You may not use this bot"
    empty = desk.api.wait_for_inline_answer(desk.api.send_inline_query(alice, "  "), 30)
    assert empty["results"] == []


def test_a_long_timeline_pages_with_next(desk: Desk) -> None:
    for n in range(11):
        text = f"<p>Dredging of the harbour channel reached berth {n + 1} on day {n + 1}. </p>"
        desk.site.publish(Item(f"dredge{n}", f"Dredging, day {n + 1}", T0 + timedelta(days=n),
                               text=text * 30))  # fmt: skip
    deadline = time.monotonic() + 90
    shown = ""
    while time.monotonic() < deadline and "11 articles" not in shown:
        [shown] = desk.command(ALICE, "/timeline harbour dredging")
        time.sleep(0.5)
    assert "11 articles, oldest first (page 1 of 2)" in shown
    first = desk.api.sent[-1]
    assert first.reply_markup == {
        "inline_keyboard": [[{"text": "Next", "callback_data": "timeline:2"}]]
    }
    days = [line for line in shown.splitlines() if " · Dredging, day " in line]
    assert len(days) == 10 and days[0].startswith("2024-06-03 · Dredging, day 1 ")
    alice = desk.api.user(ALICE, "Alice")
    since = len(desk.api.sent)
    desk.api.press_button(alice, alice, first.message_id, "timeline:2")
    [second] = desk.api.wait_for_messages(ALICE, 1, timeout=30, since=since)
    assert "(page 2 of 2)" in visible(second) and "Dredging, day 11 " in visible(second)
    assert second.reply_markup is None
