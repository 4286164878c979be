"""The evidence package of a match found by a real cycle against a loopback blog (so the page
fetch, its headers and its sha256 are the pipeline's own), checked by the README's script."""

import io
import json
import re
import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from monitor import config
from monitor.cli import app
from monitor.demo.servers import Blog, BlogPost
from monitor.domain import Source
from monitor.takedown.evidence import package
from tests.takedown_fixtures import ARTICLE

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


def check_package():
    [block] = [b for b in re.findall(r"^```python\n(.*?)^```", README, flags=re.S | re.M) if "def check_package(" in b]
    namespace: dict = {"__name__": "readme"}
    exec(compile(block, "README.md", "exec"), namespace)  # noqa: S102 - the README's own code
    return namespace["check_package"]


@pytest.fixture
async def found(sqlite_url):
    from monitor.pipeline import Monitor

    with Blog("Berita", [BlogPost("copied", "Kellbridge walls", ARTICLE)]) as blog:
        s = config.Settings(database_url=sqlite_url, fetch={"allow_private_networks": True},
                            watch=[{"url": f"{blog.url}/feeds/posts/default"}])
        monitor = Monitor(s)
        monitor.register_source(Source("https://publisher.example/kellbridge", ARTICLE, "Kellbridge"), "url")
        monitor.store.sync_feeds([(f"{blog.url}/feeds/posts/default", "watch", 60)])
        report = await monitor.run_cycle(deliver=False)
        [m] = [m for m in report.matches if m.match_id]
        yield monitor, blog, m.match_id
        monitor.close()


async def test_package_is_complete_and_verifies(found, tmp_path):
    monitor, blog, match_id = found
    data = package(monitor.db, match_id)
    z = zipfile.ZipFile(io.BytesIO(data))
    assert sorted(z.namelist()) == ["copy.txt", "fetch.warc.gz", "headers.json", "manifest.json", "page.html",
                                    "report.html", "source.txt"]
    body, _, _ = blog.respond("/copied.html")
    assert z.read("page.html") == body  # the bytes as served
    headers = json.loads(z.read("headers.json"))
    assert headers["status"] == 200 and headers["url"] == f"{blog.url}/copied.html"
    assert headers["headers"]["content-type"] == "text/html; charset=utf-8"
    manifest = json.loads(z.read("manifest.json"))
    assert manifest["copy"]["from_feed"] is False and manifest["match_id"] == match_id
    assert [s["what"] for s in manifest["timeline"]] == ["found"]
    path = tmp_path / "p.zip"
    path.write_bytes(data)
    check = check_package()
    assert check(str(path)) == []
    # a tampered page is caught, by the manifest and by the recorded sha256
    tampered = tmp_path / "t.zip"
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(tampered, "w") as dst:
        for name in src.namelist():
            dst.writestr(name, src.read(name).replace(b"Kellbridge", b"Kelbridge") if name == "page.html"
                         else src.read(name))
    problems = check(str(tampered))
    assert "page.html: sha256 differs from the manifest" in problems
    assert "fetch.warc.gz: another page" in problems


async def test_the_warc_record_is_a_valid_response(found):
    from warcio.archiveiterator import ArchiveIterator

    monitor, blog, match_id = found
    z = zipfile.ZipFile(io.BytesIO(package(monitor.db, match_id)))
    [record] = list(ArchiveIterator(io.BytesIO(z.read("fetch.warc.gz"))))
    assert record.rec_type == "response"
    assert record.http_headers.get_statuscode() == "200"
    assert record.http_headers.get_header("Content-Type") == "text/html; charset=utf-8"
    assert record.rec_headers.get_header("WARC-Payload-Digest").startswith("sha1:")


def test_evidence_command(found, tmp_path):
    monitor, _, match_id = found
    base = ["--database-url", monitor.settings.db_url]
    r = CliRunner().invoke(app, [*base, "evidence", str(match_id), "--out", str(tmp_path / "e.zip")])
    assert r.exit_code == 0, r.output
    assert check_package()(str(tmp_path / "e.zip")) == []
    r = CliRunner().invoke(app, [*base, "evidence", "999", "--out", str(tmp_path / "x.zip")])
    assert r.exit_code == 2 and "no match with id 999" in r.output
    r = CliRunner().invoke(app, [*base, "evidence", str(match_id), "--revision", "3", "--out", str(tmp_path / "x.zip")])
    assert r.exit_code == 2 and "has no revision 3" in r.output
    r = CliRunner().invoke(app, [*base, "evidence", str(match_id), "--revision", "0", "--out", str(tmp_path / "e0.zip")])
    assert r.exit_code == 0 and check_package()(str(tmp_path / "e0.zip")) == []  # 0: the only, current one


def test_an_earlier_revision_keeps_the_headers_of_its_fetch(db_url, tmp_path):
    """The copier edits the copy (a new revision, a new fetch with other headers): the package of
    the first revision has that fetch's page and headers, in headers.json and in the WARC."""
    from warcio.archiveiterator import ArchiveIterator

    from monitor.domain import Post
    from monitor.store import Database, Store
    from monitor.store.models import utcnow
    from monitor.takedown.evidence import EvidenceError

    db = Database(db_url)
    store = Store(db)
    try:
        sid, _ = store.upsert_source(Source("https://publisher.example/a", ARTICLE, "A"), b"s", "url")
        first = f"<p>{ARTICLE}</p>".encode()
        pid = store.save_post(Post("https://copy.example/1", ARTICLE, "C", html=first, http_status=200,
                                   headers={"content-type": "text/html", "x-served-by": "cache-first"}), None)
        whole = {"passages": [{"source_start": 0, "source_end": len(ARTICLE), "copy_start": 0, "copy_end": len(ARTICLE)}]}
        mid, _ = store.record_match(sid, pid, "copy", 0.9, 1.0, 0.0, whole, [("ops", utcnow())])
        trimmed = ARTICLE.split("\n")[0]
        store.save_post(Post("https://copy.example/1", trimmed, "C", html=f"<p>{trimmed}</p>".encode(), http_status=200,
                             headers={"content-type": "text/html", "x-served-by": "cache-second"}), None, post_id=pid)
        part = {"passages": [{"source_start": 0, "source_end": len(trimmed), "copy_start": 0, "copy_end": len(trimmed)}]}
        assert store.record_match(sid, pid, "partial_copy", 0.6, 0.3, 0.0, part, [("ops", utcnow())])[1] == "match.updated"

        z = zipfile.ZipFile(io.BytesIO(package(db, mid, revision=0)))
        assert z.read("page.html") == first
        assert json.loads(z.read("headers.json"))["headers"]["x-served-by"] == "cache-first"
        [record] = [r for r in ArchiveIterator(io.BytesIO(z.read("fetch.warc.gz"))) if r.rec_type == "response"]
        assert record.http_headers.get_header("x-served-by") == "cache-first"
        manifest = json.loads(z.read("manifest.json"))
        assert (manifest["revision"], manifest["kind"]) == (0, "copy")
        path = tmp_path / "r0.zip"
        path.write_bytes(package(db, mid, revision=0))
        assert check_package()(str(path)) == []
        now = zipfile.ZipFile(io.BytesIO(package(db, mid)))
        assert json.loads(now.read("headers.json"))["headers"]["x-served-by"] == "cache-second"
        assert json.loads(now.read("manifest.json"))["revision"] == 1
        current = zipfile.ZipFile(io.BytesIO(package(db, mid, revision=1)))  # the current revision by its number
        assert json.loads(current.read("headers.json"))["headers"]["x-served-by"] == "cache-second"
        with pytest.raises(EvidenceError, match="has no revision 7"):
            package(db, mid, revision=7)
    finally:
        db.close()
