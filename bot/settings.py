"""One frozen Settings object, built once: defaults < config file < environment < command line.

`load_settings` is the only place newsqa reads os.environ. The config file is TOML, at
$NEWSQA_CONFIG or <user config dir>/newsqa/config.toml, with the same names as the table below in
lower case (`index_dir = "..."`). Secrets (the bot token) are never printed: `Settings.__repr__` and
`describe()` hide them.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import platformdirs

from corpus.errors import NewsqaError
from index.encoder import DEFAULT_MODEL


class SettingsError(NewsqaError):
    """A setting has a value newsqa cannot use."""


def _default_index_dir() -> Path:
    return Path(platformdirs.user_data_dir("newsqa")) / "index"


def _default_state_dir() -> Path:
    return Path(platformdirs.user_data_dir("newsqa"))


@dataclass(frozen=True)
class Settings:
    """Everything newsqa can be configured with. Field metadata: env var and one-line help."""

    index_dir: Path = field(
        default_factory=_default_index_dir,
        metadata={"env": "NEWSQA_INDEX_DIR", "help": "index directory (manifest, SQLite, FAISS)"},
    )
    model: str = field(
        default=DEFAULT_MODEL,
        metadata={"env": "NEWSQA_MODEL", "help": "sentence-transformers model name or path"},
    )
    batch_size: int = field(
        default=16, metadata={"env": "NEWSQA_BATCH_SIZE", "help": "texts per encoding batch"}
    )
    k: int = field(default=5, metadata={"env": "NEWSQA_K", "help": "results per question"})
    max_per_article: int = field(
        default=3,
        metadata={
            "env": "NEWSQA_MAX_PER_ARTICLE",
            "help": "most passages from one article in results",
        },
    )
    rerank: str = field(
        default="coverage",
        metadata={
            "env": "NEWSQA_RERANK",
            "help": "how search reorders its top passages: coverage (the share of the query's "
            "words in a passage's best sentence) or learned (a question's, by a model fitted on "
            "public questions: better SQuAD retrieval, not better answers; docs/quality.md)",
        },
    )
    answer_threshold: float = field(
        default=0.75,
        metadata={
            "env": "NEWSQA_ANSWER_THRESHOLD",
            "help": "evidence score below which newsqa says the archive holds no answer",
        },
    )
    answer_other_margin: float = field(
        default=0.5,
        metadata={
            "env": "NEWSQA_ANSWER_OTHER_MARGIN",
            "help": "how far (log-odds) below the best evidence another article's may score and "
            "still join an answer's first page; higher shows more outlets' versions at once",
        },
    )
    answer_same_article_margin: float = field(
        default=2.0,
        metadata={
            "env": "NEWSQA_ANSWER_SAME_ARTICLE_MARGIN",
            "help": "how far (log-odds) below the best evidence a second group of an article "
            "already shown may score and still join an answer's first page",
        },
    )
    evidence_weights: Path | None = field(
        default=None,
        metadata={
            "env": "NEWSQA_EVIDENCE_WEIGHTS",
            "help": "the evidence model's weights, a file written by `python -m bot.fit_evidence` "
            "(e.g. fitted on your own questions); empty: the shipped bot/evidence_weights.json",
        },
    )
    passage_sentences: int = field(
        default=6,
        metadata={
            "env": "NEWSQA_PASSAGE_SENTENCES",
            "help": "sentences per passage, for new indexes (an index keeps its own)",
        },
    )
    passage_overlap: int = field(
        default=3,
        metadata={
            "env": "NEWSQA_PASSAGE_OVERLAP",
            "help": "sentences shared by consecutive passages, for new indexes",
        },
    )
    index_type: str = field(
        default="auto",
        metadata={
            "env": "NEWSQA_INDEX_TYPE",
            "help": "FAISS index for new indexes: auto (flat, then ivf past 50k), flat or ivf",
        },
    )
    encoder_backend: str = field(
        default="onnx-int8",
        metadata={
            "env": "NEWSQA_ENCODER_BACKEND",
            "help": "what runs the model: onnx-int8 (quantized, fastest), onnx (float32, the "
            "same vectors as sentence-transformers) or torch",
        },
    )
    max_file_mb: float = field(
        default=20.0,
        metadata={
            "env": "NEWSQA_MAX_FILE_MB",
            "help": "largest file, download or JSONL line read (a JSONL export or a directory "
            "as a whole has no limit)",
        },
    )
    max_article_chars: int = field(
        default=2_000_000,
        metadata={"env": "NEWSQA_MAX_ARTICLE_CHARS", "help": "longest article text kept"},
    )
    fetch_deadline: float = field(
        default=60.0,
        metadata={
            "env": "NEWSQA_FETCH_DEADLINE",
            "help": "seconds one download may take in all: connecting, redirects, headers, body",
        },
    )
    fetch_allow: tuple[str, ...] = field(
        default=(),
        metadata={
            "env": "NEWSQA_FETCH_ALLOW",
            "help": "hosts or networks the private-address guard lets through, comma-separated "
            "(an intranet feed server; empty: none)",
        },
    )
    feed_every: str = field(
        default="15m",
        metadata={
            "env": "NEWSQA_FEED_EVERY",
            "help": "how often a feed added without --every is polled (30s, 15m, 2h, 1d)",
        },
    )
    state_dir: Path = field(
        default_factory=_default_state_dir,
        metadata={
            "env": "NEWSQA_STATE_DIR",
            "help": "where the bot and `ask --conversation` keep conversations",
        },
    )
    conversation_minutes: float = field(
        default=15.0,
        metadata={
            "env": "NEWSQA_CONVERSATION_MINUTES",
            "help": "a follow-up after this many quiet minutes starts a new topic",
        },
    )
    telegram_token: str | None = field(
        default=None,
        repr=False,
        metadata={
            "env": "TELEGRAM_BOT_TOKEN",
            "help": "Telegram bot token (secret)",
            "secret": True,
        },
    )
    telegram_token_file: Path | None = field(
        default=None,
        metadata={"env": "TELEGRAM_BOT_TOKEN_FILE", "help": "file holding the Telegram bot token"},
    )
    telegram_api_base_url: str = field(
        default="https://api.telegram.org",
        metadata={
            "env": "TELEGRAM_API_BASE_URL",
            "help": "Bot API server (a local one, or a fake)",
        },
    )

    telegram_allowed_users: tuple[int, ...] = field(
        default=(),
        metadata={
            "env": "TELEGRAM_ALLOWED_USERS",
            "help": "user ids allowed to use the bot, comma-separated (empty: everyone)",
        },
    )
    telegram_allowed_chats: tuple[int, ...] = field(
        default=(),
        metadata={
            "env": "TELEGRAM_ALLOWED_CHATS",
            "help": "chat ids whose members may use the bot, comma-separated (empty: any)",
        },
    )
    telegram_admins: tuple[int, ...] = field(
        default=(),
        metadata={
            "env": "TELEGRAM_ADMINS",
            "help": "user ids that may add articles to the archive, comma-separated",
        },
    )
    telegram_rate_limit: int = field(
        default=5,
        metadata={
            "env": "TELEGRAM_RATE_LIMIT",
            "help": "questions one user may ask per rate window",
        },
    )
    telegram_rate_window: float = field(
        default=60.0,
        metadata={"env": "TELEGRAM_RATE_WINDOW", "help": "the rate window, in seconds"},
    )
    telegram_alert_every: float = field(
        default=60.0,
        metadata={
            "env": "TELEGRAM_ALERT_EVERY",
            "help": "seconds between looks for new articles to alert followers about",
        },
    )
    telegram_alert_limit: int = field(
        default=10,
        metadata={
            "env": "TELEGRAM_ALERT_LIMIT",
            "help": "alert messages one follower gets per hour at most (more wait, batched)",
        },
    )
    telegram_max_upload_mb: float = field(
        default=5.0,
        metadata={"env": "TELEGRAM_MAX_UPLOAD_MB", "help": "largest document the bot ingests"},
    )

    def describe(self) -> dict[str, str]:
        """Each setting's current value for display; secrets shown only as set or unset."""
        out = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.metadata.get("secret"):
                out[f.name] = "(set)" if value else "(unset)"
            else:
                out[f.name] = "" if value is None else str(value)
        return out


def _convert(name: str, value: Any, kind: str) -> Any:
    """A raw value (TOML, environment or flag) as the field's type; `kind` is its annotation."""
    text = str(value).strip()
    base = kind.removesuffix(" | None")
    if base != kind and not text:
        return None
    if base == "tuple[int, ...]":
        return _ids(name, value)
    if base == "tuple[str, ...]":
        items = value if isinstance(value, list | tuple) else str(value).split(",")
        return tuple(str(item).strip() for item in items if str(item).strip())
    try:
        if base == "int":
            number = int(text)
            if number < 1:
                raise ValueError("must be at least 1")
            return number
        if base == "float":
            real = float(text)
            if real <= 0:
                raise ValueError("must be positive")
            return real
    except ValueError as e:
        raise SettingsError(f"setting {name}: {value!r} is not valid ({e})") from e
    if base == "Path":
        return Path(text).expanduser()
    return text


def _ids(name: str, value: Any) -> tuple[int, ...]:
    """Telegram ids from a TOML list or a comma-separated string ("1, 2, -100123")."""
    items = value if isinstance(value, list | tuple) else str(value).split(",")
    try:
        return tuple(int(str(item).strip()) for item in items if str(item).strip())
    except ValueError as e:
        raise SettingsError(
            f"setting {name}: {value!r} is not a comma-separated list of numeric ids"
        ) from e


def config_path(env: Mapping[str, str]) -> Path:
    if env.get("NEWSQA_CONFIG"):
        return Path(env["NEWSQA_CONFIG"]).expanduser()
    return Path(platformdirs.user_config_dir("newsqa")) / "config.toml"


def load_settings(
    overrides: Mapping[str, Any] | None = None, env: Mapping[str, str] | None = None
) -> Settings:
    """Settings from defaults, the config file, the environment and `overrides` (CLI flags)."""
    env = os.environ if env is None else env
    values: dict[str, Any] = {}
    path = config_path(env)
    if path.exists():
        try:
            values.update(tomllib.loads(path.read_text(encoding="utf-8")))
        except (OSError, tomllib.TOMLDecodeError) as e:
            raise SettingsError(f"config file {path}: {e}") from e
    fields = {f.name: f for f in dataclasses.fields(Settings)}
    unknown = set(values) - set(fields)
    if unknown:
        raise SettingsError(f"config file {path}: unknown setting(s) {', '.join(sorted(unknown))}")
    for name, f in fields.items():
        if env.get(f.metadata["env"]):
            values[name] = env[f.metadata["env"]]
    for name, value in (overrides or {}).items():
        if value is not None:
            values[name] = value
    return Settings(
        **{name: _convert(name, v, str(fields[name].type)) for name, v in values.items()}
    )
