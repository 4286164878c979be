"""The allow-list kept in the database (sites added from the desk, CLI or API). Sites in the
config's `allow` key are read from the config; monitor/licence.py consults both."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, or_, select

from monitor.store.database import Database
from monitor.store.rows import changed
from monitor.store.models import AllowedSiteRow, SourceRow, utcnow


@dataclass(frozen=True, slots=True)
class AllowedSite:
    id: int
    site: str
    source_id: int | None
    source_url: str | None
    added_by: str
    note: str | None
    created_at: datetime


def add(db: Database, site: str, source_id: int | None, added_by: str, note: str | None = None) -> bool:
    """Allow the site (for one source, or all); False when it was allowed already."""
    with db.session() as s:
        q = select(AllowedSiteRow.id).where(AllowedSiteRow.site == site)
        q = q.where(AllowedSiteRow.source_id.is_(None) if source_id is None else AllowedSiteRow.source_id == source_id)
        if s.scalar(q) is not None:
            return False
        s.add(AllowedSiteRow(site=site, source_id=source_id, added_by=added_by, note=note, created_at=utcnow()))
        return True


def remove(db: Database, site: str, source_id: int | None = None) -> int:
    with db.session() as s:
        q = delete(AllowedSiteRow).where(AllowedSiteRow.site == site)
        if source_id is not None:
            q = q.where(AllowedSiteRow.source_id == source_id)
        return changed(s.execute(q))


def find(db: Database, site: str, source_id: int | None) -> AllowedSite | None:
    """The entry allowing `site` to republish source `source_id` (a per-source or a site-wide one)."""
    with db.engine.connect() as c:
        row = c.execute(_select().where(AllowedSiteRow.site == site, or_(
            AllowedSiteRow.source_id.is_(None), AllowedSiteRow.source_id == source_id))
            .order_by(AllowedSiteRow.id).limit(1)).first()
    return AllowedSite(*row) if row is not None else None


def for_site(db: Database, site: str) -> list[AllowedSite]:
    with db.engine.connect() as c:
        return [AllowedSite(*r) for r in c.execute(_select().where(AllowedSiteRow.site == site)
                                                   .order_by(AllowedSiteRow.id))]


def all_entries(db: Database) -> list[AllowedSite]:
    with db.engine.connect() as c:
        return [AllowedSite(*r) for r in c.execute(_select().order_by(AllowedSiteRow.site, AllowedSiteRow.id))]


def _select():  # noqa: ANN202
    return (select(AllowedSiteRow.id, AllowedSiteRow.site, AllowedSiteRow.source_id, SourceRow.url,
                   AllowedSiteRow.added_by, AllowedSiteRow.note, AllowedSiteRow.created_at)
            .outerjoin(SourceRow, AllowedSiteRow.source_id == SourceRow.id))
