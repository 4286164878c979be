"""Whole cycles in-process against loopback blogs, on SQLite and PostgreSQL."""

import asyncio
import http.server
from http.server import BaseHTTPRequestHandler

from monitor import config
from monitor.demo.run import demo_blog, seed
from monitor.demo.servers import (
    LoopbackServer,
    SMTPSink,
    WebhookReceiver,
    free_port,
    webhook_json,
)
from monitor.domain import Source
from monitor.pipeline import Monitor
from monitor.store import Database


def settings_for(db_url, tmp_path, watch, notify=None, sources=None):
    (tmp_path / "original.txt").write_text(seed("original.txt"), encoding="utf-8")
    return config.load(None, database_url=db_url, data_dir=str(tmp_path),
                       sources=sources or [{"file": str(tmp_path / "original.txt"),
                                            "url": "https://publisher.example/russia-japan"}],
                       watch=[{"url": u} for u in watch], notify=notify or {},
                       fetch={"allow_private_networks": True})


def open_monitor(settings):
    db = Database(settings.db_url)
    db.migrate()
    return Monitor(settings, db)


class Faulty(LoopbackServer):
    """Feeds that fail in the ways real ones do, and posts that are not what they claim."""

    def __init__(self) -> None:
        class H(BaseHTTPRequestHandler):
            def log_message(self, *a):  # noqa: ANN002
                pass

            def do_GET(self):  # noqa: N802
                routes = {
                    "/gone": (410, "text/plain", b"gone"),
                    "/broken.xml": (200, "application/rss+xml", b"<rss><channel><item><title>x</ti"),
                    "/nofeed": (200, "text/html", b"<html><body><p>no feed here</p></body></html>"),
                    "/faults.rss": (200, "application/rss+xml", (
                        b'<?xml version="1.0"?><rss version="2.0"><channel><title>F</title>'
                        b'<item><title>Image</title><link>/img.png</link></item>'
                        b'<item><title>Empty</title><link>/empty.html</link></item>'
                        b'<item><title>Missing</title><link>/missing.html</link></item>'
                        b'</channel></rss>')),
                    "/img.png": (200, "image/png", b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4),
                    "/empty.html": (200, "text/html", b"<html><body><nav>Home</nav></body></html>"),
                }
                status, ctype, body = routes.get(self.path, (404, "text/plain", b"no"))
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        super().__init__(H)


def test_cycle_finds_the_spun_copy_once(db_url, tmp_path):
    with demo_blog() as blog, WebhookReceiver() as hook:
        s = settings_for(db_url, tmp_path, [blog.url + "/"], notify={"webhooks": [{"secret_env": "TEST_WEBHOOK_SECRET", "url": hook.url}]})
        m = open_monitor(s)
        try:
            report = asyncio.run(m.run_cycle())
            assert report.feeds_checked == 1 and report.posts_checked == 3
            [found] = report.matches
            assert found.post.url.endswith("russia-japan-military.html")
            assert found.verdict.kind == "spun_copy" and found.event == "match.created"
            assert len(hook.accepted) == 1
            # The next cycle (forced) sees nothing new and sends nothing again.
            again = asyncio.run(m.run_cycle(only_urls=[blog.url + "/"]))
            assert again.feeds_checked == 1 and again.posts_checked == 0 and again.matches == []
            assert len(hook.accepted) == 1
            [feed] = m.store.list_feeds()
            assert feed.feed_url == blog.url + "/feeds/posts/default"  # found by discovery
            [stored] = m.store.list_matches()
            assert stored.raw_sha256 and stored.http_status == 200
        finally:
            m.close()


def test_a_feed_check_returns_what_it_found(sqlite_url, tmp_path):
    """poll_feed returns its feed's result (run_cycle adds these up); nothing else is filled."""
    from datetime import datetime, timedelta, timezone

    from monitor.pipeline import FeedResult
    dead = f"http://127.0.0.1:{free_port()}/feed"
    with demo_blog() as blog:
        m = open_monitor(settings_for(sqlite_url, tmp_path, [blog.url + "/", dead]))
        try:
            asyncio.run(m.sync_config(None))

            async def check_all() -> dict[str, FeedResult]:
                async with m.fetcher() as fetcher:
                    feeds = m.store.claim_due_feeds(datetime.now(timezone.utc), timedelta(minutes=5))
                    results = {f.url: await m.poll_feed(fetcher, f) for f in feeds}
                m.flush_checks()
                return results

            results = asyncio.run(check_all())
            ok, failed = results[blog.url + "/"], results[dead]
            assert ok.checked and not ok.unchanged and not ok.failed and ok.errors == []
            assert ok.posts_checked == 3 and [f.verdict.kind for f in ok.matches] == ["spun_copy"]
            assert failed.failed and not failed.checked and failed.posts_checked == 0
            assert len(failed.errors) == 1 and "127.0.0.1" in failed.errors[0]
        finally:
            m.close()


def test_a_restart_rebuilds_the_index_from_stored_signatures(sqlite_url, tmp_path):
    with demo_blog() as blog:
        s = settings_for(sqlite_url, tmp_path, [blog.url + "/"])
        first = open_monitor(s)
        asyncio.run(first.sync_config(None))  # file sources need no fetching
        assert len(first.detector) == 1
        first.close()
        second = Monitor(s)
        assert len(second.detector) == 1
        report = asyncio.run(second.run_cycle())
        second.close()
    assert len(report.matches) == 1


def test_broken_feeds_and_posts_do_not_stop_the_cycle(db_url, tmp_path):
    dead = f"http://127.0.0.1:{free_port()}/feed"
    with demo_blog() as blog, Faulty() as bad, SMTPSink() as smtp:
        watch = [bad.url + "/gone", bad.url + "/broken.xml", bad.url + "/nofeed", dead,
                 bad.url + "/faults.rss", blog.url + "/"]
        notify = {"email": [{"host": "127.0.0.1", "port": smtp.port, "security": "none",
                             "from": "m@localhost", "to": "e@localhost"}]}
        m = open_monitor(settings_for(db_url, tmp_path, watch, notify=notify))
        try:
            report = asyncio.run(m.run_cycle())
        finally:
            m.close()
        assert len(report.matches) == 1 and len(smtp.messages) == 1
        feeds = {f.url: f for f in m.store.list_feeds()}
    assert feeds[bad.url + "/gone"].last_status == "410"
    assert "HTTP 410" in feeds[bad.url + "/gone"].last_error
    assert "not a feed" in feeds[bad.url + "/broken.xml"].last_error
    assert "no feed found" in feeds[bad.url + "/nofeed"].last_error
    assert feeds[dead].error_count == 1 and "127.0.0.1" in feeds[dead].last_error
    assert feeds[bad.url + "/faults.rss"].last_status == "200"
    assert feeds[blog.url + "/"].last_status == "200"
    # The image and the empty page were kept as posts with no text; the missing one is retried.
    assert any("missing.html" in e and "404" in e for e in report.errors)
    assert feeds[bad.url + "/faults.rss"].body_hash is None


def test_unreadable_source_file_is_reported_not_fatal(sqlite_url, tmp_path):
    s = config.load(None, database_url=sqlite_url, data_dir=str(tmp_path),
                    sources=[{"file": str(tmp_path / "nope.txt")}])
    m = open_monitor(s)
    try:
        errors = asyncio.run(m.sync_config(None))
    finally:
        m.close()
    assert len(errors) == 1 and "nope.txt" in errors[0]


def test_not_html_post_is_kept_without_text(sqlite_url, tmp_path):
    with Faulty() as bad:
        m = open_monitor(settings_for(sqlite_url, tmp_path, [bad.url + "/faults.rss"]))
        try:
            asyncio.run(m.run_cycle())
            from sqlalchemy import text
            with m.db.engine.connect() as c:
                rows = dict(c.execute(text("select url, text from posts")).all())
        finally:
            m.close()
    assert rows[bad.url + "/img.png"] == ""
    assert rows[bad.url + "/empty.html"] == ""


def test_own_feed_registers_every_post_as_a_source(sqlite_url, tmp_path):
    """`sources: - feed:` makes each post of the user's own blog a source."""
    from monitor.demo.servers import Blog, BlogPost

    own = Blog("Publisher", [BlogPost("russia-japan", "Russia, Japan", seed("original.txt")),
                             BlogPost("garden", "Garden", seed("unrelated-1.txt"))])
    with own, demo_blog() as copier:
        s = config.load(None, database_url=sqlite_url, data_dir=str(tmp_path),
                        sources=[{"feed": own.url + "/feeds/posts/default"}],
                        watch=[{"url": copier.url + "/"}], fetch={"allow_private_networks": True})
        m = open_monitor(s)
        try:
            report = asyncio.run(m.run_cycle())
            registered = {x.url for x in m.store.list_sources()}
        finally:
            m.close()
    assert registered == {own.url + "/russia-japan.html", own.url + "/garden.html"}
    # The demo blog copies both: the spun article and, verbatim, the garden post.
    kinds = {f.source.url: f.verdict.kind for f in report.matches}
    assert kinds == {own.url + "/russia-japan.html": "spun_copy", own.url + "/garden.html": "copy"}


def test_own_post_at_a_new_url_is_the_same_source(sqlite_url, tmp_path):
    """Your post moved (new URL, same text, old URL gone from the feed): the source follows it,
    keeping its id. The same text at a second URL still listed is not a second source: each
    copy would alert twice."""
    from monitor.demo.servers import Blog, BlogPost

    own = Blog("Publisher", [BlogPost("russia-japan", "Russia, Japan", seed("original.txt")),
                             BlogPost("garden", "Garden", seed("unrelated-1.txt"))])
    with own:
        feed = own.url + "/feeds/posts/default"
        s = config.load(None, database_url=sqlite_url, data_dir=str(tmp_path), sources=[{"feed": feed}],
                        fetch={"allow_private_networks": True})
        m = open_monitor(s)
        try:
            asyncio.run(m.run_cycle())
            before = {x.url.removeprefix(own.url): x.id for x in m.store.list_sources()}
            post, when = own.posts[1]
            own.posts[1] = (BlogPost("2026/garden-moved", post.title, post.text), when)
            asyncio.run(m.run_cycle(only_urls=[feed]))
            after = {x.url.removeprefix(own.url): x.id for x in m.store.list_sources()}
            assert after == {"/russia-japan.html": before["/russia-japan.html"],
                             "/2026/garden-moved.html": before["/garden.html"]}
            own.posts.append((BlogPost("amp/russia-japan", "Russia, Japan", seed("original.txt")), when))
            asyncio.run(m.run_cycle(only_urls=[feed]))
            assert {x.url.removeprefix(own.url) for x in m.store.list_sources()} == set(after)
        finally:
            m.close()


def test_a_feed_failing_n_times_alerts_once_then_recovers(sqlite_url, tmp_path):
    from monitor.demo.servers import Blog, BlogPost

    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    with WebhookReceiver() as hook:
        s = settings_for(sqlite_url, tmp_path, [url], notify={"webhooks": [{"secret_env": "TEST_WEBHOOK_SECRET", "url": hook.url}], "feed_failures": 2})
        m = open_monitor(s)
        try:
            for _ in range(3):  # three failures in a row: one "failing" alert, after the second
                asyncio.run(m.run_cycle(only_urls=[url]))
            assert [webhook_json(r)["type"] for r in hook.accepted] == ["feed.failing"]
            assert webhook_json(hook.accepted[0])["error_count"] == 2
            # The feed comes back on the same port.
            blog = Blog("Back", [BlogPost("p", "P", "Some text.")])
            blog.server.server_close()
            blog.server = http.server.ThreadingHTTPServer(("127.0.0.1", port), blog.server.RequestHandlerClass)
            with blog:
                asyncio.run(m.run_cycle(only_urls=[url]))
            assert [webhook_json(r)["type"] for r in hook.accepted] == ["feed.failing", "feed.recovered"]
        finally:
            m.close()


def test_site_boilerplate_is_learned_and_stripped(sqlite_url, tmp_path):
    from monitor.demo.servers import Blog, BlogPost

    signature = "Salam hormat, Admin Berita Dunia. Jangan lupa kongsi artikel ini."
    posts = [BlogPost(f"p{i}", f"Post {i}", f"Paragraph {i} about topic number {i} with its own words {'x' * i}.\n{signature}")
             for i in range(5)]
    with Blog("Sig blog", posts) as blog:
        m = open_monitor(settings_for(sqlite_url, tmp_path, [blog.url + "/"]))
        try:
            asyncio.run(m.run_cycle())
            from sqlalchemy import text
            with m.db.engine.connect() as c:
                texts = dict(c.execute(text("select url, text from posts")).all())
            learned = m.store.site_boilerplate("127.0.0.1")
        finally:
            m.close()
    assert learned
    stripped = [u for u, t in texts.items() if "Salam hormat" not in t]
    assert len(stripped) >= 2  # from the third post of the site on
    assert all("Paragraph" in t for t in texts.values())  # the posts' own text stays


def test_an_article_republished_three_times_on_one_site_is_not_stripped_as_boilerplate(sqlite_url, tmp_path):
    """A copier that republishes one article under new intros makes its paragraphs recur
    across the site's posts; they are still a copy, not chrome, so every copy is matched."""
    from monitor.demo.servers import Blog, BlogPost

    article = seed("original.txt")  # the source settings_for registers
    intros = ["Apples and pears, a short word first.", "Plums today, friends.", "Figs, figs and figs.",
              "A note on cherries before we start."]
    posts = [BlogPost(f"p{i}", f"Post {i}", f"{intro}\n\n{article}") for i, intro in enumerate(intros)]
    with Blog("Repost blog", posts) as blog:
        m = open_monitor(settings_for(sqlite_url, tmp_path, [blog.url + "/"]))  # registers the article
        try:
            report = asyncio.run(m.run_cycle())
        finally:
            m.close()
    assert sorted(f.post.url.rsplit("/", 1)[1] for f in report.matches) == [f"p{i}.html" for i in range(4)]


def test_a_feed_check_that_dies_part_way_still_reports_what_it_found(sqlite_url, tmp_path, monkeypatch):
    """An unexpected error between posts ends the feed's check; the match found before it is
    in the cycle's report (it is stored and alerted either way)."""
    with demo_blog() as blog:
        m = open_monitor(settings_for(sqlite_url, tmp_path, [blog.url + "/"]))
        found_before: list = []
        real_check, real_claim = m._check_claimed, m.store.claim_post

        def check(*args, **kwargs):
            out = real_check(*args, **kwargs)
            found_before.extend(out)
            return out

        def claim(*args, **kwargs):
            if found_before:
                raise RuntimeError("the database went away")
            return real_claim(*args, **kwargs)

        monkeypatch.setattr(m, "_check_claimed", check)
        monkeypatch.setattr(m.store, "claim_post", claim)
        try:
            report = asyncio.run(m.run_cycle())
        finally:
            m.close()
    assert report.feeds_failed == 1 and "the database went away" in " ".join(report.errors)
    assert [f.post.url for f in report.matches] == [f.post.url for f in found_before] != []


def test_sources_registered_by_another_process_are_seen_next_cycle(sqlite_url, tmp_path):
    with demo_blog() as blog:
        s = config.load(None, database_url=sqlite_url, data_dir=str(tmp_path),
                        watch=[{"url": blog.url + "/"}], fetch={"allow_private_networks": True})
        watcher = open_monitor(s)
        other = Monitor(s)  # e.g. `monitor sources add` run elsewhere
        other.register_source(Source("https://publisher.example/a", seed("original.txt"), "A"), "file")
        other.close()
        try:
            report = asyncio.run(watcher.run_cycle())
        finally:
            watcher.close()
    assert [f.source.url for f in report.matches] == ["https://publisher.example/a"]


def test_an_edited_source_post_is_fingerprinted_again(db_url, tmp_path):
    """Your own feed: an edited post replaces its source text and signature (here and in other
    processes' indexes), new posts are compared with the new text, earlier matches keep the
    text they were found in, and an unchanged entry is never read again."""
    from datetime import datetime, timezone

    from monitor.demo.servers import Blog, BlogPost

    class OwnBlog(Blog):
        def respond(self, path):
            if path == "/broken.html":
                return b"oops", "text/plain", 500
            return super().respond(path)

    garden, cafe = seed("unrelated-1.txt"), seed("unrelated-2.txt")
    own = OwnBlog("Publisher", [BlogPost("russia-japan", "Russia, Japan", seed("original.txt")),
                                BlogPost("garden", "Garden", garden),
                                BlogPost("broken", "Broken", "A post whose page fails.")])
    with own, demo_blog() as copier:
        feed = own.url + "/feeds/posts/default"
        s = config.load(None, database_url=db_url, data_dir=str(tmp_path), sources=[{"feed": feed}],
                        watch=[{"url": copier.url + "/"}], fetch={"allow_private_networks": True})
        m = open_monitor(s)
        other = None
        try:
            first = asyncio.run(m.run_cycle())
            ids = {x.url.removeprefix(own.url): x.id for x in m.store.list_sources()}
            assert set(ids) == {"/russia-japan.html", "/garden.html"}
            assert any("/broken.html" in e and "500" in e for e in first.errors)  # named; the others went on
            [old_match] = [f.match_id for f in first.matches if f.source.url.endswith("/garden.html")]
            old_text = m.store.sources_by_id([ids["/garden.html"]])[ids["/garden.html"]].text
            other = Monitor(s)  # another process, its index loaded before the edit

            # The garden post is rewritten (its entry changes); the copier publishes the new text.
            own.posts[1] = (BlogPost("garden", "Repair café", cafe), own.posts[1][1])
            copier.posts.append((BlogPost("2018/09/cafe", "Repair café, again", cafe.split("\n", 2)[2]),
                                 datetime.now(timezone.utc)))
            before = m.store.source_version()
            second = asyncio.run(m.run_cycle(only_urls=[feed, copier.url + "/"]))
            assert own.requests.count("/garden.html") == 2 and own.requests.count("/russia-japan.html") == 1
            gid = ids["/garden.html"]
            assert [sid for sid, _, _ in m.store.signatures(above_version=before)] == [gid]
            assert "Repair" in m.store.sources_by_id([gid])[gid].text
            assert gid in m.detector.candidates(cafe) and gid not in m.detector.candidates(garden)
            # The new copy meets the new text; the copy of the old text was not checked again.
            assert [(f.source.id, f.post.url.rsplit("/", 1)[1], f.event) for f in second.matches] == \
                [(gid, "cafe.html", "match.created")]
            assert m.store.match_with_texts(old_match)[1] == old_text  # its evidence, as found
            assert len(m.store.list_matches()) == 3
            # The other process's next reload replaces the garden's keys too.
            other._refresh_index()
            assert gid in other.detector.candidates(cafe) and gid not in other.detector.candidates(garden)

            # Another post published: only it is read; unchanged entries cost nothing.
            own.posts.insert(0, (BlogPost("news", "News", seed("original.txt").replace("Japan", "Nippon")),
                                 datetime.now(timezone.utc)))
            before = m.store.source_version()
            asyncio.run(m.run_cycle(only_urls=[feed]))
            assert own.requests.count("/news.html") == 1
            assert own.requests.count("/garden.html") == 2 and own.requests.count("/russia-japan.html") == 1
            news = next(x.id for x in m.store.list_sources() if x.url.endswith("/news.html"))
            assert [sid for sid, _, _ in m.store.signatures(above_version=before)] == [news]
        finally:
            m.close()
            if other is not None:
                other.close()


class MovingFeed(LoopbackServer):
    """An RSS feed carrying full posts, whose items (guid, path, text) the test rearranges."""

    def __init__(self, items: list[tuple[str, str, str]]) -> None:
        self.items = items
        srv = self

        class H(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_GET(self):
                if self.path != "/feed.xml":
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                items = "".join(
                    f"<item><title>Post</title><link>{srv.url}{path}</link><guid>{guid}</guid><description><![CDATA["
                    + "".join(f"<p>{p}</p>" for p in body.split("\n") if p.strip()) + "]]></description></item>"
                    for guid, path, body in srv.items)
                data = f'<rss version="2.0"><channel><title>Mover</title>{items}</channel></rss>'.encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/rss+xml")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        super().__init__(H)


def test_a_guid_at_a_new_url_moves_the_post_or_names_another(db_url, tmp_path):
    """Same GUID, new link, same text: the post moved; its URL follows, nothing is checked or
    alerted again. Same GUID, new link, other text: another post under a reused GUID; it is
    checked, and the first keeps its URL, text and match."""
    spun = seed("spun.txt").split("Buat lebih berguna, kongsi:")[0].strip()
    other = seed("unrelated-1.txt") + "\n" + seed("unrelated-2.txt")
    with MovingFeed([("p1", "/copy.html", spun)]) as srv, WebhookReceiver() as hook:
        m = open_monitor(settings_for(db_url, tmp_path, [srv.url + "/feed.xml"],
                                      notify={"webhooks": [{"secret_env": "TEST_WEBHOOK_SECRET", "url": hook.url}]}))
        try:
            first = asyncio.run(m.run_cycle())
            [found] = first.matches
            assert found.post.url == srv.url + "/copy.html" and len(hook.accepted) == 1

            srv.items = [("p1", "/2018/copy.html", spun)]  # the copier moved its post
            moved = asyncio.run(m.run_cycle(only_urls=[srv.url + "/feed.xml"]))
            assert moved.posts_checked == 0 and moved.matches == [] and len(hook.accepted) == 1
            [match] = m.store.list_matches()
            assert match.id == found.match_id and match.copy_url == srv.url + "/2018/copy.html"

            # p1 now names another post; the moved copy is still listed, under a GUID of its own.
            srv.items = [("p1", "/recycled.html", other), ("p9", "/2018/copy.html", spun)]
            reused = asyncio.run(m.run_cycle(only_urls=[srv.url + "/feed.xml"]))
            assert reused.posts_checked == 1 and reused.matches == [] and reused.errors == []
            [match] = m.store.list_matches()
            record, _, copy_text = m.store.match_with_texts(match.id)
            assert record.copy_url == srv.url + "/2018/copy.html" and "Russian Federation held their tertiary" in copy_text
            from sqlalchemy import text
            with m.db.engine.connect() as c:
                stored = dict(c.execute(text("select url, guid from posts")).all())
            assert stored == {srv.url + "/2018/copy.html": "p9", srv.url + "/recycled.html": "p1"}
            assert len(hook.accepted) == 1
        finally:
            m.close()


def test_errors_name_the_post_at_fault():
    from monitor.pipeline import _naming

    assert _naming("post", "https://b.example/p", KeyError("entry_hash")) == "post https://b.example/p: 'entry_hash'"
    assert _naming("post", "https://b.example/p", RuntimeError()) == "post https://b.example/p: RuntimeError"
    fetch = ValueError("https://b.example/p: HTTP 404")  # a FetchError names its URL already
    assert _naming("post", "https://b.example/p", fetch) == "https://b.example/p: HTTP 404"


def test_a_process_that_died_reading_your_own_feed_does_not_hold_the_others_for_long(sqlite_url, tmp_path, monkeypatch):
    """Its claim on your own feed lasts until the lease runs out; the others wait for it only
    OWN_FEEDS_MAX_WAIT, then check their posts (the rescan covers what it would register)."""
    import monitor.pipeline as pipeline
    from datetime import datetime, timedelta, timezone
    from sqlalchemy import update
    from monitor.store.models import FeedRow

    monkeypatch.setattr(pipeline, "OWN_FEEDS_MAX_WAIT", 0.5)
    monkeypatch.setattr(pipeline, "OWN_FEEDS_POLL", 0.05)
    with demo_blog() as blog:
        s = settings_for(sqlite_url, tmp_path, [blog.url + "/"])
        s = config.load(None, database_url=sqlite_url, data_dir=str(tmp_path), fetch={"allow_private_networks": True},
                        sources=[*[e.model_dump(exclude_none=True) for e in s.sources],
                                 {"feed": "https://publisher.example/feed.xml"}],
                        watch=[{"url": blog.url + "/"}])
        m = open_monitor(s)
        try:
            m.store.sync_feeds([(blog.url + "/", "watch", 60), ("https://publisher.example/feed.xml", "source", 60)])
            with m.db.session() as session:  # a dead process's claim on the own feed
                session.execute(update(FeedRow).where(FeedRow.role == "source").values(
                    lease_until=datetime.now(timezone.utc) + timedelta(minutes=15)))
            report = asyncio.run(asyncio.wait_for(m.run_cycle(), 60))
        finally:
            m.close()
    assert [f.post.url.rsplit("/", 1)[1] for f in report.matches] == ["russia-japan-military.html"]
