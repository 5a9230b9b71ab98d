"""Floor 0: the one way this project makes HTTP requests to addresses someone else typed in.

A crawl start URL, a page's links, a webhook target or a CRM endpoint are chosen by a manager or a
crawled site, so every request is treated as a possible server-side request forgery:

- Every connection, the first and every redirect hop, resolves the host itself and refuses it when
  any address is loopback, private, link-local (cloud metadata at 169.254.169.254), shared,
  multicast or otherwise not global, unless it is inside OUTBOUND_ALLOWED_NETWORKS. The socket then
  connects to the address that was checked, so DNS cannot answer differently in between.
- Each request has a connect timeout, a read timeout and a total deadline covering every hop and
  every byte (a server dripping one byte every few seconds is cut off at the deadline).
- Bodies are streamed and decompressed here with a cap on the decompressed size, so neither an
  endless body nor a gzip bomb can grow the process past `max_bytes`.
- No environment proxies (HTTP_PROXY would be a way around the address check).

Imports no app; django.conf only for the allow-list setting.
"""

from __future__ import annotations

import contextvars
import ipaddress
import socket
import time
import zlib
from dataclasses import dataclass
from email.message import Message

import httpcore
import httpx
from django.conf import settings

__all__ = [
    "BlockedDestination",
    "Client",
    "DeadlineExceeded",
    "OutboundError",
    "Response",
    "TooLarge",
    "address_allowed",
]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

# NAT64 addresses carry an IPv4 address in their last 32 bits; a NAT64 gateway would reach it.
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class OutboundError(Exception):
    """A request that could not be made or completed; the message says why, for a person."""


class BlockedDestination(OutboundError):
    pass


class DeadlineExceeded(OutboundError):
    pass


class TooLarge(OutboundError):
    pass


def address_allowed(address: str | IPAddress, allowed_networks: tuple[Network, ...] = ()) -> bool:
    """True when `address` is a public (global unicast) address or inside one of `allowed_networks`."""
    ip = ipaddress.ip_address(address.split("%", 1)[0] if isinstance(address, str) else address)
    if any(ip in network for network in allowed_networks):
        return True
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = (
            ip.ipv4_mapped or ip.sixtofour or (ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF) if ip in _NAT64 else None)
        )
        if embedded is not None:
            return address_allowed(embedded, allowed_networks)
    return ip.is_global and not ip.is_multicast


def allowed_networks_setting() -> tuple[Network, ...]:
    """OUTBOUND_ALLOWED_NETWORKS: CIDRs (an intranet help centre, a test server) exempt from the check."""
    return tuple(
        ipaddress.ip_network(item, strict=False) for item in getattr(settings, "OUTBOUND_ALLOWED_NETWORKS", ())
    )


@dataclass(frozen=True)
class Response:
    url: str  # after redirects
    status: int
    headers: httpx.Headers
    content: bytes  # decompressed

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";", 1)[0].strip().lower()

    @property
    def text(self) -> str:
        message = Message()
        message["content-type"] = self.headers.get("content-type", "")
        charset = message.get_content_charset() or "utf-8"
        try:
            return self.content.decode(charset, errors="replace")
        except LookupError:  # a charset Python does not know
            return self.content.decode("utf-8", errors="replace")


# The deadline of the request running in this thread/task; the network streams read it on every call,
# so a kept-alive connection reused by the next request obeys that request's deadline.
_deadline: contextvars.ContextVar[float | None] = contextvars.ContextVar("outbound_deadline", default=None)


def _remaining(timeout: float | None) -> float | None:
    deadline = _deadline.get()
    if deadline is None:
        return timeout
    left = deadline - time.monotonic()
    if left <= 0:
        raise DeadlineExceeded("the request took longer than its total time limit")
    return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore.NetworkStream):
    def __init__(self, stream: httpcore.NetworkStream):
        self._stream = stream

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, _remaining(timeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, _remaining(timeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(self, ssl_context, server_hostname=None, timeout=None) -> httpcore.NetworkStream:
        return _DeadlineStream(self._stream.start_tls(ssl_context, server_hostname, _remaining(timeout)))

    def get_extra_info(self, info: str):
        return self._stream.get_extra_info(info)


class _GuardedBackend(httpcore.SyncBackend):
    """Resolves, checks and connects to the checked address (no second lookup to rebind)."""

    def __init__(self, allowed_networks: tuple[Network, ...]):
        self.allowed_networks = allowed_networks

    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError) as error:
            raise OutboundError(f"could not resolve {host}: {error}") from error
        addresses = list(dict.fromkeys(info[4][0] for info in infos))
        blocked = [address for address in addresses if not address_allowed(address, self.allowed_networks)]
        if blocked or not addresses:
            where = host if blocked == [host] else f"{host} ({', '.join(blocked) or 'no address'})"
            raise BlockedDestination(
                f"{where} is a private or internal address; requests there are refused "
                "(OUTBOUND_ALLOWED_NETWORKS can allow a network)"
            )
        stream = super().connect_tcp(addresses[0], port, _remaining(timeout), local_address, socket_options)
        return _DeadlineStream(stream)

    def connect_unix_socket(self, *args, **kwargs):
        raise BlockedDestination("unix sockets are not an outbound destination")


class _GuardedTransport(httpx.HTTPTransport):
    def __init__(self, allowed_networks: tuple[Network, ...]):
        super().__init__(http1=True, http2=False, trust_env=False)
        # httpx 0.28 has no argument for the network backend; the pool it built is replaced by the
        # same pool over the guarded backend (tests/outbound covers this, so an httpx upgrade that
        # changes it fails loudly).
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False),
            network_backend=_GuardedBackend(allowed_networks),
            http1=True,
            http2=False,
        )


class Client:
    """A guarded HTTP client; use as a context manager, one per job (it keeps connections alive)."""

    def __init__(
        self,
        *,
        user_agent: str,
        connect_timeout: float = 5.0,
        read_timeout: float = 10.0,
        total_timeout: float = 30.0,
        max_bytes: int = 5_000_000,
        max_redirects: int = 5,
        allowed_networks: tuple[Network, ...] | None = None,
    ):
        self.total_timeout = total_timeout
        self.max_bytes = max_bytes
        self.max_redirects = max_redirects
        networks = allowed_networks_setting() if allowed_networks is None else allowed_networks
        self._client = httpx.Client(
            transport=_GuardedTransport(networks),
            headers={"User-Agent": user_agent, "Accept-Encoding": "gzip, deflate"},
            timeout=httpx.Timeout(read_timeout, connect=connect_timeout),
            follow_redirects=False,
            trust_env=False,
        )

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self._client.close()

    def get(self, url: str, **kwargs) -> Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs) -> Response:
        return self.request("POST", url, **kwargs)

    def request(
        self,
        method: str,
        url: str,
        *,
        follow_redirects: bool = True,
        max_bytes: int | None = None,
        **kwargs,
    ) -> Response:
        """One request (and its redirects) within `total_timeout`, its body at most `max_bytes` decompressed.

        Keyword arguments (headers, json, content, ...) go to httpx. Raises OutboundError (or a subclass).
        """
        limit = self.max_bytes if max_bytes is None else max_bytes
        token = _deadline.set(time.monotonic() + self.total_timeout)
        try:
            request = self._build(method, url, **kwargs)
            for _hop in range(self.max_redirects + 1):
                response = self._client.send(request, stream=True)
                try:
                    if follow_redirects and response.next_request is not None:
                        # httpx builds the next hop as a browser would (303 becomes GET, credentials
                        # are dropped across origins); its address is checked when it connects.
                        request = response.next_request
                        _check_scheme(request.url)
                        continue
                    content = _read_capped(response, limit)
                    return Response(
                        url=str(response.url), status=response.status_code, headers=response.headers, content=content
                    )
                finally:
                    response.close()
            raise OutboundError(f"more than {self.max_redirects} redirects from {url}")
        except httpx.TimeoutException as error:
            raise DeadlineExceeded(f"{url} did not answer in time ({type(error).__name__})") from error
        except (httpx.HTTPError, httpx.InvalidURL) as error:
            raise OutboundError(f"{url}: {error}") from error
        finally:
            _deadline.reset(token)

    def _build(self, method: str, url: str, **kwargs) -> httpx.Request:
        try:
            request = self._client.build_request(method, url, **kwargs)
        except (httpx.InvalidURL, httpx.UnsupportedProtocol) as error:
            raise OutboundError(f"{url!r} is not a valid URL: {error}") from error
        _check_scheme(request.url)
        return request


def _check_scheme(url: httpx.URL) -> None:
    if url.scheme not in ("http", "https") or not url.host:
        raise BlockedDestination(f"{url} is not an http(s) URL")


def _read_capped(response: httpx.Response, limit: int) -> bytes:
    declared = response.headers.get("content-length", "")
    if declared.isascii() and declared.isdigit() and int(declared) > limit:
        raise TooLarge(f"{response.url} is {int(declared)} bytes, more than the {limit} allowed")
    decoder = _decoder(response.headers.get("content-encoding", "identity"), response.url)
    parts: list[bytes] = []
    size = 0
    for chunk in response.iter_raw():
        data = chunk
        while data:
            if decoder is None:
                out, data = data, b""
            else:
                # At most one byte past the limit per call: a bomb never expands further than that.
                out = decoder.decompress(data, limit - size + 1)
                data = decoder.unconsumed_tail
            size += len(out)
            if size > limit:
                raise TooLarge(f"{response.url} is larger than the {limit} bytes allowed")
            parts.append(out)
    return b"".join(parts)


def _decoder(encoding: str, url) -> zlib._Decompress | None:
    encoding = encoding.strip().lower()
    if encoding in ("", "identity"):
        return None
    if encoding in ("gzip", "x-gzip"):
        return zlib.decompressobj(16 + zlib.MAX_WBITS)
    if encoding == "deflate":
        return zlib.decompressobj()
    raise OutboundError(f"{url} answered with content encoding {encoding!r}, which was not asked for")
