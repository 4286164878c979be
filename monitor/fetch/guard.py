"""The private-network guard, applied where the connection is made.

Checking a name with one DNS lookup and then letting the HTTP client resolve it again leaves a
gap (DNS rebinding: the second answer may be 127.0.0.1). Here the lookup *is* the check:
`GuardedResolver` is the aiohttp connector's resolver, so every address aiohttp connects to has
been vetted (and aiohttp's DNS cache only ever holds vetted answers), for the first URL and for
every redirect. aiohttp never asks a resolver about an IP literal, so the Fetcher vets literal
hosts itself before each hop (`check_host`), which also refuses the legacy numeric forms
(`2130706433`, `0177.0.0.1`, `0x7f.1`) that the C library would read as 127.0.0.1.

IPv6 addresses that carry an IPv4 address (IPv4-mapped, IPv4-compatible, NAT64, 6to4, Teredo)
reach that IPv4 address, so they are judged by it.
"""

from __future__ import annotations

import ipaddress
import re
import socket

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import ThreadedResolver

NAT64 = ipaddress.ip_network("64:ff9b::/96")  # RFC 6052 well-known prefix: the last 32 bits are IPv4
NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")  # RFC 8215 local-use: a site's own translator
IPV4_COMPATIBLE = ipaddress.ip_network("::/96")  # deprecated ::a.b.c.d
# A host made only of numbers and dots (decimal, octal 0177, hex 0x7f): inet_aton reads it as IPv4.
_NUMERIC_HOST = re.compile(r"^(0x[0-9a-f]*|[0-9]+)(\.(0x[0-9a-f]*|[0-9]+))*\.?$", re.IGNORECASE)


class PrivateAddressError(Exception):
    """A host name resolved to loopback, link-local, private or otherwise non-public space."""

    def __init__(self, host: str, address: str) -> None:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
        inner = embedded_ipv4(ip) if isinstance(ip, ipaddress.IPv6Address) else []
        via = f" (it reaches {', '.join(map(str, inner))})" if inner else ""
        verb = "is the" if literal_address_or_none(host) is not None else "resolves to"
        super().__init__(f"{host} {verb} non-public address {address}{via} "
                         "(set fetch.allow_private_networks to allow)")


class AmbiguousHostError(Exception):
    """A numeric host in a legacy form (decimal, octal, hex, shortened) that hides an IPv4 address."""

    def __init__(self, host: str, address: str) -> None:
        super().__init__(f"host {host!r} is a legacy numeric form of {address}; "
                         "write the address as a dotted quad")


class UnresolvableError(Exception):
    def __init__(self, host: str, reason: str) -> None:
        super().__init__(f"cannot resolve {host}: {reason}")


def embedded_ipv4(ip: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address reaches through a translation or tunnel form."""
    if ip.ipv4_mapped is not None:  # ::ffff:a.b.c.d
        return [ip.ipv4_mapped]
    if ip in NAT64 or (ip in IPV4_COMPATIBLE and int(ip) > 1):  # 64:ff9b::a.b.c.d, ::a.b.c.d
        return [ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)]
    if ip.sixtofour is not None:  # 2002:AABB:CCDD::/48
        return [ip.sixtofour]
    if ip.teredo is not None:  # 2001:0::/32: (server, client)
        return list(ip.teredo)
    return []


def is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address):
        if ip in NAT64_LOCAL:
            return False
        inner = embedded_ipv4(ip)
        if inner:
            return all(is_public(str(v4)) for v4 in inner)
    return ip.is_global and not (ip.is_multicast or ip.is_unspecified or ip.is_reserved)


def literal_address(host: str) -> str | None:
    """The address an IP-literal host names (None for a name); AmbiguousHostError for the legacy
    numeric IPv4 forms, which only the C library's inet_aton understands."""
    address = literal_address_or_none(host)
    if address is not None:
        return address
    bare = host.strip("[]")
    if _NUMERIC_HOST.match(bare):
        try:
            address = socket.inet_ntoa(socket.inet_aton(bare.rstrip(".")))
        except OSError:
            address = "no valid address"
        raise AmbiguousHostError(host, address)
    return None


def literal_address_or_none(host: str) -> str | None:
    try:
        return str(ipaddress.ip_address(host.strip("[]").split("%", 1)[0]))
    except ValueError:
        return None


def check_host(host: str) -> None:
    """Refuse an IP-literal host that is not public, and any legacy numeric host. Names are
    left to the resolver (their addresses are vetted there)."""
    address = literal_address(host)
    if address is not None and not is_public(address):
        raise PrivateAddressError(host, address)


class GuardedResolver(AbstractResolver):
    """aiohttp's threaded resolver (getaddrinfo), with every answer vetted when `guard` is set.

    All addresses of a name must be public: a name that answers with one public and one
    private address is refused, as the connector may pick either.
    """

    def __init__(self, guard: bool = True) -> None:
        self._guard = guard
        self._inner = ThreadedResolver()

    async def resolve(self, host: str, port: int = 0,
                      family: socket.AddressFamily = socket.AF_INET) -> list[ResolveResult]:
        if self._guard:
            check_host(host)
        try:
            results = await self._inner.resolve(host, port, family)
        except OSError as e:
            raise UnresolvableError(host, str(getattr(e, "strerror", None) or e)) from None
        if not results:
            raise UnresolvableError(host, "no usable address")
        if self._guard:
            for r in results:
                if not is_public(r["host"]):
                    raise PrivateAddressError(host, r["host"])
        return results

    async def close(self) -> None:
        await self._inner.close()


async def public_addresses(host: str, port: int) -> list[str]:
    """Every address of host, or PrivateAddressError if any is non-public (all must pass)."""
    address = literal_address(host)
    if address is not None:
        if not is_public(address):
            raise PrivateAddressError(host, address)
        return [address]
    results = await GuardedResolver().resolve(host, port, socket.AF_UNSPEC)
    return list(dict.fromkeys(r["host"] for r in results))
