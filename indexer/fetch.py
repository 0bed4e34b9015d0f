"""Download an image a person named by URL (the `caption` command, the app's Caption tab), safely.

Only http(s); every hop's host is resolved once and must be a public address, and the connection goes
to that very address (so a DNS answer cannot change between the check and the connection); redirects
are followed by hand and checked the same way; one deadline covers the whole download, because a
server that sends a byte every few seconds never trips a per-read timeout."""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import time
from urllib.parse import urljoin, urlsplit

from indexer.imaging import ImageReadError

URL_DEADLINE_SECONDS = 15
URL_MAX_BYTES = 50 * 1024 * 1024
MAX_REDIRECTS = 5
CHUNK = 64 * 1024


def is_public_address(address: str) -> bool:
    """Not loopback, private, link-local (cloud metadata at 169.254.169.254), multicast or reserved."""
    ip = ipaddress.ip_address(address.split("%")[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def _resolve(host: str, port: int, deadline: float) -> str:
    """The host's first address, which must be public: the caller connects to exactly this address."""
    if time.monotonic() >= deadline:
        raise ImageReadError(f"download failed: no answer within {URL_DEADLINE_SECONDS} s")
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as error:
        raise ImageReadError(f"download failed: cannot resolve {host} ({error})") from None
    addresses = [str(info[4][0]) for info in infos]
    refused = [address for address in addresses if not is_public_address(address)]
    if refused or not addresses:
        raise ImageReadError(
            f"refused: {host} is a private, loopback or link-local address ({refused[0]})"
            if refused
            else f"download failed: no address for {host}"
        )
    return addresses[0]


class _PinnedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, host: str, address: str, port: int, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, host: str, address: str, port: int, timeout: float) -> None:
        self._tls = ssl.create_default_context()
        super().__init__(host, port, timeout=timeout, context=self._tls)
        self._address = address

    def connect(self) -> None:
        raw = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._tls.wrap_socket(raw, server_hostname=self.host)  # certificate checked for the name


def fetch_url(url: str, deadline_seconds: float = URL_DEADLINE_SECONDS, max_bytes: int = URL_MAX_BYTES) -> bytes:
    """The bytes at an http(s) URL; anything refused or failed is an ImageReadError with one line."""
    deadline = time.monotonic() + deadline_seconds
    for _ in range(MAX_REDIRECTS + 1):
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ImageReadError("only http:// and https:// URLs can be captioned")
        port = parts.port or (443 if parts.scheme == "https" else 80)
        address = _resolve(parts.hostname, port, deadline)
        connection_class = _PinnedHTTPSConnection if parts.scheme == "https" else _PinnedHTTPConnection
        connection = connection_class(parts.hostname, address, port, timeout=max(0.1, deadline - time.monotonic()))
        try:
            target = parts.path or "/"
            if parts.query:
                target += "?" + parts.query
            connection.request("GET", target, headers={"User-Agent": "captionary", "Accept": "image/*"})
            response = connection.getresponse()
            if response.status in (301, 302, 303, 307, 308) and response.getheader("Location"):
                url = urljoin(url, response.getheader("Location", ""))
                continue
            if response.status != 200:
                raise ImageReadError(f"download failed: HTTP {response.status}")
            return _read_body(connection, response, deadline, deadline_seconds, max_bytes)
        except (OSError, http.client.HTTPException, ValueError) as error:
            if time.monotonic() >= deadline:
                raise ImageReadError(f"download failed: not complete within {deadline_seconds:g} s") from None
            raise ImageReadError(f"download failed: {error}") from None
        finally:
            connection.close()
    raise ImageReadError(f"download failed: more than {MAX_REDIRECTS} redirects")


def _read_body(connection, response, deadline: float, deadline_seconds: float, max_bytes: int) -> bytes:
    declared = response.getheader("Content-Length")
    if declared and declared.isdigit() and int(declared) > max_bytes:
        raise ImageReadError(f"too large ({int(declared)} bytes; limit {max_bytes})")
    chunks: list[bytes] = []
    received = 0
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise ImageReadError(f"download failed: not complete within {deadline_seconds:g} s")
        if connection.sock is not None:
            connection.sock.settimeout(remaining)  # each read waits at most until the deadline
        chunk = response.read1(CHUNK)
        if not chunk:
            return b"".join(chunks)
        received += len(chunk)
        if received > max_bytes:
            raise ImageReadError(f"too large (over {max_bytes} bytes)")
        chunks.append(chunk)
