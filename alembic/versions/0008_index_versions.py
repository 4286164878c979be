"""index versions and post back-off: sources.version, posts.failures

Revision ID: 0008
Revises: 0006
Create Date: 2026-11-28

sources.version: a number raised (to the highest + 1) by every change of a source's text or
signature, taken under a lock, so versions commit in their order on both databases. A process
reloads the sources whose version is above the highest it holds: no source committed before a
post's claim is missing from the index the post is checked against. Existing sources get their
id (every process loads them all at start).

posts.failures: failed reads of a post in a row; the next try waits longer each time (a post
over the size cap is no longer downloaded again at every check).
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: Union[str, Sequence[str], None] = "0007"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    # ALTER TABLE … ADD COLUMN in place (a batch rebuild of posts would break the match_history view).
    op.add_column("sources", sa.Column("version", sa.BigInteger(), nullable=False, server_default="0"))
    op.create_index("ix_sources_version", "sources", ["version"])
    op.execute("UPDATE sources SET version = id")
    op.add_column("posts", sa.Column("failures", sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    # ALTER TABLE … DROP COLUMN (SQLite 3.35+): in place; the match_history view names neither column.
    op.drop_column("posts", "failures")
    op.drop_index("ix_sources_version", "sources")
    op.drop_column("sources", "version")
