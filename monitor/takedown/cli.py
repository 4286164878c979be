"""The takedown commands: `monitor recheck` (and later notices and evidence packages).

Registered on the main `monitor` app by monitor/cli.py (`register`)."""

from __future__ import annotations

import asyncio
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


def register(app: typer.Typer) -> None:
    app.command("recheck")(recheck)
