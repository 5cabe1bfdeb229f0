"""Logging for the bot that never shows its token.

Telegram puts the token in every Bot API URL, and httpx and python-telegram-bot log URLs (and put
them in exception messages). `RedactingFilter`, on the handler, rewrites every record, its
arguments and its traceback text before it is written.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable
from typing import TextIO

REDACTED = "<redacted>"
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def secrets_of(token: str) -> tuple[str, ...]:
    """The strings to hide: the token, and its secret part after the bot id."""
    _, _, secret = token.partition(":")
    return tuple(s for s in (token, secret) if len(s) >= 8)


def redact(text: str, secrets: Iterable[str]) -> str:
    for secret in secrets:
        text = text.replace(secret, REDACTED)
    return text


class RedactingFilter(logging.Filter):
    """Replaces the secrets in a record's message, arguments and traceback; drops nothing."""

    def __init__(self, secrets: Iterable[str]):
        super().__init__()
        self.secrets = tuple(s for s in secrets if s)
        self._formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # arguments that do not fit the format
            message = f"{record.msg} {record.args}"
        record.msg = redact(message, self.secrets)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = self._formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text, self.secrets)
        if record.stack_info:
            record.stack_info = redact(record.stack_info, self.secrets)
        return True


def configure_logging(token: str, stream: TextIO | None = None) -> logging.Handler:
    """Log INFO and up to stderr through a redacting handler; quieten per-request chatter."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(logging.Formatter(FORMAT))
    handler.addFilter(RedactingFilter(secrets_of(token)))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    for noisy in ("httpx", "httpcore", "telegram.ext.ExtBot", "telegram.Bot"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    logging.captureWarnings(True)  # warnings, too, go through the redacting handler
    return handler
