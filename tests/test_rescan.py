"""A source registered after a post was stored is compared with it (issue 10 item 5)."""

import asyncio
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import select, update
from typer.testing import CliRunner

from monitor import config
from monitor.cli import app
from monitor.demo.run import demo_blog, seed
from monitor.demo.servers import WebhookReceiver
from monitor.detect import DetectSettings, Detector
from monitor.detect import reverse
from monitor.detect.normalise import tokenize
from monitor.domain import Post, Source
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


FOLD = Path(__file__).resolve().parent / "detect" / "data"


def fold_text(name: str) -> str:
    return (FOLD / f"{name}.txt").read_text(encoding="utf-8")


def fold_paragraphs(t: str) -> list[str]:
    return [p for p in t.split("\n\n") if p.strip()]


X_URL, Y_URL = "https://publisher.example/bridge", "https://publisher.example/follow-up"


def store_post(m: Monitor, url: str, text: str) -> None:
    m.check_post(Post(url=url, text=text, title="a post", html=text.encode()))


@pytest.mark.parametrize("together", [False, True])
def test_a_rescan_folds_a_follow_up_into_the_copied_story(db_url, tmp_path, together):
    """One copied post, one alert, in a rescan too: a follow-up that repeats the copied story's
    background is listed as `related`, whether the story was matched before (its recorded
    match takes the follow-up) or both sources arrive in the same rescan."""
    x = fold_text("bridge")
    y = fold_text("garden") + "\n\n" + fold_paragraphs(x)[2]
    with WebhookReceiver() as hook:
        m = open_monitor(db_url, tmp_path, notify={"webhooks": [{"secret_env": "TEST_WEBHOOK_SECRET", "url": hook.url}]},
                         recheck_days=7)
        try:
            if not together:
                m.register_source(Source(X_URL, x, "Bridge"), "url")
            store_post(m, "https://copier.example/bridge.html", fold_text("bridge_spun"))
            if together:
                m.register_source(Source(X_URL, x, "Bridge"), "url")
            m.register_source(Source(Y_URL, y, "Follow-up"), "url")
            found = m.rescan_due()
            assert [f.source.url for f in found] == ([X_URL] if together else [])
            [stored] = m.store.list_matches()
            assert stored.source_url == X_URL
            assert [r["source_url"] for r in stored.evidence["related"]] == [Y_URL]
            asyncio.run(m.deliver_alerts())
            assert len(hook.accepted) == 1  # one copied post, one alert
            assert m.rescan(datetime.now(timezone.utc) - timedelta(days=1)) == []
            [again] = m.store.list_matches()
            assert [r["source_url"] for r in again.evidence["related"]] == [Y_URL]  # listed once
        finally:
            m.close()


def test_a_rescan_keeps_two_articles_copied_side_by_side(db_url, tmp_path):
    post = ("\n\n".join(fold_paragraphs(fold_text("bakery_spun"))[1:]) + "\n\n"
            + "\n\n".join(fold_paragraphs(fold_text("bridge_spun"))[:3]))
    m = open_monitor(db_url, tmp_path, recheck_days=7)
    try:
        m.register_source(Source(X_URL, fold_text("bridge"), "Bridge"), "url")
        store_post(m, "https://copier.example/two.html", post)
        m.register_source(Source("https://publisher.example/bakery", fold_text("bakery"), "Bakery"), "url")
        [found] = m.rescan_due()
        assert found.source.url == "https://publisher.example/bakery" and found.related == []
        assert sorted(r.source_url for r in m.store.list_matches()) == ["https://publisher.example/bakery", X_URL]
    finally:
        m.close()


def test_reverse_candidates_rank_and_cap_as_forward(seed_pair):
    """A long post's candidates both ways: the same sources in the same order, and as many as
    its length allows (the post's word count travels in its stored signature)."""
    import random

    original, _ = seed_pair
    rng = random.Random(7)
    words = original.split()
    det = Detector()
    # long sources recombined from the seed's words: each shares chance keys with the post
    sources = {sid: " ".join(rng.sample(words, len(words))) for sid in range(1, 90)}
    sources[200] = original
    sigs = [(sid, det.signature(t)) for sid, t in sources.items()]
    for sid, sig in sigs:
        det.add(sid, sig)
    lift = " ".join(words[100:160])  # a lifted paragraph of the seed inside ~3,000 other words
    post = " ".join(rng.sample(words, len(words)) * 3) + " " + lift
    stored = reverse.post_keys(det, reverse.post_signature(det, post))
    assert stored is not None and stored.words == len(tokenize(post))
    forward = det.candidates(post)
    (_, backward), = reverse.SourceKeys(det, sigs).candidates([(1, stored)])
    assert 200 in forward[:3] and 200 in backward[:3]
    assert len(backward) <= det._cap(stored.words)
    assert backward[:10] == forward[:10]


def test_a_check_reads_the_post_once(sqlite_url, tmp_path, seed_pair, monkeypatch):
    """check_post splits and fingerprints the post once for its candidates, its stored keys and
    its comparisons (Detector.read), and what it stores and finds is what the text gives."""
    original, spun = seed_pair
    m = open_monitor(sqlite_url, tmp_path)
    try:
        m.register_source(Source("https://publisher.example/a", original, "A"), "url")
        want_sig = reverse.post_signature(m.detector, spun)
        want = m.detector.compare(original, spun)
        monkeypatch.setattr(Detector, "_content", lambda self, text: pytest.fail("the post fingerprinted again"))
        reads = []
        read = Detector.read
        monkeypatch.setattr(Detector, "read", lambda self, text: reads.append(text) or read(self, text))
        [found] = m.check_post(Post(url="https://copier.example/a.html", text=spun, title="a", html=spun.encode()))
        assert reads == [spun]
        assert found.verdict == want
        with m.db.session() as s:
            [sig] = s.scalars(select(PostRow.signature)).all()
        assert sig == want_sig
    finally:
        m.close()


def test_a_source_fingerprinted_by_an_older_format_is_fingerprinted_again_at_start(db_url, tmp_path, seed_pair, caplog):
    """An upgrade that changes the signature format (v7: windows of 16; v8: windows of 8):
    the next process to start re-makes the stored signature from the source's text, once,
    and finds copies with it; the other sources' signatures are read as they are."""
    original, spun = seed_pair
    old = Detector(DetectSettings(window=16, bands=32, min_bands=12))
    v7 = bytes([7]) + old.signature(original)[1:]  # what signature v7 stored
    m = open_monitor(db_url, tmp_path)
    try:
        sid = m.register_source(Source(ORIGINAL, original), "url")
        other = m.register_source(Source("https://publisher.example/other", seed("unrelated-1.txt")), "url")
        m.store.set_signature(sid, v7)
        kept = dict((i, sig) for i, sig, _ in m.store.signatures())[other]
    finally:
        m.close()
    with caplog.at_level("INFO", logger="monitor"):
        m = open_monitor(db_url, tmp_path)
    try:
        assert "re-fingerprinting 1 source(s)" in caplog.text
        stored = dict((i, sig) for i, sig, _ in m.store.signatures())
        assert stored[sid] == Detector().signature(original) != v7
        assert stored[other] == kept
        assert m.detector.candidates(spun)[0] == sid
    finally:
        m.close()
    caplog.clear()
    with caplog.at_level("INFO", logger="monitor"):
        open_monitor(db_url, tmp_path).close()
    assert "re-fingerprinting" not in caplog.text  # once
