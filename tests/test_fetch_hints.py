"""Absurd server hints (Retry-After, Cache-Control max-age, Expires, <ttl>) are parsed and
clamped: an overflow is a long wait, junk is no hint, and neither is ever an error."""

import asyncio
from datetime import datetime, timedelta, timezone

import httpx
import pytest

from monitor import config
from monitor.demo.servers import free_port
from monitor.fetch import parse_feed
from monitor.fetch.http import MAX_HINT, _max_age, seconds_until
from monitor.fetch.policy import MAX_INTERVAL, MIN_INTERVAL, next_check

NOW = datetime(2026, 1, 1, tzinfo=timezone.utc)


@pytest.mark.parametrize(("value", "seconds"), [
    ("120", 120.0), (" 7 ", 7.0), ("0", 0.0),
    ("99999999999999999999", MAX_HINT), ("10000000000", MAX_HINT), ("9" * 400, MAX_HINT),
    ("Fri, 31 Dec 9999 23:59:59 GMT", MAX_HINT), ("Thu, 01 Jan 1970 00:00:00 GMT", 0.0),
    ("-5", None), ("1e10", None), ("soon", None), ("²", None), ("١٢٠", None), ("", None), (None, None),
    ("Thu, 01 Jan 99999 00:00:00 GMT", None), ("Mon, 32 Foo 2024 99:99:99 GMT", None), ("nan", None), ("inf", None),
])
def test_retry_after_and_expires_are_clamped_or_ignored(value, seconds):
    assert seconds_until(value) == seconds


@pytest.mark.parametrize(("cache_control", "expires", "seconds"), [
    ("public, max-age=900", None, 900.0), ('max-age="600"', None, 600.0),
    ("max-age=99999999999999999999", None, MAX_HINT), ("max-age=" + "9" * 400, None, MAX_HINT),
    ("max-age=-1", None, None), ("max-age=abc", None, None), ("max-age=²", None, None),
    ("", "Fri, 31 Dec 9999 23:59:59 GMT", MAX_HINT), ("", "Thu, 01 Jan 1970 00:00:00 GMT", 0.0),
    ("", "-1", None),
])
def test_max_age_is_clamped_or_ignored(cache_control, expires, seconds):
    raw = [(b"cache-control", cache_control.encode("latin-1"))]  # as a server's bytes arrive
    headers = httpx.Headers(raw + ([(b"expires", expires.encode())] if expires else []))
    assert _max_age(headers) == seconds


@pytest.mark.parametrize("hints", [
    {"retry_after": 1e20}, {"max_age": 1e300}, {"max_age": float("inf")}, {"ttl_minutes": 10 ** 30},
    {"ttl_minutes": 10 ** 400}, {"retry_after": 1e20, "errors": 40}, {"errors": 10 ** 6},
])
def test_next_check_clamps_absurd_hints_to_a_day(hints):
    assert next_check(NOW, 60, jitter=0, **hints) == NOW + MAX_INTERVAL


@pytest.mark.parametrize("hints", [{"retry_after": -5.0}, {"max_age": float("nan")}, {"max_age": -1e300},
                                   {"ttl_minutes": -3}])
def test_next_check_ignores_negative_and_nan_hints(hints):
    assert next_check(NOW, 60, jitter=0, **hints) == NOW + timedelta(minutes=60)
    assert next_check(NOW, 0, jitter=0, **hints) == NOW + MIN_INTERVAL


def _rss(ttl: str) -> bytes:
    return (f'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title><ttl>{ttl}</ttl>'
            '<item><title>x</title><link>https://blog.example/x</link></item></channel></rss>').encode()


@pytest.mark.parametrize(("ttl", "minutes"), [("90", 90), ("99999999999999999999", 7 * 24 * 60),
                                              ("-5", None), ("soon", None), ("²", None), ("", None)])
def test_feed_ttl_is_clamped_or_ignored(ttl, minutes):
    assert parse_feed(_rss(ttl), "https://blog.example/feed").ttl_minutes == minutes


FEED = ('<?xml version="1.0"?><rss version="2.0"><channel><title>h</title>{ttl}<item><title>x</title>'
        '<link>{base}/p{n}</link><description>' + "word " * 200 + '</description></item></channel></rss>')


class HintsServer:
    """A feed server sending absurd hints (the scenario of shared/repro/hints_server.py)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            path = (await reader.readuntil(b"\r\n\r\n")).split(b" ")[1].decode()
            if path == "/ra-huge":
                writer.write(b"HTTP/1.1 429 Too Many\r\nRetry-After: 99999999999999999999\r\n"
                             b"Content-Length: 0\r\nConnection: close\r\n\r\n")
            elif path == "/ra-1e10":
                writer.write(b"HTTP/1.1 503 Busy\r\nRetry-After: 10000000000\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            else:
                hdr, ttl = "", ""
                if path == "/maxage-huge":
                    hdr = "Cache-Control: max-age=99999999999999999999\r\n"
                if path == "/ttl-huge":
                    ttl = "<ttl>99999999999999999999</ttl>"
                if path == "/expires-past":
                    hdr = "Expires: Thu, 01 Jan 1970 00:00:00 GMT\r\n"
                if path == "/expires-far":
                    hdr = "Expires: Fri, 31 Dec 9999 23:59:59 GMT\r\n"
                body = FEED.format(ttl=ttl, base=self.base, n=path.strip("/")).encode()
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\n" + hdr.encode()
                             + b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(body) + body)
            await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


def test_absurd_hints_from_a_server_are_a_long_wait_not_an_error(sqlite_url, tmp_path):
    from monitor.pipeline import Monitor
    from monitor.store import Database

    srv = HintsServer()
    paths = ["/ra-huge", "/ra-1e10", "/maxage-huge", "/ttl-huge", "/expires-past", "/expires-far"]
    s = config.load(None, database_url=sqlite_url, data_dir=str(tmp_path),
                    watch=[{"url": srv.base + p, "interval": 60} for p in paths],
                    fetch={"allow_private_networks": True, "respect_robots": False})
    db = Database(s.db_url)
    db.migrate()
    m = Monitor(s, db)

    async def cycle():  # noqa: ANN202
        server = await asyncio.start_server(srv.handle, "127.0.0.1", srv.port)
        async with server:
            return await m.run_cycle()

    try:
        started = datetime.now(timezone.utc)
        report = asyncio.run(cycle())
        assert report.feeds_checked + report.feeds_failed == len(paths)
        feeds = {f.url.removeprefix(srv.base): f for f in m.store.list_feeds()}

        def state(p):  # noqa: ANN001, ANN202
            return feeds[p].last_status, feeds[p].error_count

        day = timedelta(days=1)
        # The failure is recorded, and the server's wait is honoured up to the one-day cap.
        assert state("/ra-huge") == ("429", 1) and started + 0.85 * day <= feeds["/ra-huge"].next_check_at
        assert state("/ra-1e10") == ("503", 1) and started + 0.85 * day <= feeds["/ra-1e10"].next_check_at
        # A good feed with a huge hint is a good feed, checked again within about a day.
        for p in ("/maxage-huge", "/ttl-huge", "/expires-far"):
            assert state(p) == ("200", 0), (p, feeds[p].last_error)
            assert started + 0.85 * day <= feeds[p].next_check_at <= started + 1.15 * day
        # A date in the past is no hint: the feed's own interval applies.
        assert state("/expires-past") == ("200", 0)
        assert feeds["/expires-past"].next_check_at <= started + timedelta(minutes=70)
        for f in feeds.values():  # every state stored, none left claimed by a failed record
            assert f.last_checked_at is not None
    finally:
        m.close()


async def test_a_content_length_in_other_digits_is_no_length():
    from monitor.fetch import Fetcher, FetchSettings

    route = httpx.MockTransport(lambda request: httpx.Response(
        200, headers=[(b"content-length", "²".encode("latin-1"))], content=b"ok"))
    async with Fetcher(FetchSettings(allow_private_networks=True, respect_robots=False), transport=route) as f:
        assert (await f.get("https://blog.example/feed")).body == b"ok"
