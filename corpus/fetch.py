"""Fetching articles and feeds over http(s), with size limits and an optional private-network guard.

The guard (used for links that strangers send the Telegram bot) refuses any host that is or resolves
to a loopback, private, link-local or otherwise non-public address, at every redirect hop. It
resolves each host once and connects to the address it checked (`PinnedTransport`), keeping the
host name in the Host header and for TLS, so a DNS answer that changes between the check and the
connection (DNS rebinding) cannot reach a private address. Proxies from the environment are not
used while guarding: a proxy would resolve the name again, out of reach of the check.

A `FetchPolicy` lets named hosts or networks through the guard (an intranet feed server, or
127.0.0.1 in tests); it is empty by default, and the guard stays on for every other address.
Conditional requests: `fetch(..., headers={"If-None-Match": etag})` returns a `Fetched` with
status 304 and no body when the server says nothing changed.

A fetch has one deadline for all of it (connecting, every redirect, headers, body): httpx's
timeouts bound each read alone, so a server sending a byte every few seconds could hold a fetch
open for ever. At the deadline, the fetch's sockets are shut down, which ends any blocked read.
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx

from corpus.errors import FetchError

USER_AGENT = "newsqa/0.1 (+https://github.com/newsqa)"
MAX_REDIRECTS = 5
_IPV6 = ipaddress.IPv6Network
# IPv6 forms that carry an IPv4 address in their last 32 bits: the IPv4 address is what is reached
_EMBEDS_IPV4 = (
    _IPV6("::/96"),  # IPv4-compatible (deprecated): ::7f00:1 is 127.0.0.1
    _IPV6("::ffff:0:0:0/96"),  # IPv4-translated (SIIT): ::ffff:0:a9fe:a9fe
    _IPV6("64:ff9b::/96"),  # NAT64: 64:ff9b::a9fe:a9fe reaches 169.254.169.254 through a gateway
)
_NEVER_PUBLIC = (
    _IPV6("64:ff9b:1::/48"),  # local-use NAT64 (RFC 8215): a site's own translator, any layout
    _IPV6("fec0::/10"),  # site-local (deprecated, still routed inside some networks)
)


Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class Fetched:
    url: str  # after redirects
    content_type: str
    body: bytes
    status: int = 200  # 304: not modified since the validators sent (the body is empty)
    etag: str | None = None
    last_modified: str | None = None


@dataclass(frozen=True)
class FetchPolicy:
    """Hosts and networks the private-address guard lets through; empty by default."""

    hosts: frozenset[str] = frozenset()
    networks: tuple[Network, ...] = ()

    @classmethod
    def parse(cls, entries: Iterable[str]) -> FetchPolicy:
        """From entries like "feeds.intranet", "127.0.0.1" or "10.1.0.0/16"; ValueError if bad."""
        hosts: set[str] = set()
        networks: list[Network] = []
        for entry in (e.strip().lower().rstrip(".") for e in entries):
            if not entry:
                continue
            try:
                networks.append(ipaddress.ip_network(entry.strip("[]"), strict=False))
                continue
            except ValueError:
                pass
            if "/" in entry or not all(
                part and part.replace("-", "").replace("_", "").isalnum()
                for part in entry.split(".")
            ):
                raise ValueError(f"{entry!r} is neither a host name nor an address or network")
            hosts.add(entry)
        return cls(frozenset(hosts), tuple(networks))

    def allows(self, host: str, address: str) -> bool:
        """Whether the guard may let `host`, resolved to `address`, through."""
        if host.lower().rstrip(".") in self.hosts:
            return True
        ip = ipaddress.ip_address(address)
        return any(ip.version == net.version and ip in net for net in self.networks)


def human_size(n: int) -> str:
    """'12.3 MB', or '950 bytes' where megabytes would round to nothing."""
    return f"{n / 1e6:.1f} MB" if n >= 100_000 else f"{n:,} bytes"


def is_public_address(address: str) -> bool:
    """Whether an IP address is public unicast; IPv6 carrying an IPv4 address is judged by that."""
    ip: ipaddress.IPv4Address | ipaddress.IPv6Address = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address):
        if any(ip in network for network in _NEVER_PUBLIC):
            return False
        embedded = next(
            (ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF) for n in _EMBEDS_IPV4 if ip in n), None
        )
        teredo = ip.teredo[1] if ip.teredo else None  # the client's address, de-obfuscated
        ip = ip.ipv4_mapped or embedded or ip.sixtofour or teredo or ip
    return ip.is_global and not ip.is_multicast


def public_address(url: str, policy: FetchPolicy | None = None) -> str:
    """The address to connect to for the URL's host; FetchError unless every address the host
    resolves to is public, or allowed by the policy."""
    host = urlsplit(url).hostname
    if not host:
        raise FetchError(url, "no host in URL")
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError) as e:  # UnicodeError: not a valid IDNA host name
        raise FetchError(url, f"cannot resolve host {host!r}") from e
    for info in infos:
        address = str(info[4][0])
        if not is_public_address(address) and not (policy and policy.allows(host, address)):
            raise FetchError(url, f"refused: {host} is a private or local address")
    if not infos:
        raise FetchError(url, f"cannot resolve host {host!r}")
    return str(infos[0][4][0])


def check_public_host(url: str, policy: FetchPolicy | None = None) -> None:
    """Raise FetchError unless every address the URL's host resolves to is public (or allowed)."""
    public_address(url, policy)


class PinnedTransport(httpx.HTTPTransport):
    """Resolves each request's host once, refuses a non-public answer, and connects to exactly
    the address checked; the Host header and the TLS server name stay the host's."""

    def __init__(self, policy: FetchPolicy | None = None) -> None:
        super().__init__()
        self.policy = policy

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        host = request.url.host
        address = public_address(str(request.url), self.policy)
        pinned = httpx.Request(
            request.method,
            request.url.copy_with(host=address),
            headers=request.headers,  # already holds Host: the name, not the address
            stream=request.stream,
            extensions={**request.extensions, "sni_hostname": host},
        )
        return super().handle_request(pinned)


class Deadline:
    """One deadline for a whole fetch; at the end it shuts down the sockets the fetch opened."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.end = time.monotonic() + seconds
        self.expired = False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True

    def __enter__(self) -> Deadline:
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._timer.cancel()

    def remaining(self) -> float:
        return self.end - time.monotonic()

    def timeout(self, per_operation: float) -> httpx.Timeout:
        """httpx's timeouts for the next request: none longer than what is left."""
        return httpx.Timeout(max(0.001, min(per_operation, self.remaining())))

    def trace(self, name: str, info: dict[str, Any]) -> None:
        """httpcore's trace hook: note each socket as it connects (or starts TLS)."""
        if name not in ("connection.connect_tcp.complete", "connection.start_tls.complete"):
            return
        sock = info["return_value"].get_extra_info("socket")
        with self._lock:
            self._sockets.append(sock)
            if self.expired:
                self._shutdown(sock)

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            for sock in self._sockets:
                self._shutdown(sock)

    @staticmethod
    def _shutdown(sock: socket.socket) -> None:
        with contextlib.suppress(OSError):  # already closed
            sock.shutdown(socket.SHUT_RDWR)

    def error(self, url: str) -> FetchError:
        return FetchError(url, f"took longer than {self.seconds:g} s (the fetch deadline)")


def fetch(
    url: str,
    *,
    max_bytes: int = 20_000_000,
    timeout: float = 20.0,
    deadline: float = 60.0,
    allow_private: bool = True,
    transport: httpx.BaseTransport | None = None,
    policy: FetchPolicy | None = None,
    conditional: Mapping[str, str] | None = None,
) -> Fetched:
    """GET a URL, following redirects ourselves so each hop can be checked, all within
    `deadline` seconds; raise FetchError.

    `policy` names what the guard (allow_private=False) lets through; `conditional` holds
    If-None-Match / If-Modified-Since headers, and a 304 answer comes back as status 304."""
    with Deadline(deadline) as limit:
        return _fetch(url, max_bytes, timeout, limit, allow_private, transport, policy, conditional)


def _fetch(
    url: str,
    max_bytes: int,
    timeout: float,
    deadline: Deadline,
    allow_private: bool,
    transport: httpx.BaseTransport | None,
    policy: FetchPolicy | None,
    conditional: Mapping[str, str] | None,
) -> Fetched:
    accept = "text/html,application/xhtml+xml,application/rss+xml,application/atom+xml,*/*;q=0.5"
    headers = {"User-Agent": USER_AGENT, "Accept": accept, **(conditional or {})}
    pin = not allow_private and transport is None
    if pin:
        transport = PinnedTransport(policy)
    with httpx.Client(
        timeout=timeout, headers=headers, transport=transport, trust_env=not pin
    ) as client:
        for _ in range(MAX_REDIRECTS + 1):
            try:
                scheme = urlsplit(url).scheme
            except ValueError as e:
                raise FetchError(url, "not a valid URL") from e
            if scheme not in ("http", "https"):
                raise FetchError(url, "only http and https links can be fetched")
            if not allow_private and not pin:  # else the transport checks what it connects to
                check_public_host(url, policy)
            if deadline.remaining() <= 0:
                raise deadline.error(url)
            try:
                with client.stream(
                    "GET",
                    url,
                    timeout=deadline.timeout(timeout),
                    extensions={"trace": deadline.trace},
                ) as response:
                    if response.is_redirect and "location" in response.headers:
                        url = urljoin(url, response.headers["location"])
                        continue
                    if response.status_code == 304:
                        return Fetched(str(response.url), "", b"", 304, *_validators(response))
                    if response.status_code >= 400:
                        raise FetchError(url, f"HTTP {response.status_code}")
                    body = bytearray()
                    for chunk in response.iter_bytes():
                        body.extend(chunk)
                        if len(body) > max_bytes:
                            raise FetchError(url, f"larger than {human_size(max_bytes)}")
                        if deadline.remaining() <= 0:
                            raise deadline.error(url)
                    content_type = response.headers.get("content-type", "").split(";")[0].strip()
                    return Fetched(
                        str(response.url),
                        content_type.lower(),
                        bytes(body),
                        response.status_code,
                        *_validators(response),
                    )
            except httpx.HTTPError as e:
                if deadline.expired or deadline.remaining() <= 0:
                    raise deadline.error(url) from e
                raise FetchError(url, f"unreachable ({type(e).__name__}: {e})") from e
            except (httpx.InvalidURL, ValueError) as e:  # a bad host name or redirect location
                raise FetchError(url, f"not a valid URL ({e})") from e
    raise FetchError(url, f"more than {MAX_REDIRECTS} redirects")


def _validators(response: httpx.Response) -> tuple[str | None, str | None]:
    """The ETag and Last-Modified a later conditional request can send back."""
    return response.headers.get("etag"), response.headers.get("last-modified")
