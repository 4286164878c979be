"""The private-network guard, applied where the connection is made.

Checking a name with one DNS lookup and then letting the HTTP client resolve it again leaves a
gap (DNS rebinding: the second answer may be 127.0.0.1). Here the client's network backend
resolves the name once, refuses non-public addresses and connects to the vetted address itself,
so what was checked is what is connected to, for the first URL and for every redirect.
Every per-site pool (pool.py) connects through it.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable
from typing import Any

import httpcore


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


async def public_addresses(host: str, port: int) -> list[str]:
    """Every address of host, or PrivateAddressError if any is non-public (all must pass)."""
    try:
        literal = ipaddress.ip_address(host.strip("[]"))
        addresses = [str(literal)]
    except ValueError:
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except socket.gaierror as e:
            raise UnresolvableError(host, str(e.strerror)) from None
        addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    for address in addresses:
        if not is_public(address):
            raise PrivateAddressError(host, address)
    return addresses


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """httpcore network backend that connects only to public addresses it resolved itself."""

    def __init__(self) -> None:
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                          local_address: str | None = None,
                          socket_options: Iterable[Any] | None = None) -> httpcore.AsyncNetworkStream:
        addresses = await public_addresses(host, port)
        last: Exception | None = None
        for address in addresses:  # TLS still uses the host name (SNI, certificate) above us
            try:
                return await self._inner.connect_tcp(address, port, timeout=timeout,
                                                      local_address=local_address,
                                                      socket_options=socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as e:
                last = e
        assert last is not None
        raise last

    async def connect_unix_socket(self, path: str, timeout: float | None = None,
                                  socket_options: Iterable[Any] | None = None) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("unix sockets are not fetched")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)
