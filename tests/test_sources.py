"""Registering a source: one reading for every route, bad local files, size cap (issue 10
item 1; issue 11 item 9)."""

import asyncio
import gzip
import json
from http.server import BaseHTTPRequestHandler

import pytest
from typer.testing import CliRunner

from monitor import config
from monitor.cli import app
from monitor.demo.run import seed
from monitor.demo.servers import LoopbackServer
from monitor.extract import extract_page
from monitor.pipeline import Monitor
from monitor.sources import SourceError, read_source
from monitor.store import Database

runner = CliRunner()
ARTICLE = seed("original.txt")
PAGE = ("<!DOCTYPE html><html><head><meta charset='utf-8'><title>Japan and Russia</title></head><body>"
        "<nav><a href='/'>Home</a> <a href='/about'>About</a></nav>"
        "<article>" + "".join(f"<p>{p}</p>" for p in ARTICLE.split("\n") if p.strip()) + "</article>"
        "<footer>No comments: Post a Comment</footer></body></html>")


class Site(LoopbackServer):
    """Serves fixed routes: path → (content type, body, extra headers)."""

    def __init__(self, routes: dict[str, tuple[str, bytes, dict[str, str]]]) -> None:
        self.routes = routes

        class H(BaseHTTPRequestHandler):
            def log_message(self, *a):  # noqa: ANN002
                pass

            def do_GET(self):  # noqa: N802
                found = routes.get(self.path.replace(f"http://{self.headers['Host']}", ""))
                if found is None:
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                ctype, body, headers = found
                self.send_response(200)
                self.send_header("Content-Type", ctype)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        super().__init__(H)


def own_feed(base: str) -> bytes:
    """A summary-only RSS feed of the publisher's own site with one post: the page."""
    return (f'<?xml version="1.0"?><rss version="2.0"><channel><title>Me</title><link>{base}/</link>'
            f'<item><title>Japan and Russia</title><link>{base}/post.html</link><guid>p1</guid>'
            f'<description>Japan and Russia held talks.</description></item></channel></rss>').encode()


def monitor_for(db_url: str, tmp_path, **overrides) -> Monitor:
    overrides.setdefault("fetch", {"allow_private_networks": True})
    s = config.load(None, database_url=db_url, data_dir=str(tmp_path), **overrides)
    db = Database(s.db_url)
    db.migrate()
    return Monitor(s, db)


def stored_texts(m: Monitor) -> dict[str, str]:
    rows = m.store.list_sources()
    return {r.url: t.text for r in rows for t in [m.store.sources_by_id([r.id])[r.id]]}


def test_one_html_page_gives_the_same_text_by_every_route(tmp_path, monkeypatch):
    """Config `file:`, config `url:`, `sources add FILE`, `sources add URL`, `sources import`
    (html) and your own feed all register the page's extracted text, never the raw HTML."""
    expected = extract_page(PAGE.encode()).text
    assert "Home" not in expected and "Post a Comment" not in expected
    page_file = tmp_path / "page.html"
    page_file.write_text(PAGE, encoding="utf-8")
    with Site({}) as site:
        site.routes.update({
            "/post.html": ("text/html; charset=utf-8", PAGE.encode(), {}),
            "/page.html": ("text/html; charset=utf-8", PAGE.encode(), {}),
            "/feed.xml": ("application/rss+xml", own_feed(site.url), {}),
        })
        db = f"sqlite:///{tmp_path / 'm.db'}"
        # config: a file, a URL, your own feed
        m = monitor_for(db, tmp_path, sources=[
            {"file": str(page_file), "url": "https://me.example/by-config-file"},
            {"url": site.url + "/page.html"},
            {"feed": site.url + "/feed.xml"},
        ])
        try:
            report = asyncio.run(m.run_cycle())
            assert report.errors == []
            again = asyncio.run(m.run_cycle())  # a later run leaves the text as it is
            assert again.errors == []
        finally:
            m.close()
        # the command line: a file, a URL, an import line
        monkeypatch.chdir(tmp_path)
        monkeypatch.delenv("MONITOR_CONFIG", raising=False)
        cfg = tmp_path / "cli.yaml"
        cfg.write_text("fetch: {allow_private_networks: true}\n", encoding="utf-8")

        def cli(*args: str):
            r = runner.invoke(app, ["--config", str(cfg), "--database-url", db, *args], catch_exceptions=False)
            assert r.exit_code == 0, r.output
            return r

        cli("sources", "add", str(page_file), "--url", "https://me.example/by-add-file")
        site.routes["/post.html?by=add-url"] = site.routes["/post.html"]
        cli("sources", "add", site.url + "/post.html?by=add-url")
        lines = tmp_path / "import.jsonl"
        lines.write_text(json.dumps({"url": "https://me.example/by-import", "html": PAGE}) + "\n", encoding="utf-8")
        cli("sources", "import", str(lines))
    m = monitor_for(db, tmp_path)
    try:
        texts = stored_texts(m)
    finally:
        m.close()
    assert set(texts) == {"https://me.example/by-config-file", site.url + "/page.html", site.url + "/post.html",
                          "https://me.example/by-add-file", site.url + "/post.html?by=add-url",
                          "https://me.example/by-import"}
    for url, text in texts.items():
        assert text == expected, url


def test_local_files_in_other_charsets_are_decoded_like_pages(tmp_path):
    text = "Le café de la gare ouvre à six heures. Les élèves déjeunent là."
    for raw in (text.encode("cp1252"), text.encode("utf-8"), b"\xef\xbb\xbf" + text.encode("utf-8"),
                text.encode("utf-16")):
        assert read_source(raw, name="f.txt").text == text
    cyrillic = "Москва и Токио провели переговоры министров обороны и иностранных дел. " * 3
    assert read_source(cyrillic.encode("koi8-r"), name="ru.txt").text == cyrillic.strip()


@pytest.mark.parametrize("raw, what", [
    (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", "a PDF document"),
    (b"\x89PNG\r\n\x1a\n" + bytes(200), "a PNG image"),
    (b"PK\x03\x04" + bytes(100), "a ZIP archive"),
    (bytes(range(256)) * 8, "binary data"),
])
def test_binary_files_are_refused_naming_the_file(tmp_path, raw, what):
    path = tmp_path / "article.txt"
    path.write_bytes(raw)
    m = monitor_for(f"sqlite:///{tmp_path / 'm.db'}", tmp_path)
    try:
        with pytest.raises(SourceError) as e:
            m.source_from_file(path)
    finally:
        m.close()
    assert str(path) in str(e.value) and what in str(e.value)


def test_a_source_over_the_size_cap_is_refused_with_the_key_to_change(tmp_path):
    m = monitor_for(f"sqlite:///{tmp_path / 'm.db'}", tmp_path, detection={"max_source_chars": 5000},
                    fetch={"allow_private_networks": True, "max_bytes": 100_000})
    try:
        big = tmp_path / "book.txt"
        big.write_text("word " * 2000, encoding="utf-8")
        with pytest.raises(SourceError, match=r"9,999 characters.*5,000 \(detection.max_source_chars\)"):
            m.register_source(m.source_from_file(big), "file")
        huge = tmp_path / "site.html"
        huge.write_bytes(b"<p>x</p>" * 20_000)  # 160 KB: refused before it is read
        with pytest.raises(SourceError, match=r"site.html: 160,000 bytes, over the limit of 100,000 \(fetch.max_bytes\)"):
            m.source_from_file(huge)
        assert m.store.list_sources() == []
    finally:
        m.close()


def test_a_bad_file_in_the_config_is_reported_and_the_others_register(tmp_path):
    (tmp_path / "photo.txt").write_bytes(b"\xff\xd8\xff\xe0" + bytes(500))
    (tmp_path / "good.txt").write_text(ARTICLE, encoding="utf-8")
    m = monitor_for(f"sqlite:///{tmp_path / 'm.db'}", tmp_path, sources=[
        {"file": str(tmp_path / "photo.txt")}, {"file": str(tmp_path / "good.txt")}])
    try:
        errors = asyncio.run(m.sync_config(None))
        assert len(errors) == 1 and "photo.txt" in errors[0] and "a JPEG image" in errors[0]
        assert [r.url.rsplit("/", 1)[1] for r in m.store.list_sources()] == ["good.txt"]
    finally:
        m.close()


def test_cli_sources_add_refuses_a_binary_file_with_one_line(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MONITOR_CONFIG", raising=False)
    (tmp_path / "a.html").write_bytes(gzip.compress(PAGE.encode()))
    r = runner.invoke(app, ["--database-url", f"sqlite:///{tmp_path / 'm.db'}", "sources", "add",
                            str(tmp_path / "a.html")], catch_exceptions=False)
    assert r.exit_code == 2 and "a.html: a gzip archive, not text or HTML" in r.output
