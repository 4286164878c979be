"""Reading a whole site back to its first post: Blogger paging, WordPress REST or ?paged=N.

A feed shows only its latest entries; when the user registers their own site as a source feed,
every post they ever published should become a source. `pages()` yields the site's entries
page by page, with the total when the server says it, so a caller can show progress.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from monitor.fetch.feeds import Entry, FeedError, ParsedFeed, _identify, parse_feed
from monitor.fetch.http import FetchError, Fetcher, HTTPStatusError

PAGE_SIZE = 100
MAX_PAGES = 2000  # 200,000 posts: beyond this a server is ignoring the paging parameters
FEED_ACCEPT = "application/rss+xml, application/atom+xml, application/feed+json, */*;q=0.5"


@dataclass(frozen=True, slots=True)
class Page:
    number: int  # 1-based
    total: int | None  # pages in all, when the server says
    entries: tuple[Entry, ...]
    how: str  # "blogger", "wordpress-rest", "wordpress-paged"


def platform(feed_url: str, feed: ParsedFeed) -> str | None:
    """'blogger', 'wordpress' or None (a feed with no known way to page back)."""
    gen = (feed.generator or "").lower()
    parts = urlsplit(feed_url)
    if "blogger" in gen or "/feeds/posts/" in parts.path or (parts.hostname or "").endswith(".blogspot.com"):
        return "blogger"
    if "wordpress" in gen or parts.path.rstrip("/").endswith("/feed") or "/wp-json/" in feed.link:
        return "wordpress"
    return None


async def pages(fetcher: Fetcher, feed_url: str, feed: ParsedFeed) -> AsyncIterator[Page]:
    """Every page of the site's posts, newest first; only the first page when paging is unknown."""
    kind = platform(feed_url, feed)
    if kind == "blogger":
        async for page in _blogger(fetcher, feed_url):
            yield page
    elif kind == "wordpress":
        got_any = False
        try:
            async for page in _wordpress_rest(fetcher, feed_url):
                got_any = True
                yield page
        except (FetchError, FeedError):
            if got_any:
                raise
        if not got_any:  # REST API off or hidden: the feed's own ?paged=N
            async for page in _paged(fetcher, feed_url):
                yield page
    else:
        yield Page(1, 1, feed.entries, "feed")


async def _blogger(fetcher: Fetcher, feed_url: str) -> AsyncIterator[Page]:
    seen: set[str] = set()
    for n in range(MAX_PAGES):
        url = _with_query(feed_url, {"start-index": str(1 + n * PAGE_SIZE), "max-results": str(PAGE_SIZE)})
        r = await fetcher.get(url, accept=FEED_ACCEPT)
        parsed = parse_feed(r.body, url, r.content_type)
        fresh = tuple(e for e in parsed.entries if e.guid not in seen)
        total = -(-parsed.total_results // PAGE_SIZE) if parsed.total_results else None
        if not fresh:
            return
        seen.update(e.guid for e in fresh)
        yield Page(n + 1, total, fresh, "blogger")
        if len(parsed.entries) < PAGE_SIZE:
            return


async def _wordpress_rest(fetcher: Fetcher, feed_url: str) -> AsyncIterator[Page]:
    parts = urlsplit(feed_url)
    root = urlunsplit((parts.scheme, parts.netloc, _site_path(parts.path), "", ""))
    for n in range(1, MAX_PAGES + 1):
        url = f"{root}/wp-json/wp/v2/posts?per_page={PAGE_SIZE}&page={n}"
        try:
            r = await fetcher.get(url, accept="application/json")
        except HTTPStatusError as e:
            if e.code == 400 and n > 1:  # rest_post_invalid_page_number: past the last page
                return
            raise
        try:
            items = json.loads(r.body)
        except ValueError:
            raise FeedError(f"{url}: the WordPress REST API did not answer JSON") from None
        if not isinstance(items, list):
            raise FeedError(f"{url}: the WordPress REST API answered something other than a list")
        if not items:
            return
        total = r.headers.get("x-wp-totalpages")
        total_pages = int(total) if total and total.isdigit() else None
        yield Page(n, total_pages, _identify([e for e in map(_wp_entry, items) if e]), "wordpress-rest")
        if total_pages is not None and n >= total_pages:
            return


async def _paged(fetcher: Fetcher, feed_url: str) -> AsyncIterator[Page]:
    seen: set[str] = set()
    for n in range(1, MAX_PAGES + 1):
        url = feed_url if n == 1 else _with_query(feed_url, {"paged": str(n)})
        try:
            r = await fetcher.get(url, accept=FEED_ACCEPT)
        except HTTPStatusError as e:
            if e.code == 404 and n > 1:  # past the last page
                return
            raise
        fresh = tuple(e for e in parse_feed(r.body, url, r.content_type).entries if e.guid not in seen)
        if not fresh:  # a site that ignores ?paged= serves page 1 again
            return
        seen.update(e.guid for e in fresh)
        yield Page(n, None, fresh, "wordpress-paged")


def _wp_entry(item: object) -> Entry | None:
    if not isinstance(item, dict) or not isinstance(item.get("link"), str):
        return None

    def rendered(key: str) -> str:
        v = item.get(key)
        return str(v.get("rendered") or "") if isinstance(v, dict) else str(v or "")

    published = None
    if isinstance(item.get("date_gmt"), str):
        try:
            published = datetime.fromisoformat(item["date_gmt"] + "+00:00")
        except ValueError:
            published = None
    guid = rendered("guid") or item["link"]
    return Entry(guid, item["link"], rendered("title"), published, rendered("content"), rendered("excerpt"))


def _site_path(path: str) -> str:
    """The WordPress install's path: /blog/feed/ → /blog, /feed/ → ''."""
    p = path.rstrip("/")
    for suffix in ("/feed/atom", "/feed/rss2", "/feed/rss", "/feed"):
        if p.endswith(suffix):
            return p[: -len(suffix)]
    return ""


def _with_query(url: str, params: dict[str, str]) -> str:
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in params]
    return urlunsplit(parts._replace(query=urlencode(query + list(params.items()))))
