"""The private-address guard against redirects and DNS tricks, with real sockets on 127.0.0.0/8.

127.0.0.1 plays a public news site (the guard is told it is public); 127.0.0.2 plays a private
service that must never be reached. Name resolution is faked (`socket.getaddrinfo`), and every
outgoing connection is checked: one to any address outside 127.0.0.0/8 fails the test before a
packet leaves the machine.
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

import corpus.fetch
from corpus.errors import FetchError
from corpus.fetch import fetch

PUBLIC, PRIVATE = "127.0.0.1", "127.0.0.2"
PAGE = b"<html><head><title>Harbour</title></head><body><p>The harbour reopened.</p></body></html>"


@dataclass
class Site:
    host: str
    port: int
    hits: list[tuple[str, str]] = field(default_factory=list)  # (path, Host header)


def serve(host: str, port: int, routes: dict[str, tuple[int, dict[str, str], bytes]]) -> Any:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            site.hits.append((self.path, self.headers.get("Host", "")))
            status, headers, body = routes.get(self.path, (404, {}, b"no"))
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer((host, port), Handler)
    site = Site(host, httpd.server_address[1])
    threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}).start()
    return httpd, site


@pytest.fixture
def sites(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Site, Site, list[str]]]:
    """(public site, private site, names resolved), with DNS and connections under control."""
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.delenv(name, raising=False)
    routes: dict[str, tuple[int, dict[str, str], bytes]] = {}  # filled in once the port is known
    public_httpd, public = serve(PUBLIC, 0, routes)
    port = public.port
    private_httpd, private = serve(PRIVATE, port, {"/secret": (200, {}, b"secret")})
    redirects = {
        "/to-private": f"http://{PRIVATE}:{port}/secret",
        "/to-rfc1918": "http://10.0.0.1/admin",
        "/to-metadata": "http://169.254.169.254/latest/meta-data/",
        "/to-internal-name": f"http://internal.test:{port}/secret",
        "/to-localhost": f"http://localhost:{port}/secret",
        "/to-rebinding": f"http://rebind.test:{port}/article",
    }
    routes.update({path: (302, {"Location": url}, b"") for path, url in redirects.items()})
    routes["/article"] = (200, {"Content-Type": "text/html"}, PAGE)

    resolved: list[str] = []
    real_getaddrinfo = socket.getaddrinfo
    answers = {
        "news.test": [PUBLIC],
        "internal.test": ["10.1.2.3"],
        "rebind.test": [PUBLIC, PRIVATE, PRIVATE, PRIVATE],  # public when checked, then private
        "localhost": [PRIVATE],
    }

    def getaddrinfo(host: str, port: Any, *args: Any, **kwargs: Any) -> Any:
        resolved.append(host)
        try:
            ipaddress.ip_address(host)
        except ValueError:
            if host not in answers:
                raise socket.gaierror(socket.EAI_NONAME, "unknown test host") from None
            queue = answers[host]
            address = queue.pop(0) if len(queue) > 1 else queue[0]
            return real_getaddrinfo(address, port, *args, **kwargs)
        return real_getaddrinfo(host, port, *args, **kwargs)

    real_create_connection = socket.create_connection

    def create_connection(address: tuple[str, int], *args: Any, **kwargs: Any) -> socket.socket:
        host = address[0]
        with contextlib.suppress(ValueError):
            ipaddress.ip_address(host)
            answers[host] = [host]
        assert all(ipaddress.ip_address(a).is_loopback for a in answers[host]), address
        return real_create_connection(address, *args, **kwargs)

    real_is_public = corpus.fetch.is_public_address
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setattr(socket, "create_connection", create_connection)
    monkeypatch.setattr(  # the "public" site is public; every other address as in life
        corpus.fetch, "is_public_address", lambda a: a == PUBLIC or real_is_public(a)
    )
    try:
        yield public, private, resolved
    finally:
        for httpd in (public_httpd, private_httpd):
            httpd.shutdown()
            httpd.server_close()


def test_a_public_name_is_fetched_from_the_address_checked(
    sites: tuple[Site, Site, list[str]],
) -> None:
    public, private, resolved = sites
    fetched = fetch(f"http://news.test:{public.port}/article", allow_private=False)
    assert fetched.body == PAGE
    assert fetched.url == f"http://news.test:{public.port}/article"
    assert public.hits == [("/article", f"news.test:{public.port}")]  # the name, not the address
    assert resolved.count("news.test") == 1


@pytest.mark.parametrize(
    ("path", "refused"),
    [
        ("/to-private", PRIVATE),
        ("/to-rfc1918", "10.0.0.1"),
        ("/to-metadata", "169.254.169.254"),
        ("/to-internal-name", "internal.test"),
        ("/to-localhost", "localhost"),
    ],
)
def test_a_redirect_to_a_private_address_is_refused_before_connecting(
    sites: tuple[Site, Site, list[str]], path: str, refused: str
) -> None:
    public, private, _ = sites
    with pytest.raises(FetchError, match=f"refused: {refused} is a private or local address"):
        fetch(f"http://news.test:{public.port}{path}", allow_private=False)
    assert [p for p, _ in public.hits] == [path]
    assert private.hits == []


def test_dns_rebinding_cannot_reach_a_private_address(
    sites: tuple[Site, Site, list[str]],
) -> None:
    """The name answers public when checked and private afterwards: the connection goes to the
    address checked, so the private service is never reached (before the fix it was)."""
    public, private, resolved = sites
    fetched = fetch(f"http://news.test:{public.port}/to-rebinding", allow_private=False)
    assert fetched.body == PAGE
    assert private.hits == []
    assert public.hits[-1] == ("/article", f"rebind.test:{public.port}")
    assert resolved.count("rebind.test") == 1


def test_unguarded_fetches_still_follow_private_redirects(
    sites: tuple[Site, Site, list[str]],
) -> None:
    public, private, _ = sites
    fetched = fetch(f"http://news.test:{public.port}/to-private", allow_private=True)
    assert fetched.body == b"secret" and private.hits == [("/secret", f"{PRIVATE}:{public.port}")]
