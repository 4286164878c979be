"""Persistence: SQLAlchemy models and the queries the pipeline needs. ORM rows stay in here."""

from monitor.store.database import Database, DatabaseError, check_migrated, migrate
from monitor.store.repo import DeliveryJob, FeedCheck, FeedState, MatchRecord, PostClaim, RevisionInfo, SourceEntry, SourceInfo, Store

__all__ = [
    "Database", "DatabaseError", "DeliveryJob", "FeedCheck", "FeedState", "MatchRecord", "PostClaim", "RevisionInfo", "SourceEntry", "SourceInfo", "Store",
    "check_migrated", "migrate",
]
