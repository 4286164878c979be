"""retire and rescan: sources and feeds can be removed or paused; posts keep candidate keys

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-28

sources.retired_at, feeds.retired_at: removed by `monitor sources|feeds remove` or taken out
of the config; kept (with their matches and history), no longer indexed, polled or listed.
sources.in_config, feeds.in_config: listed in the config at the last sync. feeds.paused_at:
`monitor feeds pause`. sources.rescanned_at: when the source was last compared with the posts
stored before it (NULL: due; existing sources count as done when this runs). posts.signature:
the post's candidate keys (monitor/detect/reverse.py).

Feeds already taken out of the config (their next check pushed a century out) are marked
retired. Added with ADD COLUMN, in place on SQLite: no table is rebuilt.
"""
from datetime import datetime, timedelta, timezone
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: Union[str, Sequence[str], None] = "0006"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.add_column("sources", sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("sources", sa.Column("in_config", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.add_column("sources", sa.Column("rescanned_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("feeds", sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("feeds", sa.Column("paused_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("feeds", sa.Column("in_config", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.add_column("posts", sa.Column("signature", sa.LargeBinary(), nullable=True))
    now = datetime.now(timezone.utc)
    sources = sa.table("sources", sa.column("rescanned_at", sa.DateTime(timezone=True)))
    op.execute(sources.update().values(rescanned_at=now))
    feeds = sa.table("feeds", sa.column("retired_at", sa.DateTime(timezone=True)),
                     sa.column("next_check_at", sa.DateTime(timezone=True)),
                     sa.column("in_config", sa.Boolean()))
    # sync_feeds pushed a feed no longer configured 36,500 days out
    gone = feeds.c.next_check_at > now + timedelta(days=365 * 50)
    op.execute(feeds.update().where(gone).values(retired_at=now))
    op.execute(feeds.update().where(~gone).values(in_config=True))


def downgrade() -> None:
    op.drop_column("posts", "signature")
    for name in ("in_config", "paused_at", "retired_at"):
        op.drop_column("feeds", name)
    for name in ("rescanned_at", "in_config", "retired_at"):
        op.drop_column("sources", name)
