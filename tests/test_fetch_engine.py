"""The HTTP engine under the Fetcher (aiohttp, engine.py): the per-host connection cap holds,
connections are kept alive and reused, a connection the server dropped is replaced, idle ones
are closed, every framing a server may use is read, and TLS certificates are checked."""

import asyncio
import ssl
from collections import Counter

import pytest

from monitor.demo.servers import free_port
from monitor.fetch import FetchError, Fetcher, FetchSettings, HTTPStatusError, engine

HOSTS = [f"127.0.0.{i}" for i in range(1, 21)]  # all of 127/8 is loopback on Linux


def settings(per_host: int = 2) -> FetchSettings:
    return FetchSettings(allow_private_networks=True, respect_robots=False, per_host=per_host)


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
    async with Fetcher(settings(per_host=2)) as f:
        got = await asyncio.gather(*(f.get(sites.url(HOSTS[0], f"/{i}")) for i in range(6)))
        assert [r.body for r in got] == [b"ok"] * 6
        assert sites.peak[HOSTS[0]] <= 2  # six at once, never more than two connections
        for i in range(5):  # one after another: the kept-alive connection serves them all
            assert (await f.get(sites.url(HOSTS[1], f"/{i}"))).status == 200
        assert sites.connections[HOSTS[1]] == 1


async def test_idle_connections_are_closed_after_the_keepalive_expiry(sites, monkeypatch):
    monkeypatch.setattr(engine, "KEEPALIVE", 0.1)
    async with Fetcher(settings()) as f:
        await asyncio.gather(*(f.get(sites.url(host)) for host in HOSTS[:5]))
        assert sum(sites.open.values()) == 5  # one kept per site …
        await asyncio.sleep(0.5)
        assert sum(sites.open.values()) == 0  # … and closed once idle past the expiry


async def test_closing_the_fetcher_closes_its_connections(sites):
    async with Fetcher(settings()) as f:
        for host in HOSTS[:3]:
            await f.get(sites.url(host))
        assert sum(sites.open.values()) == 3
    await asyncio.sleep(0.05)
    assert sum(sites.open.values()) == 0


class _Scripted:
    """One loopback address; `answer(connection, n, path)` gives the raw bytes for the n-th
    request on a connection (both counted from 0), or None to close without answering."""

    def __init__(self, answer) -> None:  # noqa: ANN001
        self.answer = answer
        self.port = free_port()
        self.connections = 0
        self.heads: list[bytes] = []

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conn, self.connections = self.connections, self.connections + 1
        try:
            for n in range(1000):
                head = await reader.readuntil(b"\r\n\r\n")
                self.heads.append(head)
                raw = self.answer(conn, n, head.split(b" ")[1].decode())
                if raw is None:
                    break
                writer.write(raw)
                await writer.drain()
                if b"connection: close" in raw.lower() or raw.startswith(b"HTTP/1.0"):
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    def url(self, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.port}{path}"


@pytest.fixture
async def scripted():
    servers = []

    async def start(answer):  # noqa: ANN001, ANN202
        s = _Scripted(answer)
        servers.append(await asyncio.start_server(s.handle, "127.0.0.1", s.port))
        return s

    yield start
    for server in servers:
        server.close()
        await server.wait_closed()


OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"


async def test_a_kept_connection_the_server_dropped_is_replaced(scripted):
    # The server answers once per connection, then drops the connection when the next request
    # arrives: the race every keep-alive client meets. The request is sent again on a new one.
    site = await scripted(lambda conn, n, path: OK if n == 0 else None)
    async with Fetcher(settings(per_host=1)) as f:
        for _ in range(3):
            assert (await f.get(site.url())).body == b"ok"
    assert site.connections == 3


async def test_a_server_that_never_answers_is_an_error_not_endless_retries(scripted):
    site = await scripted(lambda conn, n, path: None)
    async with Fetcher(settings(per_host=1)) as f:
        with pytest.raises(FetchError, match="closed the connection without a complete answer"):
            await f.get(site.url())
    assert site.connections <= 2  # at most the one retry a GET is allowed


async def test_framings_and_interim_answers(scripted):
    answers = {
        "/chunked": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
        "/continue": b"HTTP/1.1 100 Continue\r\n\r\n" + OK,
        "/big-head": (b"HTTP/1.1 200 OK\r\n" + b"".join(b"X-Pad-%d: %s\r\n" % (i, b"p" * 900) for i in range(50))
                      + b"Set-Cookie: " + b"c" * 12000 + b"\r\nContent-Length: 2\r\n\r\nok"),
        "/close": b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok",
        "/short": b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 100\r\n\r\nonly ten b",
        "/garbage": b"HTTP/1.1 2OO OK\r\n\r\n",
    }
    site = await scripted(lambda conn, n, path: answers[path])
    async with Fetcher(settings(per_host=1)) as f:
        assert (await f.get(site.url("/chunked"))).body == b"abcde"
        assert (await f.get(site.url("/continue"))).body == b"ok"
        assert (await f.get(site.url("/big-head"))).body == b"ok"  # 57 KB of headers, one line of 12 KB
        assert site.connections == 1  # all on one kept-alive connection
        assert (await f.get(site.url("/close"))).body == b"ok"
        assert (await f.get(site.url("/chunked"))).body == b"abcde"
        assert site.connections == 2  # "Connection: close" was honoured
        with pytest.raises(FetchError, match="incomplete response"):
            await f.get(site.url("/short"))
        with pytest.raises(FetchError, match="malformed response"):
            await f.get(site.url("/garbage"))


async def test_a_body_read_to_its_close_without_length(scripted):
    site = await scripted(lambda conn, n, path: b"HTTP/1.0 200 OK\r\n\r\nuntil the end" if n == 0 else None)
    async with Fetcher(settings(per_host=1)) as f:
        assert (await f.get(site.url())).body == b"until the end"
        assert (await f.get(site.url())).body == b"until the end"
    assert site.connections == 2


async def test_https_checks_the_certificate(certificate):
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(*map(str, certificate))
    port = free_port()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await reader.readuntil(b"\r\n\r\n")
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nsecret")
            await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, ssl.SSLError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", port, ssl=server_ctx)
    s = settings(per_host=1)
    try:
        trusting = ssl.create_default_context(cafile=str(certificate[0]))
        transport = engine.transport(concurrency=4, per_host=1, guard=False, ssl_context=trusting)
        async with Fetcher(s, transport=transport) as f:
            assert (await f.get(f"https://localhost:{port}/")).body == b"secret"
        async with Fetcher(s) as f:  # the default trust store does not know it
            with pytest.raises(FetchError, match="certificate of localhost not accepted"):
                await f.get(f"https://localhost:{port}/")
    finally:
        server.close()
        await server.wait_closed()


async def test_answers_without_a_body_keep_the_connection(scripted):
    answers = {"/304": b"HTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\n\r\n",
               "/301": b"HTTP/1.1 301 Moved\r\nLocation: /304\r\nContent-Length: 5\r\n\r\nmoved",
               "/404": b"HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\n\r\nnot found"}
    site = await scripted(lambda conn, n, path: answers[path])
    async with Fetcher(settings(per_host=1)) as f:
        assert (await f.get(site.url("/304"), etag='"x"')).status == 304
        with pytest.raises(HTTPStatusError):
            await f.get(site.url("/404"))
        assert (await f.get(site.url("/301"), etag='"x"')).status == 304
    assert site.connections == 1  # unread bodies that had arrived whole did not cost a connection


async def test_cookies_are_not_kept(scripted):
    # A poller is not a browser: a site's cookie is not sent back (nor kept for thousands of sites).
    cookie = b"HTTP/1.1 200 OK\r\nSet-Cookie: session=abc; Path=/\r\nContent-Length: 2\r\n\r\nok"
    site = await scripted(lambda conn, n, path: cookie)
    async with Fetcher(settings(per_host=1)) as f:
        await f.get(site.url())
        await f.get(site.url())
    assert len(site.heads) == 2 and all(b"cookie:" not in h.lower() for h in site.heads)
