"""HTTP fetching with the limits a long-running poller needs.

Conditional GET; a per-read timeout and a deadline for the whole response (a server that
trickles bytes is cut off); a body cap on the decoded bytes, with decompression done here in
bounded steps (a gzip bomb never expands in memory); manual redirects (counted, each hop
guarded); robots.txt; per-host and global concurrency caps; the private-network guard applied
where addresses are resolved (see guard.py). The HTTP itself is aiohttp's (engine.py).
Server hints (Retry-After, max-age, Expires) are parsed leniently and clamped: an absurd value
is a long wait, never an error.
"""

from __future__ import annotations

import asyncio
import math
import os
import re
import ssl
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from urllib.parse import urljoin, urlsplit

import aiohttp
import httpx

from monitor.errors import MonitorError
from monitor.fetch import engine
from monitor.fetch.guard import AmbiguousHostError, PrivateAddressError, UnresolvableError, check_host
from monitor.fetch.robots import DISALLOW_ALL, RobotsCache

INFLATE_STEP = 64 * 1024  # decompressed bytes produced per step, so the cap is checked often
ROBOTS_RETRY = 3600.0  # an unreachable robots.txt is asked again after an hour, not a day
MAX_HINT = 7 * 24 * 3600.0  # a server's Retry-After/max-age/Expires beyond a week counts as a week
GONE_BODY_CAP = 1024 * 1024  # the page served with a 404/410 is kept (hashed) up to this size
_SECONDS = re.compile(r"[0-9]+")  # delta-seconds: ASCII digits only ("²".isdigit() is True)


class FetchError(MonitorError):
    """A URL could not be fetched; the message says why, for logs and `feeds list`."""

    status = "error"

    def __init__(self, url: str, message: str) -> None:
        super().__init__(f"{url}: {message}")
        self.url = url


class BlockedError(FetchError):
    """Refused: private network, robots.txt, or not http(s)."""

    status = "blocked"


class FetchTimeout(FetchError):
    status = "timeout"


class HTTPStatusError(FetchError):
    def __init__(self, url: str, code: int, retry_after: float | None = None, body: bytes | None = None) -> None:
        super().__init__(url, f"HTTP {code}")
        self.code = code
        self.retry_after = retry_after
        self.status = str(code)
        self.body = body  # the page served with a 404 or 410 (evidence of a removal); None otherwise


class TooLargeError(FetchError):
    status = "too-large"


@dataclass(frozen=True, slots=True)
class Fetched:
    url: str  # final URL after redirects
    status: int  # 200, or 304 when the conditional GET says unchanged
    body: bytes
    content_type: str | None
    etag: str | None
    last_modified: str | None
    fetched_at: datetime
    permanent_redirect: str | None = None  # the new URL when a 301/308 moved the resource
    retry_after: float | None = None
    max_age: float | None = None  # seconds, from Cache-Control max-age or Expires
    headers: Mapping[str, str] = field(default_factory=dict)  # lower-case names


@dataclass
class FetchSettings:
    user_agent: str = "ReuseMonitor/0.1"
    timeout: float = 20.0  # connect, and each read
    total_timeout: float = 60.0  # the whole response, body included
    max_bytes: int = 15 * 1024 * 1024
    max_redirects: int = 5
    concurrency: int = 16
    per_host: int = 2
    respect_robots: bool = True
    allow_private_networks: bool = False


@dataclass
class Fetcher:
    """One shared transport; use as `async with Fetcher(settings) as f: await f.get(url)`.

    `robots` may outlive the fetcher (the Monitor keeps one), so robots.txt is read once a day
    per site, not once a cycle.
    """

    settings: FetchSettings = field(default_factory=FetchSettings)
    transport: httpx.AsyncBaseTransport | None = None  # tests may inject one
    robots: RobotsCache = field(default_factory=RobotsCache)

    def __post_init__(self) -> None:
        s = self.settings
        self._transport: httpx.AsyncBaseTransport | None = None
        self._global = asyncio.Semaphore(s.concurrency)
        self._hosts: dict[str, asyncio.Semaphore] = {}
        self._robots_locks: dict[str, asyncio.Lock] = {}
        self._timeouts = {"connect": min(10.0, s.timeout), "read": s.timeout, "write": s.timeout, "pool": None}

    async def __aenter__(self) -> Fetcher:
        s = self.settings
        # The transport is called directly: an httpx client's layers (auth, cookies, event
        # hooks, redirects) are unused here and cost as much CPU as the HTTP itself.
        self._transport = self.transport or engine.transport(
            concurrency=s.concurrency, per_host=s.per_host, guard=not s.allow_private_networks)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._transport is not None:
            await self._transport.aclose()
            self._transport = None

    async def get(self, url: str, etag: str | None = None, last_modified: str | None = None,
                  accept: str = "*/*", check_robots: bool = True) -> Fetched:
        assert self._transport is not None, "use Fetcher as an async context manager"
        headers = {"User-Agent": self.settings.user_agent, "Accept": accept, "Accept-Encoding": "gzip, deflate"}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        current, hops, permanent = url, 0, True
        for _ in range(self.settings.max_redirects + 1):
            _check_scheme(current)
            host = urlsplit(current).hostname or ""
            if not self.settings.allow_private_networks:
                _check_literal(current, host)  # names are vetted by the resolver, literals here
            if check_robots and self.settings.respect_robots and not await self._allowed(current):
                raise BlockedError(current, "disallowed by robots.txt")
            sem = self._hosts.setdefault(host, asyncio.Semaphore(self.settings.per_host))
            async with self._global, sem:
                fetched = await self._once(current, headers)
            if isinstance(fetched, Fetched):
                # Only a chain of permanent redirects moves the stored URL.
                if hops and permanent:
                    fetched = replace(fetched, permanent_redirect=current)
                return fetched
            code, location = fetched
            current, hops = urljoin(current, location), hops + 1
            permanent = permanent and code in (301, 308)
        raise FetchError(url, f"more than {self.settings.max_redirects} redirects")

    async def _once(self, url: str, headers: dict[str, str]) -> Fetched | tuple[int, str]:
        try:
            # The per-read timeout does not stop a server sending a byte every few seconds.
            async with asyncio.timeout(self.settings.total_timeout):
                return await self._exchange(url, headers)
        except FetchError:
            raise
        except (PrivateAddressError, AmbiguousHostError) as e:
            raise BlockedError(url, str(e)) from None
        except UnresolvableError as e:
            raise FetchError(url, str(e)) from None
        except zlib.error as e:
            raise FetchError(url, f"corrupt compressed body ({e})") from None
        except httpx.InvalidURL as e:
            raise FetchError(url, f"invalid URL ({e})") from None
        except (httpx.HTTPError, aiohttp.ClientError) as e:  # aiohttp's timeouts are ClientErrors too
            raise self._transport_error(url, e) from None
        except TimeoutError:
            raise FetchTimeout(url, f"no complete response within {self.settings.total_timeout:g} s") from None

    def _transport_error(self, url: str, e: Exception) -> FetchError:
        """One clear error for what went wrong below HTTP. The httpx-aiohttp transport wraps
        aiohttp's exceptions in httpx ones, coarsely (every closed connection is a
        ConnectTimeout there), so the aiohttp exception it came from is what is read."""
        cause = e.__cause__ if isinstance(e, httpx.HTTPError) and isinstance(e.__cause__, Exception) else e
        host = urlsplit(url).hostname
        if isinstance(cause, (TimeoutError, httpx.TimeoutException)):  # aiohttp's are TimeoutErrors
            return FetchTimeout(url, f"timed out after {self.settings.timeout:g} s")
        if isinstance(cause, aiohttp.ClientConnectorCertificateError):
            reason = getattr(cause.certificate_error, "verify_message", None) or cause.certificate_error
            return FetchError(url, f"TLS certificate of {host} not accepted: {reason}")
        if isinstance(cause, aiohttp.ClientConnectorSSLError) or isinstance(cause, ssl.SSLError):
            return FetchError(url, f"TLS with {host} failed: {cause}")
        if isinstance(cause, aiohttp.ClientConnectorError):
            reason = os.strerror(cause.errno) if cause.errno else str(cause.os_error)
            return FetchError(url, f"cannot connect to {cause.host}:{cause.port}: {reason}")
        if isinstance(cause, aiohttp.ServerDisconnectedError):
            return FetchError(url, "the server closed the connection without a complete answer")
        if isinstance(cause, aiohttp.ClientPayloadError):
            return FetchError(url, f"incomplete response: {cause}")
        if isinstance(cause, aiohttp.ClientResponseError):  # a malformed status line or head
            return FetchError(url, f"malformed response: {cause.message}")
        return FetchError(url, f"{type(cause).__name__}: {cause}")

    async def _exchange(self, url: str, headers: dict[str, str]) -> Fetched | tuple[int, str]:
        assert self._transport is not None
        request = httpx.Request("GET", url, headers=headers, extensions={"timeout": self._timeouts})
        r = await self._transport.handle_async_request(request)
        try:
            # Lower-case names, read once: each lookup in httpx.Headers scans every header.
            h = dict(r.headers.items())
            if r.status_code in (301, 302, 303, 307, 308) and "location" in h:
                return r.status_code, h["location"]
            if r.status_code == 304:
                return self._fetched(url, r.status_code, h, b"")
            if r.status_code >= 400:
                gone = None
                if r.status_code in (404, 410):  # what a removed page serves is evidence of the removal
                    try:
                        gone = await self._body(url, r, h, min(self.settings.max_bytes, GONE_BODY_CAP))
                    except (FetchError, zlib.error, httpx.HTTPError, aiohttp.ClientError):
                        gone = None  # the status is the answer; its page is only a detail
                raise HTTPStatusError(url, r.status_code, seconds_until(h.get("retry-after")), body=gone)
            return self._fetched(url, r.status_code, h, await self._body(url, r, h, self.settings.max_bytes))
        finally:
            await r.aclose()  # an unread body closes its connection; a read one keeps it alive

    async def _body(self, url: str, r: httpx.Response, h: dict[str, str], cap: int) -> bytes:
        declared = h.get("content-length")
        if declared and _SECONDS.fullmatch(declared) and int(declared) > cap:
            raise TooLargeError(url, f"body of {declared} bytes exceeds the {cap}-byte cap")
        inflater = Inflater(url, h.get("content-encoding", ""))
        chunks, size = [], 0
        # Raw bytes, decoded here step by step: the cap is checked before memory grows.
        raws = aiter(r.stream)  # type: ignore[arg-type]
        try:
            async for raw in raws:
                for chunk in inflater.feed(raw):
                    size += len(chunk)
                    if size > cap:
                        raise TooLargeError(url, f"body exceeds the {cap}-byte cap"
                                            + (" once decompressed" if inflater.compressed else ""))
                    chunks.append(chunk)
        finally:
            if hasattr(raws, "aclose"):  # a generator left mid-body is closed now, not by the GC
                await raws.aclose()
        chunks.append(inflater.flush())
        return b"".join(chunks)

    def _fetched(self, url: str, status: int, h: dict[str, str], body: bytes) -> Fetched:
        return Fetched(
            url=url, status=status, body=body,
            content_type=h.get("content-type"), etag=h.get("etag"), last_modified=h.get("last-modified"),
            fetched_at=datetime.now(timezone.utc),
            retry_after=seconds_until(h.get("retry-after")),
            max_age=_max_age(h),
            headers=h,
        )

    async def _allowed(self, url: str) -> bool:
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        known, rules = self.robots.get(origin)
        if not known:
            # One fetch per site even when many of its feeds are due together.
            async with self._robots_locks.setdefault(origin, asyncio.Lock()):
                known, rules = self.robots.get(origin)
                if not known:
                    rules = await self._fetch_robots(origin)
        return rules is None or rules.can_fetch(url, self.settings.user_agent)

    async def _fetch_robots(self, origin: str):  # noqa: ANN202 - Protego | None
        try:
            r = await self.get(origin + "/robots.txt", check_robots=False, accept="text/plain")
            text = r.body.decode("utf-8", errors="replace") if r.status == 200 else None
            return self.robots.put(origin, text)
        except HTTPStatusError as e:
            # RFC 9309: unavailable (4xx) means no rules; unreachable (5xx) means assume disallowed.
            if e.code >= 500:
                return self.robots.put(origin, DISALLOW_ALL, ttl=ROBOTS_RETRY)
            return self.robots.put(origin, None)
        except FetchError:
            # Unreachable: the feed fetch that follows will fail and say why.
            return self.robots.put(origin, None, ttl=ROBOTS_RETRY)


class Inflater:
    """Content-Encoding decoding in bounded steps (zlib's max_length), so a small compressed
    body that expands to gigabytes is stopped by the caller's cap after a few steps."""

    def __init__(self, url: str, encoding: str) -> None:
        enc = encoding.strip().lower()
        self._raw_fallback = enc == "deflate"
        if enc in ("", "identity"):
            self._d = None
        elif enc in ("gzip", "x-gzip"):
            self._d = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif enc == "deflate":
            self._d = zlib.decompressobj(zlib.MAX_WBITS | 32)  # zlib wrapper; raw deflate below
        else:
            raise FetchError(url, f"unsupported Content-Encoding {encoding!r}")
        self.compressed = self._d is not None
        self._started = False

    def feed(self, data: bytes) -> Iterator[bytes]:
        if self._d is None:
            yield data
            return
        if not self._started:
            self._started = True
            if self._raw_fallback and data and (data[0] & 0x0F) != 8:
                self._d = zlib.decompressobj(-zlib.MAX_WBITS)  # servers that send raw deflate
        while data:
            out = self._d.decompress(data, INFLATE_STEP)
            if out:
                yield out
            data = self._d.unconsumed_tail

    def flush(self) -> bytes:
        return self._d.flush() if self._d is not None else b""


def _check_scheme(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise BlockedError(url, "only http and https URLs can be fetched")


def _check_literal(url: str, host: str) -> None:
    try:
        check_host(host)
    except (PrivateAddressError, AmbiguousHostError) as e:
        raise BlockedError(url, str(e)) from None


def clamp_hint(seconds: float) -> float:
    """A server's delay hint within 0 … MAX_HINT (NaN counts as none)."""
    return 0.0 if math.isnan(seconds) else min(MAX_HINT, max(0.0, seconds))


def seconds_until(value: str | None) -> float | None:
    """A Retry-After (or Expires) value as seconds from now: delta-seconds or an HTTP date,
    clamped to 0 … MAX_HINT (99999999999999999999 is a week); None when unreadable."""
    if not value:
        return None
    value = value.strip()
    if _SECONDS.fullmatch(value):
        return clamp_hint(float(value))  # float() of a 20-digit number is fine; timedelta() of it is not
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return clamp_hint((when - datetime.now(timezone.utc)).total_seconds())


def _max_age(headers: Mapping[str, str]) -> float | None:
    for part in headers.get("cache-control", "").split(","):
        name, _, value = part.strip().partition("=")
        value = value.strip().strip('"')
        if name.lower() == "max-age" and _SECONDS.fullmatch(value):
            return clamp_hint(float(value))
    expires = headers.get("expires")
    return seconds_until(expires) if expires else None
