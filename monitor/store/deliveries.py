"""The outbox (alerts to send, claimed with a lease), feed events and the destinations' state."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from monitor.domain import DeliveryStatus
from monitor.store.base import Queries
from monitor.store.matches import copy_text_of, match_record, outbox_key, source_text_of
from monitor.store.models import DeliveryRow, DestinationRow, FeedRow, MatchRow, PostRow, SourceRow, utcnow
from monitor.store.values import DeliveryJob


class DeliveryQueries(Queries):
    """Queries on the outbox (deliveries) and destinations."""

    def queue_feed_event(self, feed_id: int, event: str, payload: dict[str, Any],
                         destinations: Iterable[tuple[str, datetime]]) -> None:
        """Queue a feed.failing / feed.recovered alert; remember that the feed was reported."""
        with self.db.session() as s:
            feed = s.get_one(FeedRow, feed_id)
            feed.failure_alerted = event == "feed.failing"
            for dest, due in destinations:
                s.add(DeliveryRow(event=event, payload=payload, destination=dest, next_attempt_at=due,
                                  idempotency_key=f"msg_{outbox_key(event, feed_id, utcnow().isoformat(), dest)}"))

    def due_deliveries(self, now: datetime, lease: timedelta = timedelta(minutes=5),
                       limit: int = 100) -> list[DeliveryJob]:
        """Claim due outbox rows. A claim is a lease: a process killed mid-send leaves the row
        to be sent again when the lease ends (receivers drop the replay by its webhook-id)."""
        with self.db.session() as s:
            q = (select(DeliveryRow, MatchRow, SourceRow, PostRow)
                 .outerjoin(MatchRow, DeliveryRow.match_id == MatchRow.id)
                 .outerjoin(SourceRow, MatchRow.source_id == SourceRow.id)
                 .outerjoin(PostRow, MatchRow.post_id == PostRow.id)
                 .where(and_(DeliveryRow.status == DeliveryStatus.PENDING, DeliveryRow.next_attempt_at <= now))
                 .order_by(DeliveryRow.next_attempt_at, DeliveryRow.id).limit(limit))
            if self.db.is_postgres:
                q = q.with_for_update(of=DeliveryRow, skip_locked=True)
            rows = s.execute(q).all()
            if not rows:
                return []
            # The UPDATE checks the row is still due and says which rows it took: on SQLite the
            # SELECT ran before the write lock, so another process may have claimed some since.
            taken = set(s.execute(
                update(DeliveryRow)
                .where(DeliveryRow.id.in_([r[0].id for r in rows]), DeliveryRow.status == DeliveryStatus.PENDING,
                       DeliveryRow.next_attempt_at <= now)
                .values(next_attempt_at=now + lease)
                .returning(DeliveryRow.id), execution_options={"synchronize_session": False}).scalars())
            jobs = []
            for d, m, src, p in rows:
                if d.id not in taken:
                    continue
                if m is not None:
                    jobs.append(DeliveryJob(d.id, d.destination, d.attempts, d.idempotency_key, d.event,
                                            match_record(m, src, p), source_text_of(m, src), copy_text_of(m, p),
                                            revision=d.revision))
                else:
                    jobs.append(DeliveryJob(d.id, d.destination, d.attempts, d.idempotency_key, d.event,
                                            payload=dict(d.payload or {})))
            return jobs

    def delivery_sent(self, delivery_id: int) -> None:
        with self.db.session() as s:
            s.execute(update(DeliveryRow).where(DeliveryRow.id == delivery_id).values(
                status=DeliveryStatus.SENT, sent_at=utcnow(), attempts=DeliveryRow.attempts + 1, last_error=None))

    def delivery_failed(self, delivery_id: int, error: str, next_attempt_at: datetime | None,
                        status: DeliveryStatus = DeliveryStatus.PENDING) -> None:
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
            return [(r[0], r[1], r[2], r[3], r[4], r[5]) for r in s.execute(select(
                DeliveryRow.id, DeliveryRow.match_id, DeliveryRow.destination, DeliveryRow.status,
                DeliveryRow.attempts, DeliveryRow.last_error).order_by(DeliveryRow.id))]

    def delivery_events(self) -> list[tuple[str, str, str]]:
        """(event, destination, status) of every delivery, oldest first."""
        with self.db.session() as s:
            return [(r[0], r[1], r[2]) for r in s.execute(select(
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
