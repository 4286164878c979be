"""`monitor serve` for real on loopback, and the migration that brought the desk."""

from __future__ import annotations

import asyncio
import socket

import httpx
import pytest
from sqlalchemy import text

from monitor.store import Database
from monitor.store.database import migrate
from monitor.web.serve import ServeError, serve
from tests.web.browser import served


def test_served_desk_answers_on_loopback_with_its_headers(desk):
    with served(desk.monitor) as url:
        r = httpx.get(url + "/healthz")
        assert r.status_code == 503 and "server-timing" in r.headers
        r = httpx.get(url + "/", follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/login")
        assert "script-src 'self'" in httpx.get(url + "/login").headers["content-security-policy"]
        assert httpx.get(url + "/static/desk.js").status_code == 200


def test_a_port_in_use_is_a_clear_error(desk):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        with pytest.raises(ServeError, match=f"127.0.0.1:{port}"):
            asyncio.run(serve(desk.monitor, "127.0.0.1", port, poll=False))


def test_the_desk_migration_gives_stored_matches_their_site_and_state(empty_db_url):
    from tests.test_migrations import _insert

    db = Database(empty_db_url)
    try:
        migrate(db.engine, "0006")
        with db.engine.begin() as c:
            _insert(c, "sources", id=3, url="https://me.example/a", origin="url", status="ready")
            _insert(c, "posts", id=5, url="https://www.copier.co.uk/2018/x", guid="g1")
            _insert(c, "matches", id=11, source_id=3, post_id=5, kind="spun_copy")
        db.migrate()
        with db.engine.connect() as c:
            row = c.execute(text("SELECT site, state, state_version FROM matches WHERE id = 11")).one()
        assert tuple(row) == ("copier.co.uk", "new", 0)
    finally:
        db.close()


@pytest.mark.slow
def test_monitor_serve_runs_and_stops_on_sigterm(tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time

    from monitor.demo.servers import free_port

    port = free_port()
    env = {**os.environ, "MONITOR_CONFIG": ""}
    env.pop("MONITOR_CONFIG")
    proc = subprocess.Popen([sys.executable, "-m", "monitor", "--database-url", f"sqlite:///{tmp_path / 'm.db'}",
                             "serve", "--port", str(port)], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                r = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
                if r.status_code == 200:  # the polling cycle in the same process completed one
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline and proc.poll() is None, proc.stdout.read() if proc.stdout else ""
            time.sleep(0.2)
        assert httpx.get(f"http://127.0.0.1:{port}/", follow_redirects=False).status_code == 303
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    assert f"desk on http://127.0.0.1:{port}/" in (proc.stdout.read() if proc.stdout else "")
