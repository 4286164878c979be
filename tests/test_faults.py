"""Fault injection: one loopback server, every way a feed goes wrong, in one cycle.

Each feed must end in the right state, the cycle must complete, the healthy feeds must be
read as if nothing else happened.
"""

import asyncio
import gzip
import os
import signal
import time
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler

from monitor import config
from monitor.demo.servers import LoopbackServer
from monitor.pipeline import Monitor
from monitor.store import Database

WORDS = ("alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike november "
         "oscar papa quebec romeo sierra tango uniform victor whiskey xray yankee zulu ").split()


def article(n: int, edit: str = "") -> str:
    return " ".join(WORDS[(n * 7 + i * 3) % len(WORDS)] + str(i % 13) for i in range(200)) + edit


def rss(base: str, posts: list[tuple[str, str]], encoding: str = "utf-8") -> bytes:
    items = "".join(f"<item><title>{slug}</title><link>{base}/{slug}</link><guid>{slug}</guid>"
                    f"<description><![CDATA[<p>{text}</p>]]></description></item>" for slug, text in posts)
    return (f'<?xml version="1.0" encoding="{encoding}"?><rss version="2.0"><channel><title>Feed</title>'
            f"{items}</channel></rss>").encode(encoding)


class FaultServer(LoopbackServer):
    def __init__(self) -> None:
        self.vanished = False
        self.edit = ""
        self.hits: dict[str, int] = {}
        server = self

        class H(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):  # noqa: ANN002
                pass

            def send(self, status, body=b"", headers=None):  # noqa: ANN001
                self.send_response(status)
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                if "Content-Length" not in (headers or {}):
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                try:
                    self.wfile.write(body)
                except OSError:
                    pass

            def do_GET(self):  # noqa: N802, C901
                path = self.path
                server.hits[path] = server.hits.get(path, 0) + 1
                base = server.url
                if path == "/500":
                    self.send(500, b"oops")
                elif path == "/429":
                    self.send(429, b"slow down", {"Retry-After": "7200"})
                elif path == "/503":
                    self.send(503, b"maintenance", {"Retry-After": "10800"})
                elif path == "/hang":
                    time.sleep(3)  # longer than the read timeout
                    self.send(200, b"late")
                elif path == "/trickle":
                    self.send_response(200)
                    self.send_header("Content-Length", "100000")
                    self.end_headers()
                    try:
                        for _ in range(100):
                            self.wfile.write(b" ")
                            self.wfile.flush()
                            time.sleep(0.1)
                    except OSError:
                        pass
                elif path == "/malformed":
                    self.send(200, b"<rss><channel><item><title>cut he", {"Content-Type": "application/rss+xml"})
                elif path == "/huge":  # 100 MB, no Content-Length: only the cap stops it
                    self.send_response(200)
                    self.send_header("Content-Type", "application/rss+xml")
                    self.send_header("Connection", "close")
                    self.end_headers()
                    try:
                        for _ in range(100):
                            self.wfile.write(b"<" * (1 << 20))
                    except OSError:
                        pass
                    self.close_connection = True
                elif path == "/bomb":
                    self.send(200, BOMB, {"Content-Encoding": "gzip", "Content-Type": "application/rss+xml"})
                elif path == "/loop":
                    self.send(302, b"", {"Location": "/loop2"})
                elif path == "/loop2":
                    self.send(302, b"", {"Location": "/loop"})
                elif path == "/vanishing":
                    if server.vanished:
                        self.send(410, b"gone")
                    else:
                        self.send(200, rss(base, [("v1", article(1))]), {"Content-Type": "application/rss+xml"})
                elif path == "/cached":
                    if self.headers.get("If-None-Match") == '"v1"':
                        self.send(304, b"", {"ETag": '"v1"'})
                    else:
                        self.send(200, rss(base, [("c1", article(2))]), {"ETag": '"v1"', "Content-Type": "application/rss+xml"})
                elif path == "/latin":  # UTF-8 bytes served as ISO-8859-1
                    body = rss(base, [("l1", article(3) + " café")]).replace(b"utf-8", b"ISO-8859-1")
                    self.send(200, body, {"Content-Type": "text/xml; charset=iso-8859-1"})
                elif path == "/moved":
                    self.send(301, b"", {"Location": "/healthy"})
                elif path == "/healthy":
                    self.send(200, rss(base, [("h1", article(4) + server.edit), ("h2", article(5))]),
                              {"Content-Type": "application/rss+xml", "Cache-Control": "max-age=5400"})
                elif path == "/summary":  # one summary-only entry whose page is over the size cap
                    body = (f'<rss version="2.0"><channel><title>S</title><item><title>big</title>'
                            f"<link>{base}/bigpost</link><description>short</description></item></channel></rss>")
                    self.send(200, body.encode(), {"Content-Type": "application/rss+xml"})
                elif path == "/bigpost":
                    self.send(200, b"<html><body>" + b"<p>word word</p>" * 20000 + b"</body></html>",
                              {"Content-Type": "text/html"})
                else:
                    self.send(404, b"no")

        super().__init__(H)
        self.server.handle_error = lambda *a: None  # clients that hang up on purpose


BOMB = gzip.compress(b"\0" * (200 << 20), compresslevel=9)  # 200 MB of zeros in ~200 KB

FEEDS = ["/500", "/429", "/503", "/hang", "/trickle", "/malformed", "/huge", "/bomb", "/loop",
         "/vanishing", "/cached", "/latin", "/moved"]


def open_monitor(db_url, tmp_path, urls, **fetch):
    s = config.load(None, database_url=db_url, data_dir=str(tmp_path), watch=[{"url": u} for u in urls],
                    fetch={"allow_private_networks": True, "timeout": 0.5, "total_timeout": 1.5, **fetch})
    db = Database(s.db_url)
    db.migrate()
    return Monitor(s, db)


def posts(m):
    from sqlalchemy import text

    with m.db.engine.connect() as c:
        return {u: (st, t) for u, st, t in c.execute(text("select url, state, text from posts"))}


def test_every_fault_ends_in_its_own_state(db_url, tmp_path):
    with FaultServer() as srv:
        m = open_monitor(db_url, tmp_path, [srv.url + p for p in FEEDS])
        try:
            started = datetime.now(timezone.utc)
            report = asyncio.run(m.run_cycle())
            feeds = {f.url.removeprefix(srv.url): f for f in m.store.list_feeds()}
            assert report.feeds_checked + report.feeds_failed == len(FEEDS)

            def state(p):  # noqa: ANN001, ANN202
                f = feeds[p]
                return f.last_status, f.error_count

            assert state("/500") == ("500", 1)
            assert state("/429") == ("429", 1) and feeds["/429"].next_check_at >= started + timedelta(hours=1.7)
            assert state("/503") == ("503", 1) and feeds["/503"].next_check_at >= started + timedelta(hours=2.6)
            assert state("/hang") == ("timeout", 1) and "timed out" in feeds["/hang"].last_error
            assert state("/trickle") == ("timeout", 1) and "no complete response" in feeds["/trickle"].last_error
            assert state("/malformed") == ("error", 1) and "not a feed" in feeds["/malformed"].last_error
            assert state("/huge") == ("too-large", 1) and "cap" in feeds["/huge"].last_error
            assert state("/bomb") == ("too-large", 1) and "decompressed" in feeds["/bomb"].last_error
            assert state("/loop") == ("error", 1) and "redirects" in feeds["/loop"].last_error
            for ok in ("/vanishing", "/cached", "/latin", "/moved"):
                assert state(ok) == ("200", 0), ok
            assert feeds["/moved"].feed_url == srv.url + "/healthy"  # the permanent redirect is kept
            # max-age 5400 s beats the 60 min interval (minus jitter)
            assert feeds["/moved"].next_check_at >= started + timedelta(minutes=80)
            stored = posts(m)
            assert {u.removeprefix(srv.url) for u in stored} == {"/v1", "/c1", "/l1", "/h1", "/h2"}
            assert stored[srv.url + "/l1"][1].endswith("café")  # no mojibake
            assert all(st == "checked" for st, _ in stored.values())
            # Errors back off: the 500 feed is next due after twice… its interval (±jitter).
            assert feeds["/500"].next_check_at >= started + timedelta(minutes=54)

            # Second cycle, forced: 304, a vanished feed, an edit, a feed still failing.
            srv.vanished, srv.edit = True, " edited"
            again = asyncio.run(m.run_cycle(only_urls=[srv.url + p for p in ("/cached", "/vanishing", "/moved", "/500")]))
            feeds = {f.url.removeprefix(srv.url): f for f in m.store.list_feeds()}
            assert state("/cached") == ("304", 0) and feeds["/cached"].etag == '"v1"'
            assert state("/vanishing") == ("410", 1) and "HTTP 410" in feeds["/vanishing"].last_error
            assert state("/500") == ("500", 2)  # never dropped: retried with a longer back-off
            assert again.posts_checked == 1  # only the edited post is checked again
            assert posts(m)[srv.url + "/h1"][1].endswith("edited")
            assert srv.hits["/healthy"] == 2 and "/h1" not in srv.hits  # full content: no page fetch
            # Unchanged body (identical bytes) is not re-parsed, nothing re-checked.
            third = asyncio.run(m.run_cycle(only_urls=[srv.url + "/moved"]))
            assert third.feeds_unchanged == 1 and third.posts_checked == 0
        finally:
            m.close()


def test_sigterm_releases_the_feed_being_checked(sqlite_url, tmp_path, caplog):
    """A check still under way after the grace period is cancelled and its claim released."""
    from monitor.scheduler import run_forever

    with FaultServer() as srv:
        m = open_monitor(sqlite_url, tmp_path, [srv.url + "/hang"], timeout=10, total_timeout=10)
        try:
            async def main() -> None:
                asyncio.get_running_loop().call_later(1.0, os.kill, os.getpid(), signal.SIGTERM)
                await run_forever(m, tick_seconds=1, grace_seconds=0.2)

            asyncio.run(main())
            assert "checks still under way after 0.2 s are cancelled and released" in caplog.text
            [feed] = m.store.list_feeds()
            assert feed.last_status is None and feed.error_count == 0  # not checked, not failed …
            assert m.store.claim_due_feeds(datetime.now(timezone.utc), timedelta(minutes=1))  # … and free
        finally:
            m.close()


def test_a_long_cycle_brings_no_warning_at_every_tick(caplog, sqlite_url):
    """A cycle longer than several ticks: the ticks in between neither overlap it nor warn."""
    import logging

    from monitor.notify.outbox import DeliveryReport
    from monitor.pipeline import CycleReport
    from monitor.scheduler import run_forever
    from monitor.store import Database

    from monitor import config

    class SlowMonitor:  # the parts of Monitor the scheduler's jobs use
        cycles = 0
        db = Database(sqlite_url)  # heartbeats
        settings = config.load(None, database_url=sqlite_url)  # the jobs' intervals

        async def run_cycle(self, stop: asyncio.Event | None = None, deliver: bool = True) -> CycleReport:
            SlowMonitor.cycles += 1
            await asyncio.sleep(3.2)
            return CycleReport(feeds_checked=1)

        async def deliver_alerts(self) -> DeliveryReport:
            return DeliveryReport()

    async def main() -> None:
        asyncio.get_running_loop().call_later(4.5, os.kill, os.getpid(), signal.SIGTERM)
        await run_forever(SlowMonitor(), tick_seconds=1, grace_seconds=5)  # type: ignore[arg-type]

    caplog.set_level(logging.INFO)
    try:
        asyncio.run(main())
    finally:
        SlowMonitor.db.close()
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert warnings == []
    assert SlowMonitor.cycles == 2  # the second began at the first tick after the first ended
    assert any("1 feed(s) checked" in r.getMessage() for r in caplog.records)


def test_a_post_over_the_size_cap_is_not_downloaded_at_every_check(sqlite_url, tmp_path):
    """Tried again at the next read of its feed, then only after a wait that grows."""
    from monitor.pipeline import post_retry_wait

    with FaultServer() as srv:
        m = open_monitor(sqlite_url, tmp_path, [srv.url + "/summary"], max_bytes=100_000)
        try:
            for _ in range(4):
                report = asyncio.run(m.run_cycle(only_urls=[srv.url + "/summary"]))
                assert report.feeds_checked == 1 and report.feeds_failed == 0  # the feed itself is fine
            assert srv.hits["/summary"] == 4  # read again each time: its post is still owed a check
            assert srv.hits["/bigpost"] == 2  # failed, retried once, then waits
            [(state, _)] = posts(m).values()
            assert state == "failed"
        finally:
            m.close()
    assert [post_retry_wait(n).total_seconds() for n in (1, 2, 3)] == [0, 1800, 3600]
    assert post_retry_wait(50) == timedelta(days=1)


def test_a_post_claimed_by_a_process_that_died_is_checked_later(sqlite_url, tmp_path):
    """Another process claimed a post and was killed: once its lease runs out the post is
    checked at the next read of its feed, though the feed's bytes did not change meanwhile."""
    from sqlalchemy import text

    with FaultServer() as srv:
        m = open_monitor(sqlite_url, tmp_path, [srv.url + "/healthy"])
        try:
            m.store.sync_feeds([(srv.url + "/healthy", "watch", 60)])
            [feed] = m.store.list_feeds()
            gone = m.store.claim_post(feed.id, "h1", srv.url + "/h1", "x", datetime.now(timezone.utc),
                                      timedelta(minutes=15))  # the process that dies
            assert gone is not None
            first = asyncio.run(m.run_cycle(only_urls=[srv.url + "/healthy"]))
            assert first.posts_checked == 1  # h2; h1 is another process's
            with m.db.engine.begin() as c:  # its lease runs out
                c.execute(text("update posts set lease_until = :t where id = :i"),
                          {"t": datetime.now(timezone.utc) - timedelta(seconds=1), "i": gone.id})
            second = asyncio.run(m.run_cycle(only_urls=[srv.url + "/healthy"]))
            assert second.posts_checked == 1
            assert {u.rsplit("/", 1)[1]: st for u, (st, _) in posts(m).items()} == {"h1": "checked", "h2": "checked"}
        finally:
            m.close()
