"""Where Vantage may connect on someone else's say-so (a broadcaster's webhook URL).

A name is resolved when the connection is made, every address it resolves to must be a global
(internet) address unless the operator allows private ones, and the connection goes to the
address that was checked, never to whatever the name resolves to a moment later (DNS
rebinding). The same check runs when a webhook is subscribed, so a bad URL is refused at once.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from infra.core.errors import BadRequest

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class InwardAddress(BadRequest):
    """The URL's host is, or resolves to, an address Vantage must not reach for others."""


@dataclass(frozen=True)
class Pinned:
    """A URL bound to the addresses that were checked: connect to one of ``urls`` (each with an
    address literal, in the resolver's order), send ``host_header`` and, for https,
    ``sni_hostname`` so certificates are still checked against the name."""

    urls: list[str]
    addresses: list[IPAddress]
    host_header: str
    sni_hostname: str | None


def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address ``host`` has now (itself when it is an address literal)."""
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError) as exc:
        raise InwardAddress(f"{host} does not resolve: {exc}") from exc
    found = []
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if address not in found:
            found.append(address)
    if not found:
        raise InwardAddress(f"{host} does not resolve")
    return found


def pin(url: str, *, allow_private: bool) -> Pinned:
    """Resolve ``url``'s host now and refuse it unless every address is global (or private ones
    are allowed); the returned URL connects to the first address checked."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.scheme not in ("http", "https") or not host:
        raise InwardAddress("only http and https URLs with a host are reached")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    if not allow_private and (host.lower() == "localhost" or host.lower().endswith(".localhost")):
        raise InwardAddress(f"{host} is this machine")
    addresses = resolve(host, port)
    if not allow_private:
        inward = [a for a in addresses if not a.is_global]
        if inward:
            raise InwardAddress(f"{host} resolves to {inward[0]}, which is not an internet address")
    urls = []
    for address in addresses:
        literal = f"[{address}]" if address.version == 6 else str(address)
        urls.append(
            urlunsplit((parts.scheme, f"{literal}:{port}", parts.path or "/", parts.query, ""))
        )
    shown = f"[{host}]" if ":" in host else host
    host_header = shown if parts.port is None else f"{shown}:{parts.port}"
    sni = host if parts.scheme == "https" and _literal(host) is None else None
    return Pinned(urls, addresses, host_header, sni)


def _literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None
