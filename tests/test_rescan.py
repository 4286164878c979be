"""A source registered after a post was stored is compared with it (issue 10 item 5)."""

import asyncio
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select, update
from typer.testing import CliRunner

from monitor import config
from monitor.cli import app
from monitor.demo.run import demo_blog, seed
from monitor.demo.servers import WebhookReceiver
from monitor.detect import Detector
from monitor.detect import reverse
from monitor.domain import Source
from monitor.pipeline import Monitor
from monitor.store import Database
from monitor.store.models import PostRow

runner = CliRunner()
ORIGINAL = "https://publisher.example/russia-japan"


def open_monitor(db_url, tmp_path, watch=(), notify=None, **detection) -> Monitor:
    s = config.load(None, database_url=db_url, data_dir=str(tmp_path), fetch={"allow_private_networks": True},
                    watch=[{"url": u} for u in watch], notify=notify or {}, detection=detection)
    db = Database(s.db_url)
    db.migrate()
    return Monitor(s, db)


def test_reverse_candidates_find_what_the_forward_index_finds(seed_pair):
    original, spun = seed_pair
    det = Detector()
    sources = {1: original, 2: seed("unrelated-1.txt"), 3: seed("unrelated-2.txt")}
    sigs = [(sid, det.signature(t)) for sid, t in sources.items()]
    for sid, sig in sigs:
        det.add(sid, sig)
    keys = reverse.SourceKeys(det, sigs)
    posts = {10: spun, 11: seed("unrelated-1.txt"), 12: "nothing to see " * 50}
    found = dict(keys.candidates([(pid, reverse.post_keys(det, reverse.post_signature(det, t)))
                                  for pid, t in posts.items()]))
    assert found[10][0] == 1 and 1 in det.candidates(spun)
    assert found[11] == [2] and 12 not in found
    # a stored signature of another format is not read: made again from the text
    assert reverse.post_keys(det, b"\x01" + reverse.post_signature(det, spun)[1:]) is None


def test_a_source_added_later_finds_the_copy_stored_before(db_url, tmp_path):
    with demo_blog() as blog, WebhookReceiver() as hook:
        m = open_monitor(db_url, tmp_path, watch=[blog.url + "/"], notify={"webhooks": [{"secret_env": "TEST_WEBHOOK_SECRET", "url": hook.url}]})
        try:
            first = asyncio.run(m.run_cycle())  # no source yet: three posts stored, no match
            assert first.posts_checked == 3 and first.matches == []
            # one post was stored before posts kept their keys: made from its text at the rescan
            with m.db.session() as s:
                s.execute(update(PostRow).where(PostRow.url.like("%kitchen%")).values(signature=None))
            m.register_source(Source(ORIGINAL, seed("original.txt"), "Russia, Japan"), "url")
            [found] = m.rescan_due()
            assert found.post.url.endswith("russia-japan-military.html") and found.event == "match.created"
            assert found.verdict.kind == "spun_copy"
            assert m.rescan_due() == []  # done once
            with m.db.session() as s:
                assert s.scalar(select(PostRow.signature).where(PostRow.url.like("%kitchen%"))) is not None
            asyncio.run(m.deliver_alerts())
            assert len(hook.accepted) == 1  # alerted like any other match
            [stored] = m.store.list_matches()
            assert stored.source_url == ORIGINAL and stored.http_status == 200
        finally:
            m.close()


def test_run_rescans_new_sources_and_respects_recheck_days(db_url, tmp_path):
    with demo_blog() as blog:
        m = open_monitor(db_url, tmp_path, watch=[blog.url + "/"], recheck_days=7)
        try:
            asyncio.run(m.run_cycle())
            old = datetime.now(timezone.utc) - timedelta(days=10)
            with m.db.session() as s:
                s.execute(update(PostRow).values(checked_at=old))
            m.register_source(Source(ORIGINAL, seed("original.txt")), "url")
            again = asyncio.run(m.run_cycle())
            assert again.matches == []  # the copy was stored 10 days ago: outside recheck_days
            assert m.store.sources_due_rescan() == []
            found = m.rescan(datetime.now(timezone.utc) - timedelta(days=30))
            assert [f.post.url.rsplit("/", 1)[1] for f in found] == ["russia-japan-military.html"]
            assert m.rescan(datetime.now(timezone.utc) - timedelta(days=30)) == []  # already matched
        finally:
            m.close()


@pytest.mark.parametrize("by", ["url", "id"])
def test_cli_rescan_since_and_source(tmp_path, monkeypatch, by):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MONITOR_CONFIG", raising=False)
    db = f"sqlite:///{tmp_path / 'm.db'}"
    with demo_blog() as blog:
        m = open_monitor(db, tmp_path, watch=[blog.url + "/"], recheck_days=0)  # 0: no rescan on add
        try:
            asyncio.run(m.run_cycle())
            sid = m.register_source(Source(ORIGINAL, seed("original.txt")), "url")
            assert m.rescan_due() == []
        finally:
            m.close()

    def cli(*args):
        return runner.invoke(app, ["--database-url", db, *args], catch_exceptions=False)

    r = cli("rescan", "--since", "2d", "--source", ORIGINAL if by == "url" else str(sid))
    assert r.exit_code == 0, r.output
    assert "russia-japan-military.html" in r.stdout and "1 new match(es)" in r.output
    r = cli("rescan", "--since", "2d")
    assert r.exit_code == 0 and "0 new match(es)" in r.output
    r = cli("rescan", "--source", "https://nobody.example/x")
    assert r.exit_code == 2 and "no source https://nobody.example/x" in r.output


def test_cli_sources_add_compares_the_new_source_with_stored_posts(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MONITOR_CONFIG", raising=False)
    db = f"sqlite:///{tmp_path / 'm.db'}"
    with demo_blog() as blog:
        m = open_monitor(db, tmp_path, watch=[blog.url + "/"])
        try:
            asyncio.run(m.run_cycle())
        finally:
            m.close()
    (tmp_path / "original.txt").write_text(seed("original.txt"), encoding="utf-8")
    r = runner.invoke(app, ["--database-url", db, "sources", "add", str(tmp_path / "original.txt"),
                            "--url", ORIGINAL], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    assert "russia-japan-military.html" in r.stdout and "1 new match(es) among the posts already stored" in r.output


def test_a_rescan_keeps_the_allow_list(db_url, tmp_path):
    """A copy found by a rescan goes the same way as one found by a check: an allowed site's
    copy is stored licensed and alerts no one."""
    from monitor.sites import site_of
    from monitor.store.triage import match_state

    with demo_blog() as blog, WebhookReceiver() as hook:
        s = config.load(None, database_url=db_url, data_dir=str(tmp_path), fetch={"allow_private_networks": True},
                        watch=[{"url": blog.url + "/"}], notify={"webhooks": [{"secret_env": "TEST_WEBHOOK_SECRET", "url": hook.url}]},
                        allow={"sites": [site_of(blog.url + "/")]})
        db = Database(s.db_url)
        db.migrate()
        m = Monitor(s, db)
        try:
            asyncio.run(m.run_cycle())
            m.register_source(Source(ORIGINAL, seed("original.txt"), "Russia, Japan"), "url")
            [found] = m.rescan_due()
            assert found.match_id is not None and match_state(m.db, found.match_id).state == "licensed"
            asyncio.run(m.deliver_alerts())
            assert hook.accepted == []
        finally:
            m.close()
