"""Two `monitor run --once` processes share one PostgreSQL database: nothing is done twice."""

import re
import subprocess
import sys
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import yaml
from sqlalchemy import text

from monitor.store import Database

from .conftest import ROOT

FEEDS = 200
SHARED = 10  # posts that appear in many feeds (a site's feed and its category feeds)


def feed_body(base: str, i: int) -> bytes:
    links = [f"/p/{i}-a", f"/p/{i}-b", f"/shared/{i % SHARED}"]
    items = "".join(f"<item><title>{u}</title><link>{base}{u}</link><description>short</description></item>"
                    for u in links)
    return f'<rss version="2.0"><channel><title>F{i}</title>{items}</channel></rss>'.encode()


class Server:
    def __init__(self) -> None:
        self.hits: Counter[str] = Counter()
        lock = threading.Lock()
        srv = self

        class H(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):  # noqa: ANN002
                pass

            def do_GET(self):  # noqa: N802
                with lock:
                    srv.hits[self.path] += 1
                if self.path.startswith("/f"):
                    body, ctype = feed_body(srv.url, int(self.path[2:].split(".")[0])), "application/rss+xml"
                elif self.path.startswith(("/p/", "/shared/")):
                    time.sleep(0.02)  # widen the window in which both processes are at work
                    body = f"<html><body><article><p>Post {self.path}.</p></article></body></html>".encode()
                    ctype = "text/html"
                else:
                    body, ctype = b"no", "text/plain"
                self.send_response(200 if ctype != "text/plain" else 404)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.mark.slow  # starts two `monitor run --once` subprocesses
@pytest.mark.postgres
def test_two_processes_check_every_feed_and_post_exactly_once(postgres_url, tmp_path):
    db = Database(postgres_url)
    db.migrate()
    srv = Server()
    try:
        cfg = {"database_url": postgres_url, "watch": [{"url": f"{srv.url}/f{i}.xml"} for i in range(FEEDS)],
               "fetch": {"allow_private_networks": True, "concurrency": 8, "per_host": 8}}
        (tmp_path / "monitor.yaml").write_text(yaml.safe_dump(cfg), encoding="utf-8")
        # PYTHONPATH: the processes must run this tree's code, not an installed copy.
        env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "HOME": str(tmp_path)}
        cmd = [sys.executable, "-m", "monitor", "--config", str(tmp_path / "monitor.yaml"), "run", "--once"]
        procs = [subprocess.Popen(cmd, env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  text=True) for _ in range(2)]
        outs = [p.communicate(timeout=120) for p in procs]
        for p, (_, err) in zip(procs, outs):
            assert p.returncode == 0, err
            assert "Traceback" not in err, err
        feeds = [p for p in srv.hits if p.startswith("/f")]
        pages = [p for p in srv.hits if p.startswith(("/p/", "/shared/"))]
        assert len(feeds) == FEEDS and all(srv.hits[p] == 1 for p in feeds), "a feed was fetched twice"
        assert len(pages) == 2 * FEEDS + SHARED
        assert [p for p in pages if srv.hits[p] != 1] == [], "a post was fetched twice"
        with db.engine.connect() as c:
            rows = c.execute(text("select state, count(*) from posts group by state")).all()
            statuses = c.execute(text("select last_status, count(*) from feeds group by last_status")).all()
        assert rows == [("checked", 2 * FEEDS + SHARED)]
        assert statuses == [("200", FEEDS)]
        # Both processes did part of the work (otherwise the test proves nothing).
        checked = [int(re.search(r"(\d+) feed\(s\) checked", err).group(1)) for _, err in outs]
        print("feeds checked by each process:", checked)
        assert sum(checked) == FEEDS and min(checked) > 0, checked
    finally:
        srv.close()
        db.close()
