"""Alerts against real loopback servers: aiosmtpd for email, an HTTP receiver for webhooks."""

from datetime import datetime, timedelta, timezone

import httpx
import pytest
from standardwebhooks.webhooks import Webhook

from monitor.config import EmailNotifier, WebhookNotifier
from monitor.demo.servers import SMTPSink, WebhookReceiver, free_port, webhook_json
from monitor.domain import Post, Source
from monitor.notify.outbox import backoff, deliver_due
from monitor.notify.senders import EmailSender, WebhookSender
from monitor.store import Database, Store

SECRET = "whsec_dGVzdC1zZWNyZXQtZm9yLXdlYmhvb2tz"
EVIL = 'Stolen <script>alert("x")</script> <a href="https://evil.example">click</a>'


@pytest.fixture
def queued(sqlite_url):
    """A store with one match queued for one email and one webhook destination."""
    db = Database(sqlite_url)
    db.migrate()
    store = Store(db)

    def queue(destinations: list[str]) -> int:
        sid, _ = store.upsert_source(Source("https://publisher.example/a", "The original text of the article.", "Original"), b"s", "url")
        pid = store.save_post(Post("https://copy.example/1?a=1&b=<x>", EVIL, EVIL, html=f"<p>{EVIL}</p>"), None)
        ev = {"passages": [{"source_start": 0, "source_end": 12, "copy_start": 0, "copy_end": len(EVIL)}],
              "substitutions": [["original", "<b>first</b>"]]}
        now = datetime.now(timezone.utc)
        return store.record_match(sid, pid, "spun_copy", 0.87, 0.9, 0.25, ev, [(d, now) for d in destinations])[0]

    yield store, queue
    db.close()


def email_config(port: int) -> EmailNotifier:
    return EmailNotifier.model_validate({"host": "127.0.0.1", "port": port, "security": "none",
                                         "from": "monitor@localhost", "to": ["editor@publisher.example"],
                                         "timeout": 5})


def later(minutes: float) -> datetime:
    return datetime.now(timezone.utc) + timedelta(minutes=minutes)


async def test_email_arrives_well_formed_and_escaped(queued):
    store, queue = queued
    with SMTPSink() as smtp:
        sender = EmailSender(email_config(smtp.port))
        queue([sender.name])
        report = await deliver_due(store, {sender.name: sender}, max_attempts=5)
    assert report.sent == 1
    [msg] = smtp.messages
    assert msg["To"] == "editor@publisher.example" and "spun copy" in msg["Subject"]
    plain = msg.get_body(("plain",)).get_content()
    html = msg.get_body(("html",)).get_content()
    assert "https://publisher.example/a" in plain and "0.87" in plain
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert 'href="https://evil.example"' not in html  # the copy's link arrives inert
    assert "&lt;b&gt;first&lt;/b&gt;" in html


async def test_smtp_down_then_up_delivers_exactly_once(queued):
    store, queue = queued
    port = free_port()
    sender = EmailSender(email_config(port))
    queue([sender.name])
    report = await deliver_due(store, {sender.name: sender}, max_attempts=5)
    assert report.failed == 1
    [(_, _, _, status, attempts, error)] = store.deliveries()
    assert (status, attempts) == ("pending", 1) and "127.0.0.1" in error or "Connect" in error
    with SMTPSink(port) as smtp:
        assert (await deliver_due(store, {sender.name: sender}, 5)).sent == 0  # not due yet
        assert (await deliver_due(store, {sender.name: sender}, 5, now=later(30))).sent == 1
        assert (await deliver_due(store, {sender.name: sender}, 5, now=later(600))).sent == 0
    assert len(smtp.messages) == 1
    assert store.deliveries()[0][3] == "sent"


async def test_webhook_500_then_200_is_accepted_once_and_verifies(queued, monkeypatch):
    store, queue = queued
    monkeypatch.setenv("HOOK_SECRET", SECRET)
    with WebhookReceiver(statuses=[500]) as hook:
        cfg = WebhookNotifier(url=hook.url, secret_env="HOOK_SECRET", github_signature=True)
        async with httpx.AsyncClient() as client:
            sender = WebhookSender(cfg, client)
            queue([sender.name])
            assert (await deliver_due(store, {sender.name: sender}, 5)).failed == 1
            assert (await deliver_due(store, {sender.name: sender}, 5, now=later(30))).sent == 1
            assert (await deliver_due(store, {sender.name: sender}, 5, now=later(600))).sent == 0
    assert [r["status"] for r in hook.received] == [500, 200]
    first, second = hook.received
    assert first["headers"]["webhook-id"] == second["headers"]["webhook-id"]  # receivers can drop replays
    body = Webhook(SECRET).verify(second["body"], second["headers"])
    assert body["type"] == "match.created" and body["score"] == 0.87
    assert body["source"]["url"] == "https://publisher.example/a"
    assert body["copy"]["url"].startswith("https://copy.example/1")
    assert second["headers"]["x-hub-signature-256"].startswith("sha256=")


async def test_webhook_410_disables_the_destination(queued):
    store, queue = queued
    with WebhookReceiver(statuses=[410]) as hook:
        async with httpx.AsyncClient() as client:
            sender = WebhookSender(WebhookNotifier(secret_env="TEST_WEBHOOK_SECRET", url=hook.url), client)
            queue([sender.name])
            await deliver_due(store, {sender.name: sender}, 5)
            assert (await deliver_due(store, {sender.name: sender}, 5, now=later(600))).sent == 0
    [(_, _, _, status, attempts, error)] = store.deliveries()
    assert (status, attempts, error.endswith("HTTP 410")) == ("disabled", 1, True)
    assert len(hook.received) == 1


async def test_dead_destination_does_not_delay_the_other(queued):
    store, queue = queued
    with WebhookReceiver() as hook:
        async with httpx.AsyncClient() as client:
            good = WebhookSender(WebhookNotifier(secret_env="TEST_WEBHOOK_SECRET", url=hook.url), client)
            dead = EmailSender(email_config(free_port()))
            queue([good.name, dead.name])
            report = await deliver_due(store, {good.name: good, dead.name: dead}, 5)
    assert (report.sent, report.failed) == (1, 1)
    assert len(hook.accepted) == 1 and webhook_json(hook.accepted[0])["kind"] == "spun_copy"


def test_backoff_grows_and_honours_retry_after():
    assert backoff(1).total_seconds() < backoff(5).total_seconds() <= 6 * 3600 * 1.2
    assert backoff(1, retry_after=3600).total_seconds() >= 3600
    # 20 attempts span roughly three days
    total = sum(min(6 * 3600, 60 * 2 ** (a - 1)) for a in range(1, 20))
    assert 2 * 86400 < total < 4 * 86400


def test_destination_rules_and_digest_times():
    from monitor.notify.outbox import first_attempt

    hook = WebhookNotifier(secret_env="TEST_WEBHOOK_SECRET", url="https://h", min_score=0.8, sources=["publisher.example/news/"], digest="hourly")
    assert hook.wants("https://publisher.example/news/a", 0.9)
    assert not hook.wants("https://publisher.example/blog/a", 0.9)
    assert not hook.wants("https://publisher.example/news/a", 0.7)
    now = datetime(2026, 11, 22, 10, 37, tzinfo=timezone.utc)
    assert first_attempt(hook, now) == datetime(2026, 11, 22, 11, 0, tzinfo=timezone.utc)
    daily = WebhookNotifier(secret_env="TEST_WEBHOOK_SECRET", url="https://h", digest="daily")
    assert first_attempt(daily, now) == datetime(2026, 11, 23, 0, 0, tzinfo=timezone.utc)
    assert first_attempt(WebhookNotifier(secret_env="TEST_WEBHOOK_SECRET", url="https://h"), now) == now


async def test_digest_sends_one_message_for_many_matches(sqlite_url):
    db = Database(sqlite_url)
    db.migrate()
    store = Store(db)
    with SMTPSink() as smtp:
        cfg = email_config(smtp.port).model_copy(update={"digest": "daily"})
        sender = EmailSender(cfg)
        now = datetime.now(timezone.utc)
        sid, _ = store.upsert_source(Source("https://publisher.example/a", "The original text.", "A"), b"s", "url")
        for i in range(3):
            pid = store.save_post(Post(f"https://copy.example/{i}", "The original text."), None)
            store.record_match(sid, pid, "copy", 0.9, 1.0, 0.0, {"passages": []}, [(sender.name, now)])
        report = await deliver_due(store, {sender.name: sender}, 5)
    db.close()
    assert report.sent == 3
    [msg] = smtp.messages
    assert msg["Subject"].startswith("3 new copies")
    plain = msg.get_body(("plain",)).get_content()
    assert all(f"https://copy.example/{i}" in plain for i in range(3))


async def test_a_disabled_destination_is_skipped_until_a_test_passes(queued):
    from monitor.notify.outbox import send_test

    store, queue = queued
    with WebhookReceiver(statuses=[410]) as hook:
        async with httpx.AsyncClient() as client:
            sender = WebhookSender(WebhookNotifier(secret_env="TEST_WEBHOOK_SECRET", url=hook.url), client)
            queue([sender.name])
            await deliver_due(store, {sender.name: sender}, 5)
            assert sender.name in store.disabled_destinations()
            assert await send_test(store, {sender.name: sender}) == {sender.name: None}
    assert store.disabled_destinations() == {}
    assert webhook_json(hook.received[-1])["type"] == "test"


def _server_context(certificate):
    import ssl

    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(*map(str, certificate))
    return ctx


@pytest.mark.parametrize("security", ["starttls", "tls"])
async def test_email_over_tls_with_login(queued, certificate, monkeypatch, security):
    store, queue = queued
    monkeypatch.setenv("SMTP_PW", "s3cret")
    ctx = _server_context(certificate)
    kw = {"tls": ctx} if security == "tls" else {"starttls": ctx}
    with SMTPSink(login=("monitor", "s3cret"), **kw) as smtp:
        cfg = EmailNotifier.model_validate({
            "host": "127.0.0.1", "port": smtp.port, "security": security, "username": "monitor",
            "password_env": "SMTP_PW", "from": "m@localhost", "to": ["e@localhost"], "timeout": 10,
            "ca_file": str(certificate[0])})
        sender = EmailSender(cfg)
        queue([sender.name])
        report = await deliver_due(store, {sender.name: sender}, 5)
        assert report.sent == 1 and len(smtp.messages) == 1
        assert smtp.messages[0]["To"] == "e@localhost"


def test_retry_after_as_seconds_or_http_date():
    from email.utils import format_datetime

    from monitor.fetch.http import seconds_until

    assert seconds_until("120") == 120.0
    later = datetime.now(timezone.utc) + timedelta(hours=2)
    assert 7000 < seconds_until(format_datetime(later, usegmt=True)) <= 7200
    assert seconds_until("soon") is None and seconds_until(None) is None


async def test_webhook_503_retry_after_delays_the_retry(queued):
    store, queue = queued
    with WebhookReceiver(statuses=[503]) as hook:
        hook_url = hook.url
        async with httpx.AsyncClient() as client:
            sender = WebhookSender(WebhookNotifier(secret_env="TEST_WEBHOOK_SECRET", url=hook_url), client)
            queue([sender.name])
            await deliver_due(store, {sender.name: sender}, 5)
            # Back-off alone would retry within minutes; the receiver asked for an hour.
            assert (await deliver_due(store, {sender.name: sender}, 5, now=later(30))).sent == 0
            assert (await deliver_due(store, {sender.name: sender}, 5, now=later(61))).sent == 1


async def test_every_due_alert_is_sent_in_one_call_in_batches(sqlite_url):
    """More alerts due than one claim takes (100): all go out, none twice."""
    db = Database(sqlite_url)
    db.migrate()
    store = Store(db)
    with WebhookReceiver() as hook:
        sender = WebhookSender(WebhookNotifier(secret_env="TEST_WEBHOOK_SECRET", url=hook.url, timeout=5), httpx.AsyncClient())
        now = datetime.now(timezone.utc)
        sid, _ = store.upsert_source(Source("https://publisher.example/a", "The original text.", "A"), b"s", "url")
        for i in range(230):
            pid = store.save_post(Post(f"https://copy.example/{i}", "The original text."), None)
            store.record_match(sid, pid, "copy", 0.9, 1.0, 0.0, {"passages": []}, [(sender.name, now)])
        report = await deliver_due(store, {sender.name: sender}, 5, batch=100)
        received = len(hook.received)
    db.close()
    assert (report.sent, received) == (230, 230)
