"""HTTP/1.1 for the poller: h11 over asyncio streams, one small connection pool per site.

Why not httpx's default transport: a poller of thousands of feeds on two cores is CPU-bound,
and httpcore spent most of that CPU. Its pool re-scans all of its connections whenever a
request starts or ends (quadratic in the pool's size, encode/httpcore#1035), and its anyio
layers cost more than the HTTP itself: bench/poll.py measured about 0.5 ms of CPU per request
through httpx and httpcore against 0.15 ms here. The protocol is h11's (the state machine
httpcore uses too), the sockets are asyncio's, the bookkeeping a few dicts:

- each origin (scheme, host, port) has its own pool of at most `per_host` connections, and
  keeps at most one idle connection alive between requests;
- pools are kept in least-recently-used order: those idle past the keep-alive expiry, and the
  least recently used idle ones beyond `max_pools`, are closed, so open sockets stay bounded;
- a kept connection that the server closed meanwhile is dropped before reuse, and a request
  that fails on a reused connection before any byte of response arrives is sent once more on
  a new one (a server may close an idle connection at any time, RFC 9112 §9.5);
- a host's addresses are looked up once a minute at most (its feeds and post pages share the
  lookup); with `guard`, every address is vetted and the vetted address is what is connected
  to (guard.py), for every connection, redirects included.

It is an httpx transport, so the Fetcher works with httpx Requests and Responses and tests can
swap in httpx.MockTransport. Only what a poller needs: HTTP/1.1, no proxies, no HTTP/2.
"""

from __future__ import annotations

import asyncio
import functools
import ssl
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Mapping

import h11
import httpx

from monitor.fetch.guard import addresses_of, public_addresses

READ_SIZE = 64 * 1024
MAX_HEAD = 100 * 1024  # response head size; h11's 16 KiB default refuses real sites' cookies
DNS_TTL = 60.0  # a site's feeds and post pages share one lookup; the resolver's thread pool is small
DNS_ENTRIES = 4096


@functools.cache
def default_ssl_context() -> ssl.SSLContext:
    """httpx's default verification (certifi's CA bundle), built once per process."""
    return httpx.create_ssl_context(trust_env=False)


class _Stale(Exception):
    """A reused connection was closed by the server before it answered: safe to send again."""


class _Connection:
    __slots__ = ("reader", "writer", "h11", "idle_since")

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.h11 = h11.Connection(h11.CLIENT, max_incomplete_event_size=MAX_HEAD)
        self.idle_since = 0.0

    def usable(self, now: float, expiry: float) -> bool:
        return (now - self.idle_since <= expiry and not self.reader.at_eof()
                and not self.writer.is_closing())

    def close(self) -> None:
        self.writer.close()  # not awaited: a TLS peer that never answers close_notify must not hold us


class _Pool:
    __slots__ = ("slots", "idle", "active", "used_at")

    def __init__(self, per_host: int) -> None:
        self.slots = asyncio.Semaphore(per_host)  # connections open for requests under way
        self.idle: _Connection | None = None
        self.active = 0  # requests started and responses not yet closed, waiting ones included
        self.used_at = time.monotonic()


class HostPoolTransport(httpx.AsyncBaseTransport):
    """An httpx transport speaking HTTP/1.1 through one small pool per origin."""

    def __init__(self, per_host: int, max_pools: int, keepalive_expiry: float = 5.0,
                 guard: bool = False, ssl_context: ssl.SSLContext | None = None) -> None:
        self._per_host = max(1, per_host)
        self._max_pools = max(1, max_pools)
        self._expiry = keepalive_expiry
        self._guard = guard
        self._ssl = ssl_context or default_ssl_context()
        self._pools: OrderedDict[tuple[bytes, bytes, int | None], _Pool] = OrderedDict()
        self._dns: dict[tuple[str, int], tuple[float, list[str]]] = {}
        self._closed = False

    @property
    def pool_count(self) -> int:
        return len(self._pools)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        key = (url.raw_scheme, url.raw_host, url.port)
        pool = self._pools.get(key)
        if pool is None:
            # In the table before any await, so concurrent requests to the site share it.
            self._close_idle()
            pool = self._pools[key] = _Pool(self._per_host)
        else:
            self._pools.move_to_end(key)
        pool.active += 1
        pool.used_at = time.monotonic()
        timeouts: Mapping[str, float | None] = request.extensions.get("timeout", {})
        try:
            try:
                async with asyncio.timeout(timeouts.get("pool")):
                    await pool.slots.acquire()
            except TimeoutError:
                raise httpx.PoolTimeout(f"no free connection to {url.host} in time", request=request) from None
            try:
                return await self._send(pool, request, timeouts)
            except BaseException:
                pool.slots.release()
                raise
        except BaseException:
            pool.active -= 1
            raise

    async def _send(self, pool: _Pool, request: httpx.Request,
                    timeouts: Mapping[str, float | None]) -> httpx.Response:
        conn, pool.idle = pool.idle, None
        if conn is not None:
            if conn.usable(time.monotonic(), self._expiry):
                try:
                    return await self._exchange(pool, conn, request, timeouts, reused=True)
                except _Stale:
                    pass  # closed by the server while idle: once more, on a new connection
            else:
                conn.close()
        conn = await self._connect(request, timeouts.get("connect"))
        return await self._exchange(pool, conn, request, timeouts, reused=False)

    async def _connect(self, request: httpx.Request, timeout: float | None) -> _Connection:
        url = request.url
        host = url.raw_host.decode("ascii")  # IDNA-encoded already
        tls = url.scheme == "https"
        port = url.port or (443 if tls else 80)
        try:
            async with asyncio.timeout(timeout):
                addresses = await self._resolve(host, port)
                for i, address in enumerate(addresses):
                    try:
                        reader, writer = await asyncio.open_connection(
                            address, port, ssl=self._ssl if tls else None,
                            server_hostname=host if tls else None, limit=READ_SIZE)
                        return _Connection(reader, writer)
                    except ssl.SSLError:
                        raise  # the certificate is the site's, whichever address answered
                    except OSError:
                        if i == len(addresses) - 1:
                            raise
        except TimeoutError:
            raise httpx.ConnectTimeout(f"connecting to {host}:{port} timed out after {timeout:g} s",
                                       request=request) from None
        except ssl.SSLCertVerificationError as e:
            raise httpx.ConnectError(f"TLS certificate of {host} not accepted: {e.verify_message}",
                                     request=request) from None
        except ssl.SSLError as e:
            raise httpx.ConnectError(f"TLS with {host} failed: {e.reason or e}", request=request) from None
        except OSError as e:
            raise httpx.ConnectError(f"cannot connect to {host}:{port}: {e.strerror or e}",
                                     request=request) from None
        raise AssertionError("unreachable")  # pragma: no cover

    async def _resolve(self, host: str, port: int) -> list[str]:
        """The addresses to connect to, looked up at most once a minute per host. With the
        guard they are the vetted ones, and those are what is connected to (no second lookup
        that could rebind). A refused or failed lookup is not cached."""
        now = time.monotonic()
        cached = self._dns.get((host, port))
        if cached is not None and cached[0] > now:
            return cached[1]
        addresses = await (public_addresses if self._guard else addresses_of)(host, port)
        if len(self._dns) >= DNS_ENTRIES:
            self._dns.clear()
        self._dns[(host, port)] = (now + DNS_TTL, addresses)
        return addresses

    async def _exchange(self, pool: _Pool, conn: _Connection, request: httpx.Request,
                        timeouts: Mapping[str, float | None], reused: bool) -> httpx.Response:
        c = conn.h11
        try:
            out = [c.send(h11.Request(method=request.method, target=request.url.raw_path,
                                      headers=request.headers.raw))]
            async for chunk in request.stream:  # type: ignore[union-attr]
                if chunk:
                    out.append(c.send(h11.Data(data=chunk)))
            out.append(c.send(h11.EndOfMessage()))
        except h11.LocalProtocolError as e:
            conn.close()
            raise httpx.LocalProtocolError(str(e), request=request) from None
        try:
            conn.writer.write(b"".join(out))  # type: ignore[arg-type]
            async with asyncio.timeout(timeouts.get("write")):
                await conn.writer.drain()
        except (OSError, TimeoutError) as e:
            conn.close()
            if reused and isinstance(e, OSError):
                raise _Stale from None
            if isinstance(e, TimeoutError):
                raise httpx.WriteTimeout("timed out sending the request", request=request) from None
            raise httpx.WriteError(f"sending the request failed: {e}", request=request) from None
        read_timeout = timeouts.get("read")
        heard = False
        while True:
            try:
                event = c.next_event()
                if event is h11.NEED_DATA:
                    data = await _read(conn, read_timeout)
                    if not data and not heard:
                        conn.close()
                        if reused:
                            raise _Stale
                        raise httpx.RemoteProtocolError("the server closed the connection without answering",
                                                        request=request)
                    heard = True
                    c.receive_data(data)
                    continue
            except ConnectionError:
                conn.close()
                if reused and not heard:
                    raise _Stale from None
                raise httpx.ReadError("the connection was reset", request=request) from None
            except TimeoutError:
                conn.close()
                raise httpx.ReadTimeout(f"no answer within {read_timeout:g} s", request=request) from None
            except h11.RemoteProtocolError as e:
                conn.close()
                raise httpx.RemoteProtocolError(f"malformed response: {e}", request=request) from None
            except BaseException:
                conn.close()
                raise
            if isinstance(event, h11.Response):
                break
            if isinstance(event, h11.ConnectionClosed):
                conn.close()
                raise httpx.RemoteProtocolError("the server closed the connection without answering",
                                                request=request)
            # InformationalResponse (1xx): the real answer follows.
        return httpx.Response(
            status_code=event.status_code, headers=list(event.headers),
            stream=_Body(self, pool, conn, request, read_timeout),
            extensions={"http_version": b"HTTP/1.1", "reason_phrase": bytes(event.reason)})

    def _release(self, pool: _Pool, conn: _Connection, complete: bool) -> None:
        """The response was closed: keep its connection for the site's next request, or close it."""
        pool.active -= 1
        pool.used_at = time.monotonic()
        pool.slots.release()
        c = conn.h11
        if (complete and not self._closed and pool.idle is None
                and c.our_state is h11.DONE and c.their_state is h11.DONE):
            c.start_next_cycle()
            conn.idle_since = pool.used_at
            pool.idle = conn
        else:
            conn.close()

    def _close_idle(self) -> None:
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
        for key in closing:
            idle = self._pools.pop(key).idle
            if idle is not None:
                idle.close()

    async def aclose(self) -> None:
        self._closed = True
        pools, self._pools = list(self._pools.values()), OrderedDict()
        for pool in pools:
            if pool.idle is not None:
                pool.idle.close()
                pool.idle = None
        await asyncio.sleep(0)  # let the transports finish closing their sockets


async def _read(conn: _Connection, timeout: float | None) -> bytes:
    async with asyncio.timeout(timeout):
        return await conn.reader.read(READ_SIZE)


class _Body(httpx.AsyncByteStream):
    """The response body, read as the caller iterates; closing it frees the connection."""

    def __init__(self, transport: HostPoolTransport, pool: _Pool, conn: _Connection,
                 request: httpx.Request, read_timeout: float | None) -> None:
        self._transport = transport
        self._pool = pool
        self._conn: _Connection | None = conn
        self._request = request
        self._timeout = read_timeout
        self._complete = False

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self  # an iterator object, not a generator: nothing to finalise when abandoned

    async def __anext__(self) -> bytes:
        conn = self._conn
        if conn is None or self._complete:
            raise StopAsyncIteration
        c = conn.h11
        try:
            while True:
                event = c.next_event()
                if event is h11.NEED_DATA:
                    c.receive_data(await _read(conn, self._timeout))
                elif type(event) is h11.Data:
                    return bytes(event.data)
                elif type(event) is h11.EndOfMessage:
                    self._complete = True
                    raise StopAsyncIteration
                else:  # ConnectionClosed before the end of the message
                    raise h11.RemoteProtocolError("the connection closed mid-body")
        except TimeoutError:
            raise httpx.ReadTimeout(f"no data within {self._timeout:g} s", request=self._request) from None
        except h11.RemoteProtocolError as e:
            raise httpx.RemoteProtocolError(f"incomplete response: {e}", request=self._request) from None
        except ConnectionError:
            raise httpx.ReadError("the connection was reset mid-body", request=self._request) from None

    async def aclose(self) -> None:
        if self._conn is not None:
            conn, self._conn = self._conn, None
            if not self._complete:
                self._complete = _drain_received(conn.h11)
            self._transport._release(self._pool, conn, self._complete)  # noqa: SLF001


def _drain_received(c: h11.Connection) -> bool:
    """Skip an unread body if it has all arrived already (a 304, a short error page, a
    redirect), so the connection can be kept; never waits for more."""
    try:
        while True:
            event = c.next_event()
            if type(event) is h11.EndOfMessage:
                return True
            if type(event) is not h11.Data:
                return False  # NEED_DATA (more is on the way), or the connection closed
    except h11.RemoteProtocolError:
        return False
