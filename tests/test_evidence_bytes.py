"""The raw page kept as evidence is the bytes the server sent (after content decoding) and
its sha256 is theirs, whatever the charset (issue 10 item 2)."""

import asyncio
import gzip
import hashlib

from sqlalchemy import select

from monitor import config
from monitor.demo.run import seed
from monitor.demo.servers import WebhookReceiver, webhook_json
from monitor.notify.report import render
from monitor.pipeline import Monitor
from monitor.store import Database
from monitor.store.models import MatchRow, PostRow
from tests.test_sources import Site

ARTICLES = {name: seed(name) for name in ("original.txt", "unrelated-1.txt", "unrelated-2.txt")}


def page(article: str, extra: bytes, charset: str | None) -> bytes:
    """A copy of an article with a line in the page's own charset."""
    meta = f'<meta charset="{charset}">'.encode() if charset else b""
    paras = b"".join(b"<p>" + p.encode("ascii", "ignore") + b"</p>" for p in ARTICLES[article].split("\n") if p.strip())
    return (b"<!DOCTYPE html><html><head>" + meta + b"<title>Copy</title></head><body><article>"
            + paras + b"<p>" + extra + b"</p></article></body></html>")


SERVED = {
    "/latin1.html": ("text/html; charset=iso-8859-1", page("original.txt", "Caf\u00e9 cr\u00e8me, d\u00e9j\u00e0 vu".encode("latin-1"), None), {}),
    "/koi8.html": ("text/html", page("unrelated-1.txt", "Москва и Токио провели переговоры".encode("koi8-r"), "koi8-r"), {}),
    "/broken.html": ("text/html; charset=utf-8", page("unrelated-2.txt", b"bad bytes \xff\xfe\xc3( here", None), {}),
}


def feed(base: str) -> bytes:
    items = "".join(f"<item><title>{p}</title><link>{base}{p}</link><guid>{p}</guid>"
                    f"<description>short</description></item>" for p in SERVED)
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>C</title>{items}</channel></rss>'.encode()


def test_stored_page_and_sha256_are_the_served_bytes(db_url, tmp_path):
    for name, text in ARTICLES.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    with Site(dict(SERVED)) as site, WebhookReceiver() as hook:
        # one page gzip-encoded on the wire: what is kept is the decoded body (curl --compressed)
        ctype, body, _ = site.routes["/latin1.html"]
        site.routes["/latin1.html"] = (ctype, gzip.compress(body), {"Content-Encoding": "gzip"})
        site.routes["/feed.xml"] = ("application/rss+xml", feed(site.url), {})
        s = config.load(None, database_url=db_url, data_dir=str(tmp_path), fetch={"allow_private_networks": True},
                        sources=[{"file": str(tmp_path / name)} for name in ARTICLES],
                        watch=[{"url": site.url + "/feed.xml"}], notify={"webhooks": [{"secret_env": "TEST_WEBHOOK_SECRET", "url": hook.url}]})
        db = Database(s.db_url)
        db.migrate()
        m = Monitor(s, db)
        try:
            report = asyncio.run(m.run_cycle())
            assert report.errors == []
            assert len(report.matches) == 3
            served = {site.url + path: body for path, (_, body, _) in SERVED.items()}
            with db.session() as sess:
                kept = {p.url: (bytes(p.raw_page), p.raw_sha256) for p in sess.scalars(select(PostRow))}
            for url, body in served.items():
                assert kept[url] == (body, hashlib.sha256(body).hexdigest()), url
            records = {r.copy_url: r for r in m.store.list_matches()}
            sent = {webhook_json(r)["copy"]["url"]: webhook_json(r)["copy"]["raw_sha256"] for r in hook.accepted}
            for url, body in served.items():
                digest = hashlib.sha256(body).hexdigest()
                assert records[url].raw_sha256 == digest and sent[url] == digest
                found = m.store.match_with_texts(records[url].id)
                assert digest in render(*found)
            # The copier edits a post: the match keeps the page as it was served, byte for byte.
            koi8 = site.url + "/koi8.html"
            site.routes["/koi8.html"] = ("text/html", b"<html><body><p>Nothing here now.</p></body></html>", {})
            site.routes["/feed.xml"] = ("application/rss+xml", feed(site.url).replace(b"short", b"edited"), {})
            asyncio.run(m.run_cycle(only_urls=[site.url + "/feed.xml"]))
            with db.session() as sess:
                row = sess.scalar(select(MatchRow).where(MatchRow.id == records[koi8].id))
                assert bytes(row.copy_raw_page) == served[koi8]
                assert row.copy_raw_sha256 == hashlib.sha256(served[koi8]).hexdigest()
        finally:
            m.close()
