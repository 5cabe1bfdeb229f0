"""`newsqa timeline TOPIC`: the story in time order, one dated, cited excerpt per article."""

from __future__ import annotations

import argparse
import json
import shlex
from dataclasses import asdict

from bot.commands import one_line, parse_filters
from bot.render import byline, where
from bot.services import open_archive
from bot.timeline import Timeline, TimelineEntry, build_timeline
from corpus.errors import NewsqaError
from index.topics import TopicError


def timeline(args: argparse.Namespace) -> int:
    filters = parse_filters(args)
    if args.page < 1:
        raise NewsqaError("--page counts from 1")
    with open_archive(args.settings, check_model=False) as archive:
        try:
            found = build_timeline(archive, args.topic, filters)
        except TopicError as e:
            raise NewsqaError(str(e)) from None
    if args.json:
        for entry in found.page(args.page):
            print(json.dumps(entry_json(entry), ensure_ascii=False))
        return 0
    print(timeline_text(found, args.page))
    return 0


def entry_json(entry: TimelineEntry) -> dict[str, object]:
    return {
        "date": entry.date,
        "excerpt": entry.excerpt.text,
        "passage_id": entry.passage.id,
        "article": asdict(entry.article),
        "also": [asdict(a) for a in entry.also],
    }


def timeline_text(found: Timeline, page: int) -> str:
    """The page as the terminal shows it."""
    if not found.entries:
        return f"The archive holds nothing about {one_line(found.topic)!r}."
    total = len(found.entries)
    lines = [
        f"Timeline of {one_line(found.topic)!r}: {total} article{'s' if total != 1 else ''} "
        f"(page {page} of {found.pages})",
        "",
    ]
    for entry in found.page(page):
        lines.append(f"{entry.date or 'undated':<10}  {one_line(byline(entry.article))}")
        lines.append(f"            {' '.join(entry.excerpt.text.split())}")
        lines.append(f"            {one_line(where(entry.article))}")
        if entry.also:
            names = ", ".join(one_line(a.source or where(a)) for a in entry.also)
            lines.append(f"            also reported by {names}")
        lines.append("")
    if page < found.pages:
        lines.append(f"more: newsqa timeline {shlex.quote(found.topic)} --page {page + 1}")
    elif page > found.pages:
        lines.append(f"there are {found.pages} pages")
    return "\n".join(lines).rstrip("\n")
