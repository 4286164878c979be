"""The process's TLS client context (certificate verification), shared by feeds and webhooks."""

from __future__ import annotations

import functools
import ssl

import httpx


@functools.cache
def default_ssl_context() -> ssl.SSLContext:
    """httpx's default verification (certifi's CA bundle), built once per process: reading the
    bundle costs about 20 ms, too much for every cycle."""
    return httpx.create_ssl_context(trust_env=False)
