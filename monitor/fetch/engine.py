"""The HTTP engine under the Fetcher: aiohttp's connector, spoken to through httpx's transport API.

aiohttp does the HTTP/1.1 (keep-alive, Happy Eyeballs, chunked framing, TLS); the
httpx-aiohttp transport lets the Fetcher keep working with httpx Requests and Responses, so
tests can swap in httpx.MockTransport. What the Fetcher asks of it, and how it is set:

- the connector's resolver is the guard's (guard.py): every address connected to was vetted,
  and aiohttp's DNS cache (a minute) only holds vetted answers;
- decompression is off (the Fetcher inflates in bounded steps, so a gzip bomb stops at the
  cap), redirects are off (the Fetcher follows them, counting and vetting each hop), cookies
  are not kept (a poller is not a browser: no session state across thousands of sites);
- at most `per_host` connections per origin and `concurrency` in all, idle ones closed after
  5 s; a kept connection the server dropped meanwhile is replaced by aiohttp, which sends an
  idempotent request again on a new one;
- header lines up to 64 KiB (real sites send long cookies; aiohttp's default is 8 KiB).
"""

from __future__ import annotations

import ssl

import aiohttp
import httpx
from httpx_aiohttp import AiohttpTransport

from monitor.fetch.guard import GuardedResolver
from monitor.fetch.tls import default_ssl_context

KEEPALIVE = 5.0  # seconds an idle connection is kept for the site's next request
DNS_TTL = 60  # a site's feeds and post pages share one lookup; the resolver's thread pool is small
MAX_LINE = 64 * 1024


def transport(*, concurrency: int, per_host: int, guard: bool,
              ssl_context: ssl.SSLContext | None = None) -> httpx.AsyncBaseTransport:
    """An httpx transport over one aiohttp session; created lazily, inside the running loop."""
    context = ssl_context or default_ssl_context()

    def session() -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(
            limit=max(1, concurrency), limit_per_host=max(1, per_host), ssl=context,
            resolver=GuardedResolver(guard=guard), ttl_dns_cache=DNS_TTL, keepalive_timeout=KEEPALIVE)
        return aiohttp.ClientSession(
            connector=connector, cookie_jar=aiohttp.DummyCookieJar(), auto_decompress=False,
            trust_env=False, max_line_size=MAX_LINE, max_field_size=MAX_LINE)

    # verify=context: the transport's own context is unused (the session's connector has one),
    # and passing ours saves building another from the CA bundle.
    return AiohttpTransport(verify=context, trust_env=False, client=session)
