"""One small connection pool per origin, instead of one large pool for every site.

httpcore's pool re-scans all of its connections, several times over, whenever a request starts
or ends (`_assign_requests_to_connections`: quadratic in the pool's size, see
encode/httpcore#1035, unmerged). A poller talks to thousands of sites a few requests at a time,
so one pool sized for the global cap spent most of a cycle's CPU in that scan, and still could
not keep a site's connection alive (64 connections shared by hundreds of sites).

Here each origin (scheme, host, port) has its own pool of at most `per_host` connections, so a
scan looks at one or two connections. The pools are kept in least-recently-used order: a pool
idle for longer than the keep-alive expiry is closed, and beyond `max_pools` the least recently
used idle pools are closed; a pool keeps one idle connection alive. So the open sockets stay
bounded (about `max_pools` plus those in use) however many sites are polled.
One TLS context is shared by every pool of the process (building one reads the CA bundle).
"""

from __future__ import annotations

import functools
import ssl
import time
from collections import OrderedDict
from collections.abc import AsyncIterator

import httpcore
import httpx


@functools.cache
def default_ssl_context() -> ssl.SSLContext:
    """httpx's default verification (certifi's CA bundle), built once per process."""
    return httpx.create_ssl_context(trust_env=False)


class _Pool:
    __slots__ = ("transport", "active", "used_at")

    def __init__(self, transport: httpx.AsyncHTTPTransport) -> None:
        self.transport = transport
        self.active = 0  # requests sent and responses not yet closed
        self.used_at = time.monotonic()


class _TrackedStream(httpx.AsyncByteStream):
    """The response body; closing it (always done by httpx) marks the pool's request done."""

    def __init__(self, stream: httpx.AsyncByteStream, pool: _Pool) -> None:
        self._stream = stream
        self._pool: _Pool | None = pool

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._stream.__aiter__()  # the pool's own stream: no generator of ours to finalise

    async def aclose(self) -> None:
        try:
            await self._stream.aclose()
        finally:
            if self._pool is not None:
                self._pool.active -= 1
                self._pool.used_at = time.monotonic()
                self._pool = None


class HostPoolTransport(httpx.AsyncBaseTransport):
    """An httpx transport that sends each request through its origin's own small pool.

    `network_backend` (e.g. the private-network guard) is used by every pool to connect.
    """

    def __init__(self, per_host: int, max_pools: int, keepalive_expiry: float = 5.0,
                 network_backend: httpcore.AsyncNetworkBackend | None = None,
                 ssl_context: ssl.SSLContext | None = None) -> None:
        self._per_host = per_host
        self._max_pools = max(1, max_pools)
        self._expiry = keepalive_expiry
        self._backend = network_backend
        self._ssl = ssl_context or default_ssl_context()
        self._pools: OrderedDict[tuple[bytes, bytes, int | None], _Pool] = OrderedDict()

    @property
    def pool_count(self) -> int:
        return len(self._pools)

    def _new_pool(self) -> _Pool:
        limits = httpx.Limits(max_connections=self._per_host, max_keepalive_connections=1,
                              keepalive_expiry=self._expiry)
        transport = httpx.AsyncHTTPTransport(verify=self._ssl, limits=limits, trust_env=False)
        if self._backend is not None:
            # httpx has no public hook for the network backend: its pool is swapped for an
            # identical one that connects through ours (the documented httpcore API).
            transport._pool = httpcore.AsyncConnectionPool(  # noqa: SLF001
                ssl_context=self._ssl, max_connections=self._per_host,
                max_keepalive_connections=1, keepalive_expiry=self._expiry,
                network_backend=self._backend)
        return _Pool(transport)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        key = (url.raw_scheme, url.raw_host, url.port)
        pool = self._pools.get(key)
        created = pool is None
        if pool is None:
            # In the table before any await, so concurrent requests to the site share it.
            pool = self._pools[key] = self._new_pool()
        else:
            self._pools.move_to_end(key)
        pool.active += 1
        pool.used_at = time.monotonic()
        try:
            if created:
                await self._close_idle()  # this pool has a request under way: it stays
            response = await pool.transport.handle_async_request(request)
        except BaseException:
            pool.active -= 1
            raise
        assert isinstance(response.stream, httpx.AsyncByteStream)
        return httpx.Response(status_code=response.status_code, headers=response.headers,
                              stream=_TrackedStream(response.stream, pool),
                              extensions=response.extensions)

    async def _close_idle(self) -> None:
        """Close pools idle past the keep-alive expiry, and the least recently used idle
        ones while there are too many. Pools with a request under way are never closed."""
        now = time.monotonic()
        closing = []
        for key, pool in self._pools.items():  # least recently used first
            expired = now - pool.used_at > self._expiry
            if not expired and len(self._pools) - len(closing) < self._max_pools:
                break
            if pool.active == 0:
                closing.append(key)
        # Taken out of the table before any await: a request starting meanwhile gets a new pool.
        for pool in [self._pools.pop(key) for key in closing]:
            await pool.transport.aclose()

    async def aclose(self) -> None:
        pools, self._pools = list(self._pools.values()), OrderedDict()
        for pool in pools:
            await pool.transport.aclose()
