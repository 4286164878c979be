"""APScheduler wiring for `monitor run`: the polling cycle, alert delivery, digests, robots.txt
refresh and the heartbeat, each its own job.

There is no job per feed: each feed's `next_check_at` lives in the database, so any number of
processes can share the work, and a restart loses nothing. The same holds for alerts (the
outbox's `next_attempt_at`) and digests (their rows wait in the outbox until the hour).

The job store is APScheduler's default, in memory, on purpose: the jobs are fixed and made
again at every start, and the state they act on (due feeds, due alerts, claims with leases)
is already in the database, where every node shares it. A persistent SQLAlchemyJobStore would
add nothing for several nodes: APScheduler 3 does not support one job store shared by several
schedulers (each would run every job, or they would step on each other's rows), and the
database claims already keep two nodes from checking one feed or sending one alert twice.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
from datetime import datetime, timedelta, timezone

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from monitor import __version__
from monitor.pipeline import CycleReport, Monitor
from monitor.store.nodes import Nodes

log = logging.getLogger("monitor.scheduler")

SHUTDOWN_GRACE = 20.0  # seconds the checks under way get after SIGTERM (systemd waits 90 s)
HEARTBEAT = 30.0  # seconds between heartbeats of a running process
STALE_AFTER = timedelta(seconds=4 * HEARTBEAT)  # `monitor status`: no heartbeat for this long → stale
FORGET_NODES = timedelta(days=7)  # rows of processes that died without saying so are dropped after this
RECHECK_LOOK = 3600.0  # seconds between looks for copies due for a removal re-check
ROBOTS_REFRESH = 3600.0  # robots.txt rules about to expire are read again this often, off the polling path


def summary(report: CycleReport, alerts: bool = True) -> str:
    new = sum(m.event is not None for m in report.matches)
    text = (f"{report.feeds_checked} feed(s) checked, {report.feeds_failed} failed, "
            f"{report.posts_checked} new post(s), {new} new match(es)")
    return text + (f", {report.alerts.sent} alert(s) sent, {report.alerts.failed} failed" if alerts else "")


async def refresh_robots(monitor: Monitor, within: float = ROBOTS_REFRESH) -> int:
    """Read again the robots.txt rules in use that expire within `within` seconds, so that a
    feed check never waits for its site's robots.txt; forget expired rules no check asked for.
    Returns how many origins were read."""
    monitor.robots.prune()
    if not monitor.fetch_settings.respect_robots:
        return 0
    origins = monitor.robots.expiring(within)
    if not origins:
        return 0
    async with monitor.fetcher() as fetcher:
        # Fetcher._fetch_robots caches what it reads (rules, none, or "disallow all" on 401/403).
        await asyncio.gather(*(fetcher._fetch_robots(o) for o in origins))
    log.info("robots.txt read again for %d site(s)", len(origins))
    return len(origins)


async def run_forever(monitor: Monitor, tick_seconds: int, grace_seconds: float = SHUTDOWN_GRACE,
                      stop: asyncio.Event | None = None) -> None:
    """Run the jobs until SIGINT/SIGTERM (or until `stop` is set, for `monitor serve`).

    On a signal no more feeds are claimed; checks under way get `grace_seconds` to finish, then
    are cancelled, which gives their feeds and posts back (their claims are released), so
    another process or the next start picks them up at once. A process killed outright loses
    nothing either: its claims expire after the lease (15 min).
    """
    if stop is None:  # else the caller (monitor serve) owns the signals and sets `stop`
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
    cycle: asyncio.Task[CycleReport] | None = None
    sending = asyncio.Lock()  # the delivery and digest jobs take turns on the outbox
    nodes = Nodes(monitor.db)
    node_id = nodes.start(socket.gethostname(), os.getpid(), __version__)
    nodes.prune(datetime.now(timezone.utc) - FORGET_NODES)

    def beat(cycle_finished: bool = False) -> None:
        nonlocal node_id
        try:
            if not nodes.beat(node_id, cycle_finished=cycle_finished):
                node_id = nodes.start(socket.gethostname(), os.getpid(), __version__)
        except Exception as e:  # noqa: BLE001 - a database hiccup must not stop the jobs
            log.warning("heartbeat not recorded: %s", e)

    def cycle_done(task: asyncio.Task[CycleReport]) -> None:
        if task.cancelled():
            return
        if (e := task.exception()) is not None:  # a failed cycle is logged; the next tick tries again
            log.error("cycle failed", exc_info=e)
            return
        beat(cycle_finished=True)
        report = task.result()
        if report.feeds_checked or report.feeds_failed:
            log.info(summary(report, alerts=False))  # the delivery job reports the alerts

    async def tick() -> None:
        # The tick starts a cycle and returns: a tick that waited for a long cycle made
        # APScheduler warn "maximum number of running instances reached" at every later tick.
        nonlocal cycle
        if stop.is_set() or (cycle is not None and not cycle.done()):
            return  # the cycle under way is still running: the next tick looks again
        # Alerts are sent by their own job, so a long cycle never holds them back.
        cycle = asyncio.create_task(monitor.run_cycle(stop=stop, deliver=False))
        cycle.add_done_callback(cycle_done)

    async def deliver() -> None:
        if stop.is_set():
            return
        async with sending:
            try:
                sent = await monitor.deliver_alerts()
            except Exception:  # noqa: BLE001 - the outbox keeps the rows; the next run tries again
                log.exception("alert delivery failed")
                return
        if sent.sent or sent.failed:
            log.info("%d alert(s) sent, %d failed", sent.sent, sent.failed)

    async def robots() -> None:
        try:
            await refresh_robots(monitor)
        except Exception:  # noqa: BLE001 - a check reads robots.txt itself when it must
            log.exception("robots.txt refresh failed")

    async def heartbeat() -> None:
        beat()

    async def rechecks() -> None:
        from monitor.takedown.recheck import recheck

        if stop.is_set():
            return
        try:
            moved = [r for r in await recheck(monitor) if r.changed]
        except Exception:  # noqa: BLE001 - the copies stay due; the next run reads them again
            log.exception("re-check of copies failed")
            return
        if moved:
            log.info("%d cop(ies) removed or back since the last re-check", len(moved))

    now = datetime.now(timezone.utc)
    scheduler = AsyncIOScheduler(timezone=timezone.utc)
    # Every job: max_instances=1 (never overlaps itself) and coalesce (runs missed while the
    # process was busy or suspended are run once, not once each). misfire_grace_time: how late
    # a run may still start; later than that it is skipped until the next one.
    # The poll tick only looks for work: a late one (a busy machine) still runs, silently.
    scheduler.add_job(tick, "interval", id="poll", seconds=tick_seconds, next_run_time=now,
                      max_instances=1, coalesce=True, misfire_grace_time=None)
    # Due alerts and their retries (back-off starts at a minute), at the polling pace.
    scheduler.add_job(deliver, "interval", id="deliver", seconds=tick_seconds, next_run_time=now,
                      max_instances=1, coalesce=True, misfire_grace_time=tick_seconds)
    # Digest rows are due at the top of the hour (daily ones at 00:00 UTC): send them on the
    # hour rather than up to a delivery interval later. A late run within the hour still sends.
    scheduler.add_job(deliver, "cron", id="digests", minute=0, second=0,
                      max_instances=1, coalesce=True, misfire_grace_time=3600)
    scheduler.add_job(robots, "interval", id="robots", seconds=ROBOTS_REFRESH,
                      max_instances=1, coalesce=True, misfire_grace_time=int(ROBOTS_REFRESH))
    scheduler.add_job(heartbeat, "interval", id="heartbeat", seconds=HEARTBEAT,
                      max_instances=1, coalesce=True, misfire_grace_time=int(HEARTBEAT))
    # Confirmed and noticed copies, read again every notice.recheck_hours (each match's own
    # due time is in the database); the job looks for due ones hourly, or more often.
    every = min(RECHECK_LOOK, monitor.settings.notice.recheck_hours * 3600)
    scheduler.add_job(rechecks, "interval", id="recheck", seconds=every, next_run_time=now + timedelta(seconds=min(60.0, every)),
                      max_instances=1, coalesce=True, misfire_grace_time=int(every))
    scheduler.start()
    log.info("monitor running: looking for due feeds every %d s; Ctrl-C or SIGTERM stops it", tick_seconds)
    stopped = False
    try:
        await stop.wait()
        scheduler.shutdown(wait=False)  # no new runs; the ones under way go on
        stopped = True
        if cycle is not None and not cycle.done():
            log.info("stopping: letting the checks under way finish (at most %g s)", grace_seconds)
            done, _ = await asyncio.wait({cycle}, timeout=grace_seconds)
            if not done:
                log.warning("stopping: checks still under way after %g s are cancelled and released", grace_seconds)
                cycle.cancel()
                await asyncio.gather(cycle, return_exceptions=True)
        if sending.locked():  # an alert being sent: let it finish rather than send it twice later
            try:
                await asyncio.wait_for(sending.acquire(), grace_seconds)
            except TimeoutError:
                log.warning("stopping: alerts still being sent after %g s; they are sent again later", grace_seconds)
    finally:
        if not stopped:
            scheduler.shutdown(wait=False)
        try:
            nodes.stop(node_id)
        except Exception as e:  # noqa: BLE001
            log.warning("heartbeat row not removed (`monitor status` will show it stale): %s", e)
