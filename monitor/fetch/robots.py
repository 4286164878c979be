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
    _used: set[str] = field(default_factory=set)  # origins asked for since their rules were read

    def get(self, origin: str) -> tuple[bool, Protego | None]:
        """(known, rules): known is False when the origin must be (re)fetched."""
        cached = self._rules.get(origin)
        if cached is None or cached[0] < time.monotonic():
            return False, None
        self._used.add(origin)
        return True, cached[1]

    def expiring(self, within: float) -> list[str]:
        """Origins in use whose rules expire within `within` seconds: worth reading again
        before a check has to wait for them. Rules no check asked for are left to expire."""
        soon = time.monotonic() + within
        return [o for o in self._used if o in self._rules and self._rules[o][0] <= soon]

    def prune(self) -> int:
        """Forget expired rules; returns how many."""
        now = time.monotonic()
        expired = [o for o, (expires, _) in self._rules.items() if expires < now]
        for origin in expired:
            del self._rules[origin]
            self._used.discard(origin)
        return len(expired)

    def put(self, origin: str, robots_txt: str | None, ttl: float | None = None) -> Protego | None:
        if len(self._rules) >= MAX_ORIGINS:
            now = time.monotonic()
            self._rules = {k: v for k, v in self._rules.items() if v[0] >= now}
            if len(self._rules) >= MAX_ORIGINS:
                self._rules.clear()
            self._used &= self._rules.keys()
        rules = Protego.parse(robots_txt) if robots_txt is not None else None
        self._used.discard(origin)
        self._rules[origin] = (time.monotonic() + (self.ttl if ttl is None else ttl), rules)
        return rules
