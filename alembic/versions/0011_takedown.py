"""takedown: re-readings of copies under watch for removal; response headers of copy fetches

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-28

copy_checks: each re-reading of a confirmed (or noticed, removed, reinstated) copy: when, the
outcome (present, removed, error), the HTTP status and the sha256 of the bytes served, and why.
posts.headers and matches.copy_headers: the response headers of the page fetch the evidence
points into (for the evidence package's WARC record); empty for rows fetched before.
rdap_answers: RDAP answers (abuse contacts) kept a day; notices: each takedown notice sent, as sent.
New tables and two nullable columns: nothing is rebuilt.
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")

revision: str = "0011"
down_revision: Union[str, Sequence[str], None] = "0010"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        "copy_checks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("match_id", sa.Integer(), nullable=False),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("http_status", sa.Integer(), nullable=True),
        sa.Column("raw_sha256", sa.String(length=64), nullable=True),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["match_id"], ["matches.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_copy_checks_match", "copy_checks", ["match_id", "id"])
    op.create_table(
        "rdap_answers",
        sa.Column("url", sa.String(length=2048), nullable=False),
        sa.Column("fetched_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("answer", JSON, nullable=True),
        sa.PrimaryKeyConstraint("url"),
    )
    op.create_table(
        "notices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("match_id", sa.Integer(), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=255), nullable=False),
        sa.Column("recipient", sa.Text(), nullable=False),
        sa.Column("variant", sa.String(length=16), nullable=False),
        sa.Column("message", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["match_id"], ["matches.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_notices_match", "notices", ["match_id", "id"])
    op.add_column("posts", sa.Column("headers", JSON, nullable=True))
    op.add_column("matches", sa.Column("copy_headers", JSON, nullable=True))


def downgrade() -> None:
    # ALTER TABLE … DROP COLUMN in place (SQLite 3.35+), as 0009: a batch rebuild would trip
    # over the match_history view, which names neither column.
    op.drop_column("matches", "copy_headers")
    op.drop_column("posts", "headers")
    op.drop_index("ix_notices_match", table_name="notices")
    op.drop_table("notices")
    op.drop_table("rdap_answers")
    op.drop_index("ix_copy_checks_match", table_name="copy_checks")
    op.drop_table("copy_checks")
