"""Matches and their revisions: recording one (and queueing its alerts), reading them back with their texts."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from monitor import rules
from monitor.domain import TriageState
from monitor.store.base import Queries
from monitor.store.models import DeliveryRow, MatchRevisionRow, MatchRow, PostRow, SourceRow, utcnow
from monitor.store.values import MatchRecord, RevisionInfo


def outbox_key(*parts: object) -> str:
    """A short stable digest of the parts, for an outbox row's idempotency key."""
    return hashlib.sha256(":".join(map(str, parts)).encode()).hexdigest()[:32]


def _copy_page(m: MatchRow, p: PostRow) -> tuple[bytes | None, str | None, int | None, datetime | None]:
    """(raw page, its sha256, HTTP status, fetch time) of the copy the match's evidence points
    into: as found, if the post changed since (see save_post), else the post's own."""
    if m.copy_text is not None:
        return m.copy_raw_page, m.copy_raw_sha256, m.copy_http_status, m.copy_fetched_at
    return p.raw_page, p.raw_sha256, p.http_status, p.fetched_at


def match_record(m: MatchRow, s: SourceRow, p: PostRow) -> MatchRecord:
    _, sha256, status, fetched_at = _copy_page(m, p)
    return MatchRecord(m.id, s.id, s.url, s.title, p.url, p.title, m.kind, m.score, m.coverage,
                       m.spin_rate, m.evidence or {}, m.detected_at, status, sha256, fetched_at,
                       copy_changed=m.copy_text is not None, revision=m.revision)


def copy_text_of(m: MatchRow, p: PostRow) -> str:
    """The copy text the match's evidence points into: as it was, if the post changed since."""
    return m.copy_text if m.copy_text is not None else p.text


def source_text_of(m: MatchRow, s: SourceRow) -> str:
    """The source text the match's evidence points into: as it was, if the source was edited since."""
    return m.source_text if m.source_text is not None else s.text


class MatchQueries(Queries):
    """Queries on matches and their kept revisions."""

    def matched_pairs(self, post_ids: Iterable[int]) -> set[tuple[int, int]]:
        """(source id, post id) of the matches already recorded for these posts."""
        ids = list(post_ids)
        with self.db.engine.connect() as conn:
            return {(a, b) for a, b in conn.execute(select(MatchRow.source_id, MatchRow.post_id)
                                                    .where(MatchRow.post_id.in_(ids)))} if ids else set()

    def standing_matches(self, post_ids: Iterable[int]) -> dict[int, dict[int, int]]:
        """post id -> {source id: match id} of the matches a new match on the same post may fold
        into: of active sources, and not judged a false positive (a match the publisher
        rejected must not swallow another source's alert)."""
        ids = list(post_ids)
        out: dict[int, dict[int, int]] = {}
        if not ids:
            return out
        with self.db.engine.connect() as conn:
            rows = conn.execute(
                select(MatchRow.post_id, MatchRow.source_id, MatchRow.id)
                .join(SourceRow, SourceRow.id == MatchRow.source_id)
                .where(MatchRow.post_id.in_(ids), SourceRow.retired_at.is_(None),
                       MatchRow.state != TriageState.FALSE_POSITIVE))
            for post_id, source_id, match_id in rows:
                out.setdefault(post_id, {})[source_id] = match_id
        return out

    def add_related(self, match_id: int, related: list[dict[str, Any]]) -> None:
        """List more sources as `related` in a match's evidence (those a rescan folded into it);
        no new revision and no alert: the copy and its evidence are unchanged."""
        with self.db.session() as s:
            row = s.get(MatchRow, match_id)
            if row is None:
                return
            evidence = dict(row.evidence or {})
            listed = {r.get("source_url") for r in evidence.get("related") or []}
            more = [r for r in related if r.get("source_url") not in listed]
            if more:
                evidence["related"] = list(evidence.get("related") or []) + more
                row.evidence = evidence  # a new dict, so the JSON column sees the change

    def record_match(self, source_id: int, post_id: int, kind: str, score: float, coverage: float,
                     spin_rate: float, evidence: dict[str, Any],
                     destinations: Iterable[tuple[str, datetime]]) -> tuple[int | None, str | None]:
        """Store a match and queue its alerts (destination, first attempt) in one transaction.

        Returns (match id, event): "match.created" for a new pair, "match.updated" when a
        re-checked copy changed materially, None when nothing new is worth an alert (the
        evidence is refreshed all the same).
        """
        destinations = list(destinations)
        with self.db.session() as s:
            post_hash = s.scalar(select(PostRow.content_hash).where(PostRow.id == post_id)) or ""
            event: str | None
            row = s.scalar(select(MatchRow).where(
                MatchRow.source_id == source_id, MatchRow.post_id == post_id))
            if row is None:
                event = "match.created"
                row = MatchRow(source_id=source_id, post_id=post_id, revision=0)
                s.add(row)
            else:
                material = rules.material_change(row.kind, row.coverage, row.post_content_hash,
                                                 kind, coverage, post_hash)
                event = "match.updated" if material else None
                if event:
                    self._keep_revision(s, row)
                    row.revision += 1
                row.updated_at = utcnow()
            row.kind, row.score, row.coverage, row.spin_rate = kind, score, coverage, spin_rate
            # the evidence now points into the source's and the copy's current texts
            row.evidence, row.post_content_hash, row.source_text = evidence, post_hash, None
            row.copy_text = row.copy_raw_page = row.copy_raw_sha256 = None
            row.copy_http_status = row.copy_fetched_at = row.copy_headers = None
            try:
                with s.begin_nested():
                    s.flush()
            except IntegrityError:  # another process recorded this pair first: it alerts
                return None, None
            if event:
                for dest, due in destinations:
                    s.add(DeliveryRow(match_id=row.id, revision=row.revision, event=event, destination=dest,
                                      next_attempt_at=due,
                                      idempotency_key=f"msg_{outbox_key(row.id, row.revision, dest)}"))
            return row.id, event

    @staticmethod
    def _keep_revision(s: Any, row: MatchRow) -> None:
        """The match's current revision, about to be replaced, kept with the texts and page its
        evidence points into (the copy as found, if the post changed since; see save_post)."""
        src = s.get_one(SourceRow, row.source_id)
        post = s.get_one(PostRow, row.post_id)
        since = s.scalar(select(MatchRevisionRow.replaced_at).where(
            MatchRevisionRow.match_id == row.id, MatchRevisionRow.revision == row.revision - 1))
        page, sha256, status, fetched_at = _copy_page(row, post)
        headers = row.copy_headers if row.copy_text is not None else post.headers  # of that same fetch
        s.add(MatchRevisionRow(
            match_id=row.id, revision=row.revision, kind=row.kind, score=row.score, coverage=row.coverage,
            spin_rate=row.spin_rate, evidence=row.evidence or {}, source_text=source_text_of(row, src),
            copy_text=copy_text_of(row, post), copy_raw_page=page, copy_raw_sha256=sha256,
            copy_http_status=status, copy_fetched_at=fetched_at, copy_headers=headers,
            detected_at=since or row.detected_at))

    def match_revisions(self, match_id: int) -> list[RevisionInfo]:
        """The earlier revisions of a match, oldest first."""
        with self.db.engine.connect() as conn:
            rows = conn.execute(select(
                MatchRevisionRow.revision, MatchRevisionRow.kind, MatchRevisionRow.score, MatchRevisionRow.coverage,
                MatchRevisionRow.detected_at, MatchRevisionRow.replaced_at,
            ).where(MatchRevisionRow.match_id == match_id).order_by(MatchRevisionRow.revision))
            return [RevisionInfo(*r) for r in rows]

    def revision_with_texts(self, match_id: int, revision: int) -> tuple[MatchRecord, str, str] | None:
        """An earlier revision of a match with the texts its evidence points into, for a report."""
        with self.db.session() as s:
            found = s.execute(select(MatchRevisionRow, MatchRow, SourceRow, PostRow)
                              .join(MatchRow, MatchRevisionRow.match_id == MatchRow.id)
                              .join(SourceRow, MatchRow.source_id == SourceRow.id)
                              .join(PostRow, MatchRow.post_id == PostRow.id)
                              .where(MatchRevisionRow.match_id == match_id,
                                     MatchRevisionRow.revision == revision)).first()
            if found is None:
                return None
            r, m, src, p = found
            record = MatchRecord(m.id, src.id, src.url, src.title, p.url, p.title, r.kind, r.score, r.coverage,
                                 r.spin_rate, r.evidence or {}, r.detected_at, r.copy_http_status,
                                 r.copy_raw_sha256, r.copy_fetched_at, copy_changed=True, revision=r.revision)
            return record, r.source_text, r.copy_text

    def list_matches(self, since: datetime | None = None, source: str | None = None,
                     min_score: float | None = None, limit: int | None = None) -> list[MatchRecord]:
        with self.db.session() as s:
            q = (select(MatchRow, SourceRow, PostRow)
                 .join(SourceRow, MatchRow.source_id == SourceRow.id)
                 .join(PostRow, MatchRow.post_id == PostRow.id)
                 .order_by(MatchRow.detected_at.desc(), MatchRow.id.desc()))
            if since is not None:
                q = q.where(MatchRow.detected_at >= since)
            if source is not None:
                q = q.where(SourceRow.url.contains(source, autoescape=True))  # % and _ are literal
            if min_score is not None:
                q = q.where(MatchRow.score >= min_score)
            if limit:
                q = q.limit(limit)
            return [match_record(m, src, p) for m, src, p in s.execute(q)]

    def match_with_texts(self, match_id: int) -> tuple[MatchRecord, str, str] | None:
        """A match with the source's and the copy's full texts, for the evidence report."""
        with self.db.session() as s:
            row = s.execute(select(MatchRow, SourceRow, PostRow)
                            .join(SourceRow, MatchRow.source_id == SourceRow.id)
                            .join(PostRow, MatchRow.post_id == PostRow.id)
                            .where(MatchRow.id == match_id)).first()
            if row is None:
                return None
            m, src, p = row
            return match_record(m, src, p), source_text_of(m, src), copy_text_of(m, p)
