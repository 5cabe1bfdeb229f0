"""Alert delivery in process: the rate limit keeps alerts waiting, an outsider's are dropped, and
the HTML sent is what Telegram accepts (checked by the Bot API fake's own parser)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from bot.alerts import AlertDesk
from bot.telegram.access import AccessPolicy, RateLimiter
from bot.telegram.desk import _deliver
from index import Archive
from tests.conftest import make_article
from tests.telegram_fake import check_text

ALICE, MALLORY = 501, 666


@dataclass
class SentAlert:
    chat_id: int
    text: str


@dataclass
class FakeBot:
    """What `_deliver` needs of telegram.Bot: send_message, checked like the Bot API fake does."""

    sent: list[SentAlert] = field(default_factory=list)

    async def send_message(self, chat_id: int, text: str, **kw: Any) -> None:
        check_text(text, kw.get("parse_mode"))
        self.sent.append(SentAlert(chat_id, text))


@dataclass
class Services:
    """The two DeskServices methods `_deliver` calls, over a real AlertDesk."""

    alerts: AlertDesk

    def mark_sent(self, batch: list[Any]) -> None:
        self.alerts.mark_sent(batch)


@dataclass
class State:
    policy: AccessPolicy


def test_rate_limited_alerts_wait_and_outsiders_get_none(archive: Archive) -> None:
    desk = AlertDesk(archive.store)
    desk.scan()
    desk.follow(ALICE, ALICE, "night ferry")
    desk.follow(MALLORY, MALLORY, "night ferry")
    archive.add([make_article("a", "The night ferry <returns> & sails.", url="https://n.x/a")])
    desk.scan()
    bot, services = FakeBot(), Services(desk)
    state = State(AccessPolicy(allowed_users=frozenset({ALICE})))
    limiter, broadcast = RateLimiter(1, 3600.0), RateLimiter(30, 1.0)

    async def deliver_all() -> None:
        for batch in desk.batches():
            await _deliver(bot, services, state, limiter, batch, broadcast)  # type: ignore[arg-type]

    asyncio.run(deliver_all())
    assert [m.chat_id for m in bot.sent] == [ALICE]
    assert "The night ferry &lt;returns&gt; &amp; sails." in bot.sent[0].text
    assert desk.batches() == []  # mallory's alert was dropped, not kept waiting
    archive.add([make_article("b", "The night ferry sails twice a week.", url="https://n.x/b")])
    desk.scan()
    asyncio.run(deliver_all())
    assert len(bot.sent) == 1  # over the limit: nothing sent...
    [[waiting]] = desk.batches()  # ...and the alert still waits
    assert waiting.article.id == "b"


def test_alerts_to_many_followers_are_paced_as_bulk_notifications(
    archive: Archive, monkeypatch: Any
) -> None:
    """Alerts go out at most `broadcast`'s rate (Telegram: about 30 a second to different
    chats); nothing is dropped for it. A fake clock: the test does not wait."""
    import bot.telegram.desk as desk_module

    now = [0.0]

    async def sleep(seconds: float) -> None:
        now[0] += seconds

    monkeypatch.setattr(desk_module.asyncio, "sleep", sleep)
    desk = AlertDesk(archive.store)
    desk.scan()
    followers = range(1000, 1007)
    for user in followers:
        desk.follow(user, user, "night ferry")
    archive.add([make_article("a", "The night ferry sails at ten.", url="https://n.x/a")])
    desk.scan()
    sent_at: list[float] = []

    class Clocked(FakeBot):
        async def send_message(self, chat_id: int, text: str, **kw: Any) -> None:
            sent_at.append(now[0])
            await super().send_message(chat_id, text, **kw)

    bot, services = Clocked(), Services(desk)
    state = State(AccessPolicy())
    limiter, broadcast = RateLimiter(5, 3600.0), RateLimiter(2, 1.0, clock=lambda: now[0])

    async def deliver_all() -> None:
        for batch in desk.batches():
            await _deliver(bot, services, state, limiter, batch, broadcast)  # type: ignore[arg-type]

    asyncio.run(deliver_all())
    assert sorted(m.chat_id for m in bot.sent) == list(followers)  # every follower, once
    assert sent_at[:2] == [0.0, 0.0]  # a burst of the bucket's size, then spaced
    assert all(b - a > 0.49 for a, b in zip(sent_at[1:], sent_at[2:], strict=False))
    assert sent_at[-1] >= 2.5


def test_admins_are_told_once_when_a_feed_starts_failing() -> None:
    from bot.telegram.desk import _tell_admins
    from bot.watch import PollResult

    result = PollResult("https://x.example/feed?a=1&b=<2>", "error", error="HTTP 500",
                        failing=True, next_run=1_700_000_000.0)  # fmt: skip
    bot = FakeBot()
    asyncio.run(_tell_admins(bot, (11, 12), result))  # type: ignore[arg-type]
    assert [m.chat_id for m in bot.sent] == [11, 12]
    assert bot.sent[0].text == (
        "The feed https://x.example/feed?a=1&amp;b=&lt;2&gt; keeps failing: HTTP 500. I will try "
        "again at 2023-11-14T22:13:20+00:00, less and less often; /removefeed "
        "https://x.example/feed?a=1&amp;b=&lt;2&gt; stops it."
    )


def test_inline_results_are_distinct_and_fit_a_message() -> None:
    from telegram.constants import ParseMode

    from bot.answer import Answer, AnswerSentence, Citation
    from bot.telegram.desk import inline_results
    from corpus.types import ArticleInfo, Passage

    long = "The ferry <crossing> runs " + "far " * 1500 + "away."
    infos = [ArticleInfo(i, f"Title {i}", f"https://n.x/{i}", "Gazette", "2024-06-03", i)
             for i in ("a", "b")]  # fmt: skip
    citations = tuple(
        Citation(n, info, Passage(info.id, 0, long, 0, ((0, len(long)),), id=n), 1.0)
        for n, info in enumerate(infos, start=1)
    )
    sentences = (AnswerSentence(long, 1, 0), AnswerSentence("Short.", 2, 0),
                 AnswerSentence(long, 1, 0))  # fmt: skip
    answer = Answer("q", sentences, citations, abstained=False)
    results = inline_results(answer)
    assert [r.title for r in results] == ["Title a", "Title b"]  # the repeated excerpt once
    content = results[0].input_message_content
    assert content.parse_mode == ParseMode.HTML  # type: ignore[attr-defined]
    plain, _ = check_text(content.message_text, "HTML")  # type: ignore[attr-defined]
    assert plain.startswith("The ferry <crossing> runs far") and plain.endswith(
        "Title a — Gazette, 2024-06-03"
    )
    assert len({r.id for r in results}) == 2
    assert inline_results(Answer("q", (), (), abstained=True)) == []
