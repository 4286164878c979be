"""The migrations build exactly the schema the models describe, up and down, on both databases."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from monitor.store import Database
from monitor.store.database import migrate
from monitor.store.models import Base


def test_migrations_match_models_and_go_down(empty_db_url):
    db = Database(empty_db_url)
    try:
        db.migrate()
        with db.engine.connect() as c:
            ctx = MigrationContext.configure(c, opts={"compare_type": True})
            diff = compare_metadata(ctx, Base.metadata)
        assert diff == [], f"models.py and alembic/versions disagree: {diff}"
        migrate(db.engine, "base", downgrade=True)
        assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
        db.migrate()
        assert "matches" in inspect(db.engine).get_table_names()
        cols = {c["name"] for c in inspect(db.engine).get_columns("posts")}
        assert {"entry_hash", "state", "lease_until"} <= cols
        assert "entry_hash" in {c["name"] for c in inspect(db.engine).get_columns("sources")}
        assert "source_text" in {c["name"] for c in inspect(db.engine).get_columns("matches")}
    finally:
        db.close()


def test_upgrading_a_database_in_use_keeps_its_rows(empty_db_url):
    """Each migration from 0001 on runs over a database holding a feed, a post, a source, a
    match and a delivery: none is lost, and every reference still points where it did (on
    SQLite a table rebuild with foreign keys on would have cascaded to them)."""
    from sqlalchemy import text

    db = Database(empty_db_url)
    try:
        migrate(db.engine, "0001")
        with db.engine.begin() as c:
            _insert(c, "feeds", id=7, url="https://copier.example/feed", role="watch")
            _insert(c, "sources", id=3, url="https://me.example/a", origin="feed", status="ready", feed_id=7)
            _insert(c, "posts", id=5, feed_id=7, url="https://copier.example/1", guid="g1")
            _insert(c, "matches", id=11, source_id=3, post_id=5, kind="spun_copy")
            _insert(c, "deliveries", match_id=11, destination="ops")
        db.migrate()
        with db.engine.connect() as c:
            assert c.execute(text("SELECT feed_id FROM posts WHERE id = 5")).scalar() == 7
            assert c.execute(text("SELECT feed_id FROM sources WHERE id = 3")).scalar() == 7
            assert c.execute(text("SELECT count(*) FROM matches WHERE post_id = 5 AND source_id = 3")).scalar() == 1
            assert c.execute(text("SELECT count(*) FROM deliveries WHERE match_id = 11")).scalar() == 1
            if db.engine.dialect.name == "sqlite":  # and the connection still enforces them
                assert c.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    finally:
        db.close()


def _insert(c, table: str, **values) -> None:  # noqa: ANN001
    """A row with the given values and a plain value in every other required column."""
    from datetime import datetime, timezone

    from sqlalchemy import JSON, Boolean, DateTime, Float, Integer, LargeBinary, MetaData, Table

    t = Table(table, MetaData(), autoload_with=c)
    plain = [(Boolean, False), (Integer, 0), (Float, 0.0), (DateTime, datetime.now(timezone.utc)),
             (JSON, {}), (LargeBinary, b"")]
    for col in t.columns:
        if col.name in values or col.nullable or col.server_default is not None or col.primary_key:
            continue
        values[col.name] = next((v for kind, v in plain if isinstance(col.type, kind)), "x")
    c.execute(t.insert().values(**values))


def test_revision_headers_migration_keeps_the_revisions(empty_db_url):
    """0012 adds match_revisions.copy_headers over kept revisions (empty for them), and goes down."""
    from sqlalchemy import text

    db = Database(empty_db_url)
    try:
        migrate(db.engine, "0011")
        with db.engine.begin() as c:
            _insert(c, "sources", id=3, url="https://me.example/a", origin="url", status="ready")
            _insert(c, "posts", id=5, url="https://copier.example/1", guid="g1")
            _insert(c, "matches", id=11, source_id=3, post_id=5, kind="copy")
            _insert(c, "match_revisions", match_id=11, revision=0, kind="copy", source_text="s", copy_text="c")
        db.migrate()
        with db.engine.connect() as c:
            assert c.execute(text("SELECT count(*) FROM match_revisions WHERE match_id = 11 "
                                  "AND copy_headers IS NULL")).scalar() == 1
        migrate(db.engine, "0011", downgrade=True)
        assert "copy_headers" not in {col["name"] for col in inspect(db.engine).get_columns("match_revisions")}
        with db.engine.connect() as c:
            assert c.execute(text("SELECT count(*) FROM match_revisions")).scalar() == 1
    finally:
        db.close()
