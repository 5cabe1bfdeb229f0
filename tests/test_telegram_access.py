"""Who the bot serves and how often; its settings; upload names; logs that hide the token."""

from __future__ import annotations

import io
import logging
from pathlib import Path

import pytest

from bot.settings import SettingsError, load_settings
from bot.telegram.access import AccessPolicy, RateLimiter, question_for_bot
from bot.telegram.command import bot_token
from bot.telegram.logs import REDACTED, RedactingFilter, configure_logging, secrets_of
from bot.telegram.services import UploadError, check_upload, example_questions, safe_filename
from corpus.errors import NewsqaError

TOKEN = "123456:AAFsecret-token_value"


def test_an_empty_policy_is_open_but_admins_are_listed() -> None:
    policy = AccessPolicy(admins=frozenset({9}))
    assert policy.is_open and policy.permits(1, 1) and policy.permits(None, None)
    assert policy.is_admin(9) and not policy.is_admin(1) and not policy.is_admin(None)


def test_allowlists_admit_listed_users_members_of_listed_chats_and_admins() -> None:
    policy = AccessPolicy(frozenset({1}), frozenset({-100}), frozenset({9}))
    assert policy.permits(1, 1) and policy.permits(1, -200)  # a listed user, anywhere
    assert policy.permits(2, -100)  # anyone in a listed group
    assert policy.permits(9, 9)  # admins always
    assert not policy.permits(2, 2) and not policy.permits(2, -200)
    assert not policy.permits(None, None)


def test_policy_from_settings() -> None:
    settings = load_settings(
        env={
            "NEWSQA_CONFIG": "/nonexistent/config.toml",
            "TELEGRAM_ALLOWED_USERS": "1, 2",
            "TELEGRAM_ALLOWED_CHATS": "-1001234",
            "TELEGRAM_ADMINS": "2",
        }
    )
    assert settings.telegram_allowed_users == (1, 2)
    assert settings.telegram_allowed_chats == (-1001234,)
    policy = AccessPolicy.from_settings(settings)
    assert policy == AccessPolicy(frozenset({1, 2}), frozenset({-1001234}), frozenset({2}))
    defaults = load_settings(env={"NEWSQA_CONFIG": "/nonexistent/config.toml"})
    assert defaults.telegram_admins == () and defaults.telegram_rate_limit == 5
    assert defaults.telegram_rate_window == 60.0 and defaults.telegram_max_upload_mb == 5.0


def test_id_lists_from_a_config_file_and_bad_values(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text("telegram_admins = [7, 8]\n")
    assert load_settings(env={"NEWSQA_CONFIG": str(config)}).telegram_admins == (7, 8)
    with pytest.raises(SettingsError, match="telegram_allowed_users: '1, x'"):
        load_settings(env={"NEWSQA_CONFIG": str(config), "TELEGRAM_ALLOWED_USERS": "1, x"})


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_rate_limiter_allows_bursts_then_refills() -> None:
    clock = Clock()
    limiter = RateLimiter(5, 60.0, clock)
    assert [limiter.acquire(1) for _ in range(5)] == [0.0] * 5
    assert limiter.acquire(1) == pytest.approx(12.0)  # one token per 12 s
    assert limiter.acquire(2) == 0.0  # per user
    clock.now += 6
    assert limiter.acquire(1) == pytest.approx(6.0)
    clock.now += 6
    assert limiter.acquire(1) == 0.0
    assert limiter.acquire(1) == pytest.approx(12.0)
    clock.now += 3600
    assert [limiter.acquire(1) for _ in range(6)][-2:] == [0.0, pytest.approx(12.0)]


def test_rate_limiter_forgets_idle_users() -> None:
    clock = Clock()
    limiter = RateLimiter(1, 1.0, clock)
    limiter.MAX_BUCKETS = 3
    for user in range(3):
        limiter.acquire(user)
    clock.now += 10
    limiter.acquire(99)
    assert set(limiter._buckets) == {99}
    with pytest.raises(ValueError):
        RateLimiter(0, 1.0)


@pytest.mark.parametrize(
    ("text", "private", "replied", "question"),
    [
        ("What happened?", True, False, "What happened?"),
        ("What happened?", False, False, None),
        ("@NewsQA_Bot what happened?", False, False, "what happened?"),
        ("what happened, @newsqa_bot?", False, False, "what happened, ?"),
        ("@newsqa_bot_other what happened?", False, False, None),
        ("what happened?", False, True, "what happened?"),
    ],
)
def test_groups_are_answered_only_when_the_bot_is_addressed(
    text: str, private: bool, replied: bool, question: str | None
) -> None:
    found = question_for_bot(text, "newsqa_bot", private=private, replied_to_bot=replied)
    assert found == question


@pytest.mark.parametrize(
    ("name", "safe"),
    [
        ("../../etc/passwd.txt", "passwd.txt"),
        ("..\\..\\boot.ini.MD", "boot.ini.md"),
        ("/abs/path/news.html", "news.html"),
        (".hidden.jsonl", "hidden.jsonl"),
        ("résumé (final) <1>.txt", "résumé_final_1.txt"),
        ("..", "upload"),
        (None, "upload"),
        ("a" * 300 + ".txt", "a" * 80 + ".txt"),
    ],
)
def test_upload_names_are_sanitised(name: str | None, safe: str) -> None:
    assert safe_filename(name) == safe


def test_uploads_are_checked_for_type_and_size() -> None:
    check_upload("a.jsonl", 10, 100)
    check_upload("a.pdf", 10, 100)
    with pytest.raises(UploadError, match="not .exe"):
        check_upload("a.exe", 10, 100)
    with pytest.raises(UploadError, match="files without a suffix"):
        check_upload("upload", 10, 100)
    with pytest.raises(UploadError, match="too large"):
        check_upload("a.txt", 101, 100)


def test_example_questions_come_from_quoted_people_then_titles() -> None:
    articles = [
        ("Port reopens", "Mr Okafor said it would. Later, Ada Lovelace told reporters so. "
         "Mr Okafor added more. Russia warned. On Tuesday said nothing. He said."),
        ("Dam opens", "Nobody is quoted here."),
    ]  # fmt: skip
    assert example_questions(articles) == (
        "What did Okafor say?",
        "What did Ada Lovelace say?",
        "What is known about Port reopens?",
    )
    assert example_questions([]) == ()


def test_the_token_comes_from_the_environment_or_a_file(tmp_path: Path) -> None:
    env = {"NEWSQA_CONFIG": "/nonexistent/config.toml"}
    assert bot_token(load_settings(env={**env, "TELEGRAM_BOT_TOKEN": TOKEN})) == TOKEN
    path = tmp_path / "token"
    path.write_text(TOKEN + "\n")
    settings = load_settings(env={**env, "TELEGRAM_BOT_TOKEN_FILE": str(path)})
    assert bot_token(settings) == TOKEN
    assert TOKEN not in repr(settings)
    with pytest.raises(NewsqaError, match="no bot token"):
        bot_token(load_settings(env=env))
    path.write_text("")
    with pytest.raises(NewsqaError, match="is empty"):
        bot_token(settings)


def test_log_records_never_show_the_token() -> None:
    stream = io.StringIO()
    handler = configure_logging(TOKEN, stream)
    try:
        logging.getLogger("httpx").warning("HTTP Request: POST %s", f"https://x/bot{TOKEN}/getMe")
        logging.getLogger("newsqa.test").info("secret part alone: %s", TOKEN.split(":")[1])
        try:
            raise RuntimeError(f"failed at https://api.telegram.org/bot{TOKEN}/getUpdates")
        except RuntimeError:
            logging.getLogger("telegram.ext.Updater").exception("polling failed")
        logging.getLogger("httpx").info("quietened: %s", TOKEN)
    finally:
        logging.getLogger().removeHandler(handler)
        logging.captureWarnings(False)
    output = stream.getvalue()
    assert TOKEN not in output and secrets_of(TOKEN)[1] not in output
    assert f"HTTP Request: POST https://x/bot{REDACTED}/getMe" in output
    assert f"secret part alone: {REDACTED}" in output
    assert "Traceback" in output and f"bot{REDACTED}/getUpdates" in output
    assert "quietened" not in output


def test_the_filter_survives_bad_format_arguments() -> None:
    record = logging.LogRecord("x", logging.INFO, "f", 1, "%d items", ("many",), None)
    assert RedactingFilter([TOKEN]).filter(record)
    assert record.getMessage() == "%d items ('many',)"
