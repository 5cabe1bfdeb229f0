"""A fake Telegram Bot API server (stdlib only) for end-to-end tests of the bot."""

from __future__ import annotations

import contextlib
import copy
import email.message
import email.parser
import email.policy
import itertools
import json
import math
import mimetypes
import re
import select
import socket
import socketserver
import sys
import threading
import time
import traceback
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, TypeVar
from urllib.parse import parse_qsl, unquote, urlsplit

JSON = dict[str, Any]
T = TypeVar("T")

DEFAULT_TOKEN = "123456789:AAFakeTokenForNewsqaTests"
BOT_FIRST_NAME = "NewsQA Test"
BOT_USERNAME = "newsqa_test_bot"
MAX_TEXT_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024
MAX_CALLBACK_DATA_BYTES = 64
MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024
MAX_POLL_TIMEOUT = 50.0

_METHOD_PATH = re.compile(r"/bot([^/]+)/([^/]*)")
_FILE_PATH = re.compile(r"/file/bot([^/]+)/(.+)")
_INT = re.compile(r"-?\d+")
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
_COMMAND = re.compile(r"(?<![\w/@])/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?(?![\w/@])")
_MENTION = re.compile(r"(?<![\w/@])@[A-Za-z0-9_]{5,32}(?![\w@])")
_BOT_COMMAND_NAME = re.compile(r"[a-z0-9_]{1,32}")
_HTML_ENTITY = re.compile(r"&(?:(lt|gt|amp|quot)|#([0-9]{1,8})|#[xX]([0-9a-fA-F]{1,7}));")
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_HTML_SPACE = " \t\r\n\f\v"

_JSON_FIELDS = frozenset(
    [
        "reply_markup",
        "reply_parameters",
        "entities",
        "caption_entities",
        "allowed_updates",
        "commands",
        "scope",
        "link_preview_options",
        "results",
        "button",
    ]
)
_INT_FIELDS = frozenset(
    [
        "chat_id",
        "message_id",
        "offset",
        "limit",
        "reply_to_message_id",
        "message_thread_id",
        "cache_time",
        "max_connections",
        "user_id",
    ]
)
_FLOAT_FIELDS = frozenset({"timeout"})
_BOOL_FIELDS = frozenset(
    [
        "drop_pending_updates",
        "disable_notification",
        "protect_content",
        "show_alert",
        "allow_sending_without_reply",
        "disable_content_type_detection",
        "is_personal",
    ]
)
_CHAT_ACTIONS = frozenset(
    [
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    ]
)
_BUTTON_ACTIONS = tuple(
    [
        "url",
        "callback_data",
        "web_app",
        "login_url",
        "switch_inline_query",
        "switch_inline_query_current_chat",
        "switch_inline_query_chosen_chat",
        "copy_text",
        "callback_game",
        "pay",
    ]
)
_HTML_TAGS = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "span": "spoiler",
    "tg-spoiler": "spoiler",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}

NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup "
    "are exactly the same as a current content and reply markup of the message"
)
QUERY_TOO_OLD = "Bad Request: query is too old and response timeout expired or query ID is invalid"
POLL_CONFLICT = (
    "Conflict: terminated by other getUpdates request; "
    "make sure that only one bot instance is running"
)
WEBHOOK_CONFLICT = (
    "Conflict: can't use getUpdates method while webhook is active; "
    "use deleteWebhook to delete the webhook first"
)


class ApiError(Exception):
    """An error answer of the Bot API (error_code, description, optional retry_after)."""

    def __init__(self, code: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.retry_after = retry_after

    def payload(self) -> JSON:
        """The JSON body Telegram answers with."""
        body: JSON = {"ok": False, "error_code": self.code, "description": self.description}
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


class HtmlParseError(ValueError):
    """Why Telegram would reject a text sent with parse_mode=HTML."""


# --------------------------------------------------------------------------- text handling


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, the unit of Telegram's entity offsets."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


@dataclass
class _OpenTag:
    """A start tag waiting for its end tag."""

    name: str
    attrs: dict[str, str]
    offset: int
    language: str | None = None


class _HtmlParser:
    """Telegram's HTML dialect (after tdlib's parse_html), stricter about bare '&'."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.out: list[str] = []
        self.size16 = 0
        self.stack: list[_OpenTag] = []
        self.entities: list[JSON] = []

    def parse(self) -> tuple[str, list[JSON]]:
        """Return the visible text and its entities, or raise HtmlParseError."""
        special = re.compile(r"[<&]")
        while self.pos < len(self.text):
            found = special.search(self.text, self.pos)
            end = found.start() if found else len(self.text)
            self._emit(self.text[self.pos : end])
            self.pos = end
            if found is None:
                break
            if found.group() == "&":
                self._emit(self._entity())
            elif self.text.startswith("</", self.pos):
                self._end_tag()
            else:
                self._start_tag()
        if self.stack:
            name = self.stack[-1].name
            raise HtmlParseError(f'Can\'t find end tag corresponding to start tag "{name}"')
        self.entities.sort(key=lambda e: (e["offset"], -e["length"]))
        return "".join(self.out), self.entities

    def _emit(self, chunk: str) -> None:
        """Append visible text."""
        if chunk:
            self.out.append(chunk)
            self.size16 += utf16_len(chunk)

    def _byte_offset(self, pos: int) -> int:
        """UTF-8 byte offset of a character position, as Telegram reports it."""
        return len(self.text[:pos].encode("utf-8", "surrogatepass"))

    def _entity(self) -> str:
        """Decode the HTML entity at pos; a bare '&' is an error."""
        match = _HTML_ENTITY.match(self.text, self.pos)
        decoded = _decode_entity(match) if match else None
        if match is None or decoded is None:
            raise HtmlParseError(
                f"Unsupported HTML entity at byte offset {self._byte_offset(self.pos)}"
            )
        self.pos = match.end()
        return decoded

    def _skip_spaces(self, i: int) -> int:
        """Index of the next non-space character."""
        while i < len(self.text) and self.text[i] in _HTML_SPACE:
            i += 1
        return i

    def _start_tag(self) -> None:
        """Parse '<name attr=...>' at pos and open it."""
        begin, text = self.pos, self.text
        i = begin + 1
        while i < len(text) and text[i] not in _HTML_SPACE and text[i] != ">":
            i += 1
        if i >= len(text):
            raise HtmlParseError(f"Unclosed start tag at byte offset {self._byte_offset(begin)}")
        name = text[begin + 1 : i].lower()
        if name not in _HTML_TAGS:
            raise HtmlParseError(
                f'Unsupported start tag "{name}" at byte offset {self._byte_offset(begin)}'
            )
        attrs, self.pos = self._attributes(name, i, begin)
        self.stack.append(_OpenTag(name, attrs, self.size16, _check_tag(name, attrs)))

    def _attributes(self, name: str, i: int, begin: int) -> tuple[dict[str, str], int]:
        """Parse attributes up to and including '>'; return them and the next index."""
        text, attrs = self.text, dict[str, str]()
        unclosed = HtmlParseError(f"Unclosed start tag at byte offset {self._byte_offset(begin)}")
        while True:
            i = self._skip_spaces(i)
            if i >= len(text):
                raise unclosed
            if text[i] == ">":
                return attrs, i + 1
            start = i
            while i < len(text) and text[i] not in _HTML_SPACE and text[i] not in "=>":
                i += 1
            attr = text[start:i].lower()
            i = self._skip_spaces(i)
            if i < len(text) and text[i] == "=":
                attrs[attr], i = self._attribute_value(self._skip_spaces(i + 1), begin)
            elif name == "blockquote" and attr == "expandable":
                attrs[attr] = ""
            else:
                raise HtmlParseError(
                    f'Expected equal sign in declaration of an attribute of the tag "{name}" '
                    f"at byte offset {self._byte_offset(begin)}"
                )

    def _attribute_value(self, i: int, begin: int) -> tuple[str, int]:
        """Parse a quoted or bare attribute value starting at i."""
        text = self.text
        if i >= len(text):
            raise HtmlParseError(f"Unclosed start tag at byte offset {self._byte_offset(begin)}")
        if text[i] in "\"'":
            end = text.find(text[i], i + 1)
            if end < 0:
                raise HtmlParseError(
                    f"Unclosed start tag at byte offset {self._byte_offset(begin)}"
                )
            return self._decode_value(text[i + 1 : end], i + 1), end + 1
        start = i
        while i < len(text) and (text[i].isalnum() or text[i] in ".-"):
            i += 1
        if i < len(text) and text[i] not in _HTML_SPACE and text[i] != ">":
            raise HtmlParseError(
                f"Unexpected end of name token at byte offset {self._byte_offset(i)}"
            )
        return text[start:i].lower(), i

    def _decode_value(self, raw: str, base: int) -> str:
        """Decode entities inside a quoted attribute value."""
        parts, pos = [], 0
        while (amp := raw.find("&", pos)) >= 0:
            parts.append(raw[pos:amp])
            match = _HTML_ENTITY.match(raw, amp)
            decoded = _decode_entity(match) if match else None
            if match is None or decoded is None:
                raise HtmlParseError(
                    f"Unsupported HTML entity at byte offset {self._byte_offset(base + amp)}"
                )
            parts.append(decoded)
            pos = match.end()
        parts.append(raw[pos:])
        return "".join(parts)

    def _end_tag(self) -> None:
        """Parse '</name>' at pos and close the innermost open tag."""
        begin, text = self.pos, self.text
        if not self.stack:
            raise HtmlParseError(f"Unexpected end tag at byte offset {self._byte_offset(begin)}")
        i = begin + 2
        while i < len(text) and text[i] not in _HTML_SPACE and text[i] != ">":
            i += 1
        name = text[begin + 2 : i].lower()
        i = self._skip_spaces(i)
        if i >= len(text) or text[i] != ">":
            raise HtmlParseError(f"Unclosed end tag at byte offset {self._byte_offset(begin)}")
        tag = self.stack[-1]
        if name and name != tag.name:
            raise HtmlParseError(
                f"Unmatched end tag at byte offset {self._byte_offset(begin)}, "
                f'expected "</{tag.name}>", found "</{name}>"'
            )
        self.pos = i + 1
        self.stack.pop()
        self._close(tag)

    def _close(self, tag: _OpenTag) -> None:
        """Turn a closed tag into an entity (empty ones vanish, as in Telegram)."""
        length = self.size16 - tag.offset
        if tag.name == "code" and tag.language and self.stack and self.stack[-1].name == "pre":
            self.stack[-1].language = tag.language
            return
        if length <= 0:
            return
        entity: JSON = {"type": _HTML_TAGS[tag.name], "offset": tag.offset, "length": length}
        if tag.name == "a":
            entity["url"] = tag.attrs["href"]
        elif tag.name == "pre" and tag.language:
            entity["language"] = tag.language
        elif tag.name == "blockquote" and "expandable" in tag.attrs:
            entity["type"] = "expandable_blockquote"
        elif tag.name == "tg-emoji":
            entity["custom_emoji_id"] = tag.attrs["emoji-id"]
        self.entities.append(entity)


def _decode_entity(match: re.Match[str]) -> str | None:
    """The character an entity stands for, or None if the code point is invalid."""
    named, decimal, hexadecimal = match.groups()
    if named:
        return _NAMED_ENTITIES[named]
    code = int(decimal) if decimal else int(hexadecimal, 16)
    if code <= 0 or code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
        return None
    return chr(code)


def _check_tag(name: str, attrs: dict[str, str]) -> str | None:
    """Validate a start tag's attributes; return a code block's language if any."""
    if name == "a" and not attrs.get("href"):
        raise HtmlParseError('Tag "a" must have attribute "href"')
    if name == "span" and attrs.get("class") != "tg-spoiler":
        raise HtmlParseError('Tag "span" must have class "tg-spoiler"')
    if name == "tg-emoji" and not attrs.get("emoji-id", "").isdigit():
        raise HtmlParseError('Tag "tg-emoji" must have a numeric attribute "emoji-id"')
    language = attrs.get("class", "")
    if name == "code" and language.startswith("language-"):
        return language.removeprefix("language-") or None
    return None


def parse_html(text: str) -> tuple[str, list[JSON]]:
    """Visible text and entities of Telegram-HTML; raise HtmlParseError when it would fail."""
    return _HtmlParser(text).parse()


def _given_entities(entities: Any) -> list[JSON]:
    """Validate an explicit `entities` parameter."""
    if entities is None:
        return []
    valid = isinstance(entities, list) and all(
        isinstance(e, dict)
        and isinstance(e.get("type"), str)
        and isinstance(e.get("offset"), int)
        and isinstance(e.get("length"), int)
        for e in entities
    )
    if not valid:
        raise ApiError(400, "Bad Request: can't parse entities JSON object")
    return [dict(e) for e in entities]


def _render(text: str, parse_mode: str | None, entities: Any) -> tuple[str, list[JSON]]:
    """Apply parse_mode (HTML validated; Markdown modes accepted unvalidated)."""
    mode = (parse_mode or "").lower()
    if mode == "html":
        try:
            return parse_html(text)
        except HtmlParseError as error:
            raise ApiError(400, f"Bad Request: can't parse entities: {error}") from None
    if mode in ("", "markdown", "markdownv2"):
        return text, _given_entities(entities)
    raise ApiError(400, "Bad Request: unsupported parse_mode")


def _strip(plain: str, entities: list[JSON]) -> tuple[str, list[JSON]]:
    """Trim surrounding whitespace like Telegram, shifting and clipping entities."""
    stripped = plain.strip()
    if stripped == plain:
        return plain, entities
    lead = utf16_len(plain[: len(plain) - len(plain.lstrip())])
    size = utf16_len(stripped)
    kept = []
    for entity in entities:
        start = max(entity["offset"] - lead, 0)
        end = min(entity["offset"] + entity["length"] - lead, size)
        if end > start:
            kept.append({**entity, "offset": start, "length": end - start})
    return stripped, kept


def check_text(
    text: str | None,
    parse_mode: str | None = None,
    entities: Any = None,
    *,
    caption: bool = False,
) -> tuple[str, list[JSON]]:
    """Validate a message text (or caption) like Telegram; return visible text and entities."""
    if not text:
        if caption:
            return "", []
        raise ApiError(400, "Bad Request: message text is empty")
    plain, found = _strip(*_render(text, parse_mode, entities))
    if not plain and not caption:
        raise ApiError(400, "Bad Request: message text is empty")
    if caption and len(plain) > MAX_CAPTION_LENGTH:
        raise ApiError(400, "Bad Request: message caption is too long")
    if not caption and len(plain) > MAX_TEXT_LENGTH:
        raise ApiError(400, "Bad Request: message is too long")
    return plain, found


def detect_entities(text: str) -> list[JSON]:
    """Entities Telegram's clients attach to typed text: bot commands and @mentions."""
    spans = [(m.start(), m.end(), "bot_command") for m in _COMMAND.finditer(text)]
    for match in _MENTION.finditer(text):
        if not any(start < match.end() and match.start() < end for start, end, _ in spans):
            spans.append((match.start(), match.end(), "mention"))
    return [
        {"type": kind, "offset": utf16_len(text[:start]), "length": utf16_len(text[start:end])}
        for start, end, kind in sorted(spans)
    ]


def _check_markup(markup: Any) -> JSON | None:
    """Validate reply_markup; inline keyboards are checked button by button."""
    if markup is None:
        return None
    if not isinstance(markup, dict):
        raise ApiError(400, "Bad Request: can't parse reply keyboard markup JSON object")
    rows = markup.get("inline_keyboard")
    if rows is None:
        return markup
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise ApiError(400, "Bad Request: can't parse inline keyboard button JSON object")
    for button in itertools.chain.from_iterable(rows):
        _check_button(button)
    return markup


def _check_button(button: Any) -> None:
    """Validate one inline keyboard button."""
    if not isinstance(button, dict) or not isinstance(button.get("text"), str):
        raise ApiError(400, "Bad Request: can't parse inline keyboard button JSON object")
    actions = [key for key in _BUTTON_ACTIONS if key in button]
    if not actions:
        raise ApiError(400, "Bad Request: text buttons are unallowed in the inline keyboard")
    data = button.get("callback_data")
    if "callback_data" in button and (
        not isinstance(data, str) or not 1 <= len(data.encode()) <= MAX_CALLBACK_DATA_BYTES
    ):
        raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
    url = button.get("url")
    if "url" in button and not (isinstance(url, str) and re.match(r"(https?|tg)://\S+$", url)):
        raise ApiError(400, f"Bad Request: inline keyboard button URL '{url}' is invalid")


def _inline(markup: JSON | None) -> JSON | None:
    """The part of reply_markup that a Message carries (inline keyboards only)."""
    return markup if markup is not None and "inline_keyboard" in markup else None


def _callback_data(markup: JSON | None) -> set[str]:
    """Every callback_data in an inline keyboard."""
    rows = (markup or {}).get("inline_keyboard", [])
    buttons = itertools.chain.from_iterable(rows)
    return {b["callback_data"] for b in buttons if "callback_data" in b}


# --------------------------------------------------------------------------- request parsing


@dataclass(frozen=True)
class UploadedFile:
    """A file part of a multipart/form-data request."""

    filename: str
    content: bytes
    content_type: str | None


def _parse_params(query: str, content_type: str, body: bytes) -> JSON:
    """Merge query-string parameters with a JSON, urlencoded or multipart body."""
    params: JSON = dict(parse_qsl(query, keep_blank_values=True))
    mime = content_type.split(";")[0].strip().lower()
    if not body:
        return params
    if mime == "application/json":
        try:
            decoded = json.loads(body)
        except ValueError:
            raise ApiError(400, "Bad Request: can't parse JSON body") from None
        if not isinstance(decoded, dict):
            raise ApiError(400, "Bad Request: JSON body must be an object")
        params.update(decoded)
    elif mime == "application/x-www-form-urlencoded":
        params.update(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    elif mime == "multipart/form-data":
        params.update(_parse_multipart(content_type, body))
    return params


def _parse_multipart(content_type: str, body: bytes) -> JSON:
    """Split a multipart/form-data body into str values and UploadedFile parts."""
    header = email.message.Message()
    header["Content-Type"] = content_type
    boundary = header.get_param("boundary")
    if not isinstance(boundary, str):
        raise ApiError(400, "Bad Request: multipart boundary is missing")
    parser = email.parser.BytesHeaderParser(policy=email.policy.HTTP)
    params: JSON = {}
    for section in body.split(b"--" + boundary.encode())[1:]:
        if section.startswith(b"--"):
            break
        head, _, content = section.removeprefix(b"\r\n").partition(b"\r\n\r\n")
        content = content.removesuffix(b"\r\n")
        part = parser.parsebytes(head + b"\r\n\r\n")
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            continue
        filename = part.get_filename()
        if filename is None:
            params[name] = content.decode("utf-8", "replace")
        else:
            params[name] = UploadedFile(filename, content, part.get_content_type())
    return params


def _coerce(key: str, value: Any) -> Any:
    """Give a form-encoded string value the type Telegram would read it as."""
    if not isinstance(value, str):
        return value
    if key in _JSON_FIELDS:
        try:
            return json.loads(value)
        except ValueError:
            raise ApiError(400, f"Bad Request: can't parse {key} JSON object") from None
    if key in _INT_FIELDS and _INT.fullmatch(value):
        return int(value)
    if key in _FLOAT_FIELDS and _NUMBER.fullmatch(value):
        return float(value)
    if key in _BOOL_FIELDS:
        return value.lower() in ("true", "1")
    return value


class _Args:
    """Typed access to one request's parameters."""

    def __init__(self, params: JSON, connected: Callable[[], bool]) -> None:
        self.params = params
        self.connected = connected

    def get(self, name: str) -> Any:
        """The raw (coerced) value or None."""
        return self.params.get(name)

    def string(self, name: str) -> str | None:
        """A string parameter (numbers are stringified)."""
        value = self.params.get(name)
        return None if value is None else str(value)

    def integer(self, name: str) -> int:
        """A required integer parameter."""
        value = self.opt_integer(name)
        if value is None:
            raise ApiError(400, f"Bad Request: {name} is empty")
        return value

    def opt_integer(self, name: str) -> int | None:
        """An optional integer parameter."""
        value = self.params.get(name)
        if value is None or value == "":
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ApiError(400, f"Bad Request: invalid {name} specified")
        return int(value)

    def number(self, name: str) -> float | None:
        """An optional numeric parameter."""
        value = self.params.get(name)
        if value is None or value == "":
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ApiError(400, f"Bad Request: invalid {name} specified")
        return float(value)

    def flag(self, name: str) -> bool:
        """A boolean parameter, False when absent."""
        return bool(self.params.get(name))


# --------------------------------------------------------------------------- records


@dataclass(frozen=True)
class User:
    """A Telegram user as the fake's tests describe it."""

    id: int
    first_name: str
    username: str | None = None
    last_name: str | None = None
    language_code: str | None = "en"

    def to_dict(self) -> JSON:
        """The Bot API User object."""
        data: JSON = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        for key in ("last_name", "username", "language_code"):
            if getattr(self, key) is not None:
                data[key] = getattr(self, key)
        return data


@dataclass(frozen=True)
class Chat:
    """A private chat, group or supergroup."""

    id: int
    type: str
    title: str | None = None
    username: str | None = None
    first_name: str | None = None

    @property
    def is_group(self) -> bool:
        """Whether this is a group or supergroup."""
        return self.type in ("group", "supergroup")

    def to_dict(self) -> JSON:
        """The Bot API Chat object."""
        data: JSON = {"id": self.id, "type": self.type}
        for key in ("title", "username", "first_name"):
            if getattr(self, key) is not None:
                data[key] = getattr(self, key)
        return data


@dataclass(frozen=True)
class RecordedRequest:
    """One Bot API call as the fake saw and answered it."""

    method: str
    params: JSON
    http_method: str
    status: int
    response: JSON


@dataclass(frozen=True)
class SentMessage:
    """A message the bot sent or edited."""

    method: str
    chat_id: int
    message_id: int
    text: str | None
    plain_text: str | None
    parse_mode: str | None
    reply_markup: JSON | None
    params: JSON

    @property
    def is_edit(self) -> bool:
        """Whether this record is an edit of an earlier message."""
        return self.method.startswith("edit")


@dataclass(frozen=True)
class FloodLimit:
    """Outgoing-message limits like Telegram's; exceeding one answers 429 with retry_after."""

    per_second: int = 30
    group_per_minute: int = 20
    chat_per_second: int | None = None


@dataclass
class StoredFile:
    """A file the fake can hand out through getFile and the download URL."""

    file_id: str
    file_unique_id: str
    file_path: str
    file_name: str
    mime_type: str
    content: bytes

    def document(self) -> JSON:
        """The Bot API Document object."""
        return {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_name": self.file_name,
            "mime_type": self.mime_type,
            "file_size": len(self.content),
        }


@dataclass
class _StoredMessage:
    """A message in a chat as the fake keeps it."""

    payload: JSON
    from_bot: bool
    raw_text: str | None = None
    parse_mode: str | None = None


@dataclass
class _QueuedUpdate:
    """An update waiting for, or already handed to, getUpdates."""

    update_id: int
    kind: str
    payload: JSON
    delivered: int = 0
    confirmed: bool = False
    dropped: bool = False


@dataclass
class _Response:
    """What the HTTP handler writes back."""

    status: int
    body: bytes
    content_type: str = "application/json"


def _json_response(status: int, payload: JSON) -> _Response:
    """Serialise a JSON answer."""
    return _Response(status, json.dumps(payload, ensure_ascii=False).encode("utf-8"))


# --------------------------------------------------------------------------- HTTP plumbing


class _Handler(BaseHTTPRequestHandler):
    """Hands every request to the FakeBotAPI that owns the server."""

    protocol_version = "HTTP/1.1"
    server: _Server

    def setup(self) -> None:
        """Register the connection so close() can cut it; no Nagle delay on small answers."""
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server.track(self.connection)

    def finish(self) -> None:
        """Unregister the connection."""
        try:
            super().finish()
        finally:
            self.server.untrack(self.connection)

    def do_GET(self) -> None:
        """Serve a GET request."""
        self._serve()

    def do_POST(self) -> None:
        """Serve a POST request."""
        self._serve()

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output quiet."""

    def _serve(self) -> None:
        """Read the body, let the fake answer, write the answer."""
        body = self._read_body()
        content_type = self.headers.get("Content-Type", "")
        response = self.server.api._answer(
            self.command, self.path, content_type, body, self._connected
        )
        try:
            self.send_response(response.status)
            self.send_header("Content-Type", response.content_type)
            self.send_header("Content-Length", str(len(response.body)))
            self.end_headers()
            self.wfile.write(response.body)
            self.wfile.flush()
        except OSError:
            self.close_connection = True

    def _read_body(self) -> bytes:
        """The request body (Content-Length or chunked)."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks = []
            while size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16):
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                pass
            return b"".join(chunks)
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _connected(self) -> bool:
        """Whether the client is still waiting for the answer."""
        try:
            readable, _, _ = select.select([self.connection], [], [], 0)
            return not readable or self.connection.recv(1, socket.MSG_PEEK) != b""
        except OSError:
            return False


class _Server(ThreadingHTTPServer):
    """A threading HTTP server on 127.0.0.1 that knows its live connections."""

    daemon_threads = True
    block_on_close = False

    def __init__(self, api: FakeBotAPI) -> None:
        self.api = api
        self.live: dict[socket.socket, threading.Thread] = {}
        self.live_lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), _Handler)

    def server_bind(self) -> None:
        """Bind without HTTPServer's reverse DNS lookup."""
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name, self.server_port = str(host), int(port)

    def track(self, connection: socket.socket) -> None:
        """Remember a live connection and its thread."""
        with self.live_lock:
            self.live[connection] = threading.current_thread()

    def untrack(self, connection: socket.socket) -> None:
        """Forget a finished connection."""
        with self.live_lock:
            self.live.pop(connection, None)

    def cut_connections(self, deadline: float) -> None:
        """Shut down every live connection and wait for its thread until the deadline."""
        with self.live_lock:
            live = list(self.live.items())
        for connection, _ in live:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        for _, thread in live:
            thread.join(max(deadline - time.monotonic(), 0))

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Record unexpected handler failures instead of printing them."""
        if not isinstance(sys.exc_info()[1], OSError):
            self.api._note_error(traceback.format_exc())


# --------------------------------------------------------------------------- the fake


class FakeBotAPI:
    """A Telegram Bot API server on 127.0.0.1 with a test-side API to play users."""

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        *,
        privacy_mode: bool = True,
        flood_limit: FloodLimit | None = None,
    ) -> None:
        self.token = token
        prefix = token.partition(":")[0]
        self.bot_id = int(prefix) if prefix.isdigit() else 1  # Telegram: the id before ':'
        self.privacy_mode = privacy_mode
        self.flood_limit = flood_limit
        self._cond = threading.Condition()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._closed = False
        self._requests: list[RecordedRequest] = []
        self._sent: list[SentMessage] = []
        self._errors: list[str] = []
        self._users: dict[int, User] = {}
        self._chats: dict[int, Chat] = {}
        self._blocked: set[int] = set()
        self._messages: dict[tuple[int, int], _StoredMessage] = {}
        self._message_ids: dict[int, itertools.count[int]] = {}
        self._updates: list[_QueuedUpdate] = []
        self._update_ids = itertools.count(10_001)
        self._allowed_updates: set[str] | None = None
        self._poll_generation = 0
        self._waiting_polls = 0
        self._callbacks: dict[str, JSON | None] = {}
        self._inline_answers: dict[str, JSON | None] = {}
        self._query_ids = itertools.count(4_000_000_001)
        self._files: dict[str, StoredFile] = {}
        self._file_numbers = itertools.count(1)
        self._commands: dict[tuple[str, str], list[JSON]] = {}
        self._webhook_url = ""
        self._failures: dict[str, deque[ApiError]] = defaultdict(deque)
        self._flood_stamps: dict[tuple[Any, float], deque[float]] = defaultdict(deque)
        self._methods: dict[str, tuple[str, Callable[[_Args], Any]]] = {
            name.lower(): (name, handler) for name, handler in self._method_table().items()
        }

    # ----------------------------------------------------------------- lifecycle

    def __enter__(self) -> FakeBotAPI:
        """Start serving."""
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop serving; surface the fake's own crashes if the test otherwise passed."""
        self.close()
        if exc_type is None and self._errors:
            raise AssertionError("FakeBotAPI crashed:\n" + "\n".join(self._errors))

    def start(self) -> FakeBotAPI:
        """Bind a free port and serve in a background thread."""
        if self._closed:
            raise RuntimeError("a closed FakeBotAPI cannot be restarted; make a new one")
        if self._server is None:
            self._server = _Server(self)
            self._thread = threading.Thread(
                target=self._server.serve_forever,
                kwargs={"poll_interval": 0.05},
                name="FakeBotAPI",
                daemon=True,
            )
            self._thread.start()
        return self

    def close(self) -> None:
        """Stop serving, wake long polls and cut connections, all within about a second."""
        deadline = time.monotonic() + 1.0
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.cut_connections(deadline)
        server.server_close()
        if self._thread is not None:
            self._thread.join(max(deadline - time.monotonic(), 0))

    # ----------------------------------------------------------------- URLs

    @property
    def base_url(self) -> str:
        """http://127.0.0.1:PORT."""
        if self._server is None:
            raise RuntimeError("FakeBotAPI is not running; use it as a context manager")
        return f"http://127.0.0.1:{self._server.server_port}"

    @property
    def ptb_base_url(self) -> str:
        """For ApplicationBuilder().base_url(): PTB appends the token, then /method."""
        return f"{self.base_url}/bot"

    @property
    def ptb_base_file_url(self) -> str:
        """For ApplicationBuilder().base_file_url(): PTB appends the token, then /file_path."""
        return f"{self.base_url}/file/bot"

    @property
    def file_base_url(self) -> str:
        """Download prefix: {file_base_url}{file_path}."""
        return f"{self.base_url}/file/bot{self.token}/"

    @property
    def bot_user(self) -> JSON:
        """The bot's User object as it appears in messages."""
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": BOT_FIRST_NAME,
            "username": BOT_USERNAME,
        }

    # ----------------------------------------------------------------- test side: actors

    def user(self, id: int, first_name: str, username: str | None = None) -> User:
        """Describe a user (and remember them)."""
        user = User(id, first_name, username)
        with self._cond:
            self._users[id] = user
        return user

    def private_chat(self, user: User) -> Chat:
        """The private chat between a user and the bot."""
        return Chat(user.id, "private", username=user.username, first_name=user.first_name)

    def group(self, chat_id: int, title: str, *, supergroup: bool = False) -> Chat:
        """A group the bot has been added to (ids are negative)."""
        if chat_id >= 0:
            raise ValueError("group chat ids are negative")
        chat = Chat(chat_id, "supergroup" if supergroup else "group", title=title)
        with self._cond:
            self._chats[chat_id] = chat
        return chat

    def block(self, chat: Chat | User, blocked: bool = True) -> None:
        """Make the bot's sends to a chat fail with 403, as when a user blocks the bot."""
        with self._cond:
            if blocked:
                self._blocked.add(chat.id)
            else:
                self._blocked.discard(chat.id)

    def fail_next(
        self,
        method: str,
        error_code: int,
        description: str,
        *,
        retry_after: int | None = None,
        times: int = 1,
    ) -> None:
        """Answer the next `times` calls of a method with an error."""
        with self._cond:
            error = ApiError(error_code, description, retry_after)
            self._failures[method.lower()].extend([error] * times)

    # ----------------------------------------------------------------- test side: updates

    def send_text(
        self,
        chat: Chat | User,
        user: User,
        text: str,
        reply_to_message_id: int | None = None,
    ) -> JSON:
        """A user writes a message; queue it for the bot unless privacy mode hides it."""
        chat = self._as_chat(chat, user)
        with self._cond:
            message = self._incoming(chat, user, reply_to_message_id)
            message["text"] = text
            if entities := detect_entities(text):
                message["entities"] = entities
            return self._deliver_incoming(chat, message)

    def send_document(
        self,
        chat: Chat | User,
        user: User,
        filename: str,
        content: bytes,
        caption: str | None = None,
        mime_type: str | None = None,
    ) -> JSON:
        """A user uploads a file; it becomes downloadable via getFile."""
        chat = self._as_chat(chat, user)
        with self._cond:
            stored = self._store_file(content, filename, mime_type)
            message = self._incoming(chat, user, None)
            message["document"] = stored.document()
            if caption:
                message["caption"] = caption
                if entities := detect_entities(caption):
                    message["caption_entities"] = entities
            return self._deliver_incoming(chat, message)

    def press_button(self, chat: Chat | User, user: User, message_id: int, data: str) -> str:
        """A user presses an inline button of a bot message; return the callback query id."""
        chat = self._as_chat(chat, user)
        with self._cond:
            stored = self._messages.get((chat.id, message_id))
            if stored is None or not stored.from_bot:
                raise ValueError(f"no bot message {message_id} in chat {chat.id}")
            if data not in _callback_data(stored.payload.get("reply_markup")):
                raise ValueError(f"message {message_id} has no button with callback_data {data!r}")
            query_id = str(next(self._query_ids))
            self._callbacks[query_id] = None
            query = {
                "id": query_id,
                "from": user.to_dict(),
                "message": copy.deepcopy(stored.payload),
                "chat_instance": str(abs(chat.id) * 7919 + 1),
                "data": data,
            }
            self._queue("callback_query", query)
            return query_id

    def send_inline_query(self, user: User, query: str, chat_type: str = "sender") -> str:
        """A user types `@bot QUERY` in a chat; return the inline query id."""
        with self._cond:
            self._users.setdefault(user.id, user)
            query_id = str(next(self._query_ids))
            self._inline_answers[query_id] = None
            self._queue(
                "inline_query",
                {
                    "id": query_id,
                    "from": user.to_dict(),
                    "query": query,
                    "offset": "",
                    "chat_type": chat_type,
                },
            )
            return query_id

    # ----------------------------------------------------------------- test side: inspection

    @property
    def inline_answers(self) -> dict[str, JSON | None]:
        """answerInlineQuery parameters per inline query id (None: unanswered)."""
        with self._cond:
            return copy.deepcopy(self._inline_answers)

    def wait_for_inline_answer(self, query_id: str, timeout: float = 5.0) -> JSON:
        """Block until the bot answered an inline query; return its parameters."""
        [answer] = self._wait(
            lambda: [a for a in [self._inline_answers.get(query_id)] if a is not None],
            1,
            timeout,
            f"an answer to inline query {query_id}",
        )
        return answer

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every Bot API call so far (a snapshot)."""
        with self._cond:
            return list(self._requests)

    @property
    def sent(self) -> list[SentMessage]:
        """Every message the bot sent or edited so far (a snapshot)."""
        with self._cond:
            return list(self._sent)

    @property
    def internal_errors(self) -> list[str]:
        """Tracebacks of the fake's own failures (should stay empty)."""
        with self._cond:
            return list(self._errors)

    @property
    def webhook_url(self) -> str:
        """The webhook set by setWebhook ('' when none)."""
        with self._cond:
            return self._webhook_url

    def message(self, chat_id: int, message_id: int) -> JSON | None:
        """The current state of a message, or None if unknown or deleted."""
        with self._cond:
            stored = self._messages.get((chat_id, message_id))
            return copy.deepcopy(stored.payload) if stored else None

    def file(self, file_id: str) -> StoredFile | None:
        """A stored file by file_id."""
        with self._cond:
            return self._files.get(file_id)

    def commands(self, scope: JSON | None = None, language_code: str = "") -> list[JSON]:
        """The commands set by setMyCommands for a scope and language."""
        with self._cond:
            return copy.deepcopy(self._commands.get(_commands_key(scope, language_code), []))

    def callback_answers(self) -> dict[str, JSON | None]:
        """answerCallbackQuery parameters per callback query id (None: unanswered)."""
        with self._cond:
            return copy.deepcopy(self._callbacks)

    def unanswered_callback_queries(self) -> list[str]:
        """Callback query ids the bot never answered (clients would show a spinner)."""
        with self._cond:
            return [qid for qid, answer in self._callbacks.items() if answer is None]

    def delivery_counts(self) -> dict[int, int]:
        """How often each update_id was handed out by getUpdates."""
        with self._cond:
            return {u.update_id: u.delivered for u in self._updates}

    def unconfirmed_updates(self) -> list[int]:
        """update_ids not yet confirmed by a later getUpdates offset."""
        with self._cond:
            return [u.update_id for u in self._updates if not u.confirmed]

    def assert_updates_consumed(self) -> None:
        """Fail unless every queued update was delivered exactly once and confirmed."""
        with self._cond:
            problems = [
                f"update {u.update_id} ({u.kind}): delivered {u.delivered}x, "
                + ("dropped" if u.dropped else "confirmed" if u.confirmed else "unconfirmed")
                for u in self._updates
                if u.delivered != 1 or not u.confirmed
            ]
        if problems:
            raise AssertionError("; ".join(problems))

    # ----------------------------------------------------------------- test side: waiting

    def wait_for(
        self,
        predicate: Callable[[RecordedRequest], bool],
        *,
        count: int = 1,
        timeout: float = 5.0,
        since: int = 0,
    ) -> list[RecordedRequest]:
        """Block until `count` answered requests (from index `since`) match; return all matches."""
        return self._wait(
            lambda: [r for r in self._requests[since:] if predicate(r)],
            count,
            timeout,
            "matching requests",
        )

    def wait_for_messages(
        self,
        chat_id: int,
        count: int = 1,
        timeout: float = 5.0,
        *,
        since: int = 0,
        include_edits: bool = False,
    ) -> list[SentMessage]:
        """Block until the bot sent `count` messages to a chat (from api.sent[since:])."""
        return self._wait(
            lambda: [
                m
                for m in self._sent[since:]
                if m.chat_id == chat_id and (include_edits or not m.is_edit)
            ],
            count,
            timeout,
            f"messages to chat {chat_id}",
        )

    def wait_until_polling(self, timeout: float = 5.0) -> None:
        """Block until a getUpdates long poll is waiting on the fake."""
        self._wait(lambda: [True] * self._waiting_polls, 1, timeout, "a waiting getUpdates")

    def _wait(
        self, collect: Callable[[], list[T]], count: int, timeout: float, what: str
    ) -> list[T]:
        """Wait on the condition until collect() yields `count` items."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                found = collect()
                if len(found) >= count:
                    return found
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self._closed:
                    recent = [(r.method, r.status) for r in self._requests[-10:]]
                    raise TimeoutError(
                        f"waited {timeout}s for {count} {what}, got {len(found)}: {found!r}; "
                        f"last requests: {recent}"
                    )
                self._cond.wait(remaining)

    # ----------------------------------------------------------------- incoming helpers

    def _as_chat(self, chat: Chat | User, user: User) -> Chat:
        """Accept a User as shorthand for their private chat."""
        if isinstance(chat, User):
            chat = self.private_chat(chat)
        if chat.type == "private" and chat.id != user.id:
            raise ValueError("in a private chat the sender is the chat's user")
        return chat

    def _next_message_id(self, chat_id: int) -> int:
        """Message ids count up per chat, shared by users and the bot."""
        return next(self._message_ids.setdefault(chat_id, itertools.count(1)))

    def _incoming(self, chat: Chat, user: User, reply_to: int | None) -> JSON:
        """The common fields of a user's message."""
        replied = None if reply_to is None else self._messages.get((chat.id, reply_to))
        if reply_to is not None and replied is None:
            raise ValueError(f"no message {reply_to} in chat {chat.id} to reply to")
        self._users.setdefault(user.id, user)
        self._chats.setdefault(chat.id, chat)
        message: JSON = {
            "message_id": self._next_message_id(chat.id),
            "from": user.to_dict(),
            "chat": chat.to_dict(),
            "date": int(time.time()),
        }
        if replied is not None:
            message["reply_to_message"] = _without_reply(replied.payload)
        return message

    def _deliver_incoming(self, chat: Chat, message: JSON) -> JSON:
        """Store a user's message and queue it if the bot can see it."""
        self._messages[(chat.id, message["message_id"])] = _StoredMessage(message, False)
        if self._bot_sees(chat, message):
            self._queue("message", message)
        return copy.deepcopy(message)

    def _bot_sees(self, chat: Chat, message: JSON) -> bool:
        """Privacy mode: in groups only commands (for this bot) and replies to it arrive."""
        if not chat.is_group or not self.privacy_mode:
            return True
        replied = message.get("reply_to_message", {}).get("from", {})
        if replied.get("id") == self.bot_id:
            return True
        text = message.get("text") or message.get("caption") or ""
        entities = message.get("entities") or message.get("caption_entities") or []
        if not entities or entities[0]["type"] != "bot_command" or entities[0]["offset"] != 0:
            return False
        _, _, target = text[: entities[0]["length"]].partition("@")
        return not target or target.lower() == BOT_USERNAME

    def _queue(self, kind: str, payload: JSON) -> None:
        """Queue an update and wake long polls."""
        update_id = next(self._update_ids)
        body = {"update_id": update_id, kind: copy.deepcopy(payload)}
        self._updates.append(_QueuedUpdate(update_id, kind, body))
        self._cond.notify_all()

    def _store_file(self, content: bytes, filename: str, mime_type: str | None) -> StoredFile:
        """Keep uploaded bytes under a fresh file_id and file_path."""
        number = next(self._file_numbers)
        suffix = filename.rsplit(".", 1)[1] if "." in filename else "bin"
        stored = StoredFile(
            file_id=f"BQACAgIAAxkBAAIB{number:06d}{self.bot_id}",
            file_unique_id=f"AgADfake{number:04d}",
            file_path=f"documents/file_{number}.{suffix}",
            file_name=filename,
            mime_type=mime_type or mimetypes.guess_type(filename)[0] or "application/octet-stream",
            content=bytes(content),
        )
        self._files[stored.file_id] = stored
        return stored

    # ----------------------------------------------------------------- HTTP entry point

    def _note_error(self, text: str) -> None:
        """Remember one of the fake's own crashes."""
        with self._cond:
            self._errors.append(text)
            self._cond.notify_all()

    def _answer(
        self,
        http_method: str,
        target: str,
        content_type: str,
        body: bytes,
        connected: Callable[[], bool],
    ) -> _Response:
        """Route one HTTP request; never raises."""
        try:
            url = urlsplit(target)
            path = unquote(url.path)
            if match := _FILE_PATH.fullmatch(path):
                return self._download(match[1], match[2])
            match = _METHOD_PATH.fullmatch(path)
            if match is None:
                return _json_response(404, ApiError(404, "Not Found").payload())
            if match[1] != self.token:
                return self._record(match[2], {}, http_method, ApiError(401, "Unauthorized"))
            return self._call(match[2], http_method, url.query, content_type, body, connected)
        except Exception:
            self._note_error(traceback.format_exc())
            return _json_response(500, ApiError(500, "Internal Server Error").payload())

    def _download(self, token: str, file_path: str) -> _Response:
        """Serve /file/bot<token>/<file_path>."""
        if token != self.token:
            return _json_response(401, ApiError(401, "Unauthorized").payload())
        with self._cond:
            stored = next((f for f in self._files.values() if f.file_path == file_path), None)
        if stored is None:
            return _json_response(404, ApiError(404, "Not Found").payload())
        return _Response(200, stored.content, "application/octet-stream")

    def _call(
        self,
        method: str,
        http_method: str,
        query: str,
        content_type: str,
        body: bytes,
        connected: Callable[[], bool],
    ) -> _Response:
        """Parse, dispatch, record and serialise one Bot API method call."""
        name, handler = self._methods.get(method.lower(), (method, None))
        params: JSON = {}
        try:
            raw = _parse_params(query, content_type, body)
            params = {key: _coerce(key, value) for key, value in raw.items()}
            if handler is None:
                raise ApiError(404, "Not Found")
            with self._cond:
                self._before_call(name, params)
                outcome: Any = handler(_Args(params, connected))
        except ApiError as error:
            outcome = error
        return self._record(name, params, http_method, outcome)

    def _record(self, name: str, params: JSON, http_method: str, outcome: Any) -> _Response:
        """Serialise a result (or ApiError) and append the call to api.requests."""
        with self._cond:
            if isinstance(outcome, ApiError):
                response = _json_response(outcome.code, outcome.payload())
            else:
                response = _json_response(200, {"ok": True, "result": outcome})
            answer = json.loads(response.body)
            self._requests.append(
                RecordedRequest(name, params, http_method, response.status, answer)
            )
            self._cond.notify_all()
        return response

    def _before_call(self, name: str, params: JSON) -> None:
        """Injected failures first, then flood control."""
        failures = self._failures.get(name.lower())
        if failures:
            raise failures.popleft()
        self._check_flood(name, params)

    def _check_flood(self, name: str, params: JSON) -> None:
        """Answer 429 when an outgoing message would exceed the configured limits."""
        limit = self.flood_limit
        if limit is None or name == "sendChatAction" or not name.startswith(("send", "edit")):
            return
        chat_id = params.get("chat_id")
        chat = self._chats.get(chat_id) if isinstance(chat_id, int) else None
        windows: list[tuple[Any, float, int]] = [("all", 1.0, limit.per_second)]
        if chat is not None and chat.is_group:
            windows.append((chat.id, 60.0, limit.group_per_minute))
        if chat is not None and limit.chat_per_second is not None:
            windows.append((chat.id, 1.0, limit.chat_per_second))
        now = time.monotonic()
        for key, window, cap in windows:
            stamps = self._flood_stamps[(key, window)]
            while stamps and stamps[0] <= now - window:
                stamps.popleft()
            if len(stamps) >= cap:
                retry = max(1, math.ceil(stamps[0] + window - now))
                raise ApiError(429, f"Too Many Requests: retry after {retry}", retry)
        for key, window, _ in windows:
            self._flood_stamps[(key, window)].append(now)

    # ----------------------------------------------------------------- Bot API methods

    def _method_table(self) -> dict[str, Callable[[_Args], Any]]:
        """Bot API method names and their handlers."""
        return {
            "getMe": self._get_me,
            "getUpdates": self._get_updates,
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "logOut": _true,
            "close": _true,
            "sendMessage": self._send_message,
            "editMessageText": self._edit_message_text,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "deleteMessage": self._delete_message,
            "answerCallbackQuery": self._answer_callback_query,
            "answerInlineQuery": self._answer_inline_query,
            "sendChatAction": self._send_chat_action,
            "setMyCommands": self._set_my_commands,
            "getMyCommands": self._get_my_commands,
            "deleteMyCommands": self._delete_my_commands,
            "getFile": self._get_file,
            "sendDocument": self._send_document,
        }

    def _get_me(self, args: _Args) -> JSON:
        """getMe."""
        return {
            **self.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": not self.privacy_mode,
            "supports_inline_queries": False,
        }

    def _get_updates(self, args: _Args) -> list[JSON]:
        """getUpdates with offset confirmation, limit and real long polling."""
        if self._webhook_url:
            raise ApiError(409, WEBHOOK_CONFLICT)
        offset = args.opt_integer("offset") or 0
        limit = min(max(args.opt_integer("limit") or 100, 1), 100)
        timeout = min(max(args.number("timeout") or 0.0, 0.0), MAX_POLL_TIMEOUT)
        self._set_allowed_updates(args.get("allowed_updates"))
        self._poll_generation += 1
        generation = self._poll_generation
        self._cond.notify_all()
        self._apply_offset(offset)
        batch = self._long_poll(generation, limit, time.monotonic() + timeout, args.connected)
        if not args.connected():
            return []  # abandoned by its client: nobody to hand updates (or a 409) to
        if generation != self._poll_generation:
            raise ApiError(409, POLL_CONFLICT)
        for update in batch:
            update.delivered += 1
        return [copy.deepcopy(update.payload) for update in batch]

    def _long_poll(
        self, generation: int, limit: int, deadline: float, connected: Callable[[], bool]
    ) -> list[_QueuedUpdate]:
        """Wait (lock held by the caller) until updates are deliverable or the poll ends."""
        self._waiting_polls += 1
        self._cond.notify_all()
        try:
            while not (batch := self._deliverable(limit)) and not self._closed:
                remaining = deadline - time.monotonic()
                if generation != self._poll_generation or remaining <= 0 or not connected():
                    break
                self._cond.wait(remaining)
            return batch
        finally:
            self._waiting_polls -= 1

    def _set_allowed_updates(self, allowed: Any) -> None:
        """Remember allowed_updates ([] resets to all)."""
        if allowed is None:
            return
        if not isinstance(allowed, list):
            raise ApiError(400, "Bad Request: can't parse allowed_updates JSON object")
        self._allowed_updates = set(allowed) or None

    def _apply_offset(self, offset: int) -> None:
        """Confirm updates below a positive offset; keep only the last -offset if negative."""
        pending = [u for u in self._updates if not u.confirmed]
        if offset > 0:
            forgotten = [u for u in pending if u.update_id < offset]
        elif offset < 0:
            forgotten = pending[:offset]
        else:
            forgotten = []
        for update in forgotten:
            update.confirmed = True
            update.dropped = update.delivered == 0

    def _deliverable(self, limit: int) -> list[_QueuedUpdate]:
        """Unconfirmed updates the bot asked for, oldest first (others are dropped)."""
        batch = []
        for update in self._updates:
            if update.confirmed:
                continue
            if self._allowed_updates is not None and update.kind not in self._allowed_updates:
                update.confirmed = update.dropped = True
                continue
            batch.append(update)
            if len(batch) == limit:
                break
        return batch

    def _set_webhook(self, args: _Args) -> bool:
        """setWebhook (recorded, never called)."""
        url = args.string("url") or ""
        if url and not url.startswith("https://"):
            raise ApiError(400, "Bad Request: bad webhook: HTTPS url must be provided for webhook")
        self._webhook_url = url
        self._set_allowed_updates(args.get("allowed_updates"))
        if args.flag("drop_pending_updates"):
            self._drop_pending()
        return True

    def _delete_webhook(self, args: _Args) -> bool:
        """deleteWebhook."""
        self._webhook_url = ""
        if args.flag("drop_pending_updates"):
            self._drop_pending()
        return True

    def _drop_pending(self) -> None:
        """Forget every unconfirmed update."""
        for update in self._updates:
            if not update.confirmed:
                update.confirmed = True
                update.dropped = update.delivered == 0

    def _get_webhook_info(self, args: _Args) -> JSON:
        """getWebhookInfo."""
        info: JSON = {
            "url": self._webhook_url,
            "has_custom_certificate": False,
            "pending_update_count": sum(not u.confirmed for u in self._updates),
        }
        if self._allowed_updates is not None:
            info["allowed_updates"] = sorted(self._allowed_updates)
        return info

    def _target_chat(self, args: _Args) -> Chat:
        """The chat named by chat_id, which the bot must be able to write to."""
        chat_id = args.get("chat_id")
        if chat_id is None or chat_id == "":
            raise ApiError(400, "Bad Request: chat_id is empty")
        chat = self._chats.get(chat_id) if isinstance(chat_id, int) else None
        if chat is None:
            if isinstance(chat_id, int) and chat_id in self._users:
                raise ApiError(403, "Forbidden: bot can't initiate conversation with a user")
            raise ApiError(400, "Bad Request: chat not found")
        if chat.id in self._blocked:
            raise ApiError(
                403,
                "Forbidden: bot was kicked from the group chat"
                if chat.is_group
                else "Forbidden: bot was blocked by the user",
            )
        return chat

    def _reply_target(self, chat: Chat, args: _Args) -> JSON | None:
        """The message replied to via reply_parameters or reply_to_message_id."""
        reply = args.get("reply_parameters")
        if reply is not None and not isinstance(reply, dict):
            raise ApiError(400, "Bad Request: can't parse reply parameters JSON object")
        message_id = (reply or {}).get("message_id", args.get("reply_to_message_id"))
        if message_id is None:
            return None
        stored = self._messages.get((chat.id, message_id))
        if stored is not None:
            return _without_reply(stored.payload)
        if (reply or {}).get("allow_sending_without_reply") or args.flag(
            "allow_sending_without_reply"
        ):
            return None
        raise ApiError(400, "Bad Request: message to be replied not found")

    def _bot_message(self, chat: Chat, args: _Args) -> JSON:
        """The common fields of a message from the bot."""
        reply_to = self._reply_target(chat, args)
        message: JSON = {
            "message_id": self._next_message_id(chat.id),
            "from": self.bot_user,
            "chat": chat.to_dict(),
            "date": int(time.time()),
        }
        if reply_to is not None:
            message["reply_to_message"] = reply_to
        return message

    def _record_sent(self, method: str, stored: _StoredMessage, args: _Args) -> None:
        """Append to api.sent."""
        payload = stored.payload
        self._sent.append(
            SentMessage(
                method=method,
                chat_id=payload["chat"]["id"],
                message_id=payload["message_id"],
                text=stored.raw_text,
                plain_text=payload.get("text", payload.get("caption")),
                parse_mode=stored.parse_mode,
                reply_markup=args.get("reply_markup"),
                params=dict(args.params),
            )
        )

    def _send_message(self, args: _Args) -> JSON:
        """sendMessage."""
        chat = self._target_chat(args)
        text, parse_mode = args.string("text"), args.string("parse_mode")
        plain, entities = check_text(text, parse_mode, args.get("entities"))
        markup = _check_markup(args.get("reply_markup"))
        message = self._bot_message(chat, args)
        _set_content(message, "text", plain, entities, markup)
        stored = _StoredMessage(message, True, text, parse_mode)
        self._messages[(chat.id, message["message_id"])] = stored
        self._record_sent("sendMessage", stored, args)
        return copy.deepcopy(message)

    def _editable(self, args: _Args) -> _StoredMessage:
        """The bot message named by chat_id + message_id."""
        if args.get("inline_message_id") is not None:
            raise ApiError(400, "Bad Request: message to edit not found")
        chat = self._target_chat(args)
        stored = self._messages.get((chat.id, args.integer("message_id")))
        if stored is None:
            raise ApiError(400, "Bad Request: message to edit not found")
        if not stored.from_bot:
            raise ApiError(400, "Bad Request: message can't be edited")
        return stored

    def _edit_message_text(self, args: _Args) -> JSON:
        """editMessageText (omitting reply_markup removes the inline keyboard)."""
        stored = self._editable(args)
        if "text" not in stored.payload:
            raise ApiError(400, "Bad Request: there is no text in the message to edit")
        text, parse_mode = args.string("text"), args.string("parse_mode")
        plain, entities = check_text(text, parse_mode, args.get("entities"))
        markup = _inline(_check_markup(args.get("reply_markup")))
        old = stored.payload
        if (plain, entities, markup) == (
            old["text"],
            old.get("entities", []),
            old.get("reply_markup"),
        ):
            raise ApiError(400, NOT_MODIFIED)
        _set_content(old, "text", plain, entities, markup)
        old["edit_date"] = int(time.time())
        stored.raw_text, stored.parse_mode = text, parse_mode
        self._record_sent("editMessageText", stored, args)
        return copy.deepcopy(old)

    def _edit_message_reply_markup(self, args: _Args) -> JSON:
        """editMessageReplyMarkup (no reply_markup removes the keyboard)."""
        stored = self._editable(args)
        markup = _check_markup(args.get("reply_markup"))
        if markup is not None and _inline(markup) is None:
            raise ApiError(400, "Bad Request: inline keyboard expected")
        if markup == stored.payload.get("reply_markup"):
            raise ApiError(400, NOT_MODIFIED)
        if markup is None:
            stored.payload.pop("reply_markup", None)
        else:
            stored.payload["reply_markup"] = markup
        stored.payload["edit_date"] = int(time.time())
        self._record_sent("editMessageReplyMarkup", stored, args)
        return copy.deepcopy(stored.payload)

    def _delete_message(self, args: _Args) -> bool:
        """deleteMessage."""
        chat = self._target_chat(args)
        if self._messages.pop((chat.id, args.integer("message_id")), None) is None:
            raise ApiError(400, "Bad Request: message to delete not found")
        return True

    def _answer_callback_query(self, args: _Args) -> bool:
        """answerCallbackQuery (each query can be answered once)."""
        query_id = args.string("callback_query_id") or ""
        if query_id not in self._callbacks or self._callbacks[query_id] is not None:
            raise ApiError(400, QUERY_TOO_OLD)
        text = args.string("text") or ""
        if len(text) > 200:
            raise ApiError(400, "Bad Request: MESSAGE_TOO_LONG")
        self._callbacks[query_id] = dict(args.params)
        return True

    def _answer_inline_query(self, args: _Args) -> bool:
        """answerInlineQuery: each query answered once, with at most 50 valid results."""
        query_id = args.string("inline_query_id") or ""
        if query_id not in self._inline_answers or self._inline_answers[query_id] is not None:
            raise ApiError(400, QUERY_TOO_OLD)
        results = args.get("results")
        if not isinstance(results, list) or len(results) > 50:
            raise ApiError(400, "Bad Request: RESULTS_TOO_MUCH")
        ids = set()
        for result in results:
            _check_inline_result(result)
            ids.add(result["id"])
        if len(ids) != len(results):
            raise ApiError(400, "Bad Request: RESULT_ID_DUPLICATE")
        button = args.get("button")
        if button is not None and not (
            isinstance(button, dict)
            and button.get("text")
            and re.fullmatch(r"[A-Za-z0-9_-]{1,64}", str(button.get("start_parameter", "")))
        ):
            raise ApiError(400, "Bad Request: can't parse inline query results button")
        self._inline_answers[query_id] = dict(args.params)
        return True

    def _send_chat_action(self, args: _Args) -> bool:
        """sendChatAction."""
        self._target_chat(args)
        if args.string("action") not in _CHAT_ACTIONS:
            raise ApiError(400, "Bad Request: wrong parameter action in request")
        return True

    def _set_my_commands(self, args: _Args) -> bool:
        """setMyCommands."""
        commands = args.get("commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise ApiError(400, "Bad Request: can't parse commands JSON object")
        for command in commands:
            if not isinstance(command, dict) or not _BOT_COMMAND_NAME.fullmatch(
                str(command.get("command", ""))
            ):
                raise ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description", ""))) <= 256:
                raise ApiError(400, "Bad Request: command description is empty or too long")
        key = _commands_key(args.get("scope"), args.string("language_code") or "")
        self._commands[key] = [
            {"command": c["command"], "description": c["description"]} for c in commands
        ]
        return True

    def _get_my_commands(self, args: _Args) -> list[JSON]:
        """getMyCommands."""
        key = _commands_key(args.get("scope"), args.string("language_code") or "")
        return copy.deepcopy(self._commands.get(key, []))

    def _delete_my_commands(self, args: _Args) -> bool:
        """deleteMyCommands."""
        key = _commands_key(args.get("scope"), args.string("language_code") or "")
        self._commands.pop(key, None)
        return True

    def _get_file(self, args: _Args) -> JSON:
        """getFile."""
        stored = self._files.get(args.string("file_id") or "")
        if stored is None:
            raise ApiError(400, "Bad Request: invalid file_id")
        if len(stored.content) > MAX_DOWNLOAD_BYTES:
            raise ApiError(400, "Bad Request: file is too big")
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.content),
            "file_path": stored.file_path,
        }

    def _send_document(self, args: _Args) -> JSON:
        """sendDocument (upload or existing file_id)."""
        chat = self._target_chat(args)
        stored_file = self._document_argument(args)
        caption, parse_mode = args.string("caption"), args.string("parse_mode")
        plain, entities = check_text(
            caption, parse_mode, args.get("caption_entities"), caption=True
        )
        markup = _check_markup(args.get("reply_markup"))
        message = self._bot_message(chat, args)
        message["document"] = stored_file.document()
        _set_content(message, "caption", plain, entities, markup)
        stored = _StoredMessage(message, True, caption, parse_mode)
        self._messages[(chat.id, message["message_id"])] = stored
        self._record_sent("sendDocument", stored, args)
        return copy.deepcopy(message)

    def _document_argument(self, args: _Args) -> StoredFile:
        """The file in sendDocument's `document` (upload, attach:// or file_id)."""
        value = args.get("document")
        if isinstance(value, str) and value.startswith("attach://"):
            value = args.get(value.removeprefix("attach://"))
        if isinstance(value, UploadedFile):
            return self._store_file(value.content, value.filename, value.content_type)
        if isinstance(value, str) and value in self._files:
            return self._files[value]
        if value is None:
            raise ApiError(400, "Bad Request: there is no document in the request")
        raise ApiError(400, "Bad Request: wrong file identifier/HTTP URL specified")


def _check_inline_result(result: Any) -> None:
    """Validate one InlineQueryResultArticle (the only kind the bot sends)."""
    if not isinstance(result, dict) or result.get("type") != "article":
        raise ApiError(400, "Bad Request: RESULT_TYPE_INVALID")
    if not result.get("id") or len(str(result["id"]).encode()) > 64:
        raise ApiError(400, "Bad Request: RESULT_ID_INVALID")
    if not result.get("title"):
        raise ApiError(400, "Bad Request: RESULT_TITLE_EMPTY")
    content = result.get("input_message_content")
    if not isinstance(content, dict) or not content.get("message_text"):
        raise ApiError(400, "Bad Request: MESSAGE_EMPTY")
    check_text(content["message_text"], content.get("parse_mode"), content.get("entities"))
    _check_markup(result.get("reply_markup"))


def _true(args: _Args) -> bool:
    """Methods that just succeed (logOut, close)."""
    return True


def _commands_key(scope: Any, language_code: str) -> tuple[str, str]:
    """Key of a command list: its scope (default when absent) and language."""
    return json.dumps(scope or {"type": "default"}, sort_keys=True), language_code


def _without_reply(message: JSON) -> JSON:
    """A copy of a message for reply_to_message (Telegram does not nest deeper)."""
    return {k: copy.deepcopy(v) for k, v in message.items() if k != "reply_to_message"}


def _set_content(
    message: JSON, key: str, plain: str, entities: list[JSON], markup: JSON | None
) -> None:
    """Set text/caption, its entities and the inline keyboard of a message."""
    message[key] = plain
    entity_key = "entities" if key == "text" else "caption_entities"
    message.pop(entity_key, None)
    message.pop("reply_markup", None)
    if not plain:
        message.pop(key)
    if entities:
        message[entity_key] = entities
    if (inline := _inline(markup)) is not None:
        message["reply_markup"] = inline


__all__ = [
    "ApiError",
    "Chat",
    "FakeBotAPI",
    "FloodLimit",
    "HtmlParseError",
    "RecordedRequest",
    "SentMessage",
    "StoredFile",
    "UploadedFile",
    "User",
    "check_text",
    "detect_entities",
    "parse_html",
    "utf16_len",
]
