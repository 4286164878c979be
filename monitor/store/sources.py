"""The articles to protect: registering, editing, moving and retiring them, their signatures and versions."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError

from monitor.domain import Source
from monitor.store.base import Queries
from monitor.store.database import Database
from monitor.store.models import MatchRow, SourceRow, utcnow
from monitor.store.values import SourceEntry, SourceInfo, content_hash

SOURCE_VERSION_LOCK = 0x5EC7_0001  # PostgreSQL advisory lock serialising source versions


def raise_version(db: Database, s: Any, source_id: int) -> None:
    """Give a source just changed the highest version + 1, as the transaction's last write.

    Versions must become visible in their order, or a process that read version 7 would
    never look below it for a 6 committed later: on PostgreSQL a transaction-scoped lock
    makes the next writer wait for this commit (a sequence would not: its numbers commit
    out of order); on SQLite the write lock already does."""
    if db.is_postgres:
        s.execute(select(func.pg_advisory_xact_lock(SOURCE_VERSION_LOCK)))
    highest = select(func.coalesce(func.max(SourceRow.version), 0) + 1).scalar_subquery()
    s.execute(update(SourceRow).where(SourceRow.id == source_id).values(
              version=highest, updated_at=SourceRow.updated_at),
              execution_options={"synchronize_session": False})


class SourceQueries(Queries):
    """Queries on the sources table."""

    def upsert_source(self, source: Source, signature: bytes, origin: str,
                      feed_id: int | None = None, entry_hash: str | None = None) -> tuple[int, bool]:
        """Register or refresh a source; returns (id, changed). Unchanged text is not rewritten.

        `entry_hash`: the feed entry the text was read from (a source feed's post), recorded.
        An edited text replaces the stored text and signature; the matches recorded against
        the earlier text keep that text with their evidence (MatchRow.source_text)."""
        try:
            return self._upsert_source(source, signature, origin, feed_id, entry_hash)
        except IntegrityError:  # another process registered the same URL just now: update it
            return self._upsert_source(source, signature, origin, feed_id, entry_hash)

    def _upsert_source(self, source: Source, signature: bytes, origin: str,
                       feed_id: int | None, entry_hash: str | None) -> tuple[int, bool]:
        digest = content_hash(source.text)
        with self.db.session() as s:
            row = s.scalar(select(SourceRow).where(SourceRow.url == source.url))
            if row is not None and row.content_hash == digest and row.status == "ready" and row.retired_at is None:
                if entry_hash is not None and row.entry_hash != entry_hash:
                    self._set_entry_hash(s, row.id, entry_hash)
                return row.id, False
            if row is None:
                row = SourceRow(url=source.url, origin=origin)
                s.add(row)
            elif row.status == "ready" and row.text and row.content_hash != digest:
                # Edited: the evidence of earlier matches points into the text they were found in.
                s.execute(update(MatchRow).where(MatchRow.source_id == row.id, MatchRow.source_text.is_(None))
                          .values(source_text=row.text))
            row.title, row.text, row.content_hash = source.title, source.text, digest
            row.signature, row.status, row.last_error, row.feed_id = signature, "ready", None, feed_id
            row.retired_at = row.rescanned_at = None  # back if removed; compared with stored posts
            if entry_hash is not None:
                row.entry_hash = entry_hash
            s.flush()
            raise_version(self.db, s, row.id)
            return row.id, True

    @staticmethod
    def _set_entry_hash(s: Any, source_id: int, entry_hash: str, title: str | None = None) -> None:
        """Record the entry a source was read from (and its title) without touching updated_at,
        which says when the text and signature changed (other processes reload by it)."""
        values: dict[str, Any] = {"entry_hash": entry_hash, "updated_at": SourceRow.updated_at}
        if title:
            values["title"] = title
        s.execute(update(SourceRow).where(SourceRow.id == source_id).values(**values))

    def source_unchanged(self, source: Source, entry_hash: str | None = None) -> int | None:
        """The id of the ready source at this URL when its stored text is this text (nothing to
        fingerprint), after recording `entry_hash` and a new title if given; else None."""
        with self.db.session() as s:
            row = s.execute(select(SourceRow.id, SourceRow.title, SourceRow.entry_hash).where(
                SourceRow.url == source.url, SourceRow.content_hash == content_hash(source.text),
                SourceRow.status == "ready", SourceRow.retired_at.is_(None))).first()
            if row is None:
                return None
            if entry_hash is not None and (row.entry_hash, row.title) != (entry_hash, source.title or row.title):
                self._set_entry_hash(s, row.id, entry_hash, source.title)
            return row.id

    def source_with_text(self, feed_id: int, text: str) -> tuple[int, str] | None:
        """(id, url) of a ready source this feed registered with exactly this text, if any."""
        with self.db.engine.connect() as conn:
            row = conn.execute(select(SourceRow.id, SourceRow.url).where(
                SourceRow.feed_id == feed_id, SourceRow.origin == "feed", SourceRow.status == "ready",
                SourceRow.content_hash == content_hash(text)).order_by(SourceRow.id).limit(1)).first()
        return (row.id, row.url) if row is not None else None

    def move_source(self, source_id: int, url: str, entry_hash: str | None = None) -> None:
        """Your own post moved: its source takes the new URL; text, signature and matches stay
        (updated_at too: other processes have nothing to re-index)."""
        values: dict[str, Any] = {"url": url, "updated_at": SourceRow.updated_at}
        if entry_hash is not None:
            values["entry_hash"] = entry_hash
        try:
            with self.db.session() as s:
                s.execute(update(SourceRow).where(SourceRow.id == source_id).values(**values))
        except IntegrityError:
            pass  # another process registered the new URL meanwhile: that source stands

    def source_entries(self, urls: Iterable[str]) -> dict[str, SourceEntry]:
        """url → how it was registered, for the ready sources among these URLs."""
        urls = list(set(urls))
        if not urls:
            return {}
        with self.db.engine.connect() as conn:  # a plain read: no ORM session
            return {url: SourceEntry(origin, entry_hash, retired is not None) for url, origin, entry_hash, retired
                    in conn.execute(select(SourceRow.url, SourceRow.origin, SourceRow.entry_hash,
                                           SourceRow.retired_at).where(
                    SourceRow.url.in_(urls), SourceRow.status == "ready"))}

    def set_signature(self, source_id: int, signature: bytes) -> None:
        with self.db.session() as s:
            s.execute(update(SourceRow).where(SourceRow.id == source_id).values(signature=signature))
            raise_version(self.db, s, source_id)

    def mark_source_error(self, url: str, origin: str, error: str) -> None:
        """Remember a source that could not be read, so the user sees why in `sources list`."""
        with self.db.session() as s:
            row = s.scalar(select(SourceRow).where(SourceRow.url == url))
            if row is None:
                s.add(SourceRow(url=url, origin=origin, status="error", last_error=error))
            elif row.status != "ready":
                row.status, row.last_error = "error", error

    def source_urls(self) -> set[str]:
        with self.db.session() as s:
            return set(s.scalars(select(SourceRow.url).where(SourceRow.status == "ready",
                                                             SourceRow.retired_at.is_(None))))

    def list_sources(self, retired: bool = False) -> list[SourceInfo]:
        """The registered sources; with `retired`, the removed ones too."""
        with self.db.session() as s:
            q = select(SourceRow).order_by(SourceRow.id)
            if not retired:
                q = q.where(SourceRow.retired_at.is_(None))
            return [SourceInfo(r.id, r.url, r.title, len(r.text.split()), r.origin, r.status,
                               r.last_error, r.created_at, r.retired_at) for r in s.scalars(q)]

    def find_source(self, ref: str) -> SourceInfo | None:
        """A source by id (digits) or URL, retired or not."""
        cond = SourceRow.id == int(ref) if ref.isdigit() else SourceRow.url == ref
        with self.db.session() as s:
            r = s.scalar(select(SourceRow).where(cond))
            return None if r is None else SourceInfo(r.id, r.url, r.title, len(r.text.split()), r.origin,
                                                     r.status, r.last_error, r.created_at, r.retired_at)

    def retire_source(self, source_id: int) -> None:
        """Remove a source: out of the index (every process drops it at its next refresh: its
        version moves) and the lists; its row and matches stay."""
        with self.db.session() as s:
            done = s.execute(update(SourceRow).where(SourceRow.id == source_id, SourceRow.retired_at.is_(None))
                             .values(retired_at=utcnow(), updated_at=utcnow()))
            if getattr(done, "rowcount", 0):
                raise_version(self.db, s, source_id)  # every process's index drops it at its next refresh

    def sync_config_sources(self, listed: Iterable[str]) -> set[str]:
        """Mark the sources the config lists (by URL); retire those it listed before and no
        longer does, and bring back those that are listed again. Returns the listed URLs
        that stay removed: removed by the user (`sources remove`) while listed."""
        listed = set(listed)
        now = utcnow()
        stay: set[str] = set()
        with self.db.session() as s:
            rows = s.scalars(select(SourceRow).where(or_(SourceRow.in_config.is_(True),
                                                         SourceRow.url.in_(listed))))
            moved = []  # retired or back: every process's index follows (their versions move)
            for row in rows:
                if row.url not in listed:
                    row.in_config = False
                    if row.retired_at is None:
                        row.retired_at, row.updated_at = now, now
                        moved.append(row.id)
                elif not row.in_config:
                    row.in_config = True
                    if row.retired_at is not None:  # listed again: back, and compared again
                        row.retired_at, row.rescanned_at, row.updated_at = None, None, now
                        moved.append(row.id)
                elif row.retired_at is not None:
                    stay.add(row.url)
            s.flush()
            for source_id in moved:
                raise_version(self.db, s, source_id)
        return stay

    def sources_by_id(self, ids: Iterable[int]) -> dict[int, Source]:
        ids = list(ids)
        if not ids:
            return {}
        with self.db.session() as s:
            rows = s.scalars(select(SourceRow).where(SourceRow.id.in_(ids)))
            return {r.id: Source(r.url, r.text, r.title, r.id) for r in rows}

    def signatures(self, above_version: int = 0, batch: int = 5000,
                   ids: Iterable[int] | None = None) -> Iterator[tuple[int, bytes | None, int]]:
        """(id, signature, version) of the sources for the index: every active one, or (with
        `above_version`) those changed after that version, where a removed one comes with the
        signature None, to leave the index; or just these ids."""
        q = select(SourceRow.id, SourceRow.signature, SourceRow.version, SourceRow.retired_at).where(
            SourceRow.status == "ready", SourceRow.signature.is_not(None))
        if ids is not None:
            q = q.where(SourceRow.id.in_(list(ids)))
        if above_version:
            q = q.where(SourceRow.version > above_version)
        else:
            q = q.where(SourceRow.retired_at.is_(None))
        with self.db.engine.connect() as conn:
            result = conn.execution_options(yield_per=batch).execute(q)
            for sid, sig, version, retired_at in result:
                yield sid, None if retired_at is not None or sig is None else bytes(sig), version

    def source_version(self) -> int:
        """The highest committed source version (0: no source yet)."""
        with self.db.engine.connect() as conn:
            return conn.scalar(select(func.coalesce(func.max(SourceRow.version), 0))) or 0

    def sources_due_rescan(self) -> list[int]:
        """Active sources not yet compared with the posts stored before them."""
        with self.db.engine.connect() as conn:
            return list(conn.execute(select(SourceRow.id).where(
                SourceRow.rescanned_at.is_(None), SourceRow.retired_at.is_(None),
                SourceRow.status == "ready").order_by(SourceRow.id)).scalars())

    def mark_rescanned(self, source_ids: Iterable[int], at: datetime) -> None:
        """Record a rescan; a source edited since it started stays due (its updated_at is later)."""
        ids = list(source_ids)
        with self.db.engine.begin() as conn:
            for i in range(0, len(ids), 5000):
                conn.execute(update(SourceRow).where(SourceRow.id.in_(ids[i:i + 5000]),
                                                     SourceRow.updated_at <= at)
                             .values(rescanned_at=at, updated_at=SourceRow.updated_at))
