"""One copied post, one match: fold matches explained by a better match on the same post.

A publisher's articles share text with each other (a follow-up repeats the background of the
first story, two reports quote the same statement). A post that copies story X then also
matches story Y through the paragraphs Y shares with X. Y's match is folded into X's when,
once the parts of the post that better matches already claim are taken out, what is left of
Y's evidence would not be a match on its own (fewer than `min_reused_words` reused words and
less than `min_coverage` of Y). Y is then listed in X's `related`. A post that copies X and Y
side by side keeps both: Y's evidence lies outside X's.

Pure; works on verdicts only (character offsets of the evidence in the post), so the pipeline
and `Detector.scan` fold the same way.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from monitor.detect.engine import Verdict

K = TypeVar("K", bound=Hashable)


def _spans(v: Verdict) -> list[tuple[int, int]]:
    return _union([(p.copy_start, p.copy_end) for p in v.passages if p.copy_end > p.copy_start])


def _union(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for a, b in sorted(spans):
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def _inside(spans: list[tuple[int, int]], claimed: list[tuple[int, int]]) -> int:
    """Characters of `spans` that lie inside any of `claimed`."""
    spans, claimed = _union(spans), _union(claimed)
    total = 0
    for a, b in spans:
        for c, d in claimed:
            lo, hi = max(a, c), min(b, d)
            if hi > lo:
                total += hi - lo
    return total


def fold_related(matches: Sequence[tuple[K, Verdict]], min_reused_words: int,
                 min_coverage: float) -> list[tuple[K, Verdict]]:
    """Matches of one post (source key, Verdict), best first, with the matches that stand only
    on evidence a better match already has folded into that match's `related` (keys, best
    first). Verdicts that are not matches are dropped."""
    ranked = sorted([(k, v) for k, v in matches if v.is_match], key=lambda kv: -kv[1].score)
    kept: list[list] = []  # [key, verdict, related keys]
    for key, v in ranked:
        spans = _spans(v)
        total = sum(b - a for a, b in spans)
        if kept and total:
            claimed = [s for _, kv, _ in kept for s in _spans(kv)]
            left = 1.0 - _inside(spans, claimed) / total
            if v.reused * left < min_reused_words and v.coverage * left < min_coverage:
                # the better match that claims most of this one's evidence takes it
                host = max(kept, key=lambda h: _inside(spans, _spans(h[1])))
                host[2].append(key)
                continue
        kept.append([key, v, []])
    return [(k, replace(v, related=tuple(v.related) + tuple(r)) if r else v) for k, v, r in kept]
