"""HTTP layer: respx for unit behaviour, a real loopback server for streaming and limits."""

import gzip
import time
import zlib
from http.server import BaseHTTPRequestHandler

import httpx
import pytest
import respx

from monitor.demo.servers import LoopbackServer
from monitor.fetch import (
    BlockedError,
    Fetcher,
    FetchError,
    FetchSettings,
    FetchTimeout,
    HTTPStatusError,
    TooLargeError,
)

OPEN = FetchSettings(allow_private_networks=True, respect_robots=False, user_agent="TestBot/1")


@pytest.fixture
def web() -> respx.MockRouter:
    """respx routes, served to a Fetcher through an injected transport (mocked())."""
    return respx.MockRouter(assert_all_called=False)


def mocked(web: respx.MockRouter, settings: FetchSettings = OPEN) -> Fetcher:
    return Fetcher(settings, transport=httpx.MockTransport(web.async_handler))


async def test_conditional_get_sends_validators_and_reads_304(web):
    route = web.get("https://blog.example/feed").mock(return_value=httpx.Response(304))
    async with mocked(web) as f:
        r = await f.get("https://blog.example/feed", etag='"abc"', last_modified="Mon, 01 Jan 2024 00:00:00 GMT")
    sent = route.calls.last.request
    assert sent.headers["if-none-match"] == '"abc"'
    assert sent.headers["if-modified-since"] == "Mon, 01 Jan 2024 00:00:00 GMT"
    assert sent.headers["user-agent"] == "TestBot/1"
    assert r.status == 304 and r.body == b""


async def test_hints_are_read(web):
    web.get("https://blog.example/feed").mock(return_value=httpx.Response(
        200, content=b"<rss/>", headers={"ETag": '"v2"', "Cache-Control": "public, max-age=900"}))
    async with mocked(web) as f:
        r = await f.get("https://blog.example/feed")
    assert (r.etag, r.max_age, r.body) == ('"v2"', 900.0, b"<rss/>")


async def test_429_carries_retry_after(web):
    web.get("https://blog.example/feed").mock(return_value=httpx.Response(429, headers={"Retry-After": "120"}))
    async with mocked(web) as f:
        with pytest.raises(HTTPStatusError) as e:
            await f.get("https://blog.example/feed")
    assert e.value.code == 429 and e.value.retry_after == 120.0
    assert "HTTP 429" in str(e.value) and "blog.example" in str(e.value)


async def test_permanent_redirect_is_reported_and_loops_stop(web):
    web.get("https://old.example/feed").mock(return_value=httpx.Response(301, headers={"Location": "https://new.example/feed"}))
    web.get("https://new.example/feed").mock(return_value=httpx.Response(200, content=b"ok"))
    web.get("https://loop.example/a").mock(return_value=httpx.Response(302, headers={"Location": "/a"}))
    async with mocked(web) as f:
        r = await f.get("https://old.example/feed")
        assert r.permanent_redirect == "https://new.example/feed" and r.body == b"ok"
        with pytest.raises(FetchError, match="more than 5 redirects"):
            await f.get("https://loop.example/a")


async def test_robots_txt_is_respected_and_cached(web):
    robots = web.get("https://blog.example/robots.txt").mock(
        return_value=httpx.Response(200, text="User-agent: *\nDisallow: /private/\n"))
    web.get("https://blog.example/ok").mock(return_value=httpx.Response(200, content=b"fine"))
    settings = FetchSettings(allow_private_networks=True, respect_robots=True)
    async with mocked(web, settings) as f:
        assert (await f.get("https://blog.example/ok")).body == b"fine"
        with pytest.raises(BlockedError, match="robots.txt"):
            await f.get("https://blog.example/private/x")
    assert robots.call_count == 1


async def test_private_network_guard_refuses_loopback():
    async with Fetcher(FetchSettings(respect_robots=False)) as f:
        with pytest.raises(BlockedError, match="non-public address 127.0.0.1"):
            await f.get("http://127.0.0.1:9/feed")
        with pytest.raises(BlockedError, match="only http and https"):
            await f.get("file:///etc/passwd")


class _Server(LoopbackServer):
    """A loopback server whose handler serves big, gzip-bomb and slow bodies."""

    def __init__(self) -> None:
        class H(BaseHTTPRequestHandler):
            def log_message(self, *a):  # noqa: ANN002
                pass

            def do_GET(self):  # noqa: N802
                if self.path == "/big":
                    self.send_response(200)
                    self.end_headers()  # no Content-Length: the cap must stop the stream
                    try:
                        for _ in range(64):
                            self.wfile.write(b"x" * (1 << 20))
                    except OSError:
                        pass
                elif self.path == "/trickle":
                    self.send_response(200)
                    self.send_header("Content-Length", "1000")
                    self.end_headers()
                    try:
                        for _ in range(1000):  # one byte every 50 ms: each read is quick
                            self.wfile.write(b"x")
                            self.wfile.flush()
                            time.sleep(0.05)
                    except OSError:
                        pass
                elif self.path == "/deflate":
                    raw = zlib.compressobj(wbits=-zlib.MAX_WBITS)
                    body = raw.compress(b"<rss/>" * 100) + raw.flush()
                    self.send_response(200)
                    self.send_header("Content-Encoding", "deflate")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                elif self.path == "/gzip":
                    body = gzip.compress(b"<rss/>" * 100)
                    self.send_response(200)
                    self.send_header("Content-Encoding", "gzip")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                elif self.path == "/bomb":
                    body = gzip.compress(b"\0" * (50 << 20))
                    self.send_response(200)
                    self.send_header("Content-Encoding", "gzip")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                else:
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()

        super().__init__(H)


@pytest.fixture
def server():
    with _Server() as s:
        yield s


async def test_body_cap_streams_and_stops(server):
    settings = FetchSettings(allow_private_networks=True, respect_robots=False, max_bytes=2 << 20)
    async with Fetcher(settings) as f:
        with pytest.raises(TooLargeError, match="cap"):
            await f.get(server.url + "/big")
        with pytest.raises(TooLargeError):  # 50 MB of zeros in ~50 KB of gzip
            await f.get(server.url + "/bomb")
        with pytest.raises(HTTPStatusError, match="HTTP 404"):
            await f.get(server.url + "/missing")


async def test_unreachable_host_is_a_clear_error():
    from monitor.demo.servers import free_port

    async with Fetcher(OPEN) as f:
        with pytest.raises(FetchError, match="127.0.0.1"):
            await f.get(f"http://127.0.0.1:{free_port()}/feed")


async def test_a_trickling_server_hits_the_total_deadline(server):
    settings = FetchSettings(allow_private_networks=True, respect_robots=False, timeout=5, total_timeout=0.5)
    async with Fetcher(settings) as f:
        with pytest.raises(FetchTimeout, match="no complete response within 0.5 s"):
            await f.get(server.url + "/trickle")


async def test_compressed_bodies_are_decoded(server):
    async with Fetcher(OPEN) as f:
        assert (await f.get(server.url + "/gzip")).body == b"<rss/>" * 100
        assert (await f.get(server.url + "/deflate")).body == b"<rss/>" * 100


async def test_503_carries_retry_after_as_a_date(web):
    web.get("https://blog.example/feed").mock(return_value=httpx.Response(
        503, headers={"Retry-After": "Wed, 21 Oct 2099 07:28:00 GMT"}))
    async with mocked(web) as f:
        with pytest.raises(HTTPStatusError) as e:
            await f.get("https://blog.example/feed")
    assert e.value.status == "503" and e.value.retry_after > 3600


async def test_guard_refuses_every_non_public_form():
    from monitor.fetch.guard import PrivateAddressError, public_addresses

    for host in ("127.0.0.1", "10.1.2.3", "169.254.169.254", "::1", "::ffff:127.0.0.1", "fd00::1", "localhost"):
        with pytest.raises(PrivateAddressError):
            await public_addresses(host, 80)
    assert await public_addresses("93.184.215.14", 80) == ["93.184.215.14"]


async def test_guard_connects_to_the_address_it_checked(server, monkeypatch):
    """DNS rebinding: the name is resolved once, by the guard, and that address is used."""
    import asyncio
    import socket

    from monitor.fetch import guard

    port = int(server.url.rsplit(":", 1)[1])
    lookups = []

    async def fake_getaddrinfo(self, host, port_, **kw):  # noqa: ANN001
        lookups.append(host)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port_))]

    monkeypatch.setattr(asyncio.unix_events._UnixSelectorEventLoop, "getaddrinfo", fake_getaddrinfo)
    monkeypatch.setattr(guard, "is_public", lambda a: True)  # pretend 127.0.0.1 is public
    async with Fetcher(FetchSettings(respect_robots=False)) as f:
        for _ in range(2):  # two connections (the server closes each), one lookup
            with pytest.raises(HTTPStatusError, match="404"):  # reached the server via the vetted address
                await f.get(f"http://rebind.invalid:{port}/missing")
    assert lookups == ["rebind.invalid"]
    monkeypatch.setattr(guard, "is_public", lambda a: False)
    async with Fetcher(FetchSettings(respect_robots=False)) as f:
        with pytest.raises(BlockedError, match="non-public address 127.0.0.1"):
            await f.get(f"http://rebind.invalid:{port}/missing")
