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

SHUTDOWN_GRACE = 20.0  # seconds the checks under way get after SIGTERM (systemd waits 90 s)


def summary(report: CycleReport) -> str:
    new = sum(m.event is not None for m in report.matches)
    return (f"{report.feeds_checked} feed(s) checked, {report.feeds_failed} failed, "
            f"{report.posts_checked} new post(s), {new} new match(es), "
            f"{report.alerts.sent} alert(s) sent, {report.alerts.failed} failed")


async def run_forever(monitor: Monitor, tick_seconds: int, grace_seconds: float = SHUTDOWN_GRACE) -> None:
    """Tick until SIGINT/SIGTERM.

    On a signal no more feeds are claimed; checks under way get `grace_seconds` to finish, then
    are cancelled, which gives their feeds and posts back (their claims are released), so
    another process or the next start picks them up at once. A process killed outright loses
    nothing either: its claims expire after the lease (15 min).
    """
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    cycle: asyncio.Task[CycleReport] | None = None

    def cycle_done(task: asyncio.Task[CycleReport]) -> None:
        if task.cancelled():
            return
        if (e := task.exception()) is not None:  # a failed cycle is logged; the next tick tries again
            log.error("cycle failed", exc_info=e)
            return
        report = task.result()
        if report.feeds_checked or report.feeds_failed or report.alerts.sent or report.alerts.failed:
            log.info(summary(report))

    async def tick() -> None:
        # The tick starts a cycle and returns: a tick that waited for a long cycle made
        # APScheduler warn "maximum number of running instances reached" at every later tick.
        nonlocal cycle
        if stop.is_set() or (cycle is not None and not cycle.done()):
            return  # the cycle under way is still running: the next tick looks again
        cycle = asyncio.create_task(monitor.run_cycle(stop=stop))
        cycle.add_done_callback(cycle_done)

    scheduler = AsyncIOScheduler(timezone=timezone.utc)
    # One cycle at a time: a tick during a cycle does nothing (see tick).
    # misfire_grace_time=None: a tick late on a busy machine runs late, without a warning.
    scheduler.add_job(tick, "interval", seconds=tick_seconds, max_instances=1, coalesce=True,
                      misfire_grace_time=None, next_run_time=datetime.now(timezone.utc))
    scheduler.start()
    log.info("monitor running: looking for due feeds every %d s; Ctrl-C or SIGTERM stops it", tick_seconds)
    await stop.wait()
    scheduler.shutdown(wait=False)
    if cycle is not None and not cycle.done():
        log.info("stopping: letting the checks under way finish (at most %g s)", grace_seconds)
        done, _ = await asyncio.wait({cycle}, timeout=grace_seconds)
        if not done:
            log.warning("stopping: checks still under way after %g s are cancelled and released", grace_seconds)
            cycle.cancel()
            await asyncio.gather(cycle, return_exceptions=True)
