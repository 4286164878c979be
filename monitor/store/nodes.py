"""Heartbeats of the running `monitor run` processes (table `nodes`): written by each, read by `monitor status`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update

from monitor.store.database import Database
from monitor.store.models import NodeRow, utcnow


@dataclass(frozen=True, slots=True)
class NodeInfo:
    id: int
    host: str
    pid: int
    version: str
    started_at: datetime
    seen_at: datetime
    last_cycle_at: datetime | None

    def alive(self, now: datetime, stale_after: timedelta) -> bool:
        """A node whose last heartbeat is older than `stale_after` is stale: stopped
        without saying so (killed, host down) or stuck."""
        return now - self.seen_at <= stale_after


class Nodes:
    """One row per running process; the row goes when the process stops cleanly."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def start(self, host: str, pid: int, version: str, now: datetime | None = None) -> int:
        now = now or utcnow()
        with self.db.session() as s:
            row = NodeRow(host=host, pid=pid, version=version, started_at=now, seen_at=now)
            s.add(row)
            s.flush()
            return row.id

    def beat(self, node_id: int, now: datetime | None = None, cycle_finished: bool = False) -> bool:
        """Record that the node is alive (and, with `cycle_finished`, that it finished a cycle).
        False when its row is gone (pruned while the process was frozen): call `start` again."""
        now = now or utcnow()
        values: dict[str, datetime] = {"seen_at": now}
        if cycle_finished:
            values["last_cycle_at"] = now
        with self.db.session() as s:
            result = s.execute(update(NodeRow).where(NodeRow.id == node_id).values(**values))
            return bool(result.rowcount)  # type: ignore[attr-defined]

    def stop(self, node_id: int) -> None:
        with self.db.session() as s:
            s.execute(delete(NodeRow).where(NodeRow.id == node_id))

    def prune(self, older_than: datetime) -> int:
        """Forget nodes not heard from since `older_than` (processes that died long ago)."""
        with self.db.session() as s:
            result = s.execute(delete(NodeRow).where(NodeRow.seen_at < older_than))
            return int(result.rowcount)  # type: ignore[attr-defined]

    def list(self) -> list[NodeInfo]:
        with self.db.session() as s:
            rows = s.scalars(select(NodeRow).order_by(NodeRow.host, NodeRow.started_at)).all()
            return [NodeInfo(r.id, r.host, r.pid, r.version, r.started_at, r.seen_at, r.last_cycle_at)
                    for r in rows]
