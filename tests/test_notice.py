"""Takedown notices: the abuse contact from a loopback RDAP server (answers shaped as RFC 9083
registries give them), the notice's elements, templates a user overrides, sending through a
loopback SMTP server, and the whole path: confirmed → notice sent → removed → reinstated."""

import time
from datetime import datetime, timedelta, timezone
from email import message_from_bytes

import yaml
from typer.testing import CliRunner

from monitor import config
from monitor.cli import app
from monitor.demo.servers import RDAPServer, SMTPSink
from monitor.fetch import Fetcher, FetchSettings
from monitor.store.takedown import sent_notices
from monitor.store.triage import events, match_state
from monitor.takedown.notices import compose
from monitor.takedown.platforms import platform_of
from monitor.takedown.rdap import RDAP, abuse_emails, registrable_domain
from monitor.takedown.recheck import recheck


# An IP network as a regional registry answers (abuse desk inside the registrant, as ARIN nests it).
NETWORK = {
    "objectClassName": "ip network", "handle": "NET-127-0-0-0-1", "name": "LOOPBACK-HOSTING",
    "startAddress": "127.0.0.0", "endAddress": "127.255.255.255", "rdapConformance": ["rdap_level_0"],
    "entities": [{
        "objectClassName": "entity", "handle": "HOST-1", "roles": ["registrant"],
        "vcardArray": ["vcard", [["version", {}, "text", "4.0"], ["fn", {}, "text", "Loopback Hosting Ltd"]]],
        "entities": [{
            "objectClassName": "entity", "handle": "ABUSE-1", "roles": ["abuse"],
            "vcardArray": ["vcard", [["version", {}, "text", "4.0"], ["fn", {}, "text", "Abuse desk"],
                                     ["email", {}, "text", "abuse@hosting.example"]]],
        }],
    }],
}
# A domain as a registry answers: the registrar's abuse contact inside the registrar entity.
DOMAIN = {
    "objectClassName": "domain", "ldhName": "copier.example", "rdapConformance": ["rdap_level_0"],
    "entities": [{
        "objectClassName": "entity", "roles": ["registrar"],
        "vcardArray": ["vcard", [["version", {}, "text", "4.0"], ["fn", {}, "text", "Example Registrar, Inc."]]],
        "entities": [{"objectClassName": "entity", "roles": ["abuse"],
                      "vcardArray": ["vcard", [["version", {}, "text", "4.0"], ["fn", {}, "text", "Abuse"],
                                               ["email", {}, "text", "abuse@registrar.example"]]]}],
    }],
}


def test_abuse_contacts_are_found_at_any_depth():
    assert abuse_emails(NETWORK) == [("abuse@hosting.example", "Loopback Hosting Ltd")]
    assert abuse_emails(DOMAIN) == [("abuse@registrar.example", "Example Registrar, Inc.")]
    assert abuse_emails({"entities": [{"roles": ["technical"], "vcardArray": []}]}) == []
    assert registrable_domain("x.blogspot.com") == "blogspot.com"  # the registrar is blogspot.com's
    assert registrable_domain("www.news.bbc.co.uk") == "bbc.co.uk" and registrable_domain("127.0.0.1") is None


async def test_rdap_lookup_cached_for_a_day_and_times_out_cleanly(sqlite_url):
    from monitor.store import Database

    db = Database(sqlite_url)
    with RDAPServer({"/ip/127.0.0.1": NETWORK, "/domain/copier.example": DOMAIN}, delays={"/ip/hang/": 3}) as server:
        fs = FetchSettings(allow_private_networks=True, respect_robots=False, timeout=2, total_timeout=2)
        async with Fetcher(fs) as fetcher:
            rdap = RDAP(db, fetcher, server.url + "/ip/", server.url + "/domain/", timeout=1)
            found = await rdap.abuse_contacts("http://127.0.0.1:8/copied.html")
            assert [(c.email, c.via) for c in found.contacts] == [("abuse@hosting.example", "hosting network 127.0.0.1")]
            assert found.problems == []
            await rdap.abuse_contacts("http://127.0.0.1:8/other.html")
            assert server.requests == ["/ip/127.0.0.1"]  # the second answer came from the cache
            await rdap.ask(server.url + "/ip/127.0.0.1", now=datetime.now(timezone.utc) + timedelta(days=1, minutes=1))
            assert len(server.requests) == 2  # a day later it is asked again
            # a name that does not resolve: no network, but the registrar is still asked
            found = await rdap.abuse_contacts("https://copier.example/p")
            assert found.emails == ["abuse@registrar.example"]
            assert any("does not resolve" in p for p in found.problems)
            rdap.ip_url = server.url + "/ip/hang/"
            started = time.monotonic()
            found = await rdap.abuse_contacts("http://127.0.0.1:8/x")
            assert time.monotonic() - started < 2.5
            assert found.contacts == [] and found.problems == ["RDAP for hosting network 127.0.0.1: no answer within 1 s"]
            rdap.ip_url = server.url + "/nothing/"
            found = await rdap.abuse_contacts("http://127.0.0.2:8/x")
            assert found.problems == ["RDAP for hosting network 127.0.0.2: the registry has no record"]
    db.close()


def test_platforms_by_host_or_generator():
    assert platform_of("https://berita.blogspot.com/2026/11/x.html").name == "Blogger"
    assert platform_of("https://berita.blogspot.co.uk/2026/11/x.html").name == "Blogger"
    assert platform_of("https://berita.blogspot.de/x.html").name == "Blogger"
    assert platform_of("https://notblogspot.com/x") is None and platform_of("https://blogspot.example.org/x") is None
    assert platform_of("https://someone.wordpress.com/x").name == "WordPress.com"
    assert platform_of("https://medium.com/@a/x").name == "Medium"
    assert platform_of("https://a.tumblr.com/post/1").name == "Tumblr"
    assert platform_of("https://news.example/x", b'<meta name="generator" content="Blogger">').name == "Blogger"
    assert platform_of("https://news.example/x", b'<meta name="generator" content="WordPress 6.4">') is None  # self-hosted
    assert platform_of("https://news.example/x") is None


CONTACT = {"name": "Ana Editor", "email": "rights@publisher.example", "organisation": "Publisher Ltd",
           "address": "1 Press Street\nLondon", "phone": "+44 20 0000 0000"}


async def test_the_dmca_notice_has_every_element(watched, tmp_path):
    monitor, _, _, match_id = watched
    s = monitor.settings.model_copy(update={"notice": config.NoticeConfig(contact=CONTACT)})
    n = compose(s, monitor.db, match_id, "dmca", ["abuse@hosting.example"])
    text = n.text
    for element in ("17 U.S.C. § 512(c)", "https://publisher.example/kellbridge", "Kellbridge",  # (ii) the work
                    "/copied.html", "Found:", "Passages",  # (iii) the copy
                    "Ana Editor", "rights@publisher.example", "1 Press Street\n  London", "+44 20",  # (iv)
                    "good faith belief", "not\nauthorized", "under penalty of perjury", "authorized to act",  # (v) (vi)
                    "Signature: /Ana Editor/"):  # (i)
        assert element in text, element
    assert "To: abuse@hosting.example" in text and n.subject.startswith("DMCA notice of copyright infringement")
    assert "Work: \"The river town of Kellbridge" in text and "Copy: \"The river town of Kellbridge" in text
    plain = compose(s, monitor.db, match_id, "plain", []).text
    assert "512" not in plain and "perjury" not in plain and "Signed: Ana Editor" in plain
    msg = message_from_bytes(n.email().as_bytes())
    assert msg["From"] == "Ana Editor <rights@publisher.example>" and msg["To"] == "abuse@hosting.example"
    # a user's own template wins; the others stay built in
    (tmp_path / "dmca.txt").write_text("Custom notice for {{ copy.url }} from {{ contact.name }}\n")
    s2 = monitor.settings.model_copy(update={"notice": config.NoticeConfig(contact=CONTACT, templates_dir=tmp_path)})
    own = compose(s2, monitor.db, match_id, "dmca", [])
    assert own.text.startswith("Custom notice for http://127.0.0.1") and "<pre>Custom notice" in own.html


async def test_html_notice_escapes_the_copy(watched):
    monitor, _, _, match_id = watched
    from sqlalchemy import update

    from monitor.store.models import PostRow
    with monitor.db.session() as sess:
        sess.execute(update(PostRow).values(title='<script>alert(1)</script>'))
    s = monitor.settings.model_copy(update={"notice": config.NoticeConfig(contact=CONTACT)})
    html = compose(s, monitor.db, match_id).html
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html


def test_from_confirmed_to_removed_and_back(watched, tmp_path):
    """The issue's path: a notice addressed by RDAP, sent (notice_sent, message kept), the copy
    taken down (removed at the re-check), and put back (reinstated)."""
    import asyncio

    monitor, blog, _, match_id = watched
    with RDAPServer({"/ip/127.0.0.1": NETWORK}) as rdap, SMTPSink() as smtp:
        path = tmp_path / "c.yaml"
        path.write_text(yaml.safe_dump({
            "fetch": {"allow_private_networks": True},
            "notify": {"email": [{"host": "127.0.0.1", "port": smtp.port, "security": "none",
                                  "from": "monitor@publisher.example", "to": "desk@publisher.example"}]},
            "notice": {"contact": CONTACT, "rdap_ip_url": rdap.url + "/ip/", "rdap_domain_url": rdap.url + "/domain/"},
        }))
        base = ["--config", str(path), "--database-url", monitor.settings.db_url]
        r = CliRunner().invoke(app, [*base, "notice", str(match_id)])
        assert r.exit_code == 0, r.output
        assert "To: abuse@hosting.example" in r.stdout and "under penalty of perjury" in r.stdout
        assert "abuse contact (hosting network 127.0.0.1, Loopback Hosting Ltd): abuse@hosting.example" in r.stderr
        r = CliRunner().invoke(app, [*base, "notice", str(match_id), "--format", "eml"])
        assert message_from_bytes(r.stdout_bytes)["To"] == "abuse@hosting.example"
        r = CliRunner().invoke(app, [*base, "notice", str(match_id), "--send"])
        assert r.exit_code == 2 and "--send needs --to" in r.output and not smtp.messages
        r = CliRunner().invoke(app, [*base, "notice", str(match_id), "--send", "--to", "abuse@hosting.example",
                                     "--as", "ana"])
        assert r.exit_code == 0, r.output
        [sent] = smtp.messages
        assert sent["To"] == "abuse@hosting.example" and "DMCA" in sent["Subject"]
        assert match_state(monitor.db, match_id).state == "notice_sent"
        [(_, _, actor, recipient, variant, kept)] = sent_notices(monitor.db, match_id)
        assert (actor, recipient, variant) == ("ana", "abuse@hosting.example", "dmca")
        assert message_from_bytes(kept)["Message-ID"] == sent["Message-ID"]
        r = CliRunner().invoke(app, [*base, "notice", str(match_id), "--send", "--to", "abuse@hosting.example"])
        assert r.exit_code == 2 and len(smtp.messages) == 1  # already noticed: not sent twice
    blog.take_down("copied", 404)
    [done] = asyncio.run(recheck(monitor, match_id))
    assert done.state == "removed"
    blog.put_back("copied")
    [done] = asyncio.run(recheck(monitor, match_id))
    assert done.state == "reinstated"
    assert [e.to_state for e in events(monitor.db, match_id)] == ["confirmed", "notice_sent", "removed", "reinstated"]


def test_a_notice_needs_a_contact(watched, tmp_path):
    monitor, _, _, match_id = watched
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump({"notice": {"rdap_ip_url": "http://127.0.0.1:9/ip/", "rdap_timeout": 1}}))
    r = CliRunner().invoke(app, ["--config", str(path), "--database-url", monitor.settings.db_url, "notice", str(match_id)])
    assert r.exit_code == 2 and "notice.contact is not set" in r.output


