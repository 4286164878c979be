"""the desk: triage state and events, notes, users, API tokens, allow-list, service state

Revision ID: 0009
Revises: 0006
Create Date: 2026-11-28

matches gain the triage state (with a version that makes concurrent changes conflict, and the
reason when the monitor set it) and the copy's site (registrable domain), filled here for the
matches already stored. feeds gain added_by (added from the desk: config sync leaves them). New tables: triage_events and match_notes (append-only), users, api_tokens (sha256
only), allowed_sites, service_state.
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0009"
down_revision: Union[str, Sequence[str], None] = "0008"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.add_column("matches", sa.Column("state", sa.String(length=16), server_default="new", nullable=False))
    op.add_column("matches", sa.Column("state_version", sa.Integer(), server_default="0", nullable=False))
    op.add_column("matches", sa.Column("state_reason", sa.Text(), nullable=True))
    op.add_column("matches", sa.Column("site", sa.String(length=255), server_default="", nullable=False))
    op.create_index("ix_matches_detected_id", "matches", ["detected_at", "id"])
    op.create_index("ix_matches_state_detected", "matches", ["state", "detected_at", "id"])
    op.create_index("ix_matches_site_detected", "matches", ["site", "detected_at", "id", "state", "source_id"])
    op.create_index("ix_matches_source_detected", "matches", ["source_id", "detected_at"])
    op.add_column("feeds", sa.Column("added_by", sa.String(length=255), nullable=True))

    from monitor.sites import site_of

    conn = op.get_bind()
    rows = conn.execute(sa.text("SELECT m.id, p.url FROM matches m JOIN posts p ON p.id = m.post_id")).fetchall()
    if rows:
        conn.execute(sa.text("UPDATE matches SET site = :site WHERE id = :id"),
                     [{"id": mid, "site": site_of(url)} for mid, url in rows])

    op.create_table(
        "triage_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("match_id", sa.Integer(), nullable=False),
        sa.Column("actor", sa.String(length=255), nullable=False),
        sa.Column("at", WHEN, nullable=False),
        sa.Column("from_state", sa.String(length=16), nullable=False),
        sa.Column("to_state", sa.String(length=16), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["match_id"], ["matches.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_triage_events_match", "triage_events", ["match_id", "id"])
    op.create_table(
        "match_notes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("match_id", sa.Integer(), nullable=False),
        sa.Column("author", sa.String(length=255), nullable=False),
        sa.Column("at", WHEN, nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["match_id"], ["matches.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_match_notes_match", "match_notes", ["match_id", "id"])
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("token_sha256", sa.String(length=64), nullable=False),
        sa.Column("label", sa.String(length=255), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("last_used_at", WHEN, nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_sha256"),
    )
    op.create_table(
        "allowed_sites",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("site", sa.String(length=255), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=True),
        sa.Column("added_by", sa.String(length=255), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_at", WHEN, nullable=False),
        sa.ForeignKeyConstraint(["source_id"], ["sources.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_allowed_sites_site", "allowed_sites", ["site"])
    op.create_table(
        "service_state",
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("value", JSON, nullable=False),
        sa.Column("updated_at", WHEN, nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )


def downgrade() -> None:
    op.drop_table("service_state")
    op.drop_index("ix_allowed_sites_site", table_name="allowed_sites")
    op.drop_table("allowed_sites")
    op.drop_table("api_tokens")
    op.drop_table("users")
    op.drop_index("ix_match_notes_match", table_name="match_notes")
    op.drop_table("match_notes")
    op.drop_index("ix_triage_events_match", table_name="triage_events")
    op.drop_table("triage_events")
    # ALTER TABLE … DROP COLUMN in place (SQLite 3.35+): a batch rebuild would trip over the
    # match_history view; the view names none of these columns.
    op.drop_column("feeds", "added_by")
    op.drop_index("ix_matches_source_detected", table_name="matches")
    op.drop_index("ix_matches_site_detected", table_name="matches")
    op.drop_index("ix_matches_state_detected", table_name="matches")
    op.drop_index("ix_matches_detected_id", table_name="matches")
    for column in ("site", "state_reason", "state_version", "state"):
        op.drop_column("matches", column)
