"""Small shared facts of the service (table service_state): the desk's session key, shared by
every replica, and each node's last completed cycle, for /healthz and /metrics."""

from __future__ import annotations

import secrets
import socket
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from monitor.store.database import Database
from monitor.store.models import ServiceStateRow, utcnow

CYCLE_PREFIX = "cycle:"


def session_secret(db: Database) -> str:
    """The key that signs desk session cookies: made once, then read by every process."""
    with db.session() as s:
        row = s.get(ServiceStateRow, "web.session_secret")
        if row is not None:
            return str(row.value["secret"])
    try:
        with db.session() as s:
            s.add(ServiceStateRow(key="web.session_secret", value={"secret": secrets.token_urlsafe(48)},
                                  updated_at=utcnow()))
    except IntegrityError:
        pass  # another process made it first: use that one
    return session_secret(db)


def node_name() -> str:
    return socket.gethostname()


def record_cycle(db: Database, started: datetime, facts: dict[str, Any], node: str | None = None) -> None:
    """Remember this node's last completed cycle (one row per node, replaced each time)."""
    finished = utcnow()
    value = {**facts, "started_at": started.isoformat(), "finished_at": finished.isoformat(),
             "duration_seconds": (finished - started).total_seconds()}
    key = CYCLE_PREFIX + (node or node_name())
    for _ in range(2):
        try:
            with db.session() as s:
                row = s.get(ServiceStateRow, key)
                if row is None:
                    s.add(ServiceStateRow(key=key, value=value, updated_at=finished))
                else:
                    row.value, row.updated_at = value, finished
            return
        except IntegrityError:
            continue


def last_cycles(db: Database) -> dict[str, tuple[datetime, dict[str, Any]]]:
    """Each node's last completed cycle: node → (finished at, facts)."""
    with db.engine.connect() as c:
        rows = c.execute(select(ServiceStateRow.key, ServiceStateRow.updated_at, ServiceStateRow.value)
                         .where(ServiceStateRow.key.startswith(CYCLE_PREFIX)))
        return {k[len(CYCLE_PREFIX):]: (at, v) for k, at, v in rows}
