"""The news-desk handlers: /feeds /addfeed /removefeed (admins), /timeline, /follow /following
/unfollow, inline queries, and the loop that delivers alerts.

Thin like the others: parse, check access and the rate limit, call `DeskServices` in a worker
thread, render, reply. Alerts go out from one task: each round tells the admins about feeds that
started failing, scans for new articles, then sends each follower one message holding up to five
of theirs; a follower past the alert rate limit keeps theirs waiting for a later round, and one no
longer allowed to use the bot gets none.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections import OrderedDict
from typing import Any

from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InlineQueryResultArticle,
    InlineQueryResultsButton,
    InputTextMessageContent,
    LinkPreviewOptions,
    Message,
    Update,
)
from telegram.constants import FloodLimit, ParseMode
from telegram.error import BadRequest, Forbidden, TelegramError
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, InlineQueryHandler

from bot.alerts import Alert
from bot.answer import Answer, AnswerError
from bot.render import excerpt
from bot.telegram import desk_render, render
from bot.telegram.access import RateLimiter
from bot.telegram.app import (
    Context,
    _within,
    admitted,
    is_admin,
    say,
    send_html,
    state,
    typing,
    user_id,
    with_retry,
)
from bot.telegram.desk_services import DeskServices
from bot.timeline import Timeline
from bot.watch import PollResult
from corpus.errors import NewsqaError
from index.topics import TopicError

log = logging.getLogger("newsqa.telegram")
NEXT_PAGE = "timeline:"
KEEP_TIMELINES = 20  # per chat, for their Next buttons
INLINE_RESULTS = 5
INLINE_CHARS = 3500  # of excerpt, leaving room for the source line in Telegram's 4096


def desk(context: Context) -> DeskServices:
    value = context.bot_data["newsqa_desk"]
    assert isinstance(value, DeskServices)
    return value


async def _question_limit(update: Update, context: Context, message: Message) -> bool:
    """Spend a token of the question limit (timelines and follows search like questions do);
    False, with a notice, when the user has none left."""
    bot_state = state(context)
    return await _within(update, bot_state, bot_state.limiter, user_id(update) or 0, message)


# feeds (admins)


async def feeds(update: Update, context: Context) -> None:
    message = update.message
    if not message or not await admitted(update, context) or not await is_admin(update, context):
        return
    found = await asyncio.to_thread(desk(context).feed_list)
    await send_html(message, [desk_render.feeds_html(found)])


async def addfeed(update: Update, context: Context) -> None:
    message = update.message
    if not message or not await admitted(update, context) or not await is_admin(update, context):
        return
    args = context.args or []
    if len(args) not in (1, 2):
        await say(message, desk_render.ADDFEED_USAGE)
        return
    try:
        feed = await asyncio.to_thread(desk(context).add_feed, *args)
    except NewsqaError as e:
        await say(message, str(e))
        return
    await send_html(message, [desk_render.feed_added_html(feed)])


async def removefeed(update: Update, context: Context) -> None:
    message = update.message
    if not message or not await admitted(update, context) or not await is_admin(update, context):
        return
    if len(context.args or []) != 1:
        await say(message, desk_render.REMOVEFEED_USAGE)
        return
    try:
        feed = await asyncio.to_thread(desk(context).remove_feed, (context.args or [""])[0])
    except NewsqaError as e:
        await say(message, str(e))
        return
    await send_html(message, [desk_render.feed_removed_html(feed)])


# timelines


def _timelines(context: Context) -> OrderedDict[int, Timeline]:
    chat_data = context.chat_data
    assert chat_data is not None
    value = chat_data.setdefault("timelines", OrderedDict())
    assert isinstance(value, OrderedDict)
    return value


def _next_button(timeline: Timeline, page: int) -> InlineKeyboardMarkup | None:
    if page >= timeline.pages:
        return None
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton("Next", callback_data=f"{NEXT_PAGE}{page + 1}")]]
    )


async def _send_timeline(message: Message, context: Context, found: Timeline, page: int) -> None:
    paragraphs = desk_render.timeline_paragraphs(found, page)
    sent = await send_html(message, paragraphs, _next_button(found, page))
    kept = _timelines(context)
    kept[sent.message_id] = found
    while len(kept) > KEEP_TIMELINES:
        kept.popitem(last=False)


async def timeline(update: Update, context: Context) -> None:
    message = update.message
    if not message or not message.from_user or not await admitted(update, context):
        return
    topic = " ".join(context.args or [])
    if not topic:
        await say(message, desk_render.TIMELINE_USAGE)
        return
    if not await _question_limit(update, context, message):
        return
    async with typing(message):
        try:
            found = await asyncio.to_thread(desk(context).timeline, topic)
        except TopicError as e:
            await say(message, str(e))
            return
    await _send_timeline(message, context, found, 1)


async def timeline_page(update: Update, context: Context) -> None:
    """The Next button under a timeline: its next page, as a new message."""
    query = update.callback_query
    if not query or not await admitted(update, context):
        return
    message = query.message
    found = _timelines(context).get(message.message_id) if message else None
    if not isinstance(message, Message) or found is None:
        await query.answer(render.FORGOTTEN, show_alert=True)
        return
    await query.answer()
    with contextlib.suppress(BadRequest):
        await message.edit_reply_markup(None)
    page = int((query.data or "").removeprefix(NEXT_PAGE) or 1)
    await _send_timeline(message, context, found, page)


# follows


async def follow(update: Update, context: Context) -> None:
    message = update.message
    if not message or not message.from_user or not await admitted(update, context):
        return
    topic = " ".join(context.args or [])
    if not topic:
        await say(message, desk_render.FOLLOW_USAGE)
        return
    if not await _question_limit(update, context, message):
        return
    try:
        made = await asyncio.to_thread(
            desk(context).follow, message.from_user.id, message.chat_id, topic
        )
    except TopicError as e:
        await say(message, str(e))
        return
    await send_html(message, [desk_render.followed_html(made.topic)])


async def following(update: Update, context: Context) -> None:
    message = update.message
    if not message or not message.from_user or not await admitted(update, context):
        return
    found = await asyncio.to_thread(desk(context).following, message.from_user.id)
    await send_html(message, [desk_render.following_html(found)])


async def unfollow(update: Update, context: Context) -> None:
    message = update.message
    if not message or not message.from_user or not await admitted(update, context):
        return
    args = context.args or []
    if len(args) != 1 or not args[0].isdigit():
        await say(message, desk_render.UNFOLLOW_USAGE)
        return
    gone = await asyncio.to_thread(desk(context).unfollow, message.from_user.id, int(args[0]))
    if gone is None:
        await say(message, f"You follow no topic numbered {args[0]}; /following lists them.")
        return
    await send_html(message, [desk_render.unfollowed_html(gone.topic)])


# inline mode


async def inline_query(update: Update, context: Context) -> None:
    """`@bot question` in any chat: the answer's excerpts as results a user can send."""
    query = update.inline_query
    if not query:
        return
    asker = query.from_user.id
    if not state(context).policy.permits(asker, None):
        log.info("refused inline query from user %s", asker)
        refusal = InlineQueryResultsButton(text="You may not use this bot", start_parameter="x")
        await query.answer([], cache_time=0, is_personal=True, button=refusal)
        return
    question = " ".join(query.query.split())
    if not question:
        await query.answer([], cache_time=0, is_personal=True)
        return
    # no message to notice on: the slow-down is the results' button (every query costs a token
    # of both limits, as any update and any question do)
    wait = max(state(context).actions.acquire(asker), state(context).limiter.acquire(asker))
    if wait > 0:
        slow = InlineQueryResultsButton(text=f"Too fast: try again in {max(1, round(wait))} s",
                                        start_parameter="slow")  # fmt: skip
        await query.answer([], cache_time=0, is_personal=True, button=slow)
        return
    try:
        answer = await asyncio.to_thread(state(context).services.ask, question)
    except AnswerError:
        await query.answer([], cache_time=0, is_personal=True)
        return
    await query.answer(inline_results(answer), cache_time=0, is_personal=True)


def inline_results(answer: Answer) -> list[InlineQueryResultArticle]:
    """One result per cited excerpt of the answer (none when it abstains)."""
    if answer.abstained:
        return []
    by_number = {c.n: c for c in answer.citations}
    results: dict[str, InlineQueryResultArticle] = {}
    for text, n in render.cited_groups(answer)[:INLINE_RESULTS]:
        article = by_number[n].article
        key = hashlib.sha256(f"{article.id}:{text}".encode()).hexdigest()[:32]
        results.setdefault(
            key,
            InlineQueryResultArticle(
                id=key,
                title=article.title[:200],
                description=" ".join(text.split())[:300],
                input_message_content=InputTextMessageContent(
                    desk_render.inline_html(excerpt(text, INLINE_CHARS), article),
                    parse_mode=ParseMode.HTML,
                    link_preview_options=LinkPreviewOptions(is_disabled=True),
                ),
                url=article.url if render.is_web_url(article.url) else None,
            ),
        )
    return list(results.values())


# alerts


async def deliver_alerts(bot: Bot, context_data: dict[str, Any], every: float) -> None:
    """Every `every` seconds: scan for new articles, and send each follower their alerts."""
    bot_state = context_data["newsqa"]
    services: DeskServices = context_data["newsqa_desk"]
    limiter = RateLimiter(bot_state.settings.telegram_alert_limit, 3600.0)
    # Alerts are bulk notifications: Telegram allows about 30 a second to different chats (Bot
    # FAQ). Replies to questions are not, and are not paced (bot.telegram.app.build).
    broadcast = RateLimiter(int(FloodLimit.MESSAGES_PER_SECOND), 1.0)
    while True:
        try:
            for result in services.newly_failing():
                await _tell_admins(bot, bot_state.settings.telegram_admins, result)
            batches = await asyncio.to_thread(services.alert_batches)
            for batch in batches:
                await _deliver(bot, services, bot_state, limiter, batch, broadcast)
        except Exception:  # one bad round must not end the alerts
            log.exception("delivering alerts failed")
        await asyncio.sleep(every)


async def _tell_admins(bot: Bot, admins: tuple[int, ...], result: PollResult) -> None:
    """Tell each admin (in their private chat with the bot) that a feed keeps failing."""
    for admin in admins:
        try:
            await bot.send_message(
                admin, desk_render.failing_html(result), parse_mode=ParseMode.HTML,
                link_preview_options=LinkPreviewOptions(is_disabled=True),
            )  # fmt: skip
        except TelegramError as e:  # an admin who never wrote to the bot cannot be told
            log.info("could not tell admin %s about a failing feed: %s", admin, e)


async def _deliver(
    bot: Bot,
    services: DeskServices,
    bot_state: Any,
    limiter: RateLimiter,
    batch: list[Alert],
    broadcast: RateLimiter,
) -> None:
    first = batch[0].pending
    if not bot_state.policy.permits(first.user_id, first.chat_id):
        await asyncio.to_thread(services.mark_sent, batch)  # no longer allowed: dropped
        return
    if limiter.acquire(first.user_id) > 0:
        return  # stays queued for a later round
    await asyncio.to_thread(services.mark_sent, batch)  # at most once, even if sending fails
    for text in render.pack(desk_render.alert_paragraphs(batch)):

        async def send(text: str = text) -> Message:
            return await bot.send_message(
                first.chat_id,
                text,
                parse_mode=ParseMode.HTML,
                link_preview_options=LinkPreviewOptions(is_disabled=True),
            )

        await _paced(broadcast)
        try:
            await with_retry(send)
        except Forbidden:
            log.info("alerts to chat %s refused (blocked or removed)", first.chat_id)
            return
        except TelegramError as e:
            log.warning("an alert to chat %s was lost: %s", first.chat_id, e)
            return


async def _paced(limiter: RateLimiter) -> None:
    """Take a token of `limiter`, waiting for one if none is left (one task takes them, so
    the one it waited for is still there)."""
    wait = limiter.acquire(0)
    if wait > 0:
        await asyncio.sleep(wait + 0.001)
        limiter.acquire(0)


class NewsDesk:
    """The desk as an extension of the bot (`bot.telegram.app.Extension`): its handlers, the
    feed poller (a thread) and the alert loop (a task)."""

    def __init__(self) -> None:
        self._alerts: asyncio.Task[None] | None = None

    def add_handlers(self, application: Application[Any, Any, Any, Any, Any, Any]) -> None:
        for name, handler in (
            ("feeds", feeds),
            ("addfeed", addfeed),
            ("removefeed", removefeed),
            ("timeline", timeline),
            ("follow", follow),
            ("following", following),
            ("unfollow", unfollow),
        ):
            application.add_handler(CommandHandler(name, handler))
        application.add_handler(CallbackQueryHandler(timeline_page, pattern=f"^{NEXT_PAGE}\\d+$"))
        application.add_handler(InlineQueryHandler(inline_query))

    async def start(self, application: Application[Any, Any, Any, Any, Any, Any]) -> None:
        bot_state = application.bot_data["newsqa"]
        services = await asyncio.to_thread(DeskServices, bot_state.settings, bot_state.services)
        application.bot_data["newsqa_desk"] = services
        services.start()
        every = bot_state.settings.telegram_alert_every
        self._alerts = asyncio.create_task(
            deliver_alerts(application.bot, application.bot_data, every)
        )

    async def stop(self, application: Application[Any, Any, Any, Any, Any, Any]) -> None:
        if self._alerts is not None:
            self._alerts.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._alerts
        services = application.bot_data.pop("newsqa_desk", None)
        if services is not None:
            await asyncio.to_thread(services.close)
