"""The watched feeds (and the user's own): syncing with the config, claiming due ones, recording checks."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, and_, bindparam, case, func, or_, select, update
from sqlalchemy.exc import IntegrityError

from monitor.store.base import Queries
from monitor.store.models import FeedRow, SourceRow, utcnow
from monitor.store.sources import raise_version
from monitor.store.values import FeedCheck, FeedState


def _feed_state(r: Any) -> FeedState:  # a FeedRow or a Core row of the feeds table
    return FeedState(r.id, r.url, r.feed_url, r.role, r.title, r.interval_minutes, r.etag,
                     r.last_modified, r.body_hash, r.next_check_at, r.last_checked_at,
                     r.last_status, r.last_error, r.error_count, r.backfilled_at, r.failure_alerted,
                     getattr(r, "paused_at", None), getattr(r, "retired_at", None), getattr(r, "in_config", True))


class FeedQueries(Queries):
    """Queries on the feeds table."""

    def sync_feeds(self, wanted: Iterable[tuple[str, str, int]]) -> None:
        """Make the feeds table hold the configured (url, role, interval) entries.

        Feeds no longer configured are kept (their history matters) but not polled: their
        next check is pushed far out. A re-added feed is due at once.
        """
        by_url = {url: (role, interval) for url, role, interval in wanted}
        try:
            self._sync_feeds(by_url)
        except IntegrityError:  # another process added the same feeds at the same moment
            self._sync_feeds(by_url)

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

    def _retire_feed_sources(self, s: Any, row: FeedRow, when: datetime | None) -> None:
        """Your own feed removed (`when`) or back (None): the posts it registered go with it;
        those you removed one by one before stay removed."""
        if row.role != "source":
            return
        mine = and_(SourceRow.feed_id == row.id, SourceRow.origin == "feed")
        if when is not None:
            q = update(SourceRow).where(mine, SourceRow.retired_at.is_(None)).values(retired_at=when, updated_at=when)
        elif row.retired_at is not None:
            q = (update(SourceRow).where(mine, SourceRow.retired_at == row.retired_at)
                 .values(retired_at=None, rescanned_at=None, updated_at=utcnow()))
        else:
            return
        for (source_id,) in s.execute(q.returning(SourceRow.id)).all():
            raise_version(self.db, s, source_id)  # every process's index drops (or takes back) it

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
        feeds = cast(Table, FeedRow.__table__)
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
        feeds = cast(Table, FeedRow.__table__)
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

    def source_feeds_busy(self, now: datetime) -> int:
        """How many of the user's own feeds a process is reading now (a live claim)."""
        with self.db.engine.connect() as conn:
            return conn.scalar(select(func.count()).select_from(FeedRow).where(
                FeedRow.role == "source", FeedRow.lease_until > now)) or 0
