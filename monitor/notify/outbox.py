"""Delivery of the alert outbox: due rows are sent; failures back off and are retried."""

from __future__ import annotations

import asyncio
import logging
import random
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from monitor.notify.senders import DeliveryError, Sender
from monitor.store import Store

log = logging.getLogger("monitor.notify")

BASE_DELAY = 60.0  # first retry after about a minute
MAX_DELAY = 6 * 3600.0  # never wait more than six hours between tries


def backoff(attempts: int, retry_after: float | None = None) -> timedelta:
    """Exponential back-off with jitter; 20 attempts span about three days."""
    delay = min(MAX_DELAY, BASE_DELAY * 2 ** max(0, attempts - 1))
    delay *= random.uniform(0.8, 1.2)
    if retry_after is not None:
        delay = max(delay, retry_after)
    return timedelta(seconds=delay)


@dataclass(frozen=True, slots=True)
class DeliveryReport:
    sent: int = 0
    failed: int = 0
    unknown: int = 0


async def deliver_due(store: Store, senders: dict[str, Sender], max_attempts: int,
                      now: datetime | None = None) -> DeliveryReport:
    """Send every due outbox row; one dead destination never delays the others."""
    now = now or datetime.now(timezone.utc)
    jobs = store.due_deliveries(now)
    if not jobs:
        return DeliveryReport()

    async def one(job) -> str:  # noqa: ANN001
        sender = senders.get(job.destination)
        if sender is None:
            # The destination was removed from the config; keep the row for when it returns.
            store.delivery_failed(job.id, "destination no longer configured", now + timedelta(hours=1))
            return "unknown"
        try:
            await sender.send(job)
        except DeliveryError as e:
            attempts = job.attempts + 1
            if e.permanent or attempts >= max_attempts:
                status = "disabled" if e.permanent else "failed"
                log.error("alert %s for match %s given up after %d attempt(s): %s",
                          job.destination, job.match.id, attempts, e)
                store.delivery_failed(job.id, str(e), None, status=status)
            else:
                when = now + backoff(attempts, e.retry_after)
                log.warning("alert %s for match %s failed (attempt %d), retry at %s: %s",
                            job.destination, job.match.id, attempts, when.isoformat(timespec="seconds"), e)
                store.delivery_failed(job.id, str(e), when)
            return "failed"
        store.delivery_sent(job.id)
        log.info("alert sent to %s for match %s (%s)", job.destination, job.match.id, job.match.copy_url)
        return "sent"

    results = await asyncio.gather(*(one(j) for j in jobs))
    return DeliveryReport(results.count("sent"), results.count("failed"), results.count("unknown"))
