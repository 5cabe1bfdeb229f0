"""A news site on 127.0.0.1 for feed tests: an RSS feed that answers conditional GETs, the article
pages its items link to, a switch to fail with 500, and a log of every request."""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from xml.sax.saxutils import escape


@dataclass
class Item:
    slug: str
    title: str
    published: datetime
    text: str = ""  # the whole article in the feed; empty: only a summary, the page has it
    summary: str = ""


@dataclass(frozen=True)
class Request:
    path: str
    status: int
    conditional: bool  # sent If-None-Match or If-Modified-Since


@dataclass
class FeedServer:
    """`items` and `pages` may change while it serves; `fail` makes the feed answer 500."""

    title: str = "Harbour Gazette"
    items: list[Item] = field(default_factory=list)
    pages: dict[str, str] = field(default_factory=dict)  # slug -> HTML
    fail: bool = False
    requests: list[Request] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                status, headers, body = server._respond(self.path, self.headers)
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def __enter__(self) -> FeedServer:
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    @property
    def feed_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/feed.xml"

    def page_url(self, slug: str) -> str:
        return f"http://127.0.0.1:{self.port}/news/{slug}"

    def publish(self, item: Item, page: str | None = None) -> None:
        with self._lock:
            self.items.insert(0, item)
            if page is not None:
                self.pages[item.slug] = page

    def hits(self, path: str, status: int | None = None) -> int:
        with self._lock:
            return sum(r.path == path and status in (None, r.status) for r in self.requests)

    def feed_body(self) -> bytes:
        entries = []
        for item in self.items:
            description = item.text or item.summary
            entries.append(
                "<item>"
                f"<title>{escape(item.title)}</title>"
                f"<link>{self.page_url(item.slug)}</link>"
                f"<guid>{self.page_url(item.slug)}</guid>"
                f"<pubDate>{format_datetime(item.published)}</pubDate>"
                f"<description>{escape(description)}</description>"
                "</item>"
            )
        return (
            '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
            f"<title>{escape(self.title)}</title><link>http://127.0.0.1:{self.port}/</link>"
            + "".join(entries)
            + "</channel></rss>"
        ).encode()

    def _respond(self, path: str, headers: object) -> tuple[int, dict[str, str], bytes]:
        get = getattr(headers, "get")  # noqa: B009 (email.message.Message)
        conditional = bool(get("If-None-Match") or get("If-Modified-Since"))
        with self._lock:
            status, out, body = self._route(path, get)
            self.requests.append(Request(path, status, conditional))
        return status, out, body

    def _route(self, path: str, get: object) -> tuple[int, dict[str, str], bytes]:
        if path == "/feed.xml":
            if self.fail:
                return 500, {}, b"the feed server is down"
            body = self.feed_body()
            etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
            newest = max(
                (i.published for i in self.items), default=datetime(2024, 1, 1, tzinfo=UTC)
            )
            validators = {"ETag": etag, "Last-Modified": format_datetime(newest, usegmt=True)}
            if get("If-None-Match") == etag:  # type: ignore[operator]
                return 304, validators, b""
            return 200, {"Content-Type": "application/rss+xml", **validators}, body
        slug = path.removeprefix("/news/")
        if path.startswith("/news/") and slug in self.pages:
            return 200, {"Content-Type": "text/html; charset=utf-8"}, self.pages[slug].encode()
        return 404, {}, b"not found"


def page(title: str, *paragraphs: str) -> str:
    """An article page as a news site serves it."""
    body = "".join(f"<p>{escape(p)}</p>" for p in paragraphs)
    return (
        f"<html><head><title>{escape(title)}</title></head><body>"
        f"<nav><a href='/'>Home</a></nav><article><h1>{escape(title)}</h1>{body}</article>"
        "<footer>Harbour Gazette</footer></body></html>"
    )
