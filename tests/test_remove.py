"""Sources and feeds can be removed, feeds paused (issue 10 item 6)."""

import asyncio
import json
from datetime import datetime, timedelta, timezone

import yaml
from typer.testing import CliRunner

from monitor import config
from monitor.cli import app
from monitor.demo.run import demo_blog, seed
from monitor.domain import Source
from monitor.pipeline import Monitor
from monitor.store import Database

runner = CliRunner()
ORIGINAL = "https://publisher.example/russia-japan"


def open_monitor(path) -> Monitor:
    s = config.load(path)
    db = Database(s.db_url)
    db.migrate()
    return Monitor(s, db)


def write_config(path, db, watch=(), sources=()):
    path.write_text(yaml.safe_dump({"database_url": db, "fetch": {"allow_private_networks": True},
                                    "watch": [{"url": u} for u in watch], "sources": list(sources)}),
                    encoding="utf-8")


def cli(cfg, *args):
    return runner.invoke(app, ["--config", str(cfg), *args], catch_exceptions=False)


def test_a_removed_source_leaves_every_index_and_its_matches_stay(db_url, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cfg = tmp_path / "m.yaml"
    with demo_blog() as blog:
        write_config(cfg, db_url, watch=[blog.url + "/"])
        other = open_monitor(cfg)  # a `monitor run` already running in another process
        try:
            assert cli(cfg, "sources", "add", str(_article(tmp_path)), "--url", ORIGINAL).exit_code == 0
            asyncio.run(other.run_cycle())
            [match] = other.store.list_matches()
            assert len(other.detector) == 1
            sid = other.store.find_source(ORIGINAL).id
            r = cli(cfg, "sources", "remove", str(sid))
            assert r.exit_code == 0 and f"source {sid} removed: {ORIGINAL}" in r.output
            assert json.loads(cli(cfg, "sources", "list", "--json").stdout or "null") is None
            [listed] = [json.loads(x) for x in cli(cfg, "sources", "list", "--json", "--all").stdout.splitlines()]
            assert listed["status"] == "retired" and listed["retired_at"]
            asyncio.run(other.run_cycle())  # its next cycle drops the source from its index
            assert len(other.detector) == 0
            assert [m.id for m in other.store.list_matches()] == [match.id]  # the match stays
            assert cli(cfg, "sources", "remove", ORIGINAL).output.strip().endswith("was already removed")
            assert cli(cfg, "sources", "remove", "https://nobody.example/").exit_code == 2
            # added again: back in the list and in the other process's index
            assert cli(cfg, "sources", "add", str(_article(tmp_path)), "--url", ORIGINAL).exit_code == 0
            assert [s.url for s in other.store.list_sources()] == [ORIGINAL]
            asyncio.run(other.run_cycle())
            assert len(other.detector) == 1
        finally:
            other.close()


def _article(tmp_path):
    path = tmp_path / "original.txt"
    path.write_text(seed("original.txt"), encoding="utf-8")
    return path


def test_sources_taken_out_of_the_config_are_retired_and_come_back(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cfg, db = tmp_path / "m.yaml", f"sqlite:///{tmp_path / 'm.db'}"
    entry = {"file": str(_article(tmp_path)), "url": ORIGINAL}
    write_config(cfg, db, sources=[entry])
    for listed, expect in (([entry], [ORIGINAL]), ([], []), ([entry], [ORIGINAL])):
        write_config(cfg, db, sources=listed)
        m = open_monitor(cfg)
        try:
            assert asyncio.run(m.sync_config(None)) == []
            m._refresh_index()
            assert [s.url for s in m.store.list_sources()] == expect
            assert len(m.detector) == len(expect)
        finally:
            m.close()
    # removed on the command line while still listed: stays removed, and the user is told
    r = cli(cfg, "sources", "remove", ORIGINAL)
    assert r.exit_code == 0 and "still listed" in r.output
    m = open_monitor(cfg)
    try:
        asyncio.run(m.sync_config(None))
        assert m.store.list_sources() == [] and len(m.detector) == 0
    finally:
        m.close()


def test_feeds_remove_pause_resume(db_url, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cfg = tmp_path / "m.yaml"
    with demo_blog() as blog:
        url = blog.url + "/"
        write_config(cfg, db_url, watch=[url])
        m = open_monitor(cfg)
        try:
            asyncio.run(m.sync_config(None))
            [feed] = m.store.list_feeds()
            assert cli(cfg, "feeds", "pause", str(feed.id)).exit_code == 0
            later = datetime.now(timezone.utc) + timedelta(days=1)
            assert m.store.claim_due_feeds(later, timedelta(minutes=1)) == []  # not polled
            report = asyncio.run(m.run_cycle())
            assert report.feeds_checked == 0
            [shown] = [json.loads(x) for x in cli(cfg, "feeds", "list", "--json").stdout.splitlines()]
            assert shown["paused_at"]
            r = cli(cfg, "feeds", "resume", url)
            assert r.exit_code == 0 and "resumed" in r.output
            assert asyncio.run(m.run_cycle()).feeds_checked == 1
            r = cli(cfg, "feeds", "remove", url)
            assert r.exit_code == 0 and "still listed in the config" in r.output
            assert cli(cfg, "feeds", "list", "--json").stdout == ""
            assert asyncio.run(m.run_cycle(only_urls=[url])).feeds_checked == 0  # stays removed
            assert cli(cfg, "feeds", "pause", url).exit_code == 2
            # taken out of the config and put back: watched again
            write_config(cfg, db_url, watch=[])
            asyncio.run(open_monitor(cfg).sync_config(None))
            write_config(cfg, db_url, watch=[url])
            asyncio.run(open_monitor(cfg).sync_config(None))
            [back] = m.store.list_feeds()
            assert back.retired_at is None and back.id == feed.id
        finally:
            m.close()


def test_removing_your_own_feed_retires_the_articles_it_registered(db_url, tmp_path):
    from monitor.store import Store

    db = Database(db_url)
    db.migrate()
    store = Store(db)
    try:
        store.sync_feeds([("https://me.example/feed", "source", 60)])
        feed = store.find_feed("https://me.example/feed")
        store.upsert_source(Source("https://me.example/1", "one"), b"s", "feed", feed.id, "h")
        store.upsert_source(Source("https://me.example/2", "two"), b"s", "url")
        store.sync_feeds([])
        assert [s.url for s in store.list_sources()] == ["https://me.example/2"]
        store.sync_feeds([("https://me.example/feed", "source", 60)])
        assert [s.url for s in store.list_sources()] == ["https://me.example/1", "https://me.example/2"]
    finally:
        db.close()


def test_upgrade_marks_feeds_already_out_of_the_config_as_retired(empty_db_url):
    """Migration 0007: a feed pushed a century out (taken out of the config before) is retired;
    the others are listed in the config; existing sources are not rescanned all at once."""
    from sqlalchemy import text

    from monitor.store import Store
    from monitor.store.database import migrate

    db = Database(empty_db_url)
    try:
        migrate(db.engine, "0006")
        far = datetime.now(timezone.utc) + timedelta(days=36500)
        with db.engine.begin() as c:
            c.execute(text("INSERT INTO feeds (id, url, role, title, interval_minutes, next_check_at, error_count, "
                           "failure_alerted, created_at) VALUES (1, 'https://gone.example/', 'watch', '', 60, :far, 0, "
                           ":f, :now), (2, 'https://kept.example/', 'watch', '', 60, :now, 0, :f, :now)"),
                      {"far": far, "now": datetime.now(timezone.utc), "f": False})
            c.execute(text("INSERT INTO sources (id, url, title, text, content_hash, origin, status, entry_hash, "
                           "created_at, updated_at) VALUES (1, 'https://me.example/a', '', 'x', '', 'url', 'ready', '', "
                           ":now, :now)"), {"now": datetime.now(timezone.utc)})
        db.migrate()
        store = Store(db)
        assert [f.url for f in store.list_feeds()] == ["https://kept.example/"]
        assert store.list_feeds()[0].in_config
        assert store.find_feed("1").retired_at is not None
        assert store.sources_due_rescan() == []
    finally:
        db.close()
