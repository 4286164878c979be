"""Triage, the allow-list and syndication, through the functions the CLI, API and pages call."""

from __future__ import annotations

import pytest

from monitor.licence import allow_site, canonical_link
from monitor.store import Database
from monitor.store import triage as store
from monitor.triage import StateConflict, TriageError, triage_match
from tests.web.conftest import SOURCE_URL, Desk


def deliveries(desk) -> int:  # noqa: ANN001
    return len(desk.monitor.store.deliveries())


def test_a_new_match_is_new_and_alerts(desk):
    mid = desk.copy("https://copier.blogspot.com/2018/08/x.html")
    st = store.match_state(desk.db, mid)
    assert (st.state, st.version, st.site) == ("new", 0, "copier.blogspot.com")
    assert deliveries(desk) == 1


def test_triage_keeps_every_change_and_survives_a_restart(desk, db_url):
    mid = desk.copy("https://www.copier.example/a")
    triage_match(desk.db, mid, "confirmed", "alice", note="clearly spun")
    triage_match(desk.db, mid, "notice_sent", "bob")
    desk.close()
    db = Database(db_url)  # a new process
    try:
        events = store.events(db, mid)
        assert [(e.actor, e.from_state, e.to_state, e.note) for e in events] == [
            ("alice", "new", "confirmed", "clearly spun"), ("bob", "confirmed", "notice_sent", None)]
        assert store.match_state(db, mid).state == "notice_sent"
    finally:
        db.close()


def test_two_editors_on_one_match_the_second_gets_a_conflict(desk):
    mid = desk.copy("https://copier.example/b")
    seen = store.match_state(desk.db, mid).version  # both editors opened the page at version 0
    triage_match(desk.db, mid, "licensed", "alice", version=seen)
    with pytest.raises(StateConflict) as e:
        triage_match(desk.db, mid, "false_positive", "bob", version=seen)
    assert "alice" in str(e.value) and "licensed" in str(e.value)
    assert store.match_state(desk.db, mid).state == "licensed"
    assert len(store.events(desk.db, mid)) == 1


def test_rules_of_triage(desk):
    mid = desk.copy("https://copier.example/c")
    with pytest.raises(TriageError, match="monitor"):
        triage_match(desk.db, mid, "removed", "alice")
    with pytest.raises(TriageError, match="confirm"):
        triage_match(desk.db, mid, "notice_sent", "alice")
    with pytest.raises(TriageError, match="unknown state"):
        triage_match(desk.db, mid, "deleted", "alice")
    with pytest.raises(store.MatchNotFound):
        triage_match(desk.db, 999999, "confirmed", "alice")
    assert store.events(desk.db, mid) == []


def test_a_config_allowed_site_is_licensed_and_not_alerted(db_url, tmp_path):
    d = Desk(db_url, tmp_path, allow=["www.partner.example"],
             notify={"webhooks": [{"secret_env": "TEST_WEBHOOK_SECRET", "url": "http://127.0.0.1:9/hook"}]})
    try:
        mid = d.copy("https://news.partner.example/syndicated")
        st = store.match_state(d.db, mid)
        assert st.state == "licensed" and "partner.example" in (st.reason or "")
        assert deliveries(d) == 0
        [ev] = store.events(d.db, mid)
        assert (ev.actor, ev.to_state) == ("monitor", "licensed")
    finally:
        d.close()


def test_a_per_source_allowance_covers_only_that_source(db_url, tmp_path):
    d = Desk(db_url, tmp_path, allow={"sites": [{"site": "partner.example", "source": "https://publisher.example/other"}]},
             notify={"webhooks": [{"secret_env": "TEST_WEBHOOK_SECRET", "url": "http://127.0.0.1:9/hook"}]})
    try:
        mid = d.copy("https://partner.example/x")
        assert store.match_state(d.db, mid).state == "new" and deliveries(d) == 1
    finally:
        d.close()


def test_allowing_a_site_licenses_its_new_matches_and_later_ones(desk):
    first = desk.copy("https://a.copier.example/1")
    triaged = desk.copy("https://b.copier.example/2")
    triage_match(desk.db, triaged, "false_positive", "bob")
    assert allow_site(desk.db, "copier.example", "alice") == 1
    assert store.match_state(desk.db, first).state == "licensed"
    assert store.match_state(desk.db, triaged).state == "false_positive"  # an editor's decision stands
    before = deliveries(desk)
    later = desk.copy("https://c.copier.example/3")
    assert store.match_state(desk.db, later).state == "licensed" and deliveries(desk) == before


def test_syndication_by_rel_canonical_is_licensed_an_attribution_line_is_not(desk):
    page = '<html><head><link rel="canonical" href="{}"></head><body>…</body></html>'
    syndicated = desk.copy("https://syndicator.example/a", html=page.format(SOURCE_URL + "/"))
    st = store.match_state(desk.db, syndicated)
    assert st.state == "licensed" and "canonical" in (st.reason or "")
    attributed = desk.copy("https://autoblog.example/a", html=(
        '<html><head><link rel="canonical" href="https://autoblog.example/a"></head><body>'
        f'<p>Source Link: <a href="{SOURCE_URL}">{SOURCE_URL}</a></p></body></html>'))
    assert store.match_state(desk.db, attributed).state == "new"


def test_syndication_can_be_turned_off(db_url, tmp_path):
    d = Desk(db_url, tmp_path, allow={"syndication": False})
    try:
        mid = d.copy("https://syndicator.example/a",
                     html=f'<html><head><link rel="canonical" href="{SOURCE_URL}"></head></html>')
        assert store.match_state(d.db, mid).state == "new"
    finally:
        d.close()


def test_canonical_link_reads_only_rel_canonical():
    assert canonical_link('<link rel="alternate canonical" href=" https://a.example/x ">') == "https://a.example/x"
    assert canonical_link('<meta property="og:url" content="https://a.example/x">') is None
    assert canonical_link(None) is None


def test_alerts_link_the_desk_when_base_url_is_set(desk):
    from monitor.notify import message

    desk.copy("https://copier.example/d")
    [job] = desk.monitor.store.due_deliveries(__import__("monitor.store.models", fromlist=["utcnow"]).utcnow())
    assert "desk_url" not in message.payload(job)
    data = message.payload(job, desk="https://desk.example/")
    assert data["desk_url"] == f"https://desk.example/matches/{job.match.id}"
    mail = message.email(job, "m@x", ["e@x"], desk="https://desk.example")
    assert f"https://desk.example/matches/{job.match.id}" in mail.get_body(("plain",)).get_content()
