"""Seed-and-extend alignment of a post against one source, tolerant to spinning.

1. Seeds: every pair (i, j) where source word i and post word j are the same content word
   (names, numbers, rare words: what a spinner leaves alone or cannot know a synonym for).
2. Chains: seeds in increasing order in both texts with gaps of at most `max_gap` words on
   each side, found by dynamic programming over seeds sorted by post position (the longest
   chain ending at each seed). Chains are taken best first; a seed used by a better chain is
   not reused, so reordered paragraphs or sentences come out as separate passages.
3. Extend: inside a chain's span, all words (function words too) are aligned with
   difflib.SequenceMatcher; what lies between two aligned runs and is at most `max_phrase`
   words on both sides is a substitution (the spinner swapped a word or phrase for another),
   whether or not a lexicon knows the pair: a spinner with another thesaurus still leaves
   word order and the words around each swap in place.

The output is in word positions; the engine turns it into character offsets.
"""

from __future__ import annotations

import difflib
from itertools import compress

try:  # the same SequenceMatcher with its inner loop (find_longest_match) in C: same blocks,
    # 2-3x faster on a whole copied article, where that loop is most of a copy's alignment
    import _cdifflib
    from cdifflib import CSequenceMatcher

    class _Matcher(CSequenceMatcher):
        """cdifflib's matcher without its check that every word can be hashed (a Python
        `hash()` call per word of each side, twice for the source; ours are lists of str),
        which costs more than its C `chain_b`. Otherwise cdifflib 1.2's set_seq1/set_seq2."""

        a: list[str]
        b: list[str]

        def set_seq1(self, a: list[str]) -> None:
            if a is not self.a:
                self.a = a
                self.matching_blocks = self.opcodes = None

        def set_seq2(self, b: list[str]) -> None:
            if b is self.b and hasattr(self, "isbjunk"):
                return
            self.b = b
            self.matching_blocks = self.opcodes = None
            self.fullbcount = None
            junk, popular = _cdifflib.chain_b(self)
            self.isbjunk = junk.__contains__
            self.isbpopular = popular.__contains__

except ImportError:  # pragma: no cover - an install without the C extension
    _Matcher = difflib.SequenceMatcher  # type: ignore[misc,assignment]
from dataclasses import dataclass, field

import numpy as np

from monitor.detect.normalise import is_content


@dataclass(slots=True)
class Alignment:
    """One aligned passage in word positions: [s0, s1) of the source, [c0, c1) of the post.

    Internal to the detector: the engine turns it into a `monitor.domain.Passage` (character
    offsets), the one passage value the other stages see."""

    s0: int
    s1: int
    c0: int
    c1: int
    seeds: int  # content words shared in order
    aligned: int = 0  # source words aligned to an identical post word
    substituted: int = 0  # source words inside short gaps (spun phrases)
    subs: list[tuple[int, int, int, int]] = field(default_factory=list)  # (s0, s1, c0, c1) of each swap
    runs: list[tuple[int, int, int]] = field(default_factory=list)  # (s, c, size) aligned runs

    @property
    def length(self) -> int:
        return self.s1 - self.s0


class _Content(dict):
    """word → is_content(word), worked out once per distinct word (a C-level `filter` then
    picks a text's content words). Starts again empty when full."""

    max_words = 200_000

    def __missing__(self, word: str) -> bool:
        if len(self) >= self.max_words:
            self.clear()
        c = self[word] = is_content(word)
        return c


_CONTENT = _Content()


def seeds(src: list[str], cpy: list[str], max_occurrences: int = 50,
          max_seeds: int = 200_000) -> list[tuple[int, int]]:
    """(source position, post position) of every shared content word, sorted by post position.

    A word occurring more than `max_occurrences` times in the source is skipped: it would
    add thousands of seeds and no evidence (it is not a rare word in that text). On huge
    repetitive pages the limit is lowered until at most `max_seeds` seeds remain, which
    bounds the time of the chaining step.
    """
    # only the content words both texts have (a set intersection in C) are looked for, and
    # only their positions are visited in Python (found by C-level passes over both texts)
    shared = set(filter(_CONTENT.__getitem__, set(src).intersection(cpy)))
    if not shared:
        return []
    where: dict[str, list[int]] = {w: [] for w in shared}
    for i in compress(range(len(src)), map(shared.__contains__, src)):
        where[src[i]].append(i)
    hits = [(j, where[cpy[j]]) for j in compress(range(len(cpy)), map(shared.__contains__, cpy))]
    while max_occurrences > 1 and len(hits) * max_occurrences > max_seeds \
            and sum(len(p) for _, p in hits if len(p) <= max_occurrences) > max_seeds:
        max_occurrences //= 2
    return [(i, j) for j, pos in hits if len(pos) <= max_occurrences for i in pos]


def chains(pairs: list[tuple[int, int]], max_gap: int, min_seeds: int) -> list[list[tuple[int, int]]]:
    """Disjoint chains of seeds, best (longest) first.

    The longest chain ending at each seed, by dynamic programming over seeds sorted by post
    position: its predecessor is the earliest seed with the longest chain among those at most
    `max_gap` words before it in both texts."""
    n = len(pairs)
    if n == 0:
        return []
    score, prev = _longest(pairs, max_gap) if n < _MANY_SEEDS else _longest_np(pairs, max_gap)
    used = [False] * n
    out: list[list[tuple[int, int]]] = []
    claimed_src: list[tuple[int, int]] = []
    claimed_cpy: list[tuple[int, int]] = []

    def free(i: int, j: int) -> bool:
        return not any(a <= i <= b for a, b in claimed_src) and not any(a <= j <= b for a, b in claimed_cpy)

    for k in sorted(range(n), key=score.__getitem__, reverse=True):  # stable: ties keep seed order
        if score[k] < min_seeds:
            break
        if used[k]:
            continue
        chain = []
        p = k
        while p >= 0 and not used[p]:
            chain.append(p)
            used[p] = True
            p = prev[p]
        chain.reverse()
        # A chain may run past the end of a paragraph into a neighbouring one that a better
        # chain already claimed (reordered copies): drop the claimed seeds, split the rest
        # where the dropped seeds leave a hole wider than max_gap.
        kept = [pairs[q] for q in chain if free(*pairs[q])] if out else [pairs[q] for q in chain]
        pieces: list[list[tuple[int, int]]] = []
        for pr in kept:
            if pieces and pr[0] - pieces[-1][-1][0] <= max_gap and pr[1] - pieces[-1][-1][1] <= max_gap:
                pieces[-1].append(pr)
            else:
                pieces.append([pr])
        for piece in pieces:
            if len(piece) >= min_seeds:
                claimed_src.append((piece[0][0], piece[-1][0]))
                claimed_cpy.append((piece[0][1], piece[-1][1]))
                out.append(piece)
    return out


# From this many seeds on (a copy: hundreds to thousands) the candidates of the dynamic
# programming are found in numpy; below, numpy's per-call cost is more than the Python loop's.
_MANY_SEEDS = 160
# Candidate (earlier seed, seed) pairs looked at in one numpy pass at most: bounds the memory
# on a huge repetitive page (200,000 seeds, hundreds in every post window).
_EDGES_AT_ONCE = 1 << 20


def _longest(pairs: list[tuple[int, int]], max_gap: int) -> tuple[list[int], list[int]]:
    """(length of the longest chain ending at each seed, the seed before it there or -1)."""
    n = len(pairs)
    score = [1] * n
    prev = [-1] * n
    lo = 0
    for k in range(n):
        i, j = pairs[k]
        while pairs[lo][1] < j - max_gap:
            lo += 1
        best, arg = 0, -1
        for p in range(lo, k):
            pi, pj = pairs[p]
            if pj < j and i - max_gap <= pi < i and score[p] > best:
                best, arg = score[p], p
        if arg >= 0:
            score[k], prev[k] = best + 1, arg
    return score, prev


def _longest_np(pairs: list[tuple[int, int]], max_gap: int,
                at_once: int = _EDGES_AT_ONCE) -> tuple[list[int], list[int]]:
    """`_longest` with each seed's candidates (a contiguous range in post order, then filtered
    by source position) found for all seeds at once in numpy, so the Python loop visits only
    the few that qualify. Candidates are visited in the same order (by seed, then earliest
    first) and a strictly longer chain replaces the one found, so the result is the same."""
    n = len(pairs)
    si, sj = np.array(pairs, dtype=np.int64).reshape(n, 2).T
    lo = np.searchsorted(sj, sj - max_gap, "left")  # first seed within max_gap post words before
    hi = np.searchsorted(sj, sj, "left")  # first seed at the same post position (not before it)
    span = hi - lo
    ends = np.cumsum(span)
    score = [1] * n
    prev = [-1] * n
    k0 = 0
    while k0 < n:  # blocks of seeds with at most `at_once` candidates together
        done = int(ends[k0 - 1]) if k0 else 0
        k1 = min(n, max(k0 + 1, int(np.searchsorted(ends, done + at_once, "right"))))
        sp = span[k0:k1]
        total = int(sp.sum())
        if total:
            k = np.repeat(np.arange(k0, k1), sp)
            p = np.repeat(lo[k0:k1] - (np.cumsum(sp) - sp), sp) + np.arange(total)
            pi, ki = si[p], si[k]
            ok = (pi < ki) & (pi >= ki - max_gap)
            # a candidate's own chain is final when it is read (it lies before the seed)
            for b, a in zip(k[ok].tolist(), p[ok].tolist()):
                if score[a] >= score[b]:
                    score[b], prev[b] = score[a] + 1, a
        k0 = k1
    return score, prev


def extend(src: list[str], cpy: list[str], chain: list[tuple[int, int]], max_phrase: int,
           reach: int) -> list[Alignment]:
    """Word-level alignment inside (and up to `reach` words around) a chain of seeds."""
    s0, c0 = chain[0]
    s1, c1 = chain[-1][0] + 1, chain[-1][1] + 1
    # reach out a few words for function words before the first / after the last seed
    a0, b0 = max(0, s0 - reach), max(0, c0 - reach)
    a1, b1 = min(len(src), s1 + reach), min(len(cpy), c1 + reach)
    sm = _Matcher(None, src[a0:a1], cpy[b0:b1], autojunk=False)
    blocks = [b for b in sm.get_matching_blocks() if b.size]
    if not blocks:
        return []
    # keep the blocks that touch the chain's span, dropping stray matches in the margins
    core = [b for b in blocks if a0 + b.a + b.size > s0 - 1 and a0 + b.a < s1 + 1] or blocks
    runs: list[tuple[int, int, int]] = []  # (source pos, post pos, size), absolute
    for b in blocks:
        s, c = a0 + b.a, b0 + b.b
        runs.append((s, c, b.size))
    # trim margin runs that are not within max_phrase of the core
    first = runs.index((a0 + core[0].a, b0 + core[0].b, core[0].size))
    last = runs.index((a0 + core[-1].a, b0 + core[-1].b, core[-1].size))
    while first > 0:
        ps, pc, pz = runs[first - 1]
        fs, fc, _ = runs[first]
        if fs - (ps + pz) <= max_phrase and fc - (pc + pz) <= max_phrase:
            first -= 1
        else:
            break
    while last < len(runs) - 1:
        ls, lc, lz = runs[last]
        ns, nc, _ = runs[last + 1]
        if ns - (ls + lz) <= max_phrase and nc - (lc + lz) <= max_phrase:
            last += 1
        else:
            break
    runs = runs[first : last + 1]
    # Split where neither a spun phrase nor a couple of them side by side can explain the
    # hole (more than 2 × max_phrase words unaligned on either side): the chain crossed
    # from one reused passage into another, or into unrelated text.
    groups: list[list[tuple[int, int, int]]] = [[runs[0]]]
    for r in runs[1:]:
        ps, pc, pz = groups[-1][-1]
        if r[0] - (ps + pz) > 2 * max_phrase or r[1] - (pc + pz) > 2 * max_phrase:
            groups.append([r])
        else:
            groups[-1].append(r)
    return [_passage(g, chain, max_phrase) for g in groups]


def _passage(g: list[tuple[int, int, int]], chain: list[tuple[int, int]], max_phrase: int) -> Alignment:
    p = Alignment(g[0][0], g[-1][0] + g[-1][2], g[0][1], g[-1][1] + g[-1][2],
                sum(1 for i, j in chain if g[0][0] <= i < g[-1][0] + g[-1][2]), runs=g)
    for k, (s, c, z) in enumerate(g):
        p.aligned += z
        if k + 1 < len(g):
            ns, nc, _ = g[k + 1]
            gs, gc = ns - (s + z), nc - (c + z)
            if 0 < gs <= max_phrase and 0 < gc <= max_phrase:
                p.substituted += gs
                p.subs.append((s + z, ns, c + z, nc))
    return p


def align(src: list[str], cpy: list[str], *, max_gap: int, min_seeds: int, max_phrase: int) -> list[Alignment]:
    """Passages of `src` reused in `cpy`, in source order."""
    found = [(p, ch) for ch in chains(seeds(src, cpy), max_gap, min_seeds)
             for p in extend(src, cpy, ch, max_phrase, reach=max_phrase)]
    # Extension may grow passages into each other at their edges: the better passage keeps
    # the words both claim, the other loses the runs that overlap it.
    found.sort(key=lambda pc: -pc[0].aligned)
    kept: list[Alignment] = []
    for p, ch in found:
        runs = [(s, c, z) for s, c, z in p.runs
                if all(s + z <= q.s0 or q.s1 <= s for q in kept) and all(c + z <= q.c0 or q.c1 <= c for q in kept)]
        if len(runs) != len(p.runs):
            if not runs:
                continue
            p = _passage(runs, ch, max_phrase)
            if any(not (p.s1 <= q.s0 or q.s1 <= p.s0) or not (p.c1 <= q.c0 or q.c1 <= p.c0) for q in kept):
                continue  # interleaved with a better passage: not a passage of its own
        kept.append(p)
    return sorted(kept, key=lambda p: p.s0)
