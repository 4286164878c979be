"""Where to send a notice: the abuse contacts of the copy's host, from RDAP (the registries'
WHOIS in JSON, RFC 9083), asked about the IP network the host resolves to and the domain's
registrar. A small client over the monitor's fetcher (its caps, redirects and private-network
guard), answers kept a day in the database, each question bounded by `notice.rdap_timeout`.
The defaults ask rdap.org, whose redirects lead to the registry that holds the answer (so no
bootstrap file is needed); `notice.rdap_ip_url`/`rdap_domain_url` point elsewhere (a registry,
a loopback server in the tests and the demo).

Why not a PyPI client (decided from their documented APIs, 2026-11):
- whoisit 4.1: its bootstrap is process-wide state (`bootstrap()` downloads IANA's five files
  from data.iana.org through its own client; `load_bootstrap_data()` takes only whoisit's own
  saved form and refuses a second load until `clear_bootstrapping()`; an http:// registry such
  as a loopback one needs `allow_insecure=True`), so two configurations in one process (tests,
  a desk beside the poller) would overwrite each other. Its `*_async(async_client=…)` stores the
  client given as the process-wide default, and the registries' redirects (ARIN → RIPE, …) must
  then be followed by that httpx client itself (whoisit's own sets `follow_redirects=True`):
  the monitor vets each hop's literal address and caps the body in the Fetcher, above the
  transport, so a redirect or a domain answer's "related" link (which whoisit follows) would
  leave the guard and the cap. Its lookups take no time limit (a module constant).
- ipwhois 1.3: IP networks only (no domain, so no registrar's abuse desk); it finds the
  registry through Team Cymru (DNS or whois on port 43) or ARIN's bootstrap at fixed
  addresses, over urllib: no base URL or client of ours.
- rdap (20c) 1.7: configured from a config.yaml in a home folder (bootstrap_url, timeout),
  blocking `requests` calls with no session of ours: outside the guard as well.
Parsing was never the obstacle (whoisit's parser does collect nested entities by role, as
abuse_emails does); the transport and the process-wide state are. Were whoisit to take a
bootstrap and a client per call, it could sit behind `RDAP.ask` unchanged.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import logging
import socket
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import quote, urlsplit

import tldextract
from sqlalchemy import select

from monitor.fetch import FetchError, Fetcher, HTTPStatusError
from monitor.store import Database
from monitor.store.models import RDAPAnswerRow

log = logging.getLogger("monitor.takedown")

KEEP = timedelta(days=1)
# ICANN's registrable domain (private suffixes off): the registrar of x.blogspot.com is blogspot.com's.
_registrable = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None, include_psl_private_domains=False)


@dataclass(frozen=True, slots=True)
class AbuseContact:
    email: str
    via: str  # "hosting network 203.0.113.7" | "registrar of example.com"
    organisation: str | None
    rdap_url: str


@dataclass
class Lookup:
    contacts: list[AbuseContact] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # what could not be asked, in words

    @property
    def emails(self) -> list[str]:
        return list(dict.fromkeys(c.email for c in self.contacts))


def registrable_domain(host: str) -> str | None:
    parts = _registrable(host)
    if parts.ipv4 or ":" in host:
        return None
    if parts.suffix and parts.domain:
        return f"{parts.domain}.{parts.suffix}"
    labels = host.strip(".").split(".")
    return ".".join(labels[-2:]) if len(labels) >= 2 else None


def _vcard(entity: dict[str, Any], prop: str) -> list[str]:
    out = []
    card = entity.get("vcardArray")
    if isinstance(card, list) and len(card) == 2 and isinstance(card[1], list):
        for item in card[1]:
            if isinstance(item, list) and len(item) >= 4 and item[0] == prop and isinstance(item[3], str):
                out.append(item[3])
    return out


def abuse_emails(answer: dict[str, Any]) -> list[tuple[str, str | None]]:
    """(email, organisation) of every entity with the `abuse` role, at any depth: a registrar's
    abuse desk sits inside the registrar entity, a network's often inside its registrant."""
    found: list[tuple[str, str | None]] = []

    def walk(entities: Any, parent: str | None) -> None:
        for ent in entities if isinstance(entities, list) else []:
            if not isinstance(ent, dict):
                continue
            name = next(iter(_vcard(ent, "fn")), None)
            roles = ent.get("roles") or []
            if "abuse" in roles:
                for email in _vcard(ent, "email"):
                    found.append((email.removeprefix("mailto:"), parent or name))
            walk(ent.get("entities"), name if roles and ("registrar" in roles or "registrant" in roles) else parent)

    walk(answer.get("entities"), answer.get("name") if isinstance(answer.get("name"), str) else None)
    return list(dict.fromkeys(found))


class RDAP:
    """Questions to RDAP through one fetcher; answers kept a day in `rdap_answers`."""

    def __init__(self, db: Database, fetcher: Fetcher, ip_url: str, domain_url: str, timeout: float) -> None:
        self.db, self.fetcher, self.timeout = db, fetcher, timeout
        self.ip_url, self.domain_url = ip_url, domain_url

    async def ask(self, url: str, now: datetime | None = None) -> dict[str, Any] | None:
        """The answer at `url` (None: the registry knows nothing of it). FetchError or
        TimeoutError when it cannot be asked."""
        now = now or datetime.now(timezone.utc)
        with self.db.engine.connect() as c:
            kept = c.execute(select(RDAPAnswerRow.fetched_at, RDAPAnswerRow.status, RDAPAnswerRow.answer)
                             .where(RDAPAnswerRow.url == url)).first()
        if kept is not None and kept[0] > now - KEEP:
            return kept[2]
        try:
            fetched = await asyncio.wait_for(
                self.fetcher.get(url, accept="application/rdap+json, application/json", check_robots=False),
                self.timeout)
            status, answer = fetched.status, json.loads(fetched.body)
            if not isinstance(answer, dict):
                raise FetchError(url, "the RDAP answer is not a JSON object")
        except HTTPStatusError as e:
            if e.code != 404:
                raise
            status, answer = 404, None
        except ValueError as e:
            raise FetchError(url, f"the RDAP answer is not JSON ({e})") from None
        with self.db.session() as s:
            row = s.get(RDAPAnswerRow, url)
            if row is None:
                s.add(RDAPAnswerRow(url=url, fetched_at=now, status=status, answer=answer))
            else:
                row.fetched_at, row.status, row.answer = now, status, answer
        return answer

    async def _contacts(self, url: str, via: str, lookup: Lookup) -> None:
        try:
            answer = await self.ask(url)
        except TimeoutError:
            lookup.problems.append(f"RDAP for {via}: no answer within {self.timeout:g} s")
            return
        except FetchError as e:
            lookup.problems.append(f"RDAP for {via}: {e}")
            return
        if answer is None:
            lookup.problems.append(f"RDAP for {via}: the registry has no record")
            return
        emails = abuse_emails(answer)
        if not emails:
            lookup.problems.append(f"RDAP for {via}: no abuse contact listed")
        for email, org in emails:
            lookup.contacts.append(AbuseContact(email, via, org, url))

    async def abuse_contacts(self, copy_url: str) -> Lookup:
        """The abuse contacts for the copy's host: its IP networks' and its domain's registrar."""
        lookup = Lookup()
        host = (urlsplit(copy_url).hostname or "").strip("[]")
        if not host:
            lookup.problems.append(f"{copy_url} has no host")
            return lookup
        try:
            ips = [str(ipaddress.ip_address(host))]
        except ValueError:
            try:
                infos = await asyncio.wait_for(asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_STREAM),
                                               self.timeout)
                ips = list(dict.fromkeys(str(i[4][0]) for i in infos))[:2]
            except (OSError, TimeoutError) as e:
                ips = []
                lookup.problems.append(f"{host} does not resolve ({e or 'timed out'}): no hosting network")
        tasks = [self._contacts(self.ip_url + quote(ip, safe=":"), f"hosting network {ip}", lookup) for ip in ips]
        domain = registrable_domain(host)
        if domain:
            tasks.append(self._contacts(self.domain_url + quote(domain), f"registrar of {domain}", lookup))
        await asyncio.gather(*tasks)
        return lookup
