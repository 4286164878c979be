"""match revisions: earlier revisions of a match kept with their evidence

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22

match_revisions: when a re-checked copy changes materially (a new revision of the match, a
match.updated alert), the revision it replaces is kept here: verdict, evidence, the source and
copy texts the evidence points into, and the copy's raw page with its sha256, status and fetch
time. A new table: nothing is rebuilt.
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0006"
down_revision: Union[str, Sequence[str], None] = "0005"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        "match_revisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("match_id", sa.Integer(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("coverage", sa.Float(), nullable=False),
        sa.Column("spin_rate", sa.Float(), nullable=False),
        sa.Column("evidence", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
                  nullable=False),
        sa.Column("source_text", sa.Text(), nullable=False),
        sa.Column("copy_text", sa.Text(), nullable=False),
        sa.Column("copy_raw_page", sa.LargeBinary(), nullable=True),
        sa.Column("copy_raw_sha256", sa.String(length=64), nullable=True),
        sa.Column("copy_http_status", sa.Integer(), nullable=True),
        sa.Column("copy_fetched_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("detected_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("replaced_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["match_id"], ["matches.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("match_id", "revision", name="uq_match_revisions_match_revision"),
    )


def downgrade() -> None:
    op.drop_table("match_revisions")
