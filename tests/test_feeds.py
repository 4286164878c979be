import json

import pytest

from monitor.fetch import FeedError, discover, parse_feed
from monitor.fetch.policy import next_check

from .conftest import shared

RSS = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>Blog</title><link>https://b.example/</link><ttl>90</ttl>
<item><title>One</title><link>https://b.example/1</link><guid>id-1</guid><description>short</description></item>
<item><title>No guid</title><link>/2</link></item>
</channel></rss>"""


def test_rss_entries_guid_fallback_and_ttl():
    f = parse_feed(RSS, "https://b.example/feed")
    assert f.title == "Blog" and f.ttl_minutes == 90
    assert [e.guid for e in f.entries] == ["id-1", "https://b.example/2"]
    assert f.entries[1].url == "https://b.example/2"


def test_json_feed():
    body = json.dumps({"version": "https://jsonfeed.org/version/1.1", "title": "J", "items": [
        {"id": "1", "url": "https://j.example/1", "content_text": "Para one.\n\nPara two."}]}).encode()
    [e] = parse_feed(body, "https://j.example/feed.json", "application/feed+json").entries
    assert e.content_html == "<p>Para one.</p><p>Para two.</p>"


def test_not_a_feed_is_a_feed_error():
    with pytest.raises(FeedError, match="not a feed"):
        parse_feed(b"<html><body>hello</body></html>", "https://x.example/")
    with pytest.raises(FeedError, match="JSON"):
        parse_feed(b'{"a": 1}', "https://x.example/feed.json")


def test_discovery_prefers_declared_alternates():
    html = ('<html><head><link rel="alternate" type="application/rss+xml" href="/comments/feed">'
            '<link rel="alternate" type="application/atom+xml" href="/feeds/posts/default">'
            '<meta name="generator" content="Blogger"></head></html>')
    found = discover(html, "https://x.blogspot.com/2020/01/post.html")
    assert found[0] == "https://x.blogspot.com/feeds/posts/default"
    assert "https://x.blogspot.com/comments/feed" not in found
    assert "https://x.blogspot.com/feed" in found


def test_every_shared_feed_parses_or_says_why():
    root = shared("feeds")
    parsed = errors = 0
    for path in sorted(p for p in root.rglob("*") if p.is_file() and p.suffix in (".xml", ".rss", ".atom", ".rdf", ".json", ".html", "")):
        if path.name == "LICENSE" or path.parent.name == "integration":
            continue
        try:
            parse_feed(path.read_bytes(), "https://example.com/feed")
            parsed += 1
        except FeedError as e:
            assert str(e)  # a clear per-feed message, never another exception
            errors += 1
    assert parsed > 150


def test_next_check_clamps_and_backs_off():
    from datetime import datetime, timedelta, timezone

    now = datetime(2026, 1, 1, tzinfo=timezone.utc)
    assert next_check(now, 60, jitter=0) == now + timedelta(hours=1)
    assert next_check(now, 60, max_age=7200, jitter=0) == now + timedelta(hours=2)
    assert next_check(now, 60, errors=3, jitter=0) == now + timedelta(hours=4)
    assert next_check(now, 60, errors=30, jitter=0) == now + timedelta(hours=24)
    assert next_check(now, 0, jitter=0) == now + timedelta(minutes=1)
