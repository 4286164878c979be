"""Per-site boilerplate: paragraphs that recur across several posts of one site.

Extraction removes page chrome, but some boilerplate sits *inside* the post body or the
feed's content:encoded: a signature ("Salam, Admin"), a disclaimer, an affiliate notice, a
"Source Link" line, a share prompt written as text. One page cannot tell those from the
post; the site's other posts can.

Rule: the text is cut into units (paragraphs, and the lines of multi-line paragraphs).
A unit is keyed by its normalised form (case-folded, whitespace collapsed, digits → 0,
so "© 2023" and "© 2024" are the same unit). A unit seen in at least ``min_posts``
(default 3) *distinct* posts of the site is boilerplate and ``strip`` removes it.
A post is counted once: the same text again, or another version of a post whose URL was
seen (an edit), is not counted. A sentence that appears in one post, or in two, is kept. ``strip`` never empties a text:
if every unit of a post is known, the post is returned unchanged (it is probably a
re-post of the same text, not chrome).

    bp = SiteBoilerplate.from_dict(row.boilerplate or {})   # one per site (host)
    bp.observe(text, url)       # learn from every extracted post of the site
    clean = bp.strip(text)      # before fingerprinting / comparing
    row.boilerplate = bp.to_dict()   # JSON-able, bounded in size

Pure: no I/O. The caller keeps one instance per site and stores ``to_dict()``.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable

_WS = re.compile(r"\s+")
_DIGITS = re.compile(r"\d+")
_VERSION = 1


def _units(text: str) -> Iterable[str]:
    """Paragraphs and, for multi-line paragraphs, their lines."""
    for para in re.split(r"\n\s*\n", text or ""):
        para = para.strip()
        if not para:
            continue
        yield para
        if "\n" in para:
            for line in para.split("\n"):
                line = line.strip()
                if line:
                    yield line


def _key(unit: str) -> str | None:
    norm = _DIGITS.sub("0", _WS.sub(" ", unit).strip().casefold())
    if len(norm) < 2:
        return None
    return hashlib.blake2b(norm.encode("utf-8"), digest_size=8).hexdigest()


class SiteBoilerplate:
    """Learns the recurring paragraphs/lines of one site and strips them."""

    def __init__(self, min_posts: int = 3, max_units: int = 5000, max_recent: int = 1000):
        self.min_posts = min_posts  # distinct posts a unit must appear in to be boilerplate
        self.max_units = max_units  # bound on stored unit counts (rare ones are forgotten)
        # post fingerprints (text, and URL when given: two a post) kept to ignore a post seen twice
        self.max_recent = max_recent
        self.counts: dict[str, int] = {}
        self.recent: list[str] = []
        self.posts = 0

    # -- learning -------------------------------------------------------------------

    def observe(self, text: str, url: str | None = None) -> bool:
        """Count the units of one post. Returns False when this post was already observed:
        the same text, or (given its URL) an earlier version of it. Re-fetching a post must
        not make its sentences look recurrent, and neither must editing it: three edits of
        one post are not three posts."""
        if not text or not text.strip():
            return False
        post_key = _key(text)
        url_key = hashlib.blake2b(b"url:" + url.encode("utf-8"), digest_size=8).hexdigest() if url else None
        if post_key is None or post_key in self.recent or (url_key is not None and url_key in self.recent):
            return False
        self.recent.append(post_key)
        if url_key is not None:
            self.recent.append(url_key)
        if len(self.recent) > self.max_recent:
            del self.recent[: len(self.recent) - self.max_recent]
        self.posts += 1
        keys = {k for k in map(_key, _units(text)) if k}
        for k in keys:
            self.counts[k] = self.counts.get(k, 0) + 1
        if len(self.counts) > self.max_units:
            self._prune()
        return True

    def _prune(self) -> None:
        # Keep the most frequent units; among equals the newest (dicts keep insertion order and
        # the sort is stable, so sorting newest-first makes the newest win a tie): a site's new
        # signature line must survive long enough to reach min_posts.
        newest_first = sorted(reversed(self.counts.items()), key=lambda kv: kv[1], reverse=True)
        keep = {k for k, _ in newest_first[: self.max_units * 3 // 4]}
        self.counts = {k: v for k, v in self.counts.items() if k in keep}

    def is_boilerplate(self, unit: str) -> bool:
        k = _key(unit)
        return k is not None and self.counts.get(k, 0) >= self.min_posts

    # -- applying -------------------------------------------------------------------

    def strip(self, text: str) -> str:
        """The text without its boilerplate units, "\\n\\n" between paragraphs."""
        return self.split(text)[0]

    def split(self, text: str) -> tuple[str, str]:
        """(the text without its boilerplate units, the units removed); the text unchanged and
        "" when nothing is removed, or when everything would be (a repeated post, not chrome)."""
        if not text or not self.counts:
            return text, ""
        out: list[str] = []
        removed: list[str] = []
        for para in re.split(r"\n\s*\n", text):
            para = para.strip()
            if not para:
                continue
            if self.is_boilerplate(para):
                removed.append(para)
                continue
            if "\n" in para:
                lines = [ln for ln in para.split("\n") if ln.strip()]
                removed += [ln for ln in lines if self.is_boilerplate(ln)]
                para = "\n".join(ln for ln in lines if not self.is_boilerplate(ln)).strip()
                if not para:
                    continue
            out.append(para)
        if not removed or not out:
            return text, ""
        return "\n\n".join(out), "\n\n".join(removed)

    # -- storage --------------------------------------------------------------------

    def to_dict(self) -> dict:
        return {
            "version": _VERSION,
            "min_posts": self.min_posts,
            "posts": self.posts,
            "counts": dict(self.counts),
            "recent": list(self.recent),
        }

    @classmethod
    def from_dict(cls, data: dict | None, **kwargs) -> "SiteBoilerplate":
        bp = cls(**kwargs)
        if not data or data.get("version") != _VERSION:
            return bp  # unknown or empty state: start learning afresh
        if "min_posts" in data and "min_posts" not in kwargs:
            bp.min_posts = int(data["min_posts"])
        bp.posts = int(data.get("posts", 0))
        bp.counts = {str(k): int(v) for k, v in (data.get("counts") or {}).items()}
        bp.recent = [str(x) for x in (data.get("recent") or [])][-bp.max_recent :]
        return bp

    def __repr__(self) -> str:
        known = sum(1 for v in self.counts.values() if v >= self.min_posts)
        return f"SiteBoilerplate(posts={self.posts}, units={len(self.counts)}, boilerplate={known})"
