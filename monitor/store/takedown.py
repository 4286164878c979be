"""Takedown queries: the copies due for a re-reading, what each re-reading found, and the
`match.reinstated` alert queued once per return of a copy."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from monitor.store.database import Database
from monitor.store.models import CopyCheckRow, DeliveryRow, MatchRow, PostRow, SourceRow, TriageEventRow, utcnow
from monitor.store.matches import outbox_key


@dataclass(frozen=True, slots=True)
class WatchedCopy:
    match_id: int
    state: str
    version: int
    copy_url: str
    source_id: int
    source_url: str
    score: float


@dataclass(frozen=True, slots=True)
class CopyCheck:
    id: int
    match_id: int
    checked_at: datetime
    outcome: str  # present | removed | error
    http_status: int | None
    raw_sha256: str | None
    detail: str

    def to_dict(self) -> dict[str, object]:
        return {"checked_at": self.checked_at.isoformat(), "outcome": self.outcome,
                "http_status": self.http_status, "raw_sha256": self.raw_sha256, "detail": self.detail}


def watched_copies(db: Database, states: Iterable[str], checked_before: datetime | None,
                   match_id: int | None = None) -> list[WatchedCopy]:
    """Matches in `states` not re-read since `checked_before` (None: all of them), or the one
    match `match_id` whatever its last re-reading."""
    last = (select(CopyCheckRow.match_id, func.max(CopyCheckRow.checked_at).label("at"))
            .group_by(CopyCheckRow.match_id).subquery())
    q = (select(MatchRow.id, MatchRow.state, MatchRow.state_version, PostRow.url, SourceRow.id, SourceRow.url,
                MatchRow.score)
         .join(PostRow, MatchRow.post_id == PostRow.id)
         .join(SourceRow, MatchRow.source_id == SourceRow.id)
         .outerjoin(last, last.c.match_id == MatchRow.id)
         .where(MatchRow.state.in_(list(states)))
         .order_by(MatchRow.id))
    if match_id is not None:
        q = q.where(MatchRow.id == match_id)
    elif checked_before is not None:
        q = q.where((last.c.at.is_(None)) | (last.c.at < checked_before))
    with db.engine.connect() as c:
        return [WatchedCopy(*row) for row in c.execute(q)]


def record_check(db: Database, match_id: int, outcome: str, http_status: int | None, raw_sha256: str | None,
                 detail: str, at: datetime | None = None) -> CopyCheck:
    with db.session() as s:
        row = CopyCheckRow(match_id=match_id, checked_at=at or utcnow(), outcome=outcome, http_status=http_status,
                           raw_sha256=raw_sha256, detail=detail)
        s.add(row)
        s.flush()
        return CopyCheck(row.id, match_id, row.checked_at, outcome, http_status, raw_sha256, detail)


def copy_checks(db: Database, match_id: int) -> list[CopyCheck]:
    with db.engine.connect() as c:
        rows = c.execute(select(CopyCheckRow.id, CopyCheckRow.match_id, CopyCheckRow.checked_at, CopyCheckRow.outcome,
                                CopyCheckRow.http_status, CopyCheckRow.raw_sha256, CopyCheckRow.detail)
                         .where(CopyCheckRow.match_id == match_id).order_by(CopyCheckRow.id))
        return [CopyCheck(*r) for r in rows]


def last_event_id(db: Database, match_id: int, to_state: str) -> int | None:
    with db.engine.connect() as c:
        return c.scalar(select(func.max(TriageEventRow.id)).where(TriageEventRow.match_id == match_id,
                                                                  TriageEventRow.to_state == to_state))


def queue_reinstated(db: Database, match_id: int, event_id: int, destinations: Iterable[tuple[str, datetime]]) -> int:
    """Queue the `match.reinstated` alert of one return of a copy (its triage event), once.

    The outbox keeps one row per (match, revision, destination); a return's rows carry the
    negative of its triage event's id as their revision, so each return alerts once, apart
    from the match's own revisions, and queuing it again (after a crash) adds nothing."""
    queued = 0
    for dest, due in destinations:
        try:
            with db.session() as s:
                s.add(DeliveryRow(match_id=match_id, revision=-event_id, event="match.reinstated", destination=dest,
                                  next_attempt_at=due,
                                  idempotency_key=f"msg_{outbox_key(match_id, 'reinstated', event_id, dest)}"))
            queued += 1
        except IntegrityError:
            pass
    return queued


@dataclass(frozen=True, slots=True)
class CopyFetch:
    """The copy's page the match's evidence points into, with the facts of its fetch."""

    url: str
    raw_page: bytes | None
    raw_sha256: str | None
    http_status: int | None  # None: the text came from the feed entry, no page was fetched
    fetched_at: datetime | None
    headers: dict[str, str]  # lower-case names; empty for pages fetched before they were kept


def copy_fetch(db: Database, match_id: int, revision: int | None = None) -> CopyFetch | None:
    """The fetch the match's evidence points into; `revision`: an earlier revision's (None when
    the match has no such revision; the current revision's number gives the current fetch)."""
    from monitor.store.models import MatchRevisionRow

    if revision is not None:
        with db.engine.connect() as c:
            earlier = c.execute(select(PostRow.url, MatchRevisionRow.copy_raw_page, MatchRevisionRow.copy_raw_sha256,
                                       MatchRevisionRow.copy_http_status, MatchRevisionRow.copy_fetched_at,
                                       MatchRevisionRow.copy_headers)
                                .join(MatchRow, MatchRevisionRow.match_id == MatchRow.id)
                                .join(PostRow, MatchRow.post_id == PostRow.id)
                                .where(MatchRevisionRow.match_id == match_id,
                                       MatchRevisionRow.revision == revision)).first()
            current = c.scalar(select(MatchRow.revision).where(MatchRow.id == match_id))
        if earlier is not None:
            url, page, sha, status, at, headers = earlier
            return CopyFetch(url, bytes(page) if page is not None else None, sha, status, at, dict(headers or {}))
        if current != revision:
            return None
    with db.engine.connect() as c:
        row = c.execute(select(MatchRow.copy_text.is_not(None), MatchRow.copy_raw_page, MatchRow.copy_raw_sha256,
                               MatchRow.copy_http_status, MatchRow.copy_fetched_at, MatchRow.copy_headers,
                               PostRow.url, PostRow.raw_page, PostRow.raw_sha256, PostRow.http_status,
                               PostRow.fetched_at, PostRow.headers)
                        .join(PostRow, MatchRow.post_id == PostRow.id).where(MatchRow.id == match_id)).first()
    if row is None:
        return None
    as_found, *kept, url = row[:7]
    page, sha, status, at, headers = kept if as_found else row[7:]
    return CopyFetch(url, bytes(page) if page is not None else None, sha, status, at, dict(headers or {}))


def keep_notice(db: Database, match_id: int, actor: str, recipients: Iterable[str], variant: str,
                message: bytes) -> int:
    from monitor.store.models import NoticeRow

    with db.session() as s:
        row = NoticeRow(match_id=match_id, sent_at=utcnow(), actor=actor, recipient=", ".join(recipients),
                        variant=variant, message=message)
        s.add(row)
        s.flush()
        return row.id


def sent_notices(db: Database, match_id: int) -> list[tuple[int, datetime, str, str, str, bytes]]:
    """(id, sent_at, actor, recipient, variant, message) of each notice sent for the match."""
    from monitor.store.models import NoticeRow

    with db.engine.connect() as c:
        return [tuple(r) for r in c.execute(  # type: ignore[misc]
            select(NoticeRow.id, NoticeRow.sent_at, NoticeRow.actor, NoticeRow.recipient, NoticeRow.variant,
                   NoticeRow.message).where(NoticeRow.match_id == match_id).order_by(NoticeRow.id))]
