"""Engine, sessions and migrations for SQLite (default) and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import Session, sessionmaker

from monitor.errors import DatabaseError
from monitor.redact import redact

__all__ = ["Database", "DatabaseError", "check_migrated", "make_engine", "migrate", "needs_migration"]


def parse_url(url: str) -> URL:
    """The SQLAlchemy URL for a `database_url`, or a DatabaseError saying what to write instead.

    `postgres://` (Heroku, many hosts) means `postgresql://`; a plain `postgresql://` means the
    psycopg 3 driver. A file path is not a URL: the error shows the sqlite:/// form to use.
    """
    shown = redact(url)
    if "://" not in url:
        raise DatabaseError(f"database_url {shown!r} is not a URL; for an SQLite file write "
                            f"sqlite:///{url} (or sqlite:////absolute/path.db)")
    try:
        parsed = make_url(url)
    except Exception as e:  # noqa: BLE001 - SQLAlchemy raises ArgumentError, ValueError …
        raise DatabaseError(f"database_url {shown!r} is not a database URL: {redact(str(e))}") from None
    if parsed.drivername in ("postgres", "postgresql"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    elif parsed.drivername.startswith("postgres+"):
        parsed = parsed.set(drivername="postgresql" + parsed.drivername[len("postgres"):])
    if parsed.drivername.startswith("sqlite") and parsed.host:
        # sqlite://data/x.db reads "data" as a host: the file path needs a third slash.
        raise DatabaseError(f"database_url {shown!r}: an SQLite URL has no host; write "
                            f"sqlite:///{parsed.host}/{parsed.database or ''} for a relative path "
                            "(three slashes) or sqlite:////abs/path.db for an absolute one")
    return parsed


def make_engine(url: str) -> Engine:
    parsed = parse_url(url)
    if parsed.drivername.startswith("sqlite"):
        if parsed.database and parsed.database != ":memory:":
            try:
                Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            except OSError as e:
                raise DatabaseError(f"database_url {redact(url)!r}: cannot create the folder "
                                    f"{Path(parsed.database).parent}: {e.strerror}") from None
        engine = create_engine(parsed, connect_args={"timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record) -> None:  # noqa: ANN001
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")  # readers (CLI) do not block the running monitor
            # In WAL mode NORMAL cannot corrupt the file; a power cut may undo the last commits,
            # which the next cycle redoes. FULL costs an fsync per feed checked.
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        return engine
    try:
        return create_engine(parsed, pool_pre_ping=True)
    except ModuleNotFoundError as e:
        extra = ' (pip install "reuse-monitor[postgres]")' if parsed.drivername == "postgresql+psycopg" else ""
        raise DatabaseError(f"database_url {redact(url)!r} needs the {e.name} driver, which is not "
                            f"installed{extra}") from None
    except Exception as e:  # noqa: BLE001 - an unknown dialect, a bad option …
        raise DatabaseError(f"database_url {redact(url)!r} cannot be used: {redact(str(e))}") from None


def alembic_dir() -> Path:
    """The migration scripts: shipped in the package (a link to the repository's alembic/)."""
    return Path(str(resources.files("monitor.store") / "alembic"))


def migrate(engine: Engine, revision: str = "head", downgrade: bool = False) -> None:
    """Upgrade (or downgrade) the schema to `revision` in one transaction.

    On SQLite, foreign keys are off while it runs: a batch migration rebuilds a table (copy,
    drop, rename), and dropping the old table with foreign keys on would cascade to the rows
    that refer to it (posts would lose their feed, deliveries their match). The keys are
    checked before the commit instead; any row left dangling undoes the migration.
    """
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(alembic_dir()))
    sqlite = engine.dialect.name == "sqlite"
    with engine.connect() as conn:
        if sqlite:
            conn.exec_driver_sql("PRAGMA foreign_keys=OFF")  # only takes effect outside a transaction
            conn.commit()
        try:
            with conn.begin():
                cfg.attributes["connection"] = conn
                (command.downgrade if downgrade else command.upgrade)(cfg, revision)
                if sqlite:
                    dangling = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                    if dangling:
                        tables = sorted({row[0] for row in dangling})
                        raise DatabaseError(f"migration to {revision} would leave {len(dangling)} row(s) "
                                            f"of {', '.join(tables)} pointing at nothing; nothing was changed")
        finally:
            if sqlite:
                conn.exec_driver_sql("PRAGMA foreign_keys=ON")
                conn.commit()


def needs_migration(engine: Engine) -> bool:
    """Whether the schema is missing or older than the newest migration shipped.

    Cheap (one query and a directory listing, no Alembic import): revisions are numbered
    `00NN` like their files, so the newest file names the head. Anything else (a revision that
    is not numbered) answers True, and Alembic decides."""
    import re

    numbers = []
    for path in (alembic_dir() / "versions").glob("*.py"):
        m = re.match(r"(\d{4})_", path.name)
        if m is None:
            return True
        numbers.append(m.group(1))
    try:
        with engine.connect() as conn:
            current = conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalars().all()
    except Exception:  # noqa: BLE001 - no table yet, or no database file yet
        return True
    return current != [max(numbers, default="")]


def check_migrated(engine: Engine) -> None:
    try:
        tables = set(inspect(engine).get_table_names())
    except Exception as e:
        raise DatabaseError(f"cannot open the database {engine.url!r}: {redact(str(e))}") from None
    if "alembic_version" not in tables:
        raise DatabaseError(f"the database {engine.url!r} has no schema yet: run `monitor migrate`")


class Database:
    """An engine and a session factory; `session()` is one transaction."""

    def __init__(self, url: str) -> None:
        self.engine = make_engine(url)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @property
    def is_postgres(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    @contextmanager
    def session(self) -> Iterator[Session]:
        with self._sessions.begin() as s:
            yield s

    def migrate(self) -> None:
        migrate(self.engine)

    def close(self) -> None:
        self.engine.dispose()
