"""Fetching articles and feeds over http(s), with size limits and an optional private-network guard.

The guard (used for links that strangers send the Telegram bot) refuses any host that is or resolves
to a loopback, private, link-local or otherwise non-public address, at every redirect hop.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import httpx

from corpus.errors import FetchError

USER_AGENT = "newsqa/0.1 (+https://github.com/newsqa)"
MAX_REDIRECTS = 5


@dataclass(frozen=True)
class Fetched:
    url: str  # after redirects
    content_type: str
    body: bytes


def _is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def check_public_host(url: str) -> None:
    """Raise FetchError unless every address the URL's host resolves to is public."""
    host = urlsplit(url).hostname
    if not host:
        raise FetchError(url, "no host in URL")
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except socket.gaierror as e:
        raise FetchError(url, f"cannot resolve host {host!r}") from e
    for info in infos:
        if not _is_public(str(info[4][0])):
            raise FetchError(url, f"refused: {host} is a private or local address")


def fetch(
    url: str,
    *,
    max_bytes: int = 20_000_000,
    timeout: float = 20.0,
    allow_private: bool = True,
    transport: httpx.BaseTransport | None = None,
) -> Fetched:
    """GET a URL, following redirects ourselves so each hop can be checked; raise FetchError."""
    headers = {"User-Agent": USER_AGENT, "Accept": "text/html,application/xhtml+xml,application/rss+xml,application/atom+xml,*/*;q=0.5"}
    with httpx.Client(timeout=timeout, headers=headers, transport=transport) as client:
        for _ in range(MAX_REDIRECTS + 1):
            if urlsplit(url).scheme not in ("http", "https"):
                raise FetchError(url, "only http and https links can be fetched")
            if not allow_private:
                check_public_host(url)
            try:
                with client.stream("GET", url) as response:
                    if response.is_redirect and "location" in response.headers:
                        url = urljoin(url, response.headers["location"])
                        continue
                    if response.status_code >= 400:
                        raise FetchError(url, f"HTTP {response.status_code}")
                    body = bytearray()
                    for chunk in response.iter_bytes():
                        body.extend(chunk)
                        if len(body) > max_bytes:
                            raise FetchError(url, f"larger than {max_bytes // 1_000_000} MB")
                    content_type = response.headers.get("content-type", "").split(";")[0].strip()
                    return Fetched(str(response.url), content_type.lower(), bytes(body))
            except httpx.HTTPError as e:
                raise FetchError(url, f"unreachable ({type(e).__name__}: {e})") from e
    raise FetchError(url, f"more than {MAX_REDIRECTS} redirects")
