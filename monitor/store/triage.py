"""Triage queries: a match's state (changed only if the version the editor saw is current),
the append-only events and notes. Which changes are allowed is decided in monitor/triage.py."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update

from monitor.store.database import Database
from monitor.store.rows import changed
from monitor.store.models import MatchNoteRow, MatchRow, TriageEventRow, utcnow


class MatchNotFound(LookupError):
    def __init__(self, match_id: int) -> None:
        super().__init__(f"no match with id {match_id}")
        self.match_id = match_id


class StateConflict(Exception):
    """The match changed since the editor looked at it: nothing was overwritten."""

    def __init__(self, match_id: int, expected: int, current: int, state: str, by: str | None) -> None:
        who = f" by {by}" if by else ""
        super().__init__(f"match {match_id} was changed{who} to {state!r} meanwhile "
                         f"(version {current}, you saw {expected}); reload it and decide again")
        self.match_id, self.expected, self.current, self.state, self.by = match_id, expected, current, state, by


@dataclass(frozen=True, slots=True)
class MatchState:
    id: int
    state: str
    version: int
    reason: str | None
    site: str


@dataclass(frozen=True, slots=True)
class TriageEvent:
    id: int
    match_id: int
    actor: str
    at: datetime
    from_state: str
    to_state: str
    note: str | None

    def to_dict(self) -> dict[str, object]:
        return {"actor": self.actor, "at": self.at.isoformat(), "from": self.from_state,
                "to": self.to_state, "note": self.note}


@dataclass(frozen=True, slots=True)
class Note:
    id: int
    author: str
    at: datetime
    text: str

    def to_dict(self) -> dict[str, object]:
        return {"author": self.author, "at": self.at.isoformat(), "text": self.text}


def match_state(db: Database, match_id: int) -> MatchState:
    with db.engine.connect() as c:
        row = c.execute(select(MatchRow.id, MatchRow.state, MatchRow.state_version, MatchRow.state_reason,
                               MatchRow.site).where(MatchRow.id == match_id)).first()
    if row is None:
        raise MatchNotFound(match_id)
    return MatchState(*row)


def last_actor(db: Database, match_id: int) -> str | None:
    with db.engine.connect() as c:
        return c.scalar(select(TriageEventRow.actor).where(TriageEventRow.match_id == match_id)
                        .order_by(TriageEventRow.id.desc()).limit(1))


def set_state(db: Database, match_id: int, from_state: str, to_state: str, expected_version: int,
              actor: str, note: str | None = None, reason: str | None = None) -> MatchState:
    """Move the match from `from_state` (at `expected_version`) to `to_state` and record the
    event, in one transaction. StateConflict when someone else changed it first."""
    with db.session() as s:
        done = s.execute(
            update(MatchRow)
            .where(MatchRow.id == match_id, MatchRow.state_version == expected_version,
                   MatchRow.state == from_state)
            .values(state=to_state, state_version=MatchRow.state_version + 1, state_reason=reason)
            .execution_options(synchronize_session=False))
        if changed(done) != 1:
            current = s.execute(select(MatchRow.state, MatchRow.state_version)
                                .where(MatchRow.id == match_id)).first()
            if current is None:
                raise MatchNotFound(match_id)
            by = s.scalar(select(TriageEventRow.actor).where(TriageEventRow.match_id == match_id)
                          .order_by(TriageEventRow.id.desc()).limit(1))
            raise StateConflict(match_id, expected_version, current[1], current[0], by)
        s.add(TriageEventRow(match_id=match_id, actor=actor, at=utcnow(), from_state=from_state,
                             to_state=to_state, note=note or None))
        site = s.scalar(select(MatchRow.site).where(MatchRow.id == match_id)) or ""
        return MatchState(match_id, to_state, expected_version + 1, reason, site)


def set_site(db: Database, match_id: int, site: str) -> None:
    from monitor.store.desk import sites_changed

    with db.session() as s:
        done = s.execute(update(MatchRow).where(MatchRow.id == match_id, MatchRow.site != site).values(site=site)
                         .execution_options(synchronize_session=False))
        if changed(done):
            sites_changed(s)


def events(db: Database, match_id: int) -> list[TriageEvent]:
    with db.engine.connect() as c:
        rows = c.execute(select(TriageEventRow.id, TriageEventRow.match_id, TriageEventRow.actor, TriageEventRow.at,
                                TriageEventRow.from_state, TriageEventRow.to_state, TriageEventRow.note)
                         .where(TriageEventRow.match_id == match_id).order_by(TriageEventRow.id))
        return [TriageEvent(*r) for r in rows]


def add_note(db: Database, match_id: int, author: str, text: str) -> Note:
    with db.session() as s:
        if s.get(MatchRow, match_id) is None:
            raise MatchNotFound(match_id)
        row = MatchNoteRow(match_id=match_id, author=author, at=utcnow(), text=text)
        s.add(row)
        s.flush()
        return Note(row.id, row.author, row.at, row.text)


def notes(db: Database, match_id: int) -> list[Note]:
    with db.engine.connect() as c:
        rows = c.execute(select(MatchNoteRow.id, MatchNoteRow.author, MatchNoteRow.at, MatchNoteRow.text)
                         .where(MatchNoteRow.match_id == match_id).order_by(MatchNoteRow.id))
        return [Note(*r) for r in rows]
