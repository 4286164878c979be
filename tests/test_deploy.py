"""The deployment files agree with each other and with the code (Docker cannot run here)."""

import json
from pathlib import Path

import yaml

from monitor import config

ROOT = Path(__file__).resolve().parents[1]


def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_compose_services_ports_and_wiring():
    c = compose()
    assert set(c["services"]) == {"monitor", "postgres", "mailpit"}
    pg, mail, mon = c["services"]["postgres"], c["services"]["mailpit"], c["services"]["monitor"]
    env = mon["environment"]
    # The database URL points at the postgres service with its own user, password and database.
    url = env["MONITOR_DATABASE_URL"]
    user, db = pg["environment"]["POSTGRES_USER"], pg["environment"]["POSTGRES_DB"]
    assert url == f"postgresql://{user}:{pg['environment']['POSTGRES_PASSWORD']}@postgres:5432/{db}"
    assert mon["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert "pg_isready" in " ".join(pg["healthcheck"]["test"])
    # Email goes to Mailpit's SMTP port, which the mailpit service exposes.
    [email] = json.loads(env["MONITOR_NOTIFY__EMAIL"])
    assert email["host"] == "mailpit"
    assert f"{email['port']}:{email['port']}" in mail["ports"] and "8025:8025" in mail["ports"]
    # The config path inside the container is the mounted config folder.
    mount = next(v for v in mon["volumes"] if v.startswith("./config:"))
    assert env["MONITOR_CONFIG"].startswith(mount.split(":")[1] + "/")
    assert (ROOT / "config" / "monitor.example.yaml").exists()


def test_dockerfile_migrates_then_runs():
    text = (ROOT / "Dockerfile").read_text()
    assert "monitor migrate && exec monitor run" in text
    for path in ("pyproject.toml", "alembic", "monitor"):
        assert f"COPY {path}" in text or f" {path} " in text


def test_example_config_loads_with_the_compose_environment(monkeypatch):
    env = compose()["services"]["monitor"]["environment"]
    for k, v in env.items():
        monkeypatch.setenv(k, str(v))
    monkeypatch.setenv("SMTP_PASSWORD", "x")
    s = config.load(ROOT / "config" / "monitor.example.yaml")
    assert s.db_url.startswith("postgresql://monitor:")
    assert [e.host for e in s.notify.email] == ["mailpit"]  # the environment wins
    assert s.notify.webhooks[0].url == "https://hooks.publisher.example/reuse"  # the file's, kept
    assert len(s.sources) == 3 and len(s.watch) == 2


def test_compose_serves_the_desk_on_its_port():
    mon = compose()["services"]["monitor"]
    env = mon["environment"]
    assert "monitor serve" in " ".join(mon["command"])
    assert env["MONITOR_WEB__HOST"] == "0.0.0.0"
    assert any(p.endswith(f":{env['MONITOR_WEB__PORT']}") for p in mon["ports"])
    assert "/healthz" in " ".join(mon["healthcheck"]["test"])
