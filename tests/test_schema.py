"""The migrations and the models describe the same schema (on SQLite and on PostgreSQL)."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from monitor.store import Database
from monitor.store.models import Base


def test_migrations_match_the_models(db_url):
    db = Database(db_url)
    try:
        db.migrate()
        with db.engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"compare_type": True})
            diff = compare_metadata(ctx, Base.metadata)
        assert diff == [], f"models.py and alembic/versions disagree: {diff}"
    finally:
        db.close()


def test_downgrade_to_initial_and_back(db_url):
    from monitor.store.database import migrate

    db = Database(db_url)
    try:
        db.migrate()
        migrate_to = lambda rev: _downgrade(db, rev)  # noqa: E731
        migrate_to("0001")
        cols = {c["name"] for c in inspect(db.engine).get_columns("posts")}
        assert "entry_hash" not in cols
        migrate(db.engine)
        cols = {c["name"] for c in inspect(db.engine).get_columns("posts")}
        assert {"entry_hash", "state", "lease_until"} <= cols
    finally:
        db.close()


def _downgrade(db: Database, revision: str) -> None:
    from alembic import command
    from alembic.config import Config

    from monitor.store.database import alembic_dir

    cfg = Config()
    cfg.set_main_option("script_location", str(alembic_dir()))
    with db.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, revision)
