"""Chat and push alerts through Apprise: a loopback receiver behind Apprise's json:// URL, the
same outbox (retry, digest, filters), exactly once across a restart."""

import json
from datetime import datetime, timedelta, timezone

import pytest
import yaml

from monitor import config
from monitor.config import AppriseNotifier, ConfigError
from monitor.demo.servers import WebhookReceiver, free_port
from monitor.domain import Post, Source
from monitor.notify.outbox import deliver_due
from monitor.notify.senders import AppriseSender
from monitor.store import Database, Store

DESK = "https://desk.example"


def later(minutes: float) -> datetime:
    return datetime.now(timezone.utc) + timedelta(minutes=minutes)


def apprise_url(hook: WebhookReceiver) -> str:
    return hook.url.replace("http://", "json://", 1)


def queue_match(store: Store, destinations: list[str], n: int = 1, score: float = 0.87) -> list[int]:
    sid, _ = store.upsert_source(Source("https://publisher.example/a", "The original text.", "Original"), b"s", "url")
    ids = []
    for i in range(n):
        pid = store.save_post(Post(f"https://copy.example/{i}", "copied text"), None)
        now = datetime.now(timezone.utc)
        ids.append(store.record_match(sid, pid, "spun_copy", score, 0.9, 0.25, {"passages": []},
                                      [(d, now) for d in destinations])[0])
    return ids


def received(hook: WebhookReceiver) -> list[dict]:
    return [json.loads(r["body"]) for r in hook.accepted]


async def test_channel_down_then_up_gets_one_short_message(sqlite_url, monkeypatch):
    db = Database(sqlite_url)
    store = Store(db)
    with WebhookReceiver(statuses=[500]) as hook:
        monkeypatch.setenv("T_CHAT_URL", apprise_url(hook))
        sender = AppriseSender(AppriseNotifier(url_env="T_CHAT_URL", timeout=5), DESK)
        [match_id] = queue_match(store, [sender.name])
        assert (await deliver_due(store, {sender.name: sender}, 5)).failed == 1
        [(_, _, _, status, attempts, error)] = store.deliveries()
        assert (status, attempts) == ("pending", 1) and "500" in error
        assert (await deliver_due(store, {sender.name: sender}, 5, now=later(30))).sent == 1
        assert (await deliver_due(store, {sender.name: sender}, 5, now=later(600))).sent == 0
    [msg] = received(hook)
    assert msg["title"] == "Copy found: Original"
    body = msg["message"]
    for part in ("spun copy", "score 0.87", "https://publisher.example/a", "https://copy.example/0",
                 f"{DESK}/matches/{match_id}"):
        assert part in body
    db.close()


async def test_exactly_once_across_a_restart(sqlite_url, monkeypatch):
    """A first process sends and stops; a second, started on the same database, sends nothing again."""
    with WebhookReceiver() as hook:
        monkeypatch.setenv("T_CHAT_URL", apprise_url(hook))
        cfg = AppriseNotifier(url_env="T_CHAT_URL", timeout=5)
        db = Database(sqlite_url)
        queue_match(Store(db), [cfg.name], n=2)
        assert (await deliver_due(Store(db), {cfg.name: AppriseSender(cfg)}, 5)).sent == 2
        db.close()
        db = Database(sqlite_url)  # the restart: new process state, same outbox
        store = Store(db)
        for when in (None, later(60), later(24 * 60)):
            assert (await deliver_due(store, {cfg.name: AppriseSender(cfg)}, 5, now=when)).sent == 0
        db.close()
    assert sorted(m["message"].split("Copy: ")[1].split()[0] for m in received(hook)) == [
        "https://copy.example/0", "https://copy.example/1"]


async def test_digest_is_one_message(sqlite_url, monkeypatch):
    db = Database(sqlite_url)
    store = Store(db)
    with WebhookReceiver() as hook:
        monkeypatch.setenv("T_CHAT_URL", apprise_url(hook))
        sender = AppriseSender(AppriseNotifier(url_env="T_CHAT_URL", digest="hourly"))
        queue_match(store, [sender.name], n=3)
        assert (await deliver_due(store, {sender.name: sender}, 5)).sent == 3
    [msg] = received(hook)
    assert msg["title"] == "3 new copies of your articles" and msg["message"].count("Copy: ") == 3
    db.close()


async def test_a_dead_channel_fails_cleanly(sqlite_url, monkeypatch):
    db = Database(sqlite_url)
    store = Store(db)
    monkeypatch.setenv("T_CHAT_URL", f"json://127.0.0.1:{free_port()}/x")
    sender = AppriseSender(AppriseNotifier(url_env="T_CHAT_URL", timeout=2))
    queue_match(store, [sender.name])
    assert (await deliver_due(store, {sender.name: sender}, 5)).failed == 1
    [(_, _, _, status, _, error)] = store.deliveries()
    assert status == "pending" and error.startswith("apprise:T_CHAT_URL:")
    db.close()


async def test_config_rules_and_start_up_checks(tmp_path, monkeypatch, sqlite_url):
    """notify.apprise goes through the pipeline's destinations (filters, digests) and its
    variable is checked at start-up, naming the key at fault."""
    from monitor.pipeline import Monitor

    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump({"notify": {"apprise": [
        {"url_env": "T_CHAT_URL", "min_score": 0.9},
        {"url_env": "T_OTHER_URL", "sources": ["other.example"]}]}}))
    monkeypatch.delenv("T_CHAT_URL", raising=False)
    monkeypatch.setenv("T_OTHER_URL", "nosuchscheme://x")
    s = config.load(path, database_url=sqlite_url)
    with pytest.raises(ConfigError) as e:
        config.check_destinations(s)
    assert "notify.apprise.0.url_env: apprise:T_CHAT_URL: environment variable T_CHAT_URL is not set" in str(e.value)
    assert "notify.apprise.1.url_env: apprise:T_OTHER_URL: environment variable T_OTHER_URL does not hold an " \
           "Apprise URL" in str(e.value)
    with WebhookReceiver() as hook:
        monkeypatch.setenv("T_CHAT_URL", apprise_url(hook))
        monkeypatch.setenv("T_OTHER_URL", apprise_url(hook))
        assert config.check_destinations(s) == []
        monitor = Monitor(s)
        assert [d for d, _ in monitor.destinations_for("https://publisher.example/a", 0.95)] == ["apprise:T_CHAT_URL"]
        assert monitor.destinations_for("https://publisher.example/a", 0.5) == []
        queue_match(monitor.store, [d for d, _ in monitor.destinations_for("https://publisher.example/a", 0.95)],
                    score=0.95)
        assert (await monitor.deliver_alerts()).sent == 1
        assert "score 0.95" in received(hook)[0]["message"]
        # the URL (a credential) never shows in a log line
        from monitor.logs import redact
        assert apprise_url(hook) not in redact(f"failed: {apprise_url(hook)}")
        monitor.close()
