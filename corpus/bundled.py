"""The bundled default corpus: the articles a fresh install answers questions about."""

from __future__ import annotations

import dataclasses
import json
from importlib import resources
from pathlib import Path

from corpus.readers import ReadLimits, read_file
from corpus.types import Article

BUNDLED_PREFIX = "bundled:"


def bundled_dir() -> Path:
    return Path(str(resources.files("corpus") / "bundled"))


def bundled_articles() -> list[Article]:
    """The bundled articles, cleaned, with the metadata `sources.json` records for them."""
    folder = bundled_dir()
    known = json.loads((folder / "sources.json").read_text(encoding="utf-8"))
    articles = []
    for path in sorted(folder.glob("*.txt")):
        meta = known.get(path.name, {})
        extra = {k: v for k, v in meta.items() if k in ("source", "url", "published")}
        for article in read_file(path, ReadLimits()).articles:
            origin = BUNDLED_PREFIX + path.name
            articles.append(dataclasses.replace(article, origin=origin, **extra))
    return articles
