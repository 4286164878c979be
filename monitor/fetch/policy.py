"""When to check a feed next: the configured interval, the server's hints, back-off on errors."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

MIN_INTERVAL = timedelta(minutes=1)
MAX_INTERVAL = timedelta(hours=24)


def next_check(now: datetime, interval_minutes: int, *, errors: int = 0,
               retry_after: float | None = None, max_age: float | None = None,
               ttl_minutes: int | None = None, jitter: float = 0.1) -> datetime:
    """max(interval, server hints), doubled per consecutive error, clamped to 1 min … 24 h.

    Jitter (±10 %) spreads one site's feeds so they are not hit together.
    """
    delay = timedelta(minutes=interval_minutes)
    for hint in (retry_after, max_age, ttl_minutes * 60 if ttl_minutes else None):
        if hint:
            delay = max(delay, timedelta(seconds=hint))
    if errors:
        delay = delay * (2 ** min(errors - 1, 16))
    delay = min(MAX_INTERVAL, max(MIN_INTERVAL, delay))
    if jitter:
        delay *= random.uniform(1 - jitter, 1 + jitter)
    return now + delay
