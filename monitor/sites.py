"""A copy's site: its registrable domain under the Public Suffix List (private part included,
so each blogspot.com or wordpress.com blog is a site of its own).

tldextract is used with its bundled snapshot of the list only: nothing is fetched at run time.
"""

from __future__ import annotations

from functools import lru_cache
from urllib.parse import urlsplit

import tldextract

_extract = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None, include_psl_private_domains=True)


@lru_cache(maxsize=65536)
def site_of_host(host: str) -> str:
    host = host.strip().strip(".").lower()
    if not host:
        return ""
    parts = _extract(host)
    if parts.suffix and parts.domain:
        return f"{parts.domain}.{parts.suffix}"
    labels = host.split(".")
    if parts.ipv4 or ":" in host or len(labels) < 2:
        return host  # an IP address or a single name (localhost)
    return ".".join(labels[-2:])  # under a suffix the list does not know (.example, .test)


def site_of(url: str) -> str:
    """`https://www.news.bbc.co.uk/a` → `bbc.co.uk`; `https://x.blogspot.com/` → `x.blogspot.com`."""
    try:
        host = urlsplit(url.strip()).hostname
    except ValueError:
        return ""
    return site_of_host(host or "")
