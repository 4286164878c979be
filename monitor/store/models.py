"""SQLAlchemy models. The schema is made only by Alembic migrations (`monitor migrate`)."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

JSONType = JSON().with_variant(JSONB(), "postgresql")


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc) if value is not None else None

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value


class Base(DeclarativeBase):
    pass


class SourceRow(Base):
    """A registered article to protect."""

    __tablename__ = "sources"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    url: Mapped[str] = mapped_column(String(2048), unique=True)
    title: Mapped[str] = mapped_column(Text, default="")
    text: Mapped[str] = mapped_column(Text, default="")
    content_hash: Mapped[str] = mapped_column(String(64), default="")
    # The detector's fingerprint, so a restart rebuilds the index without re-fingerprinting.
    signature: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    origin: Mapped[str] = mapped_column(String(16), default="url")  # url | file | feed | import
    feed_id: Mapped[int | None] = mapped_column(ForeignKey("feeds.id", ondelete="SET NULL"), nullable=True)
    status: Mapped[str] = mapped_column(String(16), default="ready")  # ready | pending | error
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    # Origin 'feed': the entry as the user's feed showed it when the text was read; another
    # entry at the same URL is an edit, read and fingerprinted again. "" = not known.
    entry_hash: Mapped[str] = mapped_column(String(64), default="", server_default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # When the text or signature last changed: other processes reload the signatures changed
    # since their last look (recording only a new entry_hash leaves it alone).
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    # Removed (`sources remove`, or taken out of the config): out of the index and the lists,
    # kept with its matches; registering it again brings it back. None = active.
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # Listed in the config file at the last sync (a line that appears again un-retires it).
    in_config: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # When the source was last compared with the posts already stored (a rescan); None = due.
    rescanned_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # Raised to the highest + 1 (under a lock, so versions commit in order) by each change of
    # the text or signature: processes reload the sources above the version their index holds.
    version: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")

    __table_args__ = (Index("ix_sources_version", "version"),)


class FeedRow(Base):
    """A watched feed or blog (role 'watch') or the user's own feed of sources (role 'source')."""

    __tablename__ = "feeds"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    url: Mapped[str] = mapped_column(String(2048), unique=True)  # as configured
    feed_url: Mapped[str | None] = mapped_column(String(2048), nullable=True)  # after discovery
    role: Mapped[str] = mapped_column(String(16), default="watch")
    title: Mapped[str] = mapped_column(Text, default="")
    interval_minutes: Mapped[int] = mapped_column(Integer, default=60)
    etag: Mapped[str | None] = mapped_column(String(1024), nullable=True)
    last_modified: Mapped[str | None] = mapped_column(String(128), nullable=True)
    body_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    next_check_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_status: Mapped[str | None] = mapped_column(String(64), nullable=True)  # "200", "304", "error"
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    error_count: Mapped[int] = mapped_column(Integer, default=0)
    failure_alerted: Mapped[bool] = mapped_column(Boolean, default=False)  # a "failing" alert went out
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Role 'source': when the whole site was read back (Blogger/WordPress paging); None = not yet.
    backfilled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # Removed (`feeds remove`, or taken out of the config): not polled, not listed, history kept.
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    paused_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)  # `feeds pause`, desk
    in_config: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # Added from the desk (by this user) rather than the config: config sync leaves it alone.
    added_by: Mapped[str | None] = mapped_column(String(255), nullable=True)

    __table_args__ = (Index("ix_feeds_next_check_at", "next_check_at"),)


class PostRow(Base):
    """A post seen on a watched feed, with its extracted text and the raw page."""

    __tablename__ = "posts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    feed_id: Mapped[int | None] = mapped_column(ForeignKey("feeds.id", ondelete="SET NULL"), nullable=True)
    url: Mapped[str] = mapped_column(String(2048), unique=True)
    guid: Mapped[str] = mapped_column(String(2048), default="")
    title: Mapped[str] = mapped_column(Text, default="")
    text: Mapped[str] = mapped_column(Text, default="")
    content_hash: Mapped[str] = mapped_column(String(64), default="")
    raw_page: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    raw_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    http_status: Mapped[int | None] = mapped_column(Integer, nullable=True)
    headers: Mapped[dict[str, Any] | None] = mapped_column(JSONType, nullable=True)  # of the page fetch
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    fetched_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    checked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The entry as the feed shows it (title, content, summary): a change means an edit to re-check.
    entry_hash: Mapped[str] = mapped_column(String(64), default="", server_default="")
    # claimed (one process is fetching/checking it, until lease_until) | checked | failed
    state: Mapped[str] = mapped_column(String(16), default="checked", server_default="checked")
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # The post's candidate keys (monitor/detect/reverse.py), so a source registered later is
    # compared with the posts stored before it without re-reading their texts.
    signature: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    # Failed reads in a row (state "failed"): the next try waits until lease_until, longer each time.
    failures: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    # An entry's identity is its GUID within its feed; the row is inserted before the post is
    # fetched, so of two processes that see the entry, only the one whose insert wins checks it.
    __table_args__ = (Index("uq_posts_feed_guid", "feed_id", "guid", unique=True),)


class MatchRow(Base):
    """A post found to copy a source, with the evidence. One row per (source, post)."""

    __tablename__ = "matches"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"))
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    score: Mapped[float] = mapped_column(Float)
    coverage: Mapped[float] = mapped_column(Float, default=0.0)
    spin_rate: Mapped[float] = mapped_column(Float, default=0.0)
    evidence: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    post_content_hash: Mapped[str] = mapped_column(String(64), default="")
    # The source's text when the evidence was recorded, kept here when the source is edited
    # later (the passages' offsets point into it); None: the source's current text.
    source_text: Mapped[str | None] = mapped_column(Text, nullable=True)
    # The copy as it was when the evidence was recorded (its text, the raw page it was read
    # from, that fetch), kept here when the post changes later, so the proof outlives an edit
    # or a removal by the copier; None: the post's current state.
    copy_text: Mapped[str | None] = mapped_column(Text, nullable=True)
    copy_raw_page: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    copy_raw_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    copy_http_status: Mapped[int | None] = mapped_column(Integer, nullable=True)
    copy_fetched_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    copy_headers: Mapped[dict[str, Any] | None] = mapped_column(JSONType, nullable=True)
    # Bumped when a re-checked copy changed materially; each revision alerts once.
    revision: Mapped[int] = mapped_column(Integer, default=0)
    detected_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # The desk's triage (monitor/triage.py): the state, bumped `state_version` on each change
    # so that two editors changing one match cannot overwrite each other; every change is also
    # a TriageEventRow. `state_reason`: why the monitor set it (allow-list, syndication).
    state: Mapped[str] = mapped_column(String(16), default="new", server_default="new")
    state_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    state_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    # The copy's registrable domain (Public Suffix List), for the desk's per-site views.
    site: Mapped[str] = mapped_column(String(255), default="", server_default="")

    __table_args__ = (
        UniqueConstraint("source_id", "post_id", name="uq_matches_source_post"),
        Index("ix_matches_detected_at", "detected_at"),
        Index("ix_matches_detected_id", "detected_at", "id"),  # the inbox's order and its page cursor
        Index("ix_matches_state_detected", "state", "detected_at", "id"),
        # a site's matches newest first, and (covering) its counts for the sites table
        Index("ix_matches_site_detected", "site", "detected_at", "id", "state", "source_id"),
        Index("ix_matches_source_detected", "source_id", "detected_at"),
    )


class MatchRevisionRow(Base):
    """An earlier revision of a match, as it stood when a material change replaced it: the
    verdict, its evidence and the texts and page the evidence points into. Append-only, so
    the proof of a copy outlives the copier trimming or rewording it later."""

    __tablename__ = "match_revisions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    match_id: Mapped[int] = mapped_column(ForeignKey("matches.id", ondelete="CASCADE"))
    revision: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))
    score: Mapped[float] = mapped_column(Float)
    coverage: Mapped[float] = mapped_column(Float)
    spin_rate: Mapped[float] = mapped_column(Float)
    evidence: Mapped[dict[str, Any]] = mapped_column(JSONType)
    source_text: Mapped[str] = mapped_column(Text)
    copy_text: Mapped[str] = mapped_column(Text)
    copy_raw_page: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    copy_raw_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    copy_http_status: Mapped[int | None] = mapped_column(Integer, nullable=True)
    copy_fetched_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    copy_headers: Mapped[dict[str, Any] | None] = mapped_column(JSONType, nullable=True)  # of that fetch
    detected_at: Mapped[datetime] = mapped_column(UTCDateTime)  # when this revision was found
    replaced_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (UniqueConstraint("match_id", "revision", name="uq_match_revisions_match_revision"),)


class DeliveryRow(Base):
    """The alert outbox: one row per match (revision) × destination, or per feed event."""

    __tablename__ = "deliveries"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    match_id: Mapped[int | None] = mapped_column(ForeignKey("matches.id", ondelete="CASCADE"), nullable=True)
    revision: Mapped[int] = mapped_column(Integer, default=0)
    # match.created | match.updated | feed.failing | feed.recovered
    event: Mapped[str] = mapped_column(String(32), default="match.created")
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSONType, nullable=True)  # feed events
    destination: Mapped[str] = mapped_column(String(2048))  # "email:a@b" | "webhook:https://…"
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending | sent | failed | disabled
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    idempotency_key: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    __table_args__ = (
        UniqueConstraint("match_id", "revision", "destination", name="uq_deliveries_match_revision_destination"),
        Index("ix_deliveries_due", "status", "next_attempt_at"),
    )


class DestinationRow(Base):
    """Alert destinations that asked to be left alone (HTTP 410); a passing `notify test` re-enables."""

    __tablename__ = "destinations"

    name: Mapped[str] = mapped_column(String(2048), primary_key=True)
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)


class SiteBoilerplateRow(Base):
    """What the extractor learned recurs across one site's posts (per host)."""

    __tablename__ = "site_boilerplate"

    host: Mapped[str] = mapped_column(String(255), primary_key=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class NodeRow(Base):
    """One running `monitor run` process (its heartbeat), so an operator sees which nodes are alive."""

    __tablename__ = "nodes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    host: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int] = mapped_column(Integer)
    version: Mapped[str] = mapped_column(String(64))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)  # last heartbeat
    last_cycle_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)  # last finished cycle


class TriageEventRow(Base):
    """One change of a match's triage state: who, when, from, to, why. Append-only."""

    __tablename__ = "triage_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    match_id: Mapped[int] = mapped_column(ForeignKey("matches.id", ondelete="CASCADE"))
    actor: Mapped[str] = mapped_column(String(255))  # a user's name, or "monitor"
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    from_state: Mapped[str] = mapped_column(String(16))
    to_state: Mapped[str] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(Text, nullable=True)

    __table_args__ = (Index("ix_triage_events_match", "match_id", "id"),)


class MatchNoteRow(Base):
    """A note an editor left on a match. Append-only."""

    __tablename__ = "match_notes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    match_id: Mapped[int] = mapped_column(ForeignKey("matches.id", ondelete="CASCADE"))
    author: Mapped[str] = mapped_column(String(255))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    text: Mapped[str] = mapped_column(Text)

    __table_args__ = (Index("ix_match_notes_match", "match_id", "id"),)


class UserRow(Base):
    """A desk account: an editor (may triage and change) or a viewer (reads only)."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))  # argon2id, with its parameters
    role: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ApiTokenRow(Base):
    """An API token; only its sha256 is kept (the token is shown once, when made)."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str] = mapped_column(String(255), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class LoginFailureRow(Base):
    """A failed desk login, kept under the client's address and under the name tried: every desk
    process on the database counts them (web/auth.LoginLimiter), so replicas behind a balancer
    share one limit. Rows older than the limit's window are deleted as new ones come."""

    __tablename__ = "login_failures"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(320))  # "ip:<address>" or "name:<name, lower case>"
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (Index("ix_login_failures_key_at", "key", "at"), Index("ix_login_failures_at", "at"))


class AllowedSiteRow(Base):
    """A site allowed to republish (all sources, or one): its matches are licensed, not alerted."""

    __tablename__ = "allowed_sites"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    site: Mapped[str] = mapped_column(String(255))  # registrable domain
    source_id: Mapped[int | None] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"), nullable=True)
    added_by: Mapped[str] = mapped_column(String(255))
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (Index("ix_allowed_sites_site", "site"),)


class ServiceStateRow(Base):
    """Small shared facts of the service: the desk's session key, each node's last cycle."""

    __tablename__ = "service_state"

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    value: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CopyCheckRow(Base):
    """One re-reading of a copy under watch for removal (`monitor recheck`): what the copy's
    URL served then, so a removal (or a return) is shown with its evidence. Append-only."""

    __tablename__ = "copy_checks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    match_id: Mapped[int] = mapped_column(ForeignKey("matches.id", ondelete="CASCADE"))
    checked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # present (still matches) | removed (404/410, empty, no longer matches) | error (unreadable: no change)
    outcome: Mapped[str] = mapped_column(String(16))
    http_status: Mapped[int | None] = mapped_column(Integer, nullable=True)
    raw_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)  # of the bytes served
    detail: Mapped[str] = mapped_column(Text, default="")  # why, in words ("HTTP 404", "no longer matches (score 0.12)")

    __table_args__ = (Index("ix_copy_checks_match", "match_id", "id"),)


class RDAPAnswerRow(Base):
    """An RDAP answer (a registry's JSON about an IP network or a domain), kept a day so that a
    notice does not ask the registry again for every copy on one host."""

    __tablename__ = "rdap_answers"

    url: Mapped[str] = mapped_column(String(2048), primary_key=True)
    fetched_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    status: Mapped[int] = mapped_column(Integer)  # 200, or 404 (the registry knows nothing of it)
    answer: Mapped[dict[str, Any] | None] = mapped_column(JSONType, nullable=True)


class NoticeRow(Base):
    """A takedown notice sent for a match: to whom, when, by whom, and the message itself."""

    __tablename__ = "notices"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    match_id: Mapped[int] = mapped_column(ForeignKey("matches.id", ondelete="CASCADE"))
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor: Mapped[str] = mapped_column(String(255))
    recipient: Mapped[str] = mapped_column(Text)
    variant: Mapped[str] = mapped_column(String(16))  # dmca | plain
    message: Mapped[bytes] = mapped_column(LargeBinary)  # the email as sent (RFC 5322)

    __table_args__ = (Index("ix_notices_match", "match_id", "id"),)
