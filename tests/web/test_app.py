"""The desk's pages and JSON API against the real app (in-process ASGI client), on SQLite and
PostgreSQL."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from monitor.store import triage as store
from monitor.store.models import ServiceStateRow, utcnow
from monitor.store.service import record_cycle
from monitor.store.users import add_user, create_token
from monitor.web.app import create_app
from monitor.web.auth import LoginLimiter
from tests.web.conftest import SOURCE_URL

HOSTILE_TITLE = '</textarea><script>alert("title")</script>'
HOSTILE_PAGE = ('<html><body><img src=x onerror="alert(1)"><a href="javascript:alert(2)">x</a>'
                '<script>alert(3)</script></body></html>')


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


def login(client: TestClient, name: str, password: str) -> TestClient:
    token = csrf_of(client.get("/login").text)
    r = client.post("/login", data={"csrf": token, "name": name, "password": password, "next": "/"},
                    follow_redirects=False)
    assert r.status_code == 303, r.text
    return client


@pytest.fixture
def app(desk):  # noqa: ANN001, ANN201
    add_user(desk.db, "alice", "alice-password", "editor")
    add_user(desk.db, "bob", "bob-password", "editor")
    add_user(desk.db, "vera", "vera-password", "viewer")
    return create_app(desk.monitor)


@pytest.fixture
def alice(app):  # noqa: ANN001, ANN201
    with TestClient(app) as c:
        yield login(c, "alice", "alice-password")


def form_of(client: TestClient, path: str, **data: str):  # noqa: ANN201
    """Post a form the way the page does: with the CSRF token of the page."""
    token = csrf_of(client.get("/").text)
    return client.post(path, data={"csrf": token, **data}, follow_redirects=False)


def test_nothing_works_without_login_except_healthz(app, desk):
    mid = desk.copy("https://copier.example/a")
    with TestClient(app) as c:
        for path in ("/", f"/matches/{mid}", "/sites", "/sources", "/feeds", f"/matches/{mid}/raw"):
            r = c.get(path, follow_redirects=False)
            assert r.status_code == 303 and r.headers["location"].startswith("/login"), path
        for path in ("/api/v1/matches", f"/api/v1/matches/{mid}", "/api/v1/sites", "/api/v1/openapi.json", "/metrics"):
            assert c.get(path).status_code == 401, path
        assert c.post(f"/api/v1/matches/{mid}/triage", json={"state": "licensed"}).status_code == 401
        r = c.post(f"/matches/{mid}/triage", data={"state": "licensed", "version": "0"}, follow_redirects=False)
        assert r.status_code in (303, 403)
        assert store.match_state(desk.db, mid).state == "new"
        assert c.get("/healthz").status_code in (200, 503)
        assert c.get("/api/v1/matches", headers={"authorization": "Bearer rm_wrong"}).status_code == 401


def test_login_checks_password_csrf_and_rate(app):
    with TestClient(app) as c:
        token = csrf_of(c.get("/login").text)
        r = c.post("/login", data={"name": "alice", "password": "alice-password"})
        assert r.status_code == 403  # no CSRF token
        for _ in range(5):
            r = c.post("/login", data={"csrf": token, "name": "alice", "password": "wrong"})
            assert r.status_code == 401 and "Wrong name or password" in r.text
        r = c.post("/login", data={"csrf": token, "name": "alice", "password": "alice-password"})
        assert r.status_code == 429 and "Too many failed logins" in r.text
    with TestClient(app) as c:  # another name from the same address is limited too
        token = csrf_of(c.get("/login").text)
        r = c.post("/login", data={"csrf": token, "name": "bob", "password": "bob-password"})
        assert r.status_code == 429


def test_failed_logins_are_counted_by_every_desk_process(desk):
    """Two desks on one database (replicas behind a balancer): the limit is shared, and the
    wait ends when enough failures have left the window."""
    add_user(desk.db, "alice", "alice-password", "editor")
    one, two = create_app(desk.monitor), create_app(desk.monitor)
    with TestClient(one) as a, TestClient(two) as b:
        for client in (a, b, a, b, a):
            token = csrf_of(client.get("/login").text)
            r = client.post("/login", data={"csrf": token, "name": "alice", "password": "wrong"})
            assert r.status_code == 401
        token = csrf_of(b.get("/login").text)
        r = b.post("/login", data={"csrf": token, "name": "Alice", "password": "alice-password"})
        assert r.status_code == 429 and "Too many failed logins" in r.text
    now = utcnow()
    clock = [now]
    limiter = LoginLimiter(desk.db, attempts=2, window=60, clock=lambda: clock[0])
    limiter.failed("name:x")
    clock[0] = now + timedelta(seconds=10)
    limiter.failed("name:x")
    limiter.failed("name:x")  # three within the window: two must leave before the next try
    assert limiter.retry_after("name:x", "ip:y") == 61
    clock[0] = now + timedelta(seconds=61)
    assert limiter.retry_after("name:x") == 10  # the first has left; two remain
    clock[0] = now + timedelta(seconds=71)
    assert limiter.retry_after("name:x") == 0
    limiter.failed("name:x")
    limiter.failed("name:x")
    assert limiter.retry_after("name:x") > 0
    limiter.succeeded("name:x")
    assert limiter.retry_after("name:x") == 0


def test_logout_ends_the_session(alice):
    assert alice.get("/", follow_redirects=False).status_code == 200
    r = form_of(alice, "/logout")
    assert r.status_code == 303
    assert alice.get("/", follow_redirects=False).status_code == 303


def test_inbox_filters_search_and_pages(alice, desk):
    ids = [desk.copy(f"https://site{i % 2}.example/post-{i}", title=f"Copy number {i}") for i in range(5)]
    store_ids = set(ids)
    page = alice.get("/").text
    assert all(f'data-match="{i}"' in page for i in store_ids)
    only = alice.get("/", params={"site": "site1.example"}).text
    assert sorted(int(x) for x in re.findall(r'data-match="(\d+)"', only)) == [ids[1], ids[3]]
    found = alice.get("/", params={"q": "number 4"}).text
    assert re.findall(r'data-match="(\d+)"', found) == [str(ids[4])]
    form_of(alice, f"/matches/{ids[0]}/triage", state="licensed", version="0")
    open_ = alice.get("/", params={"state": "open"}).text
    assert f'data-match="{ids[0]}"' not in open_ and f'data-match="{ids[1]}"' in open_
    assert alice.get("/", params={"state": "bogus"}).status_code == 400
    # keyset pages, through the API (the page size of the pages is 50)
    seen, after = [], None
    while True:
        data = alice.get("/api/v1/matches", params={"limit": 2, **({"after": after} if after else {})}).json()
        seen += [m["id"] for m in data["matches"]]
        after = data["next"]
        if after is None:
            break
    assert seen == sorted(ids, reverse=True)


def test_triage_on_the_match_page_and_the_second_editor_gets_a_conflict(app, desk):
    mid = desk.copy("https://copier.example/b")
    with TestClient(app) as a, TestClient(app) as b:
        login(a, "alice", "alice-password")
        login(b, "bob", "bob-password")
        page_a, page_b = a.get(f"/matches/{mid}").text, b.get(f"/matches/{mid}").text
        version = re.search(r'name="version" value="(\d+)"', page_a).group(1)
        assert re.search(r'name="version" value="(\d+)"', page_b).group(1) == version
        r = a.post(f"/matches/{mid}/triage", data={"csrf": csrf_of(page_a), "state": "licensed",
                                                   "version": version, "note": "partner"}, follow_redirects=False)
        assert r.status_code == 303
        r = b.post(f"/matches/{mid}/triage", data={"csrf": csrf_of(page_b), "state": "confirmed",
                                                   "version": version})
        assert r.status_code == 409 and "alice" in r.text and "meanwhile" in r.text
    st = store.match_state(desk.db, mid)
    assert st.state == "licensed"
    assert [(e.actor, e.to_state, e.note) for e in store.events(desk.db, mid)] == [("alice", "licensed", "partner")]


def test_a_viewer_reads_but_cannot_change(app, desk):
    mid = desk.copy("https://copier.example/c")
    with TestClient(app) as v:
        login(v, "vera", "vera-password")
        page = v.get(f"/matches/{mid}").text
        assert "an editor can change its state" in page and 'name="version"' not in page
        r = v.post(f"/matches/{mid}/triage", data={"csrf": csrf_of(page), "state": "licensed", "version": "0"})
        assert r.status_code == 403
        r = v.post(f"/api/v1/matches/{mid}/triage", json={"state": "licensed"},
                   headers={"x-csrf-token": csrf_of(page)})
        assert r.status_code == 403
    token = create_token(desk.db, "vera")
    with TestClient(app) as c:
        h = {"authorization": f"Bearer {token}"}
        assert c.get(f"/api/v1/matches/{mid}", headers=h).json()["state"] == "new"
        assert c.post(f"/api/v1/matches/{mid}/triage", json={"state": "licensed"}, headers=h).status_code == 403
    assert store.match_state(desk.db, mid).state == "new"


def test_bulk_action_and_notes(alice, desk):
    a, b = desk.copy("https://x1.example/a"), desk.copy("https://x2.example/b")
    r = alice.post("/matches/bulk", data={"csrf": csrf_of(alice.get("/").text), "state": "ignored",
                                          "ids": [f"{a}:0", f"{b}:0"], "back": "/"}, follow_redirects=False)
    assert r.status_code == 303
    assert {store.match_state(desk.db, m).state for m in (a, b)} == {"ignored"}
    form_of(alice, f"/matches/{a}/notes", text="seen on the partner list")
    assert "seen on the partner list" in alice.get(f"/matches/{a}").text
    assert [n.text for n in store.notes(desk.db, a)] == ["seen on the partner list"]


def test_a_hostile_copy_is_escaped_and_its_page_only_downloads(alice, desk):
    mid = desk.copy("https://evil.example/p", html=HOSTILE_PAGE, title=HOSTILE_TITLE)
    for path in ("/", f"/matches/{mid}", "/sites/evil.example"):
        r = alice.get(path)
        assert "<script>alert" not in r.text and "</textarea><script>" not in r.text, path
        assert "script-src 'self'" in r.headers["content-security-policy"]
        assert "unsafe-inline" not in r.headers["content-security-policy"]
    r = alice.get(f"/matches/{mid}/raw")
    assert r.headers["content-disposition"].startswith("attachment")
    assert r.headers["content-type"].startswith("text/plain") and r.headers["x-content-type-options"] == "nosniff"
    assert r.content == HOSTILE_PAGE.encode() and r.headers["x-content-sha256"] == hashlib.sha256(r.content).hexdigest()
    assert hashlib.sha256(r.content).hexdigest() in alice.get(f"/matches/{mid}").text


def test_javascript_urls_are_never_links(alice, desk):
    mid = desk.copy("javascript:alert(document.cookie)//x")
    page = alice.get(f"/matches/{mid}").text
    assert 'href="javascript:' not in page


def test_allowing_a_site_from_its_page_changes_its_row(alice, desk):
    mid = desk.copy("https://www.copier.example/x")
    row = re.search(r'<tr data-site="copier.example">.*?</tr>', alice.get("/sites").text, re.S).group(0)
    assert '<td class="open">1</td>' in row
    r = form_of(alice, "/sites/copier.example/allow", note="syndication contract")
    assert r.status_code == 303
    row = re.search(r'<tr data-site="copier.example">.*?</tr>', alice.get("/sites").text, re.S).group(0)
    assert '<td class="open">0</td>' in row and '<td class="handled">1</td>' in row and "allowed" in row
    assert store.match_state(desk.db, mid).state == "licensed"
    assert "syndication contract" in alice.get("/sites/copier.example").text


def test_sources_and_feeds_from_the_pages(alice, desk):
    r = form_of(alice, "/sources", url="https://publisher.example/new", title="New one",
                text="A text of my own about kitchen gardens and the people who restore them. " * 20)
    assert r.status_code == 303
    page = alice.get("/sources").text
    assert "New one" in page
    sid = int(re.search(r'data-source="(\d+)">\s*<td><a href="/\?source=\d+">New one', page).group(1))
    assert form_of(alice, f"/sources/{sid}/remove").status_code == 303
    assert "New one" not in alice.get("/sources").text
    r = form_of(alice, "/sources", url="javascript:alert(1)")
    assert "Not added" in alice.get(r.headers["location"]).text

    form_of(alice, "/feeds", url="https://blog.example/feed", interval="30")
    page = alice.get("/feeds").text
    fid = int(re.search(r'data-feed="(\d+)"', page).group(1))
    form_of(alice, f"/feeds/{fid}/pause")
    assert "health-paused" in alice.get("/feeds").text
    desk.monitor.store.sync_feeds([])  # a config sync keeps a feed added on the desk, and its pause
    assert "health-paused" in alice.get("/feeds").text
    form_of(alice, f"/feeds/{fid}/resume")
    assert "health-new" in alice.get("/feeds").text
    form_of(alice, f"/feeds/{fid}/remove")
    assert f'data-feed="{fid}"' not in alice.get("/feeds").text


def test_api_matches_triage_conflict_sites_sources_feeds(app, desk):
    mid = desk.copy("https://api.copier.example/x")
    token = create_token(desk.db, "alice", "test")
    h = {"authorization": f"Bearer {token}"}
    with TestClient(app) as c:
        m = c.get(f"/api/v1/matches/{mid}", headers=h).json()
        assert (m["state"], m["version"], m["site"], m["source_url"]) == ("new", 0, "copier.example", SOURCE_URL)
        assert m["passages"] and m["history"] == []
        r = c.post(f"/api/v1/matches/{mid}/triage", json={"state": "confirmed", "version": 0}, headers=h)
        assert r.status_code == 200 and r.json() == {"id": mid, "state": "confirmed", "version": 1}
        r = c.post(f"/api/v1/matches/{mid}/triage", json={"state": "ignored", "version": 0}, headers=h)
        assert r.status_code == 409 and r.json()["state"] == "confirmed"
        assert c.post(f"/api/v1/matches/{mid}/triage", json={"state": "removed"}, headers=h).status_code == 400
        assert c.post("/api/v1/matches/999999/triage", json={"state": "confirmed"}, headers=h).status_code == 404
        assert c.get("/api/v1/matches", params={"state": "confirmed"}, headers=h).json()["matches"][0]["id"] == mid

        sites = c.get("/api/v1/sites", headers=h).json()
        assert sites["sites"][0]["site"] == "copier.example" and sites["total"] == 1
        other = desk.copy("https://other.example/y")
        assert c.post("/api/v1/sites/other.example/allow", json={}, headers=h).json()["licensed"] == 1
        assert store.match_state(desk.db, other).state == "licensed"
        assert c.get("/api/v1/sites/other.example", headers=h).json()["allowed"][0]["by"] == "alice"
        assert c.delete("/api/v1/sites/other.example/allow", headers=h).json()["removed"] == 1

        r = c.post("/api/v1/sources", json={"url": "https://publisher.example/api", "text": "word " * 300}, headers=h)
        assert r.status_code == 201
        sid = r.json()["id"]
        assert any(s["id"] == sid for s in c.get("/api/v1/sources", headers=h).json()["sources"])
        assert c.delete(f"/api/v1/sources/{sid}", headers=h).status_code == 200
        assert c.delete(f"/api/v1/sources/{sid}", headers=h).status_code == 404

        r = c.post("/api/v1/feeds", json={"url": "https://blog.example/rss", "interval": 15}, headers=h)
        fid = r.json()["id"]
        assert c.post(f"/api/v1/feeds/{fid}/pause", headers=h).json()["paused"] is True
        assert c.post(f"/api/v1/feeds/{fid}/resume", headers=h).json()["paused"] is False
        assert c.post("/api/v1/feeds", json={"url": "https://blog.example/rss"}, headers=h).status_code == 400
        assert c.delete(f"/api/v1/feeds/{fid}", headers=h).status_code == 200

        doc = c.get("/api/v1/openapi.json", headers=h).json()
        assert {"/matches", "/matches/{match_id}/triage", "/sites", "/sources", "/feeds"} <= set(doc["paths"])


def test_api_changes_by_session_need_the_csrf_header(alice, desk):
    mid = desk.copy("https://copier.example/s")
    assert alice.post(f"/api/v1/matches/{mid}/triage", json={"state": "confirmed"}).status_code == 403
    r = alice.post(f"/api/v1/matches/{mid}/triage", json={"state": "confirmed"},
                   headers={"x-csrf-token": csrf_of(alice.get("/").text)})
    assert r.status_code == 200


def test_healthz_and_metrics(alice, desk, app):
    desk.copy("https://copier.example/m")
    with TestClient(app) as anonymous:
        r = anonymous.get("/healthz")
        assert r.status_code == 503 and "no polling cycle" in r.json()["status"]
        record_cycle(desk.db, utcnow(), {"feeds_checked": 3, "feeds_failed": 1, "posts_checked": 7}, node="n1")
        r = anonymous.get("/healthz")
        assert r.status_code == 200 and r.json()["database"] == "ok"
        with desk.db.session() as s:
            s.execute(update(ServiceStateRow).values(updated_at=utcnow() - timedelta(hours=2)))
        r = anonymous.get("/healthz")
        assert r.status_code == 503 and r.json()["status"].startswith("stale")
    text = alice.get("/metrics").text
    assert 'monitor_matches{kind="spun_copy",state="new"} 1.0' in text
    assert 'monitor_last_cycle_posts_checked{node="n1"} 7.0' in text
    assert "monitor_last_cycle_duration_seconds" in text


def test_the_sites_table_follows_new_matches_triages_and_removed_sources(alice, desk):
    from monitor.triage import triage_match
    from monitor.web import actions

    first = desk.copy("https://first.example/a")
    desk.copy("https://other.example/a")
    assert 'data-site="first.example"' in alice.get("/sites").text
    triage_match(desk.db, first, "ignored", "alice")  # only this site's row is grouped again
    rows = {m.group(1): m.group(0) for m in re.finditer(r'<tr data-site="([^"]+)">.*?</tr>', alice.get("/sites").text, re.S)}
    assert '<td class="open">0</td>' in rows["first.example"] and '<td class="open">1</td>' in rows["other.example"]
    desk.copy("https://second.example/b")  # a new match after the table was computed
    assert 'data-site="second.example"' in alice.get("/sites").text
    actions.remove_source(desk.monitor, desk.source_id)  # retired: its matches stay in the history
    page = alice.get("/sites").text
    assert 'data-site="second.example"' in page
    assert desk.monitor.store.find_source(str(desk.source_id)).retired_at is not None
