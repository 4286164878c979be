"""alert events: match revisions, feed failure alerts

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22

The outbox carries more than new matches: a copy that changed materially (match.updated, one
per match revision) and feed health (feed.failing, feed.recovered, with a JSON payload).
`destinations` remembers the alert destinations that answered 410 Gone.
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: Union[str, Sequence[str], None] = "0001"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

MATCH_HISTORY = """
CREATE VIEW match_history AS
SELECT m.id AS match_id, m.detected_at, m.kind, m.score, m.coverage, m.spin_rate,
       s.url AS source_url, s.title AS source_title,
       p.url AS copy_url, p.title AS copy_title, p.http_status, p.fetched_at, p.raw_sha256
FROM matches m
JOIN sources s ON s.id = m.source_id
JOIN posts p ON p.id = m.post_id
"""
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    # SQLite's batch mode rebuilds tables, which a view over them would block: drop and recreate it.
    op.execute("DROP VIEW match_history")
    with op.batch_alter_table("matches") as b:
        b.add_column(sa.Column("revision", sa.Integer(), nullable=False, server_default="0"))
        b.add_column(sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("feeds") as b:
        b.add_column(sa.Column("failure_alerted", sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table("deliveries") as b:
        b.add_column(sa.Column("revision", sa.Integer(), nullable=False, server_default="0"))
        b.add_column(sa.Column("event", sa.String(length=32), nullable=False, server_default="match.created"))
        b.add_column(sa.Column("payload", JSON, nullable=True))
        b.alter_column("match_id", existing_type=sa.Integer(), nullable=True)
        b.drop_constraint("uq_deliveries_match_destination", type_="unique")
        b.create_unique_constraint("uq_deliveries_match_revision_destination",
                                   ["match_id", "revision", "destination"])
    # Defaults live in the models; the server defaults only filled the existing rows.
    with op.batch_alter_table("matches") as b:
        b.alter_column("revision", server_default=None)
    with op.batch_alter_table("feeds") as b:
        b.alter_column("failure_alerted", server_default=None)
    with op.batch_alter_table("deliveries") as b:
        b.alter_column("revision", server_default=None)
        b.alter_column("event", server_default=None)
    op.create_table(
        "destinations",
        sa.Column("name", sa.String(length=2048), nullable=False),
        sa.Column("disabled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("name"),
    )
    op.execute(MATCH_HISTORY)


def downgrade() -> None:
    op.drop_table("destinations")
    op.execute("DROP VIEW match_history")
    op.execute("DELETE FROM deliveries WHERE match_id IS NULL OR revision > 0")
    with op.batch_alter_table("deliveries") as b:
        b.drop_constraint("uq_deliveries_match_revision_destination", type_="unique")
        b.create_unique_constraint("uq_deliveries_match_destination", ["match_id", "destination"])
        b.alter_column("match_id", existing_type=sa.Integer(), nullable=False)
        b.drop_column("payload")
        b.drop_column("event")
        b.drop_column("revision")
    with op.batch_alter_table("feeds") as b:
        b.drop_column("failure_alerted")
    with op.batch_alter_table("matches") as b:
        b.drop_column("updated_at")
        b.drop_column("revision")
    op.execute(MATCH_HISTORY)
