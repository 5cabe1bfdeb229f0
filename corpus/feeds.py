"""The items of an RSS/Atom feed, as a poller needs them: what each one is, whether it carries the
whole article or only a summary, and a fingerprint that changes when the publisher edits it.

`read_item` turns one item into an `Article`: from its own text, or, when it carries only a
summary, from the linked page (fetched with the same limits and address checks as any link).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from corpus.dates import normalize_date
from corpus.errors import CorpusError
from corpus.ids import content_hash, normalize_url
from corpus.readers import ReadLimits, html_fragment_text, make_article, read_url
from corpus.types import Article

# A feed item whose only text is a summary shorter than this is a teaser: the article is on the
# linked page. Feeds that carry whole articles in <description> run to thousands of characters.
SUMMARY_CHARS = 1000


@dataclass(frozen=True)
class FeedItem:
    """One entry of a feed, before it becomes an article."""

    key: str  # how the feed names the item from one fetch to the next (its link, else its guid)
    link: str | None
    title: str | None
    published: str | None  # ISO 8601
    html: str  # the entry's content, else its summary
    summary_only: bool  # the article itself is on the linked page
    digest: str  # changes whenever the publisher edits the item
    outlet: str | None
    origin: str


def feed_items(data: bytes, origin: str) -> list[FeedItem]:
    """The items of a feed document; CorpusError when it is not a feed."""
    import feedparser

    if not data.strip():
        raise CorpusError(origin, "empty feed")
    feed = feedparser.parse(data)
    if not feed.entries and feed.get("version") and not feed.get("bozo"):
        return []  # a well-formed feed with nothing in it yet
    if not feed.entries:
        reason = getattr(feed, "bozo_exception", None)
        detail = f" ({str(reason).splitlines()[0]})" if reason else ""
        raise CorpusError(origin, f"not a valid RSS/Atom feed, no entries{detail}")
    outlet = feed.feed.get("title")
    items = []
    for number, entry in enumerate(feed.entries, start=1):
        link = entry.get("link") or None
        contents = [c.get("value", "") for c in entry.get("content") or []]
        content = max(contents, key=len, default="")
        summary = entry.get("summary", "") or ""
        html = content or summary
        published = normalize_date(
            entry.get("published_parsed") or dict.get(entry, "updated_parsed")
        )
        key = _key(link) or entry.get("id") or f"{origin}#{number}"
        items.append(
            FeedItem(
                key=key,
                link=link,
                title=entry.get("title"),
                published=published,
                html=html,
                summary_only=bool(link)
                and not content
                and len(html_fragment_text(summary).strip()) < SUMMARY_CHARS,
                digest=content_hash(
                    entry.get("title"), html, link, published, dict.get(entry, "updated")
                ),  # fmt: skip
                outlet=outlet,
                origin=link or f"{origin}#{number}",
            )
        )
    return items


def _key(link: str | None) -> str | None:
    if not link:
        return None
    try:
        return normalize_url(link)
    except ValueError:
        return link


def read_item(item: FeedItem, limits: ReadLimits) -> Article:
    """The item as an article: the linked page when the item carries only a summary (with the
    feed's title and outlet, and its date where the page has none), else the item's own text."""
    if item.summary_only and item.link:
        result = read_url(item.link, limits)
        pages = [a for a in result.articles if a.url]
        if not pages:
            reason = result.failures[0] if result.failures else "no article on the page"
            raise CorpusError(item.link, reason)
        page = pages[0]
        return dataclasses.replace(
            page,
            title=" ".join((item.title or "").split()) or page.title,
            source=item.outlet or page.source,
            published=page.published or item.published,
        )
    return make_article(
        text=html_fragment_text(item.html),
        origin=item.origin,
        limits=limits,
        title=item.title,
        url=item.link,
        source=item.outlet,
        published=item.published,
    )


def summary_article(item: FeedItem, limits: ReadLimits) -> Article:
    """The item's own text even when it is only a summary (when the linked page cannot be read)."""
    return read_item(dataclasses.replace(item, summary_only=False), limits)
