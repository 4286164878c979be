"""revision headers: the response headers of the copy fetch each earlier match revision points into

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-28

match_revisions.copy_headers: the headers of the page fetch a replaced revision's evidence points
into, kept with its page, so the evidence package of an earlier revision (`monitor evidence
--revision N`) carries them and a WARC record as served; empty for revisions kept before.
One nullable column: nothing is rebuilt.
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")

revision: str = "0012"
down_revision: Union[str, Sequence[str], None] = "0011"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.add_column("match_revisions", sa.Column("copy_headers", JSON, nullable=True))


def downgrade() -> None:
    # ALTER TABLE … DROP COLUMN in place (SQLite 3.35+), as 0011 does.
    op.drop_column("match_revisions", "copy_headers")
