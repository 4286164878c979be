"""The takedown commands: `monitor recheck`, `monitor evidence`.

Registered on the main `monitor` app by monitor/cli.py (`register`)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated, Optional

import typer


def _cli():  # noqa: ANN202 - the main CLI module (imported late: it imports this one)
    from monitor import cli

    return cli


def recheck(
    match_id: Annotated[Optional[int], typer.Argument(help="One match (default: every copy due)")] = None,
) -> None:
    """Read again the copies of confirmed and noticed matches: gone (404/410, empty, no longer
    matching) → removed; a removed copy that is back → reinstated, with an alert."""
    from monitor.store.triage import MatchNotFound, match_state
    from monitor.takedown.recheck import WATCHED, recheck as run

    cli = _cli()
    monitor = cli.open_monitor()
    try:
        if match_id is not None:
            try:
                state = match_state(monitor.db, match_id).state
            except MatchNotFound:
                cli.fail(f"no match with id {match_id} (see `monitor matches`)")
            if state not in WATCHED:
                cli.fail(f"match {match_id} is {state}: only {', '.join(WATCHED)} copies are re-read "
                         "(confirm it first: `monitor matches triage ID confirmed`)")
        results = asyncio.run(run(monitor, match_id))
    finally:
        monitor.close()
    for r in results:
        moved = f" → {r.state}" if r.changed else f" ({r.state})"
        cli.say(f"match {r.match_id}: {r.check.outcome}{moved} ", cli.web(r.copy_url), f" {r.check.detail}")
    if not results:
        cli.say("no copies due for a re-check", to=cli.err)


def evidence(
    match_id: Annotated[int, typer.Argument(help="A match id, from `monitor matches`")],
    out: Annotated[Path, typer.Option("--out", help="The zip file to write")],
) -> None:
    """The evidence package: report, raw page, response headers, a WARC record and a manifest
    of sha256s, checkable without the monitor (see the README's verification script)."""
    from monitor.takedown.evidence import EvidenceError, package

    cli = _cli()
    store = cli.open_store()
    try:
        data = package(store.db, match_id)
    except EvidenceError as e:
        cli.fail(str(e))
    finally:
        store.db.close()
    try:
        out.write_bytes(data)
    except OSError as e:
        cli.fail(f"--out {out}: cannot write the package ({e.strerror})")
    cli.say(cli.web(f"evidence package written to {out}"), to=cli.err)


def register(app: typer.Typer) -> None:
    app.command("recheck")(recheck)
    app.command("evidence")(evidence)
