"""What the extractor learnt per site (its boilerplate), shared by every process."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from monitor.store.base import Queries
from monitor.store.models import SiteBoilerplateRow, utcnow


class BoilerplateQueries(Queries):
    """Queries on the per-site boilerplate table."""

    def site_boilerplate(self, host: str) -> dict[str, Any] | None:
        with self.db.session() as s:
            row = s.get(SiteBoilerplateRow, host)
            return dict(row.data) if row is not None else None

    def save_site_boilerplate(self, host: str, data: dict[str, Any]) -> None:
        """Upsert: processes learning from the same site concurrently must not collide (the
        last writer wins; learning is a running tally, so a lost increment only delays it)."""
        values = {"host": host, "data": data, "updated_at": utcnow()}
        insert = pg_insert if self.db.is_postgres else sqlite_insert
        stmt = insert(SiteBoilerplateRow).values(**values)
        stmt = stmt.on_conflict_do_update(index_elements=["host"],
                                          set_={"data": stmt.excluded.data, "updated_at": stmt.excluded.updated_at})
        with self.db.session() as s:
            s.execute(stmt)
