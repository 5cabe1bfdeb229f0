"""Feeds, timelines, follows and alerts as Telegram HTML. Pure functions, no Telegram types."""

from __future__ import annotations

from collections.abc import Sequence

from bot.alerts import Alert
from bot.telegram.render import escape, link
from bot.timeline import Timeline, TimelineEntry
from bot.watch import PollResult, describe_every
from corpus.types import ArticleInfo
from index.feeds import Feed, iso
from index.follows import Follow

ADDFEED_USAGE = "Send /addfeed followed by a feed link, and optionally how often: /addfeed "
ADDFEED_USAGE += "https://example.com/feed.xml 30m"
REMOVEFEED_USAGE = "Send /removefeed followed by the feed link, as /feeds lists it."
TIMELINE_USAGE = "Name a topic after the command, for example: /timeline sanctions North Korea"
FOLLOW_USAGE = "Name a topic after the command, for example: /follow North Korea sanctions"
UNFOLLOW_USAGE = "Send /unfollow with the number /following shows, for example: /unfollow 1"


def dated_byline(article: ArticleInfo) -> str:
    """'Title — Outlet, 2024-06-03', the title linked to the article."""
    details = ", ".join(x for x in (article.source, (article.published or "")[:10]) if x)
    tail = f" — {escape(details)}" if details else ""
    return f"{link(escape(article.title), article.url)}{tail}"


def feeds_html(feeds: Sequence[Feed]) -> str:
    if not feeds:
        return "No feeds yet. Add one with /addfeed <i>link</i>."
    lines = ["<b>Feeds</b>"]
    for feed in feeds:
        status = f"FAILING ({feed.failures} failures in a row)" if feed.failing else feed.status
        lines.append(
            f"\n{escape(feed.url)}\nevery {describe_every(feed.every)} · {escape(status)} · "
            f"{feed.articles} articles · last fetch {escape(feed.last_fetch or 'never')} · "
            f"next {escape(iso(feed.next_run))}"
        )
        if feed.last_error:
            lines.append(f"<i>last error: {escape(feed.last_error)}</i>")
    return "\n".join(lines)


def failing_html(result: PollResult) -> str:
    """What admins are told once when a feed starts failing."""
    return (
        f"The feed {escape(result.url)} keeps failing: {escape(result.error or 'unknown error')}. "
        f"I will try again at {escape(iso(result.next_run))}, less and less often; "
        f"/removefeed {escape(result.url)} stops it."
    )


def feed_added_html(feed: Feed) -> str:
    return (
        f"Following {escape(feed.url)} every {describe_every(feed.every)}. "
        "New articles arrive as it publishes them."
    )


def feed_removed_html(feed: Feed) -> str:
    return f"Stopped following {escape(feed.url)}; its {feed.articles} articles stay."


def _entry(entry: TimelineEntry) -> str:
    head = f"<b>{escape(entry.date or 'undated')}</b> · {dated_byline(entry.article)}"
    quote = escape(" ".join(entry.excerpt.text.split()))
    text = f"{head}\n<blockquote>{quote}</blockquote>"
    if entry.also:
        names = ", ".join(escape(a.source or a.title) for a in entry.also)
        text += f"\n<i>also reported by {names}</i>"
    return text


def timeline_paragraphs(timeline: Timeline, page: int) -> list[str]:
    """One page of a timeline: a heading, then one dated, cited excerpt per article."""
    if not timeline.entries:
        return [f"The archive holds nothing about “{escape(timeline.topic)}”."]
    total = len(timeline.entries)
    head = (
        f"<b>Timeline: {escape(timeline.topic)}</b>\n{total} article{'s' if total != 1 else ''}"
        f", oldest first (page {page} of {timeline.pages})"
    )
    return [head, *(_entry(e) for e in timeline.page(page))]


def following_html(follows: Sequence[Follow]) -> str:
    if not follows:
        return "You follow no topics. /follow <i>topic</i> sends you new articles about it."
    lines = ["<b>You follow</b>"]
    lines += [f"{n}. {escape(f.topic)}" for n, f in enumerate(follows, start=1)]
    lines.append("\n/unfollow <i>number</i> stops one.")
    return "\n".join(lines)


def followed_html(topic: str) -> str:
    return (
        f"Following “{escape(topic)}”. I will send you new articles that mention every word of "
        "it. /following lists your topics."
    )


def unfollowed_html(topic: str) -> str:
    return f"Stopped following “{escape(topic)}”."


def alert_paragraphs(batch: Sequence[Alert]) -> list[str]:
    """New articles about followed topics: one excerpt each, with its dated, linked source."""
    topics = list(dict.fromkeys(a.pending.topic for a in batch))
    head = "<b>New on " + ", ".join(f"“{escape(t)}”" for t in topics) + "</b>"
    return [head] + [
        f"<blockquote>{escape(' '.join(a.excerpt.text.split()))}</blockquote>\n"
        f"{dated_byline(a.article)}"
        for a in batch
    ]


def inline_html(excerpt: str, article: ArticleInfo) -> str:
    """What an inline result puts in the chat: the excerpt and its linked source."""
    return f"<blockquote>{escape(excerpt)}</blockquote>\n{dated_byline(article)}"
