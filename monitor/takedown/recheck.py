"""Removal tracking: copies that were confirmed (or noticed) are read again on a schedule.

A copy whose URL answers 404 or 410, serves an empty page, or no longer matches the article
is `removed`, with the time and the evidence (the status and the sha256 of the bytes served);
a removed copy that matches again is `reinstated`, and a `match.reinstated` alert is queued
through the outbox. A page that cannot be read (a timeout, a 5xx, robots.txt) changes nothing:
it is recorded as an error and read again at the next re-check.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING

from monitor.extract import extract_page
from monitor.fetch import FetchError, HTTPStatusError
from monitor.store.takedown import (
    CopyCheck,
    WatchedCopy,
    last_event_id,
    queue_reinstated,
    record_check,
    watched_copies,
)
from monitor.triage import MONITOR, StateConflict, TriageError, TriageState, triage_match

if TYPE_CHECKING:
    from monitor.fetch import Fetcher
    from monitor.pipeline import Monitor

log = logging.getLogger("monitor.takedown")

WATCHED = (TriageState.CONFIRMED, TriageState.NOTICE_SENT, TriageState.REMOVED, TriageState.REINSTATED)  # the states whose copies are re-read
GONE = (404, 410)


@dataclass(frozen=True, slots=True)
class Recheck:
    match_id: int
    copy_url: str
    check: CopyCheck
    state: str  # the match's state after the re-check
    changed: bool  # the re-check moved it (removed, reinstated)


async def read_copy(monitor: Monitor, fetcher: Fetcher, copy: WatchedCopy) -> tuple[str, int | None, str | None, str]:
    """(outcome, status, sha256 of the bytes served, detail) of one re-reading."""
    try:
        fetched = await fetcher.get(copy.copy_url, accept="text/html,*/*;q=0.5")
    except HTTPStatusError as e:
        if e.code in GONE:  # the page it answers with is hashed too: what the URL served then
            return "removed", e.code, hashlib.sha256(e.body).hexdigest() if e.body is not None else None, f"HTTP {e.code}"
        return "error", e.code, None, str(e)
    except FetchError as e:
        return "error", None, None, str(e)
    sha = hashlib.sha256(fetched.body).hexdigest()
    page = extract_page(fetched.body, url=copy.copy_url, content_type=fetched.content_type)
    text = page.text.strip()
    if not text:
        return "removed", fetched.status, sha, f"HTTP {fetched.status}, the page has no text"
    source = monitor.store.sources_by_id([copy.source_id]).get(copy.source_id)
    if source is None:
        return "error", fetched.status, sha, "the source is no longer stored"
    verdict = await asyncio.to_thread(monitor.detector.compare, source.text, text)
    if not verdict.is_match:
        return "removed", fetched.status, sha, f"HTTP {fetched.status}, no longer matches (score {verdict.score:.2f})"
    return "present", fetched.status, sha, f"HTTP {fetched.status}, still matches ({verdict.kind}, score {verdict.score:.2f})"


async def recheck(monitor: Monitor, match_id: int | None = None, now: datetime | None = None) -> list[Recheck]:
    """Re-read the copies due (not re-read for `notice.recheck_hours`), or the one match given."""
    now = now or datetime.now(timezone.utc)
    hours = monitor.settings.notice.recheck_hours
    due = watched_copies(monitor.db, WATCHED, now - timedelta(hours=hours), match_id)
    if not due:
        return []
    async with monitor.fetcher() as fetcher:
        readings = await asyncio.gather(*(read_copy(monitor, fetcher, c) for c in due))
    return [_settle(monitor, copy, *reading, now=now) for copy, reading in zip(due, readings)]


def _settle(monitor: Monitor, copy: WatchedCopy, outcome: str, status: int | None, sha: str | None,
            detail: str, now: datetime) -> Recheck:
    check = record_check(monitor.db, copy.match_id, outcome, status, sha, detail, at=now)
    to_state: TriageState | None = None
    if outcome == "removed" and copy.state != TriageState.REMOVED:
        to_state = TriageState.REMOVED
    elif outcome == "present" and copy.state == TriageState.REMOVED:
        to_state = TriageState.REINSTATED
    if to_state is None:
        return Recheck(copy.match_id, copy.copy_url, check, copy.state, False)
    note = detail + (f"; sha256 {sha}" if sha else "")
    try:
        triage_match(monitor.db, copy.match_id, to_state, MONITOR, note=note, version=copy.version)
    except (StateConflict, TriageError) as e:  # an editor changed it meanwhile: theirs stands
        log.info("match %d not moved to %s: %s", copy.match_id, to_state, e, extra={"match": copy.match_id})
        return Recheck(copy.match_id, copy.copy_url, check, copy.state, False)
    if to_state == TriageState.REINSTATED:
        event_id = last_event_id(monitor.db, copy.match_id, TriageState.REINSTATED)
        assert event_id is not None
        # sent at once, even to a digest destination: a copy back after a takedown wants action
        queue_reinstated(monitor.db, copy.match_id, event_id,
                         [(d, datetime.now(timezone.utc))
                          for d, _ in monitor.destinations_for(copy.source_url, copy.score)])
        log.warning("match.reinstated: %s is back (%s)", copy.copy_url, detail, extra={"match": copy.match_id})
    else:
        log.info("copy removed: %s (%s)", copy.copy_url, detail, extra={"match": copy.match_id})
    return Recheck(copy.match_id, copy.copy_url, check, to_state, True)
