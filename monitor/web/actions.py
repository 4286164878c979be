"""The desk's changes that need the running monitor (its detector index): adding and removing
sources. The API and the pages both call these; triage and the allow-list are in
monitor.triage and monitor.licence, feeds in monitor.store.desk."""

from __future__ import annotations

import re

from monitor.domain import Source
from monitor.fetch import FetchError
from monitor.pipeline import Monitor
from monitor.store import desk


class ActionError(ValueError):
    pass


async def add_source(monitor: Monitor, url: str, title: str | None = None, text: str | None = None) -> int:
    """Register an article: its text as given, or read from its URL. The index changes on the
    monitor's worker thread, where every change to it happens (one at a time)."""
    url = url.strip()
    if not re.match(r"https?://\S+$", url):
        raise ActionError(f"{url!r} is not an http(s) URL")
    if text and text.strip():
        source = Source(url, text.strip(), title or "")
    else:
        try:
            async with monitor.fetcher() as f:
                source = await monitor.source_from_url(f, url, title or None)
        except (FetchError, ValueError) as e:
            raise ActionError(str(e)) from None
    try:
        return await monitor.off_loop(monitor.register_source, source, "url")
    except ValueError as e:
        raise ActionError(str(e)) from None


def remove_source(monitor: Monitor, source_id: int) -> str:
    """Remove a source as `monitor sources remove` does: out of the index and the lists, its
    matches kept. Returns its URL."""
    try:
        url = desk.remove_source(monitor.db, source_id)
    except LookupError as e:
        raise ActionError(str(e)) from None
    # Every process's index (this one's too) drops it at its next refresh: its version moved.
    return url


def add_feed(monitor: Monitor, url: str, added_by: str, interval_minutes: int = 60) -> int:
    url = url.strip()
    if not re.match(r"https?://\S+$", url):
        raise ActionError(f"{url!r} is not an http(s) URL")
    if not 1 <= interval_minutes <= 24 * 60:
        raise ActionError("the interval is in minutes, from 1 to 1440")
    try:
        return desk.add_feed(monitor.db, url, added_by, interval_minutes)
    except ValueError as e:
        raise ActionError(str(e)) from None


def remove_feed(monitor: Monitor, feed_id: int) -> str:
    line = desk.feed(monitor.db, feed_id)
    if line is None:
        raise ActionError(f"no feed with id {feed_id}")
    if line.url in {w.url for w in monitor.settings.watch} or line.url in {s.feed for s in monitor.settings.sources}:
        raise ActionError(f"{line.url} is in the config file: remove it there (or pause it here)")
    try:
        return desk.remove_feed(monitor.db, feed_id)
    except LookupError as e:
        raise ActionError(str(e)) from None
