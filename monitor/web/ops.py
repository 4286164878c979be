"""/healthz (no login: for load balancers and `docker compose`) and /metrics (Prometheus)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select, text

from monitor.store import Database
from monitor.store.desk import PAUSED_UNTIL
from monitor.store.models import DeliveryRow, FeedRow, MatchRow, utcnow
from monitor.store.service import last_cycles


def health(db: Database, stale_after: float) -> tuple[int, dict[str, object]]:
    """(HTTP status, facts): 503 when the database is unreachable or no cycle completed lately."""
    try:
        with db.engine.connect() as c:
            c.execute(text("SELECT 1"))
        cycles = last_cycles(db)
    except Exception as e:  # noqa: BLE001 - any failure to reach it is the answer
        return 503, {"status": "database unreachable", "database": str(e).splitlines()[0]}
    if not cycles:
        return 503, {"status": "no polling cycle has completed yet", "database": "ok"}
    node, (at, _) = max(cycles.items(), key=lambda kv: kv[1][0])
    age = (datetime.now(timezone.utc) - at).total_seconds()
    facts: dict[str, object] = {"database": "ok", "last_cycle_at": at.isoformat(), "last_cycle_node": node,
                                "last_cycle_age_seconds": round(age, 1)}
    if age > stale_after:
        return 503, {"status": f"stale: no cycle completed for {age:.0f} s (limit {stale_after:.0f} s)", **facts}
    return 200, {"status": "ok", **facts}


class DatabaseCollector(Collector):
    """Read at each scrape from the database, so every replica reports the whole service."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def collect(self) -> Iterator[GaugeMetricFamily]:
        matches = GaugeMetricFamily("monitor_matches", "Matches stored, by kind and triage state",
                                    labels=["kind", "state"])
        deliveries = GaugeMetricFamily("monitor_deliveries", "Alert outbox rows, by status", labels=["status"])
        feeds = GaugeMetricFamily("monitor_feeds", "Feeds, by role and health", labels=["role", "health"])
        far = utcnow() + PAUSED_UNTIL - timedelta(days=1)
        with self.db.engine.connect() as c:
            for kind, state, n in c.execute(select(MatchRow.kind, MatchRow.state, func.count())
                                            .group_by(MatchRow.kind, MatchRow.state)):
                matches.add_metric([kind, state], n)
            for status, n in c.execute(select(DeliveryRow.status, func.count()).group_by(DeliveryRow.status)):
                deliveries.add_metric([status], n)
            counts: dict[tuple[str, str], int] = {}
            for role, paused_at, next_check_at, errors in c.execute(
                    select(FeedRow.role, FeedRow.paused_at, FeedRow.next_check_at, FeedRow.error_count)):
                health = ("paused" if paused_at is not None else "unlisted" if next_check_at >= far
                          else "failing" if errors else "ok")
                counts[role, health] = counts.get((role, health), 0) + 1
            for (role, health), n in sorted(counts.items()):
                feeds.add_metric([role, health], n)
        yield from (matches, deliveries, feeds)
        names = {"feeds_checked": "Feeds checked in the node's last cycle",
                 "feeds_failed": "Feeds that failed in the node's last cycle",
                 "posts_checked": "Posts checked in the node's last cycle",
                 "duration_seconds": "Duration of the node's last cycle"}
        families = {k: GaugeMetricFamily(f"monitor_last_cycle_{k}", h, labels=["node"]) for k, h in names.items()}
        finished = GaugeMetricFamily("monitor_last_cycle_finished_timestamp_seconds",
                                     "When the node's last cycle completed (Unix time)", labels=["node"])
        for node, (at, facts) in last_cycles(self.db).items():
            for k, fam in families.items():
                fam.add_metric([node], float(facts.get(k, 0)))
            finished.add_metric([node], at.timestamp())
        yield from families.values()
        yield finished


def metrics_text(db: Database) -> bytes:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(DatabaseCollector(db))
    return generate_latest(registry)
