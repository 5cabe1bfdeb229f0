"""Paged and office documents: PDF (pypdf) and DOCX (python-docx), the formats press releases,
court filings and reports arrive in.

Text comes in reading order, page by page, each page cleaned on its own so that the offset where
every page starts is known: a citation of a PDF can say "p. 4". Title and date come from the
document's own metadata when it has them. A PDF whose pages hold no text (a scan) is refused with
a line that says so, since newsqa does no OCR.
"""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from corpus.clean import clean_text, infer_title, looks_like_title
from corpus.errors import CorpusError

_SPACES = re.compile(r"[ \t\u00a0]+")
_HYPHEN_BREAK = re.compile(r"(\w)-\n(\w)")  # "two-\nyear" across a line end: one word


@contextmanager
def _quiet_pypdf() -> Iterator[None]:
    """pypdf logs a warning for every malformed object it repairs; a reader reports one line."""
    logger = logging.getLogger("pypdf")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def pdf_pages(data: bytes, origin: str) -> tuple[list[str], dict[str, Any]]:
    """The text of each page of a PDF, and its metadata (title, date)."""
    try:
        import pypdf
    except ImportError as e:  # pragma: no cover - a dependency of newsqa
        raise CorpusError(origin, "reading PDF needs pypdf: pip install pypdf") from e
    with _quiet_pypdf():
        try:
            reader = pypdf.PdfReader(io.BytesIO(data))
            if reader.is_encrypted and not reader.decrypt(""):
                raise CorpusError(origin, "encrypted PDF (a password is needed to read it)")
            pages = [page.extract_text() or "" for page in reader.pages]
            info: Mapping[str, Any] = reader.metadata or {}
            meta = {
                "title": _meta_text(info.get("/Title")),
                "date": _pdf_date(_meta_text(info.get("/CreationDate"))),
            }
        except CorpusError:
            raise
        except Exception as e:  # pypdf raises many types on damaged files
            raise CorpusError(origin, f"unreadable PDF ({type(e).__name__}: {e})") from e
    return pages, meta


def _meta_text(value: object) -> str | None:
    text = " ".join(str(value).split()) if value is not None else ""
    return text or None


def _pdf_date(value: str | None) -> str | None:
    """'D:20240301093000+01'00'' as '2024-03-01T09:30:00'; just the date when that is all."""
    match = re.match(r"D:(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?", value or "")
    if not match:
        return value
    year, month, day, hour, minute, second = match.groups()
    if not (month and day):
        return None
    date = f"{year}-{month}-{day}"
    return f"{date}T{hour}:{minute or '00'}:{second or '00'}" if hour else date


def page_text(raw: str) -> str:
    """One page's extracted text, cleaned: a word hyphenated at a line end made whole again
    (the hyphen kept: it may belong to the word), spaces tidied."""
    text = _HYPHEN_BREAK.sub(r"\1-\2", raw.replace("\r\n", "\n").replace("\r", "\n"))
    return clean_text("\n".join(_SPACES.sub(" ", line).strip() for line in text.split("\n")))


def join_pages(pages: list[str]) -> tuple[str, tuple[int, ...]]:
    """The pages' texts one after another, a blank line between, and where each page starts.

    A page without text keeps its number: its start is where the next page's text begins."""
    text = ""
    starts: list[int] = []
    for page in pages:
        if text and page:
            text += "\n\n"
        starts.append(len(text))
        text += page
    return text, tuple(starts)


def document_title(meta_title: str | None, text: str) -> str:
    """The metadata title unless it is a file name or a placeholder; else the first line when it
    reads as a heading, else a title inferred from the first sentence."""
    title = meta_title or ""
    placeholder = re.fullmatch(
        r"(?i)(?:untitled|microsoft word|document\d*|.*\.(?:docx?|pdf|rtf|odt|indd|qxd))(?:\s.*)?",
        title,
    )
    if title and not placeholder:
        return title
    first = text.split("\n", 1)[0].strip()
    return first if looks_like_title(first) else infer_title(text)


def docx_paragraphs(data: bytes, origin: str) -> tuple[list[str], dict[str, Any]]:
    """The paragraphs of a DOCX (tables as rows of their own), and its metadata."""
    try:
        import docx
    except ImportError as e:  # pragma: no cover - a dependency of newsqa
        raise CorpusError(origin, "reading DOCX needs python-docx: pip install python-docx") from e
    from corpus.html import table_row

    try:
        document = docx.Document(io.BytesIO(data))
    except Exception as e:  # a damaged zip, or not a Word document at all
        raise CorpusError(origin, f"unreadable DOCX ({type(e).__name__}: {e})") from e
    lines: list[str] = []
    for block in document.iter_inner_content():
        if isinstance(block, docx.table.Table):
            rows = [[" ".join(cell.text.split()) for cell in row.cells] for row in block.rows]
            header = rows[0] if len(rows) > 1 else None
            lines += [table_row(row, header) for row in rows[1 if header else 0 :]]
        else:
            lines.append(" ".join(block.text.split()))
    props = document.core_properties
    created = props.created
    meta = {
        "title": _meta_text(props.title),
        "date": created.isoformat() if created is not None else None,
    }
    return [line for line in lines if line], meta
