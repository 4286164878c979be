"""The network edge: HTTP with limits and politeness, feed parsing and discovery."""

from monitor.fetch.feeds import Entry, FeedError, ParsedFeed, discover, looks_like_html, parse_feed
from monitor.fetch.http import (
    BlockedError,
    FetchError,
    Fetched,
    Fetcher,
    FetchSettings,
    FetchTimeout,
    HTTPStatusError,
    TooLargeError,
)
from monitor.fetch.robots import RobotsCache

__all__ = [
    "BlockedError", "Entry", "FeedError", "FetchError", "FetchSettings", "FetchTimeout", "Fetched", "Fetcher",
    "HTTPStatusError", "ParsedFeed", "RobotsCache", "TooLargeError", "discover", "looks_like_html", "parse_feed",
]
