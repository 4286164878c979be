"""Bad input is one line and exit status 2, never a traceback; secrets never reach the output."""

import os
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from monitor.cli import app
from monitor.errors import ConfigError, DatabaseError, InputError, MonitorError
from monitor.redact import redact

runner = CliRunner()


def invoke(*args: str, **kw):
    return runner.invoke(app, list(args), catch_exceptions=False, **kw)


def one_line_error(r, *words: str) -> str:
    assert r.exit_code == 2, r.output
    assert "Traceback" not in r.output
    lines = [x for x in r.output.splitlines() if x.startswith("error:")]
    assert len(lines) == 1, r.output
    for w in words:
        assert w in lines[0], (w, lines[0])
    return lines[0]


def test_the_error_tree():
    from monitor.fetch import FeedError, FetchError
    from monitor.fetch.http import BlockedError, HTTPStatusError
    from monitor.notify.senders import DeliveryError

    for cls in (ConfigError, DatabaseError, InputError, FetchError, BlockedError, HTTPStatusError,
                FeedError, DeliveryError):
        assert issubclass(cls, MonitorError), cls
    from monitor import config
    from monitor.store import DatabaseError as StoreDatabaseError

    assert config.ConfigError is ConfigError and StoreDatabaseError is DatabaseError


@pytest.mark.parametrize("url, words", [
    ("data/x.db", ["not a URL", "sqlite:///data/x.db"]),
    ("sqlite://data/x.db", ["sqlite:///data/x.db", "three slashes"]),
    ("postgresql://u:hunter2@h:notaport/db", ["not a database URL"]),
    ("nosuchdialect://u:hunter2@h/db", ["cannot be used"]),
])
def test_bad_database_urls(url, words, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    line = one_line_error(invoke("--database-url", url, "sources", "list"), *words)
    assert "hunter2" not in line


def test_postgres_scheme_is_postgresql(postgres_url, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    url = postgres_url.replace("postgresql+psycopg://", "postgres://")
    assert invoke("--database-url", url, "migrate").exit_code == 0
    r = invoke("--database-url", url, "matches")
    assert r.exit_code == 0, r.output


def test_postgresql_without_the_driver_says_what_to_install(tmp_path):
    # A child process in which psycopg cannot be imported, as without the [postgres] extra.
    code = ("import sys; sys.modules['psycopg'] = None; from monitor.cli import app; "
            "app(['--database-url', 'postgresql://u:hunter2@127.0.0.1/db', 'sources', 'list'])")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, timeout=60)
    assert r.returncode == 2, r.stderr
    assert 'pip install "reuse-monitor[postgres]"' in r.stderr
    assert "Traceback" not in r.stderr and "hunter2" not in r.stderr


def test_failing_migrate_hides_the_password(tmp_path):
    r = invoke("--database-url", "postgresql://monitor:hunter2@127.0.0.1:1/x", "migrate")
    line = one_line_error(r, "127.0.0.1")
    assert "hunter2" not in r.output and "***" in line


def test_report_to_an_unwritable_path_and_extract_of_a_missing_file(tmp_path, monkeypatch):
    from monitor.domain import Post, Source
    from monitor.store import Database, Store

    monkeypatch.chdir(tmp_path)
    url = f"sqlite:///{tmp_path / 'm.db'}"
    invoke("--database-url", url, "migrate")
    db = Database(url)
    store = Store(db)
    sid, _ = store.upsert_source(Source("https://publisher.example/a", "t", "A"), b"s", "url")
    pid = store.save_post(Post("https://copy.example/1", "t"), None)
    mid, _ = store.record_match(sid, pid, "copy", 0.8, 0.7, 0.0, {"passages": []}, [])
    db.close()
    one_line_error(invoke("--database-url", url, "report", str(mid), "--html", str(tmp_path / "no" / "such" / "r.html")),
                   "--html", "No such file or directory")
    r = invoke("extract", str(tmp_path / "missing.html"))
    assert r.exit_code == 2 and "missing.html: No such file or directory" in r.output and "Traceback" not in r.output
    one_line_error(invoke("--database-url", url, "sources", "import", str(tmp_path / "missing.jsonl")), "missing.jsonl")
    one_line_error(invoke("compare", str(tmp_path / "missing.txt"), str(tmp_path / "x.txt")), "missing.txt")


def test_sources_import_counts_every_bad_line(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    url = f"sqlite:///{tmp_path / 'm.db'}"
    bad = tmp_path / "bad.jsonl"
    bad.write_text('not json\n{"url": "https://p.example/a"}\n[1, 2]\n{"broken": \n', encoding="utf-8")
    r = invoke("--database-url", url, "sources", "import", str(bad))
    assert r.exit_code == 1
    assert "0 source(s) registered, 4 line(s) skipped" in r.output
    assert "bad.jsonl:1: not JSON" in r.output and "bad.jsonl:4: not JSON" in r.output
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n", encoding="utf-8")
    assert invoke("--database-url", url, "sources", "import", str(empty)).exit_code == 1


def test_redact():
    assert redact("postgresql://monitor:hunter2@db:5432/monitor") == "postgresql://monitor:***@db:5432/monitor"
    assert redact("could not connect to postgresql://u:p@h/x: refused") == "could not connect to postgresql://u:***@h/x: refused"
    assert redact("https://hooks.slack.com/services/T000/B000/XXXXsecret") == "https://hooks.slack.com/services/***"
    assert redact("https://discord.com/api/webhooks/123/tok") == "https://discord.com/api/webhooks/***"
    assert redact("https://x.webhook.office.com/webhookb2/abc@def/IncomingWebhook/1/2") == \
        "https://x.webhook.office.com/webhookb2/***"
    assert redact("https://h.example/feed?token=abc&page=2") == "https://h.example/feed?token=***&page=2"
    assert redact("https://h.example/hook?x=abc&page=2", whole_query=True) == "https://h.example/hook?x=***&page=***"
    assert redact("https://h.example/hook?rawtoken", whole_query=True) == "https://h.example/hook?***"
    assert redact("https://u:p@h.example:8443/hooks/T0KEN?x=1", secret_url=True) == "https://h.example:8443/***"
    assert redact("https://h.example/", secret_url=True) == "https://h.example/"
    assert redact("https://blog.example/feed.xml") == "https://blog.example/feed.xml"
    assert redact("no url here") == "no url here"


def test_webhook_tokens_stay_out_of_names_outbox_logs_and_notify_test(tmp_path, monkeypatch, caplog):
    """A webhook whose URL carries a token: `notify test` output, the outbox row and the log
    show it hidden; the receiver still gets the POST at the whole URL."""
    import yaml

    from monitor.config import WebhookNotifier
    from monitor.demo.servers import WebhookReceiver

    a = WebhookNotifier(secret_env="TEST_WEBHOOK_SECRET", url="https://h.example/hook?token=s3cret1")
    b = WebhookNotifier(secret_env="TEST_WEBHOOK_SECRET", url="https://h.example/hook?token=s3cret2")
    assert "s3cret" not in a.name and a.name != b.name

    monkeypatch.chdir(tmp_path)
    with WebhookReceiver(statuses=[500]) as hook:
        url = hook.url + "?token=s3cret9"
        cfg = {"notify": {"webhooks": [{"secret_env": "TEST_WEBHOOK_SECRET", "url": url, "timeout": 3}]}, "fetch": {"allow_private_networks": True}}
        (tmp_path / "c.yaml").write_text(yaml.safe_dump(cfg))
        r = runner.invoke(app, ["--config", str(tmp_path / "c.yaml"), "--database-url",
                                f"sqlite:///{tmp_path / 'm.db'}", "notify", "test"])
        assert r.exit_code == 1 and "FAILED" in r.stdout and "HTTP 500" in r.stdout
        assert "s3cret9" not in r.output and "/***#" in r.output
        r = runner.invoke(app, ["--config", str(tmp_path / "c.yaml"), "--database-url",
                                f"sqlite:///{tmp_path / 'm.db'}", "notify", "test"])
        assert r.exit_code == 0 and "s3cret9" not in r.output
        assert len(hook.received) == 2


def test_log_lines_are_redacted(tmp_path):
    code = ("import logging; from monitor.cli import app; import sys\n"
            "sys.argv = ['monitor', 'extract', '/nonexistent']\n"
            "from monitor.cli import main\n"
            "main(config=None, database_url=None, verbose=False)\n"
            "logging.getLogger('monitor').warning('posting to https://hooks.slack.com/services/T/B/s3cret "
            "and postgresql://u:hunter2@h/x \\x1b[2J')\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                       env={**os.environ})
    assert "s3cret" not in r.stderr and "hunter2" not in r.stderr and "\x1b" not in r.stderr
    assert "services/***" in r.stderr and "u:***@h" in r.stderr


def test_no_traceback_for_a_config_error(tmp_path):
    (tmp_path / "c.yaml").write_text("watch:\n  - url: https://x.example/[/]\n    intervall: 5\n")
    r = invoke("--config", str(tmp_path / "c.yaml"), "sources", "list")
    assert r.exit_code == 2 and "intervall: unknown key" in r.output and "Traceback" not in r.output
