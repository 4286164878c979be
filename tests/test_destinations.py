"""Alert destinations: secrets checked when the config is loaded, never a webhook sent unsigned by
accident, only http(s) URLs made links, one named figure in an alert email."""

from contextlib import contextmanager
from datetime import datetime, timezone

import httpx
import pytest
import yaml
from typer.testing import CliRunner

from monitor import config
from monitor.cli import app
from monitor.config import ConfigError, WebhookNotifier
from monitor.demo.servers import SMTPSink, WebhookReceiver
from monitor.domain import Post, Source
from monitor.notify.outbox import deliver_due
from monitor.notify.senders import EmailSender, WebhookSender
from monitor.store import Database, Store

runner = CliRunner()


def settings(tmp_path, notify: dict):
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump({"notify": notify}))
    return path


NOTIFY = {"email": [{"host": "smtp.example", "username": "m", "password_env": "T_SMTP_PASSWORD",
                     "from": "m@example", "to": "e@example"}],
          "webhooks": [{"url": "https://hooks.example/", "secret_env": "T_HOOK_SECRET"}]}


@pytest.mark.parametrize("command", [["notify", "test"], ["run", "--once"]])
def test_missing_or_empty_secrets_stop_run_and_notify_test(command, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = settings(tmp_path, NOTIFY)
    monkeypatch.delenv("T_SMTP_PASSWORD", raising=False)
    monkeypatch.setenv("T_HOOK_SECRET", "")
    r = runner.invoke(app, ["--config", str(path), "--database-url", f"sqlite:///{tmp_path / 'm.db'}", *command])
    assert r.exit_code == 2, r.output
    assert "Traceback" not in r.output
    assert "notify.email.0.password_env: email:e@example: environment variable T_SMTP_PASSWORD is not set" in r.output
    assert "notify.webhooks.0.secret_env: webhook:https://hooks.example/: environment variable T_HOOK_SECRET is empty" in r.output
    assert not (tmp_path / "m.db").exists()  # stopped before anything else


def test_check_destinations_is_reusable(tmp_path, monkeypatch):
    monkeypatch.setenv("T_SMTP_PASSWORD", "pw")
    monkeypatch.setenv("T_HOOK_SECRET", "a passphrase")
    s = config.load(settings(tmp_path, NOTIFY))
    assert config.check_destinations(s) == []
    # a webhook without secret_env is a config error: webhooks are always signed
    with pytest.raises(ConfigError, match="notify.webhooks.0.secret_env: required: webhooks are always signed"):
        config.load(settings(tmp_path, {"webhooks": [{"url": "https://hooks.example/"}]}))
    monkeypatch.setenv("T_HOOK_SECRET", "  ")
    with pytest.raises(ConfigError, match="T_HOOK_SECRET is empty"):
        config.check_destinations(config.load(settings(tmp_path, NOTIFY)))


async def test_a_webhook_is_never_sent_unsigned(sqlite_url, monkeypatch):
    """If a secret goes missing after start-up checks, the sender refuses and records why."""
    db = Database(sqlite_url)
    db.migrate()
    store = Store(db)
    with WebhookReceiver() as hook:
        monkeypatch.setenv("T_HOOK_SECRET", "")
        cfg = WebhookNotifier(url=hook.url, secret_env="T_HOOK_SECRET")
        sid, _ = store.upsert_source(Source("https://publisher.example/a", "text", "A"), b"s", "url")
        pid = store.save_post(Post("https://copy.example/1", "text"), None)
        store.record_match(sid, pid, "copy", 0.9, 1.0, 0.0, {"passages": []}, [(cfg.name, datetime.now(timezone.utc))])
        async with httpx.AsyncClient() as client:
            report = await deliver_due(store, {cfg.name: WebhookSender(cfg, client)}, max_attempts=5)
    assert report.failed == 1 and hook.received == []
    with db.session() as s:
        from monitor.store.models import DeliveryRow

        [row] = s.query(DeliveryRow).all()
        assert row.status == "pending" and "not sent unsigned" in row.last_error and "T_HOOK_SECRET is empty" in row.last_error
    db.close()


async def test_email_without_its_password_is_a_delivery_error(sqlite_url, monkeypatch):
    db = Database(sqlite_url)
    db.migrate()
    store = Store(db)
    monkeypatch.delenv("T_SMTP_PASSWORD", raising=False)
    with SMTPSink() as smtp:
        cfg = config.EmailNotifier.model_validate({"host": "127.0.0.1", "port": smtp.port, "security": "none",
                                                   "username": "m", "password_env": "T_SMTP_PASSWORD",
                                                   "from": "m@localhost", "to": ["e@localhost"], "timeout": 5})
        sid, _ = store.upsert_source(Source("https://publisher.example/a", "text", "A"), b"s", "url")
        pid = store.save_post(Post("https://copy.example/1", "text"), None)
        store.record_match(sid, pid, "copy", 0.9, 1.0, 0.0, {"passages": []}, [(cfg.name, datetime.now(timezone.utc))])
        report = await deliver_due(store, {cfg.name: EmailSender(cfg)}, max_attempts=5)
    assert report.failed == 1 and smtp.messages == []
    with db.session() as s:
        from monitor.store.models import DeliveryRow

        [row] = s.query(DeliveryRow).all()
        assert "T_SMTP_PASSWORD is not set" in row.last_error
    db.close()


@pytest.mark.parametrize("url", ["javascript:alert(document.cookie)", "data:text/html,<script>x</script>",
                                 "JavaScript:alert(1)", "  javascript:alert(1)", "vbscript:x", "//evil.example/x"])
async def test_only_http_urls_are_links(url, sqlite_url, tmp_path):
    from monitor.notify.report import render

    db = Database(sqlite_url)
    db.migrate()
    store = Store(db)
    sid, _ = store.upsert_source(Source("https://publisher.example/a", "The original text.", "A"), b"s", "url")
    pid = store.save_post(Post(url, "The original text."), None)
    mid, _ = store.record_match(sid, pid, "copy", 0.9, 1.0, 0.0, {"passages": []}, [("email:e@localhost", datetime.now(timezone.utc))])
    with SMTPSink() as smtp:
        cfg = config.EmailNotifier.model_validate({"host": "127.0.0.1", "port": smtp.port, "security": "none",
                                                   "from": "m@localhost", "to": ["e@localhost"], "timeout": 5})
        await deliver_due(store, {cfg.name: EmailSender(cfg)}, max_attempts=5)
    [msg] = smtp.messages
    record, source_text, copy_text = store.match_with_texts(mid)
    for html in (msg.get_body(("html",)).get_content(), render(record, source_text, copy_text)):
        assert '<a href="https://publisher.example/a"' in html  # the http(s) one is a link
        assert html.count("<a ") == 1 and "href=\"javascript" not in html.lower()
        assert "javascript:alert" in html.lower() or "data:text/html" in html or "//evil" in html or "vbscript" in html
    db.close()


async def test_subject_and_body_agree(sqlite_url):
    db = Database(sqlite_url)
    db.migrate()
    store = Store(db)
    sid, _ = store.upsert_source(Source("https://publisher.example/a", "The original text.", "A"), b"s", "url")
    pid = store.save_post(Post("https://copy.example/1", "The original text."), None)
    store.record_match(sid, pid, "partial_copy", 0.998, 0.09, 0.0, {"passages": []},
                       [("email:e@localhost", datetime.now(timezone.utc))])
    with SMTPSink() as smtp:
        cfg = config.EmailNotifier.model_validate({"host": "127.0.0.1", "port": smtp.port, "security": "none",
                                                   "from": "m@localhost", "to": ["e@localhost"], "timeout": 5})
        await deliver_due(store, {cfg.name: EmailSender(cfg)}, max_attempts=5)
    [msg] = smtp.messages
    assert "9% of your article reused" in msg["Subject"] and "100%" not in msg["Subject"]
    for part in (msg.get_body(("plain",)).get_content(), msg.get_body(("html",)).get_content()):
        assert "9% of your article reused" in part and "score 1.00" in part
    db.close()


@contextmanager
def legacy_webhook(sqlite_url, tmp_path):  # noqa: ANN001, ANN201
    """A monitor with one webhook whose URL carries a token, so its name (which hides the
    token) differs from the name alerts were queued under before: (monitor, receiver, its
    config, a source id)."""
    from monitor.pipeline import Monitor

    db = Database(sqlite_url)
    db.migrate()
    with WebhookReceiver() as hook:
        url = hook.url + "?token=s3cret"
        s = config.load(settings(tmp_path, {"webhooks": [{"secret_env": "TEST_WEBHOOK_SECRET", "url": url}]}), database_url=sqlite_url)
        monitor = Monitor(s, db)
        [hook_config] = s.notify.webhooks
        sid, _ = monitor.store.upsert_source(Source("https://publisher.example/a", "text", "A"), b"s", "url")
        yield monitor, hook, hook_config, sid


async def test_alerts_queued_under_a_webhooks_old_name_are_still_sent(sqlite_url, tmp_path):
    """Before names hid tokens, a webhook was named by its whole URL: such rows still go out."""
    with legacy_webhook(sqlite_url, tmp_path) as (monitor, hook, hook_config, sid):
        url = hook.url + "?token=s3cret"
        assert hook_config.legacy_name == f"webhook:{url}" != hook_config.name
        pid = monitor.store.save_post(Post("https://copy.example/1", "text"), None)
        monitor.store.record_match(sid, pid, "copy", 0.9, 1.0, 0.0, {"passages": []},
                                   [(hook_config.legacy_name, datetime.now(timezone.utc))])
        report = await monitor.deliver_alerts()
    assert report.sent == 1 and len(hook.accepted) == 1
    monitor.close()


async def test_a_webhook_disabled_under_its_old_name_stays_disabled(sqlite_url, tmp_path):
    """A receiver that answered 410 Gone before names hid tokens is not called again under
    the new name: neither for an alert queued then nor for a new one."""
    with legacy_webhook(sqlite_url, tmp_path) as (monitor, hook, hook_config, sid):
        monitor.store.set_destination_disabled(hook_config.legacy_name, "410 Gone")
        now = datetime.now(timezone.utc)
        for i, name in enumerate([hook_config.legacy_name, hook_config.name]):
            pid = monitor.store.save_post(Post(f"https://copy.example/{i}", "text"), None)
            monitor.store.record_match(sid, pid, "copy", 0.9, 1.0, 0.0, {"passages": []}, [(name, now)])
        report = await monitor.deliver_alerts()
    assert report.sent == 0 and hook.accepted == []
    assert monitor.store.disabled_destinations()[hook_config.name] == "410 Gone"
    monitor.close()


async def test_a_webhook_disabled_under_its_old_name_can_be_enabled_again(sqlite_url, tmp_path):
    """The mark moves to the webhook's name once: when `monitor destinations test` finds it
    answering and lifts it, the next alerts go out (the old name does not disable it again)."""
    with legacy_webhook(sqlite_url, tmp_path) as (monitor, hook, hook_config, sid):
        monitor.store.set_destination_disabled(hook_config.legacy_name, "410 Gone")
        await monitor.deliver_alerts()
        assert set(monitor.store.disabled_destinations()) == {hook_config.name}
        assert (await monitor.test_destinations())[hook_config.name] is None  # it answers: enabled
        pid = monitor.store.save_post(Post("https://copy.example/1", "text"), None)
        monitor.store.record_match(sid, pid, "copy", 0.9, 1.0, 0.0, {"passages": []},
                                   [(hook_config.name, datetime.now(timezone.utc))])
        report = await monitor.deliver_alerts()
    assert report.sent == 1 and monitor.store.disabled_destinations() == {}
    monitor.close()
