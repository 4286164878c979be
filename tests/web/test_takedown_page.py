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


def test_notice_page_finds_the_host_and_sends(db_url, tmp_path):
    """The match page's notice button: abuse contacts from RDAP (loopback), the notice, and
    sending it through SMTP (loopback), which moves the match to notice sent."""
    from monitor.demo.servers import RDAPServer, SMTPSink
    from monitor.store import triage as store
    from monitor.store.takedown import sent_notices
    from tests.test_notice import CONTACT, DOMAIN
    from tests.web.conftest import Desk
    from tests.web.test_app import csrf_of

    with RDAPServer({"/domain/copier.example": DOMAIN}) as rdap, SMTPSink() as smtp:
        desk = Desk(db_url, tmp_path / "d", notice={
            "contact": CONTACT, "rdap_ip_url": rdap.url + "/ip/", "rdap_domain_url": rdap.url + "/domain/",
            "rdap_timeout": 1}, notify={"email": [{"host": "127.0.0.1", "port": smtp.port, "security": "none",
                                                   "from": "m@publisher.example", "to": "desk@publisher.example"}]},
            fetch={"allow_private_networks": True})
        try:
            mid = desk.copy("https://copier.example/n")
            add_user(desk.db, "alice", "alice-password", "editor")
            with TestClient(create_app(desk.monitor)) as c:
                login(c, "alice", "alice-password")
                assert f'href="/matches/{mid}/notice"' in c.get(f"/matches/{mid}").text
                page = c.get(f"/matches/{mid}/notice").text
                assert "abuse@registrar.example" in page and "registrar of copier.example" in page
                assert "under penalty of perjury" in page and "Confirm the match before sending" in page
                triage_match(desk.db, mid, "confirmed", "alice")
                page = c.get(f"/matches/{mid}/notice?variant=plain").text
                assert "perjury" not in page and 'value="abuse@registrar.example"' in page
                r = c.post(f"/matches/{mid}/notice", data={"csrf": csrf_of(page), "variant": "plain",
                                                          "to": "abuse@registrar.example"}, follow_redirects=False)
                assert r.status_code == 303, r.text
                assert store.match_state(desk.db, mid).state == "notice_sent"
                [sent] = smtp.messages
                assert sent["To"] == "abuse@registrar.example"
                assert [n[3] for n in sent_notices(desk.db, mid)] == ["abuse@registrar.example"]
                page = c.get(f"/matches/{mid}/notice").text
                r = c.post(f"/matches/{mid}/notice", data={"csrf": csrf_of(page), "to": "abuse@registrar.example"})
                assert r.status_code == 400 and len(smtp.messages) == 1  # already sent: refused, not sent twice
        finally:
            desk.close()
