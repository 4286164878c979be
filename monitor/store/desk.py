"""The desk's read queries: the inbox (filters, keyset pages), sites, sources with their copies,
feeds with their health; and the few writes on feeds and sources the desk makes."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from sqlalchemy import case, func, literal, or_, select, tuple_
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from monitor.domain import MatchKind, TriageState
from monitor.store.database import Database
from monitor.store.models import FeedRow, MatchRow, PostRow, ServiceStateRow, SourceRow, UTCDateTime, utcnow

OPEN = (TriageState.NEW, TriageState.CONFIRMED, TriageState.NOTICE_SENT, TriageState.REINSTATED)  # as monitor.triage.OPEN_STATES
PAUSED_UNTIL = timedelta(days=36500)


@dataclass(frozen=True, slots=True)
class InboxFilter:
    states: tuple[str, ...] = ()
    kind: str | None = None
    site: str | None = None
    source_id: int | None = None
    min_score: float | None = None
    since: datetime | None = None
    until: datetime | None = None
    text: str | None = None  # in titles and URLs of the copy and the source


@dataclass(frozen=True, slots=True)
class InboxRow:
    id: int
    detected_at: datetime
    kind: str
    score: float
    coverage: float
    state: str
    state_version: int
    site: str
    source_id: int
    source_url: str
    source_title: str
    copy_url: str
    copy_title: str

    def to_dict(self) -> dict[str, object]:
        return {"id": self.id, "detected_at": self.detected_at.isoformat(), "kind": self.kind,
                "score": round(self.score, 4), "coverage": round(self.coverage, 4), "state": self.state,
                "version": self.state_version, "site": self.site,
                "source": {"id": self.source_id, "url": self.source_url, "title": self.source_title},
                "copy": {"url": self.copy_url, "title": self.copy_title}}


@dataclass(frozen=True, slots=True)
class Page:
    rows: list = field(default_factory=list)
    next: str | None = None  # the cursor of the next page


def _cursor(at: datetime, match_id: int) -> str:
    """`2026-11-28T09:21:38.123456Z_42`: no "+", which a query string would read as a space."""
    return f"{at.astimezone(timezone.utc).replace(tzinfo=None).isoformat()}Z_{match_id}"


def parse_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        at, mid = cursor.rsplit("_", 1)
        return datetime.fromisoformat(at), int(mid)
    except ValueError:
        raise ValueError(f"{cursor!r} is not a page cursor") from None


def _where(q, f: InboxFilter):  # noqa: ANN001, ANN202
    if f.states:
        q = q.where(MatchRow.state.in_(f.states))
    if f.kind:
        q = q.where(MatchRow.kind == f.kind)
    if f.site:
        q = q.where(MatchRow.site == f.site)
    if f.source_id is not None:
        q = q.where(MatchRow.source_id == f.source_id)
    if f.min_score is not None:
        q = q.where(MatchRow.score >= f.min_score)
    if f.since is not None:
        q = q.where(MatchRow.detected_at >= f.since)
    if f.until is not None:
        q = q.where(MatchRow.detected_at < f.until)
    if f.text:
        like = f"%{f.text.lower()}%"
        q = q.where(or_(func.lower(PostRow.url).like(like), func.lower(PostRow.title).like(like),
                        func.lower(SourceRow.url).like(like), func.lower(SourceRow.title).like(like)))
    return q


def inbox(db: Database, f: InboxFilter, after: str | None = None, limit: int = 50) -> Page:
    """Matches newest first; `after` is the cursor a previous page returned."""
    q = (select(MatchRow.id, MatchRow.detected_at, MatchRow.kind, MatchRow.score, MatchRow.coverage,
                MatchRow.state, MatchRow.state_version, MatchRow.site, SourceRow.id, SourceRow.url,
                SourceRow.title, PostRow.url, PostRow.title)
         .join(SourceRow, MatchRow.source_id == SourceRow.id)
         .join(PostRow, MatchRow.post_id == PostRow.id)
         .order_by(MatchRow.detected_at.desc(), MatchRow.id.desc()).limit(limit + 1))
    q = _where(q, f)
    if after:
        at, mid = parse_cursor(after)
        # a row-value comparison: both databases walk the (detected_at, id) index from there
        q = q.where(tuple_(MatchRow.detected_at, MatchRow.id) < tuple_(literal(at, UTCDateTime()), literal(mid)))
    with db.engine.connect() as c:
        rows = [InboxRow(*r) for r in c.execute(q)]
    more = len(rows) > limit
    rows = rows[:limit]
    return Page(rows, _cursor(rows[-1].detected_at, rows[-1].id) if more else None)


def match_ids(db: Database, site: str | None = None, source_id: int | None = None,
              states: Sequence[str] = ()) -> list[int]:
    q = select(MatchRow.id).order_by(MatchRow.id)
    if site is not None:
        q = q.where(MatchRow.site == site)
    if source_id is not None:
        q = q.where(MatchRow.source_id == source_id)
    if states:
        q = q.where(MatchRow.state.in_(states))
    with db.engine.connect() as c:
        return list(c.scalars(q))


KINDS = tuple(MatchKind)  # the detector's verdicts


# --- sites -------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class SiteRow:
    site: str
    matches: int
    sources: int
    first_seen: datetime
    last_seen: datetime
    open: int

    @property
    def handled(self) -> int:
        return self.matches - self.open

    def to_dict(self) -> dict[str, object]:
        return {"site": self.site, "matches": self.matches, "sources": self.sources,
                "first_seen": self.first_seen.isoformat(), "last_seen": self.last_seen.isoformat(),
                "open": self.open, "handled": self.handled}


def _sites_select():  # noqa: ANN202
    return select(MatchRow.site, func.count(), func.count(MatchRow.source_id.distinct()),
                  func.min(MatchRow.detected_at), func.max(MatchRow.detected_at),
                  func.sum(case((MatchRow.state.in_(OPEN), 1), else_=0))).group_by(MatchRow.site)


SITES_CHANGED = "desk.sites_changed"  # service_state row touched when matches change site or go


def sites_changed(s: Session) -> None:
    """Note, in the caller's transaction, that the per-site table must be computed again."""
    row = s.get(ServiceStateRow, SITES_CHANGED)
    if row is None:
        s.add(ServiceStateRow(key=SITES_CHANGED, value={}, updated_at=utcnow()))
    else:
        row.updated_at = utcnow()


class _SitesCache:
    """The per-site table, computed once per state of the archive.

    Ranking sites by matches needs every match grouped (100,000 rows: a hundred ms or more);
    the table changes only when a match is added, gets its site or goes, or a triage is
    recorded, which the key (newest match id, newest triage event id, when matches last
    changed site: three index look-ups) notices. After triages alone, only the sites they
    touched are grouped again."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[str, tuple[tuple[object, ...], dict[str, list[SiteRow]]]] = {}

    def ranked(self, db: Database) -> dict[str, list[SiteRow]]:
        """{"matches": most matches first, "recent": most recently seen first}."""
        from monitor.store.models import TriageEventRow

        with db.engine.connect() as c:
            key = tuple(c.execute(select(
                select(func.max(MatchRow.id)).scalar_subquery(),
                select(func.max(TriageEventRow.id)).scalar_subquery(),
                select(ServiceStateRow.updated_at).where(ServiceStateRow.key == SITES_CHANGED).scalar_subquery(),
            )).one())
            url = str(db.engine.url)
            with self._lock:
                hit = self._entries.get(url)
            if hit is not None and hit[0] == key:
                return hit[1]
            if hit is not None and (hit[0][0], hit[0][2]) == (key[0], key[2]):
                # Only triages since: regroup just the sites they touched. A triage changes
                # open/handled, never a site's matches or last seen, so the order stands.
                touched = set(c.scalars(select(MatchRow.site).distinct()
                                        .join(TriageEventRow, TriageEventRow.match_id == MatchRow.id)
                                        .where(TriageEventRow.id > (hit[0][1] or 0))))
                fresh = {r.site: r for r in (SiteRow(*x) for x in c.execute(
                    _sites_select().where(MatchRow.site.in_(touched))))}
                ranked = {order: [fresh.get(r.site, r) for r in rows] for order, rows in hit[1].items()}
                with self._lock:
                    self._entries[url] = (key, ranked)
                return ranked
            rows = [SiteRow(*r) for r in c.execute(_sites_select().where(MatchRow.site != ""))]
        ranked = {"matches": sorted(rows, key=lambda r: (-r.matches, r.site)),
                  "recent": sorted(rows, key=lambda r: (-r.last_seen.timestamp(), r.site))}
        with self._lock:
            self._entries[url] = (key, ranked)
        return ranked


_sites_cache = _SitesCache()


def sites(db: Database, text: str | None = None, offset: int = 0, limit: int = 50,
          order: str = "matches") -> tuple[list[SiteRow], int]:
    """One row per copying site, most matches first (or most recent); and how many sites."""
    rows = _sites_cache.ranked(db)["recent" if order == "recent" else "matches"]
    if text:
        rows = [r for r in rows if text.lower() in r.site]
    return rows[offset:offset + limit], len(rows)


def site(db: Database, name: str) -> SiteRow | None:
    with db.engine.connect() as c:
        row = c.execute(_sites_select().where(MatchRow.site == name)).first()
    return SiteRow(*row) if row is not None else None


# --- sources -----------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class SourceLine:
    id: int
    url: str
    title: str
    origin: str
    status: str
    created_at: datetime
    copies: int
    open: int

    def to_dict(self) -> dict[str, object]:
        return {"id": self.id, "url": self.url, "title": self.title, "origin": self.origin,
                "status": self.status, "created_at": self.created_at.isoformat(), "copies": self.copies,
                "open": self.open}


def sources(db: Database, text: str | None = None, offset: int = 0, limit: int = 50) -> tuple[list[SourceLine], int]:
    counts = (select(MatchRow.source_id, func.count().label("copies"),
                     func.sum(case((MatchRow.state.in_(OPEN), 1), else_=0)).label("open"))
              .group_by(MatchRow.source_id).subquery())
    q = (select(SourceRow.id, SourceRow.url, SourceRow.title, SourceRow.origin, SourceRow.status,
                SourceRow.created_at, func.coalesce(counts.c.copies, 0), func.coalesce(counts.c.open, 0))
         .outerjoin(counts, counts.c.source_id == SourceRow.id)
         .order_by(func.coalesce(counts.c.copies, 0).desc(), SourceRow.id.desc()))
    count = select(func.count()).select_from(SourceRow).where(SourceRow.retired_at.is_(None))
    q = q.where(SourceRow.retired_at.is_(None))
    if text:
        like = f"%{text.lower()}%"
        cond = or_(func.lower(SourceRow.url).like(like), func.lower(SourceRow.title).like(like))
        q, count = q.where(cond), count.where(cond)
    with db.engine.connect() as c:
        return [SourceLine(*r) for r in c.execute(q.offset(offset).limit(limit))], int(c.scalar(count) or 0)


def source_line(db: Database, source_id: int) -> SourceLine | None:
    with db.engine.connect() as c:
        row = c.execute(select(SourceRow.id, SourceRow.url, SourceRow.title, SourceRow.origin, SourceRow.status,
                               SourceRow.created_at,
                               select(func.count()).where(MatchRow.source_id == SourceRow.id).scalar_subquery(),
                               select(func.count()).where(MatchRow.source_id == SourceRow.id,
                                                          MatchRow.state.in_(OPEN)).scalar_subquery())
                        .where(SourceRow.id == source_id)).first()
    return SourceLine(*row) if row is not None else None


def remove_source(db: Database, source_id: int) -> str:
    """Remove a source as `monitor sources remove` does (retired: out of the index and the
    lists, its matches kept); returns its URL."""
    from monitor.store.repo import Store

    with db.engine.connect() as c:
        url = c.scalar(select(SourceRow.url).where(SourceRow.id == source_id, SourceRow.retired_at.is_(None)))
    if url is None:
        raise LookupError(f"no source with id {source_id}")
    Store(db).retire_source(source_id)
    return url


# --- feeds -------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class FeedLine:
    id: int
    url: str
    feed_url: str | None
    role: str
    title: str
    interval_minutes: int
    last_status: str | None
    last_error: str | None
    error_count: int
    last_checked_at: datetime | None
    next_check_at: datetime
    added_by: str | None
    paused_at: datetime | None

    @property
    def health(self) -> str:
        if self.paused_at is not None:
            return "paused"
        if self.next_check_at >= utcnow() + PAUSED_UNTIL - timedelta(days=1):
            return "not in the config"
        if self.last_status is None:
            return "new"
        return "failing" if self.error_count else "ok"

    def to_dict(self) -> dict[str, object]:
        return {"id": self.id, "url": self.url, "feed_url": self.feed_url, "role": self.role, "title": self.title,
                "interval_minutes": self.interval_minutes, "health": self.health, "last_status": self.last_status,
                "last_error": self.last_error, "error_count": self.error_count,
                "last_checked_at": self.last_checked_at.isoformat() if self.last_checked_at else None,
                "next_check_at": self.next_check_at.isoformat(), "added_by": self.added_by,
                "paused": self.paused_at is not None}


_FEED_COLS = (FeedRow.id, FeedRow.url, FeedRow.feed_url, FeedRow.role, FeedRow.title, FeedRow.interval_minutes,
              FeedRow.last_status, FeedRow.last_error, FeedRow.error_count, FeedRow.last_checked_at,
              FeedRow.next_check_at, FeedRow.added_by, FeedRow.paused_at)


def feeds(db: Database, url_contains: str | None = None) -> list[FeedLine]:
    q = select(*_FEED_COLS).where(FeedRow.retired_at.is_(None)).order_by(FeedRow.role.desc(), FeedRow.url)
    if url_contains:
        q = q.where(FeedRow.url.contains(url_contains))
    with db.engine.connect() as c:
        return [FeedLine(**dict(r._mapping)) for r in c.execute(q)]


def feed(db: Database, feed_id: int) -> FeedLine | None:
    with db.engine.connect() as c:
        row = c.execute(select(*_FEED_COLS).where(FeedRow.id == feed_id)).first()
    return FeedLine(**dict(row._mapping)) if row is not None else None


def add_feed(db: Database, url: str, added_by: str, interval_minutes: int = 60) -> int:
    """Watch a feed added from the desk (config sync leaves it be); due at once."""
    try:
        with db.session() as s:
            row = FeedRow(url=url, role="watch", interval_minutes=interval_minutes, next_check_at=utcnow(),
                          added_by=added_by)
            s.add(row)
            s.flush()
            return row.id
    except IntegrityError:
        raise ValueError(f"{url} is watched already") from None


def pause_feed(db: Database, feed_id: int, paused: bool) -> None:
    """Pause or resume a feed as `monitor feeds pause|resume` does."""
    from monitor.store.repo import Store

    if feed(db, feed_id) is None:
        raise LookupError(f"no feed with id {feed_id}")
    Store(db).pause_feed(feed_id, paused)


def remove_feed(db: Database, feed_id: int) -> str:
    """Stop watching a feed as `monitor feeds remove` does (retired; its posts and matches
    stay); returns its URL."""
    from monitor.store.repo import Store

    line = feed(db, feed_id)
    if line is None:
        raise LookupError(f"no feed with id {feed_id}")
    Store(db).retire_feed(feed_id)
    return line.url


def raw_page(db: Database, match_id: int, revision: int | None = None) -> tuple[bytes, str | None] | None:
    """The copy's page as fetched (the one the match's evidence points into) and its sha256."""
    from monitor.store.models import MatchRevisionRow

    with db.engine.connect() as c:
        if revision is not None:
            kept = c.execute(select(MatchRevisionRow.copy_raw_page, MatchRevisionRow.copy_raw_sha256)
                             .where(MatchRevisionRow.match_id == match_id,
                                    MatchRevisionRow.revision == revision)).first()
            if kept is not None and kept[0] is not None:
                return bytes(kept[0]), kept[1]
            current = c.scalar(select(MatchRow.revision).where(MatchRow.id == match_id))
            if current != revision:
                return None
        row = c.execute(select(MatchRow.copy_text.is_not(None), MatchRow.copy_raw_page, MatchRow.copy_raw_sha256,
                               PostRow.raw_page, PostRow.raw_sha256)
                        .join(PostRow, MatchRow.post_id == PostRow.id).where(MatchRow.id == match_id)).first()
    if row is None:
        return None
    as_found, m_page, m_sha, p_page, p_sha = row
    page, sha = (m_page, m_sha) if as_found else (p_page, p_sha)
    return (bytes(page), sha) if page is not None else None
