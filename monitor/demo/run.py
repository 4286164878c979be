"""`monitor demo`: one whole cycle offline, on SQLite, with every part real.

A loopback Blogger-style blog publishes the seed article's spun copy among unrelated posts; the
original is registered as the source; one cycle polls the blog, fetches and extracts the pages,
detects the copy, stores the match and delivers the alert to a local SMTP sink and webhook
receiver started for the occasion.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from importlib import resources
from pathlib import Path

import yaml
from rich.console import Console

from monitor import config as config_mod
from monitor.demo.servers import Blog, BlogPost, SMTPSink, WebhookReceiver, webhook_json


def seed(name: str) -> str:
    return (resources.files("monitor.demo") / "data" / name).read_text(encoding="utf-8")


def demo_blog() -> Blog:
    spun = seed("spun.txt").split("Buat lebih berguna, kongsi:")[0].strip()
    posts = [
        BlogPost("2018/08/kitchen-garden", "How We Restored a 1930s Kitchen Garden",
                 seed("unrelated-1.txt").split("\n", 2)[2]),
        BlogPost("2018/08/russia-japan-military", "Russia, Japan: Representatives Struggle to See Eye-to-Eye",
                 spun),
        BlogPost("2018/08/repair-cafe", "Five Things I Learned Running a Neighbourhood Repair Café",
                 seed("unrelated-2.txt").split("\n", 2)[2]),
    ]
    return Blog("Berita Dunia Terkini", posts)


def run_demo(console: Console, keep: bool = False) -> int:
    folder = Path(tempfile.mkdtemp(prefix="monitor-demo-"))
    (folder / "original.txt").write_text(seed("original.txt"), encoding="utf-8")
    os.environ["MONITOR_DEMO_WEBHOOK_SECRET"] = "whsec_ZGVtby1zZWNyZXQtZm9yLXJldXNlLW1vbml0b3I="
    try:
        with demo_blog() as blog, SMTPSink() as smtp, WebhookReceiver() as hook:
            cfg = {
                "data_dir": str(folder / "data"),
                "sources": [{"file": "original.txt", "title": "Russia, Japan: Representatives Struggle to See Eye-to-Eye On Military Matters",
                             "url": "https://publisher.example/2018/08/russia-japan.html"}],
                "watch": [{"url": blog.url + "/", "interval": 60}],
                "notify": {
                    "email": [{"host": "127.0.0.1", "port": smtp.port, "security": "none",
                               "from": "monitor@localhost", "to": ["editor@publisher.example"]}],
                    "webhooks": [{"url": hook.url, "secret_env": "MONITOR_DEMO_WEBHOOK_SECRET"}],
                },
                "fetch": {"allow_private_networks": True},  # the demo blog is on loopback
            }
            path = folder / "monitor.yaml"
            path.write_text(yaml.safe_dump(cfg, sort_keys=False), encoding="utf-8")
            console.print(f"[bold]1.[/] A blog on {blog.url} with {len(blog.posts)} posts; "
                          f"source registered from {path.parent / 'original.txt'}", highlight=False)
            settings = config_mod.load(path)

            from monitor.pipeline import Monitor
            from monitor.store import Database

            db = Database(settings.db_url)
            db.migrate()
            monitor = Monitor(settings, db)
            try:
                report = asyncio.run(monitor.run_cycle())
                console.print(f"[bold]2.[/] One cycle: {report.feeds_checked} feed checked, "
                              f"{report.posts_checked} posts fetched and compared", highlight=False)
                for m in report.matches:
                    v = m.verdict
                    console.print(f"[bold red]   Copy found[/]: {m.post.url}\n   copies {m.source.url}\n"
                                  f"   {v.kind}, score {v.score:.2f}, coverage {v.coverage:.0%}, "
                                  f"spin rate {v.spin_rate:.0%}", highlight=False)
                    for p in v.passages[:3]:
                        console.print(f"   [dim]source[/] {_excerpt(m.source.text[p.source_start:p.source_end])}\n"
                                      f"   [dim]copy  [/] {_excerpt(m.post.text[p.copy_start:p.copy_end])}",
                                      highlight=False)
                    if v.substitutions:
                        console.print("   swapped: " + "; ".join(f"{a} → {b}" for a, b in v.substitutions[:6]),
                                      highlight=False)
                console.print(f"[bold]3.[/] Alerts: {report.alerts.sent} sent, {report.alerts.failed} failed", highlight=False)
                for msg in smtp.messages:
                    console.print(f"   email to {msg['To']}: {msg['Subject']}", highlight=False)
                for rec in hook.accepted:
                    body = webhook_json(rec)
                    console.print(f"   webhook {body['type']} signed {rec['headers'].get('webhook-signature', '')[:16]}…: "
                                  f"{body['copy']['url']}", highlight=False)
                console.print("[bold]4.[/] monitor matches:")
                for r in monitor.store.list_matches():  # as `monitor matches` prints them: URLs whole
                    console.print(f"{r.id:>4}  {r.detected_at:%Y-%m-%d %H:%M}  {r.kind:<15} {r.score:.2f}  "
                                  f"{r.copy_url}\n      copy of {r.source_url}", markup=False, highlight=False)
                ok = len(report.matches) == 1 and len(smtp.messages) == 1 and len(hook.accepted) == 1
            finally:
                monitor.close()
        if keep:
            console.print(f"demo folder kept: {folder} (try: monitor --config {path} matches)", highlight=False)
        return 0 if ok else 1
    finally:
        if not keep:
            shutil.rmtree(folder, ignore_errors=True)


def _excerpt(s: str, width: int = 90) -> str:
    s = " ".join(s.split())
    return s if len(s) <= width else s[:width] + "…"
