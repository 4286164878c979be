"""Feeds: parse RSS/Atom/RDF/JSON Feed into entries; find a blog's feed from its home page."""

from __future__ import annotations

import calendar
import hashlib
import importlib.util
import json
import re
from collections import Counter
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from urllib.parse import urljoin, urlsplit

import feedparser
from selectolax.lexbor import LexborHTMLParser

from monitor.errors import MonitorError

# feedparser asks xml.sax for the libxml2 driver first: when it is not installed (the usual case)
# that is a failed import, a search of sys.path, on every parse. Expat, the fallback, is used then.
if importlib.util.find_spec("drv_libxml2") is None:
    feedparser.api.PREFERRED_XML_PARSERS = []

FEED_TYPES = (
    "application/rss+xml", "application/atom+xml", "application/rdf+xml",
    "application/feed+json", "application/json", "text/xml", "application/xml",
)


class FeedError(MonitorError):
    """A body that is not a feed we can read."""


@dataclass(frozen=True, slots=True)
class Entry:
    guid: str  # identity within its feed: the GUID, else the link, else hash(link, date, title)
    url: str
    title: str
    published: datetime | None
    content_html: str  # full content when the feed carries it (content:encoded, atom content)
    summary_html: str

    @property
    def entry_hash(self) -> str:
        """What the feed says about the post; a change means the post was edited."""
        return _hash(self.url, self.title, self.content_html, self.summary_html)[7:]


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    title: str
    link: str
    entries: tuple[Entry, ...]
    ttl_minutes: int | None = None
    generator: str = ""  # "Blogger", "https://wordpress.org/?v=6.4" …: how to page back
    total_results: int | None = None  # Blogger's openSearch:totalResults


def looks_like_html(body: bytes, content_type: str | None) -> bool:
    ct = (content_type or "").lower()
    if "html" in ct and "xml" not in ct:
        return True
    head = body[:1024].lstrip().lower()
    return head.startswith((b"<!doctype html", b"<html"))


def parse_feed(body: bytes, url: str, content_type: str | None = None) -> ParsedFeed:
    ct = (content_type or "").lower()
    stripped = body.lstrip()
    if "json" in ct or stripped.startswith(b"{"):
        return _parse_json_feed(body, url)
    body, content_type = _trust_utf8(body, content_type)
    headers = {"content-type": content_type} if content_type else {}
    parsed = _feedparser(body, headers)
    if not parsed.entries and parsed.get("bozo") and (repaired := _repair(body)) != body:
        parsed = _feedparser(repaired, headers)
    entries = []
    for e in parsed.entries:
        link = _entry_link(e, url)
        content = ""
        if e.get("content"):
            content = max((c.get("value", "") for c in e.content), key=len)
        summary = e.get("summary", "") or ""
        published = _time(e.get("published_parsed") or e.get("updated_parsed"))
        if not link:
            continue  # an entry with no link cannot be fetched or cited
        entries.append(Entry(str(e.get("id") or "").strip(), link, e.get("title", "") or "", published,
                             content, summary))
    if not entries and (not parsed.version or parsed.get("bozo")):
        # Real feeds are often slightly malformed and still readable; one that yields no
        # usable entry and is malformed (or has no feed element at all) is an error.
        reason = parsed.get("bozo_exception")
        raise FeedError(f"{url}: not a feed ({reason or 'no feed elements found'})")
    ttl = parsed.feed.get("ttl")
    return ParsedFeed(
        title=parsed.feed.get("title", "") or "",
        link=parsed.feed.get("link", "") or url,
        entries=_identify(entries),
        ttl_minutes=_ttl(ttl),
        generator=str(parsed.feed.get("generator", "") or ""),
        total_results=_int(parsed.feed.get("opensearch_totalresults")),
    )


def _feedparser(body: bytes, headers: dict[str, str]) -> feedparser.FeedParserDict:
    # No HTML sanitising or URI rewriting: the extractor reads the HTML itself and nothing here
    # is displayed; sanitising was most of feedparser's time on full-content feeds.
    return feedparser.parse(body, response_headers=headers, sanitize_html=False,
                            resolve_relative_uris=False)


_DIGITS = re.compile(r"\s*([0-9]+)\s*")  # ASCII only: "²".isdigit() is True and int("²") fails
MAX_TTL_MINUTES = 7 * 24 * 60  # a <ttl> beyond a week counts as a week (the poller caps at a day)


def _int(value: object) -> int | None:
    m = _DIGITS.fullmatch(value) if isinstance(value, str) else None
    return int(m.group(1)) if m else None


def _ttl(value: object) -> int | None:
    """<ttl> minutes, clamped: 99999999999999999999 is a week, not an error; junk is no hint."""
    minutes = _int(value)
    return None if minutes is None else min(minutes, MAX_TTL_MINUTES)


_XML_DECL = re.compile(rb"^(\s*<\?xml[^>]*?encoding\s*=\s*)([\"'])[^\"']*\2", re.I)
_DECLARED = re.compile(rb"^\s*<\?xml[^>]*?encoding\s*=\s*[\"']([^\"']*)", re.I)


_ANY_DECL = re.compile(rb"<\?xml[^<>]*?\?>")
_RSS_PREFIX = re.compile(rb"<(/?)rss:")


def _repair(body: bytes) -> bytes:
    """Second try for a feed that yielded nothing: the damage real feeds show most.

    XML declarations that are doubled, garbled or not first (after a comment), and RSS elements
    written with an undeclared `rss:` prefix (`<rss:item>`).
    """
    encoding = m.group(1) if (m := _DECLARED.search(body[:500])) else b"utf-8"
    body = _ANY_DECL.sub(b"", body[:2000], count=3) + body[2000:]
    body = b'<?xml version="1.0" encoding="' + encoding + b'"?>' + body.lstrip()
    if b"xmlns:rss" not in body:
        body = _RSS_PREFIX.sub(rb"<\1", body).replace(b"rss:version=", b"version=")
    return body


def _trust_utf8(body: bytes, content_type: str | None) -> tuple[bytes, str | None]:
    """A body that is valid UTF-8 (with non-ASCII bytes) is read as UTF-8 whatever it declares.

    The commonest wrong charset is UTF-8 served as ISO-8859-1 or windows-1252 (by the HTTP
    header or the XML prolog): taken at its word it turns "café" into "cafÃ©". Valid multi-byte
    UTF-8 almost never happens by chance in a single-byte text, so the bytes are the better
    witness. (The reverse, single-byte text declared UTF-8, feedparser already repairs.)
    """
    declared = " ".join(filter(None, [
        (content_type or "").lower().partition("charset=")[2].strip(" \"'"),
        (m.group(1).decode("ascii", "replace").lower() if (m := _DECLARED.match(body[:200])) else "")]))
    if not declared or declared.replace("utf-8", "").replace("utf8", "").strip() == "" or body.isascii():
        return body, content_type
    if body.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in body[:4]:
        return body, content_type  # UTF-16/32: feedparser reads the byte order mark
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return body, content_type
    body = _XML_DECL.sub(lambda m: m.group(1) + m.group(2) + b"utf-8" + m.group(2), body, count=1)
    media = (content_type or "application/xml").split(";")[0].strip()
    return body, f"{media}; charset=utf-8"


def _parse_json_feed(body: bytes, url: str) -> ParsedFeed:
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as e:
        raise FeedError(f"{url}: not a JSON feed ({e})") from None
    if not isinstance(data, dict) or "items" not in data:
        raise FeedError(f"{url}: JSON without an 'items' list is not a JSON Feed")
    entries = []
    for item in data.get("items") or []:
        if not isinstance(item, dict):
            continue
        link = urljoin(url, item.get("url") or item.get("external_url") or "")
        if not link:
            continue
        published = None
        if item.get("date_published"):
            try:
                published = datetime.fromisoformat(str(item["date_published"]).replace("Z", "+00:00"))
            except ValueError:
                published = None
        content = item.get("content_html") or ""
        if not content and item.get("content_text"):
            content = "".join(f"<p>{_escape(p)}</p>" for p in str(item["content_text"]).split("\n\n"))
        entries.append(Entry(str(item.get("id") or "").strip(), link, str(item.get("title") or ""),
                             published, str(content), str(item.get("summary") or "")))
    return ParsedFeed(str(data.get("title") or ""), str(data.get("home_page_url") or url), _identify(entries))


def _identify(entries: list[Entry]) -> tuple[Entry, ...]:
    """Give every entry an identity unique in its feed.

    The GUID when the feed gives one to this entry alone; when it is missing or reused (some
    generators repeat one GUID for every item) the link; when links repeat too, a hash of link,
    date and title. Duplicate entries (same identity and content) are dropped.
    """
    guids = Counter(e.guid for e in entries if e.guid)
    links = Counter(e.url for e in entries)
    out: dict[str, Entry] = {}
    for e in entries:
        if e.guid and guids[e.guid] == 1:
            key = e.guid
        elif links[e.url] == 1:
            key = e.url
        else:
            key = _hash(e.url, str(e.published), e.title)
        out.setdefault(key[:2048], replace(e, guid=key[:2048]))
    return tuple(out.values())


def discover(html: str, page_url: str) -> list[str]:
    """Feed URLs for a blog home page: declared alternates first, then well-known paths."""
    tree = LexborHTMLParser(html)
    found: list[str] = []
    for link in tree.css("link[rel]"):
        rel = (link.attributes.get("rel") or "").lower().split()
        typ = (link.attributes.get("type") or "").lower()
        href = link.attributes.get("href")
        if "alternate" in rel and href and typ in FEED_TYPES and "comments" not in href:
            found.append(urljoin(page_url, href))
    root = f"{urlsplit(page_url).scheme}://{urlsplit(page_url).netloc}"
    generator = (tree.css_first('meta[name="generator"]') or None)
    gen = (generator.attributes.get("content") or "").lower() if generator else ""
    if "blogger" in gen or ".blogspot." in root:
        found.append(root + "/feeds/posts/default")
    if "wordpress" in gen:
        found.append(root + "/feed/")
    # Common paths last: the caller tries each until one parses.
    found += [root + p for p in ("/feed", "/rss", "/atom.xml", "/feed.xml", "/rss.xml", "/index.xml")]
    return list(dict.fromkeys(found))


def _entry_link(e: feedparser.FeedParserDict, base: str) -> str:
    for link in e.get("links", []):
        if link.get("rel") == "alternate" and link.get("href"):
            return urljoin(base, link["href"])
    return urljoin(base, e.get("link", "")) if e.get("link") else ""


def _time(t: object) -> datetime | None:
    if not t:
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(t), tz=timezone.utc)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        return None


def _hash(*parts: str) -> str:
    return "sha256:" + hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def _escape(s: str) -> str:
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
