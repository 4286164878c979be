from pathlib import Path

import pytest

from monitor import config
from monitor.config import ConfigError


def write(tmp_path: Path, body: str) -> Path:
    p = tmp_path / "monitor.yaml"
    p.write_text(body, encoding="utf-8")
    return p


def test_defaults_without_file(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MONITOR_CONFIG", raising=False)
    s = config.load()
    assert s.db_url == "sqlite:///data/monitor.db"
    assert s.detection.min_score == 0.5
    assert s.watch == []


def test_full_file_is_read(tmp_path, monkeypatch):
    monkeypatch.setenv("SMTP_PASSWORD", "pw")
    p = write(tmp_path, """
database_url: postgresql://monitor@db/monitor
sources:
  - url: https://publisher.example/a.html
  - file: articles/b.txt
    url: https://publisher.example/b.html
  - feed: https://publisher.example/feed/
watch:
  - url: https://blog.example/
    interval: 15
notify:
  email:
    - host: smtp.example
      port: 465
      security: tls
      username: me
      password_env: SMTP_PASSWORD
      from: monitor@publisher.example
      to: editor@publisher.example
  webhooks:
    - url: https://hooks.example/reuse
      secret_env: TEST_WEBHOOK_SECRET
""")
    s = config.load(p)
    assert s.db_url == "postgresql://monitor@db/monitor"
    assert s.sources[1].file == tmp_path / "articles" / "b.txt"  # relative to the file
    assert s.watch[0].interval == 15
    assert s.notify.email[0].to == ["editor@publisher.example"]
    assert s.notify.email[0].password() == "pw"


def test_environment_overrides_file(tmp_path, monkeypatch):
    p = write(tmp_path, "database_url: sqlite:///a.db\ndetection:\n  min_score: 0.6\n")
    monkeypatch.setenv("MONITOR_DATABASE_URL", "sqlite:///b.db")
    monkeypatch.setenv("MONITOR_DETECTION__MIN_SCORE", "0.8")
    s = config.load(p)
    assert s.db_url == "sqlite:///b.db"
    assert s.detection.min_score == 0.8


@pytest.mark.parametrize("body, key", [
    ("watch:\n  - url: https://x\n    intervall: 5\n", "watch.0.intervall: unknown key"),
    ("watch:\n  - url: https://x\n    interval: 0\n", "watch.0.interval"),
    ("notify:\n  email:\n    - host: h\n      port: abc\n      from: a@b\n      to: c@d\n", "notify.email.0.port"),
    ("sources:\n  - url: https://a\n    feed: https://b\n", "sources.0"),
    ("detection:\n  min_score: 2\n", "detection.min_score"),
    ("databse_url: x\n", "databse_url: unknown key"),
])
def test_bad_config_names_the_key(tmp_path, body, key):
    with pytest.raises(ConfigError) as e:
        config.load(write(tmp_path, body))
    assert key in str(e.value)
    assert str(tmp_path) in str(e.value)


def test_not_yaml_and_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="not valid YAML"):
        config.load(write(tmp_path, "watch: [unclosed\n"))
    with pytest.raises(ConfigError, match="does not exist"):
        config.load(tmp_path / "nope.yaml")


def test_missing_secret_env_is_named(tmp_path, monkeypatch):
    monkeypatch.delenv("NO_SUCH_SECRET", raising=False)
    s = config.load(write(tmp_path, "notify:\n  webhooks:\n    - url: https://h\n      secret_env: NO_SUCH_SECRET\n"))
    with pytest.raises(ConfigError, match="NO_SUCH_SECRET"):
        s.notify.webhooks[0].secret()
