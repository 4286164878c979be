"""Who may republish: the allow-list (config `allow` and the desk's list) and syndication.

A match of an allowed site, or a copy whose rel=canonical names the source's URL (a syndicated
copy says where the original is), is stored `licensed` and does not alert. An attribution line
("Source Link", "via …") is not a licence: autoblogs add one to spun copies.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from selectolax.lexbor import LexborHTMLParser

from monitor.extract.decode import decode_html
from monitor.config import Settings
from monitor.sites import site_of
from monitor.store import Database
from monitor.store import allowlist
from monitor.store.triage import match_state, set_site
from monitor.triage import MONITOR, StateConflict, TriageError, TriageState, triage_match


def canonical_link(html: str | bytes | None) -> str | None:
    """The page's <link rel="canonical"> href, if any (og:url is not a claim about the original)."""
    if not html:
        return None
    if isinstance(html, bytes):  # the page as served
        html = decode_html(html)
    for node in LexborHTMLParser(html).css("link[rel]"):
        rels = (node.attributes.get("rel") or "").lower().split()
        href = (node.attributes.get("href") or "").strip()
        if "canonical" in rels and href:
            return href
    return None


def _same_page(a: str, b: str) -> bool:
    """The same page, whatever the scheme, a leading www., a trailing slash or a fragment."""
    def norm(u: str) -> tuple[str, str, str]:
        p = urlsplit(u.strip())
        host = (p.hostname or "").lower().removeprefix("www.")
        return host, p.path.rstrip("/") or "/", p.query
    try:
        return norm(a) == norm(b)
    except ValueError:
        return False


def licence_for(settings: Settings, db: Database, source_id: int, source_url: str,
                copy_url: str, copy_html: str | bytes | None) -> str | None:
    """Why this copy is licensed (a reason for the match's history), or None."""
    site = site_of(copy_url)
    for entry in settings.allow.sites:
        if entry.site == site and (entry.source is None or _same_page(entry.source, source_url)):
            return f"allow-list (config): {site}" + (" for this source" if entry.source else "")
    found = allowlist.find(db, site, source_id)
    if found is not None:
        return f"allow-list: {site} (allowed by {found.added_by})"
    if settings.allow.syndication:
        canonical = canonical_link(copy_html)
        if canonical and _same_page(canonical, source_url):
            return "syndication: the copy's rel=canonical names the source's URL"
    return None


def after_record(db: Database, match_id: int, copy_url: str, licence: str | None, created: bool) -> None:
    """Give a recorded match its site and, for a new licensed copy, the state licensed."""
    set_site(db, match_id, site_of(copy_url))
    if licence and created:
        try:
            triage_match(db, match_id, TriageState.LICENSED, MONITOR, reason=licence)
        except (StateConflict, TriageError):
            pass  # an editor triaged it in the meantime: theirs stands


def allow_site(db: Database, site: str, actor: str, source_id: int | None = None,
               note: str | None = None) -> int:
    """Allow a site to republish (one source, or all) and mark its new matches licensed.

    Returns how many matches became licensed. Matches already triaged keep their state."""
    site = site_of(site) if "://" in site else site.strip().lower()
    if not site:
        raise ValueError("give a site (a host name such as partner.example)")
    allowlist.add(db, site, source_id, actor, note)
    reason = f"allow-list: {site} (allowed by {actor})"
    licensed = 0
    from monitor.store.desk import match_ids  # the site's new matches

    for mid in match_ids(db, site=site, source_id=source_id, states=(TriageState.NEW,)):
        try:
            current = match_state(db, mid)
            triage_match(db, mid, TriageState.LICENSED, actor, note=note or "site allowed", version=current.version,
                         reason=reason)
            licensed += 1
        except (StateConflict, TriageError):
            continue
    return licensed


def disallow_site(db: Database, site: str, source_id: int | None = None) -> int:
    """Take a site off the desk's allow-list; its licensed matches stay licensed (reopen them
    one by one if they were not). Returns how many entries were removed."""
    return allowlist.remove(db, site, source_id)

