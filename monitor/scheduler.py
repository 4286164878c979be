"""APScheduler wiring for `monitor run`: one interval job that runs a cycle over due feeds.

There is no job per feed: each feed's `next_check_at` lives in the database, so any number of
processes can share the work, and a restart loses nothing.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from datetime import datetime, timezone

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from monitor.pipeline import CycleReport, Monitor

log = logging.getLogger("monitor.scheduler")


def summary(report: CycleReport) -> str:
    new = sum(m.event is not None for m in report.matches)
    return (f"{report.feeds_checked} feed(s) checked, {report.feeds_failed} failed, "
            f"{report.posts_checked} new post(s), {new} new match(es), "
            f"{report.alerts.sent} alert(s) sent, {report.alerts.failed} failed")


async def run_forever(monitor: Monitor, tick_seconds: int) -> None:
    """Tick until SIGINT/SIGTERM; the cycle under way finishes before this returns."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    busy = asyncio.Lock()

    async def tick() -> None:
        if stop.is_set():
            return
        async with busy:
            try:
                report = await monitor.run_cycle()
            except Exception:  # noqa: BLE001 - a failed cycle is logged; the next tick tries again
                log.exception("cycle failed")
                return
        if report.feeds_checked or report.feeds_failed or report.alerts.sent or report.alerts.failed:
            log.info(summary(report))

    scheduler = AsyncIOScheduler(timezone=timezone.utc)
    # max_instances=1 + coalesce: a slow cycle is never overlapped by the next tick.
    scheduler.add_job(tick, "interval", seconds=tick_seconds, max_instances=1, coalesce=True,
                      next_run_time=datetime.now(timezone.utc))
    scheduler.start()
    log.info("monitor running: looking for due feeds every %d s; Ctrl-C or SIGTERM stops it", tick_seconds)
    await stop.wait()
    scheduler.shutdown(wait=False)
    log.info("stopping: letting the cycle under way finish")
    async with busy:
        pass
