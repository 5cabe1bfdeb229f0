"""Stable article ids: from the article's URL when it has one, else from its normalised text."""

from __future__ import annotations

import hashlib
import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

_TRACKING = re.compile(r"^(?:utm_\w+|fbclid|gclid|mc_cid|mc_eid|ocid|cmpid|smid|ref|src)$", re.I)
_SPACE = re.compile(r"\s+")


def normalize_url(url: str) -> str:
    """The URL an article is known by: no fragment, no tracking parameters, no default port."""
    parts = urlsplit(url.strip())
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"  # an IPv6 literal
    if parts.port and (parts.scheme, parts.port) not in (("http", 80), ("https", 443)):
        host = f"{host}:{parts.port}"
    # blank values kept: "/story.php?12345" and "/story.php?67890" are different articles
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    query = urlencode([(k, v) for k, v in pairs if not _TRACKING.match(k)])
    path = parts.path.rstrip("/") or "/"
    return urlunsplit((parts.scheme.lower(), host, path, query, ""))


def normalize_text(text: str) -> str:
    return _SPACE.sub(" ", text).strip().casefold()


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()[:16]


def article_id(url: str | None, text: str) -> str:
    """16 hex digits; the same article read twice, from the same URL or text, gets the same id."""
    if url:
        return _digest("url:" + normalize_url(url))
    return _digest("text:" + normalize_text(text))


def content_hash(*fields: str | None) -> str:
    """Fingerprint of everything stored for an article, to tell unchanged from updated."""
    return hashlib.sha256("\x1f".join(f or "" for f in fields).encode("utf-8")).hexdigest()
