"""copy evidence: a match keeps the copy as it was found when the post changes later

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22

matches.copy_text, copy_raw_page, copy_raw_sha256, copy_http_status, copy_fetched_at: the
copy's text and raw page (with its sha256, status and fetch time) when the match's evidence was
recorded, kept there when the copier edits or empties the post afterwards (the evidence's
character offsets point into that text); NULL while the match refers to the post as it is.

Added with ADD COLUMN, in place on SQLite: no table is rebuilt.
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: Union[str, Sequence[str], None] = "0004"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

COLUMNS = ("copy_text", "copy_raw_page", "copy_raw_sha256", "copy_http_status", "copy_fetched_at")


def upgrade() -> None:
    op.add_column("matches", sa.Column("copy_text", sa.Text(), nullable=True))
    op.add_column("matches", sa.Column("copy_raw_page", sa.LargeBinary(), nullable=True))
    op.add_column("matches", sa.Column("copy_raw_sha256", sa.String(length=64), nullable=True))
    op.add_column("matches", sa.Column("copy_http_status", sa.Integer(), nullable=True))
    op.add_column("matches", sa.Column("copy_fetched_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    for name in reversed(COLUMNS):  # DROP COLUMN in place (SQLite 3.35+); the view names none
        op.drop_column("matches", name)
