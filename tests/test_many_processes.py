"""Several `monitor run --once` processes started together on one database: no alert sent twice,
no match lost (tests/test_two_processes.py shows the feed and post claims)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

import pytest
import yaml

from monitor.demo.servers import WebhookReceiver
from monitor.domain import Post, Source
from monitor.store import Database, Store

from .conftest import ROOT


def run_processes(n: int, config: dict, tmp_path: Path, timeout: float = 120) -> list[str]:
    """Start `n` `monitor run --once` at the same moment; returns their stderr (all must succeed)."""
    (tmp_path / "monitor.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "HOME": str(tmp_path),
           "TEST_WEBHOOK_SECRET": os.environ["TEST_WEBHOOK_SECRET"]}
    cmd = [sys.executable, "-m", "monitor", "--config", str(tmp_path / "monitor.yaml"), "run", "--once"]
    procs = [subprocess.Popen(cmd, env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for _ in range(n)]
    errs = []
    for p in procs:
        _, err = p.communicate(timeout=timeout)
        assert p.returncode == 0, err
        assert "Traceback" not in err, err
        errs.append(err)
    return errs


@pytest.mark.slow
def test_four_processes_send_each_alert_exactly_once(db_url, tmp_path):
    """150 alerts queued (more than one claim's batch of 100); 4 processes deliver together."""
    db = Database(db_url)
    db.migrate()
    store = Store(db)
    with WebhookReceiver() as hook:
        name = f"webhook:{hook.url}"
        now = datetime.now(timezone.utc)
        sid, _ = store.upsert_source(Source("https://publisher.example/a", "The original text.", "A"), b"s", "url")
        for i in range(150):
            pid = store.save_post(Post(f"https://copy.example/{i}", "The original text."), None)
            store.record_match(sid, pid, "copy", 0.9, 1.0, 0.0, {"passages": []}, [(name, now)])
        run_processes(4, {"database_url": db_url, "notify": {"webhooks": [{"secret_env": "TEST_WEBHOOK_SECRET", "url": hook.url, "timeout": 10}]}},
                      tmp_path)
        posts = Counter(r["headers"]["webhook-id"] for r in hook.received)
    deliveries = Counter(d[3] for d in store.deliveries())
    db.close()
    assert len(posts) == 150, "an alert was not sent"
    twice = {k: c for k, c in posts.items() if c != 1}
    assert twice == {}, f"{len(twice)} alert(s) sent more than once"
    assert deliveries == Counter({"sent": 150})


WORDS = ("harbour crane tariff tin copper ledger minister treaty river valley engine signal "
         "market vessel cargo lantern orchard meadow quarry mill bridge canal furnace kiln "
         "weaver spindle loom barley granary tannery forge anvil chapel tower garrison").split()


def article(seed: int, words: int = 320) -> str:
    """A text of its own (numbers and names make it unlike the others)."""
    import random

    r = random.Random(seed)
    out = []
    while sum(len(p.split()) for p in out) < words:
        out.append(" ".join(f"{r.choice(WORDS)} {r.randint(10, 9999)}" for _ in range(12)).capitalize() + ".")
    return "\n\n".join(out)


def rss(title: str, items: list[tuple[str, str]]) -> bytes:
    from html import escape

    body = "".join(f"<item><title>{escape(u)}</title><link>{escape(u)}</link><guid>{escape(u)}</guid>"
                   f"<description>{escape(''.join(f'<p>{p}</p>' for p in t.split(chr(10) * 2)))}</description></item>"
                   for u, t in items)
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>{title}</title>{body}</channel></rss>'.encode()


class CopySites:
    """The user's own feed (on 127.0.0.1) and watched feeds each carrying one copy (127.0.0.2)."""

    def __init__(self, own: range, feeds: int) -> None:
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.own, self.feeds = own, feeds
        pages: dict[str, bytes] = {}

        class H(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):  # noqa: ANN002
                pass

            def do_GET(self):  # noqa: N802
                body = pages.get(self.path)
                self.send_response(200 if body is not None else 404)
                self.send_header("Content-Type", "application/rss+xml")
                self.send_header("Content-Length", str(len(body or b"")))
                self.end_headers()
                self.wfile.write(body or b"")

        self.httpd = []
        for host in ("127.0.0.1", "127.0.0.2"):
            httpd = ThreadingHTTPServer((host, 0), H)
            httpd.daemon_threads = True
            threading.Thread(target=httpd.serve_forever, daemon=True).start()
            self.httpd.append(httpd)
        self.own_base = f"http://127.0.0.1:{self.httpd[0].server_address[1]}"
        self.watch_base = f"http://127.0.0.2:{self.httpd[1].server_address[1]}"
        pages["/own.xml"] = rss("own", [(f"{self.own_base}/a/{i}", article(i)) for i in own])
        for i in range(feeds):
            copy = (f"{self.watch_base}/f{i}/copy", article(i))  # copies source i (file or own feed)
            other = (f"{self.watch_base}/f{i}/other", article(10_000 + i))
            pages[f"/f{i}.xml"] = rss(f"f{i}", [copy, other])

    def close(self) -> None:
        for httpd in self.httpd:
            httpd.shutdown()
            httpd.server_close()


@pytest.mark.slow
@pytest.mark.parametrize("processes", [4])
def test_processes_started_together_lose_no_match(db_url, tmp_path, processes):
    """Sources from files and from the user's own feed, copies in watched feeds: whichever
    process registers a source and whichever checks a copy, every copy is found."""
    from sqlalchemy import text

    files, own, feeds = 12, 12, 24  # sources 0-11 from files, 12-23 from the own feed
    db = Database(db_url)
    db.migrate()
    sites = CopySites(own=range(files, files + own), feeds=feeds)
    try:
        for i in range(files):
            (tmp_path / f"s{i}.txt").write_text(article(i), encoding="utf-8")
        sources = [{"file": str(tmp_path / f"s{i}.txt"), "url": f"{sites.own_base}/a/{i}"} for i in range(files)]
        sources.append({"feed": f"{sites.own_base}/own.xml"})
        cfg = {"database_url": db_url, "sources": sources,
               "watch": [{"url": f"{sites.watch_base}/f{i}.xml"} for i in range(feeds)],
               "fetch": {"allow_private_networks": True, "concurrency": 4, "per_host": 4}}
        run_processes(processes, cfg, tmp_path)
        with db.engine.connect() as c:
            found = {row[0] for row in c.execute(text(
                "select p.url from matches m join posts p on p.id = m.post_id"))}
            checked = c.execute(text("select count(*) from posts where state = 'checked'")).scalar()
    finally:
        sites.close()
        db.close()
    assert checked == 2 * feeds
    missing = sorted({f"{sites.watch_base}/f{i}/copy" for i in range(feeds)} - found)
    assert missing == [], f"{len(missing)} of {feeds} copies not found"
