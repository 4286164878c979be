"""HTTP fetching with the limits a long-running poller needs.

Conditional GET, a streamed body cap, manual redirects (counted, each target checked against the
private-network guard), robots.txt, per-host and global concurrency caps.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import time
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from urllib.parse import urljoin, urlsplit

import httpx
from protego import Protego


class FetchError(Exception):
    """A URL could not be fetched; the message says why, for logs and `feeds list`."""

    status = "error"

    def __init__(self, url: str, message: str) -> None:
        super().__init__(f"{url}: {message}")
        self.url = url


class BlockedError(FetchError):
    """Refused before any request: private network, robots.txt, or not http(s)."""

    status = "blocked"


class HTTPStatusError(FetchError):
    def __init__(self, url: str, code: int, retry_after: float | None = None) -> None:
        super().__init__(url, f"HTTP {code}")
        self.code = code
        self.retry_after = retry_after
        self.status = str(code)


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


@dataclass
class FetchSettings:
    user_agent: str = "ReuseMonitor/0.1"
    timeout: float = 20.0
    max_bytes: int = 15 * 1024 * 1024
    max_redirects: int = 5
    concurrency: int = 16
    per_host: int = 2
    respect_robots: bool = True
    allow_private_networks: bool = False


@dataclass
class Fetcher:
    """One shared client; use as `async with Fetcher(settings) as f: await f.get(url)`."""

    settings: FetchSettings = field(default_factory=FetchSettings)
    transport: httpx.AsyncBaseTransport | None = None  # tests may inject one

    def __post_init__(self) -> None:
        self._client: httpx.AsyncClient | None = None
        self._global = asyncio.Semaphore(self.settings.concurrency)
        self._hosts: dict[str, asyncio.Semaphore] = {}
        self._robots: dict[str, tuple[float, Protego | None]] = {}

    async def __aenter__(self) -> Fetcher:
        s = self.settings
        self._client = httpx.AsyncClient(
            headers={"User-Agent": s.user_agent, "Accept-Encoding": "gzip, deflate"},
            timeout=httpx.Timeout(s.timeout, connect=min(10.0, s.timeout)),
            follow_redirects=False,
            transport=self.transport,
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._client is not None:
            await self._client.aclose()

    async def get(self, url: str, etag: str | None = None, last_modified: str | None = None,
                  accept: str = "*/*", check_robots: bool = True) -> Fetched:
        assert self._client is not None, "use Fetcher as an async context manager"
        headers = {"Accept": accept}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        current, hops, permanent = url, 0, True
        for _ in range(self.settings.max_redirects + 1):
            await self._guard(current)
            if check_robots and self.settings.respect_robots and not await self._allowed(current):
                raise BlockedError(current, "disallowed by robots.txt")
            host = urlsplit(current).hostname or ""
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
        assert self._client is not None
        try:
            async with self._client.stream("GET", url, headers=headers) as r:
                if r.status_code in (301, 302, 303, 307, 308) and "location" in r.headers:
                    return r.status_code, r.headers["location"]
                if r.status_code == 304:
                    return self._fetched(url, r, b"")
                if r.status_code >= 400:
                    raise HTTPStatusError(url, r.status_code, _retry_after(r.headers.get("retry-after")))
                declared = r.headers.get("content-length")
                if declared and declared.isdigit() and int(declared) > self.settings.max_bytes:
                    raise TooLargeError(url, f"body of {declared} bytes exceeds the {self.settings.max_bytes}-byte cap")
                chunks, size = [], 0
                # aiter_bytes decompresses as it goes, so the cap also stops decompression bombs.
                async for chunk in r.aiter_bytes():
                    size += len(chunk)
                    if size > self.settings.max_bytes:
                        raise TooLargeError(url, f"body exceeds the {self.settings.max_bytes}-byte cap")
                    chunks.append(chunk)
                return self._fetched(url, r, b"".join(chunks))
        except FetchError:
            raise
        except httpx.TimeoutException:
            raise FetchError(url, f"timed out after {self.settings.timeout:g} s") from None
        except httpx.HTTPError as e:
            raise FetchError(url, f"{type(e).__name__}: {e}") from None

    def _fetched(self, url: str, r: httpx.Response, body: bytes) -> Fetched:
        return Fetched(
            url=url, status=r.status_code, body=body,
            content_type=r.headers.get("content-type"),
            etag=r.headers.get("etag"), last_modified=r.headers.get("last-modified"),
            fetched_at=datetime.now(timezone.utc),
            retry_after=_retry_after(r.headers.get("retry-after")),
            max_age=_max_age(r.headers),
        )

    async def _guard(self, url: str) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise BlockedError(url, "only http and https URLs can be fetched")
        if self.settings.allow_private_networks:
            return
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(parts.hostname, parts.port or 80,
                                                                 type=socket.SOCK_STREAM)
        except socket.gaierror as e:
            raise FetchError(url, f"cannot resolve {parts.hostname}: {e.strerror}") from None
        for info in infos:
            ip = ipaddress.ip_address(info[4][0])
            if not ip.is_global:
                raise BlockedError(url, f"{parts.hostname} resolves to non-public address {ip} "
                                        "(set fetch.allow_private_networks to allow)")

    async def _allowed(self, url: str) -> bool:
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        cached = self._robots.get(origin)
        if cached is None or cached[0] < time.monotonic():
            rules: Protego | None = None
            try:
                r = await self.get(origin + "/robots.txt", check_robots=False, accept="text/plain")
                if r.status == 200:
                    rules = Protego.parse(r.body.decode("utf-8", errors="replace"))
            except HTTPStatusError as e:
                # RFC 9309: unavailable (4xx) means no rules; unreachable (5xx) means assume disallowed.
                rules = Protego.parse("User-agent: *\nDisallow: /") if e.code >= 500 else None
            except FetchError:
                rules = None
            cached = (time.monotonic() + 24 * 3600, rules)
            self._robots[origin] = cached
        rules = cached[1]
        return rules is None or rules.can_fetch(url, self.settings.user_agent)


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    if value.strip().isdigit():
        return float(value.strip())
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())


def _max_age(headers: httpx.Headers) -> float | None:
    for part in headers.get("cache-control", "").split(","):
        name, _, value = part.strip().partition("=")
        if name.lower() == "max-age" and value.strip().isdigit():
            return float(value)
    expires = headers.get("expires")
    return _retry_after(expires) if expires else None
