"""Who is asking: a session cookie (pages) or a bearer token (API); CSRF tokens for forms; a
limit on failed logins. Every route but /healthz and /login needs a user; changes need an editor."""

from __future__ import annotations

import secrets
import threading
import time
from collections import defaultdict, deque

from fastapi import HTTPException, Request
from starlette.datastructures import FormData

from monitor.store.users import User, user_by_id, user_for_token

CSRF_FIELD = "csrf"
CSRF_HEADER = "x-csrf-token"


class LoginRequired(Exception):
    """No user: pages redirect to the login form, the API answers 401."""


class LoginLimiter:
    """At most `attempts` failed logins per client address and per name within `window` seconds.

    Kept in the process: a replica behind a balancer counts its own share (each still slows a
    guesser to a few tries a minute)."""

    def __init__(self, attempts: int = 5, window: float = 300.0) -> None:
        self.attempts, self.window = attempts, window
        self._failures: dict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> deque[float]:
        q = self._failures[key]
        while q and q[0] <= now - self.window:
            q.popleft()
        return q

    def retry_after(self, *keys: str) -> int:
        """Seconds to wait before another try, 0 if allowed."""
        now = time.monotonic()
        with self._lock:
            waits = [self._recent(k, now)[0] + self.window - now for k in keys
                     if len(self._recent(k, now)) >= self.attempts]
        return int(max(waits)) + 1 if waits else 0

    def failed(self, *keys: str) -> None:
        now = time.monotonic()
        with self._lock:
            for k in keys:
                self._recent(k, now).append(now)

    def succeeded(self, *keys: str) -> None:
        with self._lock:
            for k in keys:
                self._failures.pop(k, None)


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
