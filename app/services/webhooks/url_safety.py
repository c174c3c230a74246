"""Where webhooks may go: http(s) URLs of public addresses only.

Checked when an endpoint is saved and again for every attempt against the
address actually used: the host name is resolved once, every address it
resolves to is checked, and the connection goes to that checked address with
the name in the Host header and TLS SNI (no second lookup, so no DNS-rebinding
window). Redirects are never followed (see transport.py).

WEBHOOK_ALLOWED_HOSTS (comma-separated host names, IP addresses or CIDR
networks) lifts the rule for what it names: a named host may resolve anywhere,
an address inside a listed network is allowed. Tests and local development
use ``127.0.0.1``.
"""
from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

MAX_URL = 2048

# Loopback, private, link-local, metadata and other non-public ranges, with a label for messages.
_RANGES = (
    ("127.0.0.0/8", "loopback"), ("::1/128", "loopback"),
    ("10.0.0.0/8", "private"), ("172.16.0.0/12", "private"), ("192.168.0.0/16", "private"),
    ("fc00::/7", "private"), ("100.64.0.0/10", "shared (carrier-grade NAT)"),
    ("169.254.0.0/16", "link-local or metadata"), ("fe80::/10", "link-local"),
    ("168.63.129.16/32", "metadata"),
    ("0.0.0.0/8", "unspecified"), ("::/128", "unspecified"),
    ("192.0.0.0/24", "reserved"), ("240.0.0.0/4", "reserved"), ("255.255.255.255/32", "broadcast"),
    ("224.0.0.0/4", "multicast"), ("ff00::/8", "multicast"),
)
BLOCKED = tuple((ipaddress.ip_network(net), label) for net, label in _RANGES)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_V4_COMPATIBLE = ipaddress.ip_network("::/96")


class UnsafeUrl(ValueError):
    """A URL webhooks may not be sent to; the message says why, for people."""


class HostUnresolvable(OSError):
    """The host name did not resolve (at delivery time: retried like a connection error)."""


@dataclass(frozen=True)
class Allowlist:
    hosts: frozenset[str] = frozenset()
    networks: tuple = ()

    @classmethod
    def parse(cls, value: str | None) -> "Allowlist":
        hosts, networks = set(), []
        for entry in (value or "").split(","):
            entry = entry.strip().lower().strip("[]")
            if not entry:
                continue
            try:
                networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                hosts.add(entry.rstrip("."))
        return cls(frozenset(hosts), tuple(networks))

    def names(self, host: str) -> bool:
        return host.lower().rstrip(".") in self.hosts

    def covers(self, address) -> bool:
        return any(address.version == net.version and address in net for net in self.networks)


def _embedded_ipv4(address):
    """The IPv4 address inside an IPv6 one (mapped, 6to4, NAT64, Teredo, IPv4-compatible), if any."""
    if address.version != 6:
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if address in _NAT64 or (address in _V4_COMPATIBLE and int(address) > 1):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def forbidden_reason(address) -> str | None:
    """Why an address is not a public one (a label), or None when webhooks may go there."""
    address = ipaddress.ip_address(address) if isinstance(address, str) else address
    if address.version == 6 and address.scope_id:
        address = ipaddress.IPv6Address(str(address).split("%")[0])
    for network, label in BLOCKED:
        if address.version == network.version and address in network:
            return label
    inner = _embedded_ipv4(address)
    if inner is not None:
        return forbidden_reason(inner)
    return None


@dataclass(frozen=True)
class Target:
    """Where one attempt connects: the checked address, and the name it is sent to."""

    scheme: str
    host: str
    port: int
    path: str
    address: str


def parse_url(url: str):
    """The parts of a URL webhooks can use, or UnsafeUrl saying what is wrong."""
    if not isinstance(url, str) or not url.strip():
        raise UnsafeUrl("Enter the URL that receives the webhooks.")
    url = url.strip()
    if len(url) > MAX_URL:
        raise UnsafeUrl(f"Must be at most {MAX_URL} characters.")
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in url):
        raise UnsafeUrl("A URL cannot contain spaces or control characters.")
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https"):
        raise UnsafeUrl("Use an http:// or https:// URL.")
    if parts.username is not None or parts.password is not None:
        raise UnsafeUrl("Credentials in the URL are not supported: receivers verify the signature instead.")
    if not parts.hostname:
        raise UnsafeUrl("The URL needs a host name.")
    try:
        port = parts.port
    except ValueError as exc:
        raise UnsafeUrl("The port is not valid.") from exc
    if port == 0:
        raise UnsafeUrl("The port is not valid.")
    return parts


def resolve(host: str, port: int) -> list[str]:
    """Every address the host resolves to, in the resolver's order (one lookup)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise HostUnresolvable(f"Could not resolve {host}: {exc}") from exc
    addresses: list[str] = []
    for family, _type, _proto, _canon, sockaddr in infos:
        if family in (socket.AF_INET, socket.AF_INET6) and sockaddr[0] not in addresses:
            addresses.append(sockaddr[0])
    if not addresses:
        raise HostUnresolvable(f"Could not resolve {host}: no address")
    return addresses


def _check_addresses(host: str, addresses: list[str], allow: Allowlist) -> None:
    if allow.names(host):
        return
    for text in addresses:
        address = ipaddress.ip_address(text.split("%")[0])
        reason = forbidden_reason(address)
        if reason is not None and not allow.covers(address):
            shown = host if host == text else f"{host} ({text})"
            raise UnsafeUrl(f"Webhooks cannot be sent to {shown}: a {reason} address.")


def check_url(url: str, allowed_hosts: str) -> str:
    """Save-time check: the URL, stripped, when it is allowed; UnsafeUrl otherwise."""
    parts = parse_url(url)
    port = parts.port or (443 if parts.scheme.lower() == "https" else 80)
    try:
        addresses = resolve(parts.hostname, port)
    except HostUnresolvable as exc:
        raise UnsafeUrl(f"The host {parts.hostname} does not resolve.") from exc
    _check_addresses(parts.hostname, addresses, Allowlist.parse(allowed_hosts))
    return url.strip()


def connect_target(url: str, allowed_hosts: str) -> Target:
    """Attempt-time check: resolve once, check every address, connect to the first.

    UnsafeUrl when the URL or any address is not allowed; HostUnresolvable when
    the name does not resolve now.
    """
    parts = parse_url(url)
    scheme = parts.scheme.lower()
    port = parts.port or (443 if scheme == "https" else 80)
    addresses = resolve(parts.hostname, port)
    _check_addresses(parts.hostname, addresses, Allowlist.parse(allowed_hosts))
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return Target(scheme=scheme, host=parts.hostname, port=port, path=path, address=addresses[0])
