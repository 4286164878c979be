"""The store the pipeline, scheduler, notifier and CLI use: one facade over the queries, which
live by entity (sources, feeds, posts, matches, deliveries, boilerplate) and return plain values."""

from __future__ import annotations

from monitor.store.boilerplate import BoilerplateQueries
from monitor.store.deliveries import DeliveryQueries
from monitor.store.feeds import FeedQueries
from monitor.store.matches import MatchQueries
from monitor.store.posts import PostQueries
from monitor.store.sources import SourceQueries
from monitor.store.values import (
    DeliveryJob,
    FeedCheck,
    FeedState,
    MatchRecord,
    PostClaim,
    RevisionInfo,
    SourceEntry,
    SourceInfo,
    content_hash,
)

__all__ = ["DeliveryJob", "FeedCheck", "FeedState", "MatchRecord", "PostClaim", "RevisionInfo", "SourceEntry",
           "SourceInfo", "Store", "content_hash"]


class Store(SourceQueries, FeedQueries, PostQueries, MatchQueries, DeliveryQueries, BoilerplateQueries):
    """All reads and writes of the service. Each method is one transaction."""
