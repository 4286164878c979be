"""The private-network guard, applied where the connection is made.

Checking a name with one DNS lookup and then letting the HTTP client resolve it again leaves a
gap (DNS rebinding: the second answer may be 127.0.0.1). Here the transport (pool.py) resolves
the name once with `public_addresses`, which refuses non-public addresses, and connects to a
vetted address itself, so what was checked is what is connected to, for the first URL and for
every redirect.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket


class PrivateAddressError(Exception):
    """A host name resolved to loopback, link-local, private or otherwise non-public space."""

    def __init__(self, host: str, address: str) -> None:
        super().__init__(f"{host} resolves to non-public address {address} "
                         "(set fetch.allow_private_networks to allow)")


class UnresolvableError(Exception):
    def __init__(self, host: str, reason: str) -> None:
        super().__init__(f"cannot resolve {host}: {reason}")


def is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped  # ::ffff:127.0.0.1 is loopback too
    return ip.is_global


async def addresses_of(host: str, port: int) -> list[str]:
    """Every address of host (an IP literal is its own), in the resolver's order."""
    try:
        literal = ipaddress.ip_address(host.strip("[]"))
        addresses = [str(literal)]
    except ValueError:
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except socket.gaierror as e:
            raise UnresolvableError(host, str(e.strerror)) from None
        addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    return addresses


async def public_addresses(host: str, port: int) -> list[str]:
    """Every address of host, or PrivateAddressError if any is non-public (all must pass)."""
    addresses = await addresses_of(host, port)
    for address in addresses:
        if not is_public(address):
            raise PrivateAddressError(host, address)
    return addresses
