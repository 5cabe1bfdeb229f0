"""Fetching URLs from a local HTTP server on 127.0.0.1, and the private-address guard.

Nothing here touches an address outside 127.0.0.0/8: the guard is checked on literal addresses
(no DNS), and the one redirect from a "public" host is answered by an in-process transport.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from corpus.errors import FetchError
from corpus.fetch import USER_AGENT, check_public_host, fetch, is_public_address
from corpus.readers import ReadLimits, read_input
from corpus.types import ReadResult

PAGE = b"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Harbour bridge reopens</title>
<meta property="og:site_name" content="The Coastal Gazette">
<meta property="article:published_time" content="2017-12-05T09:30:00+00:00">
</head><body><nav><a href="/">Home NAV_MARKER</a></nav>
<article><h1>Harbour bridge reopens</h1>
<p>The harbour bridge reopened to traffic on Tuesday morning after eight months of repairs that
cost the city more than four million pounds.</p>
<p>Engineers replaced the corroded steel cables that had forced the closure in April, the council
said in a statement.</p></article></body></html>
"""

FEED = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Harbour Wire</title>
<item><title>Ferry fares frozen</title><link>https://wire.example.org/ferry</link>
<pubDate>Tue, 05 Dec 2017 09:30:00 GMT</pubDate>
<description>The ferry company said fares would stay the same.</description></item>
</channel></rss>
"""

Route = tuple[int, dict[str, str], bytes]
ROUTES: dict[str, Route] = {
    "/article": (200, {"Content-Type": "text/html; charset=utf-8"}, PAGE),
    "/feed": (200, {"Content-Type": "application/rss+xml; charset=utf-8"}, FEED),
    "/notes": (200, {"Content-Type": "text/plain"}, b"Notes\n\nThe notes of the meeting.\n"),
    "/hop1": (302, {"Location": "/hop2"}, b""),
    "/hop2": (301, {"Location": "hop3"}, b""),
    "/hop3": (307, {"Location": "/article"}, b""),
    "/loop": (302, {"Location": "/loop"}, b""),
    "/to-file": (302, {"Location": "file:///etc/passwd"}, b""),
    "/big": (200, {"Content-Type": "text/plain"}, b"x" * 5000),
}


class Handler(BaseHTTPRequestHandler):
    seen_agents: list[str] = []

    def do_GET(self) -> None:
        self.seen_agents.append(self.headers.get("User-Agent", ""))
        missing: Route = (404, {"Content-Type": "text/plain"}, b"not found")
        status, headers, body = ROUTES.get(self.path, missing)
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass  # keep test output quiet


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


@pytest.fixture(autouse=True)
def no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    """httpx honours proxy variables; a proxy would take these requests off the loopback."""
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


def only_failure(result: ReadResult) -> str:
    assert result.articles == []
    assert len(result.failures) == 1
    assert "\n" not in result.failures[0]
    return result.failures[0]


# --- reading URLs ---


def test_html_page_becomes_an_article(server: str) -> None:
    result = read_input(f"{server}/article")
    assert result.failures == []
    (article,) = result.articles
    assert article.title == "Harbour bridge reopens"
    assert article.url == f"{server}/article"
    assert article.origin == f"{server}/article"
    assert article.source == "The Coastal Gazette"
    assert article.published == "2017-12-05"
    assert article.text.startswith("The harbour bridge reopened to traffic on Tuesday")
    assert "NAV_MARKER" not in article.text


def test_feed_is_recognised_by_its_content_type(server: str) -> None:
    result = read_input(f"{server}/feed")
    assert result.failures == []
    (article,) = result.articles
    assert article.title == "Ferry fares frozen"
    assert article.url == "https://wire.example.org/ferry"
    assert article.source == "Harbour Wire"
    assert article.published == "2017-12-05T09:30:00+00:00"


def test_plain_text_url(server: str) -> None:
    (article,) = read_input(f"{server}/notes").articles
    assert (article.title, article.text, article.source) == (
        "Notes",
        "The notes of the meeting.",
        "127.0.0.1",
    )


def test_redirect_chain_is_followed(server: str) -> None:
    fetched = fetch(f"{server}/hop1")
    assert fetched.url == f"{server}/article"
    assert fetched.content_type == "text/html"
    assert fetched.body == PAGE


def test_redirected_article_is_known_by_its_final_url(server: str) -> None:
    (article,) = read_input(f"{server}/hop1").articles
    assert article.url == f"{server}/article"


def test_fetch_sends_our_user_agent(server: str) -> None:
    Handler.seen_agents.clear()
    fetch(f"{server}/notes")
    assert Handler.seen_agents == [USER_AGENT]


def test_not_found_is_one_line_naming_the_url(server: str) -> None:
    url = f"{server}/missing"
    assert only_failure(read_input(url)) == f"{url}: HTTP 404"


def test_redirect_loop_is_cut(server: str) -> None:
    with pytest.raises(FetchError) as caught:
        fetch(f"{server}/loop")
    assert str(caught.value) == f"{server}/loop: more than 5 redirects"


def test_redirect_to_another_scheme_is_refused(server: str) -> None:
    with pytest.raises(FetchError) as caught:
        fetch(f"{server}/to-file")
    assert str(caught.value) == "file:///etc/passwd: only http and https links can be fetched"


def test_body_over_the_limit_is_refused(server: str) -> None:
    failure = only_failure(read_input(f"{server}/big", ReadLimits(max_file_bytes=1000)))
    assert failure == (
        f"{server}/big: larger than 1,000 bytes, set by max_file_mb (NEWSQA_MAX_FILE_MB)"
    )


def test_connection_refused_is_one_line_naming_the_url() -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))  # bound, never listening: connecting is refused
        url = f"http://127.0.0.1:{unused.getsockname()[1]}/article"
        failure = only_failure(read_input(url))
    assert failure.startswith(f"{url}: unreachable (ConnectError: ")


@pytest.mark.parametrize("allow_private", [True, False])
@pytest.mark.parametrize("url", ["http://[::1", "http://127.0.0.1:99999/", "http://a..b/"])
def test_malformed_url_is_one_line(url: str, allow_private: bool) -> None:
    failure = only_failure(read_input(url, ReadLimits(allow_private_urls=allow_private)))
    assert failure.startswith(f"{url}: ")


def test_fetch_of_malformed_url_raises_fetch_error() -> None:
    with pytest.raises(FetchError) as caught:
        fetch("http://[::1")
    assert str(caught.value) == "http://[::1: not a valid URL"


# --- the private-address guard ---


def test_guard_refuses_loopback_address(server: str) -> None:
    url = f"{server}/article"
    failure = only_failure(read_input(url, ReadLimits(allow_private_urls=False)))
    assert failure == f"{url}: refused: 127.0.0.1 is a private or local address"


def test_guard_refuses_localhost(server: str) -> None:
    url = server.replace("127.0.0.1", "localhost") + "/article"
    with pytest.raises(FetchError) as caught:
        fetch(url, allow_private=False)
    assert str(caught.value) == f"{url}: refused: localhost is a private or local address"


def test_private_urls_are_fetched_when_allowed(server: str) -> None:
    assert fetch(f"{server}/notes", allow_private=True).body.startswith(b"Notes")


def test_guard_checks_every_redirect_hop() -> None:
    requested: list[str] = []

    def public_host(request: httpx.Request) -> httpx.Response:
        requested.append(str(request.url))
        return httpx.Response(302, headers={"Location": "http://127.0.0.1/admin"})

    transport = httpx.MockTransport(public_host)
    with pytest.raises(FetchError) as caught:
        fetch("http://8.8.8.8/story", allow_private=False, transport=transport)
    assert str(caught.value) == (
        "http://127.0.0.1/admin: refused: 127.0.0.1 is a private or local address"
    )
    assert requested == ["http://8.8.8.8/story"]


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "127.1.2.3",
        "10.0.0.1",
        "172.16.5.4",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",
        "0.0.0.0",
        "224.0.0.1",
        "255.255.255.255",
        "::1",
        "::",
        "::ffff:127.0.0.1",
        "::ffff:10.0.0.1",
        "2002:7f00:1::",  # 6to4 around 127.0.0.1
        "64:ff9b::a9fe:a9fe",  # NAT64 around 169.254.169.254
        "::a9fe:a9fe",  # IPv4-compatible 169.254.169.254
        "::7f00:1",  # IPv4-compatible 127.0.0.1
        "::ffff:0:a9fe:a9fe",  # IPv4-translated 169.254.169.254
        "64:ff9b:1::a9fe:a9fe",  # local-use NAT64
        "64:ff9b:1:a9fe:a9:fe00::",  # local-use NAT64, /48 layout
        "fec0::1",  # site-local
        "2001:0:4136:e378:8000:63bf:80ff:fffe",  # Teredo around 127.0.0.1
        "fe80::1",
        "fc00::1",
        "ff02::1",
    ],
)
def test_private_and_special_addresses_are_not_public(address: str) -> None:
    assert is_public_address(address) is False


@pytest.mark.parametrize(
    "address",
    ["8.8.8.8", "1.1.1.1", "::ffff:8.8.8.8", "2002:808:808::", "64:ff9b::808:808", "2606:4700::1",
     "::808:808", "::ffff:0:808:808"],
)  # fmt: skip
def test_public_addresses_are_public(address: str) -> None:
    assert is_public_address(address) is True


@pytest.mark.parametrize(
    "url",
    [
        "http://10.0.0.1/",
        "http://169.254.169.254/latest/meta-data/",
        "http://192.168.1.1:8080/admin",
        "http://[::1]/",
        "http://[::ffff:127.0.0.1]/",
        "https://0.0.0.0/",
    ],
)
def test_check_public_host_refuses_literal_private_addresses(url: str) -> None:
    with pytest.raises(FetchError, match=r": refused: .* is a private or local address$"):
        check_public_host(url)


def test_check_public_host_passes_a_literal_public_address() -> None:
    check_public_host("http://8.8.8.8/story")  # a literal: resolved without any network


def test_check_public_host_needs_a_host() -> None:
    with pytest.raises(FetchError, match=r"^http:///path: no host in URL$"):
        check_public_host("http:///path")


@pytest.fixture
def trickle() -> Iterator[tuple[str, threading.Event]]:
    """A server that sends a byte every 0.2 s, for at most 60 s: its headers at /headers, its
    body after complete headers elsewhere. The event is set when the client hung up."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.1)
    hung_up, stop = threading.Event(), threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            with conn:
                request = conn.recv(4096)
                head = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                if not request.startswith(b"GET /headers "):
                    conn.sendall(head + b"Content-Length: 1000\r\n\r\n")
                    head = b"x" * 1000
                try:
                    for byte in head[:300]:
                        if stop.wait(0.2):
                            return
                        conn.sendall(bytes([byte]))
                except OSError:
                    hung_up.set()

    thread = threading.Thread(target=serve)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}", hung_up
    finally:
        stop.set()
        thread.join(5)
        listener.close()


@pytest.mark.parametrize("path", ["/body", "/headers"])
def test_one_deadline_ends_a_fetch_that_trickles(
    trickle: tuple[str, threading.Event], path: str
) -> None:
    """A byte every 0.2 s never trips a 20 s read timeout; the whole fetch still ends at the
    deadline, with one line, through the reader's limits as through fetch itself."""
    base, hung_up = trickle
    result = read_input(base + path, ReadLimits(fetch_deadline=1.5))
    assert result.failures == [f"{base}{path}: took longer than 1.5 s (the fetch deadline)"]
    assert hung_up.wait(5)  # the connection was dropped, not left open
