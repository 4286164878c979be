"""Domain values passed between stages.

Small frozen dataclasses: the stages exchange these, never ORM rows (those stay in `store/`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # detect/ imports Passage from here: a runtime import would be a cycle
    from monitor.detect.engine import Verdict


# States and kinds are stored as these strings: a StrEnum member equals its string, so rows
# read back as plain str compare equal to the members.

class MatchKind(StrEnum):
    """What the detector found (detect/engine.py)."""

    COPY = "copy"  # the text as it was, or nearly (few words swapped)
    SPUN_COPY = "spun_copy"  # the whole text, words swapped by a spinner
    PARTIAL_COPY = "partial_copy"  # a part of the source, or the source inside a longer post
    REWRITE = "rewrite"  # re-told sentence by sentence
    PARTIAL_REWRITE = "partial_rewrite"  # a part of it re-told


class TriageState(StrEnum):
    """A match's state on the desk (monitor/triage.py says who may move it where)."""

    NEW = "new"
    CONFIRMED = "confirmed"
    LICENSED = "licensed"
    FALSE_POSITIVE = "false_positive"
    IGNORED = "ignored"
    NOTICE_SENT = "notice_sent"
    REMOVED = "removed"  # set by the monitor: the copy is gone
    REINSTATED = "reinstated"  # set by the monitor: the removed copy is back


class DeliveryStatus(StrEnum):
    """An outbox row's status."""

    PENDING = "pending"  # to send (again) at its next attempt
    SENT = "sent"
    FAILED = "failed"  # given up
    DISABLED = "disabled"  # its destination is disabled


class PostState(StrEnum):
    """A post row's state (store/posts.py)."""

    CLAIMED = "claimed"  # one process is fetching and checking it, until its lease ends
    CHECKED = "checked"
    FAILED = "failed"  # its read failed; retried after a wait


@dataclass(frozen=True, slots=True)
class Source:
    """An article the user registered and wants protected."""

    url: str
    text: str
    title: str = ""
    id: int | None = None


@dataclass(frozen=True, slots=True)
class Post:
    """A post seen on a watched feed or blog, after extraction."""

    url: str
    text: str
    title: str = ""
    guid: str = ""
    feed_url: str = ""
    published: datetime | None = None
    # The raw page as evidence: bytes as served (after content decoding, what `curl
    # --compressed` saves), hashed as they are; str: HTML carried in a feed entry (kept as UTF-8).
    html: bytes | str | None = None
    http_status: int | None = None
    fetched_at: datetime | None = None
    headers: dict[str, str] | None = None  # the page's response headers (lower-case names), as evidence


@dataclass(frozen=True, slots=True)
class Passage:
    """A reused passage: character offsets into the source text and into the copy's text."""

    source_start: int
    source_end: int
    copy_start: int
    copy_end: int


@dataclass(frozen=True, slots=True)
class Match:
    """A post found to copy a source: the detector's verdict, and the stored match if kept.

    The one match value between stages (pipeline → CLI, scheduler, demo). What the store reads
    back later, with its id, triage and evidence as stored, is `store.MatchRecord`."""

    source: Source
    post: Post
    verdict: Verdict
    match_id: int | None  # None for a post checked without storing (`monitor scan`)
    event: str | None = None  # "match.created" / "match.updated" when alerts were queued
    related: list[dict[str, Any]] = field(default_factory=list)  # sources folded into this match (evidence "related")
