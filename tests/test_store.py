"""The store on real SQLite and real PostgreSQL (each test runs on both)."""

from datetime import datetime, timedelta, timezone

from sqlalchemy import text

from monitor.domain import Post, Source
from monitor.store import Database, FeedCheck, SourceEntry, Store


def test_migration_makes_every_table(store: Store):
    with store.db.engine.connect() as c:
        names = {"sources", "feeds", "posts", "matches", "deliveries", "site_boilerplate"}
        for name in names:
            c.execute(text(f"select count(*) from {name}"))
        c.execute(text("select * from match_history"))


def test_source_upsert_is_idempotent(store: Store):
    sid, changed = store.upsert_source(Source("https://p.example/a", "one two three", "A"), b"sig", "url")
    assert changed
    again, changed = store.upsert_source(Source("https://p.example/a", "one two three", "A"), b"sig", "url")
    assert (again, changed) == (sid, False)
    _, changed = store.upsert_source(Source("https://p.example/a", "one two four", "A"), b"sig2", "url")
    assert changed
    assert [(i, sig) for i, sig, _ in store.signatures()] == [(sid, b"sig2")]
    assert store.sources_by_id([sid])[sid].text == "one two four"


def test_feeds_are_claimed_once_and_released(store: Store):
    NOW = datetime.now(timezone.utc)
    store.sync_feeds([("https://a.example/", "watch", 60), ("https://b.example/", "watch", 5)])
    first = store.claim_due_feeds(NOW + timedelta(seconds=1), timedelta(minutes=10))
    assert {f.url for f in first} == {"https://a.example/", "https://b.example/"}
    # Leased: a second claimant gets nothing.
    assert store.claim_due_feeds(NOW + timedelta(seconds=2), timedelta(minutes=10)) == []
    a = next(f for f in first if f.url == "https://a.example/")
    store.feed_checked(a.id, status="200", next_check_at=NOW + timedelta(hours=1), etag='"x"')
    n = store.feed_failed(next(f.id for f in first if f.url != a.url), error="boom", status="error",
                          next_check_at=NOW - timedelta(seconds=1))
    assert n == (1, False)
    due = store.claim_due_feeds(NOW + timedelta(seconds=3), timedelta(minutes=10))
    assert [f.url for f in due] == ["https://b.example/"]
    states = {f.url: f for f in store.list_feeds()}
    assert states["https://a.example/"].etag == '"x"' and states["https://b.example/"].last_error == "boom"


def test_many_checks_are_recorded_at_once(store: Store):
    """A 304 keeps the stored validators; a 200 replaces them; every claim ends."""
    NOW = datetime.now(timezone.utc)
    urls = [f"https://{c}.example/" for c in "abcd"]
    store.sync_feeds([(u, "watch", 60) for u in urls])
    a, b, c, d = sorted(store.claim_due_feeds(NOW + timedelta(seconds=1), timedelta(minutes=10)),
                        key=lambda f: f.url)
    later = NOW + timedelta(hours=1)
    store.feeds_checked([FeedCheck(f.id, "200", later, etag=f'"{f.url}"', body_hash="h1", title="T")
                         for f in (a, b, c, d)])
    store.feeds_checked([
        FeedCheck(a.id, "304", later + timedelta(minutes=1)),
        FeedCheck(b.id, "200", later, etag='"new"', last_modified="Mon, 01 Jan 2024 00:00:00 GMT", body_hash="h2"),
        FeedCheck(c.id, "200", later, feed_url="https://c.example/feed", body_hash=None),
    ])
    s = {f.url: f for f in store.list_feeds()}
    assert (s[a.url].last_status, s[a.url].etag, s[a.url].body_hash) == ("304", '"https://a.example/"', "h1")
    assert s[a.url].next_check_at == later + timedelta(minutes=1)
    assert (s[b.url].etag, s[b.url].last_modified, s[b.url].body_hash) == ('"new"', "Mon, 01 Jan 2024 00:00:00 GMT", "h2")
    assert (s[c.url].feed_url, s[c.url].etag, s[c.url].body_hash, s[c.url].title) == ("https://c.example/feed", None, None, "T")
    assert s[d.url].etag == '"https://d.example/"'
    assert all(f.title == "T" and f.error_count == 0 and f.last_checked_at is not None for f in s.values())
    # No claim is left: all due again later, claimable at once.
    assert len(store.claim_due_feeds(later + timedelta(hours=1), timedelta(minutes=10))) == 4


def test_unconfigured_feed_is_kept_but_not_polled(store: Store):
    """Taken out of the config: retired (kept in history, not polled, not listed); put back:
    polled and listed again."""
    NOW = datetime.now(timezone.utc)
    store.sync_feeds([("https://a.example/", "watch", 60)])
    store.sync_feeds([])
    assert store.claim_due_feeds(NOW + timedelta(days=365), timedelta(minutes=1)) == []
    assert store.list_feeds() == []
    [kept] = store.list_feeds(retired=True)
    assert kept.retired_at is not None and not kept.in_config
    store.sync_feeds([("https://a.example/", "watch", 60)])
    assert [f.url for f in store.list_feeds()] == ["https://a.example/"]
    assert len(store.claim_due_feeds(NOW + timedelta(minutes=1), timedelta(minutes=1))) == 1


def test_one_match_and_one_alert_per_destination(store: Store):
    NOW = datetime.now(timezone.utc)
    sid, _ = store.upsert_source(Source("https://p.example/a", "text", "A"), b"s", "url")
    pid = store.save_post(Post("https://copy.example/1", "copied text", "C", html="<p>copied</p>"), None)
    evidence = {"passages": [{"source_start": 0, "source_end": 4, "copy_start": 0, "copy_end": 6}]}
    dests = [("email:x", NOW), ("webhook:y", NOW)]
    mid, event = store.record_match(sid, pid, "spun_copy", 0.9, 0.8, 0.2, evidence, dests)
    assert mid is not None and event == "match.created"
    # The same pair on a later cycle: evidence refreshed, no second alert.
    assert store.record_match(sid, pid, "spun_copy", 0.95, 0.8, 0.2, evidence, dests) == (mid, None)
    assert len(store.deliveries()) == 2
    [m] = store.list_matches()
    assert (m.score, m.copy_url, m.raw_sha256 is not None) == (0.95, "https://copy.example/1", True)
    jobs = store.due_deliveries(NOW + timedelta(seconds=1))
    assert {j.destination for j in jobs} == {"email:x", "webhook:y"}
    assert store.due_deliveries(NOW + timedelta(seconds=2)) == []  # leased
    store.delivery_sent(jobs[0].id)
    store.delivery_failed(jobs[1].id, "down", NOW - timedelta(seconds=1))
    statuses = {d[2]: (d[3], d[4]) for d in store.deliveries()}
    assert statuses[jobs[0].destination] == ("sent", 1)
    assert statuses[jobs[1].destination] == ("pending", 1)
    assert [j.id for j in store.due_deliveries(NOW + timedelta(minutes=6))] == [jobs[1].id]


def test_a_material_change_alerts_again_once(store: Store):
    NOW = datetime.now(timezone.utc)
    sid, _ = store.upsert_source(Source("https://p.example/a", "text", "A"), b"s", "url")
    pid = store.save_post(Post("https://copy.example/1", "a few paragraphs"), None)
    dests = [("webhook:y", NOW)]
    assert store.record_match(sid, pid, "partial_copy", 0.7, 0.35, 0.2, {}, dests)[1] == "match.created"
    # Same text re-checked with a slightly different score: nothing new.
    assert store.record_match(sid, pid, "partial_copy", 0.72, 0.37, 0.2, {}, dests)[1] is None
    # The copy grew to the whole article: one update alert.
    store.save_post(Post("https://copy.example/1", "the whole article now"), None)
    mid, event = store.record_match(sid, pid, "spun_copy", 0.9, 0.95, 0.2, {}, dests)
    assert event == "match.updated"
    assert store.record_match(sid, pid, "spun_copy", 0.9, 0.95, 0.2, {}, dests)[1] is None
    assert [e for e, _, _ in store.delivery_events()] == ["match.created", "match.updated"]


def test_feed_events_and_disabled_destinations(store: Store):
    NOW = datetime.now(timezone.utc)
    store.sync_feeds([("https://a.example/", "watch", 60)])
    [feed] = store.list_feeds()
    assert store.feed_failed(feed.id, error="x", status="error", next_check_at=NOW) == (1, False)
    store.queue_feed_event(feed.id, "feed.failing", {"url": feed.url}, [("webhook:y", NOW)])
    assert store.feed_failed(feed.id, error="x", status="error", next_check_at=NOW) == (2, True)
    [claimed] = store.claim_due_feeds(NOW + timedelta(seconds=1), timedelta(minutes=1))
    assert claimed.failure_alerted
    [job] = store.due_deliveries(NOW + timedelta(seconds=1))
    assert (job.event, job.match, job.payload) == ("feed.failing", None, {"url": feed.url})
    store.set_destination_disabled("webhook:y", "HTTP 410")
    assert store.disabled_destinations() == {"webhook:y": "HTTP 410"}
    store.set_destination_disabled("webhook:y", None)
    assert store.disabled_destinations() == {}


def test_match_filters(store: Store):
    NOW = datetime.now(timezone.utc)
    sid, _ = store.upsert_source(Source("https://p.example/a", "text", "A"), b"s", "url")
    for i, score in enumerate([0.6, 0.9]):
        pid = store.save_post(Post(f"https://copy.example/{i}", "t"), None)
        store.record_match(sid, pid, "copy", score, 1.0, 0.0, {}, [])
    assert len(store.list_matches(min_score=0.8)) == 1
    assert len(store.list_matches(source="p.example")) == 2
    assert store.list_matches(source="nothing") == []
    assert len(store.list_matches(since=NOW - timedelta(minutes=1))) == 2
    assert store.list_matches(since=NOW + timedelta(minutes=1)) == []


def test_site_boilerplate_round_trip(store: Store):
    assert store.site_boilerplate("blog.example") is None
    store.save_site_boilerplate("blog.example", {"blocks": {"abc": 3}})
    store.save_site_boilerplate("blog.example", {"blocks": {"abc": 4}})
    assert store.site_boilerplate("blog.example") == {"blocks": {"abc": 4}}


def test_concurrent_claimants_never_claim_the_same_feed(db_url):
    """PostgreSQL: FOR UPDATE SKIP LOCKED + lease. SQLite: the SELECT happens before the write
    lock, so the claiming UPDATE re-checks the lease. Either way the claimants split the feeds."""
    import threading

    dbs = [Database(db_url) for _ in range(3)]
    dbs[0].migrate()
    Store(dbs[0]).sync_feeds([(f"https://f{i}.example/", "watch", 60) for i in range(150)])
    claimed: list[list[str]] = [[] for _ in dbs]

    def worker(i: int) -> None:
        s = Store(dbs[i])
        while batch := s.claim_due_feeds(datetime.now(timezone.utc), timedelta(minutes=5), limit=5):
            claimed[i] += [f.url for f in batch]

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(dbs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    every = [u for c in claimed for u in c]
    assert len(every) == 150 and len(set(every)) == 150
    for db in dbs:
        db.close()


def test_an_edited_source_keeps_the_text_its_matches_were_found_in(store: Store):
    NOW = datetime.now(timezone.utc)
    sid, _ = store.upsert_source(Source("https://p.example/a", "the first text", "A"), b"s1", "feed")
    pid = store.save_post(Post("https://copy.example/1", "the first text, copied"), None)
    mid, _ = store.record_match(sid, pid, "copy", 0.9, 0.9, 0.0, {"passages": []}, [("webhook:x", NOW)])
    assert store.match_with_texts(mid)[1] == "the first text"
    _, changed = store.upsert_source(Source("https://p.example/a", "the edited text", "A"), b"s2", "feed")
    assert changed and store.sources_by_id([sid])[sid].text == "the edited text"
    # The evidence's offsets point into the text the match was found in: the report and the
    # alert still waiting in the outbox quote that one.
    assert store.match_with_texts(mid)[1] == "the first text"
    [job] = store.due_deliveries(NOW + timedelta(seconds=1))
    assert job.source_text == "the first text"
    store.upsert_source(Source("https://p.example/a", "the text edited twice", "A"), b"s3", "feed")
    assert store.match_with_texts(mid)[1] == "the first text"  # the first snapshot stays
    # The pair compared again: the new evidence points into the current text.
    store.record_match(sid, pid, "copy", 0.9, 0.9, 0.0, {"passages": []}, [])
    assert store.match_with_texts(mid)[1] == "the text edited twice"


def test_recording_the_entry_of_an_unchanged_source_is_no_signature_change(store: Store):
    url = "https://p.example/a"
    sid, _ = store.upsert_source(Source(url, "same text", "A"), b"sig", "feed", entry_hash="e1")
    assert store.source_entries([url, "https://p.example/other"]) == {url: SourceEntry("feed", "e1")}
    after = store.source_version()
    assert store.source_unchanged(Source(url, "other text", "A"), "e2") is None
    assert store.source_unchanged(Source(url, "same text", "A, retitled"), "e2") == sid
    assert store.source_entries([url])[url].entry_hash == "e2"
    assert store.list_sources()[0].title == "A, retitled"
    assert store.upsert_source(Source(url, "same text", "A"), b"sig", "feed", entry_hash="e3") == (sid, False)
    assert store.source_entries([url])[url].entry_hash == "e3"
    # Other processes reload the signatures changed since their last look: none changed.
    assert list(store.signatures(above_version=after)) == []
    store.upsert_source(Source(url, "new text", "A"), b"sig2", "feed", entry_hash="e4")
    assert [(i, sig) for i, sig, _ in store.signatures(above_version=after)] == [(sid, b"sig2")]


def test_which_post_a_feed_entry_is_when_guids_and_urls_move(store: Store):
    NOW, LEASE = datetime.now(timezone.utc), timedelta(minutes=5)
    store.sync_feeds([("https://b.example/feed", "watch", 60), ("https://c.example/feed", "watch", 60)])
    feeds = {f.url: f.id for f in store.list_feeds()}
    f, g = feeds["https://b.example/feed"], feeds["https://c.example/feed"]
    a, a2, c = "https://b.example/a", "https://b.example/2018/a", "https://b.example/c"

    def rows():
        with store.db.engine.connect() as conn:
            return {r.id: (r.url, r.guid) for r in conn.execute(text("select id, url, guid from posts"))}

    first = store.claim_post(f, "g1", a, "h1", NOW, LEASE)
    assert first.previous_url is None
    store.save_post(Post(a, "text A", guid="g1", html="<p>text A</p>"), f, first.id, "h1")
    # The same GUID at a new URL: claimed with the URL it had; the same text means it moved.
    moved = store.claim_post(f, "g1", a2, "h2", NOW, LEASE)
    assert (moved.id, moved.previous_url) == (first.id, a) and moved.previous_text_hash
    store.post_unchanged(moved.id, "h2", moved_to=Post(a2, "text A", "A", guid="g1", html="<p>moved</p>", http_status=200))
    assert rows() == {first.id: (a2, "g1")} and store.checked_entries(f) == {"g1": "h2"}
    assert store.claim_post(f, "g1", a2, "h2", NOW, LEASE) is None  # settled
    # The GUID given to another post: the first keeps its row, URL (its identity now) and text.
    other = store.claim_post(f, "g1", c, "h3", NOW, LEASE)
    assert (other.id, other.previous_url) == (first.id, a2)
    new = store.guid_reused(other.id, c, NOW, LEASE)
    assert new.id != first.id and new.previous_text_hash is None
    store.save_post(Post(c, "text C", guid="g1"), f, new.id, "h3")
    assert rows() == {first.id: (a2, a2), new.id: (c, "g1")}
    assert store.checked_entries(f) == {a2: "h2", "g1": "h3"}
    # The feed gives g1 back to the post at a2 (renumbered GUIDs): found by its URL, nothing to do.
    assert store.claim_post(f, "g1", a2, "h2", NOW, LEASE) is None
    assert rows() == {first.id: (a2, "g1"), new.id: (c, c)}
    # A URL stored for another feed's post is that post: not claimed here.
    assert store.claim_post(g, "x", c, "h9", NOW, LEASE) is None


def test_a_match_keeps_the_copy_as_found_when_the_copier_edits_it(store: Store):
    """The proof outlives the copier's edit: the match's report still quotes the text, page
    hash, status and fetch time it was found with; a new match on the edited post takes over."""
    NOW = datetime.now(timezone.utc)
    sid, _ = store.upsert_source(Source("https://p.example/a", "the original text", "A"), b"s", "url")
    found_at = NOW - timedelta(hours=3)
    pid = store.save_post(Post("https://copy.example/1", "the copied text", "C", html="<p>the copied text</p>",
                               http_status=200, fetched_at=found_at), None)
    evidence = {"passages": [{"source_start": 4, "source_end": 17, "copy_start": 4, "copy_end": 15}]}
    mid, _ = store.record_match(sid, pid, "copy", 0.9, 0.9, 0.0, evidence, [])
    found = store.match_with_texts(mid)
    # The copier removes the text; the monitor reads the post again and no longer finds a match.
    store.save_post(Post("https://copy.example/1", "nothing to see here", "C", html="<p>nothing</p>",
                         http_status=200, fetched_at=NOW), None, post_id=pid)
    record, _, copy_text = store.match_with_texts(mid)
    assert copy_text == "the copied text" and record.copy_changed
    assert (record.raw_sha256, record.http_status, record.fetched_at) == \
        (found[0].raw_sha256, 200, found[0].fetched_at)
    assert record.fetched_at == found_at
    [listed] = store.list_matches()
    assert listed.copy_changed and listed.raw_sha256 == found[0].raw_sha256
    # Edited once more: the snapshot is the first one, as found, not the intermediate text.
    store.save_post(Post("https://copy.example/1", "still nothing here", "C", html="<p>x</p>"), None, post_id=pid)
    assert store.match_with_texts(mid)[2] == "the copied text"
    # The copy comes back and matches again: the evidence is now the current post's.
    store.save_post(Post("https://copy.example/1", "the copied text again", "C", html="<p>again</p>"), None,
                    post_id=pid)
    store.record_match(sid, pid, "copy", 0.9, 0.9, 0.0, evidence, [])
    record, _, copy_text = store.match_with_texts(mid)
    assert copy_text == "the copied text again" and not record.copy_changed


def test_matches_source_filter_takes_percent_and_underscore_literally(store: Store):
    pid = store.save_post(Post("https://copy.example/1", "copied text"), None)
    for url in ("https://p.example/100%_sure", "https://p.example/100xxsure", "https://p.example/a_b"):
        sid, _ = store.upsert_source(Source(url, f"text of {url}", "A"), b"s", "url")
        store.record_match(sid, pid, "copy", 0.9, 1.0, 0.0, {"passages": []}, [])
    assert [m.source_url for m in store.list_matches(source="100%_")] == ["https://p.example/100%_sure"]
    assert [m.source_url for m in store.list_matches(source="a_b")] == ["https://p.example/a_b"]
    assert len(store.list_matches(source="p.example")) == 3
