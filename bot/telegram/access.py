"""Who may use the bot, who may add articles, and how often one user may ask.

Pure Python: no Telegram types, and the rate limiter takes its clock as an argument.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass

from bot.settings import Settings


@dataclass(frozen=True)
class AccessPolicy:
    """Allowlists and admins. With both allowlists empty the bot is open to everyone; otherwise a
    user may ask when their id or the chat's id is listed. Admins may always ask, and add articles.
    """

    allowed_users: frozenset[int] = frozenset()
    allowed_chats: frozenset[int] = frozenset()
    admins: frozenset[int] = frozenset()

    @classmethod
    def from_settings(cls, settings: Settings) -> AccessPolicy:
        return cls(
            frozenset(settings.telegram_allowed_users),
            frozenset(settings.telegram_allowed_chats),
            frozenset(settings.telegram_admins),
        )

    @property
    def is_open(self) -> bool:
        return not self.allowed_users and not self.allowed_chats

    def permits(self, user_id: int | None, chat_id: int | None) -> bool:
        if self.is_admin(user_id) or self.is_open:
            return True
        return (user_id is not None and user_id in self.allowed_users) or (
            chat_id is not None and chat_id in self.allowed_chats
        )

    def is_admin(self, user_id: int | None) -> bool:
        return user_id is not None and user_id in self.admins


class RateLimiter:
    """A token bucket per user: bursts of up to `rate` questions, refilled at `rate` per `per` s."""

    MAX_BUCKETS = 10_000  # beyond this, full (idle) buckets are forgotten

    def __init__(self, rate: int, per: float, clock: Callable[[], float] = time.monotonic):
        if rate < 1 or per <= 0:
            raise ValueError("a rate limit needs rate >= 1 and per > 0")
        self.rate = float(rate)
        self.per = per
        self.clock = clock
        self._buckets: dict[int, tuple[float, float]] = {}  # key -> (tokens, when)

    def _tokens(self, key: int, now: float) -> float:
        tokens, when = self._buckets.get(key, (self.rate, now))
        return min(self.rate, tokens + (now - when) * self.rate / self.per)

    def acquire(self, key: int) -> float:
        """Take one token: 0.0 when allowed, else the seconds until the next one is due."""
        now = self.clock()
        tokens = self._tokens(key, now)
        if tokens < 1.0:
            self._buckets[key] = (tokens, now)
            return (1.0 - tokens) * self.per / self.rate
        self._buckets[key] = (tokens - 1.0, now)
        if len(self._buckets) > self.MAX_BUCKETS:
            self._forget_idle(now)
        return 0.0

    def _forget_idle(self, now: float) -> None:
        for key in [k for k in self._buckets if self._tokens(k, now) >= self.rate]:
            del self._buckets[key]


def question_for_bot(
    text: str, bot_username: str, *, private: bool, replied_to_bot: bool
) -> str | None:
    """The question in a message, or None when it is not meant for the bot: in a group the bot
    listens only when mentioned (@name, stripped from the question) or replied to."""
    mention = re.compile(rf"@{re.escape(bot_username)}\b", re.IGNORECASE) if bot_username else None
    mentioned = bool(mention and mention.search(text))
    if not (private or mentioned or replied_to_bot):
        return None
    if mention:
        text = mention.sub(" ", text)
    return " ".join(text.split())
