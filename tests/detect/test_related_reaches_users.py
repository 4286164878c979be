"""`related` sources (folded matches) reach the user: scan JSON, stored evidence, webhook,
email and the evidence report."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest
from typer.testing import CliRunner

from monitor.cli import app
from monitor.notify import message, report
from monitor.store import DeliveryJob
from monitor.store.repo import MatchRecord

DATA = Path(__file__).resolve().parent / "data"
runner = CliRunner()


def text(name: str) -> str:
    return (DATA / f"{name}.txt").read_text(encoding="utf-8")


@pytest.fixture
def cli(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MONITOR_CONFIG", raising=False)
    url = f"sqlite:///{tmp_path / 'm.db'}"
    return lambda *args: runner.invoke(app, ["--database-url", url, *args], catch_exceptions=False)


def test_scan_json_lists_the_follow_up_as_related(cli, tmp_path) -> None:
    x = text("bridge")
    y = text("garden") + "\n\n" + [p for p in x.split("\n\n") if p.strip()][2]  # repeats X's background
    (tmp_path / "s.jsonl").write_text("\n".join(json.dumps(s) for s in [
        {"url": "https://publisher.example/bridge", "title": "Bridge", "text": x},
        {"url": "https://publisher.example/follow-up", "title": "Follow-up", "text": y},
    ]) + "\n", encoding="utf-8")
    assert cli("sources", "import", str(tmp_path / "s.jsonl")).exit_code == 0
    (tmp_path / "p.jsonl").write_text(json.dumps({"url": "https://copy.example/1", "text": text("bridge_spun")}) + "\n",
                                      encoding="utf-8")
    r = cli("scan", str(tmp_path / "p.jsonl"), "--json")
    [m] = json.loads(r.stdout)["matches"]
    assert m["source_url"] == "https://publisher.example/bridge"
    assert [x["source_url"] for x in m["related"]] == ["https://publisher.example/follow-up"]
    assert m["related"][0]["source_title"] == "Follow-up" and m["related"][0]["score"] > 0


def _job() -> DeliveryJob:
    now = datetime(2026, 11, 28, tzinfo=timezone.utc)
    rel = [{"source_url": "https://publisher.example/follow-up", "source_title": "Follow-up <b>",
            "kind": "partial_copy", "score": 0.7}]
    m = MatchRecord(1, 1, "https://publisher.example/bridge", "Bridge", "https://copy.example/1", "", "spun_copy",
                    0.9, 0.9, 0.2, {"passages": [], "substitutions": [], "related": rel}, now, 200, None, now)
    return DeliveryJob(1, "hook", 0, "k", "match.created", m, "source", "copy")


def test_webhook_email_and_report_show_related() -> None:
    job = _job()
    assert message.payload(job)["related"][0]["source_url"] == "https://publisher.example/follow-up"
    mail = message.email(job, "a@example.org", ["b@example.org"])
    assert "https://publisher.example/follow-up" in mail.get_body(("plain",)).get_content()
    page = report.render(job.match, "source", "copy")
    assert "https://publisher.example/follow-up" in page and "Follow-up &lt;b&gt;" in page
    job.match.evidence.pop("related")  # evidence stored before this field existed
    assert message.payload(job)["related"] == []
