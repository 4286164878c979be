"""The posts read from watched feeds: claiming an entry, keeping a checked post and its page as evidence."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, case, func, or_, select, update
from sqlalchemy.exc import IntegrityError

from monitor.domain import Post, PostState
from monitor.store.base import Queries
from monitor.store.models import MatchRow, PostRow, utcnow
from monitor.store.values import PostClaim, content_hash


def _give_up_guid(s: Any, row: PostRow) -> None:
    """The feed gave this post's GUID to another post: the post keeps its URL as its identity
    in the feed (as in a feed without GUIDs), so the GUID is free for the other one."""
    taken = s.scalar(select(PostRow.id).where(PostRow.feed_id == row.feed_id, PostRow.guid == row.url,
                                              PostRow.id != row.id))
    row.guid = row.url if taken is None else f"{row.url}#{row.id}"
    s.flush()  # before another row takes the GUID (the unique index is checked per statement)


def _page_evidence(post: Post) -> dict[str, Any]:
    """The page a post was read from, as evidence: raw bytes and their sha256, status, time."""
    # Bytes as served are kept and hashed as they are; HTML carried in a feed entry as UTF-8.
    raw = post.html.encode("utf-8") if isinstance(post.html, str) else post.html
    return {"raw_page": raw, "raw_sha256": hashlib.sha256(raw).hexdigest() if raw is not None else None,
            "http_status": post.http_status, "fetched_at": post.fetched_at, "headers": post.headers}


class PostQueries(Queries):
    """Queries on the posts table."""

    def claim_post(self, feed_id: int, guid: str, url: str, entry_hash: str, now: datetime,
                   lease: timedelta) -> PostClaim | None:
        """Claim one feed entry for fetching and checking, or None when there is nothing to do.

        Nothing to do: the entry was checked and is unchanged (same entry hash), another process
        holds a live claim on it, or its URL is a post met through another feed. A new entry is
        inserted first (state "claimed"): of two processes racing for it, the unique (feed_id,
        guid) or URL lets only one insert win. An edited, failed or abandoned (expired lease)
        entry is claimed again.

        Which post an entry is: the one stored at its URL, else the one its GUID names in the
        feed. A post stored at the URL under another GUID of this feed takes the entry's GUID
        (the feed renumbered its GUIDs), and the post that had it keeps its URL as its identity.
        A GUID now linking to a URL where nothing is stored is claimed with `previous_url`: the
        caller tells a moved post (same text: post_unchanged(moved_to=…)) from another post
        given the GUID (guid_reused).
        """
        try:
            with self.db.session() as s:
                q = (select(PostRow)
                     .where(or_(and_(PostRow.feed_id == feed_id, PostRow.guid == guid), PostRow.url == url))
                     .order_by(PostRow.id))  # both rows locked in one order: no deadlock
                if self.db.is_postgres:
                    q = q.with_for_update()
                rows = list(s.scalars(q))
                row = next((r for r in rows if r.url == url), None)
                named = next((r for r in rows if r.feed_id == feed_id and r.guid == guid), None)
                if row is not None and row.feed_id != feed_id:
                    return None  # the same post met through another feed: checked there
                if row is not None and row.guid != guid:
                    if named is not None:
                        _give_up_guid(s, named)
                    row.guid = guid
                row = row or named
                if row is None:
                    row = PostRow(feed_id=feed_id, guid=guid, url=url, state=PostState.CLAIMED,
                                  lease_until=now + lease, entry_hash="")
                    s.add(row)
                    s.flush()
                    return PostClaim(row.id, None)
                if row.state == PostState.CLAIMED and row.lease_until is not None and row.lease_until > now:
                    return None  # another process is on it
                if row.state == PostState.CHECKED and row.entry_hash == entry_hash:
                    return None  # unchanged
                row.state, row.lease_until = PostState.CLAIMED, now + lease
                # content_hash is set once a post was checked (a failed re-check keeps it)
                return PostClaim(row.id, row.content_hash or None, row.url if row.url != url else None)
        except IntegrityError:
            return None  # another process inserted it first: it checks it

    def guid_reused(self, post_id: int, url: str, now: datetime, lease: timedelta) -> PostClaim:
        """The feed gave the GUID of claimed post `post_id` to another post, at `url`: the post
        keeps its row, URL, text and matches (its URL becomes its identity in the feed), and a
        new row is claimed for the other post."""
        with self.db.session() as s:
            row = s.get_one(PostRow, post_id)
            guid = row.guid
            _give_up_guid(s, row)
            row.state, row.lease_until = PostState.CHECKED, None
            new = PostRow(feed_id=row.feed_id, guid=guid, url=url, state=PostState.CLAIMED,
                          lease_until=now + lease, entry_hash="")
            s.add(new)
            s.flush()
            return PostClaim(new.id, None)

    def checked_entries(self, feed_id: int) -> dict[str, str]:
        """guid → entry hash of the feed's checked posts: one query per feed read, so the
        entries seen before cost no transaction each."""
        with self.db.engine.connect() as conn:  # a plain read: no ORM session
            return dict(conn.execute(select(PostRow.guid, PostRow.entry_hash).where(
                PostRow.feed_id == feed_id, PostRow.state == PostState.CHECKED)).all())

    def release_post(self, post_id: int, wait: Callable[[int], timedelta] | None = None) -> None:
        """A claimed post was not read: retried when its feed is next read. With `wait` it
        failed: one more failure in a row, and no retry before wait(failures in a row)."""
        with self.db.session() as s:
            row = s.get(PostRow, post_id)
            if row is None or row.state != PostState.CLAIMED:
                return
            row.state, row.lease_until = PostState.FAILED, None
            if wait is not None:
                row.failures += 1
                row.lease_until = utcnow() + wait(row.failures)

    def claimed_elsewhere(self, feed_id: int, guid: str, url: str, now: datetime) -> bool:
        """Whether another process holds a live claim on this entry's post."""
        with self.db.engine.connect() as conn:
            return conn.scalar(select(func.count()).select_from(PostRow).where(
                or_(and_(PostRow.feed_id == feed_id, PostRow.guid == guid), PostRow.url == url),
                PostRow.state == PostState.CLAIMED, PostRow.lease_until > now)) != 0

    def posts_waiting(self, feed_id: int, now: datetime) -> set[str]:
        """GUIDs of the feed's posts that failed and wait before their next try."""
        with self.db.engine.connect() as conn:
            return set(conn.scalars(select(PostRow.guid).where(
                PostRow.feed_id == feed_id, PostRow.state == PostState.FAILED, PostRow.lease_until > now)))

    def post_unchanged(self, post_id: int, entry_hash: str, moved_to: Post | None = None) -> None:
        """The entry changed in the feed but the post's text did not: nothing to re-check.

        `moved_to`: the post as read at the URL its feed now gives (same GUID, same text): the
        row follows it, with the page read there as its evidence (the text, and so the offsets
        of its matches' evidence, did not change)."""
        values: dict[str, Any] = {"state": PostState.CHECKED, "lease_until": None, "entry_hash": entry_hash,
                                  "checked_at": utcnow(), "failures": 0}
        if moved_to is not None:
            values.update(url=moved_to.url, title=moved_to.title, **_page_evidence(moved_to))
        with self.db.session() as s:
            s.execute(update(PostRow).where(PostRow.id == post_id).values(**values))

    def save_post(self, post: Post, feed_id: int | None, post_id: int | None = None,
                  entry_hash: str = "", signature: bytes | None = None) -> int:
        """Keep a checked post: the claimed row `post_id` (which takes the post's URL, should
        its feed now link elsewhere), or the row with the post's URL."""
        with self.db.session() as s:
            found = (s.get_one(PostRow, post_id) if post_id is not None
                     else s.scalar(select(PostRow).where(PostRow.url == post.url)))
            if found is None:
                found = PostRow(url=post.url, guid=post.guid or post.url)
                s.add(found)
            row = found
            digest = content_hash(post.text)
            if row.id is not None and row.content_hash and row.content_hash != digest:
                # The copier edited (or emptied) the post: matches keep the copy as they found it.
                s.execute(update(MatchRow).where(MatchRow.post_id == row.id, MatchRow.copy_text.is_(None))
                          .values(copy_text=row.text, copy_raw_page=row.raw_page, copy_raw_sha256=row.raw_sha256,
                                  copy_http_status=row.http_status, copy_fetched_at=row.fetched_at,
                                  copy_headers=row.headers))
            row.url, row.feed_id, row.title, row.text = post.url, feed_id, post.title, post.text
            row.guid = post.guid or row.guid or post.url
            row.content_hash, row.published_at, row.checked_at = digest, post.published, utcnow()
            row.state, row.lease_until, row.entry_hash = PostState.CHECKED, None, entry_hash or row.entry_hash
            row.signature = signature  # the post's candidate keys for rescans (None: made then)
            row.failures = 0
            # The raw page is evidence; it is kept for every post so a later match can cite it.
            for name, value in _page_evidence(post).items():
                setattr(row, name, value)
            s.flush()
            return row.id

    def post_signatures(self, since: datetime, batch: int = 5000
                        ) -> Iterator[list[tuple[int, bytes | None, str | None]]]:
        """Batches of (post id, stored candidate keys, text when there are none) of the posts
        with text checked since a time."""
        posts = PostRow.__table__
        q = (select(posts.c.id, posts.c.signature,
                    case((posts.c.signature.is_(None), posts.c.text), else_=None))
             .where(posts.c.checked_at >= since, posts.c.state == PostState.CHECKED, posts.c.content_hash != "",
                    posts.c.text != "")
             .order_by(posts.c.id))
        with self.db.engine.connect() as conn:
            rows = conn.execution_options(yield_per=batch).execute(q)
            for part in rows.partitions(batch):
                yield [(r[0], bytes(r[1]) if r[1] is not None else None, r[2]) for r in part]

    def set_post_signatures(self, items: Iterable[tuple[int, bytes]]) -> None:
        stmt = update(PostRow).where(PostRow.id == bindparam("pid"))
        rows = [{"pid": pid, "signature": sig} for pid, sig in items]
        if rows:
            with self.db.engine.begin() as conn:
                conn.execute(stmt, rows)

    def posts_by_id(self, ids: Iterable[int]) -> dict[int, Post]:
        ids = list(ids)
        with self.db.engine.connect() as conn:
            return {r.id: Post(r.url, r.text, r.title, r.guid,
                               html=bytes(r.raw_page) if r.raw_page is not None else None)
                    for r in conn.execute(
                        select(PostRow.id, PostRow.url, PostRow.text, PostRow.title, PostRow.guid, PostRow.raw_page)
                        .where(PostRow.id.in_(ids)))} if ids else {}
