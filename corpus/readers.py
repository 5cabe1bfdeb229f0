"""Readers: files, directories, feeds and URLs in, cleaned `Article`s out.

A reader is chosen by extension, else by sniffing the content. Every failure is a `CorpusError`
whose message names the input and the reason in one line; one bad input (or one bad line of a JSONL
file, or one empty feed entry) never stops the others.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import urlsplit

import charset_normalizer
import yaml

from corpus.clean import clean_text, infer_title, split_title
from corpus.dates import normalize_date
from corpus.documents import document_title, docx_paragraphs, join_pages, page_text, pdf_pages
from corpus.errors import CorpusError, FetchError
from corpus.fetch import Fetched, FetchPolicy, fetch, human_size
from corpus.html import Page, extract_page
from corpus.ids import article_id, normalize_url
from corpus.mail import email_page, mhtml_page
from corpus.types import Article, ReadFailure, ReadResult

TEXT, MARKDOWN, HTML, JSONL, FEED = "text", "markdown", "html", "jsonl", "feed"
PDF, DOCX, EMAIL, MHTML = "pdf", "docx", "email", "mhtml"
EXTENSIONS = {
    ".txt": TEXT, ".text": TEXT,
    ".md": MARKDOWN, ".markdown": MARKDOWN,
    ".html": HTML, ".htm": HTML, ".xhtml": HTML,
    ".jsonl": JSONL, ".ndjson": JSONL,
    ".xml": FEED, ".rss": FEED, ".atom": FEED,
    ".pdf": PDF, ".docx": DOCX,
    ".eml": EMAIL, ".mht": MHTML, ".mhtml": MHTML,
}  # fmt: skip
_ID_OK = re.compile(r"^[\w.:@/-]{1,128}$")
FILE_LIMIT_SETTING = "max_file_mb (NEWSQA_MAX_FILE_MB)"
ARTICLE_LIMIT_SETTING = "max_article_chars (NEWSQA_MAX_ARTICLE_CHARS)"


@dataclass(frozen=True)
class ReadLimits:
    """Bounds on what one input may bring in: one file or download, one line of a JSONL export,
    one article's text. A collection (a JSONL export, a directory) has no bound of its own."""

    max_file_bytes: int = 20_000_000
    max_article_chars: int = 2_000_000
    allow_private_urls: bool = True
    fetch_policy: FetchPolicy | None = None  # what the private-address guard lets through
    fetch_deadline: float = 60.0  # seconds for a whole download


def is_url(item: str) -> bool:
    return item.startswith(("http://", "https://"))


def stream_input(item: str, limits: ReadLimits | None = None) -> Iterator[Article | ReadFailure]:
    """The articles of one command-line input (a URL, a file or a directory) as they are read,
    and a failure for each part that could not be; a JSONL export is read one line at a time."""
    limits = limits or ReadLimits()
    try:
        if is_url(item):
            yield from _results(read_url(item, limits))
            return
        path = Path(item).expanduser()
        if path.is_dir():
            yield from stream_directory(path, limits)
        else:
            yield from stream_file(path, limits)
    except CorpusError as e:
        yield ReadFailure(str(e))


def read_input(item: str, limits: ReadLimits | None = None) -> ReadResult:
    """Read one command-line input whole: a URL, a file or a directory."""
    result = ReadResult()
    for read in stream_input(item, limits):
        if isinstance(read, ReadFailure):
            result.failures.append(read.message)
        else:
            result.articles.append(read)
    return result


def read_inputs(items: Iterable[str], limits: ReadLimits | None = None) -> Iterator[ReadResult]:
    for item in items:
        yield read_input(item, limits)


def count_articles(item: str) -> int | None:
    """About how many articles an input holds, cheaply (a JSONL file's lines are counted, one
    article per other file), for progress; None when only reading can tell (a URL, a feed)."""
    if is_url(item):
        return None
    path = Path(item).expanduser()
    files = list(directory_files(path)) if path.is_dir() else [path]
    total = 0
    for file in files:
        kind = EXTENSIONS.get(file.suffix.lower())
        if kind == FEED:
            return None
        total += _count_lines(file) if kind == JSONL else 1
    return total


def _count_lines(path: Path) -> int:
    lines, last = 0, b"\n"
    try:
        with path.open("rb") as f:
            while chunk := f.read(1 << 20):
                lines += chunk.count(b"\n")
                last = chunk[-1:]
    except OSError:
        return 1  # reading it will say why
    return lines + (last != b"\n")


def _results(result: ReadResult) -> Iterator[Article | ReadFailure]:
    yield from result.articles
    yield from (ReadFailure(message) for message in result.failures)


def directory_files(root: Path) -> Iterator[Path]:
    """Every file under `root`, recursively, in name order; hidden entries skipped."""
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if any(part.startswith(".") for part in relative.parts) or not path.is_file():
            continue
        yield path


def stream_directory(root: Path, limits: ReadLimits) -> Iterator[Article | ReadFailure]:
    """The articles of every supported file under `root`, one file at a time."""
    for path in directory_files(root):
        if path.suffix.lower() not in EXTENSIONS:
            yield ReadFailure(
                f"{path_text(path)}: unsupported file type {path.suffix or '(none)'!r}"
            )
            continue
        try:
            yield from stream_file(path, limits)
        except CorpusError as e:
            yield ReadFailure(str(e))


def read_directory(root: Path, limits: ReadLimits) -> ReadResult:
    """Every supported file under `root`, read whole (see `stream_directory`)."""
    result = ReadResult()
    for read in stream_directory(root, limits):
        if isinstance(read, ReadFailure):
            result.failures.append(read.message)
        else:
            result.articles.append(read)
    return result


def path_text(path: Path) -> str:
    """A path as valid text: bytes of a name that are not UTF-8 shown as \\xNN escapes.

    Python keeps such bytes as lone surrogates, which SQLite, hashing and printing all refuse."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def _origin(path: Path) -> str:
    return path_text(path.resolve() if path.exists() else path)


def _open(path: Path, origin: str) -> BinaryIO:
    try:
        return path.open("rb")
    except FileNotFoundError as e:
        raise CorpusError(origin, "no such file or directory") from e
    except IsADirectoryError as e:
        raise CorpusError(origin, "is a directory") from e
    except OSError as e:
        raise CorpusError(origin, f"cannot read ({e.strerror or e})") from e


def stream_file(path: Path, limits: ReadLimits) -> Iterator[Article | ReadFailure]:
    """The articles of one file: a JSONL export line by line, any other file read whole."""
    origin = _origin(path)
    kind = EXTENSIONS.get(path.suffix.lower())
    if kind is None:
        with _open(path, origin) as f:
            kind = sniff(_read(f, origin, 1024))
    if kind == JSONL:
        yield from _stream_jsonl(path, origin, limits)
    else:
        yield from _results(read_file(path, limits, kind))


def read_file(path: Path, limits: ReadLimits, kind: str | None = None) -> ReadResult:
    """One file read whole, if it holds at most `max_file_bytes`."""
    origin = _origin(path)
    with _open(path, origin) as f:
        # read one byte past the limit: a device or pipe has no size to check beforehand
        data = _read(f, origin, limits.max_file_bytes + 1)
    if len(data) > limits.max_file_bytes:
        size, limit = max(len(data), path.stat().st_size), limits.max_file_bytes
        raise CorpusError(origin, f"too large ({human_size(size)}; limit {human_size(limit)}, "
                                  f"set by {FILE_LIMIT_SETTING})")  # fmt: skip
    kind = kind or EXTENSIONS.get(path.suffix.lower()) or sniff(data)
    return parse(kind, data, origin=origin, url=None, limits=limits)


def _read(f: BinaryIO, origin: str, size: int) -> bytes:
    try:
        return f.read(size)
    except IsADirectoryError as e:
        raise CorpusError(origin, "is a directory") from e
    except OSError as e:
        raise CorpusError(origin, f"cannot read ({e.strerror or e})") from e


def read_url(url: str, limits: ReadLimits) -> ReadResult:
    try:
        fetched = fetch(
            url,
            max_bytes=limits.max_file_bytes,
            allow_private=limits.allow_private_urls,
            policy=limits.fetch_policy,
            deadline=limits.fetch_deadline,
        )
    except FetchError as e:
        if not e.reason.startswith("larger than "):
            raise
        raise FetchError(e.origin, f"{e.reason}, set by {FILE_LIMIT_SETTING}") from e
    return parse(kind_of_response(fetched), fetched.body, origin=fetched.url, url=fetched.url,
                 limits=limits)  # fmt: skip


def kind_of_response(fetched: Fetched) -> str:
    content_type = fetched.content_type
    if "html" in content_type:
        return HTML
    if any(word in content_type for word in ("rss", "atom", "xml")):
        return FEED
    if content_type == "text/plain":
        return TEXT
    return sniff(fetched.body)


def sniff(data: bytes) -> str:
    """Guess a format from the first bytes of content with no telling extension."""
    if data.startswith(b"%PDF-"):
        return PDF
    if data.startswith(b"PK\x03\x04") and b"word/" in data[:4096]:
        return DOCX
    head = data[:1024].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if head.startswith(b"<?xml") or head.startswith((b"<rss", b"<feed", b"<rdf")):
        return HTML if b"<html" in head else FEED
    if head.startswith((b"<!doctype html", b"<html")) or b"<body" in head:
        return HTML
    if head.startswith(b"{"):
        return JSONL
    return TEXT


def parse(
    kind: str, data: bytes, *, origin: str, url: str | None, limits: ReadLimits
) -> ReadResult:
    parsers: dict[str, Callable[..., ReadResult]] = {
        TEXT: _parse_text, MARKDOWN: _parse_markdown, HTML: _parse_html,
        JSONL: _parse_jsonl, FEED: _parse_feed, PDF: _parse_pdf, DOCX: _parse_docx,
        EMAIL: _parse_email, MHTML: _parse_mhtml,
    }  # fmt: skip
    try:
        return parsers[kind](data, origin=origin, url=url, limits=limits)
    except RecursionError:  # JSON or YAML nested thousands deep
        raise CorpusError(origin, "nested too deeply to read") from None


def decode(data: bytes, origin: str) -> str:
    """Text of a file in UTF-8, UTF-16 or a legacy encoding; CorpusError for binary or empty."""
    if not data.strip():
        raise CorpusError(origin, "empty file")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as e:
            raise CorpusError(origin, "invalid UTF-16 text") from e
    if data.startswith(b"%PDF"):
        raise CorpusError(origin, "a PDF file, not text (name it .pdf to read it as a PDF)")
    if b"\x00" in data[:8192]:
        raise CorpusError(origin, "binary file, not text")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    text = _western(data)
    if text is None:
        guess = charset_normalizer.from_bytes(data).best()
        text = str(guess) if guess is not None else data.decode("cp1252", errors="replace")
    if _has_controls(text):
        raise CorpusError(origin, "binary file, not text in any known encoding")
    return text


_WESTERN_LETTERS = frozenset("àáâãäåæçèéêëìíîïñòóôõöøùúûüÿßœÀÁÂÃÄÅÆÇÈÉÊËÌÍÎÏÑÒÓÔÕÖØÙÚÛÜŒ")
_WESTERN_MARKS = frozenset("\u00a0“”‘’‚„–—…•·€£¥¢©®™°±×¿¡«»§¶½¼¾")


def _western(data: bytes) -> str | None:
    """The text as Windows-1252, the commonest legacy encoding of news, if it reads as Western."""
    # charset_normalizer guesses short Western text wrong ("Café" as UTF-16, curly quotes as
    # Cyrillic); another legacy encoding read as cp1252 shows letters outside the set, or too many.
    try:
        text = data.decode("cp1252")
    except UnicodeDecodeError:
        return None
    accented = 0
    for ch in text:
        if ch in _WESTERN_LETTERS:
            accented += 1
        elif ord(ch) > 0x7F and ch not in _WESTERN_MARKS:
            return None
    letters = sum(1 for ch in text if ch.isalpha())
    return text if accented * 4 <= letters else None


def _has_controls(text: str) -> bool:
    sample = text[:20000]
    controls = sum(
        1 for ch in sample if (ord(ch) < 32 and ch not in "\t\n\r\f") or 0x7F <= ord(ch) < 0xA0
    )
    return controls > max(2, len(sample) // 200)


def make_article(
    *,
    text: str,
    origin: str,
    limits: ReadLimits,
    title: str | None = None,
    url: str | None = None,
    source: str | None = None,
    published: object = None,
    given_id: str | None = None,
    clean: bool = True,
) -> Article:
    """Clean the text, infer what is missing, check the bounds, and give the article its id."""
    text = _valid(text)
    title, url, source, given_id = (x and _valid(x) for x in (title, url, source, given_id))
    if clean:
        text = clean_text(text)
    if len(text) > limits.max_article_chars:
        raise CorpusError(origin, f"article too long ({len(text):,} characters; limit "
                                  f"{limits.max_article_chars:,}, set by "
                                  f"{ARTICLE_LIMIT_SETTING})")  # fmt: skip
    title = " ".join((title or "").split())
    if not title:
        title, text = split_title(text)
    if not text.strip():
        raise CorpusError(origin, "no article text")
    if url:
        try:
            normalize_url(url)  # the id is made of it
        except ValueError as e:
            raise CorpusError(origin, f"not a valid URL ({e}): {url}") from e
    if not source and url:
        source = _host(url)
    ident = given_id if given_id and _ID_OK.match(given_id) else None
    if given_id and not ident:
        ident = article_id(None, f"id:{given_id}")
    return Article(
        id=ident or article_id(url, text),
        title=title or infer_title(text),
        text=text,
        url=url or None,
        source=(source or "").strip() or None,
        published=normalize_date(published),
        origin=origin,
    )


_SURROGATE = re.compile("[\ud800-\udfff]")


def _valid(value: str) -> str:
    """`value` with lone surrogates (a JSON "\\udc80" escape) as U+FFFD: text must encode."""
    return _SURROGATE.sub("\ufffd", value)


def _host(url: str) -> str | None:
    host = urlsplit(url).hostname
    return host.removeprefix("www.") if host else None


def _parse_text(data: bytes, *, origin: str, url: str | None, limits: ReadLimits) -> ReadResult:
    text = decode(data, origin)
    return ReadResult(articles=[make_article(text=text, origin=origin, url=url, limits=limits)])


_FRONT_MATTER = re.compile(r"\A---[ \t]*\n(.*?)\n(?:---|\.\.\.)[ \t]*(?:\n|\Z)", re.S)
_MD_HEADING = re.compile(r"^#{1,6}[ \t]+(.+?)[ \t#]*$", re.M)
_MD_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_MD_EMPHASIS = re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1")


def _parse_markdown(data: bytes, *, origin: str, url: str | None, limits: ReadLimits) -> ReadResult:
    text = decode(data, origin).replace("\r\n", "\n")  # front matter fences end in "\n"
    meta: dict[str, Any] = {}
    match = _FRONT_MATTER.match(text)
    if match:
        try:
            loaded = yaml.safe_load(match.group(1))
        except yaml.YAMLError as e:
            raise CorpusError(origin, f"bad front matter ({str(e).splitlines()[0]})") from e
        if isinstance(loaded, dict):
            meta = {str(k).lower(): v for k, v in loaded.items()}
        text = text[match.end() :]
    title = str(meta.get("title") or "") or None
    heading = _MD_HEADING.search(text)
    if heading and not title and not text[: heading.start()].strip():
        title = heading.group(1)
        text = text[heading.end() :]
    body = _MD_EMPHASIS.sub(r"\2", _MD_LINK.sub(r"\1", _MD_HEADING.sub(r"\1", text)))
    article = make_article(
        text=body,
        origin=origin,
        limits=limits,
        title=title,
        url=str(meta.get("url") or meta.get("link") or url or "") or None,
        source=str(meta.get("source") or meta.get("outlet") or "") or None,
        published=meta.get("published") or meta.get("date"),
        given_id=str(meta["id"]) if meta.get("id") else None,
    )
    return ReadResult(articles=[article])


def _parse_html(data: bytes, *, origin: str, url: str | None, limits: ReadLimits) -> ReadResult:
    page = extract_page(decode(data, origin), url)
    if page is None:
        raise CorpusError(origin, "no article text found in the HTML")
    return _page_article(page, origin, limits)


def _parse_pdf(data: bytes, *, origin: str, url: str | None, limits: ReadLimits) -> ReadResult:
    pages, meta = pdf_pages(data, origin)
    text, starts = join_pages([page_text(page) for page in pages])
    if not text.strip():
        raise CorpusError(origin, f"no text in the PDF's {len(pages)} page(s): it looks scanned "
                                  "(images of pages); run it through OCR first (for example "
                                  "ocrmypdf), then ingest the result")  # fmt: skip
    title = document_title(meta["title"], text)
    first, _, rest = text.partition("\n")
    if first.strip() == title and rest.strip():  # the title page's heading is the title
        body = rest.lstrip("\n")
        cut = len(text) - len(body)
        text, starts = body, tuple(max(0, s - cut) for s in starts)
    article = make_article(text=text, origin=origin, limits=limits, title=title, url=url,
                           published=meta["date"], clean=False)  # fmt: skip
    return ReadResult(articles=[dataclasses.replace(article, pages=starts)])


def _parse_docx(data: bytes, *, origin: str, url: str | None, limits: ReadLimits) -> ReadResult:
    lines, meta = docx_paragraphs(data, origin)
    text = clean_text("\n\n".join(lines))
    if not text.strip():
        raise CorpusError(origin, "no text in the DOCX")
    title = document_title(meta["title"], text)
    first, _, rest = text.partition("\n")
    if first.strip() == title and rest.strip():
        text = rest.strip("\n")
    article = make_article(text=text, origin=origin, limits=limits, title=title, url=url,
                           published=meta["date"])  # fmt: skip
    return ReadResult(articles=[article])


def _parse_email(data: bytes, *, origin: str, url: str | None, limits: ReadLimits) -> ReadResult:
    return _page_article(email_page(data, origin), origin, limits)


def _parse_mhtml(data: bytes, *, origin: str, url: str | None, limits: ReadLimits) -> ReadResult:
    return _page_article(mhtml_page(data, origin), origin, limits)


def _page_article(page: Page, origin: str, limits: ReadLimits) -> ReadResult:
    article = make_article(text=page.text, origin=origin, limits=limits, title=page.title,
                           url=page.url, source=page.source, published=page.published)  # fmt: skip
    return ReadResult(articles=[article])


def _jsonl_record(line: str, where: str, limits: ReadLimits) -> Article:
    """One line of a JSONL export as an article (keys: text, title, url, source, published, id)."""
    try:
        record = json.loads(line)
    except json.JSONDecodeError as e:
        raise CorpusError(where, f"malformed JSON ({e.msg})") from e
    except RecursionError:
        raise CorpusError(where, "nested too deeply to read") from None
    if not isinstance(record, dict):
        raise CorpusError(where, "not a JSON object")
    body = record.get("text")
    if not isinstance(body, str) or not body.strip():
        raise CorpusError(where, "missing or empty 'text'")
    return make_article(
        text=body,
        origin=where,
        limits=limits,
        title=_str(record.get("title")),
        url=_str(record.get("url")),
        source=_str(record.get("source")),
        published=record.get("published"),
        given_id=_str(record.get("id")),
    )


def _parse_jsonl(data: bytes, *, origin: str, url: str | None, limits: ReadLimits) -> ReadResult:
    """JSONL held whole (a download, a UTF-16 file); files are streamed by `_stream_jsonl`."""
    text = decode(data, origin)
    result = ReadResult()
    # "\n" alone ends a record: splitlines() would also split at U+2028 inside a JSON string
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            result.articles.append(_jsonl_record(line, f"{origin}:{number}", limits))
        except CorpusError as e:
            result.failures.append(str(e))
    if not result.articles and not result.failures:
        raise CorpusError(origin, "no articles in JSONL")
    return result


def _stream_jsonl(path: Path, origin: str, limits: ReadLimits) -> Iterator[Article | ReadFailure]:
    """A JSONL file one line at a time: memory holds one record, whatever the file's size."""
    with _open(path, origin) as f:
        head = _read(f, origin, 8192)
        if head.startswith((b"\xff\xfe", b"\xfe\xff")):  # UTF-16 lines do not end in b"\n"
            yield from _results(read_file(path, limits, JSONL))
            return
        if b"\x00" in head:
            raise CorpusError(origin, "binary file, not text")
        f.seek(0)
        found = False
        for number, line in enumerate(_lines(f, origin, limits.max_file_bytes), start=1):
            where = f"{origin}:{number}"
            if isinstance(line, int):
                found = True
                yield ReadFailure(f"{where}: record too large ({human_size(line)}; limit "
                                  f"{human_size(limits.max_file_bytes)}, set by "
                                  f"{FILE_LIMIT_SETTING})")  # fmt: skip
                continue
            if not line.strip():
                continue
            found = True
            try:
                text = line.removeprefix(b"\xef\xbb\xbf") if number == 1 else line
                yield _jsonl_record(_decode_line(text, where), where, limits)
            except CorpusError as e:
                yield ReadFailure(str(e))
        if not found:
            raise CorpusError(origin, "empty file")


def _lines(f: BinaryIO, origin: str, limit: int) -> Iterator[bytes | int]:
    """The lines of a file; in place of a line longer than `limit`, its size (it is skipped)."""
    while True:
        try:
            line = f.readline(limit + 1)
        except OSError as e:
            raise CorpusError(origin, f"cannot read ({e.strerror or e})") from e
        if not line:
            return
        if len(line) <= limit:
            yield line
            continue
        size = len(line)
        while not line.endswith(b"\n"):
            line = f.readline(1 << 20)
            if not line:
                break
            size += len(line)
        yield size


def _decode_line(line: bytes, where: str) -> str:
    try:
        return line.decode("utf-8")
    except UnicodeDecodeError:
        return decode(line, where)  # a legacy encoding, guessed line by line


def _str(value: object) -> str | None:
    return None if value is None else str(value)


def _parse_feed(data: bytes, *, origin: str, url: str | None, limits: ReadLimits) -> ReadResult:
    import feedparser

    if not data.strip():
        raise CorpusError(origin, "empty file")
    feed = feedparser.parse(data)
    if not feed.entries:
        reason = getattr(feed, "bozo_exception", None)
        detail = f" ({str(reason).splitlines()[0]})" if reason else ""
        raise CorpusError(origin, f"not a valid RSS/Atom feed, no entries{detail}")
    outlet = feed.feed.get("title")
    result = ReadResult()
    for number, entry in enumerate(feed.entries, start=1):
        link = entry.get("link")
        where = link or f"{origin}#{number}"
        content = entry.get("content") or []
        html = max((c.get("value", "") for c in content), key=len, default="") or entry.get(
            "summary", ""
        )
        try:
            result.articles.append(
                make_article(
                    text=html_fragment_text(html),
                    origin=where,
                    limits=limits,
                    title=entry.get("title"),
                    url=link,
                    source=outlet,
                    published=entry.get("published_parsed") or entry.get("updated_parsed"),
                    given_id=None,
                )
            )
        except CorpusError as e:
            result.failures.append(str(e))
    if not result.articles and feed.get("bozo"):
        # entries salvaged from broken XML: one error for the file, not one per fragment
        reason = str(feed.get("bozo_exception", "")).splitlines()[:1]
        detail = f" ({reason[0]})" if reason else ""
        raise CorpusError(origin, f"not a valid RSS/Atom feed{detail}")
    return result


_BLOCK_TAGS = ("p", "div", "br", "li", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "tr")


def html_fragment_text(fragment: str) -> str:
    """Plain text of an HTML fragment (a feed entry), one paragraph per block element."""
    if "<" not in fragment:
        return fragment
    import lxml.html

    try:
        root = lxml.html.fragment_fromstring(fragment, create_parent="div")
    except Exception:  # lxml raises several unrelated types on garbage
        return re.sub(r"<[^>]+>", " ", fragment)
    for bad in root.xpath("//script|//style|//noscript"):
        bad.drop_tree()
    for element in root.iter(*_BLOCK_TAGS):
        element.tail = "\n\n" + (element.tail or "")
    return str(root.text_content())
