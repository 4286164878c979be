"""The `monitor` command: parses, calls the pipeline or the store, prints. Nothing more.

Start-up is kept cheap: the config (pydantic), the database (SQLAlchemy), extraction, the
detector and asyncio are imported inside the commands that use them, so `monitor --help`
imports none of them (tests/test_startup.py, bench/startup.py).

Everything read from the web (page text, titles, URLs) reaches the terminal through `web()`
or `print_json()`, never as rich markup; errors are `MonitorError`s, printed once, as one line
(`fail`), by the command group below.
"""

from __future__ import annotations

import csv
import json
import logging
import re
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, Optional

import typer
from rich.console import Console
from rich.text import Text
from typer.core import TyperGroup

from monitor.domain import Match, Source
from monitor.errors import InputError, MonitorError
from monitor.logs import redact  # known secrets of the config, then monitor.redact for URLs

if TYPE_CHECKING:
    from monitor.config import Settings
    from monitor.store import Store


class _Commands(TyperGroup):
    """Catches the monitor's errors once, for every command: one line, its exit status."""

    def invoke(self, ctx):  # noqa: ANN001, ANN201 - click's signature
        try:
            return super().invoke(ctx)
        except MonitorError as e:
            fail(str(e), e.exit_code)


app = typer.Typer(help="Reuse Monitor: finds spun copies of your articles on the web.", cls=_Commands,
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
            from monitor import config as config_mod

            self._settings = config_mod.load(self.config_path, database_url=self.database_url)
        return self._settings


state = State()


def fail(message: str, code: int = 2) -> NoReturn:
    """Print one error (secrets redacted, control characters made visible) and exit."""
    err.print(Text.assemble(("error:", "red"), " ", inert(redact(message), multiline=True)))
    raise typer.Exit(code)


# --- output of text read from the web ------------------------------------------------------
# C0/C1 control characters (ESC starts ANSI sequences, CR rewrites the line) and the Unicode
# bidirectional controls (which reorder what a reader sees) are shown as \xNN / \uNNNN.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_CONTROL_LINE = re.compile("[\t\n]|" + _CONTROL.pattern)


def _visible(m: re.Match[str]) -> str:
    c = ord(m.group())
    return f"\\x{c:02x}" if c < 0x100 else f"\\u{c:04x}"


def inert(value: object, multiline: bool = False) -> str:
    """`value` as a string that a terminal shows as it is: control characters made visible
    (newlines and tabs too, unless `multiline`)."""
    return (_CONTROL if multiline else _CONTROL_LINE).sub(_visible, str(value))


def web(value: object, multiline: bool = False, style: str = "") -> Text:
    """Text read from the web (or any input), for rich: never parsed as markup or emoji."""
    return Text(inert(value, multiline), style=style)


def say(*parts: str | Text | tuple[str, str], to: Console = out) -> None:
    """Print one line made of literal strings and `web()` pieces."""
    to.print(Text.assemble(*parts))


def say_lines(lines: list[Text], to: Console = out) -> None:
    """Print many lines at once (one rich render, not one per line: lists can be long)."""
    if lines:
        to.print(Text("\n").join(lines))


def line(*parts: str | Text | tuple[str, str]) -> Text:
    return Text.assemble(*parts)


def print_json(data: Any, indent: int | None = None) -> None:
    """One JSON document on stdout; C1 and bidirectional controls escaped too (JSON escapes C0)."""
    text = json.dumps(data, ensure_ascii=False, indent=indent)
    print(_CONTROL.sub(lambda m: f"\\u{ord(m.group()):04x}", text))


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
    """The pipeline with its detector index: for the commands that compare or poll."""
    from monitor.pipeline import Monitor

    settings = state.settings
    db = _open_database(settings.db_url)
    try:
        return Monitor(settings, db)
    except MonitorError:
        raise
    except Exception as e:  # noqa: BLE001 - unreachable server, bad credentials …
        fail(f"cannot use the database {settings.db_url}: {e}")


def open_store() -> Store:
    """The store alone, for commands that only read or list: no detector index is built."""
    from monitor.store import Store, check_migrated

    # --database-url (or $MONITOR_DATABASE_URL) wins over the config file: then the config,
    # which these commands do not otherwise need, is not even read or validated.
    url = state.database_url or state.settings.db_url
    db = _open_database(url)
    try:
        check_migrated(db.engine)
        return Store(db)
    except MonitorError:
        db.close()
        raise
    except Exception as e:  # noqa: BLE001
        db.close()
        fail(f"cannot use the database {url}: {e}")


def _open_database(url: str):  # noqa: ANN202 - monitor.store.Database
    from monitor.store import Database
    from monitor.store.database import needs_migration

    db = Database(url)
    try:
        # A local SQLite file is migrated on first use; a shared PostgreSQL database only by
        # an explicit `monitor migrate`, so schema changes there are a deliberate step.
        # (Alembic itself is imported only when there is something to do.)
        if db.engine.dialect.name == "sqlite" and needs_migration(db.engine):
            db.migrate()
    except MonitorError:
        db.close()
        raise
    except Exception as e:  # noqa: BLE001 - unreachable server, bad credentials …
        db.close()
        fail(f"cannot use the database {url}: {e}")
    return db


# --- run ---------------------------------------------------------------------------------
@app.command()
def run(once: Annotated[bool, typer.Option("--once", help="One cycle over due feeds, then exit")] = False) -> None:
    """Poll the watched feeds, check new posts and send alerts (until stopped)."""
    import asyncio

    from monitor.config import check_destinations
    from monitor.scheduler import run_forever, summary

    for note in check_destinations(state.settings):
        log.warning(note)
    monitor = open_monitor()
    try:
        if once:
            report = asyncio.run(monitor.run_cycle())
            for m in report.matches:
                if m.event is not None:
                    say(("copy", "bold red"), " ", web(m.post.url), " ← ", web(m.source.url),
                        f" ({m.verdict.kind}, score {m.verdict.score:.2f})")
            say(web(summary(report)), to=err)
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
            print_json(r)
        return
    if not rows:
        err.print("no `monitor run` process is running on this database", highlight=False)
        return
    from rich.table import Table

    table = Table("host", "pid", "state", "version", "started (UTC)", "last heartbeat", "last cycle")
    for n, r in zip(nodes, rows):
        table.add_row(n.host, str(n.pid), r["state"], n.version, f"{n.started_at:%Y-%m-%d %H:%M:%S}",
                      f"{(now - n.seen_at).total_seconds():.0f} s ago",
                      f"{(now - n.last_cycle_at).total_seconds():.0f} s ago" if n.last_cycle_at else "none yet")
    out.print(table)


@app.command()
def migrate() -> None:
    """Create or upgrade the database schema (Alembic migrations)."""
    from monitor.store import Database

    settings = state.settings
    db = Database(settings.db_url)
    try:
        db.migrate()
    except MonitorError:
        raise
    except Exception as e:  # noqa: BLE001
        fail(f"migration of {settings.db_url} failed: {e}")
    finally:
        db.close()
    say(web(f"database {db.engine.url.render_as_string(hide_password=True)} is up to date"), to=err)


# --- sources -----------------------------------------------------------------------------
@sources_app.command("add")
def sources_add(
    target: Annotated[str, typer.Argument(help="An article URL or a local text/HTML file")],
    title: Annotated[Optional[str], typer.Option(help="Title to show in alerts")] = None,
    url: Annotated[Optional[str], typer.Option(help="For a file: the article's public URL")] = None,
) -> None:
    """Register one article to protect."""
    import asyncio

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
        say(f"source {sid}: ", web(source.url), f" ({len(source.text.split())} words)")
        _print_rescan(monitor.rescan_due())
    finally:
        monitor.close()


@sources_app.command("import")
def sources_import(file: Annotated[Path, typer.Argument(help='JSON lines: {"url", "title"?, "text"} or {"url", "html"}')]) -> None:
    """Register many articles from a JSON-lines file."""
    from rich.progress import Progress

    lines = list(_jsonl(file))
    monitor = open_monitor()
    added = failed = 0
    try:
        with Progress(console=err, disable=not err.is_terminal, transient=True) as progress:
            task = progress.add_task("fingerprinting", total=len(lines))
            for lineno, item in lines:
                try:
                    source = _source_from_item(item, monitor.read_source)
                    monitor.register_source(source, "import")
                    added += 1
                except ValueError as e:
                    say(web(f"{file}:{lineno}: {e}"), to=err)
                    failed += 1
                progress.advance(task)
        _print_rescan(monitor.rescan_due())
    finally:
        monitor.close()
    say(f"{added} source(s) registered, {failed} line(s) skipped", to=err)
    if not added:  # nothing it could do: every line bad, or none at all
        raise typer.Exit(1)


@sources_app.command("backfill")
def sources_backfill(
    feed: Annotated[str, typer.Argument(help="Your site's feed, as configured under sources: - feed:")],
) -> None:
    """Register every post your site ever published (Blogger paging, WordPress REST or ?paged=N).

    `monitor run` does this by itself on a source feed's first check; this shows the progress.
    """
    import asyncio

    from rich.progress import Progress

    from monitor.fetch import FeedError, FetchError, parse_feed
    from monitor.pipeline import FeedResult

    monitor = open_monitor()
    try:
        async def go() -> FeedResult:
            async with monitor.fetcher() as fetcher:
                await monitor.sync_config(fetcher)
                state_ = monitor.store.feed_by_url(feed)
                if state_ is None or state_.role != "source":
                    fail(f"{feed} is not a source feed in the config (sources: - feed: …)")
                url = state_.feed_url or state_.url
                fetched = await fetcher.get(url)
                parsed = parse_feed(fetched.body, url, fetched.content_type)
                with Progress(console=err, disable=not err.is_terminal, transient=True) as progress:
                    task = progress.add_task("reading back your posts", total=None)

                    def advance(page) -> None:  # noqa: ANN001 - backfill.Page
                        progress.update(task, total=page.total, completed=page.number,
                                        description=f"page {page.number} ({page.how})")
                    return await monitor.backfill(fetcher, state_, url, parsed, advance)

        before = len(monitor.store.source_urls())
        try:
            result = asyncio.run(go())
        except (FetchError, FeedError) as e:
            fail(str(e))
        added = len(monitor.store.source_urls()) - before
    finally:
        monitor.close()
    for problem in result.errors:
        say(web(problem), to=err)
    say(web(f"{added} source(s) registered from {feed}, {result.failures} failure(s)"), to=err)
    if result.failures and not added:
        raise typer.Exit(1)


@sources_app.command("list")
def sources_list(as_json: Annotated[bool, typer.Option("--json")] = False,
                 show_all: Annotated[bool, typer.Option("--all", help="Also the removed ones")] = False) -> None:
    """The registered articles."""
    store = open_store()
    try:
        rows = store.list_sources(retired=show_all)
    finally:
        store.db.close()
    if as_json:
        for r in rows:
            print_json({"id": r.id, "url": r.url, "title": r.title, "words": r.words,
                        "origin": r.origin, "status": "retired" if r.retired_at else r.status,
                        "error": r.last_error,
                        "retired_at": r.retired_at.isoformat() if r.retired_at else None})
        return
    if not rows:
        configured = len(state.settings.sources)
        say(("no sources registered yet" + (f"; the config lists {configured}: `monitor run --once` registers them"
                                            if configured else "") + "; `monitor sources add URL|FILE` adds one"), to=err)
        return
    # One entry per source, URLs whole (a table cuts them to the terminal's width).
    lines = []
    for r in rows:
        status = f"retired {r.retired_at:%Y-%m-%d}" if r.retired_at else r.status
        lines.append(line(f"{r.id:>4}  {r.words:>6} words  {r.origin:<6} ", web(status), "  ", web(r.url)))
        if r.title:
            lines.append(line("      ", web(r.title[:100])))
        if r.last_error:
            lines.append(line("      error: ", web(r.last_error)))
    say_lines(lines)


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
            say(f"source {found.id} (", web(found.url), ") was already removed", to=err)
            return
        monitor.store.retire_source(found.id)
        monitor.detector.remove(found.id)
        listed = [e for e in monitor.settings.sources if not e.feed and monitor._config_url(e) == found.url]
    finally:
        monitor.close()
    say(f"source {found.id} removed: ", web(found.url), to=err)
    if listed:
        err.print(f"it is still listed under sources: in the config; it stays removed, but delete the line there "
                  f"too (`monitor sources add {ref}` brings it back)", highlight=False)


# --- feeds -------------------------------------------------------------------------------
@feeds_app.command("list")
def feeds_list(as_json: Annotated[bool, typer.Option("--json")] = False,
               show_all: Annotated[bool, typer.Option("--all", help="Also the removed ones")] = False) -> None:
    """Each watched feed's state, last error and next check."""
    store = open_store()
    try:
        feeds = store.list_feeds(retired=show_all)
    finally:
        store.db.close()
    if as_json:
        for f in feeds:
            when = None if f.retired_at or f.paused_at else _next_check(f.next_check_at)
            print_json({"id": f.id, "url": f.url, "feed_url": f.feed_url, "role": f.role,
                        "last_status": f.last_status, "last_error": f.last_error,
                        "error_count": f.error_count, "next_check_at": when.isoformat() if when else None,
                        "paused_at": f.paused_at.isoformat() if f.paused_at else None,
                        "retired_at": f.retired_at.isoformat() if f.retired_at else None})
        return
    # One entry per feed, URLs whole (a table cuts them to the terminal's width).
    for f in feeds:
        when = None if f.retired_at or f.paused_at else _next_check(f.next_check_at)
        state_ = (f"retired {f.retired_at:%Y-%m-%d}" if f.retired_at else
                  f"paused {f.paused_at:%Y-%m-%d}" if f.paused_at else f.last_status or "new")
        say(f"{f.id:>4}  {f.role:<6} ", web(f"{state_:<8}"), f" {f.error_count:>3} error(s) in a row  ",
            f"next check {when:%Y-%m-%d %H:%M} UTC  " if when else "not scheduled  ", web(f.url))
        if f.feed_url and f.feed_url != f.url:  # what is read: the discovered feed, or where it moved
            say("       → ", web(f.feed_url))
        if f.last_error and when:
            say("       last error: ", web(f.last_error))


def _feed(store: Store, ref: str):  # noqa: ANN202 - FeedState
    found = store.find_feed(ref)
    if found is None:
        fail(f"no feed {ref} (see `monitor feeds list --all`)")
    return found


@feeds_app.command("remove")
def feeds_remove(ref: Annotated[str, typer.Argument(help="The feed's URL or id (see `monitor feeds list`)")]) -> None:
    """Stop watching a feed: not polled or listed again; its posts and matches stay.

    Your own feed (sources: - feed:) takes the articles it registered with it."""
    store = open_store()  # no detector index: nothing is compared
    try:
        feed = _feed(store, ref)
        if feed.retired_at is not None:
            say("feed ", web(feed.url), " was already removed", to=err)
            return
        store.retire_feed(feed.id)
        settings = state.settings
        listed = feed.url in {w.url for w in settings.watch} | {e.feed for e in settings.sources}
    finally:
        store.db.close()
    say(f"feed {feed.id} removed: ", web(feed.url), to=err)
    if listed:
        err.print("it is still listed in the config; it stays removed, but delete the line there too "
                  "(taking it out and putting it back brings it back)", highlight=False)


def _pause(ref: str, paused: bool) -> None:
    store = open_store()  # no detector index: nothing is compared
    try:
        feed = _feed(store, ref)
        if feed.retired_at is not None:
            fail(f"feed {feed.url} was removed; list it in the config again to watch it")
        store.pause_feed(feed.id, paused)
    finally:
        store.db.close()
    say(f"feed {feed.id} {'paused' if paused else 'resumed'}: ", web(feed.url), to=err)


@feeds_app.command("pause")
def feeds_pause(ref: Annotated[str, typer.Argument(help="The feed's URL or id")]) -> None:
    """Stop polling a feed until `monitor feeds resume`."""
    _pause(ref, True)


@feeds_app.command("resume")
def feeds_resume(ref: Annotated[str, typer.Argument(help="The feed's URL or id")]) -> None:
    """Poll a paused feed again (checked at the next cycle)."""
    _pause(ref, False)


@feeds_app.command("check")
def feeds_check(url: Annotated[str, typer.Argument(help="A watched feed's URL, as configured")]) -> None:
    """Check one watched feed now, whatever its schedule."""
    import asyncio

    from monitor.scheduler import summary

    monitor = open_monitor()
    try:
        report = asyncio.run(monitor.run_cycle(only_urls=[url]))
    finally:
        monitor.close()
    if not report.feeds_checked and not report.feeds_failed:
        fail(f"{url} is not a watched feed, or it is paused or removed (see `monitor feeds list --all`)")
    say(web(summary(report)), to=err)


# --- alert destinations ------------------------------------------------------------------
@notify_app.command("test")
def notify_test() -> None:
    """Send a test message to every configured destination and report each result."""
    import asyncio

    from monitor.config import check_destinations

    settings = state.settings
    if not settings.notify.destinations():
        fail("no destinations configured (notify.email, notify.webhooks, notify.apprise)")
    for note in check_destinations(settings):
        log.warning(note)
    monitor = open_monitor()
    try:
        results = asyncio.run(monitor.test_destinations())
    finally:
        monitor.close()
    for name, problem in results.items():
        say("ok     " if problem is None else "FAILED ", web(name),  # names hide tokens already
            web(f": {redact(problem)}") if problem else "")
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
                item = item if isinstance(item, dict) else {}
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
                print_json(result)
            else:
                for m in result["matches"]:
                    say(web(result["url"]), f": {m['kind']} of ", web(m["source_url"]), f" (score {m['score']:.2f})")
                if result.get("error"):
                    say(web(result["error"]), to=err)
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
        print_json(result)
        return
    if not verdict.is_match:
        say(web(f"no match ({verdict.reason or f'score {verdict.score:.2f}'})"))
        return
    say((str(verdict.kind), "bold"), f" score {verdict.score:.2f}, coverage {verdict.coverage:.0%}, "
        f"spin rate {verdict.spin_rate:.0%}")
    for p in verdict.passages[:5]:
        say(f"  source[{p.source_start}:{p.source_end}] ~ copy[{p.copy_start}:{p.copy_end}]: ",
            web(repr(texts[0][p.source_start:p.source_end][:80])))
    if verdict.substitutions:
        say("  swapped: ", web("; ".join(f"{x} → {y}" for x, y in verdict.substitutions[:10])))


@app.command()
def extract(
    files: Annotated[list[Path], typer.Argument(help="HTML files")],
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per file")] = False,
) -> None:
    """Print the main text that the monitor would compare, for each HTML file."""
    from monitor.extract import extract_page

    status = 0
    for path in files:
        try:
            page = extract_page(path.read_bytes(), url=None)
        except OSError as e:  # the other files are still extracted; the status says one was bad
            say(web(f"{path}: {e.strerror}"), to=err)
            status = InputError.exit_code
            continue
        if as_json:
            print_json({"path": str(path), "title": page.title, "text": page.text,
                        "published": page.published, "canonical_url": page.canonical_url,
                        "language": page.language, "reason": page.reason})
        else:
            say(web(path, style="bold"), ": ", web(page.title))
            out.print(web(page.text, multiline=True) if page.text else web(f"(no text: {page.reason})"))
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
    when = _since(since) if since else None
    store = open_store()
    try:
        rows = store.list_matches(since=when, source=source, min_score=min_score)
    finally:
        store.db.close()
    if as_json:
        for r in rows:
            print_json(r.to_dict())
    elif as_csv:
        w = csv.writer(sys.stdout)
        w.writerow(["id", "detected_at", "kind", "score", "coverage", "spin_rate", "source_url", "copy_url"])
        for r in rows:
            w.writerow([r.id, r.detected_at.isoformat(), r.kind, f"{r.score:.4f}", f"{r.coverage:.4f}",
                        f"{r.spin_rate:.4f}", inert(r.source_url), inert(r.copy_url)])
    else:
        # One line per match, URLs whole (a table cuts them to the terminal's width).
        say_lines([line(f"{r.id:>4}  {r.detected_at:%Y-%m-%d %H:%M}  {r.kind:<15} {r.score:.2f}  ", web(r.copy_url),
                             "\n      copy of ", web(r.source_url)) for r in rows])


@app.command()
def report(
    match_id: Annotated[int, typer.Argument(help="A match id, from `monitor matches`")],
    html_file: Annotated[Optional[Path], typer.Option("--html", help="Write the self-contained HTML report here")] = None,
    revision: Annotated[Optional[int], typer.Option(help="An earlier revision of the match (the copy as it was before a material change)")] = None,
) -> None:
    """The evidence for one match: side by side, passages highlighted, fetch facts and hashes."""
    from monitor.notify.report import render
    from monitor.takedown.timeline import timeline

    store = open_store()
    try:
        found = store.match_with_texts(match_id)
        steps = timeline(store.db, match_id, found[0].detected_at) if found is not None else []
        earlier = store.match_revisions(match_id) if found is not None else []
        if found is not None and revision is not None and revision != found[0].revision:
            found = store.revision_with_texts(match_id, revision)
            if found is None:
                fail(f"match {match_id} has no revision {revision} "
                     f"(revisions: {', '.join(str(r.revision) for r in earlier) or 'none before'} and the current one)")
    finally:
        store.db.close()
    if found is None:
        fail(f"no match with id {match_id} (see `monitor matches`)")
    record, source_text, copy_text = found
    others = [r for r in earlier if r.revision != record.revision]
    if html_file is not None:
        try:
            html_file.write_text(render(record, source_text, copy_text, others, [s.line() for s in steps]),
                                 encoding="utf-8")
        except OSError as e:
            raise InputError(f"--html {html_file}: cannot write the report ({e.strerror})") from None
        say(web(f"report written to {html_file}"), to=err)
        return
    data = record.to_dict() | {"earlier_revisions": [r.to_dict() for r in earlier if r.revision < record.revision],
                               "timeline": [s.to_dict() for s in steps]}
    print_json(data, indent=2)


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


def _print_rescan(found: list[Match], always: bool = False) -> None:
    """The matches a rescan found among the posts stored before (their alerts are queued)."""
    for m in found:
        if m.event is not None:
            say(("copy", "bold red"), " ", web(m.post.url), " ← ", web(m.source.url),
                f" ({m.verdict.kind}, score {m.verdict.score:.2f})")
    new = sum(1 for m in found if m.event is not None)
    if new or always:
        err.print(f"{new} new match(es) among the posts already stored", highlight=False)


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
class _NotJSON:
    """A line of a JSON-lines file that is not JSON: `_source_from_item` refuses it like any bad line."""

    def __init__(self, problem: str) -> None:
        self.problem = problem


def _jsonl(path: Path) -> Iterator[tuple[int, Any]]:
    """(line number, parsed value) for each non-blank line; a line that is not JSON is a `_NotJSON`."""
    try:
        fh = path.open(encoding="utf-8")
    except OSError as e:
        raise InputError(f"{path}: {e.strerror}") from None
    with fh:
        try:
            for lineno, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                try:
                    yield lineno, json.loads(line)
                except json.JSONDecodeError as e:
                    yield lineno, _NotJSON(f"not JSON ({e.msg})")
        except UnicodeDecodeError as e:
            raise InputError(f"{path}: not UTF-8 text ({e.reason} at byte {e.start})") from None


def _source_from_item(item: Any, read: Any = None) -> Source:
    """A JSON line's article, read as every source is (Monitor.read_source, or the same
    reading without a monitor for `scan`)."""
    from monitor.sources import read_source

    if isinstance(item, _NotJSON):
        raise ValueError(item.problem)
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
    from monitor.extract import extract_page

    if re.match(r"https?://", target):
        import asyncio

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
        raise InputError(f"{target}: {e.strerror}") from None
    try:
        return read_source(raw, name=target, is_html=True if path.suffix.lower() in HTML_SUFFIXES else None).text
    except ValueError as e:
        fail(str(e))
    return ""  # unreachable: fail() exits


def _next_check(when: datetime | None) -> datetime | None:
    """A feed's next check, or None when it has none: not scheduled, or pushed out of reach
    (a feed taken out of the config is kept for its history but no longer polled)."""
    if when is None:
        return None
    aware = when if when.tzinfo else when.replace(tzinfo=timezone.utc)
    return None if aware - datetime.now(timezone.utc) > timedelta(days=3650) else when


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

# From match to takedown (recheck, …): monitor/takedown/cli.py.
from monitor.takedown.cli import register as _register_takedown  # noqa: E402

_register_takedown(app)
