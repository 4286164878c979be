"""Shared fixtures: databases (SQLite file, PostgreSQL fresh schema), shared data, loopback servers."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, event, text

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
POSTGRES_URL = os.environ.get("MONITOR_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
# CI sets this so that an unreachable PostgreSQL fails the run instead of skipping its tests.
REQUIRE_POSTGRES = os.environ.get("MONITOR_REQUIRE_POSTGRES") == "1"


def shared(*parts: str) -> Path:
    """A path under ../shared/data; the test is skipped when the folder is absent."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is absent (shared data is only on developer machines)")
    return path


# --- databases ---------------------------------------------------------------------------
# The migrations run once per session (into a template); each test gets a migrated copy, so a
# test's `db.migrate()` finds nothing to do. tests/test_migrations.py runs them for real on
# empty databases (`empty_db_url`).


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated to head, copied by `sqlite_url`."""
    from monitor.store import Database

    path = tmp_path_factory.mktemp("template") / "monitor.db"
    db = Database(f"sqlite:///{path}")
    db.migrate()
    with db.engine.connect() as c:  # everything into the main file: the copy takes no -wal file
        c.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    return path


@pytest.fixture
def empty_sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'monitor.db'}"


@pytest.fixture(autouse=True)
def semantic_tier_not_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    """The pipeline sees the optional semantic tier as not installed (detection.semantic "auto"
    would run it where a developer has it, and CI has not): the tests behave the same on both.
    Its own tests use the Detector directly, or set this back."""
    monkeypatch.setattr("monitor.pipeline._semantic_available", lambda: False)


@pytest.fixture(autouse=True)
def webhook_secret(monkeypatch: pytest.MonkeyPatch) -> str:
    """The signing secret the tests' webhook destinations name (secret_env: TEST_WEBHOOK_SECRET):
    webhooks are always signed. Subprocesses inherit it."""
    monkeypatch.setenv("TEST_WEBHOOK_SECRET", "a test passphrase")
    return "a test passphrase"


@pytest.fixture
def sqlite_url(tmp_path: Path, sqlite_template: Path) -> str:
    """A SQLite file with the schema at head."""
    shutil.copyfile(sqlite_template, tmp_path / "monitor.db")
    return f"sqlite:///{tmp_path / 'monitor.db'}"


def _postgres_available() -> str | None:
    try:
        engine = create_engine(POSTGRES_URL)
        with engine.connect() as c:
            c.execute(text("select 1"))
        engine.dispose()
        return None
    except Exception as e:  # noqa: BLE001
        return str(e).splitlines()[0]


@contextmanager
def _fresh_schema() -> Iterator[str]:
    """A PostgreSQL URL whose search_path is a fresh schema, dropped afterwards."""
    problem = _postgres_available()
    if problem:
        if REQUIRE_POSTGRES:
            pytest.fail(f"PostgreSQL at {POSTGRES_URL} is required but unreachable: {problem}")
        pytest.skip(f"PostgreSQL at {POSTGRES_URL} unreachable: {problem}")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_URL)
    with admin.begin() as c:
        c.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in POSTGRES_URL else "?"
    try:
        yield f"{POSTGRES_URL}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as c:
            c.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(scope="session")
def postgres_migration() -> Iterator[list[tuple[str, Any]]]:
    """The statements the migrations run on PostgreSQL, recorded once (into a scratch schema).

    PostgreSQL cannot copy a schema, and a template database is slow to drop; replaying these
    statements in one transaction builds exactly what the migrations build (views included)."""
    from monitor.store import Database

    with _fresh_schema() as url:
        db = Database(url)
        statements: list[tuple[str, Any]] = []

        @event.listens_for(db.engine, "before_cursor_execute")
        def record(conn, cursor, statement, parameters, context, executemany) -> None:  # noqa: ANN001
            statements.append((statement, parameters))

        db.migrate()
        db.close()
        yield statements


@pytest.fixture
def empty_postgres_url() -> Iterator[str]:
    with _fresh_schema() as url:
        yield url


@pytest.fixture
def postgres_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh PostgreSQL schema with the schema at head (search_path in the URL)."""
    with _fresh_schema() as url:
        statements = request.getfixturevalue("postgres_migration")
        engine = create_engine(url)
        with engine.begin() as c:
            for statement, parameters in statements:
                c.exec_driver_sql(statement, parameters or ())
        engine.dispose()
        yield url


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest) -> str:
    """Each test using this runs on SQLite and on PostgreSQL, schema at head."""
    if request.param == "sqlite":
        return request.getfixturevalue("sqlite_url")
    return request.getfixturevalue("postgres_url")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def empty_db_url(request: pytest.FixtureRequest) -> str:
    """Like db_url, with no schema at all (for the migrations' own tests)."""
    if request.param == "sqlite":
        return request.getfixturevalue("empty_sqlite_url")
    return request.getfixturevalue("empty_postgres_url")


@pytest.fixture
def store(db_url: str):  # noqa: ANN201
    from monitor.store import Database, Store

    db = Database(db_url)  # migrated already (see sqlite_url, postgres_url)
    yield Store(db)
    db.close()


@pytest.fixture
def seed_pair() -> tuple[str, str]:
    """The seed pair as shipped in the package (the demo's copy of shared/data/seeds)."""
    from monitor.demo.run import seed

    return seed("original.txt"), seed("spun.txt")


# --- CI: count the PostgreSQL tests that really ran --------------------------------------
_postgres_passed = 0


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    global _postgres_passed
    if report.when == "call" and report.passed and "postgres" in report.keywords:
        _postgres_passed += 1


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    tally = os.environ.get("MONITOR_POSTGRES_TALLY")
    if tally:
        Path(tally).write_text(str(_postgres_passed))


@pytest.fixture(scope="session")
def certificate(tmp_path_factory):
    """A self-signed certificate for localhost/127.0.0.1, made with the openssl command."""
    import shutil
    import subprocess

    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is not installed")
    d = tmp_path_factory.mktemp("tls")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-keyout", str(d / "key.pem"), "-out", str(d / "cert.pem"), "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
                   check=True, capture_output=True)
    return d / "cert.pem", d / "key.pem"


# The takedown tests' loopback blog and confirmed match (tests/takedown_fixtures.py).
from tests.takedown_fixtures import watched  # noqa: E402, F401
