"""Several `monitor run --once` processes started together on one database: no alert sent twice,
no match lost (tests/test_two_processes.py shows the feed and post claims)."""

from __future__ import annotations

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
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "HOME": str(tmp_path)}
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
        run_processes(4, {"database_url": db_url, "notify": {"webhooks": [{"url": hook.url, "timeout": 10}]}},
                      tmp_path)
        posts = Counter(r["headers"]["webhook-id"] for r in hook.received)
    deliveries = Counter(d[3] for d in store.deliveries())
    db.close()
    assert len(posts) == 150, "an alert was not sent"
    twice = {k: c for k, c in posts.items() if c != 1}
    assert twice == {}, f"{len(twice)} alert(s) sent more than once"
    assert deliveries == Counter({"sent": 150})
