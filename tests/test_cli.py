"""The command line, in-process (typer's runner) on a SQLite file."""

import json
import re
import shutil

import pytest
from typer.testing import CliRunner

from monitor.cli import app
from monitor.demo.run import seed

runner = CliRunner()


@pytest.fixture
def cli(tmp_path, monkeypatch, sqlite_template):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MONITOR_CONFIG", raising=False)
    shutil.copyfile(sqlite_template, tmp_path / "m.db")  # migrated once per session
    url = f"sqlite:///{tmp_path / 'm.db'}"

    def invoke(*args: str):
        return runner.invoke(app, ["--database-url", url, *args], catch_exceptions=False)

    return invoke


def write_sources(tmp_path):
    (tmp_path / "original.txt").write_text(seed("original.txt"), encoding="utf-8")
    lines = [
        {"url": "https://publisher.example/a", "title": "A", "text": seed("original.txt")},
        {"url": "https://publisher.example/b", "html": "<html><body><article><p>" + seed("unrelated-2.txt") + "</p></article></body></html>"},
        {"url": "https://publisher.example/bad"},
    ]
    path = tmp_path / "sources.jsonl"
    path.write_text("\n".join(json.dumps(x) for x in lines) + "\nnot json\n", encoding="utf-8")
    return path


def test_sources_import_list_and_scan(cli, tmp_path):
    r = cli("sources", "import", str(write_sources(tmp_path)))
    assert r.exit_code == 0
    assert "2 source(s) registered, 2 line(s) skipped" in r.output  # the line that is not JSON counts
    assert "sources.jsonl:3" in r.output and "sources.jsonl:4: not JSON" in r.output
    listed = [json.loads(x) for x in cli("sources", "list", "--json").stdout.splitlines()]
    assert [s["url"] for s in listed] == ["https://publisher.example/a", "https://publisher.example/b"]

    posts = tmp_path / "posts.jsonl"
    posts.write_text("\n".join(json.dumps(x) for x in [
        {"url": "https://copy.example/1", "text": seed("spun.txt")},
        {"url": "https://other.example/2", "text": seed("unrelated-1.txt")},
        {"url": "https://other.example/3"},
    ]) + "\n", encoding="utf-8")
    r = cli("scan", str(posts), "--json")
    assert r.exit_code == 0
    results = [json.loads(x) for x in r.stdout.splitlines()]
    assert [x["url"] for x in results] == ["https://copy.example/1", "https://other.example/2", "https://other.example/3"]
    [m] = results[0]["matches"]
    assert m["source_url"] == "https://publisher.example/a" and m["kind"] == "spun_copy"
    assert 0 < m["score"] <= 1 and m["passages"] and m["substitutions"]
    assert results[1]["matches"] == [] and "error" in results[2]
    # scan stores nothing
    assert cli("matches", "--json").stdout == ""


def test_sources_add_file_and_missing(cli, tmp_path):
    (tmp_path / "a.txt").write_text(seed("original.txt"), encoding="utf-8")
    r = cli("sources", "add", str(tmp_path / "a.txt"), "--url", "https://publisher.example/a")
    assert r.exit_code == 0 and "source 1: https://publisher.example/a" in r.stdout
    r = cli("sources", "add", "nothing-here.txt")
    assert r.exit_code == 2 and "neither an existing file nor an http(s) URL" in r.output


def test_compare_and_extract(cli, tmp_path):
    (tmp_path / "a.txt").write_text(seed("original.txt"), encoding="utf-8")
    (tmp_path / "b.txt").write_text(seed("spun.txt"), encoding="utf-8")
    (tmp_path / "c.txt").write_text(seed("unrelated-1.txt"), encoding="utf-8")
    r = json.loads(cli("compare", str(tmp_path / "a.txt"), str(tmp_path / "b.txt"), "--json").stdout)
    assert r["match"] is True and r["kind"] == "spun_copy"
    r = json.loads(cli("compare", str(tmp_path / "a.txt"), str(tmp_path / "c.txt"), "--json").stdout)
    assert r["match"] is False
    page = tmp_path / "p.html"
    page.write_text("<html><head><title>T</title></head><body><nav>Menu</nav><article><p>Body text.</p>"
                    "</article></body></html>", encoding="utf-8")
    r = cli("extract", str(page), "--json")
    out = json.loads(r.stdout)
    assert out["path"] == str(page) and out["text"] == "Body text." and "Menu" not in out["text"]


def test_matches_formats_and_since(cli, tmp_path):
    from monitor.domain import Post, Source
    from monitor.store import Database, Store

    cli("migrate")
    db = Database(f"sqlite:///{tmp_path / 'm.db'}")
    store = Store(db)
    sid, _ = store.upsert_source(Source("https://publisher.example/a", "t", "A"), b"s", "url")
    pid = store.save_post(Post("https://copy.example/1", "t"), None)
    store.record_match(sid, pid, "spun_copy", 0.8, 0.7, 0.3, {"passages": []}, [])
    db.close()
    [row] = [json.loads(x) for x in cli("matches", "--json").stdout.splitlines()]
    assert row["copy_url"] == "https://copy.example/1" and row["score"] == 0.8
    csv_out = cli("matches", "--csv").stdout.splitlines()
    assert csv_out[0].startswith("id,detected_at,kind") and "https://copy.example/1" in csv_out[1]
    assert cli("matches", "--json", "--since", "1h").stdout.count("\n") == 1
    assert cli("matches", "--json", "--source", "nope").stdout == ""
    r = cli("matches", "--since", "yesterday-ish")
    assert r.exit_code == 2 and "--since" in r.output


def test_unreachable_postgres_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    r = runner.invoke(app, ["--database-url", "postgresql://nobody@127.0.0.1:1/x", "sources", "list"])
    assert r.exit_code == 2 and "127.0.0.1" in r.output


def test_report_html_is_escaped_and_complete(cli, tmp_path):
    from monitor.domain import Post, Source
    from monitor.store import Database, Store

    cli("migrate")
    db = Database(f"sqlite:///{tmp_path / 'm.db'}")
    store = Store(db)
    sid, _ = store.upsert_source(Source("https://publisher.example/a", "Alpha beta gamma.", "A"), b"s", "url")
    evil = 'Alpha <script>alert(1)</script> gamma.'
    pid = store.save_post(Post("https://copy.example/1", evil, "<b>T</b>", html=f"<p>{evil}</p>", http_status=200), None)
    ev = {"passages": [{"source_start": 0, "source_end": 5, "copy_start": 0, "copy_end": len(evil)}],
          "substitutions": [["beta", "<script>"]]}
    mid, _ = store.record_match(sid, pid, "spun_copy", 0.8, 0.7, 0.3, ev, [])
    db.close()
    r = cli("report", str(mid), "--html", str(tmp_path / "r.html"))
    assert r.exit_code == 0
    page = (tmp_path / "r.html").read_text()
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert "<mark>Alpha</mark>" in page and "https://copy.example/1" in page
    # what differs inside the passage is underlined (and inert)
    assert '<u class="swap">script&gt;alert(1)&lt;/script&gt; gamma</u>' in page
    import hashlib

    assert "HTTP status 200" in page
    assert hashlib.sha256(f"<p>{evil}</p>".encode()).hexdigest() in page
    assert cli("report", "999").exit_code == 2


def test_sources_add_url_fetches_and_extracts(cli, monkeypatch):
    from monitor.demo.servers import Blog, BlogPost

    with Blog("Publisher", [BlogPost("a", "Russia, Japan", seed("original.txt"))]) as blog:
        r = cli("sources", "add", blog.url + "/a.html")
        assert r.exit_code == 2 and "non-public address" in r.output  # guarded by default
        monkeypatch.setenv("MONITOR_FETCH__ALLOW_PRIVATE_NETWORKS", "true")
        r = cli("sources", "add", blog.url + "/a.html")
        assert r.exit_code == 0, r.output
        r = cli("sources", "add", blog.url + "/missing.html")
        assert r.exit_code == 2 and "HTTP 404" in r.output
    [src] = [json.loads(x) for x in cli("sources", "list", "--json").stdout.splitlines()]
    assert src["words"] > 500 and src["title"] == "Russia, Japan"


def test_notify_test_reports_each_destination(cli, tmp_path):
    import yaml

    from monitor.demo.servers import WebhookReceiver, free_port

    with WebhookReceiver() as hook:
        cfg = {"notify": {"webhooks": [{"secret_env": "TEST_WEBHOOK_SECRET", "url": hook.url}],
                          "email": [{"host": "127.0.0.1", "port": free_port(), "security": "none",
                                     "from": "m@localhost", "to": "e@localhost", "timeout": 3}]}}
        (tmp_path / "c.yaml").write_text(yaml.safe_dump(cfg))
        r = runner.invoke(app, ["--config", str(tmp_path / "c.yaml"),
                                "--database-url", f"sqlite:///{tmp_path / 'm.db'}", "notify", "test"])
    assert r.exit_code == 1
    lines = r.stdout.splitlines()
    assert any(x.startswith("ok") and hook.url.split("/hooks")[0] + "/***#" in x for x in lines)  # path hidden: often a token
    assert any(x.startswith("FAILED") and "email:e@localhost" in x for x in lines)
    assert len(hook.accepted) == 1


def test_earlier_revisions_keep_their_evidence(cli, tmp_path):
    """The copier trims a whole copy to a few lines: the match gets a new revision (and alert),
    and the first revision's proof stays reportable, text and page as they were found."""
    import hashlib

    from monitor.domain import Post, Source
    from monitor.store import Database, Store
    from monitor.store.models import utcnow

    cli("migrate")
    db = Database(f"sqlite:///{tmp_path / 'm.db'}")
    store = Store(db)
    sid, _ = store.upsert_source(Source("https://publisher.example/a", "One. Two. Three. Four.", "A"), b"s", "url")
    whole = "One. Two. Three. Four."
    pid = store.save_post(Post("https://copy.example/1", whole, "C", html=f"<p>{whole}</p>", http_status=200), None)
    ev = {"passages": [{"source_start": 0, "source_end": 22, "copy_start": 0, "copy_end": 22}]}
    mid, event = store.record_match(sid, pid, "copy", 0.9, 1.0, 0.0, ev, [("ops", utcnow())])
    store.save_post(Post("https://copy.example/1", "One. And more.", "C", html="<p>One. And more.</p>"), None,
                    post_id=pid)
    ev1 = {"passages": [{"source_start": 0, "source_end": 4, "copy_start": 0, "copy_end": 4}]}
    assert store.record_match(sid, pid, "partial_copy", 0.6, 0.3, 0.0, ev1, [("ops", utcnow())]) == \
        (mid, "match.updated")
    [rev0] = store.match_revisions(mid)
    assert (rev0.revision, rev0.kind, rev0.coverage) == (0, "copy", 1.0)
    db.close()

    current = json.loads(cli("report", str(mid)).stdout)
    assert (current["revision"], current["kind"]) == (1, "partial_copy")
    assert [r["revision"] for r in current["earlier_revisions"]] == [0]
    first = json.loads(cli("report", str(mid), "--revision", "0").stdout)
    assert (first["revision"], first["kind"], first["copy_changed"]) == (0, "copy", True)
    assert first["raw_sha256"] == hashlib.sha256(f"<p>{whole}</p>".encode()).hexdigest()
    assert cli("report", str(mid), "--revision", "0", "--html", str(tmp_path / "r0.html")).exit_code == 0
    page = (tmp_path / "r0.html").read_text()
    assert "<mark>One. Two. Three. Four.</mark>" in page and "shown as it was" in page
    assert cli("report", str(mid), "--revision", "7").exit_code == 2


def test_report_of_a_rewrite_shows_what_it_kept(cli, tmp_path):
    """A re-told passage is shown by the words it kept (names, numbers, stems), not by a
    word-order diff that would underline nearly all of it; the copy's words stay escaped."""
    from monitor.domain import Post, Source
    from monitor.store import Database, Store

    cli("migrate")
    db = Database(f"sqlite:///{tmp_path / 'm.db'}")
    store = Store(db)
    original = "Governor Kristi Noem defended the $449,000 campaign on Tuesday."
    copy = "On Tuesday the <i>$449,000</i> drive was defended by Noem, the state's governor."
    sid, _ = store.upsert_source(Source("https://publisher.example/a", original, "A"), b"s", "url")
    pid = store.save_post(Post("https://copy.example/1", copy, "T", http_status=200), None)
    ev = {"method": "sentences", "passages": [{"source_start": 0, "source_end": len(original),
                                               "copy_start": 0, "copy_end": len(copy)}]}
    mid, _ = store.record_match(sid, pid, "rewrite", 0.8, 0.9, 0.3, ev, [])
    db.close()
    assert cli("report", str(mid), "--html", str(tmp_path / "r.html")).exit_code == 0
    page = (tmp_path / "r.html").read_text()
    kept = set(re.findall(r'<b class="kept">([^<]*)</b>', page))
    assert {"Noem", "449", "000", "Tuesday", "defended", "governor", "Governor"} <= kept
    assert not kept & {"drive", "campaign", "the", "state"}  # reworded words and stopwords are not
    assert '<u class="swap">' not in page and "<i>" not in page and "&lt;i&gt;" in page
    assert "words it kept of the original" in page
