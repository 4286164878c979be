"""`monitor run --once` as a subprocess against a loopback blog, SMTP server and webhook receiver."""

import os
import subprocess
import sys

import pytest
import yaml
from standardwebhooks.webhooks import Webhook

from monitor.demo.run import seed
from monitor.demo.servers import Blog, BlogPost, SMTPSink, WebhookReceiver, webhook_json

SECRET = "whsec_ZTJlLXRlc3Qtc2VjcmV0LWZvci1yZXVzZQ=="
EVIL_TITLE = 'Russia <script>alert("pwned")</script> <a href="https://evil.example/">win</a>'


def monitor(*args: str, env: dict[str, str], cwd) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "monitor", *args], env=env, cwd=cwd,
                          capture_output=True, text=True, timeout=120)


@pytest.mark.slow
def test_run_once_delivers_email_and_webhook(tmp_path):
    spun = seed("spun.txt").split("Buat lebih berguna, kongsi:")[0]
    posts = [BlogPost("2018/08/copy", EVIL_TITLE, spun),
             BlogPost("2018/08/garden", "Garden", seed("unrelated-1.txt"))]
    (tmp_path / "original.txt").write_text(seed("original.txt"), encoding="utf-8")
    with Blog("Autoblog", posts) as blog, SMTPSink() as smtp, WebhookReceiver() as hook:
        cfg = {
            "sources": [{"file": "original.txt", "url": "https://publisher.example/russia-japan"}],
            "watch": [{"url": blog.url + "/feeds/posts/default"}],
            "notify": {"email": [{"host": "127.0.0.1", "port": smtp.port, "security": "none",
                                  "from": "monitor@localhost", "to": ["editor@publisher.example"]}],
                       "webhooks": [{"url": hook.url, "secret_env": "E2E_SECRET"}]},
            "fetch": {"allow_private_networks": True},
        }
        (tmp_path / "monitor.yaml").write_text(yaml.safe_dump(cfg), encoding="utf-8")
        env = {**os.environ, "E2E_SECRET": SECRET, "MONITOR_CONFIG": str(tmp_path / "monitor.yaml"),
               "MONITOR_DATA_DIR": str(tmp_path / "data")}
        env.pop("MONITOR_DATABASE_URL", None)
        first = monitor("run", "--once", env=env, cwd=tmp_path)
        assert first.returncode == 0, first.stderr
        second = monitor("run", "--once", env=env, cwd=tmp_path)
        assert second.returncode == 0, second.stderr
        listed = monitor("matches", "--json", env=env, cwd=tmp_path)

    assert "copy" in first.stdout and "/2018/08/copy.html" in first.stdout
    [msg] = smtp.messages  # the second run sent nothing again
    html = msg.get_body(("html",)).get_content()
    plain = msg.get_body(("plain",)).get_content()
    for part in (html, plain):
        assert "https://publisher.example/russia-japan" in part
        assert blog.url + "/2018/08/copy.html" in part
        assert "score 0." in part and "% of your article reused" in part
    assert "<script>" not in html and 'href="https://evil.example/"' not in html
    assert "&lt;script&gt;" in html
    [rec] = hook.accepted
    body = Webhook(SECRET).verify(rec["body"], rec["headers"])
    assert body == webhook_json(rec)
    assert body["source"]["url"] == "https://publisher.example/russia-japan"
    assert body["copy"]["url"] == blog.url + "/2018/08/copy.html"
    assert 0.5 <= body["score"] <= 1 and body["kind"] == "spun_copy" and body["passages"]
    assert listed.returncode == 0 and listed.stdout.count("\n") == 1
    assert (tmp_path / "data" / "monitor.db").exists()


@pytest.mark.slow
def test_bad_config_exits_non_zero_naming_the_key(tmp_path):
    (tmp_path / "monitor.yaml").write_text("watch:\n  - url: https://x.example/\n    intervall: 5\n")
    r = monitor("--config", str(tmp_path / "monitor.yaml"), "run", "--once", env=dict(os.environ), cwd=tmp_path)
    assert r.returncode == 2
    assert "watch.0.intervall" in r.stderr and "unknown key" in r.stderr
    assert "Traceback" not in r.stderr


@pytest.mark.slow
def test_run_polls_until_sigterm_and_stops_cleanly(tmp_path):
    import signal
    import time

    spun = seed("spun.txt").split("Buat lebih berguna, kongsi:")[0]
    (tmp_path / "original.txt").write_text(seed("original.txt"), encoding="utf-8")
    with Blog("Autoblog", [BlogPost("copy", "Copy", spun)]) as blog, WebhookReceiver() as hook:
        cfg = {"sources": [{"file": "original.txt"}], "watch": [{"url": blog.url + "/"}],
               "notify": {"webhooks": [{"secret_env": "TEST_WEBHOOK_SECRET", "url": hook.url}]}, "tick_seconds": 1,
               "fetch": {"allow_private_networks": True}}
        (tmp_path / "monitor.yaml").write_text(yaml.safe_dump(cfg), encoding="utf-8")
        env = {**os.environ, "MONITOR_CONFIG": str(tmp_path / "monitor.yaml"),
               "MONITOR_DATA_DIR": str(tmp_path / "data")}
        env.pop("MONITOR_DATABASE_URL", None)
        proc = subprocess.Popen([sys.executable, "-m", "monitor", "run"], env=env, cwd=tmp_path,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            deadline = time.monotonic() + 60
            while not hook.accepted and time.monotonic() < deadline and proc.poll() is None:
                time.sleep(0.2)
            assert hook.accepted, "no alert within 60 s"
            time.sleep(2.5)  # a few more ticks: the feed is not due again, nothing is re-sent
            proc.send_signal(signal.SIGTERM)
            _, stderr = proc.communicate(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
    assert proc.returncode == 0, stderr
    assert len(hook.accepted) == 1
    assert blog.requests.count("/feeds/posts/default") == 1
    assert "Traceback" not in stderr


@pytest.mark.slow
def test_kill_9_between_match_and_delivery_still_delivers_once(tmp_path):
    """The receiver holds the first delivery; the process is killed mid-send; after a restart
    the alert arrives, with the same webhook-id, and is accepted once."""
    import signal
    import threading
    import time

    spun = seed("spun.txt").split("Buat lebih berguna, kongsi:")[0]
    (tmp_path / "original.txt").write_text(seed("original.txt"), encoding="utf-8")
    release, held = threading.Event(), threading.Event()
    with Blog("Autoblog", [BlogPost("copy", "Copy", spun)]) as blog, WebhookReceiver() as hook:
        handler = hook.server.RequestHandlerClass
        original_post = handler.do_POST

        def slow_first(self):  # noqa: ANN001
            if not hook.received and not release.is_set():
                held.set()
                release.wait(30)  # hold the first request until the sender is dead
                hook.received.append({"headers": {}, "body": "", "status": 0})  # never answered
                return
            original_post(self)

        handler.do_POST = slow_first
        cfg = {"sources": [{"file": "original.txt"}], "watch": [{"url": blog.url + "/"}],
               "notify": {"webhooks": [{"secret_env": "TEST_WEBHOOK_SECRET", "url": hook.url, "timeout": 5}]}, "tick_seconds": 1,
               "fetch": {"allow_private_networks": True}}
        (tmp_path / "monitor.yaml").write_text(yaml.safe_dump(cfg), encoding="utf-8")
        env = {**os.environ, "MONITOR_CONFIG": str(tmp_path / "monitor.yaml"),
               "MONITOR_DATA_DIR": str(tmp_path / "data")}
        env.pop("MONITOR_DATABASE_URL", None)
        cmd = [sys.executable, "-m", "monitor", "run"]
        first = subprocess.Popen(cmd, env=env, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        assert held.wait(60), "the first delivery never started"
        first.send_signal(signal.SIGKILL)  # the match is stored, the delivery in flight
        first.wait(10)
        release.set()
        second = subprocess.Popen(cmd, env=env, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            deadline = time.monotonic() + 60
            while not hook.accepted and time.monotonic() < deadline:
                time.sleep(0.2)
        finally:
            second.send_signal(signal.SIGTERM)
            second.wait(30)
    assert len(hook.accepted) == 1
    ids = {r["headers"].get("webhook-id") for r in hook.accepted}
    assert len(ids) == 1 and None not in ids
