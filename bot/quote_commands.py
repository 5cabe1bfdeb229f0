"""`newsqa quotes`: who said what in the archive."""

from __future__ import annotations

import argparse
import json

from bot.render import byline, where
from bot.services import open_archive
from corpus.quotes import same_person, speaker_key


def quotes(args: argparse.Namespace) -> int:
    with open_archive(args.settings, check_model=False) as archive:
        if args.speaker:
            names = [n for n, _ in archive.store.speakers() if same_person(n, args.speaker)]
            found = archive.store.quotes([speaker_key(n) for n in names])
        else:
            found = archive.store.quotes()
    for quote, info in found:
        if args.json:
            record = {
                "speaker": quote.speaker,
                "quote": quote.text,
                "cue": quote.cue,
                "article_id": info.id,
                "title": info.title,
                "source": info.source,
                "published": info.published,
                "url": info.url,
                "origin": info.origin,
            }
            print(json.dumps(record, ensure_ascii=False))
        else:
            print(f"{quote.speaker}: “{quote.text}”")
            print(f"    {byline(info)} · {where(info)}")
    if not found and not args.json:
        print(f"no quotes from {args.speaker}" if args.speaker else "no quotes in the archive")
    return 0
