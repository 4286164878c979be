"""The desk's commands: triage, users, API tokens, the allow-list, and `monitor serve`.

Registered on the main `monitor` app by monitor/cli.py (`register`)."""

from __future__ import annotations

import getpass
import sys
from typing import TYPE_CHECKING, Annotated, Optional

import typer

if TYPE_CHECKING:  # imported in the commands: `monitor --help` stays light
    from monitor.store import Database


users_app = typer.Typer(help="Desk accounts (editors and viewers).", no_args_is_help=True)
tokens_app = typer.Typer(help="API tokens for /api/v1.", no_args_is_help=True)
allow_app = typer.Typer(help="Sites allowed to republish (their matches are licensed, not alerted).",
                        no_args_is_help=True)


def _cli():  # noqa: ANN202 - the main CLI module (imported late: it imports this one)
    from monitor import cli

    return cli


def open_db() -> Database:
    from monitor.store import Database, DatabaseError, check_migrated

    cli = _cli()
    settings = cli.state.settings
    db = Database(settings.db_url)
    try:
        if db.engine.dialect.name == "sqlite":
            db.migrate()
        check_migrated(db.engine)
    except DatabaseError as e:
        cli.fail(str(e))
    except Exception as e:  # noqa: BLE001 - unreachable server, bad credentials …
        cli.fail(f"cannot use the database {settings.db_url}: {e}")
    return db


def _actor(given: str | None) -> str:
    return given or f"cli:{getpass.getuser()}"


# --- matches triage ----------------------------------------------------------------------
def triage(
    match_id: Annotated[int, typer.Argument(help="A match id, from `monitor matches`")],
    to_state: Annotated[str, typer.Argument(metavar="STATE", help="confirmed, licensed, false_positive, ignored, notice_sent or new")],
    note: Annotated[Optional[str], typer.Option(help="Why (kept in the match's history)")] = None,
    actor: Annotated[Optional[str], typer.Option("--as", help="Who decides (default: cli:<login name>)")] = None,
) -> None:
    """Set a match's triage state; the change is kept in its history."""
    from monitor.triage import MatchNotFound, StateConflict, TriageError, triage_match

    cli = _cli()
    db = open_db()
    try:
        done = triage_match(db, match_id, to_state, _actor(actor), note=note)
    except MatchNotFound as e:
        cli.fail(f"{e} (see `monitor matches`)")
    except (TriageError, StateConflict) as e:
        cli.fail(str(e))
    finally:
        db.close()
    cli.out.print(f"match {match_id}: {done.state}", highlight=False)


def history(match_id: Annotated[int, typer.Argument(help="A match id")]) -> None:
    """A match's triage history and notes."""
    from monitor.store import triage as store

    cli = _cli()
    db = open_db()
    try:
        current = store.match_state(db, match_id)
        events, notes = store.events(db, match_id), store.notes(db, match_id)
    except store.MatchNotFound as e:
        cli.fail(str(e))
    finally:
        db.close()
    cli.out.print(f"match {match_id}: {current.state}" + (f" ({current.reason})" if current.reason else ""),
                  highlight=False)
    for ev in events:
        cli.out.print(f"{ev.at:%Y-%m-%d %H:%M} {ev.actor}: {ev.from_state} → {ev.to_state}"
                      + (f" — {ev.note}" if ev.note else ""), highlight=False)
    for n in notes:
        cli.out.print(f"{n.at:%Y-%m-%d %H:%M} note by {n.author}: {n.text}", highlight=False)


# --- users and tokens --------------------------------------------------------------------
def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    return typer.prompt("password", hide_input=True, confirmation_prompt=True)


@users_app.command("add")
def users_add(
    name: Annotated[str, typer.Argument(help="The login name")],
    role: Annotated[str, typer.Option(help="editor (may triage and change) or viewer (reads only)")] = "editor",
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="Read the password from stdin")] = False,
) -> None:
    """Add a desk account (the password is asked for, and kept as an argon2 hash)."""
    from monitor.store.users import add_user

    cli = _cli()
    db = open_db()
    try:
        user = add_user(db, name, _password(password_stdin), role)
    finally:
        db.close()
    cli.out.print(f"user {user.name} ({user.role}) added", highlight=False)


@users_app.command("password")
def users_password(
    name: Annotated[str, typer.Argument()],
    password_stdin: Annotated[bool, typer.Option("--password-stdin")] = False,
) -> None:
    """Set a new password."""
    from monitor.store.users import set_password

    cli = _cli()
    db = open_db()
    try:
        set_password(db, name, _password(password_stdin))
    finally:
        db.close()
    cli.out.print(f"password of {name} changed", highlight=False)


@users_app.command("list")
def users_list() -> None:
    """The desk accounts."""
    from monitor.store.users import list_users

    db = open_db()
    try:
        users = list_users(db)
    finally:
        db.close()
    from rich.table import Table

    table = Table("name", "role")
    for u in users:
        table.add_row(u.name, u.role)
    _cli().out.print(table)


@users_app.command("remove")
def users_remove(name: Annotated[str, typer.Argument()]) -> None:
    """Remove an account and its API tokens."""
    from monitor.store.users import remove_user

    cli = _cli()
    db = open_db()
    try:
        remove_user(db, name)
    finally:
        db.close()
    cli.out.print(f"user {name} removed", highlight=False)


@tokens_app.command("create")
def tokens_create(
    user: Annotated[str, typer.Option(help="The account the token acts as (its role applies)")],
    label: Annotated[str, typer.Option(help="What the token is for")] = "",
) -> None:
    """Make an API token (shown once; only its hash is kept). Send it as `Authorization: Bearer …`."""
    from monitor.store.users import create_token

    db = open_db()
    try:
        token = create_token(db, user, label)
    finally:
        db.close()
    print(token)


@tokens_app.command("revoke")
def tokens_revoke(user: Annotated[str, typer.Option(help="Revoke every token of this account")]) -> None:
    """Revoke an account's API tokens."""
    from monitor.store.users import revoke_tokens

    cli = _cli()
    db = open_db()
    try:
        n = revoke_tokens(db, user)
    finally:
        db.close()
    cli.err.print(f"{n} token(s) revoked", highlight=False)


# --- allow-list --------------------------------------------------------------------------
def _source_id(db: Database, url: str | None) -> int | None:
    if url is None:
        return None
    from sqlalchemy import select

    from monitor.store.models import SourceRow

    with db.engine.connect() as c:
        sid = c.scalar(select(SourceRow.id).where(SourceRow.url == url))
    if sid is None:
        _cli().fail(f"no source with URL {url} (see `monitor sources list`)")
    return sid


@allow_app.command("add")
def allow_add(
    site: Annotated[str, typer.Argument(help="A host or URL: its registrable domain is allowed")],
    source: Annotated[Optional[str], typer.Option(help="Only for this source (its URL)")] = None,
    note: Annotated[Optional[str], typer.Option()] = None,
    actor: Annotated[Optional[str], typer.Option("--as")] = None,
) -> None:
    """Allow a site to republish; its new matches become licensed."""
    from monitor.licence import allow_site
    from monitor.sites import site_of, site_of_host

    cli = _cli()
    db = open_db()
    try:
        name = site_of(site) if "://" in site else site_of_host(site)
        n = allow_site(db, name, _actor(actor), _source_id(db, source), note)
    except ValueError as e:
        cli.fail(str(e))
    finally:
        db.close()
    cli.out.print(f"{name} allowed; {n} match(es) marked licensed", highlight=False)


@allow_app.command("remove")
def allow_remove(site: Annotated[str, typer.Argument()]) -> None:
    """Take a site off the desk's allow-list (the config's `allow` is edited in the file)."""
    from monitor.licence import disallow_site

    cli = _cli()
    db = open_db()
    try:
        n = disallow_site(db, site.strip().lower())
    finally:
        db.close()
    if not n:
        cli.fail(f"{site} is not on the desk's allow-list")
    cli.out.print(f"{site} removed from the allow-list", highlight=False)


@allow_app.command("list")
def allow_list() -> None:
    """The allow-list: the config's and the desk's."""
    from monitor.store import allowlist

    cli = _cli()
    db = open_db()
    try:
        rows = allowlist.all_entries(db)
    finally:
        db.close()
    from rich.table import Table

    table = Table("site", "source", "by")
    for e in cli.state.settings.allow.sites:
        table.add_row(e.site, e.source or "all", "config")
    for r in rows:
        table.add_row(r.site, r.source_url or "all", r.added_by)
    cli.out.print(table)


# --- serve -------------------------------------------------------------------------------
def serve(
    host: Annotated[Optional[str], typer.Option(help="Address to bind (default web.host, 127.0.0.1)")] = None,
    port: Annotated[Optional[int], typer.Option(help="Port (default web.port, 8080)")] = None,
    no_poll: Annotated[bool, typer.Option("--no-poll", help="Serve only: leave polling to `monitor run` nodes")] = False,
) -> None:
    """Serve the desk (web app and JSON API) and poll the feeds as `monitor run` does."""
    from monitor.web.serve import serve_forever

    cli = _cli()
    monitor = cli.open_monitor()
    settings = cli.state.settings
    try:
        serve_forever(monitor, host or settings.web.host, port or settings.web.port, poll=not no_poll,
                      console=cli.err)
    finally:
        monitor.close()


def register(app: typer.Typer, matches_app: typer.Typer) -> None:
    matches_app.command("triage")(triage)
    matches_app.command("history")(history)
    app.add_typer(users_app, name="users")
    app.add_typer(tokens_app, name="tokens")
    app.add_typer(allow_app, name="allow")
    app.command("serve")(serve)
