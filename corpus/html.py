"""A news page's article and honest metadata: text with its tables as readable rows, the page's
canonical URL, the outlet from `og:site_name` or the domain, boilerplate values refused.

Pages carry bad tags: "Hosted" or "Copyright 2014" as the site name, a URL as the outlet, the site
name as the title. Each value is checked before it is believed, and falls back to one that is
(the domain for an outlet, the page's own heading for a title).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

_TABLE_RULE = re.compile(r"^\|(?:\s*:?-{3,}:?\s*\|)+\s*$")
_BOILERPLATE = re.compile(
    r"^(?:hosted|home(?:\s?page)?|index|default|untitled(?: document)?|news|website|web ?site"
    r"|site|page|article|blog|null|none|undefined|n/a|-+|all rights reserved"
    r"|(?:©|\(c\)|copyright\b).*|.*\ball rights reserved\b.*|\d{4}|https?:.*|www\..*)$",
    re.IGNORECASE,
)
_DOMAIN = re.compile(r"^(?:[a-z0-9-]+\.)+[a-z]{2,}$", re.IGNORECASE)
_SAVED_FROM = re.compile(
    r"<!--\s*(?:saved from url=\(\d+\)|Mirrored from)\s*(\S+?)(?:\s+by\s|\s*-->)", re.IGNORECASE
)
MAX_SOURCE_CHARS = 60


@dataclass(frozen=True)
class Page:
    """What one HTML page gives an article."""

    text: str
    title: str | None
    url: str | None
    source: str | None
    published: str | None


def extract_page(html: str, url: str | None = None) -> Page | None:
    """The article of a page, or None when it holds no text. `url` is where it was fetched."""
    import trafilatura  # heavy; only HTML needs it

    doc = trafilatura.bare_extraction(
        html, url=url, with_metadata=True, include_comments=False, include_tables=True
    )
    text = getattr(doc, "text", None) if doc is not None else None
    if not text or not text.strip():
        return None
    tags = _head_tags(html)
    page_url = _page_url(url, tags, html, getattr(doc, "url", None))
    source = outlet(tags.get("og:site_name"), getattr(doc, "sitename", None), page_url)
    lines = [line.strip() for line in readable_tables(text).splitlines() if line.strip()]
    title = honest_title(getattr(doc, "title", None), source, page_url, lines)
    if lines and title and _letters(lines[0]) == _letters(title):
        lines = lines[1:]
    return Page(
        text="\n\n".join(lines),
        title=title,
        url=page_url,
        source=source,
        published=getattr(doc, "date", None),
    )


def _head_tags(html: str) -> dict[str, str]:
    """og:site_name, og:url and the canonical link of a page, where it has them."""
    import lxml.html

    try:
        root = lxml.html.document_fromstring(html[:500_000])
    except Exception:  # lxml raises several unrelated types on garbage
        return {}
    tags: dict[str, str] = {}
    for meta in root.iter("meta"):
        key = (meta.get("property") or meta.get("name") or "").strip().lower()
        if key in ("og:site_name", "og:url") and meta.get("content"):
            tags.setdefault(key, " ".join(meta.get("content", "").split()))
    for link in root.iter("link"):
        if "canonical" in (link.get("rel") or "").lower().split() and link.get("href"):
            tags.setdefault("canonical", link.get("href", "").strip())
    for base in root.iter("base"):
        if base.get("href"):
            tags.setdefault("base", base.get("href", "").strip())
    return tags


def _absolute(candidate: str | None, base: str | None) -> str | None:
    if not candidate:
        return None
    url = urljoin(base, candidate) if base else candidate
    parts = urlsplit(url)
    return url if parts.scheme in ("http", "https") and parts.hostname else None


def _page_url(
    fetched: str | None, tags: dict[str, str], html: str, extracted: str | None
) -> str | None:
    """The page's canonical URL (on the fetched site, when it was fetched), else where it came
    from: the fetched URL, og:url, or the address a browser or mirror noted when saving it."""
    saved = _SAVED_FROM.search(html[:4096])
    base = fetched or tags.get("base") or (saved.group(1) if saved else None)
    canonical = _absolute(tags.get("canonical"), base) or _absolute(tags.get("og:url"), base)
    if fetched:
        same_site = canonical and _host(canonical) == _host(fetched)
        return canonical if same_site else fetched
    return canonical or _absolute(extracted, base) or _absolute(base, None)


def _host(url: str | None) -> str | None:
    host = urlsplit(url).hostname if url else None
    return host.removeprefix("www.") if host else None


def outlet(site_name: str | None, extracted: str | None, url: str | None) -> str | None:
    """The outlet: og:site_name, else the extractor's guess, if either reads as a name; else the
    domain of the page's URL."""
    for candidate in (site_name, extracted):
        name = " ".join((candidate or "").split()).lstrip("@")
        if not name:
            continue
        if _DOMAIN.match(name) or name.lower().startswith(("http://", "https://", "www.")):
            return _host(name if "://" in name else f"http://{name}")
        if is_boilerplate(name):
            continue
        return name
    return _host(url)


def is_boilerplate(value: str) -> bool:
    """A tag value that names no outlet or title: "Hosted", "Copyright 2014", "Home", a URL."""
    value = value.strip()
    return not value or len(value) > MAX_SOURCE_CHARS * 3 or bool(_BOILERPLATE.match(value))


def honest_title(
    title: str | None, source: str | None, url: str | None, lines: list[str]
) -> str | None:
    """The page's title unless it is boilerplate or only the outlet's name; then its first line
    when that reads as a heading, else None (the reader infers one from the text)."""
    title = " ".join((title or "").split())
    host = _host(url)
    names = {_letters(n) for n in (source, host, host.rsplit(".", 1)[0] if host else None) if n}
    if title and not is_boilerplate(title) and _letters(title) not in names:
        return title
    from corpus.clean import looks_like_title

    if lines and looks_like_title(lines[0]) and _letters(lines[0]) not in names:
        return lines[0]
    return None


def _letters(name: str) -> str:
    """The letters of a name: "Harbour Herald" and "harbourherald.example" both "harbourherald"."""
    return re.sub(r"\W+", "", name.casefold())


def readable_tables(text: str) -> str:
    """Markdown table rows as lines a sentence splitter and a citation can use.

    Under a header row, each row reads "Harbour City Rovers: Played 5, Points 13"; without one,
    its cells are joined by semicolons. The rule line and the header row itself are dropped.
    """
    out: list[str] = []
    lines = text.split("\n")
    header: list[str] | None = None
    for n, line in enumerate(lines):
        stripped = line.strip()
        if not stripped.startswith("|"):
            header = None
            out.append(line)
            continue
        if _TABLE_RULE.match(stripped):
            continue
        cells = [c.strip() for c in stripped.strip("|").split("|")]
        nxt = lines[n + 1].strip() if n + 1 < len(lines) else ""
        if header is None and _TABLE_RULE.match(nxt):
            header = cells
            continue
        out.append(table_row(cells, header))
    return "\n".join(out)


def table_row(cells: list[str], header: list[str] | None) -> str:
    """One row as text: "label: Column value, Column value" under a header, else "a; b; c"."""
    filled = [c for c in cells if c]
    if not header or len(header) != len(cells) or not cells[0]:
        return "; ".join(filled)
    pairs = [
        f"{name} {value}" if name else value
        for name, value in zip(header[1:], cells[1:], strict=True)
        if value
    ]
    return f"{cells[0]}: {', '.join(pairs)}" if pairs else cells[0]
