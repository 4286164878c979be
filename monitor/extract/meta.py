"""Page metadata: title, publication date, canonical URL, language."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urljoin

_WS = re.compile(r"\s+")
_TITLE_SUFFIX = re.compile(r"\s+[|\-–—·:»]\s+[^|\-–—·:»]{2,60}$")


@dataclass(frozen=True, slots=True)
class PageInfo:
    title: str
    published: str | None
    canonical_url: str | None
    language: str | None


def _clean(s: str | None) -> str:
    return _WS.sub(" ", s or "").strip()


def read(tree, url: str | None) -> PageInfo:
    metas: dict[str, str] = {}
    for m in tree.css("meta"):
        a = m.attributes
        key = a.get("property") or a.get("name") or a.get("itemprop") or a.get("http-equiv")
        content = a.get("content")
        if key and content and key.lower() not in metas:
            metas[key.lower()] = content
    ld = _json_ld(tree)
    return PageInfo(
        title=_title(tree, metas, ld),
        published=_published(tree, metas, ld),
        canonical_url=_canonical(tree, metas, url),
        language=_language(tree, metas),
    )


def _json_ld(tree) -> dict:
    """First JSON-LD object that looks like an article (or any, as fallback)."""
    found: dict = {}
    for s in tree.css('script[type="application/ld+json"]'):
        try:
            data = json.loads(s.text() or "")
        except (ValueError, RecursionError):
            continue
        stack = [data]
        while stack:
            d = stack.pop()
            if isinstance(d, list):
                stack.extend(d)
            elif isinstance(d, dict):
                if "@graph" in d:
                    stack.append(d["@graph"])
                t = d.get("@type")
                t = " ".join(t) if isinstance(t, list) else str(t or "")
                if re.search(r"Article|Posting|Report|BlogPost|NewsArticle", t):
                    return d
                if not found and ("datePublished" in d or "headline" in d):
                    found = d
    return found


def _title(tree, metas: dict, ld: dict) -> str:
    for sel in ("h1.entry-title", "h1.post-title", "h3.post-title", "h2.post-title", "h1[itemprop=headline]"):
        n = tree.css_first(sel)
        if n is not None:
            t = _clean(n.text())
            if t:
                return t
    for key in ("og:title", "twitter:title"):
        if metas.get(key):
            return _clean(metas[key])
    h = ld.get("headline")
    if isinstance(h, str) and h.strip():
        return _clean(h)
    h1s = tree.css("h1")
    if len(h1s) == 1:
        t = _clean(h1s[0].text())
        if t:
            return t
    n = tree.css_first("title")
    if n is not None:
        t = _clean(n.text())
        # "Post title | Site name" → "Post title"
        return _TITLE_SUFFIX.sub("", t) or t
    return ""


def _normalise_date(s: str) -> str | None:
    s = s.strip()
    if not s:
        return None
    iso = s.replace("Z", "+00:00") if s.endswith("Z") else s
    try:
        return datetime.fromisoformat(iso).isoformat()
    except ValueError:
        pass
    m = re.match(r"(\d{4})-(\d{2})-(\d{2})", s)
    if m:
        try:
            return datetime(int(m[1]), int(m[2]), int(m[3])).date().isoformat()
        except ValueError:
            return None
    try:  # RFC 822 dates, as in some meta tags
        from email.utils import parsedate_to_datetime

        return parsedate_to_datetime(s).isoformat()
    except (TypeError, ValueError, IndexError):
        return None


def _published(tree, metas: dict, ld: dict) -> str | None:
    candidates = [
        metas.get("article:published_time"),
        metas.get("og:published_time"),
        ld.get("datePublished") if isinstance(ld.get("datePublished"), str) else None,
        metas.get("datepublished"),
        metas.get("date"),
        metas.get("dc.date.issued"),
        metas.get("dc.date"),
        metas.get("pubdate"),
        metas.get("sailthru.date"),
        metas.get("parsely-pub-date"),
    ]
    for sel, attr in (
        ("[itemprop=datePublished]", "datetime"),
        ("[itemprop=datePublished]", "content"),
        ("time[pubdate]", "datetime"),
        ("abbr.published", "title"),
        ("time.published", "datetime"),
        ("time.entry-date", "datetime"),
        ("article time[datetime]", "datetime"),
        ("time[datetime]", "datetime"),
    ):
        n = tree.css_first(sel)
        if n is not None:
            candidates.append(n.attributes.get(attr))
    for c in candidates:
        if c:
            d = _normalise_date(c)
            if d:
                return d
    # Blogger: <h2 class="date-header"><span>Monday, 6 August 2018</span></h2>
    n = tree.css_first(".date-header")
    if n is not None:
        d = _parse_human_date(_clean(n.text()))
        if d:
            return d
    return None


_MONTHS = {m: i + 1 for i, m in enumerate(
    "january february march april may june july august september october november december".split())}
_MONTHS.update({m[:3]: i for m, i in list(_MONTHS.items())})


def _parse_human_date(s: str) -> str | None:
    s = s.lower()
    m = re.search(r"(\d{1,2})\s+([a-z]{3,9})\.?,?\s+(\d{4})", s) or None
    if m and m[2] in _MONTHS:
        day, month, year = int(m[1]), _MONTHS[m[2]], int(m[3])
    else:
        m = re.search(r"([a-z]{3,9})\.?\s+(\d{1,2}),?\s+(\d{4})", s)
        if not (m and m[1] in _MONTHS):
            return None
        day, month, year = int(m[2]), _MONTHS[m[1]], int(m[3])
    try:
        return datetime(year, month, day).date().isoformat()
    except ValueError:
        return None


def _canonical(tree, metas: dict, url: str | None) -> str | None:
    n = tree.css_first('link[rel="canonical"]')
    href = n.attributes.get("href") if n is not None else None
    href = href or metas.get("og:url")
    if not href or not href.strip():
        return url
    href = href.strip()
    return urljoin(url, href) if url else href


def _language(tree, metas: dict) -> str | None:
    n = tree.css_first("html")
    lang = n.attributes.get("lang") or n.attributes.get("xml:lang") if n is not None else None
    lang = lang or metas.get("content-language") or metas.get("og:locale") or metas.get("language")
    if not lang:
        return None
    lang = lang.strip().replace("_", "-").split(",")[0]
    return lang or None
