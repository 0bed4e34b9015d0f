"""Download an image a person named by URL (the `caption` command, the app's Caption tab), safely.

Only http(s); a URL that cannot be parsed (a port out of range, a broken IPv6 literal), given or reached
by a redirect, is an "invalid URL" error for that source alone. Every hop's host is resolved once and must
be a public address, and the connection goes to that very address (so a DNS answer cannot change between
the check and the connection); redirects are followed by hand and checked the same way. One deadline
covers the whole exchange, from the name lookup and the connection through the TLS handshake, status
line, headers and chunk framing to the last body byte: every read waits at most until it, because a
server that sends a byte every few seconds never trips a per-read timeout."""

from __future__ import annotations

import http.client
import io
import ipaddress
import socket
import ssl
import threading
import time
from urllib.parse import SplitResult, quote, urljoin, urlsplit

from indexer.imaging import ImageReadError

URL_DEADLINE_SECONDS = 15
URL_MAX_BYTES = 50 * 1024 * 1024
MAX_REDIRECTS = 5
CHUNK = 64 * 1024

# IPv6 addresses that carry an IPv4 one in their last 32 bits and reach it: IPv4-compatible (::a.b.c.d,
# deprecated), IPv4-mapped and IPv4-translated (SIIT), and NAT64's well-known prefix (a DNS64 resolver
# answers a v4-only host with 64:ff9b::a.b.c.d, so a public one there must still work).
_CARRIES_IPV4 = tuple(ipaddress.IPv6Network(network) for network in ("::/96", "::ffff:0:0/96", "::ffff:0:0:0/96", "64:ff9b::/96"))
# NAT64 local-use (RFC 8215): the network's own translator, to IPv4 addresses the operator chooses.
_LOCAL_NAT64 = ipaddress.IPv6Network("64:ff9b:1::/48")


def _carried_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address a packet to `ip` ends up at: the embedded one above, or 6to4's (2002:a.b.c.d::/48)."""
    if any(ip in network for network in _CARRIES_IPV4):
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return ip.sixtofour


def is_public_address(address: str) -> bool:
    """Not loopback, private, link-local (cloud metadata at 169.254.169.254), multicast or reserved, in
    any of its IPv6 spellings: ::7f00:1, ::ffff:127.0.0.1, 64:ff9b::7f00:1 and 2002:7f00:1:: are 127.0.0.1."""
    ip = ipaddress.ip_address(address.split("%")[0])
    if isinstance(ip, ipaddress.IPv6Address):
        carried = _carried_ipv4(ip)
        if carried is not None:
            return carried.is_global and not carried.is_multicast
        # Teredo tunnels to an IPv4 host through a relay: refused whatever it embeds, as no photo needs it
        if ip in _LOCAL_NAT64 or ip.teredo or ip.is_reserved or ip.is_site_local:
            return False
    return ip.is_global and not ip.is_multicast


def _left(deadline: float) -> float:
    """Seconds left before the deadline; a TimeoutError once it has passed."""
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError("the deadline has passed")
    return left


def _lookup(host: str, port: int, deadline: float) -> list[tuple]:
    """getaddrinfo within the deadline: a resolver that does not answer (its own timeouts and retries
    add up to tens of seconds) is left behind in a daemon thread."""
    answer: list = []

    def ask() -> None:
        try:
            answer.append(socket.getaddrinfo(host, port, type=socket.SOCK_STREAM))
        except (OSError, UnicodeError, ValueError) as error:
            answer.append(error)

    worker = threading.Thread(target=ask, name="captionary-resolve", daemon=True)
    worker.start()
    worker.join(_left(deadline))
    if not answer:
        raise TimeoutError("no answer from the name resolver")
    if isinstance(answer[0], ValueError):  # a NUL or another character no host name has
        raise ImageReadError(f"invalid URL: {answer[0]}")
    if isinstance(answer[0], (OSError, UnicodeError)):
        raise ImageReadError(f"download failed: cannot resolve {host} ({answer[0]})")
    return answer[0]


def _resolve(host: str, port: int, deadline: float) -> str:
    """The host's first address, which must be public: the caller connects to exactly this address."""
    addresses = [str(info[4][0]) for info in _lookup(host, port, deadline)]
    refused = [address for address in addresses if not is_public_address(address)]
    if refused or not addresses:
        raise ImageReadError(
            f"refused: {host} is a private, loopback or link-local address ({refused[0]})"
            if refused
            else f"download failed: no address for {host}"
        )
    return addresses[0]


def _parse(url: str, redirected: bool) -> tuple[SplitResult, str, int]:
    """(parts, host, port) of an http(s) URL; ImageReadError for any other, or one that cannot be parsed."""
    where = "invalid URL in a redirect" if redirected else "invalid URL"
    try:
        parts = urlsplit(url)
        host, port = parts.hostname, parts.port
    except ValueError as error:  # "Port out of range 0-65535", "Invalid IPv6 URL"
        raise ImageReadError(f"{where}: {error}") from None
    if parts.scheme not in ("http", "https"):
        raise ImageReadError("only http:// and https:// URLs can be captioned")
    if not host:
        raise ImageReadError(f"{where}: no host")
    if port == 0:
        raise ImageReadError(f"{where}: port 0")
    return parts, host, port or (443 if parts.scheme == "https" else 80)


class _DeadlineReader(io.RawIOBase):
    """The socket's bytes, each read waiting at most until the deadline: http.client reads the status
    line, the headers, each chunk-size line and the body through this."""

    def __init__(self, sock: socket.socket, deadline: float) -> None:
        self._sock = sock
        self._raw = sock.makefile("rb", buffering=0)  # holds the socket open as http.client's own file does
        self._deadline = deadline

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int | None:
        self._sock.settimeout(_left(self._deadline))
        return self._raw.readinto(buffer)

    def close(self) -> None:
        self._raw.close()
        super().close()


def _deadline_response(deadline: float) -> type[http.client.HTTPResponse]:
    class DeadlineResponse(http.client.HTTPResponse):
        def __init__(self, sock: socket.socket, *args, **kwargs) -> None:
            super().__init__(sock, *args, **kwargs)
            self.fp.close()
            self.fp = io.BufferedReader(_DeadlineReader(sock, deadline))

    return DeadlineResponse


class _PinnedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, host: str, address: str, port: int, deadline: float) -> None:
        super().__init__(host, port, timeout=_left(deadline))
        self._address = address
        self._deadline = deadline
        self.response_class = _deadline_response(deadline)

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), _left(self._deadline))


class _PinnedHTTPSConnection(_PinnedHTTPConnection):
    def __init__(self, host: str, address: str, port: int, deadline: float) -> None:
        super().__init__(host, address, port, deadline)
        self._tls = ssl.create_default_context()

    def connect(self) -> None:
        raw = socket.create_connection((self._address, self.port), _left(self._deadline))
        raw.settimeout(_left(self._deadline))  # the whole handshake, not each of its reads
        try:
            self.sock = self._tls.wrap_socket(raw, server_hostname=self.host)  # certificate checked for the name
        except BaseException:
            raw.close()
            raise


def _request_target(parts: SplitResult) -> str:
    """The path and query as sent: a space or a non-ASCII letter pasted from a page is percent-encoded,
    as a browser does (http.client refuses both), and what is already encoded stays as it is."""
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    return quote(target, safe="/?&=%:@!$'()*+,;~-._")


def fetch_url(url: str, deadline_seconds: float = URL_DEADLINE_SECONDS, max_bytes: int = URL_MAX_BYTES) -> bytes:
    """The bytes at an http(s) URL; anything refused, invalid or failed is an ImageReadError with one line."""
    deadline = time.monotonic() + deadline_seconds
    try:
        for hop in range(MAX_REDIRECTS + 1):
            answer = _get(url, hop > 0, deadline, max_bytes)
            if isinstance(answer, bytes):
                return answer
            url = answer
    except (OSError, http.client.HTTPException, ValueError) as error:
        if isinstance(error, TimeoutError) or time.monotonic() >= deadline:
            raise ImageReadError(f"download failed: not complete within {deadline_seconds:g} s") from None
        raise ImageReadError(f"download failed: {error}") from None
    raise ImageReadError(f"download failed: more than {MAX_REDIRECTS} redirects")


def _get(url: str, redirected: bool, deadline: float, max_bytes: int) -> bytes | str:
    """One hop: the body, or the absolute URL a redirect names."""
    parts, host, port = _parse(url, redirected)
    address = _resolve(host, port, deadline)
    connection_class = _PinnedHTTPSConnection if parts.scheme == "https" else _PinnedHTTPConnection
    connection = connection_class(host, address, port, deadline)
    response: http.client.HTTPResponse | None = None
    try:
        connection.request("GET", _request_target(parts), headers={"User-Agent": "captionary", "Accept": "image/*"})
        response = connection.getresponse()
        location = response.getheader("Location")
        if response.status in (301, 302, 303, 307, 308) and location:
            try:
                return urljoin(url, location)
            except ValueError as error:  # urljoin parses it: "Invalid IPv6 URL"
                raise ImageReadError(f"invalid URL in a redirect: {error}") from None
        if response.status != 200:
            raise ImageReadError(f"download failed: HTTP {response.status}")
        return _read_body(response, max_bytes)
    finally:
        if response is not None:
            response.close()  # it holds the socket once the server said it will close the connection
        connection.close()


def _read_body(response: http.client.HTTPResponse, max_bytes: int) -> bytes:
    declared = response.getheader("Content-Length")
    if declared and declared.isdigit() and int(declared) > max_bytes:
        raise ImageReadError(f"too large ({int(declared)} bytes; limit {max_bytes})")
    chunks: list[bytes] = []
    received = 0
    while chunk := response.read1(CHUNK):  # each read, chunk-size lines included, ends by the deadline
        received += len(chunk)
        if received > max_bytes:
            raise ImageReadError(f"too large (over {max_bytes} bytes)")
        chunks.append(chunk)
    return b"".join(chunks)
