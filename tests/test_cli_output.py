"""Nothing read from the web is ever interpreted by the terminal: every command that prints page
text, titles or URLs is given rich markup, ANSI escapes, control and bidi characters."""

import json
from datetime import datetime

import pytest
import yaml
from typer.testing import CliRunner

from monitor.cli import app, inert
from monitor.demo.run import seed

runner = CliRunner()

# rich markup that crashed (`[/]`) or would style (`[bold]`), an emoji code, ANSI (clear screen,
# red), a carriage return that rewrites the line, a right-to-left override.
HOSTILE = "[/] [bold]x[/bold] :smile: \x1b[2J\x1b[31mred\r\u202eevil"
HOSTILE_URL = "https://copy.example/[/]p[bold]?q=\x1b[31m"
ESCAPES = ("\x1b", "\r", "\u202e")


def clean(output: str) -> None:
    """The output shows the hostile text literally, with its control characters made visible."""
    for c in ESCAPES:
        assert c not in output
    assert "\\x1b[2J" in output or "\\x1b[31m" in output or "\\u001b" in output


@pytest.fixture
def cli(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MONITOR_CONFIG", raising=False)
    url = f"sqlite:///{tmp_path / 'm.db'}"

    def invoke(*args: str):
        return runner.invoke(app, ["--database-url", url, *args], catch_exceptions=False)

    return invoke


def stored_match(tmp_path, cli):
    from monitor.domain import Post, Source
    from monitor.store import Database, Store

    cli("migrate")
    db = Database(f"sqlite:///{tmp_path / 'm.db'}")
    store = Store(db)
    text = "Alpha beta gamma " + HOSTILE
    sid, _ = store.upsert_source(Source("https://publisher.example/a[/]", text, HOSTILE), b"s", "url")
    pid = store.save_post(Post(HOSTILE_URL, text, HOSTILE, html=f"<p>{text}</p>", http_status=200), None)
    ev = {"passages": [{"source_start": 0, "source_end": len(text), "copy_start": 0, "copy_end": len(text)}],
          "substitutions": [["[/]", "\x1b[31m"]]}
    mid, _ = store.record_match(sid, pid, "spun_copy", 0.8, 0.7, 0.3, ev, [])
    db.close()
    return mid


def test_inert_shows_control_characters():
    assert inert("a\x1b[31mb\rc\u202ed") == "a\\x1b[31mb\\x0dc\\u202ed"
    assert inert("line\nnext\ttab") == "line\\x0anext\\x09tab"
    assert inert("line\nnext\ttab", multiline=True) == "line\nnext\ttab"
    assert inert("[/] :smile: é ü 中") == "[/] :smile: é ü 中"  # printable text is left alone


def test_extract_prints_a_hostile_page_literally(cli, tmp_path):
    page = tmp_path / "p.html"
    body = " ".join([seed("original.txt")[:600], HOSTILE])
    page.write_text(f"<html><head><title>{HOSTILE}</title></head><body><article><p>{body}</p>"
                    f"<p>{seed('original.txt')[600:1400]}</p></article></body></html>", encoding="utf-8")
    r = cli("extract", str(page))
    assert r.exit_code == 0, r.output
    assert "[/] [bold]x[/bold] :smile:" in r.stdout  # neither markup nor emoji
    clean(r.stdout)
    r = cli("extract", str(page), "--json")
    assert json.loads(r.stdout)["text"].count("[/]") == 1
    assert "\x1b" not in r.stdout and "\u202e" not in r.stdout and "\\u202e" in r.stdout


def test_matches_report_and_lists_print_hostile_urls_literally(cli, tmp_path):
    mid = stored_match(tmp_path, cli)
    for args in (["matches"], ["matches", "--csv"], ["matches", "--json"], ["report", str(mid)],
                 ["sources", "list"], ["sources", "list", "--json"]):
        r = cli(*args)
        assert r.exit_code == 0, (args, r.output)
        assert "[/]" in r.stdout, args
        for c in ESCAPES:
            assert c not in r.stdout, args
    human = cli("matches").stdout
    assert "https://copy.example/[/]p[bold]?q=\\x1b[31m" in human  # whole, markup as text
    r = cli("report", str(mid), "--html", str(tmp_path / "r.html"))
    assert r.exit_code == 0
    page = (tmp_path / "r.html").read_text()
    assert "[/]p[bold]" in page


def test_feeds_list_prints_a_hostile_error_literally(cli, tmp_path):
    from monitor.store import Database, Store
    from monitor.store.models import FeedRow

    cli("migrate")
    db = Database(f"sqlite:///{tmp_path / 'm.db'}")
    Store(db).sync_feeds([("https://blog.example/", "watch", 60)])
    with db.session() as s:
        row = s.query(FeedRow).one()
        row.last_error, row.last_status, row.feed_url = HOSTILE, "error", HOSTILE_URL
    db.close()
    for args in (["feeds", "list"], ["feeds", "list", "--json"]):
        r = cli(*args)
        assert r.exit_code == 0, r.output
        assert "[/]" in r.stdout
        for c in ESCAPES:
            assert c not in r.stdout


def test_scan_and_compare_print_hostile_text_literally(cli, tmp_path):
    text = "Foreword by " + HOSTILE + " and then. " + seed("original.txt")
    (tmp_path / "a.txt").write_text(text, encoding="utf-8")
    (tmp_path / "b.txt").write_text(text, encoding="utf-8")
    r = cli("compare", str(tmp_path / "a.txt"), str(tmp_path / "b.txt"))  # the excerpt quotes it
    assert r.exit_code == 0, r.output
    assert "copy" in r.stdout and "[/]" in r.stdout
    clean(r.stdout)

    src = tmp_path / "s.jsonl"
    src.write_text(json.dumps({"url": "https://publisher.example/[/]", "text": text}) + "\n", encoding="utf-8")
    assert cli("sources", "import", str(src)).exit_code == 0
    posts = tmp_path / "p.jsonl"
    posts.write_text("\n".join(json.dumps(x) for x in [
        {"url": HOSTILE_URL, "text": seed("spun.txt")}, {"url": HOSTILE_URL}]) + "\n", encoding="utf-8")
    for args in (["scan", str(posts)], ["scan", str(posts), "--json"]):
        r = cli(*args)
        assert r.exit_code == 0, r.output
        assert "[/]" in r.stdout
        for c in ESCAPES:
            assert c not in r.output


@pytest.mark.slow
def test_run_once_prints_a_hostile_copy_url_literally(tmp_path, monkeypatch):
    from monitor.demo.servers import Blog, BlogPost

    monkeypatch.chdir(tmp_path)
    (tmp_path / "original.txt").write_text(seed("original.txt"), encoding="utf-8")
    spun = seed("spun.txt").split("Buat lebih berguna, kongsi:")[0]
    with Blog("Autoblog", [BlogPost("copy-x", HOSTILE, spun)]) as blog:
        cfg = {"sources": [{"file": "original.txt", "url": "https://publisher.example/[/]a"}],
               "watch": [{"url": blog.url + "/feeds/posts/default"}],
               "fetch": {"allow_private_networks": True, "respect_robots": False}}
        (tmp_path / "c.yaml").write_text(yaml.safe_dump(cfg), encoding="utf-8")
        r = runner.invoke(app, ["--config", str(tmp_path / "c.yaml"), "--database-url",
                                f"sqlite:///{tmp_path / 'm.db'}", "run", "--once"], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    assert "https://publisher.example/[/]a" in r.stdout and "copy-x.html" in r.stdout


def test_discovered_feed_is_logged_and_listed_as_such_and_a_removed_feed_is_not_scheduled(tmp_path, monkeypatch, caplog):
    import logging

    from monitor.demo.servers import Blog, BlogPost
    from monitor.store import Database
    from monitor.store.models import FeedRow

    monkeypatch.chdir(tmp_path)
    db_url = f"sqlite:///{tmp_path / 'm.db'}"
    with Blog("Autoblog", [BlogPost("p", "Garden", seed("unrelated-1.txt"))]) as blog:
        cfg = {"watch": [{"url": blog.url + "/"}], "fetch": {"allow_private_networks": True}}
        (tmp_path / "c.yaml").write_text(yaml.safe_dump(cfg), encoding="utf-8")
        with caplog.at_level(logging.INFO, logger="monitor"):
            r = runner.invoke(app, ["--config", str(tmp_path / "c.yaml"), "--database-url", db_url, "run", "--once"])
        assert r.exit_code == 0, r.output
        assert "moved permanently" not in caplog.text
        assert "found by discovery" in caplog.text and "/feeds/posts/default" in caplog.text
        r = runner.invoke(app, ["--config", str(tmp_path / "c.yaml"), "--database-url", db_url, "feeds", "list"])
        assert blog.url + "/feeds/posts/default" in r.stdout and "→" in r.stdout

        # Taken out of the config: kept for its history, shown as not scheduled, its old error hidden.
        (tmp_path / "c.yaml").write_text(yaml.safe_dump({"watch": []}), encoding="utf-8")
        runner.invoke(app, ["--config", str(tmp_path / "c.yaml"), "--database-url", db_url, "run", "--once"])
    db = Database(db_url)
    with db.session() as s:
        s.query(FeedRow).one().last_error = "an old failure"
    db.close()
    assert runner.invoke(app, ["--config", str(tmp_path / "c.yaml"), "--database-url", db_url, "feeds", "list"]).stdout == ""
    r = runner.invoke(app, ["--config", str(tmp_path / "c.yaml"), "--database-url", db_url, "feeds", "list", "--all"])
    assert "retired" in r.stdout and "not scheduled" in r.stdout and "an old failure" not in r.stdout
    assert str(datetime.now().year + 100) not in r.stdout
    r = runner.invoke(app, ["--config", str(tmp_path / "c.yaml"), "--database-url", db_url, "feeds", "list", "--json", "--all"])
    assert json.loads(r.stdout)["next_check_at"] is None


def test_sources_list_says_how_to_register_the_configured_sources(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "c.yaml").write_text(yaml.safe_dump({"sources": [{"url": "https://publisher.example/a"}]}))
    r = runner.invoke(app, ["--config", str(tmp_path / "c.yaml"), "--database-url", f"sqlite:///{tmp_path / 'm.db'}",
                            "sources", "list"])
    assert r.exit_code == 0
    assert "no sources registered yet" in r.output and "the config lists 1" in r.output and "monitor run --once" in r.output


def test_matches_prints_long_urls_whole(cli, tmp_path):
    from monitor.domain import Post, Source
    from monitor.store import Database, Store

    cli("migrate")
    db = Database(f"sqlite:///{tmp_path / 'm.db'}")
    store = Store(db)
    long_copy = "https://copies.example/" + "/".join(f"segment-{i}" for i in range(15)) + "/post.html?utm_source=x"
    sid, _ = store.upsert_source(Source("https://publisher.example/" + "a" * 90, "t", "A"), b"s", "url")
    pid = store.save_post(Post(long_copy, "t"), None)
    store.record_match(sid, pid, "spun_copy", 0.8, 0.7, 0.3, {"passages": []}, [])
    db.close()
    out = cli("matches").stdout  # the runner's terminal is 80 columns wide
    assert long_copy in out and "https://publisher.example/" + "a" * 90 in out
