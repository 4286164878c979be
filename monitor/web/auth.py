"""Who is asking: a session cookie (pages) or a bearer token (API); CSRF tokens for forms; a
limit on failed logins. Every route but /healthz and /login needs a user; changes need an editor."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import datetime, timedelta

from fastapi import HTTPException, Request
from starlette.datastructures import FormData

from monitor.store.database import Database
from monitor.store.models import utcnow
from monitor.store.users import (User, clear_login_failures, record_login_failure, recent_login_failures,
                                 user_by_id, user_for_token)

CSRF_FIELD = "csrf"
CSRF_HEADER = "x-csrf-token"


class LoginRequired(Exception):
    """No user: pages redirect to the login form, the API answers 401."""


class LoginLimiter:
    """At most `attempts` failed logins per client address and per name within `window` seconds,
    counted in the database: every desk process sharing it (replicas behind a balancer) counts
    the same failures, so more processes do not mean more tries. Blocking calls: run them off
    the event loop."""

    def __init__(self, db: Database, attempts: int = 5, window: float = 300.0,
                 clock: Callable[[], datetime] = utcnow) -> None:
        self.db, self.attempts, self.window, self.clock = db, attempts, timedelta(seconds=window), clock

    def retry_after(self, *keys: str) -> int:
        """Seconds to wait before another try, 0 if allowed: until enough of a key's failures
        have left the window that fewer than `attempts` remain."""
        now = self.clock()
        waits = [(times[len(times) - self.attempts] + self.window - now).total_seconds()
                 for times in recent_login_failures(self.db, keys, now - self.window).values()
                 if len(times) >= self.attempts]
        return int(max(waits)) + 1 if waits else 0

    def failed(self, *keys: str) -> None:
        now = self.clock()
        record_login_failure(self.db, keys, now, now - self.window)

    def succeeded(self, *keys: str) -> None:
        clear_login_failures(self.db, keys)


def csrf_token(request: Request) -> str:
    token = request.session.get(CSRF_FIELD)
    if not token:
        token = request.session[CSRF_FIELD] = secrets.token_urlsafe(32)
    return token


def check_csrf(request: Request, given: str | None) -> None:
    expected = request.session.get(CSRF_FIELD)
    if not expected or not given or not secrets.compare_digest(str(expected), str(given)):
        raise HTTPException(403, "the form is out of date or not from this site (CSRF check): reload the page and try again")


def user_of(request: Request) -> User | None:
    """The user of this request: a bearer token, or the session's login."""
    db = request.app.state.monitor.db
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        request.state.by_token = True
        return user_for_token(db, auth[7:].strip())
    uid = request.session.get("uid")
    return user_by_id(db, int(uid)) if uid is not None else None


def login_required(request: Request) -> User:
    user = user_of(request)
    if user is None:
        raise LoginRequired()
    return user


def editor_required(request: Request) -> User:
    user = login_required(request)
    if not user.can_edit:
        raise HTTPException(403, f"{user.name} is a viewer: only an editor can change this")
    return user


async def editor_form(request: Request) -> FormData:
    """The posted form of an editor, its CSRF token checked."""
    editor_required(request)
    form = await request.form()
    check_csrf(request, form.get(CSRF_FIELD))  # type: ignore[arg-type]
    return form


def api_editor(request: Request) -> User:
    """An editor's API call that changes something: by token, or by session with the CSRF header."""
    user = editor_required(request)
    if not getattr(request.state, "by_token", False):
        check_csrf(request, request.headers.get(CSRF_HEADER))
    return user
