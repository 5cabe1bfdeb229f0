"""`newsqa telegram`: find the token, check the mode can run, start the bot.

Light to import: python-telegram-bot and the model load only when the command runs.
"""

from __future__ import annotations

import argparse
import importlib.util
import logging

from bot.settings import Settings
from corpus.errors import NewsqaError

WEBHOOK_INSTALL = 'pip install "python-telegram-bot[webhooks]"'


def bot_token(settings: Settings) -> str:
    """The token from TELEGRAM_BOT_TOKEN, else from the file telegram_token_file names."""
    if settings.telegram_token:
        return settings.telegram_token.strip()
    path = settings.telegram_token_file
    if path is not None:
        try:
            token = path.read_text(encoding="utf-8").strip()
        except OSError as e:
            raise NewsqaError(f"cannot read the bot token file {path}: {e.strerror or e}") from e
        if token:
            return token
        raise NewsqaError(f"the bot token file {path} is empty")
    raise NewsqaError(
        "no bot token: set TELEGRAM_BOT_TOKEN (from @BotFather), or TELEGRAM_BOT_TOKEN_FILE "
        "to a file holding it"
    )


def webhooks_available() -> bool:
    """python-telegram-bot's webhook server needs tornado (its [webhooks] extra)."""
    return importlib.util.find_spec("tornado") is not None


def telegram(args: argparse.Namespace) -> int:
    token = bot_token(args.settings)
    webhook = None
    if args.webhook_url:
        if not args.webhook_url.startswith("https://"):
            raise NewsqaError("--webhook-url must be an https:// URL (Telegram requires it)")
        if not webhooks_available():
            raise NewsqaError(
                "webhook mode needs the tornado package, which is not installed: "
                f"{WEBHOOK_INSTALL} (or run without --webhook-url to use long polling)"
            )
    from bot.telegram.app import Webhook, run_bot
    from bot.telegram.desk import NewsDesk
    from bot.telegram.logs import configure_logging, redact, secrets_of

    if args.webhook_url:
        webhook = Webhook(args.webhook_url, args.listen, args.port, args.secret_token)
    configure_logging(token)
    try:
        run_bot(args.settings, token, webhook, extensions=(NewsDesk(),))
    except NewsqaError:
        raise
    except Exception as e:  # InvalidToken, NetworkError...: messages may carry the token
        logging.getLogger("newsqa.telegram").error("the bot stopped", exc_info=e)
        raise NewsqaError(
            f"the Telegram bot stopped: {redact(str(e), secrets_of(token))}"
        ) from None
    return 0
