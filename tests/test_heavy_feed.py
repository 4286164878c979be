"""A feed listing hundreds of new posts beside healthy feeds: the healthy ones are read as usual."""

from __future__ import annotations

import asyncio
import random
import threading
import time
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from monitor import config
from monitor.pipeline import MAX_NEW_ENTRIES, Monitor
from monitor.store import Database

WORDS = "alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike".split()
HEAVY = MAX_NEW_ENTRIES + 200


def words(n: int, seed: int) -> str:
    r = random.Random(seed)
    return " ".join(r.choice(WORDS) for _ in range(n))


def rss(items: list[tuple[str, str]]) -> bytes:
    body = "".join(f"<item><title>{u}</title><link>{u}</link><description>{t}</description></item>" for u, t in items)
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>f</title>{body}</channel></rss>'.encode()


def serve(host: str, delay: float, pages: dict[str, bytes]) -> ThreadingHTTPServer:
    class H(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *a):  # noqa: ANN002
            pass

        def do_GET(self):  # noqa: N802
            time.sleep(delay)
            body = pages.get(self.path, b"")
            self.send_response(200 if body else 404)
            self.send_header("Content-Type", "application/rss+xml")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    httpd = ThreadingHTTPServer((host, 0), H)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd


@pytest.mark.slow
def test_a_heavy_feed_starves_no_healthy_feed(sqlite_url, tmp_path):
    heavy_pages: dict[str, bytes] = {}
    heavy = serve("127.0.0.1", 0, heavy_pages)
    heavy_url = f"http://127.0.0.1:{heavy.server_address[1]}"
    heavy_pages["/big.xml"] = rss([(f"{heavy_url}/p/{i}", words(170, i)) for i in range(HEAVY)])
    healthy_pages: dict[str, bytes] = {}
    healthy = serve("127.0.0.3", 1.0, healthy_pages)  # answers in a second
    healthy_url = f"http://127.0.0.3:{healthy.server_address[1]}"
    for i in range(4):
        healthy_pages[f"/h{i}.xml"] = rss([(f"{healthy_url}/h{i}/1", words(170, 10_000 + i))])
    s = config.load(None, database_url=sqlite_url, data_dir=str(tmp_path),
                    watch=[{"url": heavy_url + "/big.xml"}] + [{"url": f"{healthy_url}/h{i}.xml"} for i in range(4)],
                    fetch={"allow_private_networks": True, "respect_robots": False,
                           "timeout": 2.0, "total_timeout": 2.5})
    db = Database(s.db_url)
    db.migrate()
    m = Monitor(s, db)
    try:
        began = datetime.now(timezone.utc)
        report = asyncio.run(m.run_cycle())
        feeds = {f.url: f for f in m.store.list_feeds()}
        failed = {u: f.last_error for u, f in feeds.items() if f.last_status != "200"}
        assert failed == {}, failed
        assert report.posts_checked == MAX_NEW_ENTRIES + 4  # the heavy feed's first posts only
        # The heavy feed is due again soon for the rest, and is read again (not a 304).
        big = feeds[heavy_url + "/big.xml"]
        assert big.next_check_at <= datetime.now(timezone.utc) + timedelta(minutes=1)
        assert big.next_check_at >= began
        again = asyncio.run(m.run_cycle(only_urls=[heavy_url + "/big.xml"]))
        assert again.posts_checked == HEAVY - MAX_NEW_ENTRIES
    finally:
        m.close()
        heavy.shutdown()
        healthy.shutdown()
