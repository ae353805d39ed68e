"""Who the client is and whether it used TLS: from the connection, or from trusted proxies.

Request headers are written by the client, so ``X-Forwarded-For`` and ``X-Forwarded-Proto``
mean something only when the connection comes from a reverse proxy the operator named
(``--trusted-proxies`` / ``OPENSTS_TRUSTED_PROXIES``). Then, as MDN's X-Forwarded-For
"Security and privacy concerns" recommends, the list is read from the right: each proxy
appends the address it received the request from, so the right-most entries were written
by our proxies and the first untrusted one, walking leftwards, is the client. Anything
left of it is the client's own claim.

``X-Forwarded-Proto`` is aligned with ``X-Forwarded-For`` from the right (each proxy
appends the scheme of the connection it received): the entry for the client's hop says
whether the client used TLS. A header that does not parse is ignored as a whole. The
``Forwarded`` header (RFC 7239) is not read.

:func:`apply` runs once per request in ``OpenStsApp``: it rewrites the ASGI scope's
``client`` and ``scheme`` (where Starlette and the AWS endpoint look), and :func:`origin`
is the one reader of both.
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from opensts.web.asgi import Scope

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

# When the ASGI server gives no peer (e.g. a Unix socket), the request is local.
NO_PEER = "127.0.0.1"


@functools.lru_cache(maxsize=4096)  # every request parses its peer: ip_address is ~5 µs
def parse_address(text: str) -> Address | None:
    """An IP literal (IPv4-mapped IPv6 becomes IPv4), or None."""
    try:
        address = ipaddress.ip_address(text.strip())
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


@dataclass(frozen=True)
class Origin:
    address: str  # the client's IP address (aws:SourceIp, CloudTrail sourceIPAddress)
    secure: bool  # the client's connection used TLS (aws:SecureTransport)


class TrustedProxies:
    def __init__(self, cidrs: Iterable[str] = ()):
        """``cidrs`` as ``Settings.trusted_proxies`` holds them (validated there)."""
        self.networks: tuple[Network, ...] = tuple(ipaddress.ip_network(c) for c in cidrs)

    def trusts(self, address: Address) -> bool:
        return any(address in network for network in self.networks)

    def resolve(self, peer: str | None, secure: bool,
                headers: Iterable[tuple[bytes, bytes]]) -> Origin:
        """The client's origin from the connection's peer and TLS state and the headers."""
        peer_address = parse_address(peer) if peer else None
        if peer_address is None:
            return Origin(peer or NO_PEER, secure)
        if not self.networks or not self.trusts(peer_address):
            return Origin(str(peer_address), secure)
        hops = _header_list(headers, b"x-forwarded-for")
        addresses = [parse_address(hop) for hop in hops] if hops else []
        if not addresses or any(a is None for a in addresses):
            return Origin(str(peer_address), secure)
        # Right to left: skip our own proxies; the first other address is the client.
        index = len(addresses) - 1
        while index > 0 and self.trusts(addresses[index]):  # type: ignore[arg-type]
            index -= 1
        client = addresses[index]
        return Origin(str(client), _proto(headers, index, len(addresses), secure))


def _header_list(headers: Iterable[tuple[bytes, bytes]], name: bytes) -> list[str]:
    """The comma-separated entries of every ``name`` header line, in order."""
    entries: list[str] = []
    for key, value in headers:
        if key.lower() == name:
            entries.extend(part.strip() for part in value.decode("latin-1").split(","))
    return entries


def _proto(headers: Iterable[tuple[bytes, bytes]], index: int, hops: int,
           secure: bool) -> bool:
    """X-Forwarded-Proto's entry for X-Forwarded-For entry ``index`` (of ``hops``), aligned
    from the right; the connection's own TLS state when there is no such entry."""
    protos = [p.lower() for p in _header_list(headers, b"x-forwarded-proto")]
    if not protos or any(p not in ("http", "https") for p in protos):
        return secure
    position = len(protos) - (hops - index)
    if position < 0:
        return secure  # no proxy said how the client connected
    return protos[position] == "https"


def apply(scope: Scope, proxies: TrustedProxies) -> Scope:
    """A copy of ``scope`` whose ``client`` and ``scheme`` are the resolved origin's."""
    client = scope.get("client")
    peer = client[0] if client else None
    found = proxies.resolve(peer, scope.get("scheme") == "https", scope.get("headers", []))
    port = client[1] if client and found.address == peer else 0
    return {**scope, "client": (found.address, port),
            "scheme": "https" if found.secure else "http", "opensts.origin": found,
            "opensts.peer": peer}  # the connection's own peer (the authorizer hook's gateway)


def origin(scope: Mapping[str, Any]) -> Origin:
    """The request's origin (after :func:`apply`; the raw connection otherwise)."""
    found = scope.get("opensts.origin")
    if isinstance(found, Origin):
        return found
    client = scope.get("client")
    return Origin(client[0] if client else NO_PEER, scope.get("scheme") == "https")
