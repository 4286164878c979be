"""The migrations build exactly the schema the models describe, up and down, on both databases."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from monitor.store import Database
from monitor.store.models import Base


def test_migrations_match_models_and_go_down(db_url):
    db = Database(db_url)
    try:
        db.migrate()
        with db.engine.connect() as c:
            ctx = MigrationContext.configure(c, opts={"compare_type": True})
            diff = compare_metadata(ctx, Base.metadata)
        assert diff == [], f"models.py and alembic/versions disagree: {diff}"
        from alembic.config import Config

        from alembic import command
        from monitor.store.database import alembic_dir

        cfg = Config()
        cfg.set_main_option("script_location", str(alembic_dir()))
        with db.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "base")
        assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
        db.migrate()
        assert "matches" in inspect(db.engine).get_table_names()
        cols = {c["name"] for c in inspect(db.engine).get_columns("posts")}
        assert {"entry_hash", "state", "lease_until"} <= cols
        assert "entry_hash" in {c["name"] for c in inspect(db.engine).get_columns("sources")}
        assert "source_text" in {c["name"] for c in inspect(db.engine).get_columns("matches")}
    finally:
        db.close()
