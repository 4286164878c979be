"""Platforms that take copyright complaints through their own form rather than by email to an
abuse address: recognised by the copy's host, or by the page's generator meta tag."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from selectolax.lexbor import LexborHTMLParser


@dataclass(frozen=True, slots=True)
class Platform:
    name: str
    form: str  # where the platform asks for copyright complaints
    hosts: tuple[str, ...]  # the host or any subdomain of these
    generators: tuple[str, ...]  # lower-case prefixes of <meta name="generator">


PLATFORMS = (
    Platform("Blogger", "https://support.google.com/legal/troubleshooter/1114905",
             ("blogspot.com", "blogger.com"), ("blogger",)),
    Platform("WordPress.com", "https://automattic.com/dmca-notice/", ("wordpress.com",), ("wordpress.com",)),
    Platform("Medium", "https://help.medium.com/hc/en-us/requests/new", ("medium.com",), ("medium",)),
    Platform("Tumblr", "https://www.tumblr.com/dmca", ("tumblr.com",), ("tumblr",)),
)


def generator(page: bytes | str | None) -> str | None:
    if not page:
        return None
    meta = LexborHTMLParser(page[:200_000]).css_first('meta[name="generator" i]')
    value = meta.attributes.get("content") if meta is not None else None
    return value.strip() if value else None


def platform_of(url: str, page: bytes | str | None = None) -> Platform | None:
    host = (urlsplit(url).hostname or "").lower().rstrip(".")
    for p in PLATFORMS:
        if any(host == h or host.endswith("." + h) for h in p.hosts):
            return p
    # A blog on its own domain still runs on the platform (WordPress.com's custom domains, Blogger's).
    made_by = (generator(page) or "").lower()
    for p in PLATFORMS:
        if made_by and any(made_by.startswith(g) for g in p.generators):
            return p
    return None
