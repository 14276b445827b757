"""Sending one webhook request, safely (no Django here).

- ``resolve(url, allowed)``: the URL's host is resolved once and *every* address checked; an
  address that is not public (loopback, private, link-local, unique-local IPv6, multicast,
  reserved, unspecified, shared, the cloud metadata addresses, an IPv4 address mapped into IPv6
  of any of those) is refused unless it lies in one of ``allowed`` (``PGGIT_WEBHOOK_ALLOWED_NETWORKS``).
- ``post(target, body, headers, timeout)``: connects to the address that was checked (no second
  DNS lookup, so a name that resolves elsewhere the second time cannot reach an inner address),
  sends the name as the Host header and, for https, as the TLS server name (SNI, and the
  certificate is checked against it). Redirects are not followed (a 3xx is a failed try).
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

# cloud metadata services (AWS, GCP, Azure, OpenStack: 169.254.169.254; AWS IPv6: fd00:ec2::254;
# Alibaba: 100.100.100.200; Oracle: 192.0.0.192): refused even when a wider allowed network covers them
METADATA = {ipaddress.ip_address(a) for a in ("169.254.169.254", "fd00:ec2::254", "100.100.100.200", "192.0.0.192")}
RESPONSE_HEAD = 1024


class UnsafeURL(ValueError):
    """The URL may not be called (its scheme, or an address its host resolves to)."""


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str  # the name, as the Host header and TLS server name
    port: int
    path: str  # path and query
    address: str  # the checked IP address to connect to


def _networks(allowed) -> list:
    return [ipaddress.ip_network(n, strict=False) for n in allowed]


def refused_reason(address: str, allowed=()) -> str | None:
    """Why ``address`` may not be called, or None if it may."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip in METADATA:
        return f"{ip} is a cloud metadata address"
    if any(ip in net for net in _networks(allowed)):
        return None
    for label, flag in (("loopback", ip.is_loopback), ("private", ip.is_private), ("link-local", ip.is_link_local),
                        ("multicast", ip.is_multicast), ("reserved", ip.is_reserved),
                        ("unspecified", ip.is_unspecified)):
        if flag:
            return f"{ip} is a {label} address"
    if not ip.is_global:
        return f"{ip} is not a public address"
    return None


def resolve(url: str, allowed=()) -> Target:
    """The URL's target, with the first address of its host; every address checked (UnsafeURL)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise UnsafeURL("only http and https URLs are called")
    if not parts.hostname:
        raise UnsafeURL("the URL has no host")
    if parts.username or parts.password:
        raise UnsafeURL("the URL may not hold credentials")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise UnsafeURL("the URL's port is not valid") from None
    host = parts.hostname
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise UnsafeURL(f"{host} does not resolve: {exc}") from None
    addresses = list(dict.fromkeys(info[4][0] for info in infos))
    if not addresses:
        raise UnsafeURL(f"{host} does not resolve")
    for address in addresses:
        reason = refused_reason(address, allowed)
        if reason:
            raise UnsafeURL(f"{host} resolves to a refused address: {reason}")
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return Target(parts.scheme, host, port, path, addresses[0])


class _PinnedHTTP(http.client.HTTPConnection):
    def __init__(self, target: Target, timeout: float):
        super().__init__(target.host, target.port, timeout=timeout)
        self._address = target.address

    def connect(self):
        self.sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class _PinnedHTTPS(http.client.HTTPSConnection):
    def __init__(self, target: Target, timeout: float):
        super().__init__(target.host, target.port, timeout=timeout, context=ssl.create_default_context())
        self._address = target.address

    def connect(self):
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


@dataclass
class Result:
    status: int | None = None
    head: str = ""
    error: str = ""
    duration_ms: int = 0

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def post(target: Target, body: bytes, headers: dict, timeout: float) -> Result:
    """POST ``body`` to ``target`` (the checked address); the socket's timeout applies to the
    connection and to each read, and the whole try is cut at ``2 × timeout`` between reads."""
    started = time.monotonic()
    conn_class = _PinnedHTTPS if target.scheme == "https" else _PinnedHTTP
    conn = conn_class(target, timeout)
    result = Result()
    try:
        default_port = 443 if target.scheme == "https" else 80
        host_header = target.host if target.port == default_port else f"{target.host}:{target.port}"
        if ":" in target.host and not target.host.startswith("["):
            host_header = f"[{target.host}]" if target.port == default_port else f"[{target.host}]:{target.port}"
        conn.putrequest("POST", target.path, skip_host=True, skip_accept_encoding=True)
        conn.putheader("Host", host_header)
        for name, value in headers.items():
            conn.putheader(name, value)
        conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body)
        response = conn.getresponse()
        result.status = response.status
        head = b""
        while len(head) < RESPONSE_HEAD and time.monotonic() - started < 2 * timeout:
            chunk = response.read1(RESPONSE_HEAD - len(head))
            if not chunk:
                break
            head += chunk
        result.head = head.decode("utf-8", "replace")
        if 300 <= response.status < 400:
            result.error = f"redirect to {response.getheader('Location', '')[:200]} not followed"
    except (TimeoutError, socket.timeout):
        result.error = f"timed out after {timeout:g} s"
    except (OSError, http.client.HTTPException) as exc:
        result.error = f"{type(exc).__name__}: {exc}"[:500]
    finally:
        conn.close()
        result.duration_ms = int((time.monotonic() - started) * 1000)
    return result
