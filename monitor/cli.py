"""The `monitor` command: parses, calls the pipeline or the store, prints. Nothing more."""

from __future__ import annotations

import asyncio
import csv
import json
import logging
import re
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Annotated, Any, NoReturn, Optional

import typer
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from monitor import config as config_mod
from monitor.config import ConfigError, Settings
from monitor.domain import Source
from monitor.extract import extract_page
from monitor.store import Database, DatabaseError

app = typer.Typer(help="Reuse Monitor: finds spun copies of your articles on the web.",
                  no_args_is_help=True, pretty_exceptions_enable=False)
sources_app = typer.Typer(help="Register and list the articles to protect.", no_args_is_help=True)
feeds_app = typer.Typer(help="Watched feeds: state and on-demand checks.", no_args_is_help=True)
notify_app = typer.Typer(help="Alert destinations.", no_args_is_help=True)
app.add_typer(sources_app, name="sources")
app.add_typer(feeds_app, name="feeds")
app.add_typer(notify_app, name="notify")

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)
log = logging.getLogger("monitor")


class State:
    config_path: Path | None = None
    database_url: str | None = None
    _settings: Settings | None = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            try:
                self._settings = config_mod.load(self.config_path, database_url=self.database_url)
            except ConfigError as e:
                fail(str(e))
        return self._settings


state = State()


def fail(message: str, code: int = 2) -> NoReturn:
    err.print(f"[red]error:[/red] {message}", markup=True, highlight=False, soft_wrap=True)
    raise typer.Exit(code)


@app.callback()
def main(
    config: Annotated[Optional[Path], typer.Option("--config", "-c", help="YAML config file (default: $MONITOR_CONFIG or config/monitor.yaml)")] = None,
    database_url: Annotated[Optional[str], typer.Option("--database-url", envvar="MONITOR_DATABASE_URL", help="SQLAlchemy URL, e.g. sqlite:///data/monitor.db or postgresql://user@host/db")] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="More log lines")] = False,
    log_format: Annotated[str, typer.Option("--log-format", envvar="MONITOR_LOG_FORMAT", help="Log lines as key=value (text) or JSON objects (json)")] = "text",
) -> None:
    from monitor import logs

    if log_format not in ("text", "json"):
        fail(f"--log-format {log_format!r}: give text or json")
    logs.configure("json" if log_format == "json" else "text", verbose)
    state.config_path, state.database_url, state._settings = config, database_url, None


def open_monitor():  # noqa: ANN201 - returns monitor.pipeline.Monitor
    from monitor.pipeline import Monitor

    settings = state.settings
    db = Database(settings.db_url)
    try:
        # A local SQLite file is migrated on first use; a shared PostgreSQL database only by
        # an explicit `monitor migrate`, so schema changes there are a deliberate step.
        if db.engine.dialect.name == "sqlite":
            db.migrate()
        return Monitor(settings, db)
    except DatabaseError as e:
        fail(str(e))
    except Exception as e:  # noqa: BLE001 - unreachable server, bad credentials …
        fail(f"cannot use the database {settings.db_url}: {e}")


# --- run ---------------------------------------------------------------------------------
@app.command()
def run(once: Annotated[bool, typer.Option("--once", help="One cycle over due feeds, then exit")] = False) -> None:
    """Poll the watched feeds, check new posts and send alerts (until stopped)."""
    from monitor.scheduler import run_forever, summary

    monitor = open_monitor()
    try:
        if once:
            report = asyncio.run(monitor.run_cycle())
            for m in report.matches:
                if m.event is not None:
                    out.print(f"[bold red]copy[/] {m.post.url} ← {m.source.url} "
                              f"({m.verdict.kind}, score {m.verdict.score:.2f})", highlight=False)
            err.print(summary(report), highlight=False)
        else:
            asyncio.run(run_forever(monitor, state.settings.tick_seconds))
    finally:
        monitor.close()


@app.command()
def status(as_json: Annotated[bool, typer.Option("--json", help="One JSON object per process")] = False) -> None:
    """The running `monitor run` processes (nodes): alive, or stale when their heartbeat stopped."""
    from monitor.scheduler import STALE_AFTER
    from monitor.store.nodes import Nodes

    monitor = open_monitor()
    try:
        nodes = Nodes(monitor.db).list()
    finally:
        monitor.close()
    now = datetime.now(timezone.utc)
    rows: list[dict[str, Any]] = [
        {"host": n.host, "pid": n.pid, "version": n.version, "state": "alive" if n.alive(now, STALE_AFTER) else "stale",
         "started_at": n.started_at.isoformat(timespec="seconds"), "seen_at": n.seen_at.isoformat(timespec="seconds"),
         "last_cycle_at": n.last_cycle_at.isoformat(timespec="seconds") if n.last_cycle_at else None}
        for n in nodes]
    if as_json:
        for r in rows:
            print(json.dumps(r))
        return
    if not rows:
        err.print("no `monitor run` process is running on this database", highlight=False)
        return
    table = Table("host", "pid", "state", "version", "started (UTC)", "last heartbeat", "last cycle")
    for n, r in zip(nodes, rows):
        table.add_row(n.host, str(n.pid), r["state"], n.version, f"{n.started_at:%Y-%m-%d %H:%M:%S}",
                      f"{(now - n.seen_at).total_seconds():.0f} s ago",
                      f"{(now - n.last_cycle_at).total_seconds():.0f} s ago" if n.last_cycle_at else "none yet")
    out.print(table)


@app.command()
def migrate() -> None:
    """Create or upgrade the database schema (Alembic migrations)."""
    settings = state.settings
    db = Database(settings.db_url)
    try:
        db.migrate()
    except Exception as e:  # noqa: BLE001
        fail(f"migration of {settings.db_url} failed: {e}")
    finally:
        db.close()
    err.print(f"database {db.engine.url.render_as_string(hide_password=True)} is up to date", highlight=False)


# --- sources -----------------------------------------------------------------------------
@sources_app.command("add")
def sources_add(
    target: Annotated[str, typer.Argument(help="An article URL or a local text/HTML file")],
    title: Annotated[Optional[str], typer.Option(help="Title to show in alerts")] = None,
    url: Annotated[Optional[str], typer.Option(help="For a file: the article's public URL")] = None,
) -> None:
    """Register one article to protect."""
    from monitor.fetch import FetchError

    monitor = open_monitor()
    try:
        path = Path(target)
        if path.exists():
            try:
                source = monitor.source_from_file(path, url, title)
            except ValueError as e:
                fail(str(e))
            origin = "file"
        elif re.match(r"https?://", target):
            async def get() -> Source:
                async with monitor.fetcher() as f:
                    return await monitor.source_from_url(f, target, title)
            try:
                source = asyncio.run(get())
            except (FetchError, ValueError) as e:
                fail(str(e))
            origin = "url"
        else:
            fail(f"{target} is neither an existing file nor an http(s) URL")
        try:
            sid = monitor.register_source(source, origin)
        except ValueError as e:
            fail(str(e))
        out.print(f"source {sid}: {source.url} ({len(source.text.split())} words)", highlight=False)
        _print_rescan(monitor.rescan_due())
    finally:
        monitor.close()


@sources_app.command("import")
def sources_import(file: Annotated[Path, typer.Argument(help='JSON lines: {"url", "title"?, "text"} or {"url", "html"}')]) -> None:
    """Register many articles from a JSON-lines file."""
    monitor = open_monitor()
    added = failed = 0
    try:
        lines = list(_jsonl(file))
        with Progress(console=err, disable=not err.is_terminal, transient=True) as progress:
            task = progress.add_task("fingerprinting", total=len(lines))
            for lineno, item in lines:
                try:
                    source = _source_from_item(item, monitor.read_source)
                    monitor.register_source(source, "import")
                    added += 1
                except ValueError as e:
                    err.print(f"{file}:{lineno}: {e}", highlight=False)
                    failed += 1
                progress.advance(task)
        _print_rescan(monitor.rescan_due())
    finally:
        monitor.close()
    err.print(f"{added} source(s) registered, {failed} line(s) skipped", highlight=False)
    if failed and not added:
        raise typer.Exit(1)


@sources_app.command("backfill")
def sources_backfill(
    feed: Annotated[str, typer.Argument(help="Your site's feed, as configured under sources: - feed:")],
) -> None:
    """Register every post your site ever published (Blogger paging, WordPress REST or ?paged=N).

    `monitor run` does this by itself on a source feed's first check; this shows the progress.
    """
    from monitor.fetch import FeedError, FetchError, parse_feed
    from monitor.pipeline import CycleReport

    monitor = open_monitor()
    try:
        async def go() -> tuple[int, CycleReport]:
            async with monitor.fetcher() as fetcher:
                await monitor.sync_config(fetcher)
                state_ = monitor.store.feed_by_url(feed)
                if state_ is None or state_.role != "source":
                    fail(f"{feed} is not a source feed in the config (sources: - feed: …)")
                url = state_.feed_url or state_.url
                fetched = await fetcher.get(url)
                parsed = parse_feed(fetched.body, url, fetched.content_type)
                report = CycleReport()
                with Progress(console=err, disable=not err.is_terminal, transient=True) as progress:
                    task = progress.add_task("reading back your posts", total=None)

                    def advance(page) -> None:  # noqa: ANN001 - backfill.Page
                        progress.update(task, total=page.total, completed=page.number,
                                        description=f"page {page.number} ({page.how})")
                    failures = await monitor.backfill(fetcher, state_, url, parsed, report, advance)
                return failures, report

        before = len(monitor.store.source_urls())
        try:
            failures, report = asyncio.run(go())
        except (FetchError, FeedError) as e:
            fail(str(e))
        added = len(monitor.store.source_urls()) - before
    finally:
        monitor.close()
    for e in report.errors:
        err.print(e, highlight=False)
    err.print(f"{added} source(s) registered from {feed}, {failures} failure(s)", highlight=False)
    if failures and not added:
        raise typer.Exit(1)


@sources_app.command("list")
def sources_list(as_json: Annotated[bool, typer.Option("--json")] = False,
                 show_all: Annotated[bool, typer.Option("--all", help="Also the removed ones")] = False) -> None:
    """The registered articles."""
    monitor = open_monitor()
    try:
        rows = monitor.store.list_sources(retired=show_all)
    finally:
        monitor.close()
    if as_json:
        for r in rows:
            print(json.dumps({"id": r.id, "url": r.url, "title": r.title, "words": r.words,
                              "origin": r.origin, "status": "retired" if r.retired_at else r.status,
                              "error": r.last_error,
                              "retired_at": r.retired_at.isoformat() if r.retired_at else None}))
        return
    table = Table("id", "url", "title", "words", "origin", "status")
    for r in rows:
        status = f"retired {r.retired_at:%Y-%m-%d}" if r.retired_at else r.status
        table.add_row(str(r.id), r.url, r.title[:50], str(r.words), r.origin,
                      status + (f": {r.last_error}" if r.last_error else ""))
    out.print(table)


@sources_app.command("remove")
def sources_remove(ref: Annotated[str, typer.Argument(help="The source's URL or id (see `monitor sources list`)")]) -> None:
    """Stop protecting an article: out of the index and the list; its matches stay.

    `sources add` (or listing it in the config again) brings it back. Every running
    `monitor run` drops it at its next cycle."""
    monitor = open_monitor()
    try:
        found = monitor.store.find_source(ref)
        if found is None:
            fail(f"no source {ref} (see `monitor sources list`)")
        if found.retired_at is not None:
            err.print(f"source {found.id} ({found.url}) was already removed", highlight=False)
            return
        monitor.store.retire_source(found.id)
        monitor.detector.remove(found.id)
        listed = [e for e in monitor.settings.sources if not e.feed and monitor._config_url(e) == found.url]
    finally:
        monitor.close()
    err.print(f"source {found.id} removed: {found.url}", highlight=False)
    if listed:
        err.print(f"it is still listed under sources: in the config; it stays removed, but delete the line there "
                  f"too (`monitor sources add {ref}` brings it back)", highlight=False)


# --- feeds -------------------------------------------------------------------------------
@feeds_app.command("list")
def feeds_list(as_json: Annotated[bool, typer.Option("--json")] = False,
               show_all: Annotated[bool, typer.Option("--all", help="Also the removed ones")] = False) -> None:
    """Each watched feed's state, last error and next check."""
    monitor = open_monitor()
    try:
        feeds = monitor.store.list_feeds(retired=show_all)
    finally:
        monitor.close()
    if as_json:
        for f in feeds:
            print(json.dumps({"id": f.id, "url": f.url, "feed_url": f.feed_url, "role": f.role,
                              "last_status": f.last_status, "last_error": f.last_error,
                              "error_count": f.error_count, "next_check_at": f.next_check_at.isoformat(),
                              "paused_at": f.paused_at.isoformat() if f.paused_at else None,
                              "retired_at": f.retired_at.isoformat() if f.retired_at else None}))
        return
    table = Table("id", "url", "role", "status", "errors", "next check (UTC)", "last error")
    for f in feeds:
        state_ = (f"retired {f.retired_at:%Y-%m-%d}" if f.retired_at else
                  f"paused {f.paused_at:%Y-%m-%d}" if f.paused_at else f.last_status or "new")
        table.add_row(str(f.id), f.url, f.role, state_, str(f.error_count),
                      "—" if f.retired_at or f.paused_at else f"{f.next_check_at:%Y-%m-%d %H:%M}",
                      (f.last_error or "")[:60])
    out.print(table)


def _feed(monitor, ref: str):  # noqa: ANN001, ANN202 - Monitor, FeedState
    found = monitor.store.find_feed(ref)
    if found is None:
        fail(f"no feed {ref} (see `monitor feeds list --all`)")
    return found


@feeds_app.command("remove")
def feeds_remove(ref: Annotated[str, typer.Argument(help="The feed's URL or id (see `monitor feeds list`)")]) -> None:
    """Stop watching a feed: not polled or listed again; its posts and matches stay.

    Your own feed (sources: - feed:) takes the articles it registered with it."""
    monitor = open_monitor()
    try:
        feed = _feed(monitor, ref)
        if feed.retired_at is not None:
            err.print(f"feed {feed.url} was already removed", highlight=False)
            return
        monitor.store.retire_feed(feed.id)
        listed = feed.url in {w.url for w in monitor.settings.watch} | {e.feed for e in monitor.settings.sources}
    finally:
        monitor.close()
    err.print(f"feed {feed.id} removed: {feed.url}", highlight=False)
    if listed:
        err.print("it is still listed in the config; it stays removed, but delete the line there too "
                  "(taking it out and putting it back brings it back)", highlight=False)


@feeds_app.command("pause")
def feeds_pause(ref: Annotated[str, typer.Argument(help="The feed's URL or id")]) -> None:
    """Stop polling a feed until `monitor feeds resume`."""
    monitor = open_monitor()
    try:
        feed = _feed(monitor, ref)
        if feed.retired_at is not None:
            fail(f"feed {feed.url} was removed; list it in the config again to watch it")
        monitor.store.pause_feed(feed.id, True)
    finally:
        monitor.close()
    err.print(f"feed {feed.id} paused: {feed.url}", highlight=False)


@feeds_app.command("resume")
def feeds_resume(ref: Annotated[str, typer.Argument(help="The feed's URL or id")]) -> None:
    """Poll a paused feed again (checked at the next cycle)."""
    monitor = open_monitor()
    try:
        feed = _feed(monitor, ref)
        if feed.retired_at is not None:
            fail(f"feed {feed.url} was removed; list it in the config again to watch it")
        monitor.store.pause_feed(feed.id, False)
    finally:
        monitor.close()
    err.print(f"feed {feed.id} resumed: {feed.url}", highlight=False)


@feeds_app.command("check")
def feeds_check(url: Annotated[str, typer.Argument(help="A watched feed's URL, as configured")]) -> None:
    """Check one watched feed now, whatever its schedule."""
    from monitor.scheduler import summary

    monitor = open_monitor()
    try:
        report = asyncio.run(monitor.run_cycle(only_urls=[url]))
    finally:
        monitor.close()
    if not report.feeds_checked and not report.feeds_failed:
        fail(f"{url} is not a watched feed, or it is paused or removed (see `monitor feeds list --all`)")
    err.print(summary(report), highlight=False)


# --- alert destinations ------------------------------------------------------------------
@notify_app.command("test")
def notify_test() -> None:
    """Send a test message to every configured destination and report each result."""
    monitor = open_monitor()
    try:
        if not monitor.settings.notify.destinations():
            fail("no destinations configured (notify.email, notify.webhooks)")
        results = asyncio.run(monitor.test_destinations())
    finally:
        monitor.close()
    for name, problem in results.items():
        out.print(f"{'ok    ' if problem is None else 'FAILED'} {name}" + (f": {problem}" if problem else ""),
                  highlight=False)
    if any(results.values()):
        raise typer.Exit(1)


# --- checking posts without fetching -----------------------------------------------------
@app.command()
def scan(
    file: Annotated[Path, typer.Argument(help='JSON lines: {"url", "text"} or {"url", "html"}')],
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per input line")] = False,
) -> None:
    """Check posts given in a file against the registered sources (nothing is fetched or stored)."""
    monitor = open_monitor()
    try:
        for lineno, item in _jsonl(file):
            try:
                source = _source_from_item(item)
            except ValueError as e:
                result: dict[str, Any] = {"url": item.get("url") if isinstance(item, dict) else None,
                                          "matches": [], "error": f"line {lineno}: {e}"}
            else:
                from monitor.domain import Post

                found = monitor.check_post(Post(source.url, source.text, source.title), store_post=False)
                result = {"url": source.url, "matches": [
                    {"source_url": f.source.url, "source_title": f.source.title, **f.verdict.to_dict(),
                     "related": f.related}
                    for f in sorted(found, key=lambda f: -f.verdict.score)]}
            if as_json:
                print(json.dumps(result, ensure_ascii=False))
            else:
                for m in result["matches"]:
                    out.print(f"{result['url']}: {m['kind']} of {m['source_url']} (score {m['score']:.2f})",
                              highlight=False)
                if result.get("error"):
                    err.print(result["error"], highlight=False)
    finally:
        monitor.close()


@app.command()
def compare(
    a: Annotated[str, typer.Argument(help="The original: a file or URL")],
    b: Annotated[str, typer.Argument(help="The suspected copy: a file or URL")],
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Compare two texts (or pages) directly and print the verdict with its evidence."""
    from monitor.detect import DetectSettings, Detector

    settings = state.settings
    texts = [_read_text(x, settings) for x in (a, b)]
    verdict = Detector(DetectSettings(min_score=settings.detection.min_score)).compare(*texts)
    result = {"source": a, "copy": b, **verdict.to_dict()}
    if as_json:
        print(json.dumps(result, ensure_ascii=False))
        return
    if not verdict.is_match:
        out.print(f"no match ({verdict.reason or f'score {verdict.score:.2f}'})", highlight=False)
        return
    out.print(f"[bold]{verdict.kind}[/] score {verdict.score:.2f}, coverage {verdict.coverage:.0%}, "
              f"spin rate {verdict.spin_rate:.0%}", highlight=False)
    for p in verdict.passages[:5]:
        out.print(f"  source[{p.source_start}:{p.source_end}] ~ copy[{p.copy_start}:{p.copy_end}]: "
                  f"{texts[0][p.source_start:p.source_end][:80]!r}", highlight=False)
    if verdict.substitutions:
        out.print("  swapped: " + "; ".join(f"{x} → {y}" for x, y in verdict.substitutions[:10]), highlight=False)


@app.command()
def extract(
    files: Annotated[list[Path], typer.Argument(help="HTML files")],
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per file")] = False,
) -> None:
    """Print the main text that the monitor would compare, for each HTML file."""
    status = 0
    for path in files:
        try:
            page = extract_page(path.read_bytes(), url=None)
        except OSError as e:
            err.print(f"{path}: {e.strerror}", highlight=False)
            status = 1
            continue
        if as_json:
            print(json.dumps({"path": str(path), "title": page.title, "text": page.text,
                              "published": page.published, "canonical_url": page.canonical_url,
                              "language": page.language, "reason": page.reason}, ensure_ascii=False))
        else:
            out.print(f"[bold]{path}[/]: {page.title}", highlight=False)
            out.print(page.text or f"(no text: {page.reason})", highlight=False)
    raise typer.Exit(status)


# --- history -----------------------------------------------------------------------------
@app.command()
def matches(
    since: Annotated[Optional[str], typer.Option(help="ISO date/time, or an age such as 24h, 7d")] = None,
    source: Annotated[Optional[str], typer.Option(help="Only matches of sources whose URL contains this")] = None,
    min_score: Annotated[Optional[float], typer.Option("--min-score")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON lines")] = False,
    as_csv: Annotated[bool, typer.Option("--csv")] = False,
) -> None:
    """The copies found so far, newest first."""
    monitor = open_monitor()
    try:
        rows = monitor.store.list_matches(since=_since(since) if since else None, source=source,
                                          min_score=min_score)
    finally:
        monitor.close()
    if as_json:
        for r in rows:
            print(json.dumps(r.to_dict(), ensure_ascii=False))
    elif as_csv:
        w = csv.writer(sys.stdout)
        w.writerow(["id", "detected_at", "kind", "score", "coverage", "spin_rate", "source_url", "copy_url"])
        for r in rows:
            w.writerow([r.id, r.detected_at.isoformat(), r.kind, f"{r.score:.4f}", f"{r.coverage:.4f}",
                        f"{r.spin_rate:.4f}", r.source_url, r.copy_url])
    else:
        table = Table("id", "detected (UTC)", "kind", "score", "source", "copy")
        for r in rows:
            table.add_row(str(r.id), f"{r.detected_at:%Y-%m-%d %H:%M}", r.kind, f"{r.score:.2f}",
                          r.source_url, r.copy_url)
        out.print(table)


@app.command()
def report(
    match_id: Annotated[int, typer.Argument(help="A match id, from `monitor matches`")],
    html_file: Annotated[Optional[Path], typer.Option("--html", help="Write the self-contained HTML report here")] = None,
    revision: Annotated[Optional[int], typer.Option(help="An earlier revision of the match (the copy as it was before a material change)")] = None,
) -> None:
    """The evidence for one match: side by side, passages highlighted, fetch facts and hashes."""
    from monitor.notify.report import render

    monitor = open_monitor()
    try:
        found = monitor.store.match_with_texts(match_id)
        earlier = monitor.store.match_revisions(match_id) if found is not None else []
        if found is not None and revision is not None and revision != found[0].revision:
            found = monitor.store.revision_with_texts(match_id, revision)
            if found is None:
                fail(f"match {match_id} has no revision {revision} "
                     f"(revisions: {', '.join(str(r.revision) for r in earlier) or 'none before'} and the current one)")
    finally:
        monitor.close()
    if found is None:
        fail(f"no match with id {match_id} (see `monitor matches`)")
    record, source_text, copy_text = found
    others = [r for r in earlier if r.revision != record.revision]
    if html_file is not None:
        html_file.write_text(render(record, source_text, copy_text, others), encoding="utf-8")
        err.print(f"report written to {html_file}", highlight=False)
        return
    data = record.to_dict() | {"earlier_revisions": [r.to_dict() for r in earlier if r.revision < record.revision]}
    out.print(json.dumps(data, ensure_ascii=False, indent=2), highlight=False)


@app.command()
def rescan(
    since: Annotated[str, typer.Option(help="Posts checked since: an age such as 7d, 24h, or an ISO date")] = "7d",
    source: Annotated[Optional[str], typer.Option(help="Only this source (URL or id); default: every source")] = None,
) -> None:
    """Compare the posts already stored with the sources (new matches are recorded and alerted).

    New sources are compared with the last `detection.recheck_days` of posts by themselves;
    this is for a longer period, or after a change of the detection settings."""
    monitor = open_monitor()
    try:
        ids = None
        if source is not None:
            found = monitor.store.find_source(source)
            if found is None or found.retired_at is not None:
                fail(f"no source {source} (see `monitor sources list`)")
            ids = [found.id]
        _print_rescan(monitor.rescan(_since(since), ids), always=True)
    finally:
        monitor.close()


def _print_rescan(found: list, always: bool = False) -> None:  # list[FoundMatch]
    """The matches a rescan found among the posts stored before (their alerts are queued)."""
    for m in found:
        if m.event is not None:
            out.print(f"[bold red]copy[/] {m.post.url} ← {m.source.url} "
                      f"({m.verdict.kind}, score {m.verdict.score:.2f})", highlight=False)
    new = sum(1 for m in found if m.event is not None)
    if new or always:
        err.print(f"{new} new match(es) among the posts already stored", highlight=False)


@app.command()
def demo(
    keep: Annotated[bool, typer.Option(help="Keep the demo's folder and print its path")] = False,
) -> None:
    """Run a whole cycle offline: a loopback blog with a spun copy, SMTP and webhook sinks."""
    from monitor.demo.run import run_demo

    raise typer.Exit(run_demo(out, keep=keep))


# --- helpers -----------------------------------------------------------------------------
def _jsonl(path: Path) -> Iterator[tuple[int, Any]]:
    try:
        fh = path.open(encoding="utf-8")
    except OSError as e:
        fail(f"{path}: {e.strerror}")
    with fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                yield lineno, json.loads(line)
            except json.JSONDecodeError as e:
                err.print(f"{path}:{lineno}: not JSON ({e.msg})", highlight=False)


def _source_from_item(item: Any, read: Any = None) -> Source:
    """A JSON line's article, read as every source is (Monitor.read_source, or the same
    reading without a monitor for `scan`)."""
    from monitor.sources import read_source

    if not isinstance(item, dict) or not isinstance(item.get("url"), str):
        raise ValueError('each line needs a "url" and a "text" or "html"')
    for field, is_html in (("text", False), ("html", True)):
        if isinstance(item.get(field), str):
            title = item.get("title") if isinstance(item.get("title"), str) else None
            if read is not None:
                return read(item[field], name=item["url"], url=item["url"], title=title, is_html=is_html)
            found = read_source(item[field], name=item["url"], url=item["url"], is_html=is_html)
            return Source(item["url"], found.text, title or found.title)
    raise ValueError(f'{item["url"]}: needs a "text" or "html" field')


def _read_text(target: str, settings: Settings) -> str:
    if re.match(r"https?://", target):
        from monitor.fetch import FetchError, Fetcher, FetchSettings

        async def get() -> bytes:
            async with Fetcher(FetchSettings(user_agent=settings.user_agent,
                                             allow_private_networks=settings.fetch.allow_private_networks)) as f:
                return (await f.get(target)).body
        try:
            return extract_page(asyncio.run(get()), url=target).text
        except FetchError as e:
            fail(str(e))
    from monitor.sources import HTML_SUFFIXES, read_source

    path = Path(target)
    try:
        raw = path.read_bytes()
    except OSError as e:
        fail(f"{target}: {e.strerror}")
    try:
        return read_source(raw, name=target, is_html=True if path.suffix.lower() in HTML_SUFFIXES else None).text
    except ValueError as e:
        fail(str(e))
    return ""  # unreachable: fail() exits


def _since(value: str) -> datetime:
    m = re.fullmatch(r"(\d+)\s*([hdw])", value.strip())
    if m:
        n, unit = int(m.group(1)), m.group(2)
        return datetime.now(timezone.utc) - timedelta(hours=n * {"h": 1, "d": 24, "w": 168}[unit])
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        fail(f"--since {value!r}: give an ISO date (2026-11-01) or an age (24h, 7d, 2w)")
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)
