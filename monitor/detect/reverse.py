"""The candidate index the other way round: which stored posts a source (registered later)
would have been a candidate for.

Forward, a post's window keys are looked up among all sources' keys (index.py). A source
registered after a post was stored was never compared with it. Instead of running the
candidate step again over every stored post's text, each post keeps its candidate keys
(`post_signature`, stored with the post when it is checked) and the new sources' keys are
sorted once (`SourceKeys`); a rescan then reads the stored post keys in batches and finds, in
a few vectorised passes, the (post, source) pairs that share keys by the forward rule:
`min_hits` keys of which two come from source windows at most `near_windows` apart, or
`min_scattered_hits` anywhere. Only those pairs are aligned, best first (most keys in
`rank_windows` consecutive source windows, as forward) and as many a post as forward: `Detector._cap` of
the post's words, which the signature keeps (a long post's chance hits must not crowd out
a lifted paragraph's source).

What a post keeps: the keys of the first `min_bands` bands of every post window. Every source
has keys in those bands (a long source has only those); a short source also has keys in
higher bands, which a rescan does not see: its candidates rest on `min_bands` of its bands.
About 1.6 KB for a 650-word post with the 6 bands a window of 8 of signature v8 (about 2 KB
with v7's 12 bands a window of 16: README "Thresholds"). Stop keys: forward, a key held by more than
`max_postings` sources is skipped; here the rule is applied among the sources looked up
(all of them for a full rescan), so a rescan of a few sources verifies a few more pairs,
never fewer.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from typing import NamedTuple

import numpy as np

from monitor.detect.engine import Detector, Reading
from monitor.detect.index import SIGNATURE_VERSION, near_windows, rank_windows, unpack_signature

# signature version, bands kept, rows, window, post step, n_keys, words in the post (its cap)
_HEADER = struct.Struct("<BBBHBII")
_EMPTY = np.zeros(0, dtype=np.uint32)


def _bands(det: Detector) -> int:
    return det.settings.min_bands


def post_signature(det: Detector, post: str | Reading) -> bytes:
    """The post's candidate keys of the bands every source indexes, to store with the post
    (from its `Detector.read` if given: the check's own fingerprint, not a second one)."""
    h, s = det._hasher, det.settings
    content, words = det.fingerprint(post)
    keys = h.post_keys(content[:, : _bands(det) * s.rows]) if len(content) else _EMPTY
    head = _HEADER.pack(SIGNATURE_VERSION, _bands(det), s.rows, s.window, s.post_step, len(keys), words)
    return head + keys.astype("<u4").tobytes()


class PostKeys(NamedTuple):
    keys: np.ndarray
    words: int  # words in the post: its candidate cap, as forward


def post_keys(det: Detector, sig: bytes | None) -> PostKeys | None:
    """The keys of a stored post signature; None when it is missing or of another format
    (make it again from the post's text). A signature of the previous layout (no word count:
    its header is 4 bytes shorter) never passes the length check."""
    if not sig or len(sig) < _HEADER.size:
        return None
    version, bands, rows, window, step, n, words = _HEADER.unpack_from(sig)
    s = det.settings
    if (version, bands, rows, window, step) != (SIGNATURE_VERSION, _bands(det), s.rows, s.window, s.post_step) \
            or len(sig) != _HEADER.size + 4 * n:
        return None
    keys = np.frombuffer(sig, dtype="<u4", count=n, offset=_HEADER.size).astype(np.uint32, copy=False)
    return PostKeys(keys, words)


class SourceKeys:
    """The keys of some sources, sorted, with `source number << 6 | window` alongside."""

    def __init__(self, det: Detector, signatures: Iterable[tuple[int, bytes]]) -> None:
        self.det = det
        self.ids: list[int] = []
        keys, vals = [], []
        for sid, sig in signatures:
            try:
                _, k, w = unpack_signature(det._hasher, sig)
            except ValueError:
                continue  # an outdated signature: the store re-makes it when the index loads
            num = len(self.ids)
            self.ids.append(sid)
            keys.append(k)
            vals.append((np.uint32(num) << np.uint32(6)) | w.astype(np.uint32))
        k = np.concatenate(keys) if keys else _EMPTY
        v = np.concatenate(vals) if vals else _EMPTY
        order = np.argsort(k, kind="stable")
        k, v = k[order], v[order]
        if len(k):  # stop keys among these sources, as the forward index drops them
            first = np.empty(len(k), dtype=bool)
            first[0] = True
            np.not_equal(k[1:], k[:-1], out=first[1:])
            starts = np.flatnonzero(first)
            lens = np.diff(np.append(starts, len(k)))
            keep = np.repeat(lens <= det.settings.max_postings, lens)
            k, v = k[keep], v[keep]
        self.keys, self.vals = k, v
        # A filter on the keys' top 20 bits (1 MB, in cache): most post keys are dismissed by one
        # gather before any binary search.
        self._top = np.zeros(1 << 20, dtype=bool)
        self._top[k >> np.uint32(12)] = True

    def __len__(self) -> int:
        return len(self.ids)

    def candidates(self, posts: list[tuple[int, PostKeys]]) -> list[tuple[int, list[int]]]:
        """[(post id, source ids best first)] for the posts of the batch that have any."""
        s = self.det.settings
        if not posts or not len(self.keys):
            return []
        q = np.concatenate([k.keys for _, k in posts])
        owner = np.repeat(np.arange(len(posts), dtype=np.uint64), [len(k.keys) for _, k in posts])
        maybe = self._top[q >> np.uint32(12)]
        q, owner = q[maybe], owner[maybe]
        lo = np.searchsorted(self.keys, q, "left")
        cnt = np.searchsorted(self.keys, q, "right") - lo
        hit = cnt > 0
        if not hit.any():
            return []
        lo, cnt, owner = lo[hit], cnt[hit], owner[hit]
        total = int(cnt.sum())
        idx = np.repeat(lo - np.cumsum(cnt) + cnt, cnt) + np.arange(total)
        # one uint64 per hit: post number, source number, window; sorted, groups are pairs
        packed = np.sort((np.repeat(owner, cnt) << np.uint64(32)) | self.vals[idx].astype(np.uint64))
        pair = packed >> np.uint64(6)
        wins = (packed & np.uint64(63)).astype(np.int16)
        first = np.empty(len(pair), dtype=bool)
        first[0] = True
        np.not_equal(pair[1:], pair[:-1], out=first[1:])
        starts = np.flatnonzero(first)
        uniq = pair[starts]
        counts = np.diff(np.append(starts, len(pair)))
        near = (pair[1:] == pair[:-1]) & (np.abs(wins[1:] - wins[:-1]) <= near_windows(s.window))
        close = np.zeros(len(uniq), dtype=bool)
        if near.any():
            close[np.searchsorted(uniq, pair[1:][near])] = True
        ok = (counts >= s.min_scattered_hits) | ((counts >= s.min_hits) & close)
        # rank as forward (index.BandIndex.hits): most keys in rank_windows consecutive source
        # windows, then most keys; a group is sorted by window: a run of values < window + span
        group_end = np.repeat(starts + counts, counts)
        reach = np.minimum(np.searchsorted(packed, packed + np.uint64(rank_windows(s.window)), "left"), group_end)
        best = np.maximum.reduceat(reach - np.arange(len(packed)), starts)
        out: dict[int, list[tuple[int, int, int]]] = {}
        for p, b, c in zip(uniq[ok].tolist(), best[ok].tolist(), counts[ok].tolist()):
            out.setdefault(p >> 26, []).append((b, c, self.ids[p & ((1 << 26) - 1)]))
        return [(posts[i][0], [sid for _, _, sid in sorted(found, key=lambda x: (-x[0], -x[1]))]
                 [: self.det._cap(posts[i][1].words)])
                for i, found in sorted(out.items())]
