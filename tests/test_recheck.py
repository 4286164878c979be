"""Removal tracking against a loopback blog that takes the copy down and puts it back."""

import hashlib
from datetime import datetime, timedelta, timezone

import pytest

from monitor import config
from monitor.demo.servers import BlogPost
from monitor.store.takedown import copy_checks
from monitor.takedown.recheck import recheck
from monitor.triage import triage_match
from monitor.store.triage import events, match_state


def later(hours: float) -> datetime:
    return datetime.now(timezone.utc) + timedelta(hours=hours)


@pytest.mark.parametrize("status", [404, 410, 0])
async def test_taken_down_then_put_back(watched, status):
    monitor, blog, hook, match_id = watched
    [r] = await recheck(monitor)
    assert (r.check.outcome, r.state, r.changed) == ("present", "confirmed", False)
    assert await recheck(monitor) == []  # not due again before notice.recheck_hours
    blog.take_down("copied", status)
    [r] = await recheck(monitor, now=later(25))
    assert (r.check.outcome, r.state, r.changed) == ("removed", "removed", True)
    if status:  # the page served with the status is hashed: the blog answers b"gone"
        assert r.check.http_status == status and f"HTTP {status}" in r.check.detail
        assert r.check.raw_sha256 == hashlib.sha256(b"gone").hexdigest()
    else:  # an empty page: the bytes served are the evidence
        assert r.check.http_status == 200 and len(r.check.raw_sha256) == 64 and "no text" in r.check.detail
    [r] = await recheck(monitor, now=later(50))  # still gone: no change, no alert
    assert (r.state, r.changed) == ("removed", False)
    hook.received.clear()
    blog.put_back("copied")
    [r] = await recheck(monitor, now=later(75))
    assert (r.check.outcome, r.state, r.changed) == ("present", "reinstated", True)
    assert [e.to_state for e in events(monitor.db, match_id)] == ["confirmed", "removed", "reinstated"]
    assert [e.actor for e in events(monitor.db, match_id)][1:] == ["monitor", "monitor"]
    assert [c.outcome for c in copy_checks(monitor.db, match_id)] == ["present", "removed", "removed", "present"]
    report = await monitor.deliver_alerts()
    assert report.sent == 1
    import json
    [alert] = [json.loads(h["body"]) for h in hook.accepted]
    assert alert["type"] == "match.reinstated" and alert["match_id"] == match_id
    assert alert["copy"]["url"].endswith("/copied.html") and alert["revision"] == 0
    assert (await monitor.deliver_alerts()).sent == 0


async def test_a_page_that_no_longer_matches_is_removed(watched):
    monitor, blog, _, match_id = watched
    blog.posts[0] = (BlogPost("copied", "Kellbridge walls", "A recipe for lemon cake with three eggs and butter. " * 20),
                     blog.posts[0][1])
    [r] = await recheck(monitor, match_id)
    assert r.state == "removed" and "no longer matches" in r.check.detail and r.check.http_status == 200


async def test_unreadable_copy_changes_nothing_and_only_watched_states(watched):
    monitor, blog, _, match_id = watched
    blog.take_down("copied", 503)
    [r] = await recheck(monitor, match_id)
    assert (r.check.outcome, r.state, r.changed) == ("error", "confirmed", False)
    assert match_state(monitor.db, match_id).state == "confirmed"
    triage_match(monitor.db, match_id, "licensed", "editor")
    assert await recheck(monitor, now=later(100)) == []  # a licensed copy is not watched


async def test_the_scheduler_rechecks_on_its_own(watched):
    """`monitor run`'s recheck job: a copy taken down is found removed without a command."""
    import asyncio

    from monitor.pipeline import Monitor
    from monitor.scheduler import run_forever

    monitor, blog, _, match_id = watched
    s = monitor.settings.model_copy(update={"notice": config.NoticeConfig(recheck_hours=0.0003)})  # about 1 s
    fast = Monitor(s, monitor.db)
    blog.take_down("copied", 410)
    stop = asyncio.Event()

    async def stop_when_removed() -> None:
        for _ in range(100):
            if match_state(monitor.db, match_id).state == "removed":
                break
            await asyncio.sleep(0.1)
        stop.set()

    watcher = asyncio.create_task(stop_when_removed())
    await run_forever(fast, tick_seconds=30, grace_seconds=1, stop=stop)
    await watcher
    assert match_state(monitor.db, match_id).state == "removed"
    [check] = copy_checks(monitor.db, match_id)
    assert check.http_status == 410


def test_recheck_and_report_commands(watched, tmp_path):
    """`monitor recheck [ID]` and the timeline in `monitor report` (JSON and HTML)."""
    import json

    import yaml
    from typer.testing import CliRunner

    from monitor.cli import app

    monitor, blog, _, match_id = watched
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump({"fetch": {"allow_private_networks": True}}))
    base = ["--config", str(path), "--database-url", monitor.settings.db_url]
    runner = CliRunner()
    blog.take_down("copied", 404)
    r = runner.invoke(app, [*base, "recheck", str(match_id)])
    assert r.exit_code == 0, r.output
    assert f"match {match_id}: removed → removed" in r.output and "HTTP 404" in r.output
    r = runner.invoke(app, [*base, "recheck"])  # not due again for a day
    assert r.exit_code == 0 and "no copies due" in r.output
    r = runner.invoke(app, [*base, "report", str(match_id)])
    steps = json.loads(r.stdout)["timeline"]
    assert [s["what"] for s in steps] == ["found", "confirmed", "removed"]
    assert steps[2]["actor"] == "monitor" and steps[2]["note"] == "HTTP 404; sha256 " + hashlib.sha256(b"gone").hexdigest()
    r = runner.invoke(app, [*base, "report", str(match_id), "--html", str(tmp_path / "r.html")])
    assert r.exit_code == 0 and "removed by monitor: HTTP 404" in (tmp_path / "r.html").read_text()
    triage_match(monitor.db, match_id, "ignored", "editor")
    r = runner.invoke(app, [*base, "recheck", str(match_id)])
    assert r.exit_code == 2 and "is ignored: only confirmed" in r.output
    r = runner.invoke(app, [*base, "recheck", "999"])
    assert r.exit_code == 2 and "no match with id 999" in r.output
