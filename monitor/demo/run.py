"""`monitor demo`: one whole cycle offline, on SQLite, with every part real, then the takedown.

A loopback Blogger-style blog publishes the seed article's spun copy among unrelated posts; the
original is registered as the source; one cycle polls the blog, fetches and extracts the pages,
detects the copy, stores the match and delivers the alert to a local SMTP sink and webhook
receiver started for the occasion. Then the path from match to takedown, through the functions
the commands and the desk use: the match is confirmed, a DMCA notice is addressed to the abuse
contact a loopback RDAP registry gives for the blog's network and sent through the SMTP sink
(notice_sent), the blog takes the copy down (a re-check: removed), and puts it back (a re-check:
reinstated, and the alert is delivered).
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
from monitor.demo.servers import Blog, BlogPost, RDAPServer, SMTPSink, WebhookReceiver, webhook_json


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


COPY_SLUG = "2018/08/russia-japan-military"


def demo_rdap() -> RDAPServer:
    """A registry that knows the blog's network (127.0.0.1): a recorded-style RDAP answer whose
    abuse desk sits inside the registrant, as the regional registries nest it."""
    import json

    answer = json.loads(seed("rdap-ip-127.0.0.1.json"))
    return RDAPServer({"/ip/127.0.0.1": answer})


DEMO_USER, DEMO_PASSWORD = "demo", "demo-desk-password"
# The publisher who signs the notice (notice.contact).
DEMO_CONTACT = {"name": "Ana Editor", "email": "rights@publisher.example", "organisation": "Publisher Ltd",
                "address": "1 Press Street, London", "phone": "+44 20 7946 0000"}


def run_demo(console: Console, keep: bool = False, serve: bool = False, port: int | None = None,
             folder: Path | None = None) -> int:
    """One cycle and the takedown, printed; with `serve`, then the desk over the demo's data (the
    blog, mail and webhook sinks stay up, so the desk's polling goes on against them) until
    Ctrl-C. `folder`: where its data goes (default: a new temporary folder)."""
    if folder is None:
        folder = Path(tempfile.mkdtemp(prefix="monitor-demo-"))
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "original.txt").write_text(seed("original.txt"), encoding="utf-8")
    os.environ["MONITOR_DEMO_WEBHOOK_SECRET"] = "whsec_ZGVtby1zZWNyZXQtZm9yLXJldXNlLW1vbml0b3I="
    try:
        with demo_blog() as blog, SMTPSink() as smtp, WebhookReceiver() as hook, demo_rdap() as rdap:
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
                "notice": {"contact": DEMO_CONTACT, "rdap_ip_url": rdap.url + "/ip/",
                           "rdap_domain_url": rdap.url + "/domain/", "rdap_timeout": 5},
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
                if report.matches and report.matches[0].match_id is not None:
                    ok = asyncio.run(_takedown(console, monitor, blog, smtp, hook, report.matches[0].match_id)) and ok
                    _see_timeline(console, path, report.matches[0].match_id, keep, serve)
                if serve:
                    _serve_desk(console, monitor, port)
            finally:
                monitor.close()
        if keep or serve:
            console.print(f"demo folder kept: {folder} (try: monitor --config {path} matches)", highlight=False)
        return 0 if ok else 1
    finally:
        if not (keep or serve):
            shutil.rmtree(folder, ignore_errors=True)


async def _takedown(console: Console, monitor, blog: Blog, smtp: SMTPSink,  # noqa: ANN001 - pipeline.Monitor
                    hook: WebhookReceiver, match_id: int) -> bool:
    """From the match to a removed copy and back, each step printed; True when each did what it should."""
    from monitor.store.triage import match_state
    from monitor.takedown.cli import where_to_send
    from monitor.takedown.notices import compose, send
    from monitor.takedown.recheck import recheck
    from monitor.triage import triage_match

    db, settings = monitor.db, monitor.settings
    triage_match(db, match_id, "confirmed", DEMO_USER)  # what the desk's Confirm button does
    console.print(f"[bold]5.[/] The editor confirms the copy (the desk's Confirm button, "
                  f"`monitor matches triage {match_id} confirmed`): match {match_id} is {match_state(db, match_id).state}",
                  highlight=False)
    copy_url = monitor.store.match_with_texts(match_id)[0].copy_url
    lookup, platform = await where_to_send(settings, db, match_id, copy_url)
    for c in lookup.contacts:
        console.print(f"   RDAP registry on {_origin(c.rdap_url)}: {c.via} ({c.organisation}), abuse contact {c.email}",
                      highlight=False)
    for problem in lookup.problems:
        console.print(f"   {problem}", highlight=False)
    if platform is not None:
        console.print(f"   the page runs on {platform.name}, whose own complaint form is {platform.form}", highlight=False)
    if not lookup.emails:
        return False  # no abuse contact: nothing to address the notice to (the problems are printed)
    notice = compose(settings, db, match_id, "dmca", lookup.emails)
    sent_before = len(smtp.messages)
    await send(settings, db, notice, DEMO_USER)
    state = match_state(db, match_id).state
    console.print(f"[bold]6.[/] The DMCA notice (`monitor notice {match_id}`), To: {', '.join(notice.recipients)}, "
                  f"sent through the SMTP sink (`--send --to …`): match {match_id} is {state}, the message kept",
                  highlight=False)
    ok = state == "notice_sent" and len(smtp.messages) == sent_before + 1

    blog.take_down(COPY_SLUG, 410)
    [gone] = await recheck(monitor, match_id)
    console.print(f"[bold]7.[/] The blog takes the copy down; the re-check (`monitor recheck {match_id}`): "
                  f"{gone.state}, {gone.check.detail}, sha256 {(gone.check.raw_sha256 or '-')[:16]}…",
                  highlight=False)
    ok = ok and gone.state == "removed"

    blog.put_back(COPY_SLUG)
    [back] = await recheck(monitor, match_id)
    hooks_before = len(hook.accepted)
    delivered = await monitor.deliver_alerts()
    console.print(f"[bold]8.[/] The blog puts it back; the next re-check: {back.state}, {back.check.detail}; "
                  f"alerts: {delivered.sent} sent, {delivered.failed} failed", highlight=False)
    for msg in smtp.messages[sent_before + 1:]:
        console.print(f"   email to {msg['To']}: {msg['Subject']}", highlight=False)
    for rec in hook.accepted[hooks_before:]:
        body = webhook_json(rec)
        console.print(f"   webhook {body['type']}: {body['copy']['url']}", highlight=False)
    # match.reinstated goes to both destinations (the mail sink and the webhook receiver) at once
    return ok and back.state == "reinstated" and delivered.sent == 2 and delivered.failed == 0


def _origin(url: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _see_timeline(console: Console, path: Path, match_id: int, keep: bool, serve: bool) -> None:
    if serve:
        return  # the desk's URL follows, and the match page shows the timeline
    console.print(f"[bold]9.[/] The timeline (found, confirmed, notice sent, removed, reinstated): on the desk with "
                  f"`monitor demo --serve` (the match's page, /matches/{match_id}); "
                  + (f"`monitor --config {path} report {match_id}`, "
                     f"`monitor --config {path} evidence {match_id} --out match.zip`" if keep
                     else "or `monitor demo --keep`, then `monitor report` and `monitor evidence` on the data kept"),
                  highlight=False)


def _serve_desk(console: Console, monitor, port: int | None) -> None:  # noqa: ANN001 - pipeline.Monitor
    from monitor.store.users import UserError, add_user
    from monitor.web.serve import ServeError, serve

    try:
        add_user(monitor.db, DEMO_USER, DEMO_PASSWORD, "editor")
    except UserError:
        pass
    web = monitor.settings.web
    url = f"http://{web.host}:{port or web.port}/"
    console.print(f"[bold]9.[/] The desk: open [bold]{url}[/] and log in as [bold]{DEMO_USER}[/] with the password "
                  f"[bold]{DEMO_PASSWORD}[/]; the spun copy is at {url}matches/1 with its timeline "
                  "(found, confirmed, notice sent, removed, reinstated). Ctrl-C stops.", highlight=False)
    try:
        asyncio.run(serve(monitor, web.host, port or web.port, poll=True))
    except ServeError as e:
        console.print(f"[red]error:[/] {e} (try --port)", highlight=False)


def _excerpt(s: str, width: int = 90) -> str:
    s = " ".join(s.split())
    return s if len(s) <= width else s[:width] + "…"
