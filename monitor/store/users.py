"""Desk accounts and API tokens. Passwords: argon2id (argon2-cffi); tokens: only their sha256
is stored (a token is 256 random bits, so a fast hash is enough), shown once when made."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from monitor.errors import InputError
from monitor.store.database import Database
from monitor.store.rows import changed
from monitor.store.models import ApiTokenRow, LoginFailureRow, UserRow, utcnow

ROLES = ("editor", "viewer")
TOKEN_PREFIX = "rm_"
# OWASP's argon2id minimum (19 MiB, 2 passes, 1 lane): argon2-cffi's default (64 MiB, 3 passes,
# 4 lanes) takes over a second per login on a small two-core server. Hashes made with other
# parameters still verify and are redone with these at the next login.
_hasher = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)
# Verified against when the name is unknown, so a wrong name costs as long as a wrong password.
_DUMMY = _hasher.hash("not a password")


class UserError(InputError, ValueError):
    """A desk account or token cannot be made or changed as asked (the command line prints it
    as one line, like every MonitorError; the desk shows it on the form)."""


@dataclass(frozen=True, slots=True)
class User:
    id: int
    name: str
    role: str

    @property
    def can_edit(self) -> bool:
        return self.role == "editor"


def add_user(db: Database, name: str, password: str, role: str) -> User:
    name = name.strip()
    if not name:
        raise UserError("a user needs a name")
    if role not in ROLES:
        raise UserError(f"role {role!r}: use {' or '.join(ROLES)}")
    if len(password) < 8:
        raise UserError("the password needs at least 8 characters")
    try:
        with db.session() as s:
            row = UserRow(name=name, password_hash=_hasher.hash(password), role=role, created_at=utcnow())
            s.add(row)
            s.flush()
            return User(row.id, row.name, row.role)
    except IntegrityError:
        raise UserError(f"a user named {name!r} exists already") from None


def set_password(db: Database, name: str, password: str) -> None:
    if len(password) < 8:
        raise UserError("the password needs at least 8 characters")
    with db.session() as s:
        done = s.execute(update(UserRow).where(UserRow.name == name).values(password_hash=_hasher.hash(password)))
        if changed(done) != 1:
            raise UserError(f"no user named {name!r}")


def authenticate(db: Database, name: str, password: str) -> User | None:
    with db.engine.connect() as c:
        row = c.execute(select(UserRow.id, UserRow.name, UserRow.role, UserRow.password_hash)
                        .where(UserRow.name == name)).first()
    try:
        _hasher.verify(row.password_hash if row is not None else _DUMMY, password)
    except (VerificationError, InvalidHashError):
        return None
    if row is None:
        return None
    if _hasher.check_needs_rehash(row.password_hash):
        with db.session() as s:
            s.execute(update(UserRow).where(UserRow.id == row.id).values(password_hash=_hasher.hash(password)))
    return User(row.id, row.name, row.role)


def user_by_id(db: Database, user_id: int) -> User | None:
    with db.engine.connect() as c:
        row = c.execute(select(UserRow.id, UserRow.name, UserRow.role).where(UserRow.id == user_id)).first()
    return User(*row) if row is not None else None


def list_users(db: Database) -> list[User]:
    with db.engine.connect() as c:
        return [User(*r) for r in c.execute(select(UserRow.id, UserRow.name, UserRow.role).order_by(UserRow.name))]


def remove_user(db: Database, name: str) -> None:
    with db.session() as s:
        if changed(s.execute(delete(UserRow).where(UserRow.name == name))) != 1:
            raise UserError(f"no user named {name!r}")


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(db: Database, user_name: str, label: str = "") -> str:
    """A new API token for the user; the returned value is the only copy of it."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with db.session() as s:
        user_id = s.scalar(select(UserRow.id).where(UserRow.name == user_name))
        if user_id is None:
            raise UserError(f"no user named {user_name!r} (add one with `monitor users add`)")
        s.add(ApiTokenRow(user_id=user_id, token_sha256=_digest(token), label=label, created_at=utcnow()))
    return token


def user_for_token(db: Database, token: str) -> User | None:
    with db.session() as s:
        found = s.execute(select(ApiTokenRow, UserRow).join(UserRow, ApiTokenRow.user_id == UserRow.id)
                          .where(ApiTokenRow.token_sha256 == _digest(token))).first()
        if found is None:
            return None
        tok, user = found
        tok.last_used_at = utcnow()
        return User(user.id, user.name, user.role)


def revoke_tokens(db: Database, user_name: str) -> int:
    with db.session() as s:
        user_id = s.scalar(select(UserRow.id).where(UserRow.name == user_name))
        if user_id is None:
            raise UserError(f"no user named {user_name!r}")
        return changed(s.execute(delete(ApiTokenRow).where(ApiTokenRow.user_id == user_id)))


# --- failed logins, counted across the desk's processes ----------------------------------

def recent_login_failures(db: Database, keys: Sequence[str], since: datetime) -> dict[str, list[datetime]]:
    """key → the times of its failed logins after `since`, oldest first."""
    out: dict[str, list[datetime]] = {k: [] for k in keys}
    with db.session() as s:
        for key, at in s.execute(select(LoginFailureRow.key, LoginFailureRow.at)
                                 .where(LoginFailureRow.key.in_(list(keys)), LoginFailureRow.at > since)
                                 .order_by(LoginFailureRow.at)):
            out[key].append(at)
    return out


def record_login_failure(db: Database, keys: Sequence[str], at: datetime, forget_before: datetime) -> None:
    """A failed login under each key; failures from before `forget_before` (out of every
    window) go, so the table stays as small as the guessing of the last few minutes."""
    with db.session() as s:
        s.execute(delete(LoginFailureRow).where(LoginFailureRow.at <= forget_before))
        s.add_all(LoginFailureRow(key=k, at=at) for k in keys)


def clear_login_failures(db: Database, keys: Sequence[str]) -> None:
    with db.session() as s:
        s.execute(delete(LoginFailureRow).where(LoginFailureRow.key.in_(list(keys))))
