"""`monitor demo`, run as a user runs it: one cycle finds the spun copy, then the takedown path
walks for real on loopback (RDAP → notice → SMTP → removed → reinstated → alert)."""

import io
import json
from email import message_from_bytes

from rich.console import Console

from monitor import config
from monitor.demo.run import run_demo, seed
from monitor.store import Database
from monitor.store.takedown import copy_checks, sent_notices
from monitor.store.triage import events, match_state
from monitor.takedown.rdap import abuse_emails


def test_the_demo_walks_from_match_to_takedown(tmp_path):
    out = io.StringIO()
    rc = run_demo(Console(file=out, width=1000, color_system=None), keep=True, folder=tmp_path / "demo")
    printed = out.getvalue()
    assert rc == 0, printed
    [(abuse, _)] = abuse_emails(json.loads(seed("rdap-ip-127.0.0.1.json")))
    assert abuse == "abuse@loopback-hosting.example"
    for step in ("Copy found", "match 1 is confirmed", f"abuse contact {abuse}", f"To: {abuse}",
                 "match 1 is notice_sent", "re-check (`monitor recheck 1`): removed, HTTP 410, sha256",
                 "next re-check: reinstated", "alerts: 2 sent, 0 failed", "match.reinstated",
                 "monitor demo --serve", f"monitor --config {tmp_path / 'demo' / 'monitor.yaml'} report 1"):
        assert step in printed, step

    settings = config.load(tmp_path / "demo" / "monitor.yaml")
    db = Database(settings.db_url)
    try:
        assert match_state(db, 1).state == "reinstated"
        assert [(e.to_state, e.actor) for e in events(db, 1)] == [
            ("confirmed", "demo"), ("notice_sent", "demo"), ("removed", "monitor"), ("reinstated", "monitor")]
        [(_, _, actor, recipient, variant, kept)] = sent_notices(db, 1)
        notice = message_from_bytes(kept)
        assert (recipient, variant) == (abuse, "dmca") and notice["To"] == abuse  # the RDAP answer's abuse desk
        assert notice["From"] == "Ana Editor <rights@publisher.example>"
        text = notice.get_payload()[0].get_payload(decode=True).decode()
        for element in ("17 U.S.C. § 512(c)", "https://publisher.example/2018/08/russia-japan.html",
                        "/2018/08/russia-japan-military.html", "under penalty of perjury", "Signature: /Ana Editor/"):
            assert element in text, element
        removed, present = copy_checks(db, 1)
        assert (removed.outcome, removed.http_status, len(removed.raw_sha256 or "")) == ("removed", 410, 64)
        assert (present.outcome, present.http_status) == ("present", 200)
    finally:
        db.close()
