"""The network edge: HTTP with limits and politeness, feed parsing and discovery."""

from monitor.fetch.feeds import Entry, FeedError, ParsedFeed, discover, looks_like_html, parse_feed
from monitor.fetch.http import (
    BlockedError,
    FetchError,
    Fetched,
    Fetcher,
    FetchSettings,
    HTTPStatusError,
    TooLargeError,
)

__all__ = [
    "BlockedError", "Entry", "FeedError", "FetchError", "FetchSettings", "Fetched", "Fetcher",
    "HTTPStatusError", "ParsedFeed", "TooLargeError", "discover", "looks_like_html", "parse_feed",
]
