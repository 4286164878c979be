"""source edits: the entry each source post was read from; match evidence kept across edits

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24

- sources.entry_hash: the entry as the user's own feed showed it when the source was read, so
  an edited post (same URL, another entry) is read and fingerprinted again, and an unchanged
  one is not. Sources registered before this revision have "" and are read once more the next
  time their entry is in a changed feed.
- matches.source_text: the source's text as it was when the match was recorded, kept there
  when the source is edited afterwards (the evidence's character offsets point into it);
  NULL while the match refers to the source's current text.

Both are added with ADD COLUMN, which SQLite does in place: no table is rebuilt (a rebuild of
`sources` or `matches` with foreign keys on would cascade to the rows that refer to them).
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: Union[str, Sequence[str], None] = "0003"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.add_column("sources", sa.Column("entry_hash", sa.String(length=64), nullable=False, server_default=""))
    op.add_column("matches", sa.Column("source_text", sa.Text(), nullable=True))


def downgrade() -> None:
    # ALTER TABLE … DROP COLUMN (SQLite 3.35+): in place, like the upgrade; the match_history
    # view names neither column.
    op.drop_column("matches", "source_text")
    op.drop_column("sources", "entry_hash")
