"""The desk's commands, in-process (typer's runner) on a SQLite file."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from monitor import config
from monitor.cli import app
from monitor.store import Database
from monitor.store import triage as store
from tests.web.conftest import Desk

runner = CliRunner()


def test_users_tokens_and_triage_from_the_command_line(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MONITOR_CONFIG", raising=False)
    url = f"sqlite:///{tmp_path / 'm.db'}"
    d = Desk(url, tmp_path / "d")
    mid = d.copy("https://copier.example/x")
    d.close()

    def cli(*args: str, input: str | None = None):  # noqa: A002
        return runner.invoke(app, ["--database-url", url, *args], input=input, catch_exceptions=False)

    assert cli("users", "add", "alice", "--role", "editor", "--password-stdin", input="correct horse\n").exit_code == 0
    r = cli("users", "add", "alice", "--password-stdin", input="another one\n")
    assert r.exit_code == 2 and "exists already" in r.output
    r = cli("users", "add", "bob", "--role", "admin", "--password-stdin", input="long enough\n")
    assert r.exit_code == 2 and "editor or viewer" in r.output
    token = cli("tokens", "create", "--user", "alice").stdout.strip()
    assert token.startswith("rm_") and len(token) > 40
    assert cli("tokens", "create", "--user", "nobody").exit_code == 2

    r = cli("matches", "triage", str(mid), "confirmed", "--note", "spun", "--as", "alice")
    assert r.exit_code == 0 and "confirmed" in r.stdout
    r = cli("matches", "triage", str(mid), "removed")
    assert r.exit_code == 2 and "set by the monitor" in r.output
    r = cli("matches", "triage", "4242", "confirmed")
    assert r.exit_code == 2 and "no match with id 4242" in r.output
    assert "alice: new → confirmed — spun" in cli("matches", "history", str(mid)).stdout
    assert cli("matches", "--json").stdout.count("\n") == 1  # the listing still works

    r = cli("allow", "add", "https://www.copier.example/")
    assert r.exit_code == 0 and "copier.example allowed" in r.stdout
    assert "copier.example" in cli("allow", "list").stdout
    db = Database(url)
    try:
        assert store.match_state(db, mid).state == "confirmed"  # triaged already: not relicensed
    finally:
        db.close()
    assert cli("allow", "remove", "copier.example").exit_code == 0
    assert cli("allow", "remove", "copier.example").exit_code == 2


@pytest.mark.parametrize("bad, key", [
    ({"web": {"port": 0}}, "web.port"),
    ({"web": {"base_url": "desk.example"}}, "web.base_url"),
    ({"allow": ["not a site/"]}, "allow.sites.0.site"),
    ({"allow": {"sitez": []}}, "allow.sitez"),
])
def test_bad_web_and_allow_keys_are_named(bad, key):
    with pytest.raises(config.ConfigError) as e:
        config.load(None, **bad)
    assert key in str(e.value)


def test_web_and_allow_defaults():
    s = config.load(None)
    assert (s.web.host, s.web.port, s.web.base_url) == ("127.0.0.1", 8080, None)
    assert s.allow.syndication and s.allow.sites == []
    assert config.load(None, allow=["WWW.Partner.co.uk"]).allow.sites[0].site == "partner.co.uk"
