"""Backfill of the user's own site: every post, not only those in the feed's latest page."""

import asyncio
import json
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, urlsplit

from monitor import config
from monitor.demo.servers import LoopbackServer
from monitor.pipeline import Monitor
from monitor.store import Database

POSTS = 7  # the WordPress site shows 3 per REST page (so 3 pages); Blogger the same


def text(i: int) -> str:
    return " ".join(f"word{(i * 13 + j) % 500} plain" for j in range(100))


class Site(LoopbackServer):
    def __init__(self) -> None:
        site = self

        class H(BaseHTTPRequestHandler):
            def log_message(self, *a):  # noqa: ANN002
                pass

            def do_GET(self):  # noqa: N802
                parts = urlsplit(self.path)
                q = {k: v[0] for k, v in parse_qs(parts.query).items()}
                base = site.url
                headers = {}
                if parts.path == "/wp/feed/":  # latest post only, as WordPress shows the newest
                    body = (f'<rss version="2.0"><channel><title>WP</title><generator>https://wordpress.org/?v=6.4</generator>'
                            f'<item><title>P0</title><link>{base}/wp/p0</link><guid>{base}/wp/?p=0</guid>'
                            f'<description><![CDATA[<p>{text(0)}</p>]]></description></item></channel></rss>').encode()
                elif parts.path == "/wp/wp-json/wp/v2/posts":
                    page, per = int(q["page"]), 3
                    if (page - 1) * per >= POSTS:
                        self.send_response(400)
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                        return
                    items = [{"link": f"{base}/wp/p{i}", "guid": {"rendered": f"{base}/wp/?p={i}"},
                              "title": {"rendered": f"P{i}"}, "content": {"rendered": f"<p>{text(i)}</p>"},
                              "date_gmt": "2020-01-01T00:00:00"}
                             for i in range((page - 1) * per, min(page * per, POSTS))]
                    body, headers = json.dumps(items).encode(), {"X-WP-TotalPages": str(-(-POSTS // per))}
                elif parts.path == "/feeds/posts/default":
                    start, count = int(q.get("start-index", 1)), int(q.get("max-results", 1))
                    entries = "".join(
                        f'<entry><id>tag:blogger.com,1999:post-{i}</id><title>B{i}</title>'
                        f'<link rel="alternate" type="text/html" href="{base}/b{i}.html"/>'
                        f'<content type="html">&lt;p&gt;{text(100 + i)}&lt;/p&gt;</content></entry>'
                        for i in range(start - 1, min(start - 1 + count, POSTS)))
                    body = (f'<feed xmlns="http://www.w3.org/2005/Atom"><title>B</title>'
                            f'<generator>Blogger</generator>{entries}</feed>').encode()
                else:
                    body = b"no"
                self.send_response(200 if body != b"no" else 404)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        super().__init__(H)


def test_first_check_of_a_source_feed_reads_the_whole_site(sqlite_url, tmp_path, monkeypatch):
    from monitor.fetch import backfill

    monkeypatch.setattr(backfill, "PAGE_SIZE", 3)  # Blogger pages of 3, so paging really happens
    with Site() as site:
        s = config.load(None, database_url=sqlite_url, data_dir=str(tmp_path),
                        sources=[{"feed": site.url + "/wp/feed/"}, {"feed": site.url + "/feeds/posts/default"}],
                        fetch={"allow_private_networks": True})
        db = Database(s.db_url)
        db.migrate()
        m = Monitor(s, db)
        try:
            asyncio.run(m.run_cycle())
            urls = {x.url for x in m.store.list_sources()}
            feeds = m.store.list_feeds()
        finally:
            m.close()
    assert {u for u in urls if "/wp/" in u} == {f"{site.url}/wp/p{i}" for i in range(POSTS)}
    assert {u for u in urls if "/b" in u} == {f"{site.url}/b{i}.html" for i in range(POSTS)}
    assert all(f.backfilled_at is not None and f.error_count == 0 for f in feeds)
