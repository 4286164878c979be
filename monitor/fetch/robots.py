"""robots.txt rules per origin, cached for a day and shared across cycles."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from protego import Protego

ROBOTS_TTL = 24 * 3600.0
MAX_ORIGINS = 50_000  # thousands of feeds for months: the cache must not grow without bound

DISALLOW_ALL = "User-agent: *\nDisallow: /"


@dataclass
class RobotsCache:
    """origin → (expires at, rules or None for "no rules"). Lives as long as the Monitor."""

    ttl: float = ROBOTS_TTL
    _rules: dict[str, tuple[float, Protego | None]] = field(default_factory=dict)

    def get(self, origin: str) -> tuple[bool, Protego | None]:
        """(known, rules): known is False when the origin must be (re)fetched."""
        cached = self._rules.get(origin)
        if cached is None or cached[0] < time.monotonic():
            return False, None
        return True, cached[1]

    def put(self, origin: str, robots_txt: str | None, ttl: float | None = None) -> Protego | None:
        if len(self._rules) >= MAX_ORIGINS:
            now = time.monotonic()
            self._rules = {k: v for k, v in self._rules.items() if v[0] >= now}
            if len(self._rules) >= MAX_ORIGINS:
                self._rules.clear()
        rules = Protego.parse(robots_txt) if robots_txt is not None else None
        self._rules[origin] = (time.monotonic() + (self.ttl if ttl is None else ttl), rules)
        return rules
