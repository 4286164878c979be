"""The match page shows the takedown timeline: found, confirmed, notice sent, removed (with the
evidence of removal), and the copy's re-reads."""

from __future__ import annotations

from fastapi.testclient import TestClient

from monitor.store.takedown import record_check
from monitor.store.users import add_user
from monitor.triage import MONITOR, triage_match
from monitor.web.app import create_app
from tests.web.test_app import login

SHA = "ab" * 32


def test_match_page_shows_removal_with_its_evidence(desk):
    mid = desk.copy("https://copier.example/t")
    triage_match(desk.db, mid, "confirmed", "alice")
    triage_match(desk.db, mid, "notice_sent", "alice", note="sent to abuse@host.example")
    record_check(desk.db, mid, "removed", 404, None, "HTTP 404")
    triage_match(desk.db, mid, "removed", MONITOR, note=f"HTTP 200, the page has no text; sha256 {SHA}")
    add_user(desk.db, "alice", "alice-password", "editor")
    with TestClient(create_app(desk.monitor)) as c:
        page = login(c, "alice", "alice-password").get(f"/matches/{mid}").text
    history = page.split('id="history"')[1].split("</section>")[0]
    for step in ("found", "confirmed", "notice sent", "removed", SHA, "abuse@host.example"):
        assert step in history
    rechecks = page.split('id="rechecks"')[1].split("</section>")[0]
    assert "HTTP 404" in rechecks and "removed" in rechecks
