"""The takedown commands: `monitor recheck`, `monitor evidence`.

Registered on the main `monitor` app by monitor/cli.py (`register`)."""

from __future__ import annotations

import sys
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
    import asyncio

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
    revision: Annotated[Optional[int], typer.Option(help="An earlier revision of the match (the copy as it was "
                                                    "before a material change)")] = None,
) -> None:
    """The evidence package: report, raw page, response headers, a WARC record and a manifest
    of sha256s, checkable without the monitor (see the README's verification script)."""
    from monitor.takedown.evidence import EvidenceError, package

    cli = _cli()
    store = cli.open_store()
    try:
        data = package(store.db, match_id, revision)
    except EvidenceError as e:
        cli.fail(str(e))
    finally:
        store.db.close()
    try:
        out.write_bytes(data)
    except OSError as e:
        cli.fail(f"--out {out}: cannot write the package ({e.strerror})")
    cli.say(cli.web(f"evidence package written to {out}"), to=cli.err)


async def where_to_send(settings, db, match_id: int, copy_url: str):  # noqa: ANN001, ANN201
    """(Lookup, Platform | None): the copy's abuse contacts (RDAP), and its platform's own form
    when it is on a known one (by host, or by the generator of the page as fetched)."""
    from monitor.fetch import Fetcher, FetchSettings
    from monitor.store.desk import raw_page
    from monitor.takedown.platforms import platform_of
    from monitor.takedown.rdap import RDAP

    n, f = settings.notice, settings.fetch
    fs = FetchSettings(user_agent=settings.user_agent, timeout=n.rdap_timeout, total_timeout=n.rdap_timeout,
                       max_bytes=2 * 1024 * 1024, max_redirects=f.max_redirects, respect_robots=False,
                       allow_private_networks=f.allow_private_networks)
    async with Fetcher(fs) as fetcher:
        lookup = await RDAP(db, fetcher, n.rdap_ip_url, n.rdap_domain_url, n.rdap_timeout).abuse_contacts(copy_url)
    page = raw_page(db, match_id)
    return lookup, platform_of(copy_url, page[0] if page else None)


def notice(
    match_id: Annotated[int, typer.Argument(help="A match id, from `monitor matches`")],
    fmt: Annotated[str, typer.Option("--format", help="text, html or eml")] = "text",
    to: Annotated[Optional[list[str]], typer.Option("--to", help="Send to this address (repeat for more); default: "
                                                    "the host's abuse contacts found by RDAP, shown only")] = None,
    variant: Annotated[str, typer.Option(help="dmca (17 U.S.C. § 512(c)(3)) or plain (hosts outside the US)")] = "dmca",
    send_it: Annotated[bool, typer.Option("--send", help="Send it (SMTP of notify.email); the match becomes notice_sent")] = False,
    actor: Annotated[Optional[str], typer.Option("--as", help="Who sends it (default: cli:<login name>)")] = None,
) -> None:
    """A takedown notice for a match, addressed to the copy's host; `--send` sends it."""
    import asyncio
    import getpass

    from monitor.errors import ConfigError
    from monitor.store.triage import match_state
    from monitor.takedown.notices import NoticeError, compose, send
    from monitor.triage import StateConflict, TriageError

    cli = _cli()
    if fmt not in ("text", "html", "eml"):
        cli.fail(f"--format {fmt!r}: give text, html or eml")
    settings = cli.state.settings
    store = cli.open_store()
    db = store.db
    try:
        found = store.match_with_texts(match_id)
        if found is None:
            cli.fail(f"no match with id {match_id} (see `monitor matches`)")
        lookup, platform = asyncio.run(where_to_send(settings, db, match_id, found[0].copy_url))
        for c in lookup.contacts:
            cli.say(f"abuse contact ({c.via}{', ' + c.organisation if c.organisation else ''}): {c.email}", to=cli.err)
        for problem in lookup.problems:
            cli.say(problem, to=cli.err)
        if platform is not None:
            cli.say(f"the copy is on {platform.name}: it takes complaints through its own form: ", cli.web(platform.form),
                    to=cli.err)
        recipients = list(to or []) or lookup.emails
        try:
            composed = compose(settings, db, match_id, variant, recipients)
        except (NoticeError, ConfigError) as e:
            cli.fail(str(e))
        if send_it:
            if not to:
                cli.fail("--send needs --to ADDRESS: check the contacts above and name the one to send to")
            try:
                asyncio.run(send(settings, db, composed, actor or f"cli:{getpass.getuser()}"))
            except (NoticeError, ConfigError, TriageError, StateConflict) as e:
                cli.fail(str(e))
            cli.say(f"notice sent to {', '.join(composed.recipients)}; match {match_id} is "
                    f"{match_state(db, match_id).state}", to=cli.err)
            return
    finally:
        db.close()
    if fmt == "eml":
        sys.stdout.buffer.write(composed.email().as_bytes())
    else:
        sys.stdout.write(composed.html if fmt == "html" else composed.text)


def register(app: typer.Typer) -> None:
    app.command("notice")(notice)
    app.command("recheck")(recheck)
    app.command("evidence")(evidence)
