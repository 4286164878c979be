"""One small pool per site: the per-host connection cap holds, connections are reused, and the
number of pools (so of open sockets) stays bounded however many sites are fetched."""

import asyncio
from collections import Counter

import httpx
import pytest

from monitor.demo.servers import free_port
from monitor.fetch.pool import HostPoolTransport

HOSTS = [f"127.0.0.{i}" for i in range(1, 21)]  # all of 127/8 is loopback on Linux


class _Sites:
    """Keep-alive HTTP/1.1 on 20 loopback addresses; counts connections, and the most open
    at once, per address."""

    def __init__(self) -> None:
        self.port = free_port()
        self.connections: Counter[str] = Counter()
        self.open: Counter[str] = Counter()
        self.peak: Counter[str] = Counter()

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        host = writer.get_extra_info("sockname")[0]
        self.connections[host] += 1
        self.open[host] += 1
        self.peak[host] = max(self.peak[host], self.open[host])
        try:
            while True:
                await reader.readuntil(b"\r\n\r\n")
                await asyncio.sleep(0.02)
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            self.open[host] -= 1
            writer.close()

    def url(self, host: str, path: str = "/") -> str:
        return f"http://{host}:{self.port}{path}"


@pytest.fixture
async def sites():
    s = _Sites()
    server = await asyncio.start_server(s.handle, HOSTS, s.port)
    yield s
    server.close()
    await server.wait_closed()


async def test_per_host_cap_and_reuse(sites):
    transport = HostPoolTransport(per_host=2, max_pools=8)
    async with httpx.AsyncClient(transport=transport) as client:
        got = await asyncio.gather(*(client.get(sites.url(HOSTS[0], f"/{i}")) for i in range(6)))
        assert [r.text for r in got] == ["ok"] * 6
        assert sites.peak[HOSTS[0]] <= 2  # six at once, never more than two connections
        for i in range(5):  # one after another: the kept-alive connection serves them all
            assert (await client.get(sites.url(HOSTS[1], f"/{i}"))).status_code == 200
        assert sites.connections[HOSTS[1]] == 1


async def test_pools_stay_bounded_across_many_sites(sites):
    transport = HostPoolTransport(per_host=2, max_pools=4)
    async with httpx.AsyncClient(transport=transport) as client:
        for host in HOSTS:
            await asyncio.gather(*(client.get(sites.url(host, f"/{i}")) for i in range(2)))
            assert transport.pool_count <= 4
        # A pool with a request under way is never closed, even over the bound.
        async with client.stream("GET", sites.url(HOSTS[0])) as r:
            for host in HOSTS[1:6]:
                await client.get(sites.url(host))
            assert (await r.aread()) == b"ok"
        await asyncio.sleep(0.05)
        assert sum(sites.open.values()) <= 4  # idle sockets: one per kept pool


async def test_idle_pools_are_closed_after_the_keepalive_expiry(sites):
    transport = HostPoolTransport(per_host=2, max_pools=100, keepalive_expiry=0.1)
    async with httpx.AsyncClient(transport=transport) as client:
        for host in HOSTS[:5]:
            await client.get(sites.url(host))
        assert transport.pool_count == 5
        await asyncio.sleep(0.3)
        await client.get(sites.url(HOSTS[5]))  # a new site sweeps the expired ones
        assert transport.pool_count == 1
        await asyncio.sleep(0.05)
        assert sum(sites.open.values()) == 1
