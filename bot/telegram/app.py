"""The python-telegram-bot Application: building it, and its handlers.

Handlers are thin: parse the update, check access, call a service in a worker thread (the model
and FAISS never block the event loop), render HTML, reply. Shared state lives in one `BotState` in
`bot_data`; its services are built once in `post_init`, before the first update is read.

Every handler and button first awaits `admitted`, the one gate: access, and a rate limit per
user on all updates together (questions have a tighter one of their own). Strangers and users
over a limit are told so at most once per `NOTICE_EVERY` seconds, and ignored otherwise.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dtm
import importlib.util
import logging
import time
import warnings
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol, TypeVar
from urllib.parse import urlsplit

from telegram import (
    BotCommand,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
    Message,
    ReplyParameters,
    Update,
)
from telegram.constants import ChatAction, ParseMode
from telegram.error import BadRequest, RetryAfter, TelegramError
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)
from telegram.warnings import PTBDeprecationWarning

from bot.answer import Answer, AnswerError
from bot.settings import Settings
from bot.telegram import render
from bot.telegram.access import AccessPolicy, RateLimiter, question_for_bot
from bot.telegram.services import BotServices, UploadError, check_upload, safe_filename

log = logging.getLogger("newsqa.telegram")
T = TypeVar("T")
Context = ContextTypes.DEFAULT_TYPE
MORE, SOURCES = "more", "sources"
COMMANDS = [
    ("ask", "Ask the news archive a question"),
    ("new", "Start a new topic (forget the conversation)"),
    ("sources", "Full sources of the last answer"),
    ("stats", "What the archive holds"),
    ("timeline", "A story in time order"),
    ("follow", "Get new articles about a topic"),
    ("following", "The topics you follow"),
    ("unfollow", "Stop following a topic"),
    ("help", "How to use this bot"),
    ("start", "What this bot is"),
]
ALLOWED_UPDATES = [Update.MESSAGE, Update.CALLBACK_QUERY, Update.INLINE_QUERY]
NOTICE_EVERY = 600.0  # seconds between two refusals (or slow-downs) to the same user
ACTIONS_PER_QUESTION = 4  # any update (command, button, message) may come this much more often


class Extension(Protocol):
    """Handlers with work of their own beside the bot's (the news desk: feeds, alerts): they are
    added before the catch-all handlers, started once the services are built, stopped first."""

    def add_handlers(self, application: Application[Any, Any, Any, Any, Any, Any]) -> None: ...

    async def start(self, application: Application[Any, Any, Any, Any, Any, Any]) -> None: ...

    async def stop(self, application: Application[Any, Any, Any, Any, Any, Any]) -> None: ...


@dataclass
class BotState:
    """Everything the handlers share; `services` is filled in by post_init."""

    settings: Settings
    policy: AccessPolicy
    limiter: RateLimiter  # questions (and More), per user
    actions: RateLimiter  # every update, per user
    notices: RateLimiter = field(default_factory=lambda: RateLimiter(1, NOTICE_EVERY))
    services_: BotServices | None = None
    extensions: tuple[Extension, ...] = ()

    @property
    def services(self) -> BotServices:
        if self.services_ is None:
            raise RuntimeError("the bot's services are built in post_init")
        return self.services_


@dataclass
class ChatMemory:
    """One chat's recent answers, by the id of the message that carries their buttons."""

    last: Answer | None = None
    by_message: OrderedDict[int, Answer] = field(default_factory=OrderedDict)
    keep: int = 50

    def remember(self, message_id: int, answer: Answer) -> None:
        self.last = answer
        self.by_message[message_id] = answer
        while len(self.by_message) > self.keep:
            self.by_message.popitem(last=False)


def state(context: Context) -> BotState:
    value = context.bot_data["newsqa"]
    assert isinstance(value, BotState)
    return value


def memory(context: Context) -> ChatMemory:
    chat_data = context.chat_data
    assert chat_data is not None
    value = chat_data.setdefault("memory", ChatMemory())
    assert isinstance(value, ChatMemory)
    return value


def user_id(update: Update) -> int | None:
    return update.effective_user.id if update.effective_user else None


# sending


def _retry_seconds(error: RetryAfter) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)  # int vs timedelta, PTB 22
        value = error.retry_after
    return value.total_seconds() if isinstance(value, dtm.timedelta) else float(value)


async def with_retry(call: Callable[[], Awaitable[T]], attempts: int = 3) -> T:
    """Run a Bot API call, waiting out Telegram's flood control (429 RetryAfter)."""
    for attempt in range(1, attempts + 1):
        try:
            return await call()
        except RetryAfter as e:
            if attempt == attempts:
                raise
            wait = _retry_seconds(e)
            log.warning("flood control: retrying in %.0f s", wait)
            await asyncio.sleep(wait + 0.1)
    raise AssertionError("unreachable")


async def send_html(
    message: Message,
    paragraphs: Sequence[str],
    markup: InlineKeyboardMarkup | None = None,
) -> Message:
    """Reply with paragraphs of HTML, split into as many messages as Telegram needs; the
    buttons go on the last one. In groups the first part replies to the message asked."""
    parts = render.pack(paragraphs)
    reply = None
    if message.chat.type != "private":
        reply = ReplyParameters(message.message_id, allow_sending_without_reply=True)
    sent = message
    for i, text in enumerate(parts):

        async def send_part(
            text: str = text,
            last: bool = i == len(parts) - 1,
            reply: ReplyParameters | None = reply,
        ) -> Message:
            return await message.get_bot().send_message(
                message.chat_id,
                text,
                parse_mode=ParseMode.HTML,
                reply_markup=markup if last else None,
                reply_parameters=reply,
                link_preview_options=LinkPreviewOptions(is_disabled=True),
            )

        sent = await with_retry(send_part)
        reply = None
    return sent


async def say(message: Message, text: str) -> Message:
    """Reply with one short plain-text message."""
    return await send_html(message, [render.escape(text)])


@contextlib.asynccontextmanager
async def typing(message: Message) -> AsyncIterator[None]:
    """Show "typing…" in the chat until the block ends (Telegram shows it for about 5 s)."""

    async def keep_typing() -> None:
        while True:
            with contextlib.suppress(TelegramError):
                await message.chat.send_action(ChatAction.TYPING)
            await asyncio.sleep(4.5)

    task = asyncio.create_task(keep_typing())
    try:
        yield
    finally:
        task.cancel()


# access


async def admitted(update: Update, context: Context) -> bool:
    """Whether to serve this update: the sender may use the bot, within their rate limit.

    Every handler and button calls this first, so each update of a user spends one token of
    the same limit. A refusal or a slow-down is sent at most once per NOTICE_EVERY seconds to
    a user; after that the bot stays silent, so a flood costs it no messages."""
    bot_state = state(context)
    chat_id = update.effective_chat.id if update.effective_chat else None
    sender = user_id(update)
    key = sender if sender is not None else chat_id or 0
    if not bot_state.policy.permits(sender, chat_id):
        log.info("refused user %s in chat %s", sender, chat_id)
        await _notice(update, bot_state, key, render.REFUSAL)
        return False
    return await _within(update, bot_state, bot_state.actions, key)


async def _within(
    update: Update,
    bot_state: BotState,
    limiter: RateLimiter,
    key: int,
    message: Message | None = None,
) -> bool:
    """Spend one of the user's tokens of `limiter`; if none is left, say when to come back (in
    reply to `message` when given, else to the update)."""
    wait = limiter.acquire(key)
    if wait > 0:
        log.info("rate-limited user %s", key)
        await _notice(update, bot_state, key, render.slow_down(wait), message)
    return wait == 0


async def _notice(
    update: Update, bot_state: BotState, key: int, text: str, message: Message | None = None
) -> None:
    """Tell the sender why they are not served, unless they were told a moment ago."""
    if bot_state.notices.acquire(key) > 0:
        return
    message = message or (None if update.callback_query else update.effective_message)
    if message is not None:
        await say(message, text)
    elif update.callback_query:
        await update.callback_query.answer(text, show_alert=True)


def buttons(answer: Answer) -> InlineKeyboardMarkup | None:
    row = []
    if answer.more and not answer.abstained:
        row.append(InlineKeyboardButton("More", callback_data=MORE))
    if answer.citations or answer.related:
        row.append(InlineKeyboardButton("Sources", callback_data=SOURCES))
    return InlineKeyboardMarkup([row]) if row else None


async def answer_question(
    update: Update,
    message: Message,
    context: Context,
    question: str,
    offset: int = 0,
    conversation: str | None = None,
) -> None:
    """The common path of /ask, plain text, mentions and More: limit, answer, render, reply.
    A question of a `conversation` is read as its next turn; its answer continues it."""
    bot_state = state(context)
    if not await _within(update, bot_state, bot_state.limiter, user_id(update) or 0, message):
        return
    services = bot_state.services
    async with typing(message):
        try:
            if conversation is None:
                answer = await asyncio.to_thread(services.ask, question, offset)
            else:
                answer = await asyncio.to_thread(services.ask_in, conversation, question)
        except AnswerError as e:
            await say(message, str(e))
            return
    sent = await send_html(message, render.answer_paragraphs(answer), buttons(answer))
    memory(context).remember(sent.message_id, answer)
    if conversation is not None:
        link = services.conversations.link
        await asyncio.to_thread(link, sent.chat.id, sent.message_id, conversation, time.time())


async def conversation_of(message: Message, context: Context) -> str:
    """Which conversation a message continues: a private chat is one; in a group, a reply to
    one of the bot's answers continues that answer's, and any other question starts its own,
    so that members' questions do not mix."""
    chat = message.chat
    if chat.type == "private":
        return f"telegram:{chat.id}"
    replied = message.reply_to_message
    if replied and replied.from_user and replied.from_user.id == context.bot.id:
        linked = state(context).services.conversations.linked
        found = await asyncio.to_thread(linked, chat.id, replied.message_id, time.time())
        if found is not None:
            return found
    return f"telegram:{chat.id}:{message.message_id}"


# handlers


async def start(update: Update, context: Context) -> None:
    if not update.message or not await admitted(update, context):
        return
    overview = await asyncio.to_thread(state(context).services.overview)
    admin = state(context).policy.is_admin(user_id(update))
    paragraphs = render.start_paragraphs(
        overview.articles, overview.outlets, overview.examples, admin
    )
    await send_html(update.message, paragraphs)


async def help_command(update: Update, context: Context) -> None:
    if not update.message or not await admitted(update, context):
        return
    admin = state(context).policy.is_admin(user_id(update))
    await send_html(update.message, [render.help_html(admin)])


async def ask(update: Update, context: Context) -> None:
    message = update.message
    if not message or not message.from_user or not await admitted(update, context):
        return
    question = " ".join(context.args or [])
    if not question:
        await say(message, render.ASK_USAGE)
        return
    conversation = await conversation_of(message, context)
    await answer_question(update, message, context, question, conversation=conversation)


async def text(update: Update, context: Context) -> None:
    """A plain message: a question in a private chat; in a group only when meant for the bot."""
    message = update.message
    if not message or not message.text or not message.from_user:
        return
    replied = message.reply_to_message
    question = question_for_bot(
        message.text,
        context.bot.username,
        private=message.chat.type == "private",
        replied_to_bot=bool(
            replied and replied.from_user and replied.from_user.id == context.bot.id
        ),
    )
    if question is None or not await admitted(update, context):
        return
    conversation = await conversation_of(message, context)
    await answer_question(update, message, context, question, conversation=conversation)


async def new_topic(update: Update, context: Context) -> None:
    """/new: the next question starts afresh (in a group, as a reply: that chain ends)."""
    message = update.message
    if not message or not await admitted(update, context):
        return
    conversation = await conversation_of(message, context)
    await asyncio.to_thread(state(context).services.conversations.forget, conversation)
    await say(message, render.NEW_TOPIC)


async def sources(update: Update, context: Context) -> None:
    if not update.message or not await admitted(update, context):
        return
    last = memory(context).last
    if last is None:
        await say(update.message, render.NOTHING_YET)
        return
    await send_html(update.message, render.sources_paragraphs(last))


async def stats(update: Update, context: Context) -> None:
    if not update.message or not await admitted(update, context):
        return
    o = await asyncio.to_thread(state(context).services.overview)
    await send_html(
        update.message, [render.stats_html(o.articles, o.passages, o.outlets, o.updated)]
    )


async def add(update: Update, context: Context) -> None:
    """/add LINK (admins): fetch a public page or feed and add its articles."""
    message = update.message
    if not message or not await admitted(update, context) or not await is_admin(update, context):
        return
    args = context.args or []
    if len(args) != 1:
        await say(message, render.ADD_USAGE)
        return
    async with typing(message):
        try:
            summary = await asyncio.to_thread(state(context).services.ingest_url, args[0])
        except UploadError as e:
            await say(message, str(e))
            return
    await send_html(message, render.ingest_paragraphs(summary))


async def document(update: Update, context: Context) -> None:
    """A document (admins): download it, read it with the corpus readers, add its articles."""
    message = update.message
    if not message or not message.document:
        return
    caption = question_for_bot(
        message.caption or "",
        context.bot.username,
        private=message.chat.type == "private",
        replied_to_bot=False,
    )
    if (
        caption is None
        or not await admitted(update, context)
        or not await is_admin(update, context)
    ):
        return
    services = state(context).services
    try:
        check_upload(
            safe_filename(message.document.file_name),
            message.document.file_size,
            services.upload_limit_bytes,
        )
    except UploadError as e:
        await say(message, str(e))
        return
    async with typing(message):
        data = await (await message.document.get_file()).download_as_bytearray()
        try:
            summary = await asyncio.to_thread(
                services.ingest_upload, message.document.file_name, bytes(data)
            )
        except UploadError as e:
            await say(message, str(e))
            return
    await send_html(message, render.ingest_paragraphs(summary))


async def is_admin(update: Update, context: Context) -> bool:
    if state(context).policy.is_admin(user_id(update)):
        return True
    if update.effective_message:
        await say(update.effective_message, render.ADMINS_ONLY)
    return False


async def button(update: Update, context: Context) -> None:
    """More (the next page of evidence, as a follow-up) and Sources, on an answer's message."""
    query = update.callback_query
    if not query or not await admitted(update, context):
        return
    message = query.message
    answer = memory(context).by_message.get(message.message_id) if message else None
    if not isinstance(message, Message) or answer is None:
        await query.answer(render.FORGOTTEN, show_alert=True)
        return
    await query.answer()
    if query.data == SOURCES:
        await send_html(message, render.sources_paragraphs(answer))
    elif query.data == MORE:
        with contextlib.suppress(BadRequest):  # More is used up: keep only Sources
            await message.edit_reply_markup(buttons(_without_more(answer)))
        question = answer.understood_as or answer.question  # a follow-up pages as understood
        await answer_question(update, message, context, question, answer.next_offset)


def _without_more(answer: Answer) -> Answer:
    return replace(answer, more=False)


async def unknown_command(update: Update, context: Context) -> None:
    if update.message and await admitted(update, context):
        await say(update.message, "I do not know that command. /help lists the ones I know.")


async def on_error(update: object, context: Context) -> None:
    """Log the failure with its traceback (the log handler redacts the token) and apologise."""
    log.error("handling an update failed", exc_info=context.error)
    if not isinstance(update, Update):
        return
    if update.callback_query:
        with contextlib.suppress(TelegramError):
            await update.callback_query.answer(render.APOLOGY)
    if update.effective_chat:
        with contextlib.suppress(TelegramError):
            await update.effective_chat.send_message(render.APOLOGY)


# building


async def post_init(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Build the services once (index and model, in a worker thread), then announce commands."""
    bot_state: BotState = application.bot_data["newsqa"]
    log.info("loading the index and the model…")
    bot_state.services_ = await asyncio.to_thread(BotServices.build, bot_state.settings)
    for extension in bot_state.extensions:
        await extension.start(application)
    with contextlib.suppress(TelegramError):
        await application.bot.set_my_commands([BotCommand(c, d) for c, d in COMMANDS])
    log.info("ready as @%s", application.bot.username)


async def post_shutdown(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    bot_state: BotState = application.bot_data["newsqa"]
    for extension in bot_state.extensions:
        await extension.stop(application)
    if bot_state.services_ is not None:
        bot_state.services_.close()


def build_application(
    settings: Settings, token: str, extensions: tuple[Extension, ...] = ()
) -> Application[Any, Any, Any, Any, Any, Any]:
    """The Application with every handler; nothing heavy is loaded until post_init."""
    api = settings.telegram_api_base_url.rstrip("/")
    builder = (
        ApplicationBuilder()
        .token(token)
        .base_url(f"{api}/bot")
        .base_file_url(f"{api}/file/bot")
        .concurrent_updates(16)
        .post_init(post_init)
        .post_shutdown(post_shutdown)
    )
    if importlib.util.find_spec("aiolimiter") is not None:  # python-telegram-bot[rate-limiter]
        from telegram.ext import AIORateLimiter

        # Only the per-group limit (20 messages a minute): the overall 30 a second is Telegram's
        # limit on bulk notifications (Bot FAQ), which the alerts pace themselves to
        # (bot.telegram.desk); replies to questions are not bulk, and capping them at 30 a second
        # made 50 users asking at once wait 1.7 s each (bench/README.md, Load). A 429 from
        # Telegram is still waited out (`with_retry`).
        limiter = AIORateLimiter(overall_max_rate=0)
        builder = builder.rate_limiter(limiter)  # type: ignore[arg-type]
    application = builder.build()
    application.bot_data["newsqa"] = BotState(
        settings,
        AccessPolicy.from_settings(settings),
        RateLimiter(settings.telegram_rate_limit, settings.telegram_rate_window),
        RateLimiter(
            ACTIONS_PER_QUESTION * settings.telegram_rate_limit, settings.telegram_rate_window
        ),
        extensions=extensions,
    )
    application.add_handler(CommandHandler("start", start))
    application.add_handler(CommandHandler("help", help_command))
    application.add_handler(CommandHandler("ask", ask))
    application.add_handler(CommandHandler("new", new_topic))
    application.add_handler(CommandHandler("sources", sources))
    application.add_handler(CommandHandler("stats", stats))
    application.add_handler(CommandHandler("add", add))
    for extension in extensions:
        extension.add_handlers(application)
    application.add_handler(MessageHandler(filters.Document.ALL, document))
    application.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, text))
    application.add_handler(
        MessageHandler(filters.COMMAND & filters.ChatType.PRIVATE, unknown_command)
    )
    application.add_handler(CallbackQueryHandler(button))
    application.add_error_handler(on_error)
    return application


@dataclass(frozen=True)
class Webhook:
    """Where Telegram posts updates in webhook mode (behind a reverse proxy)."""

    url: str
    listen: str = "127.0.0.1"
    port: int = 8443
    secret_token: str | None = None


def run_bot(
    settings: Settings,
    token: str,
    webhook: Webhook | None = None,
    extensions: tuple[Extension, ...] = (),
) -> None:
    """Serve until SIGINT or SIGTERM (python-telegram-bot stops cleanly on both)."""
    application = build_application(settings, token, extensions)
    if webhook is None:
        log.info("starting (long polling %s)", settings.telegram_api_base_url)
        application.run_polling(allowed_updates=ALLOWED_UPDATES)
        return
    log.info("starting (webhook %s, listening on %s:%d)", webhook.url, webhook.listen, webhook.port)
    application.run_webhook(
        listen=webhook.listen,
        port=webhook.port,
        url_path=urlsplit(webhook.url).path.lstrip("/"),
        webhook_url=webhook.url,
        secret_token=webhook.secret_token,
        allowed_updates=ALLOWED_UPDATES,
    )
