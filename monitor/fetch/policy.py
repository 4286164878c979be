"""When to check a feed next: the configured interval, the server's hints, back-off on errors."""

from __future__ import annotations

import math
import random
from datetime import datetime, timedelta

MIN_INTERVAL = timedelta(minutes=1)
MAX_INTERVAL = timedelta(hours=24)


def next_check(now: datetime, interval_minutes: int, *, errors: int = 0,
               retry_after: float | None = None, max_age: float | None = None,
               ttl_minutes: int | None = None, jitter: float = 0.1) -> datetime:
    """max(interval, server hints), doubled per consecutive error, clamped to 1 min … 24 h.

    Every number is clamped before it becomes a timedelta, so an absurd hint (a Retry-After of
    99999999999999999999, a negative or NaN max-age) is a long wait or no hint, never an
    OverflowError that would lose the feed's state. Jitter (±10 %) spreads one site's feeds
    so they are not hit together.
    """
    cap = MAX_INTERVAL.total_seconds()
    delay = _bounded(interval_minutes * 60, cap)
    for hint in (retry_after, max_age, ttl_minutes * 60 if ttl_minutes else None):
        if hint:
            delay = max(delay, _bounded(hint, cap))
    if errors > 0:
        delay = min(cap, delay * 2 ** min(errors - 1, 16))
    wait = min(MAX_INTERVAL, max(MIN_INTERVAL, timedelta(seconds=delay)))
    if jitter:
        wait *= random.uniform(1 - jitter, 1 + jitter)
    return now + wait


def _bounded(seconds: float, cap: float) -> float:
    """seconds within 0 … cap (an int too large for a float is compared as an int); NaN counts as 0."""
    if isinstance(seconds, int):
        return float(min(max(seconds, 0), int(cap)))
    return 0.0 if math.isnan(seconds) else min(cap, max(0.0, seconds))
