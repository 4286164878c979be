"""Delivery of the alert outbox: due rows are sent; failures back off and are retried.

Rows are claimed with a lease a little longer than the slowest sender's timeout, so a process
killed mid-send leaves its rows to the next run, which sends them again with the same id
(a webhook receiver drops the replay by its `webhook-id`).
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from monitor.config import DestinationRules
from monitor.domain import DeliveryStatus
from monitor.notify.senders import DeliveryError, Sender
from monitor.store import DeliveryJob, Store

log = logging.getLogger("monitor.notify")

BASE_DELAY = 60.0  # first retry after about a minute
MAX_DELAY = 6 * 3600.0  # never wait more than six hours between tries
LEASE_MARGIN = 10.0  # seconds beyond a sender's timeout before its claim expires


def backoff(attempts: int, retry_after: float | None = None) -> timedelta:
    """Exponential back-off with jitter; 20 attempts span about three days."""
    delay = min(MAX_DELAY, BASE_DELAY * 2 ** max(0, attempts - 1))
    delay *= random.uniform(0.8, 1.2)
    if retry_after is not None:
        delay = max(delay, retry_after)
    return timedelta(seconds=delay)


def first_attempt(rules: DestinationRules, now: datetime) -> datetime:
    """When a new match alert is first due: now, or the next digest time (top of the hour,
    or midnight UTC for daily digests)."""
    if rules.digest == "hourly":
        return now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    if rules.digest == "daily":
        return now.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
    return now


@dataclass(frozen=True, slots=True)
class DeliveryReport:
    sent: int = 0
    failed: int = 0
    unknown: int = 0


async def deliver_due(store: Store, senders: dict[str, Sender], max_attempts: int,
                      now: datetime | None = None, batch: int = 100) -> DeliveryReport:
    """Send every due outbox row, a batch at a time; one dead destination never delays the others.

    Each batch is claimed with a lease just before it is sent (a claim of thousands at once
    would run out before the last were sent). A claimed row is never due again at `now`
    (sent, retried later or given up), so the batches end."""
    now = now or datetime.now(timezone.utc)
    timeout = max((s.config.timeout for s in senders.values()), default=30.0)
    total = DeliveryReport()
    while True:
        jobs = store.due_deliveries(now, lease=timedelta(seconds=timeout + LEASE_MARGIN), limit=batch)
        if not jobs:
            return total
        done = await _deliver_batch(store, senders, jobs, max_attempts, now)
        total = DeliveryReport(total.sent + done.sent, total.failed + done.failed, total.unknown + done.unknown)


async def _deliver_batch(store: Store, senders: dict[str, Sender], jobs: list[DeliveryJob],
                         max_attempts: int, now: datetime) -> DeliveryReport:
    disabled = store.disabled_destinations()
    by_destination: dict[str, list[DeliveryJob]] = defaultdict(list)
    for job in jobs:
        by_destination[job.destination].append(job)

    async def one_destination(name: str, batch: list[DeliveryJob]) -> list[str]:
        sender = senders.get(name)
        if sender is None:
            # Removed from the config: keep the rows for when it comes back.
            for job in batch:
                store.delivery_failed(job.id, "destination no longer configured", now + timedelta(hours=1))
            return ["unknown"] * len(batch)
        why = disabled.get(name) or disabled.get(sender.name)  # a row queued under an older name too
        if why is not None:
            for job in batch:
                store.delivery_failed(job.id, f"destination disabled: {why}", None, status=DeliveryStatus.DISABLED)
            return ["failed"] * len(batch)
        digest = [j for j in batch if j.match is not None] if sender.config.digest else []
        results = []
        if len(digest) > 1:
            results += await _attempt(store, sender, digest, max_attempts, now)
        else:
            digest = []
        for job in batch:
            if job not in digest:
                results += await _attempt(store, sender, [job], max_attempts, now)
        return results

    outcomes = await asyncio.gather(*(one_destination(n, b) for n, b in by_destination.items()))
    flat = [r for rs in outcomes for r in rs]
    return DeliveryReport(flat.count("sent"), flat.count("failed"), flat.count("unknown"))


async def _attempt(store: Store, sender: Sender, jobs: list[DeliveryJob], max_attempts: int,
                   now: datetime) -> list[str]:
    """Send one job, or several as one digest; record the outcome on every row."""
    try:
        if len(jobs) == 1:
            await sender.send(jobs[0])
        else:
            await sender.send_digest(jobs)
    except DeliveryError as e:
        for job in jobs:
            attempts = job.attempts + 1
            if e.permanent or attempts >= max_attempts:
                status = DeliveryStatus.DISABLED if e.disable else DeliveryStatus.FAILED
                log.error("alert %s (%s) given up after %d attempt(s): %s", job.destination, job.event, attempts, e,
                          extra=_ids(job))
                store.delivery_failed(job.id, str(e), None, status=status)
            else:
                when = now + backoff(attempts, e.retry_after)
                log.warning("alert %s (%s) failed (attempt %d), retry at %s: %s", job.destination, job.event,
                            attempts, when.isoformat(timespec="seconds"), e, extra=_ids(job))
                store.delivery_failed(job.id, str(e), when)
        if e.disable:
            log.error("destination %s disabled: it answered that it is gone (%s); "
                      "`monitor notify test` re-enables it once it answers again", sender.name, e)
            store.set_destination_disabled(sender.name, str(e))
        return ["failed"] * len(jobs)
    for job in jobs:
        store.delivery_sent(job.id)
    what = f"digest of {len(jobs)}" if len(jobs) > 1 else jobs[0].event
    log.info("alert sent to %s (%s)", sender.name, what, extra=_ids(jobs[0]) if len(jobs) == 1 else {})
    return ["sent"] * len(jobs)


async def send_test(store: Store, senders: dict[str, Sender]) -> dict[str, str | None]:
    """Send a test message to every destination: name → None on success, else the error.
    A destination that was disabled and now answers is enabled again."""
    from monitor.notify.message import probe_job

    async def one(name: str, sender: Sender) -> tuple[str, str | None]:
        try:
            await sender.send(probe_job(name))
        except DeliveryError as e:
            return name, str(e)
        if name in disabled:
            store.set_destination_disabled(name, None)
        return name, None

    disabled = store.disabled_destinations()
    return dict(await asyncio.gather(*(one(n, s) for n, s in senders.items())))


def _ids(job: DeliveryJob) -> dict[str, int]:
    """The delivery's ids for its log lines (see monitor.logs)."""
    return {"delivery": job.id} | ({"match": job.match.id} if job.match is not None else {})
