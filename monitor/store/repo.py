"""The queries the pipeline, scheduler, notifier and CLI need, returning plain values."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, case, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError

from monitor.domain import Post, Source
from monitor.store.database import Database
from monitor.store.models import (
    DeliveryRow,
    DestinationRow,
    FeedRow,
    MatchRevisionRow,
    MatchRow,
    PostRow,
    SiteBoilerplateRow,
    SourceRow,
    utcnow,
)


def content_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class SourceInfo:
    id: int
    url: str
    title: str
    words: int
    origin: str
    status: str
    last_error: str | None
    created_at: datetime
    retired_at: datetime | None = None  # removed (kept with its matches)


@dataclass(frozen=True, slots=True)
class SourceEntry:
    """How a registered source was read: by whom (origin) and from which feed entry."""

    origin: str  # url | file | feed | import
    entry_hash: str  # origin feed: the entry its text was read from; "" = not known
    retired: bool = False  # removed by the user: not read again from the feed


@dataclass(frozen=True, slots=True)
class FeedState:
    id: int
    url: str
    feed_url: str | None
    role: str
    title: str
    interval_minutes: int
    etag: str | None
    last_modified: str | None
    body_hash: str | None
    next_check_at: datetime
    last_checked_at: datetime | None
    last_status: str | None
    last_error: str | None
    error_count: int
    backfilled_at: datetime | None = None
    failure_alerted: bool = False  # a "feed.failing" alert went out; success owes a "recovered"
    paused_at: datetime | None = None  # `feeds pause`: not polled until resumed
    retired_at: datetime | None = None  # removed, or taken out of the config
    in_config: bool = True


@dataclass(frozen=True, slots=True)
class FeedCheck:
    """A successful check of a claimed feed, to record (see Store.feeds_checked)."""

    feed_id: int
    status: str  # "200" or "304"
    next_check_at: datetime
    feed_url: str | None = None
    title: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None


@dataclass(frozen=True, slots=True)
class PostClaim:
    """This process holds the right to fetch and check one post until the lease runs out."""

    id: int
    previous_text_hash: str | None  # the text checked last time (an edited entry), else None
    # The URL stored for this entry's GUID when the feed now links it elsewhere, else None:
    # the post moved (same text), or the feed gave its GUID to another post (see guid_reused).
    previous_url: str | None = None


@dataclass(frozen=True, slots=True)
class MatchRecord:
    id: int
    source_id: int
    source_url: str
    source_title: str
    copy_url: str
    copy_title: str
    kind: str
    score: float
    coverage: float
    spin_rate: float
    evidence: dict[str, Any]
    detected_at: datetime
    http_status: int | None
    raw_sha256: str | None
    fetched_at: datetime | None
    copy_changed: bool = False  # the post changed after the evidence was recorded (kept as found)
    revision: int = 0  # bumped by each material change of the copy (earlier ones: match_revisions)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "source_url": self.source_url,
            "source_title": self.source_title,
            "copy_url": self.copy_url,
            "copy_title": self.copy_title,
            "kind": self.kind,
            "score": round(self.score, 4),
            "coverage": round(self.coverage, 4),
            "spin_rate": round(self.spin_rate, 4),
            "detected_at": self.detected_at.isoformat(),
            "http_status": self.http_status,
            "raw_sha256": self.raw_sha256,
            "copy_changed": self.copy_changed,
            "revision": self.revision,
            "passages": self.evidence.get("passages", []),
            "substitutions": self.evidence.get("substitutions", []),
        }


@dataclass(frozen=True, slots=True)
class DeliveryJob:
    """One outbox row to send: a match event (with both texts, for excerpts) or a feed event."""

    id: int
    destination: str
    attempts: int
    idempotency_key: str
    event: str  # match.created | match.updated | feed.failing | feed.recovered | test
    match: MatchRecord | None = None
    source_text: str = ""
    copy_text: str = ""
    payload: dict[str, Any] | None = None
    revision: int = 0


# A re-checked copy whose coverage moved by this much (or whose kind changed) alerts again:
# re-fetches with new ads or a fixed typo move coverage by a few points; a copy that grew from
# a few paragraphs to the whole article moves it by tens of points.
MATERIAL_COVERAGE_CHANGE = 0.15


def _key(*parts: object) -> str:
    return hashlib.sha256(":".join(map(str, parts)).encode()).hexdigest()[:32]


def _feed_state(r: Any) -> FeedState:  # a FeedRow or a Core row of the feeds table
    return FeedState(r.id, r.url, r.feed_url, r.role, r.title, r.interval_minutes, r.etag,
                     r.last_modified, r.body_hash, r.next_check_at, r.last_checked_at,
                     r.last_status, r.last_error, r.error_count, r.backfilled_at, r.failure_alerted,
                     getattr(r, "paused_at", None), getattr(r, "retired_at", None), getattr(r, "in_config", True))


def _copy_page(m: MatchRow, p: PostRow) -> tuple[bytes | None, str | None, int | None, datetime | None]:
    """(raw page, its sha256, HTTP status, fetch time) of the copy the match's evidence points
    into: as found, if the post changed since (see save_post), else the post's own."""
    if m.copy_text is not None:
        return m.copy_raw_page, m.copy_raw_sha256, m.copy_http_status, m.copy_fetched_at
    return p.raw_page, p.raw_sha256, p.http_status, p.fetched_at


def _match_record(m: MatchRow, s: SourceRow, p: PostRow) -> MatchRecord:
    _, sha256, status, fetched_at = _copy_page(m, p)
    return MatchRecord(m.id, s.id, s.url, s.title, p.url, p.title, m.kind, m.score, m.coverage,
                       m.spin_rate, m.evidence or {}, m.detected_at, status, sha256, fetched_at,
                       copy_changed=m.copy_text is not None, revision=m.revision)


@dataclass(frozen=True, slots=True)
class RevisionInfo:
    """An earlier revision of a match, in a line."""

    revision: int
    kind: str
    score: float
    coverage: float
    detected_at: datetime
    replaced_at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {"revision": self.revision, "kind": self.kind, "score": round(self.score, 4),
                "coverage": round(self.coverage, 4), "detected_at": self.detected_at.isoformat(),
                "replaced_at": self.replaced_at.isoformat()}


def _copy_text(m: MatchRow, p: PostRow) -> str:
    """The copy text the match's evidence points into: as it was, if the post changed since."""
    return m.copy_text if m.copy_text is not None else p.text


def _give_up_guid(s: Any, row: PostRow) -> None:
    """The feed gave this post's GUID to another post: the post keeps its URL as its identity
    in the feed (as in a feed without GUIDs), so the GUID is free for the other one."""
    taken = s.scalar(select(PostRow.id).where(PostRow.feed_id == row.feed_id, PostRow.guid == row.url,
                                              PostRow.id != row.id))
    row.guid = row.url if taken is None else f"{row.url}#{row.id}"
    s.flush()  # before another row takes the GUID (the unique index is checked per statement)


def _page_evidence(post: Post) -> dict[str, Any]:
    """The page a post was read from, as evidence: raw bytes and their sha256, status, time."""
    # Bytes as served are kept and hashed as they are; HTML carried in a feed entry as UTF-8.
    raw = post.html.encode("utf-8") if isinstance(post.html, str) else post.html
    return {"raw_page": raw, "raw_sha256": hashlib.sha256(raw).hexdigest() if raw is not None else None,
            "http_status": post.http_status, "fetched_at": post.fetched_at, "headers": post.headers}


def _source_text(m: MatchRow, s: SourceRow) -> str:
    """The source text the match's evidence points into: as it was, if the source was edited since."""
    return m.source_text if m.source_text is not None else s.text


class Store:
    """All reads and writes of the service. Each method is one transaction."""

    def __init__(self, db: Database) -> None:
        self.db = db

    # --- sources -------------------------------------------------------------------------
    def upsert_source(self, source: Source, signature: bytes, origin: str,
                      feed_id: int | None = None, entry_hash: str | None = None) -> tuple[int, bool]:
        """Register or refresh a source; returns (id, changed). Unchanged text is not rewritten.

        `entry_hash`: the feed entry the text was read from (a source feed's post), recorded.
        An edited text replaces the stored text and signature; the matches recorded against
        the earlier text keep that text with their evidence (MatchRow.source_text)."""
        try:
            return self._upsert_source(source, signature, origin, feed_id, entry_hash)
        except IntegrityError:  # another process registered the same URL just now: update it
            return self._upsert_source(source, signature, origin, feed_id, entry_hash)

    def _upsert_source(self, source: Source, signature: bytes, origin: str,
                       feed_id: int | None, entry_hash: str | None) -> tuple[int, bool]:
        digest = content_hash(source.text)
        with self.db.session() as s:
            row = s.scalar(select(SourceRow).where(SourceRow.url == source.url))
            if row is not None and row.content_hash == digest and row.status == "ready" and row.retired_at is None:
                if entry_hash is not None and row.entry_hash != entry_hash:
                    self._set_entry_hash(s, row.id, entry_hash)
                return row.id, False
            if row is None:
                row = SourceRow(url=source.url, origin=origin)
                s.add(row)
            elif row.status == "ready" and row.text and row.content_hash != digest:
                # Edited: the evidence of earlier matches points into the text they were found in.
                s.execute(update(MatchRow).where(MatchRow.source_id == row.id, MatchRow.source_text.is_(None))
                          .values(source_text=row.text))
            row.title, row.text, row.content_hash = source.title, source.text, digest
            row.signature, row.status, row.last_error, row.feed_id = signature, "ready", None, feed_id
            row.retired_at = row.rescanned_at = None  # back if removed; compared with stored posts
            if entry_hash is not None:
                row.entry_hash = entry_hash
            s.flush()
            return row.id, True

    @staticmethod
    def _set_entry_hash(s: Any, source_id: int, entry_hash: str, title: str | None = None) -> None:
        """Record the entry a source was read from (and its title) without touching updated_at,
        which says when the text and signature changed (other processes reload by it)."""
        values: dict[str, Any] = {"entry_hash": entry_hash, "updated_at": SourceRow.updated_at}
        if title:
            values["title"] = title
        s.execute(update(SourceRow).where(SourceRow.id == source_id).values(**values))

    def source_unchanged(self, source: Source, entry_hash: str | None = None) -> int | None:
        """The id of the ready source at this URL when its stored text is this text (nothing to
        fingerprint), after recording `entry_hash` and a new title if given; else None."""
        with self.db.session() as s:
            row = s.execute(select(SourceRow.id, SourceRow.title, SourceRow.entry_hash).where(
                SourceRow.url == source.url, SourceRow.content_hash == content_hash(source.text),
                SourceRow.status == "ready", SourceRow.retired_at.is_(None))).first()
            if row is None:
                return None
            if entry_hash is not None and (row.entry_hash, row.title) != (entry_hash, source.title or row.title):
                self._set_entry_hash(s, row.id, entry_hash, source.title)
            return row.id

    def source_with_text(self, feed_id: int, text: str) -> tuple[int, str] | None:
        """(id, url) of a ready source this feed registered with exactly this text, if any."""
        with self.db.engine.connect() as conn:
            row = conn.execute(select(SourceRow.id, SourceRow.url).where(
                SourceRow.feed_id == feed_id, SourceRow.origin == "feed", SourceRow.status == "ready",
                SourceRow.content_hash == content_hash(text)).order_by(SourceRow.id).limit(1)).first()
        return (row.id, row.url) if row is not None else None

    def move_source(self, source_id: int, url: str, entry_hash: str | None = None) -> None:
        """Your own post moved: its source takes the new URL; text, signature and matches stay
        (updated_at too: other processes have nothing to re-index)."""
        values: dict[str, Any] = {"url": url, "updated_at": SourceRow.updated_at}
        if entry_hash is not None:
            values["entry_hash"] = entry_hash
        try:
            with self.db.session() as s:
                s.execute(update(SourceRow).where(SourceRow.id == source_id).values(**values))
        except IntegrityError:
            pass  # another process registered the new URL meanwhile: that source stands

    def source_entries(self, urls: Iterable[str]) -> dict[str, SourceEntry]:
        """url → how it was registered, for the ready sources among these URLs."""
        urls = list(set(urls))
        if not urls:
            return {}
        with self.db.engine.connect() as conn:  # a plain read: no ORM session
            return {url: SourceEntry(origin, entry_hash, retired is not None) for url, origin, entry_hash, retired
                    in conn.execute(select(SourceRow.url, SourceRow.origin, SourceRow.entry_hash,
                                           SourceRow.retired_at).where(
                    SourceRow.url.in_(urls), SourceRow.status == "ready"))}

    def set_signature(self, source_id: int, signature: bytes) -> None:
        with self.db.session() as s:
            s.execute(update(SourceRow).where(SourceRow.id == source_id).values(signature=signature))

    def mark_source_error(self, url: str, origin: str, error: str) -> None:
        """Remember a source that could not be read, so the user sees why in `sources list`."""
        with self.db.session() as s:
            row = s.scalar(select(SourceRow).where(SourceRow.url == url))
            if row is None:
                s.add(SourceRow(url=url, origin=origin, status="error", last_error=error))
            elif row.status != "ready":
                row.status, row.last_error = "error", error

    def source_urls(self) -> set[str]:
        with self.db.session() as s:
            return set(s.scalars(select(SourceRow.url).where(SourceRow.status == "ready",
                                                             SourceRow.retired_at.is_(None))))

    def list_sources(self, retired: bool = False) -> list[SourceInfo]:
        """The registered sources; with `retired`, the removed ones too."""
        with self.db.session() as s:
            q = select(SourceRow).order_by(SourceRow.id)
            if not retired:
                q = q.where(SourceRow.retired_at.is_(None))
            return [SourceInfo(r.id, r.url, r.title, len(r.text.split()), r.origin, r.status,
                               r.last_error, r.created_at, r.retired_at) for r in s.scalars(q)]

    def find_source(self, ref: str) -> SourceInfo | None:
        """A source by id (digits) or URL, retired or not."""
        cond = SourceRow.id == int(ref) if ref.isdigit() else SourceRow.url == ref
        with self.db.session() as s:
            r = s.scalar(select(SourceRow).where(cond))
            return None if r is None else SourceInfo(r.id, r.url, r.title, len(r.text.split()), r.origin,
                                                     r.status, r.last_error, r.created_at, r.retired_at)

    def retire_source(self, source_id: int) -> None:
        """Remove a source: out of the index (other processes drop it at their next cycle: its
        updated_at moves) and the lists; its row and matches stay."""
        with self.db.session() as s:
            s.execute(update(SourceRow).where(SourceRow.id == source_id, SourceRow.retired_at.is_(None))
                      .values(retired_at=utcnow(), updated_at=utcnow()))

    def retired_sources(self, since: datetime) -> list[int]:
        """Sources removed since a time (to drop from an index loaded before)."""
        with self.db.engine.connect() as conn:
            return list(conn.execute(select(SourceRow.id).where(
                SourceRow.retired_at.is_not(None), SourceRow.updated_at > since)).scalars())

    def sync_config_sources(self, listed: Iterable[str]) -> set[str]:
        """Mark the sources the config lists (by URL); retire those it listed before and no
        longer does, and bring back those that are listed again. Returns the listed URLs
        that stay removed: removed by the user (`sources remove`) while listed."""
        listed = set(listed)
        now = utcnow()
        stay: set[str] = set()
        with self.db.session() as s:
            rows = s.scalars(select(SourceRow).where(or_(SourceRow.in_config.is_(True),
                                                         SourceRow.url.in_(listed))))
            for row in rows:
                if row.url not in listed:
                    row.in_config = False
                    if row.retired_at is None:
                        row.retired_at, row.updated_at = now, now
                elif not row.in_config:
                    row.in_config = True
                    if row.retired_at is not None:  # listed again: back, and compared again
                        row.retired_at, row.rescanned_at, row.updated_at = None, None, now
                elif row.retired_at is not None:
                    stay.add(row.url)
        return stay

    def sources_by_id(self, ids: Iterable[int]) -> dict[int, Source]:
        ids = list(ids)
        if not ids:
            return {}
        with self.db.session() as s:
            rows = s.scalars(select(SourceRow).where(SourceRow.id.in_(ids)))
            return {r.id: Source(r.url, r.text, r.title, r.id) for r in rows}

    def signatures(self, updated_after: datetime | None = None,
                   batch: int = 5000, ids: Iterable[int] | None = None) -> Iterator[tuple[int, bytes]]:
        """Active sources' stored signatures (all, or those changed since a time, or these ids)
        for the index."""
        q = select(SourceRow.id, SourceRow.signature).where(
            SourceRow.status == "ready", SourceRow.signature.is_not(None), SourceRow.retired_at.is_(None))
        if ids is not None:
            q = q.where(SourceRow.id.in_(list(ids)))
        if updated_after is not None:
            q = q.where(SourceRow.updated_at > updated_after)
        with self.db.engine.connect() as conn:
            result = conn.execution_options(yield_per=batch).execute(q)
            for sid, sig in result:
                yield sid, bytes(sig)

    # --- feeds ---------------------------------------------------------------------------
    def sync_feeds(self, wanted: Iterable[tuple[str, str, int]]) -> None:
        """Make the feeds table hold the configured (url, role, interval) entries.

        Feeds no longer configured are kept (their history matters) but not polled: their
        next check is pushed far out. A re-added feed is due at once.
        """
        wanted = {url: (role, interval) for url, role, interval in wanted}
        try:
            self._sync_feeds(wanted)
        except IntegrityError:  # another process added the same feeds at the same moment
            self._sync_feeds(wanted)

    def _sync_feeds(self, wanted: dict[str, tuple[str, int]]) -> None:
        now = utcnow()
        far = now + timedelta(days=36500)
        with self.db.session() as s:
            existing = {r.url: r for r in s.scalars(select(FeedRow))}
            for url, (role, interval) in wanted.items():
                row = existing.get(url)
                if row is None:
                    s.add(FeedRow(url=url, role=role, interval_minutes=interval, next_check_at=now, in_config=True))
                    continue
                if not row.in_config:  # (again) in the config: back, due at once
                    row.in_config = True
                    if row.retired_at is not None:
                        self._retire_feed_sources(s, row, None)
                        row.retired_at, row.next_check_at = None, now
                # else a feed removed with `feeds remove` while listed stays removed
                if (row.role, row.interval_minutes) != (role, interval):
                    row.role, row.interval_minutes = role, interval
            for url, row in existing.items():
                if url not in wanted and row.added_by is None and (row.in_config or row.retired_at is None):
                    # (feeds added on the desk are not the config's to retire)
                    row.in_config = False
                    if row.retired_at is None:
                        row.retired_at, row.next_check_at = now, far
                        self._retire_feed_sources(s, row, now)

    @staticmethod
    def _retire_feed_sources(s: Any, row: FeedRow, when: datetime | None) -> None:
        """Your own feed removed (`when`) or back (None): the posts it registered go with it;
        those you removed one by one before stay removed."""
        if row.role != "source":
            return
        q = update(SourceRow).where(SourceRow.feed_id == row.id, SourceRow.origin == "feed")
        if when is not None:
            s.execute(q.where(SourceRow.retired_at.is_(None)).values(retired_at=when, updated_at=when))
        elif row.retired_at is not None:
            s.execute(q.where(SourceRow.retired_at == row.retired_at)
                      .values(retired_at=None, rescanned_at=None, updated_at=utcnow()))

    def find_feed(self, ref: str) -> FeedState | None:
        """A feed by id (digits) or URL (as configured, or found by discovery), retired or not."""
        cond = FeedRow.id == int(ref) if ref.isdigit() else or_(FeedRow.url == ref, FeedRow.feed_url == ref)
        with self.db.session() as s:
            row = s.scalars(select(FeedRow).where(cond).order_by(FeedRow.id)).first()
            return _feed_state(row) if row is not None else None

    def retire_feed(self, feed_id: int) -> None:
        """Remove a feed: not polled or listed again; its posts and matches stay."""
        now = utcnow()
        with self.db.session() as s:
            row = s.get_one(FeedRow, feed_id)
            if row.retired_at is None:
                row.retired_at, row.next_check_at = now, now + timedelta(days=36500)
                self._retire_feed_sources(s, row, now)

    def pause_feed(self, feed_id: int, paused: bool) -> None:
        """Pause (not polled until resumed) or resume (due at once) a feed."""
        with self.db.session() as s:
            row = s.get_one(FeedRow, feed_id)
            if paused and row.paused_at is None:
                row.paused_at = utcnow()
            elif not paused and row.paused_at is not None:
                row.paused_at, row.next_check_at = None, utcnow()

    def claim_due_feeds(self, now: datetime, lease: timedelta, limit: int = 100,
                        urls: Iterable[str] | None = None, role: str | None = None) -> list[FeedState]:
        """Claim feeds due for a check; a claim is a lease so that another process skips them.

        On PostgreSQL `FOR UPDATE SKIP LOCKED` makes the claim safe between processes; on
        SQLite the claiming UPDATE re-checks the lease under the write lock.
        """
        feeds = FeedRow.__table__
        # Core, not the ORM: this reads thousands of rows a cycle.
        with self.db.engine.begin() as conn:
            q = select(feeds).where(or_(feeds.c.lease_until.is_(None), feeds.c.lease_until < now),
                                    feeds.c.retired_at.is_(None), feeds.c.paused_at.is_(None))
            if role is not None:
                q = q.where(feeds.c.role == role)
            if urls is not None:
                q = q.where(feeds.c.url.in_(list(urls)))
            else:
                q = q.where(feeds.c.next_check_at <= now)
            # The user's own feeds first, so a copy meets the article it copies.
            q = q.order_by(case((feeds.c.role == "source", 0), else_=1), feeds.c.next_check_at).limit(limit)
            if self.db.is_postgres:
                q = q.with_for_update(skip_locked=True)
            rows = conn.execute(q).all()
            if not rows:
                return []
            # The UPDATE checks the lease again and says which rows it took: on SQLite the
            # SELECT ran before the write lock, so another process may have claimed some since.
            taken = set(conn.execute(
                update(feeds)
                .where(feeds.c.id.in_([r.id for r in rows]),
                       or_(feeds.c.lease_until.is_(None), feeds.c.lease_until < now))
                .values(lease_until=now + lease)
                .returning(feeds.c.id)).scalars())
            return [_feed_state(r) for r in rows if r.id in taken]

    def feed_checked(self, feed_id: int, *, status: str, next_check_at: datetime,
                     feed_url: str | None = None, title: str | None = None, etag: str | None = None,
                     last_modified: str | None = None, body_hash: str | None = None) -> None:
        self.feeds_checked([FeedCheck(feed_id, status, next_check_at, feed_url, title, etag,
                                      last_modified, body_hash)])

    def feeds_checked(self, checks: Iterable[FeedCheck]) -> None:
        """Record successful checks and end their claims, all in one transaction.

        This runs for every feed at every check, thousands of times a cycle: no ORM, no SELECT,
        one executemany UPDATE per set of columns written (a 304 keeps the stored validators).
        """
        now = utcnow()
        groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for c in checks:
            values: dict[str, Any] = {"last_status": c.status, "last_error": None, "error_count": 0,
                                      "last_checked_at": now, "next_check_at": c.next_check_at,
                                      "lease_until": None}
            if c.feed_url:
                values["feed_url"] = c.feed_url
            if c.title:
                values["title"] = c.title
            if c.status != "304":
                values.update(etag=c.etag, last_modified=c.last_modified, body_hash=c.body_hash)
            groups.setdefault(tuple(values), []).append({"feed_id": c.feed_id, **values})
        if not groups:
            return
        feeds = FeedRow.__table__
        # The SET clause comes from the parameters' keys (the same within a group).
        stmt = update(feeds).where(feeds.c.id == bindparam("feed_id"))
        with self.db.engine.begin() as conn:
            for rows in groups.values():
                conn.execute(stmt, rows)

    def feed_failed(self, feed_id: int, *, error: str, status: str,
                    next_check_at: datetime) -> tuple[int, bool]:
        """Record a failed check; returns (failures in a row, whether that was already alerted)."""
        with self.db.session() as s:
            row = s.get_one(FeedRow, feed_id)
            row.error_count += 1
            row.last_status, row.last_error = status, error[:2000]
            row.last_checked_at, row.next_check_at, row.lease_until = utcnow(), next_check_at, None
            return row.error_count, row.failure_alerted

    def release_feeds(self, feed_ids: Iterable[int]) -> None:
        """Give claimed feeds back unchecked (shutting down): another process may take them now."""
        ids = list(feed_ids)
        if ids:
            with self.db.session() as s:
                s.execute(update(FeedRow).where(FeedRow.id.in_(ids)).values(lease_until=None))

    def feed_backfilled(self, feed_id: int) -> None:
        with self.db.session() as s:
            s.execute(update(FeedRow).where(FeedRow.id == feed_id).values(backfilled_at=utcnow()))

    def feed_by_url(self, url: str) -> FeedState | None:
        with self.db.session() as s:
            row = s.scalar(select(FeedRow).where(or_(FeedRow.url == url, FeedRow.feed_url == url)))
            return _feed_state(row) if row is not None else None

    def list_feeds(self, retired: bool = False) -> list[FeedState]:
        """The feeds; with `retired`, the removed ones too."""
        with self.db.session() as s:
            q = select(FeedRow).order_by(FeedRow.id)
            if not retired:
                q = q.where(FeedRow.retired_at.is_(None))
            return [_feed_state(r) for r in s.scalars(q)]

    # --- posts ---------------------------------------------------------------------------
    def claim_post(self, feed_id: int, guid: str, url: str, entry_hash: str, now: datetime,
                   lease: timedelta) -> PostClaim | None:
        """Claim one feed entry for fetching and checking, or None when there is nothing to do.

        Nothing to do: the entry was checked and is unchanged (same entry hash), another process
        holds a live claim on it, or its URL is a post met through another feed. A new entry is
        inserted first (state "claimed"): of two processes racing for it, the unique (feed_id,
        guid) or URL lets only one insert win. An edited, failed or abandoned (expired lease)
        entry is claimed again.

        Which post an entry is: the one stored at its URL, else the one its GUID names in the
        feed. A post stored at the URL under another GUID of this feed takes the entry's GUID
        (the feed renumbered its GUIDs), and the post that had it keeps its URL as its identity.
        A GUID now linking to a URL where nothing is stored is claimed with `previous_url`: the
        caller tells a moved post (same text: post_unchanged(moved_to=…)) from another post
        given the GUID (guid_reused).
        """
        try:
            with self.db.session() as s:
                q = (select(PostRow)
                     .where(or_(and_(PostRow.feed_id == feed_id, PostRow.guid == guid), PostRow.url == url))
                     .order_by(PostRow.id))  # both rows locked in one order: no deadlock
                if self.db.is_postgres:
                    q = q.with_for_update()
                rows = list(s.scalars(q))
                row = next((r for r in rows if r.url == url), None)
                named = next((r for r in rows if r.feed_id == feed_id and r.guid == guid), None)
                if row is not None and row.feed_id != feed_id:
                    return None  # the same post met through another feed: checked there
                if row is not None and row.guid != guid:
                    if named is not None:
                        _give_up_guid(s, named)
                    row.guid = guid
                row = row or named
                if row is None:
                    row = PostRow(feed_id=feed_id, guid=guid, url=url, state="claimed",
                                  lease_until=now + lease, entry_hash="")
                    s.add(row)
                    s.flush()
                    return PostClaim(row.id, None)
                if row.state == "claimed" and row.lease_until is not None and row.lease_until > now:
                    return None  # another process is on it
                if row.state == "checked" and row.entry_hash == entry_hash:
                    return None  # unchanged
                row.state, row.lease_until = "claimed", now + lease
                # content_hash is set once a post was checked (a failed re-check keeps it)
                return PostClaim(row.id, row.content_hash or None, row.url if row.url != url else None)
        except IntegrityError:
            return None  # another process inserted it first: it checks it

    def guid_reused(self, post_id: int, url: str, now: datetime, lease: timedelta) -> PostClaim:
        """The feed gave the GUID of claimed post `post_id` to another post, at `url`: the post
        keeps its row, URL, text and matches (its URL becomes its identity in the feed), and a
        new row is claimed for the other post."""
        with self.db.session() as s:
            row = s.get_one(PostRow, post_id)
            guid = row.guid
            _give_up_guid(s, row)
            row.state, row.lease_until = "checked", None
            new = PostRow(feed_id=row.feed_id, guid=guid, url=url, state="claimed",
                          lease_until=now + lease, entry_hash="")
            s.add(new)
            s.flush()
            return PostClaim(new.id, None)

    def checked_entries(self, feed_id: int) -> dict[str, str]:
        """guid → entry hash of the feed's checked posts: one query per feed read, so the
        entries seen before cost no transaction each."""
        with self.db.engine.connect() as conn:  # a plain read: no ORM session
            return dict(conn.execute(select(PostRow.guid, PostRow.entry_hash).where(
                PostRow.feed_id == feed_id, PostRow.state == "checked")).all())

    def release_post(self, post_id: int) -> None:
        """A claimed post could not be read: retried when its feed is next read."""
        with self.db.session() as s:
            s.execute(update(PostRow).where(PostRow.id == post_id, PostRow.state == "claimed")
                      .values(state="failed", lease_until=None))

    def post_unchanged(self, post_id: int, entry_hash: str, moved_to: Post | None = None) -> None:
        """The entry changed in the feed but the post's text did not: nothing to re-check.

        `moved_to`: the post as read at the URL its feed now gives (same GUID, same text): the
        row follows it, with the page read there as its evidence (the text, and so the offsets
        of its matches' evidence, did not change)."""
        values: dict[str, Any] = {"state": "checked", "lease_until": None, "entry_hash": entry_hash,
                                  "checked_at": utcnow()}
        if moved_to is not None:
            values.update(url=moved_to.url, title=moved_to.title, **_page_evidence(moved_to))
        with self.db.session() as s:
            s.execute(update(PostRow).where(PostRow.id == post_id).values(**values))

    def save_post(self, post: Post, feed_id: int | None, post_id: int | None = None,
                  entry_hash: str = "", signature: bytes | None = None) -> int:
        """Keep a checked post: the claimed row `post_id` (which takes the post's URL, should
        its feed now link elsewhere), or the row with the post's URL."""
        with self.db.session() as s:
            if post_id is not None:
                row = s.get_one(PostRow, post_id)
            else:
                row = s.scalar(select(PostRow).where(PostRow.url == post.url))
            if row is None:
                row = PostRow(url=post.url, guid=post.guid or post.url)
                s.add(row)
            digest = content_hash(post.text)
            if row.id is not None and row.content_hash and row.content_hash != digest:
                # The copier edited (or emptied) the post: matches keep the copy as they found it.
                s.execute(update(MatchRow).where(MatchRow.post_id == row.id, MatchRow.copy_text.is_(None))
                          .values(copy_text=row.text, copy_raw_page=row.raw_page, copy_raw_sha256=row.raw_sha256,
                                  copy_http_status=row.http_status, copy_fetched_at=row.fetched_at,
                                  copy_headers=row.headers))
            row.url, row.feed_id, row.title, row.text = post.url, feed_id, post.title, post.text
            row.guid = post.guid or row.guid or post.url
            row.content_hash, row.published_at, row.checked_at = digest, post.published, utcnow()
            row.state, row.lease_until, row.entry_hash = "checked", None, entry_hash or row.entry_hash
            row.signature = signature  # the post's candidate keys for rescans (None: made then)
            # The raw page is evidence; it is kept for every post so a later match can cite it.
            for name, value in _page_evidence(post).items():
                setattr(row, name, value)
            s.flush()
            return row.id

    # --- rescans: sources registered after the posts -------------------------------------
    def sources_due_rescan(self) -> list[int]:
        """Active sources not yet compared with the posts stored before them."""
        with self.db.engine.connect() as conn:
            return list(conn.execute(select(SourceRow.id).where(
                SourceRow.rescanned_at.is_(None), SourceRow.retired_at.is_(None),
                SourceRow.status == "ready").order_by(SourceRow.id)).scalars())

    def mark_rescanned(self, source_ids: Iterable[int], at: datetime) -> None:
        """Record a rescan; a source edited since it started stays due (its updated_at is later)."""
        ids = list(source_ids)
        with self.db.engine.begin() as conn:
            for i in range(0, len(ids), 5000):
                conn.execute(update(SourceRow).where(SourceRow.id.in_(ids[i:i + 5000]),
                                                     SourceRow.updated_at <= at)
                             .values(rescanned_at=at, updated_at=SourceRow.updated_at))

    def post_signatures(self, since: datetime, batch: int = 5000
                        ) -> Iterator[list[tuple[int, bytes | None, str | None]]]:
        """Batches of (post id, stored candidate keys, text when there are none) of the posts
        with text checked since a time."""
        posts = PostRow.__table__
        q = (select(posts.c.id, posts.c.signature,
                    case((posts.c.signature.is_(None), posts.c.text), else_=None))
             .where(posts.c.checked_at >= since, posts.c.state == "checked", posts.c.content_hash != "",
                    posts.c.text != "")
             .order_by(posts.c.id))
        with self.db.engine.connect() as conn:
            rows = conn.execution_options(yield_per=batch).execute(q)
            for part in rows.partitions(batch):
                yield [(r[0], bytes(r[1]) if r[1] is not None else None, r[2]) for r in part]

    def set_post_signatures(self, items: Iterable[tuple[int, bytes]]) -> None:
        stmt = update(PostRow).where(PostRow.id == bindparam("pid"))
        rows = [{"pid": pid, "signature": sig} for pid, sig in items]
        if rows:
            with self.db.engine.begin() as conn:
                conn.execute(stmt, rows)

    def posts_by_id(self, ids: Iterable[int]) -> dict[int, Post]:
        ids = list(ids)
        with self.db.engine.connect() as conn:
            return {r.id: Post(r.url, r.text, r.title, r.guid) for r in conn.execute(
                select(PostRow.id, PostRow.url, PostRow.text, PostRow.title, PostRow.guid)
                .where(PostRow.id.in_(ids)))} if ids else {}

    def matched_pairs(self, post_ids: Iterable[int]) -> set[tuple[int, int]]:
        """(source id, post id) of the matches already recorded for these posts."""
        ids = list(post_ids)
        with self.db.engine.connect() as conn:
            return {(a, b) for a, b in conn.execute(select(MatchRow.source_id, MatchRow.post_id)
                                                    .where(MatchRow.post_id.in_(ids)))} if ids else set()

    # --- matches and the outbox ----------------------------------------------------------
    def record_match(self, source_id: int, post_id: int, kind: str, score: float, coverage: float,
                     spin_rate: float, evidence: dict[str, Any],
                     destinations: Iterable[tuple[str, datetime]]) -> tuple[int | None, str | None]:
        """Store a match and queue its alerts (destination, first attempt) in one transaction.

        Returns (match id, event): "match.created" for a new pair, "match.updated" when a
        re-checked copy changed materially, None when nothing new is worth an alert (the
        evidence is refreshed all the same).
        """
        destinations = list(destinations)
        with self.db.session() as s:
            post_hash = s.scalar(select(PostRow.content_hash).where(PostRow.id == post_id)) or ""
            row = s.scalar(select(MatchRow).where(
                MatchRow.source_id == source_id, MatchRow.post_id == post_id))
            if row is None:
                event = "match.created"
                row = MatchRow(source_id=source_id, post_id=post_id, revision=0)
                s.add(row)
            else:
                material = row.kind != kind or abs(row.coverage - coverage) >= MATERIAL_COVERAGE_CHANGE
                event = "match.updated" if material and row.post_content_hash != post_hash else None
                if event:
                    self._keep_revision(s, row)
                    row.revision += 1
                row.updated_at = utcnow()
            row.kind, row.score, row.coverage, row.spin_rate = kind, score, coverage, spin_rate
            # the evidence now points into the source's and the copy's current texts
            row.evidence, row.post_content_hash, row.source_text = evidence, post_hash, None
            row.copy_text = row.copy_raw_page = row.copy_raw_sha256 = None
            row.copy_http_status = row.copy_fetched_at = row.copy_headers = None
            try:
                with s.begin_nested():
                    s.flush()
            except IntegrityError:  # another process recorded this pair first: it alerts
                return None, None
            if event:
                for dest, due in destinations:
                    s.add(DeliveryRow(match_id=row.id, revision=row.revision, event=event, destination=dest,
                                      next_attempt_at=due,
                                      idempotency_key=f"msg_{_key(row.id, row.revision, dest)}"))
            return row.id, event

    @staticmethod
    def _keep_revision(s: Any, row: MatchRow) -> None:
        """The match's current revision, about to be replaced, kept with the texts and page its
        evidence points into (the copy as found, if the post changed since; see save_post)."""
        src = s.get_one(SourceRow, row.source_id)
        post = s.get_one(PostRow, row.post_id)
        since = s.scalar(select(MatchRevisionRow.replaced_at).where(
            MatchRevisionRow.match_id == row.id, MatchRevisionRow.revision == row.revision - 1))
        page, sha256, status, fetched_at = _copy_page(row, post)
        s.add(MatchRevisionRow(
            match_id=row.id, revision=row.revision, kind=row.kind, score=row.score, coverage=row.coverage,
            spin_rate=row.spin_rate, evidence=row.evidence or {}, source_text=_source_text(row, src),
            copy_text=_copy_text(row, post), copy_raw_page=page, copy_raw_sha256=sha256,
            copy_http_status=status, copy_fetched_at=fetched_at, detected_at=since or row.detected_at))

    def match_revisions(self, match_id: int) -> list[RevisionInfo]:
        """The earlier revisions of a match, oldest first."""
        with self.db.engine.connect() as conn:
            rows = conn.execute(select(
                MatchRevisionRow.revision, MatchRevisionRow.kind, MatchRevisionRow.score, MatchRevisionRow.coverage,
                MatchRevisionRow.detected_at, MatchRevisionRow.replaced_at,
            ).where(MatchRevisionRow.match_id == match_id).order_by(MatchRevisionRow.revision))
            return [RevisionInfo(*r) for r in rows]

    def revision_with_texts(self, match_id: int, revision: int) -> tuple[MatchRecord, str, str] | None:
        """An earlier revision of a match with the texts its evidence points into, for a report."""
        with self.db.session() as s:
            found = s.execute(select(MatchRevisionRow, MatchRow, SourceRow, PostRow)
                              .join(MatchRow, MatchRevisionRow.match_id == MatchRow.id)
                              .join(SourceRow, MatchRow.source_id == SourceRow.id)
                              .join(PostRow, MatchRow.post_id == PostRow.id)
                              .where(MatchRevisionRow.match_id == match_id,
                                     MatchRevisionRow.revision == revision)).first()
            if found is None:
                return None
            r, m, src, p = found
            record = MatchRecord(m.id, src.id, src.url, src.title, p.url, p.title, r.kind, r.score, r.coverage,
                                 r.spin_rate, r.evidence or {}, r.detected_at, r.copy_http_status,
                                 r.copy_raw_sha256, r.copy_fetched_at, copy_changed=True, revision=r.revision)
            return record, r.source_text, r.copy_text

    def queue_feed_event(self, feed_id: int, event: str, payload: dict[str, Any],
                         destinations: Iterable[tuple[str, datetime]]) -> None:
        """Queue a feed.failing / feed.recovered alert; remember that the feed was reported."""
        with self.db.session() as s:
            feed = s.get_one(FeedRow, feed_id)
            feed.failure_alerted = event == "feed.failing"
            for dest, due in destinations:
                s.add(DeliveryRow(event=event, payload=payload, destination=dest, next_attempt_at=due,
                                  idempotency_key=f"msg_{_key(event, feed_id, utcnow().isoformat(), dest)}"))

    def list_matches(self, since: datetime | None = None, source: str | None = None,
                     min_score: float | None = None, limit: int | None = None) -> list[MatchRecord]:
        with self.db.session() as s:
            q = (select(MatchRow, SourceRow, PostRow)
                 .join(SourceRow, MatchRow.source_id == SourceRow.id)
                 .join(PostRow, MatchRow.post_id == PostRow.id)
                 .order_by(MatchRow.detected_at.desc(), MatchRow.id.desc()))
            if since is not None:
                q = q.where(MatchRow.detected_at >= since)
            if source is not None:
                q = q.where(or_(SourceRow.url == source, SourceRow.url.contains(source)))
            if min_score is not None:
                q = q.where(MatchRow.score >= min_score)
            if limit:
                q = q.limit(limit)
            return [_match_record(m, src, p) for m, src, p in s.execute(q)]

    def match_with_texts(self, match_id: int) -> tuple[MatchRecord, str, str] | None:
        """A match with the source's and the copy's full texts, for the evidence report."""
        with self.db.session() as s:
            row = s.execute(select(MatchRow, SourceRow, PostRow)
                            .join(SourceRow, MatchRow.source_id == SourceRow.id)
                            .join(PostRow, MatchRow.post_id == PostRow.id)
                            .where(MatchRow.id == match_id)).first()
            if row is None:
                return None
            m, src, p = row
            return _match_record(m, src, p), _source_text(m, src), _copy_text(m, p)

    def due_deliveries(self, now: datetime, lease: timedelta = timedelta(minutes=5),
                       limit: int = 100) -> list[DeliveryJob]:
        """Claim due outbox rows. A claim is a lease: a process killed mid-send leaves the row
        to be sent again when the lease ends (receivers drop the replay by its webhook-id)."""
        with self.db.session() as s:
            q = (select(DeliveryRow, MatchRow, SourceRow, PostRow)
                 .outerjoin(MatchRow, DeliveryRow.match_id == MatchRow.id)
                 .outerjoin(SourceRow, MatchRow.source_id == SourceRow.id)
                 .outerjoin(PostRow, MatchRow.post_id == PostRow.id)
                 .where(and_(DeliveryRow.status == "pending", DeliveryRow.next_attempt_at <= now))
                 .order_by(DeliveryRow.next_attempt_at, DeliveryRow.id).limit(limit))
            if self.db.is_postgres:
                q = q.with_for_update(of=DeliveryRow, skip_locked=True)
            jobs = []
            for d, m, src, p in s.execute(q):
                d.next_attempt_at = now + lease
                if m is not None:
                    jobs.append(DeliveryJob(d.id, d.destination, d.attempts, d.idempotency_key, d.event,
                                            _match_record(m, src, p), _source_text(m, src), _copy_text(m, p),
                                            revision=d.revision))
                else:
                    jobs.append(DeliveryJob(d.id, d.destination, d.attempts, d.idempotency_key, d.event,
                                            payload=dict(d.payload or {})))
            return jobs

    def delivery_sent(self, delivery_id: int) -> None:
        with self.db.session() as s:
            s.execute(update(DeliveryRow).where(DeliveryRow.id == delivery_id).values(
                status="sent", sent_at=utcnow(), attempts=DeliveryRow.attempts + 1, last_error=None))

    def delivery_failed(self, delivery_id: int, error: str, next_attempt_at: datetime | None,
                        status: str = "pending") -> None:
        """A failed attempt: retried at next_attempt_at, or given up (status failed/disabled)."""
        with self.db.session() as s:
            values: dict[str, Any] = {"attempts": DeliveryRow.attempts + 1, "last_error": error[:2000],
                                      "status": status}
            if next_attempt_at is not None:
                values["next_attempt_at"] = next_attempt_at
            s.execute(update(DeliveryRow).where(DeliveryRow.id == delivery_id).values(**values))

    def deliveries(self) -> list[tuple[int, int | None, str, str, int, str | None]]:
        """(id, match_id, destination, status, attempts, last_error) of every delivery."""
        with self.db.session() as s:
            return [tuple(r) for r in s.execute(select(
                DeliveryRow.id, DeliveryRow.match_id, DeliveryRow.destination, DeliveryRow.status,
                DeliveryRow.attempts, DeliveryRow.last_error).order_by(DeliveryRow.id))]

    def delivery_events(self) -> list[tuple[str, str, str]]:
        """(event, destination, status) of every delivery, oldest first."""
        with self.db.session() as s:
            return [tuple(r) for r in s.execute(select(
                DeliveryRow.event, DeliveryRow.destination, DeliveryRow.status).order_by(DeliveryRow.id))]

    def disabled_destinations(self) -> dict[str, str]:
        with self.db.session() as s:
            return {r.name: r.reason or "" for r in s.scalars(
                select(DestinationRow).where(DestinationRow.disabled_at.is_not(None)))}

    def set_destination_disabled(self, name: str, reason: str | None) -> None:
        """Disable a destination (reason given) or enable it again (None)."""
        disabled_at, why = (utcnow(), reason) if reason else (None, None)
        insert = pg_insert if self.db.is_postgres else sqlite_insert
        stmt = insert(DestinationRow).values(name=name, disabled_at=disabled_at, reason=why)
        stmt = stmt.on_conflict_do_update(index_elements=["name"],
                                          set_={"disabled_at": disabled_at, "reason": why})
        with self.db.session() as s:
            s.execute(stmt)

    # --- per-site boilerplate --------------------------------------------------------------
    def site_boilerplate(self, host: str) -> dict[str, Any] | None:
        with self.db.session() as s:
            row = s.get(SiteBoilerplateRow, host)
            return dict(row.data) if row is not None else None

    def save_site_boilerplate(self, host: str, data: dict[str, Any]) -> None:
        """Upsert: processes learning from the same site concurrently must not collide (the
        last writer wins; learning is a running tally, so a lost increment only delays it)."""
        values = {"host": host, "data": data, "updated_at": utcnow()}
        insert = pg_insert if self.db.is_postgres else sqlite_insert
        stmt = insert(SiteBoilerplateRow).values(**values)
        stmt = stmt.on_conflict_do_update(index_elements=["host"],
                                          set_={"data": stmt.excluded.data, "updated_at": stmt.excluded.updated_at})
        with self.db.session() as s:
            s.execute(stmt)
