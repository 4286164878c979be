"""What every group of the store's queries shares: the database. Each method is one transaction."""

from __future__ import annotations

from monitor.store.database import Database


class Queries:
    def __init__(self, db: Database) -> None:
        self.db = db
