"""One HTTP attempt: POST the signed body to the checked address, never following redirects.

The connection goes to the address url_safety checked (``Target.address``);
the host name travels in the Host header and, for https, in SNI and the
certificate check. Only the first 2 KB of the answer are read.
"""
from __future__ import annotations

import http.client
import socket
import ssl
import time
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from datetime import datetime, timezone

from app.services.webhooks.url_safety import HostUnresolvable, Target, UnsafeUrl, connect_target

RESPONSE_LIMIT = 2048
USER_AGENT = "Ticketry-Webhooks/1.0"


@dataclass
class AttemptResult:
    status_code: int | None = None
    latency_ms: int | None = None
    response_body: str | None = None
    error: str | None = None
    retry_after: float | None = None  # seconds the receiver asked us to wait
    location: str | None = None
    refused: bool = False  # the URL or its address is not allowed (not retried)
    request_headers: dict = field(default_factory=dict)

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


class _PinnedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, target: Target, timeout: float):
        super().__init__(target.host, target.port, timeout=timeout)
        self._address = target.address

    def connect(self):
        self.sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, target: Target, timeout: float):
        super().__init__(target.host, target.port, timeout=timeout, context=ssl.create_default_context())
        self._address = target.address

    def connect(self):
        sock = socket.create_connection((self._address, self.port), self.timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Retry-After as seconds: delta-seconds or an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():  # '²'.isdigit() is True, float('²') raises
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - (now or datetime.now(timezone.utc))).total_seconds())


def post(url: str, body: bytes, headers: dict[str, str], *, timeout: float, allowed_hosts: str) -> AttemptResult:
    """Send one attempt; never raises for network trouble: the result says what happened."""
    request_headers = {"content-type": "application/json", "user-agent": USER_AGENT, **headers}
    result = AttemptResult(request_headers=request_headers)
    started = time.monotonic()
    deadline = started + timeout
    try:
        target = connect_target(url, allowed_hosts)
    except UnsafeUrl as exc:
        result.error, result.refused = f"Refused: {exc}", True
        return result
    except HostUnresolvable as exc:
        result.error = str(exc)[:500]
        return result
    connection_class = _PinnedHTTPSConnection if target.scheme == "https" else _PinnedHTTPConnection
    connection = connection_class(target, timeout)
    try:
        connection.request("POST", target.path, body=body, headers={**request_headers, "connection": "close"})
        if connection.sock is not None:
            connection.sock.settimeout(max(0.001, deadline - time.monotonic()))
        response = connection.getresponse()
        result.status_code = response.status
        if connection.sock is not None:
            connection.sock.settimeout(max(0.001, deadline - time.monotonic()))
        raw = response.read(RESPONSE_LIMIT)
        result.response_body = raw.decode("utf-8", errors="replace")
        result.retry_after = parse_retry_after(response.getheader("retry-after"))
        result.location = response.getheader("location")
    except (TimeoutError, socket.timeout):
        result.error = f"Timed out after {timeout:g} s"
    except ssl.SSLError as exc:
        result.error = f"TLS error: {exc}"[:500]
    except (OSError, http.client.HTTPException) as exc:
        result.error = f"{type(exc).__name__}: {exc}"[:500]
    finally:
        connection.close()
        result.latency_ms = int((time.monotonic() - started) * 1000)
    return result
