"""Plain values the store's queries return (no ORM rows leave the store)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any


def content_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class SourceInfo:
    id: int
    url: str
    title: str
    words: int
    origin: str
    status: str
    last_error: str | None
    created_at: datetime
    retired_at: datetime | None = None  # removed (kept with its matches)


@dataclass(frozen=True, slots=True)
class SourceEntry:
    """How a registered source was read: by whom (origin) and from which feed entry."""

    origin: str  # url | file | feed | import
    entry_hash: str  # origin feed: the entry its text was read from; "" = not known
    retired: bool = False  # removed by the user: not read again from the feed


@dataclass(frozen=True, slots=True)
class FeedState:
    id: int
    url: str
    feed_url: str | None
    role: str
    title: str
    interval_minutes: int
    etag: str | None
    last_modified: str | None
    body_hash: str | None
    next_check_at: datetime
    last_checked_at: datetime | None
    last_status: str | None
    last_error: str | None
    error_count: int
    backfilled_at: datetime | None = None
    failure_alerted: bool = False  # a "feed.failing" alert went out; success owes a "recovered"
    paused_at: datetime | None = None  # `feeds pause`: not polled until resumed
    retired_at: datetime | None = None  # removed, or taken out of the config
    in_config: bool = True


@dataclass(frozen=True, slots=True)
class FeedCheck:
    """A successful check of a claimed feed, to record (see Store.feeds_checked)."""

    feed_id: int
    status: str  # "200" or "304"
    next_check_at: datetime
    feed_url: str | None = None
    title: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None


@dataclass(frozen=True, slots=True)
class PostClaim:
    """This process holds the right to fetch and check one post until the lease runs out."""

    id: int
    previous_text_hash: str | None  # the text checked last time (an edited entry), else None
    # The URL stored for this entry's GUID when the feed now links it elsewhere, else None:
    # the post moved (same text), or the feed gave its GUID to another post (see guid_reused).
    previous_url: str | None = None


@dataclass(frozen=True, slots=True)
class MatchRecord:
    """A stored match as the store reads it back (alerts, reports, notices, the desk): ids, the
    evidence as recorded, the copy's fetch facts and its revision. Not the pipeline's
    `domain.Match`, which carries the live verdict and texts of a check just made."""

    id: int
    source_id: int
    source_url: str
    source_title: str
    copy_url: str
    copy_title: str
    kind: str
    score: float
    coverage: float
    spin_rate: float
    evidence: dict[str, Any]
    detected_at: datetime
    http_status: int | None
    raw_sha256: str | None
    fetched_at: datetime | None
    copy_changed: bool = False  # the post changed after the evidence was recorded (kept as found)
    revision: int = 0  # bumped by each material change of the copy (earlier ones: match_revisions)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "source_url": self.source_url,
            "source_title": self.source_title,
            "copy_url": self.copy_url,
            "copy_title": self.copy_title,
            "kind": self.kind,
            "score": round(self.score, 4),
            "coverage": round(self.coverage, 4),
            "spin_rate": round(self.spin_rate, 4),
            "detected_at": self.detected_at.isoformat(),
            "http_status": self.http_status,
            "raw_sha256": self.raw_sha256,
            "copy_changed": self.copy_changed,
            "revision": self.revision,
            "passages": self.evidence.get("passages", []),
            "substitutions": self.evidence.get("substitutions", []),
        }


@dataclass(frozen=True, slots=True)
class RevisionInfo:
    """An earlier revision of a match, in a line."""

    revision: int
    kind: str
    score: float
    coverage: float
    detected_at: datetime
    replaced_at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {"revision": self.revision, "kind": self.kind, "score": round(self.score, 4),
                "coverage": round(self.coverage, 4), "detected_at": self.detected_at.isoformat(),
                "replaced_at": self.replaced_at.isoformat()}


@dataclass(frozen=True, slots=True)
class DeliveryJob:
    """One outbox row to send: a match event (with both texts, for excerpts) or a feed event."""

    id: int
    destination: str
    attempts: int
    idempotency_key: str
    event: str  # match.created | match.updated | feed.failing | feed.recovered | test
    match: MatchRecord | None = None
    source_text: str = ""
    copy_text: str = ""
    payload: dict[str, Any] | None = None
    revision: int = 0
