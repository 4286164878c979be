"""Platforms that take copyright complaints through their own form rather than by email to an
abuse address: recognised by the copy's host, or by the page's generator meta tag."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from selectolax.lexbor import LexborHTMLParser


@dataclass(frozen=True, slots=True)
class Platform:
    name: str
    form: str  # where the platform takes copyright complaints (its form, or the policy page naming it)
    hosts: tuple[str, ...]  # the host or any subdomain of these
    generators: tuple[str, ...]  # lower-case prefixes of <meta name="generator">


# Each address checked against the platform's own pages (stored copies, 2026-11):
# - Blogger: Blogger Help "Report inappropriate content" (support.google.com/blogger/answer/76315)
#   sends "Someone is copying my content" to Google's DMCA notice, filed through Google's legal
#   removal troubleshooter, troubleshooter/1114905 ("Report content for legal reasons", where
#   Blogger is one of the products to pick). Blogspot's country domains (blogspot.co.uk, …) too.
# - WordPress.com: its "Copyright and the DMCA" support page (wordpress.com/support/
#   copyright-and-the-dmca/) points to Automattic's DMCA form, automattic.com/dmca-notice/.
# - Medium: its "Copyright and DMCA Policy" (policy.medium.com, post d126f73695, 2023-09) says
#   how notices reach its designated agent; the help-centre "requests/new" address this list
#   had is the general support form, not a copyright one, so the policy page is given instead.
# - Tumblr: its DMCA notice form, tumblr.com/dmca (Tumblr's transparency reports require notices
#   "in accordance with the DMCA"; its Trust and Safety head, as quoted in the press, sends
#   copyright holders to "Tumblr's DMCA form"; copyright tools link this address for it).
PLATFORMS = (
    Platform("Blogger", "https://support.google.com/legal/troubleshooter/1114905",
             ("blogspot.com", "blogger.com"), ("blogger",)),
    Platform("WordPress.com", "https://automattic.com/dmca-notice/", ("wordpress.com",), ("wordpress.com",)),
    Platform("Medium", "https://policy.medium.com/medium-copyright-and-dmca-policy-d126f73695",
             ("medium.com",), ("medium",)),
    Platform("Tumblr", "https://www.tumblr.com/dmca", ("tumblr.com",), ("tumblr",)),
)
# Blogger's country domains: name.blogspot.co.uk, name.blogspot.de, … (the suffix after "blogspot").
_BLOGSPOT = re.compile(r"(^|\.)blogspot(\.[a-z]{2,3}){1,2}$")


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
    if _BLOGSPOT.search(host):
        return PLATFORMS[0]
    # A blog on its own domain still runs on the platform (WordPress.com's custom domains, Blogger's).
    made_by = (generator(page) or "").lower()
    for p in PLATFORMS:
        if made_by and any(made_by.startswith(g) for g in p.generators):
            return p
    return None
