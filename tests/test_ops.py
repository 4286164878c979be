"""Operations: structured logs without secrets, the scheduler's jobs, heartbeats and `monitor status`."""

import asyncio
import base64
import io
import json
import logging
import os
import shutil
import signal
import threading
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler

import pytest
from typer.testing import CliRunner

from monitor import config, logs
from monitor.cli import app
from monitor.demo.run import demo_blog, seed
from monitor.demo.servers import LoopbackServer, SMTPSink, WebhookReceiver
from monitor.fetch.robots import RobotsCache
from monitor.pipeline import Monitor
from monitor.store import Database
from monitor.store.nodes import Nodes


@pytest.fixture
def log_lines():
    """The process's log lines as `monitor` writes them (verbose), captured in a buffer."""
    buf = io.StringIO()
    root = logging.getLogger()
    level = root.level

    def start(fmt: str = "text") -> io.StringIO:
        logs.configure(fmt, verbose=True, stream=buf)  # type: ignore[arg-type]
        return buf

    yield start
    for h in [h for h in root.handlers if getattr(h, "_monitor", False)]:
        root.removeHandler(h)
    root.setLevel(level)


def test_lines_carry_the_ids_in_scope_as_key_value_or_json(log_lines):
    buf = log_lines("text")
    log = logging.getLogger("monitor.test")
    with logs.context(feed=3):
        with logs.context(post=17):
            log.warning("copy found at %s", "https://copier.example/a b", extra={"match": 9})
        log.info("feed done")
    log.info("outside")
    first, second, third = buf.getvalue().splitlines()
    assert "level=warning logger=monitor.test feed=3 post=17 match=9 " in first
    assert first.endswith('msg="copy found at https://copier.example/a b"')
    assert "feed=3 msg=" in second and "post=" not in second
    assert "feed=" not in third and third.endswith("msg=outside")

    buf = log_lines("json")
    with logs.context(delivery=5):
        try:
            raise RuntimeError("boom")
        except RuntimeError:
            log.exception("sending failed")
    line = json.loads(buf.getvalue().splitlines()[-1])
    assert line["delivery"] == 5 and line["msg"] == "sending failed" and line["level"] == "error"
    assert "RuntimeError: boom" in line["error"]


def test_concurrent_feeds_keep_their_own_ids(log_lines):
    """Each asyncio task sees the ids it bound, never another feed's."""
    buf = log_lines("text")
    log = logging.getLogger("monitor.test")

    async def poll(feed: int) -> None:
        token = logs.bind(feed=feed)
        try:
            await asyncio.sleep(0.01 * (3 - feed))
            log.info("checked %d", feed)
        finally:
            logs.unbind(token)

    async def main() -> None:
        await asyncio.gather(*(poll(i) for i in range(3)))

    asyncio.run(main())
    lines = [line for line in buf.getvalue().splitlines() if "logger=monitor.test" in line]
    assert len(lines) == 3
    for line in lines:
        n = line.rsplit(" ", 1)[1].rstrip('"')
        assert f"feed={n} " in line


def test_redaction_of_credentials_in_text():
    logs.add_secret("s3cr3t-value")
    assert logs.redact("pw s3cr3t-value!") == "pw ***!"
    assert logs.redact("GET https://bob:hunter22@feeds.example/x") == "GET https://bob:***@feeds.example/x"
    assert logs.redact("postgresql+psycopg://monitor:dbpa55@db/m") == "postgresql+psycopg://monitor:***@db/m"
    assert logs.redact("https://h.example/f?id=4&token=abcdef&x=1") == "https://h.example/f?id=4&token=***&x=1"
    assert logs.redact("Authorization: Bearer abcdefghijkl") == "Authorization: Bearer ***"
    assert logs.redact("key whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw") == "key whsec_***"
    assert logs.redacted_url("https://hooks.example/services/T0/B0/XyZ") == "https://hooks.example/***"


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")  # the loopback sink, on purpose
def test_no_secret_is_logged_during_a_cycle(sqlite_url, tmp_path, monkeypatch, log_lines):
    """A cycle that finds a copy, alerts a webhook (signed, a token in its path and query) that
    fails, an SMTP server with a password, and reads a feed with credentials in its URL: no
    secret appears in any log line, though the lines about each are there."""
    signing = "whsec_" + base64.b64encode(b"signing-key-0123456789abcdef").decode()
    monkeypatch.setenv("OPS_HOOK_SECRET", signing)
    monkeypatch.setenv("OPS_SMTP_PASSWORD", "Sm7p-Pa55word-xyz")
    (tmp_path / "original.txt").write_text(seed("original.txt"), encoding="utf-8")
    buf = log_lines("text")
    with demo_blog() as blog, WebhookReceiver(statuses=[500, 500]) as hook, \
            SMTPSink(login=("alerts", "Sm7p-Pa55word-xyz")) as smtp:
        hook_url = hook.url + "/T0KEN-in-path-9f8e7d?token=Qu3ryT0ken-abc"
        feed_with_password = blog.url.replace("http://", "http://reader:pa55w0rd-feed@") + "/nothing-here"
        s = config.load(None, database_url=sqlite_url, data_dir=str(tmp_path),
                        sources=[{"file": str(tmp_path / "original.txt"), "url": "https://publisher.example/a"}],
                        watch=[{"url": blog.url + "/"}, {"url": feed_with_password}],
                        notify={"webhooks": [{"url": hook_url, "secret_env": "OPS_HOOK_SECRET"}],
                                "email": [{"host": "127.0.0.1", "port": smtp.port, "security": "none",
                                           "username": "alerts", "password_env": "OPS_SMTP_PASSWORD",
                                           "from": "monitor@example.org", "to": "me@example.org"}]},
                        fetch={"allow_private_networks": True})
        m = Monitor(s, Database(s.db_url))
        try:
            report = asyncio.run(m.run_cycle())
        finally:
            m.close()
    assert len(report.matches) == 1 and report.alerts.failed == 1 and hook.received
    assert report.alerts.sent == 1 and smtp.messages
    text = buf.getvalue()
    # The lines are there (the test cannot pass by logging nothing) …
    assert "alert webhook:http://127.0.0.1" in text and "alert sent to email:me@example.org" in text
    assert "delivery=" in text and "match=" in text and "feed=" in text
    assert "/nothing-here" in text
    # … and no secret is in them.
    for secret in (signing, signing.removeprefix("whsec_"), "Sm7p-Pa55word-xyz", "T0KEN-in-path-9f8e7d",
                   "Qu3ryT0ken-abc", "pa55w0rd-feed"):
        assert secret not in text, f"{secret!r} was logged"


class HangingFeed(LoopbackServer):
    """A feed that answers only when `release` is set (or after 10 s)."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.released_in_time: bool | None = None
        server = self

        class H(BaseHTTPRequestHandler):
            def log_message(self, *a):  # noqa: ANN002
                pass

            def do_GET(self):  # noqa: N802
                if self.path != "/hang":
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                server.released_in_time = server.release.wait(10)
                self.send_response(200)
                self.send_header("Content-Length", "4")
                self.end_headers()
                self.wfile.write(b"late")

        super().__init__(H)


def test_a_long_cycle_does_not_hold_alerts_back(sqlite_url, tmp_path, monkeypatch):
    """While a cycle waits on a slow feed, the delivery job sends the alert already due; the
    jobs are set up with coalescing and one instance each; the process's heartbeat row exists
    while it runs and is gone once it stopped."""
    import monitor.scheduler as scheduler_mod

    schedulers = []

    class Recorded(scheduler_mod.AsyncIOScheduler):
        def start(self, *a, **kw):  # noqa: ANN002, ANN003
            schedulers.append(self)
            return super().start(*a, **kw)

    monkeypatch.setattr(scheduler_mod, "AsyncIOScheduler", Recorded)
    with HangingFeed() as feed, WebhookReceiver() as hook:
        handler = hook.server.RequestHandlerClass
        original_post = handler.do_POST

        def post_then_release(self):  # noqa: ANN001
            original_post(self)
            feed.release.set()

        handler.do_POST = post_then_release
        s = config.load(None, database_url=sqlite_url, data_dir=str(tmp_path), watch=[{"url": feed.url + "/hang"}],
                        notify={"webhooks": [{"secret_env": "TEST_WEBHOOK_SECRET", "url": hook.url}]},
                        fetch={"allow_private_networks": True, "timeout": 15, "total_timeout": 15})
        m = Monitor(s, Database(s.db_url))
        try:
            m.store.sync_feeds([(feed.url + "/hang", "watch", 60)])
            [state] = m.store.list_feeds()
            m.store.queue_feed_event(state.id, "feed.failing", {"url": state.url},
                                     [(f"webhook:{hook.url}", datetime.now(timezone.utc))])
            seen_nodes = []
            jobs = {}

            async def main() -> None:
                async def stop_when_answered() -> None:
                    await asyncio.to_thread(lambda: feed.release.wait(15))
                    await asyncio.sleep(0.5)  # the cycle ends, the heartbeat records it
                    seen_nodes.extend(Nodes(m.db).list())
                    jobs.update({j.id: j for j in schedulers[0].get_jobs()})
                    os.kill(os.getpid(), signal.SIGTERM)

                watcher = asyncio.create_task(stop_when_answered())
                await scheduler_mod.run_forever(m, tick_seconds=1, grace_seconds=5)
                await watcher

            asyncio.run(main())
            assert feed.released_in_time is True, "the alert waited for the cycle to end"
            assert len(hook.accepted) == 1
            [node] = seen_nodes
            assert node.pid == os.getpid() and node.version
            assert Nodes(m.db).list() == []  # a clean stop removes the row
        finally:
            m.close()

    assert set(jobs) == {"poll", "deliver", "digests", "robots", "heartbeat", "recheck"}
    for job in jobs.values():
        assert job.max_instances == 1 and job.coalesce
        # a late poll tick still runs (it only looks for work); the others may be skipped when late
        assert job.misfire_grace_time is None if job.id == "poll" else job.misfire_grace_time
    hourly = jobs["digests"].trigger
    assert hourly.get_next_fire_time(None, datetime(2026, 11, 28, 10, 59, 30, tzinfo=timezone.utc)) == \
        datetime(2026, 11, 28, 11, 0, tzinfo=timezone.utc)
    assert hourly.get_next_fire_time(None, datetime(2026, 11, 28, 23, 0, 1, tzinfo=timezone.utc)) == \
        datetime(2026, 11, 29, 0, 0, tzinfo=timezone.utc)


def test_robots_rules_in_use_are_read_again_before_they_expire(sqlite_url, tmp_path):
    from monitor.scheduler import refresh_robots

    hits = []

    class H(BaseHTTPRequestHandler):
        def log_message(self, *a):  # noqa: ANN002
            pass

        def do_GET(self):  # noqa: N802
            hits.append(self.path)
            body = b"User-agent: *\nDisallow: /private\n"
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    with LoopbackServer(H) as site:
        s = config.load(None, database_url=sqlite_url, data_dir=str(tmp_path), fetch={"allow_private_networks": True})
        m = Monitor(s, Database(s.db_url))
        try:
            m.robots.put(site.url, "User-agent: *\nDisallow:\n", ttl=60)  # expires in a minute
            m.robots.put("http://unused.example", None, ttl=60)  # never asked for since: left to expire
            m.robots.put("http://gone.example", None, ttl=-1)  # expired: forgotten
            assert m.robots.get(site.url)[0]
            assert asyncio.run(refresh_robots(m, within=3600)) == 1
            assert hits == ["/robots.txt"]
            known, rules = m.robots.get(site.url)
            assert known and not rules.can_fetch(site.url + "/private/x", "monitor")
            assert "http://gone.example" not in m.robots._rules
            # Read again now, and not asked for since: nothing to do.
            assert asyncio.run(refresh_robots(m, within=3600)) == 0
        finally:
            m.close()


def test_robots_cache_lists_only_rules_in_use_that_expire_soon():
    cache = RobotsCache(ttl=100)
    cache.put("https://a.example", None)
    cache.put("https://b.example", None, ttl=10)
    cache.put("https://c.example", None, ttl=10)
    cache.get("https://a.example")
    cache.get("https://b.example")
    assert cache.expiring(30) == ["https://b.example"]
    assert sorted(cache.expiring(1000)) == ["https://a.example", "https://b.example"]
    cache.put("https://d.example", None, ttl=-1)
    assert cache.prune() == 1 and not cache.get("https://d.example")[0]


def test_status_shows_each_node_alive_or_stale(tmp_path, sqlite_template):
    shutil.copyfile(sqlite_template, tmp_path / "m.db")
    url = f"sqlite:///{tmp_path / 'm.db'}"
    db = Database(url)
    nodes = Nodes(db)
    now = datetime.now(timezone.utc)
    alive = nodes.start("web-1", 101, "0.1.0")
    assert nodes.beat(alive, cycle_finished=True)
    nodes.start("web-2", 202, "0.1.0", now=now - timedelta(minutes=10))  # killed: no heartbeat since
    nodes.start("old", 303, "0.0.9", now=now - timedelta(days=30))
    assert nodes.prune(now - timedelta(days=7)) == 1
    db.close()

    runner = CliRunner()
    r = runner.invoke(app, ["--database-url", url, "status", "--json"], catch_exceptions=False)
    assert r.exit_code == 0
    rows = {row["host"]: row for row in map(json.loads, r.stdout.splitlines())}
    assert set(rows) == {"web-1", "web-2"}
    assert rows["web-1"]["state"] == "alive" and rows["web-1"]["last_cycle_at"] and rows["web-1"]["pid"] == 101
    assert rows["web-2"]["state"] == "stale" and rows["web-2"]["last_cycle_at"] is None
    r = runner.invoke(app, ["--database-url", url, "status"], catch_exceptions=False)
    assert "alive" in r.stdout and "stale" in r.stdout and "none yet" in r.stdout


def test_an_unknown_log_format_is_refused(tmp_path):
    r = CliRunner().invoke(app, ["--log-format", "yaml", "--database-url", f"sqlite:///{tmp_path}/m.db", "status"])
    assert r.exit_code == 2 and "--log-format 'yaml'" in r.output
