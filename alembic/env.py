"""Alembic environment: `monitor migrate` (or `alembic upgrade head`) runs this."""

from __future__ import annotations

import os

from alembic import context
from sqlalchemy import engine_from_config, pool

from monitor.store.models import Base

config = context.config
target_metadata = Base.metadata
if os.environ.get("MONITOR_DATABASE_URL"):
    config.set_main_option("sqlalchemy.url", os.environ["MONITOR_DATABASE_URL"].replace("%", "%%"))


def run_migrations_offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:  # handed over by monitor.store.migrate()
        _run(connection)
        return
    engine = engine_from_config(config.get_section(config.config_ini_section, {}),
                                prefix="sqlalchemy.", poolclass=pool.NullPool)
    with engine.connect() as conn:
        _run(conn)


def _run(connection) -> None:
    # render_as_batch: SQLite cannot ALTER most things; batch mode copies the table instead.
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True,
                      compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
