"""fetch state: post identity per feed, post claims, edit detection, source-feed backfill

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23

- posts.entry_hash: hash of the entry as the feed shows it (title, content, summary), so an
  edited entry is re-checked and an unchanged one is not.
- posts.state + posts.lease_until: a post is claimed (inserted first) by one process before it
  is fetched and checked; another process skips it while the claim holds ("claimed", "checked",
  "failed").
- (feed_id, guid) becomes unique: an entry's identity within its feed.
- feeds.backfilled_at: when the user's own feed (role source) was read back to its first post.

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

revision: str = "0003"
down_revision: Union[str, Sequence[str], None] = "0002"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

# SQLite rebuilds a table to drop a column, and refuses the rebuild while a view names the
# table: the view is dropped and made again around such changes (as 0001 defines it).
MATCH_HISTORY = """
CREATE VIEW match_history AS
SELECT m.id AS match_id, m.detected_at, m.kind, m.score, m.coverage, m.spin_rate,
       s.url AS source_url, s.title AS source_title,
       p.url AS copy_url, p.title AS copy_title, p.http_status, p.fetched_at, p.raw_sha256
FROM matches m
JOIN sources s ON s.id = m.source_id
JOIN posts p ON p.id = m.post_id
"""


def upgrade() -> None:
    with op.batch_alter_table("posts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("entry_hash", sa.String(length=64), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("state", sa.String(length=16), nullable=False, server_default="checked"))
        batch_op.add_column(sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True))
    # Before the identity becomes unique: an older feed may have reused one GUID for several
    # posts; those keep their URL as identity (the same fallback the parser now applies).
    op.execute("UPDATE posts SET guid = url WHERE id NOT IN "
               "(SELECT min(id) FROM posts GROUP BY feed_id, guid)")
    with op.batch_alter_table("posts", schema=None) as batch_op:
        batch_op.drop_index("ix_posts_feed_guid")
        batch_op.create_index("uq_posts_feed_guid", ["feed_id", "guid"], unique=True)
    with op.batch_alter_table("feeds", schema=None) as batch_op:
        batch_op.add_column(sa.Column("backfilled_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    op.execute("DROP VIEW match_history")
    with op.batch_alter_table("feeds", schema=None) as batch_op:
        batch_op.drop_column("backfilled_at")
    with op.batch_alter_table("posts", schema=None) as batch_op:
        batch_op.drop_index("uq_posts_feed_guid")
        batch_op.create_index("ix_posts_feed_guid", ["feed_id", "guid"], unique=False)
        batch_op.drop_column("lease_until")
        batch_op.drop_column("state")
        batch_op.drop_column("entry_hash")
    op.execute(MATCH_HISTORY)
