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
from typing import Annotated, Any, Optional

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


def fail(message: str, code: int = 2) -> None:
    err.print(f"[red]error:[/red] {message}", markup=True, highlight=False, soft_wrap=True)
    raise typer.Exit(code)


@app.callback()
def main(
    config: Annotated[Optional[Path], typer.Option("--config", "-c", help="YAML config file (default: $MONITOR_CONFIG or config/monitor.yaml)")] = None,
    database_url: Annotated[Optional[str], typer.Option("--database-url", envvar="MONITOR_DATABASE_URL", help="SQLAlchemy URL, e.g. sqlite:///data/monitor.db or postgresql://user@host/db")] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="More log lines")] = False,
) -> None:
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("httpx", "httpcore", "apscheduler", "alembic", "aiosmtplib", "mail.log"):
        logging.getLogger(noisy).setLevel(logging.DEBUG if verbose else logging.WARNING)
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
            raw = path.read_bytes()
            if path.suffix.lower() in (".html", ".htm"):
                page = extract_page(raw, url=url)
                text, page_title = page.text, page.title
            else:
                text, page_title = raw.decode("utf-8", errors="replace"), path.stem
            source = Source(url or path.resolve().as_uri(), text, title or page_title)
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
                    source = _source_from_item(item)
                    monitor.register_source(source, "import")
                    added += 1
                except ValueError as e:
                    err.print(f"{file}:{lineno}: {e}", highlight=False)
                    failed += 1
                progress.advance(task)
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
def sources_list(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """The registered articles."""
    monitor = open_monitor()
    try:
        rows = monitor.store.list_sources()
    finally:
        monitor.close()
    if as_json:
        for r in rows:
            print(json.dumps({"id": r.id, "url": r.url, "title": r.title, "words": r.words,
                              "origin": r.origin, "status": r.status, "error": r.last_error}))
        return
    table = Table("id", "url", "title", "words", "origin", "status")
    for r in rows:
        table.add_row(str(r.id), r.url, r.title[:50], str(r.words), r.origin,
                      r.status + (f": {r.last_error}" if r.last_error else ""))
    out.print(table)


# --- feeds -------------------------------------------------------------------------------
@feeds_app.command("list")
def feeds_list(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Each watched feed's state, last error and next check."""
    monitor = open_monitor()
    try:
        feeds = monitor.store.list_feeds()
    finally:
        monitor.close()
    if as_json:
        for f in feeds:
            print(json.dumps({"url": f.url, "feed_url": f.feed_url, "role": f.role, "last_status": f.last_status,
                              "last_error": f.last_error, "error_count": f.error_count,
                              "next_check_at": f.next_check_at.isoformat()}))
        return
    table = Table("url", "role", "status", "errors", "next check (UTC)", "last error")
    for f in feeds:
        table.add_row(f.url, f.role, f.last_status or "new", str(f.error_count),
                      f"{f.next_check_at:%Y-%m-%d %H:%M}", (f.last_error or "")[:60])
    out.print(table)


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
        fail(f"{url} is not a watched feed (see `monitor feeds list`)")
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
                    {"source_url": f.source.url, "source_title": f.source.title, **f.verdict.to_dict()}
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
matches_app = typer.Typer(help="The copies found so far, and their triage.")
app.add_typer(matches_app, name="matches")


@matches_app.callback(invoke_without_command=True)
def matches(
    ctx: typer.Context,
    since: Annotated[Optional[str], typer.Option(help="ISO date/time, or an age such as 24h, 7d")] = None,
    source: Annotated[Optional[str], typer.Option(help="Only matches of sources whose URL contains this")] = None,
    min_score: Annotated[Optional[float], typer.Option("--min-score")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON lines")] = False,
    as_csv: Annotated[bool, typer.Option("--csv")] = False,
) -> None:
    """The copies found so far, newest first (`monitor matches triage ID STATE` triages one)."""
    if ctx.invoked_subcommand is not None:
        return
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
def demo(
    keep: Annotated[bool, typer.Option(help="Keep the demo's folder and print its path")] = False,
    serve: Annotated[bool, typer.Option("--serve", help="Then serve the desk over the demo's data")] = False,
    port: Annotated[Optional[int], typer.Option(help="The desk's port with --serve (default 8080)")] = None,
) -> None:
    """Run a whole cycle offline: a loopback blog with a spun copy, SMTP and webhook sinks."""
    from monitor.demo.run import run_demo

    raise typer.Exit(run_demo(out, keep=keep, serve=serve, port=port))


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


def _source_from_item(item: Any) -> Source:
    if not isinstance(item, dict) or not isinstance(item.get("url"), str):
        raise ValueError('each line needs a "url" and a "text" or "html"')
    if isinstance(item.get("text"), str):
        text, title = item["text"], item.get("title") or ""
    elif isinstance(item.get("html"), str):
        page = extract_page(item["html"], url=item["url"])
        text, title = page.text, item.get("title") or page.title
    else:
        raise ValueError(f'{item["url"]}: needs a "text" or "html" field')
    if not text.strip():
        raise ValueError(f"{item['url']}: no text")
    return Source(item["url"], text, str(title))


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
    path = Path(target)
    try:
        raw = path.read_bytes()
    except OSError as e:
        fail(f"{target}: {e.strerror}")
    if path.suffix.lower() in (".html", ".htm") or raw.lstrip()[:15].lower().startswith((b"<!doctype", b"<html")):
        return extract_page(raw).text
    return raw.decode("utf-8", errors="replace")


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


# The desk's commands (matches triage, users, tokens, allow, serve): monitor/web/cli.py.
from monitor.web.cli import register as _register_desk  # noqa: E402

_register_desk(app, matches_app)
