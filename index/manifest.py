"""manifest.json: what an index directory holds, readable by people and checked on open."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from index.errors import IndexCorruptError

MANIFEST = "manifest.json"
FORMAT = "newsqa-index"
FORMAT_VERSION = 1


@dataclass(frozen=True)
class Manifest:
    model: str
    dimension: int
    index_type: str
    split: dict[str, int]
    articles: int = 0
    passages: int = 0
    generation: int = 0
    created: str = ""
    updated: str = ""
    versions: dict[str, str] = field(default_factory=dict)
    vectors_sha256: str = ""  # of vectors.<generation>.faiss, as written
    format: str = FORMAT
    format_version: int = FORMAT_VERSION


def write_manifest(directory: Path, manifest: Manifest) -> None:
    """Replace the manifest atomically: a temporary file, fsync, rename."""
    path = directory / MANIFEST
    tmp = path.with_name(path.name + ".tmp")
    try:
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(asdict(manifest), f, indent=2, sort_keys=True)
            f.write("\n")
            f.flush()
            os.fsync(f.fileno())
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    os.replace(tmp, path)


def read_manifest(directory: Path) -> Manifest:
    path = directory / MANIFEST
    fix = "run `newsqa index rebuild` to write it again from the stored articles"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as e:
        raise IndexCorruptError(f"{path} is missing; {fix}") from e
    except (OSError, ValueError) as e:
        raise IndexCorruptError(f"{path} is unreadable ({e}); {fix}") from e
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise IndexCorruptError(f"{path} is not a newsqa manifest; {fix}")
    if int(data.get("format_version", 0)) > FORMAT_VERSION:
        raise IndexCorruptError(
            f"{path} was written by a newer newsqa (format {data['format_version']}); "
            "upgrade newsqa"
        )
    try:
        return Manifest(**{k: v for k, v in data.items() if k in Manifest.__dataclass_fields__})
    except TypeError as e:
        raise IndexCorruptError(f"{path} lacks a field ({e}); {fix}") from e
