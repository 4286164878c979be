"""The candidate step's fast paths (index.py) against plain references on random data: the
same words and hashes, the same post keys, the same bucket runs, the same ranked sources."""

from __future__ import annotations

import random

import numpy as np
import pytest

from monitor.detect import DetectSettings
from monitor.detect.index import BandIndex, WindowHasher, WordTable, _rank, _Sorted, near_windows, rank_windows
from monitor.detect.lexicon import is_feature
from monitor.detect.normalise import tokenize, words

# pieces of text that tokenise in every way the byte split has to agree with `\w+`: curly
# quotes and dashes inside and between words, non-ASCII letters and digits, underscores, ASCII
# control characters that str.split() takes for spaces, a lone surrogate, Korean, CJK
# punctuation between words, combining marks, ligatures, a letter whose lower case is longer
PIECES = ["the", "The", "Senate", "vote", "’s", "“Quote”", "—", " – ", "café", "CAFÉ", "naïve",
          "Zürich", "x_y", "__", "2024", "३४", "ª", "º", "½", "ﬁre", "Ａｂｃ", "정부가", "정부는",
          "北京、上海", "Straße", "İstanbul", "ΟΔΟΣ", "e\u0301", "\u00a0", "\u200b", "\x1c", "\x1f",
          "\t", "\n\n", ".", ",", "'", "\"", "(", ")", "-", "/", "\ud800", "a" * 40, "zebra",
          "mitochondria", "Kowalczyk", "x9", "9x", "…", "•", "🙂", "ŉ"]


def random_text(rng: random.Random, n: int) -> str:
    out = []
    for _ in range(n):
        out.append(rng.choice(PIECES))
        out.append(rng.choice([" ", " ", " ", "", "\n", ", ", "—", "’"]))
    return "".join(out)


def reference_encode(hasher: WindowHasher, text: str, max_words: int) -> tuple[np.ndarray, int]:
    ws, _ = words(text, max_words)
    feats = [w for w in ws if is_feature(w)]
    return hasher.perm_hashes_of(feats), len(ws)


@pytest.mark.parametrize("max_words", [3, 25, 20_000])
def test_encode_gives_the_words_and_hashes_of_the_plain_tokeniser(max_words: int) -> None:
    s = DetectSettings()
    hasher = WindowHasher(s.window, s.bands, s.rows, s.post_step)
    rng = random.Random(max_words)
    big, small = WordTable(hasher, is_feature), WordTable(hasher, is_feature, max_words=40)  # small: resets
    for k in range(300):
        t = random_text(rng, rng.randrange(0, 60))
        if k % 7 == 0:
            t = t.replace("İ", "")  # (most texts take the byte split, not the slow way)
        want, n = reference_encode(hasher, t, max_words)
        for table in (big, small):
            got, m = table.encode(t, max_words)
            assert m == n and np.array_equal(got, want), repr(t)
            got, m = table.encode_words(tokenize(t, max_words).words)  # scan()'s way
            assert m == n and np.array_equal(got, want), repr(t)


def test_encode_counts_words_past_pieces_that_hold_none() -> None:
    """A text with more pieces than max_words, some of them without a word (a dash alone)."""
    s = DetectSettings()
    hasher = WindowHasher(s.window, s.bands, s.rows, s.post_step)
    table = WordTable(hasher, is_feature)
    t = " — ".join(["zebra mitochondria"] * 30)
    for max_words in (10, 30, 45, 59, 60, 61):
        want, n = reference_encode(hasher, t, max_words)
        got, m = table.encode(t, max_words)
        assert m == n and np.array_equal(got, want)


def reference_post_keys(hasher: WindowHasher, ph: np.ndarray) -> np.ndarray:
    n, w, step = len(ph), hasher.window, hasher.post_step
    if n == 0:
        return np.zeros(0, dtype=np.uint32)
    if n <= w:
        mins = ph.min(axis=0, keepdims=True)
    else:  # every window of w words starting every `step` words, the last ones shorter blocks
        blocks = [ph[i: i + step].min(axis=0) for i in range(0, n, step)]
        span = w // step
        mins = np.array([np.min(blocks[i: i + span], axis=0) for i in range(len(blocks) - span + 1)])
    mix, salt = hasher._mix, hasher._band_salt
    keys = set()
    for row in mins.astype(object):  # Python integers: the arithmetic mod 2**64 by hand
        for band in range(len(row) // hasher.rows):
            acc = sum(int(row[band * hasher.rows + r]) * int(mix[band, r]) for r in range(hasher.rows))
            acc = (acc + int(salt[band])) % 2**64
            acc ^= acc >> 29
            acc = acc * 0xBF58476D1CE4E5B9 % 2**64
            acc ^= acc >> 32
            keys.add(acc % 2**32)
    return np.array(sorted(keys), dtype=np.uint32)


@pytest.mark.parametrize("rows", [2, 3])
def test_post_keys_are_the_sorted_distinct_keys_of_every_window(rows: int) -> None:
    hasher = WindowHasher(16, 8, rows, 2)
    rng = np.random.default_rng(rows)
    for n in (0, 1, 5, 16, 17, 18, 33, 120):
        # few distinct values: minima repeat in neighbouring windows and across bands
        ph = rng.integers(0, 50, size=(n, 8 * rows)).astype(np.uint32)
        assert np.array_equal(hasher.post_keys(ph), reference_post_keys(hasher, ph))
        ph = rng.integers(0, 2**32, size=(n, 8 * rows), dtype=np.uint64).astype(np.uint32)
        assert np.array_equal(hasher.post_keys(ph), reference_post_keys(hasher, ph))


@pytest.mark.parametrize("spread", ["uniform", "clustered", "one bucket"])
def test_bucket_runs_are_those_of_a_binary_search(spread: str) -> None:
    """The two-level directory gives every key's bucket, also when a block overflows 2 bytes
    (keys crowded into few buckets make the blocks smaller)."""
    rng = np.random.default_rng(7)
    n = 200_000
    if spread == "uniform":
        keys = rng.integers(0, 2**32, size=n, dtype=np.uint64).astype(np.uint32)
    elif spread == "clustered":
        keys = (rng.integers(0, 2**20, size=n) + (3 << 28)).astype(np.uint32)
    else:
        keys = rng.integers(5 << 20, 6 << 20, size=n).astype(np.uint32)
    vals = np.arange(n, dtype=np.uint32)
    part = _Sorted(keys, vals)
    q = np.unique(np.concatenate([keys[:: 97], rng.integers(0, 2**32, size=500, dtype=np.uint64).astype(np.uint32),
                                  np.array([0, 2**32 - 1], dtype=np.uint32)]))
    lo, cnt = part._buckets(q)
    flat = np.sort(keys)
    b = (q >> part.shift).astype(np.uint64)
    first = np.searchsorted(flat, (b << np.uint64(part.shift)).astype(np.uint64))
    end = np.searchsorted(flat, ((b + np.uint64(1)) << np.uint64(part.shift)).astype(np.uint64))
    assert np.array_equal(lo, first) and np.array_equal(cnt, end - first)
    want = sorted(vals[np.isin(keys, q)].tolist())
    assert sorted(part.values(q).tolist()) == want == sorted(part.lookup(q)[0].tolist())


NEAR, SPAN = near_windows(DetectSettings().window), rank_windows(DetectSettings().window)


def reference_rank(vals: list[int], min_hits: int, scattered: int, near: int = NEAR,
                   span: int = SPAN) -> list[tuple[int, int]]:
    by_source: dict[int, list[int]] = {}
    for v in vals:
        by_source.setdefault(v >> 6, []).append(v & 63)
    found = []
    for num, wins in by_source.items():
        wins.sort()
        close = any(abs(a - b) <= near for a in wins for b in wins if a is not b) or \
            any(wins.count(w) > 1 for w in wins)
        if len(wins) >= min_hits and (len(wins) >= scattered or close):
            best = max(sum(1 for x in wins if w <= x < w + span) for w in wins)
            found.append((best, len(wins), num))
    found.sort(key=lambda f: (-f[0], -f[1], f[2]))
    return [(num, count) for _, count, num in found]


def test_rank_is_the_plain_rule() -> None:
    rng = random.Random(11)
    for _ in range(500):
        vals = sorted(rng.randrange(40) << 6 | rng.choice([rng.randrange(64), rng.randrange(4)])
                      for _ in range(rng.randrange(0, 120)))
        for min_hits, scattered in ((4, 5), (1, 1), (2, 3), (3, 2)):
            nums = [v >> 6 for v in vals]
            for near, span in ((NEAR, SPAN), (3, 2), (1, 1)):  # windows of 8; of 16 (signature v7)
                assert _rank(vals, nums, min_hits, scattered, near, span) == \
                    reference_rank(vals, min_hits, scattered, near, span)


def test_hits_with_the_bucket_filter_are_those_of_the_plain_rule() -> None:
    """Many sources, posts with thousands of values (the bucket filter at work), removed and
    replaced sources, and a max_postings under and over the index's cap."""
    rng = np.random.default_rng(3)
    pool = np.unique(rng.integers(0, 2**32, size=70_000, dtype=np.uint64).astype(np.uint32))[:60_000]  # keys are hashes
    entries = {}
    idx = BandIndex(max_postings=12)
    for sid in range(3000):
        k = np.unique(rng.integers(0, len(pool), size=rng.integers(5, 60)))  # numbers of keys in the pool
        w = rng.integers(0, 64, size=len(k)).astype(np.uint8)
        entries[sid] = (k, w)
        idx.add(sid, pool[k], w)
    idx.hits(pool[:10], 12, 4, 5)  # builds
    held = np.bincount(np.concatenate([k for k, _ in entries.values()]), minlength=len(pool))
    for sid in rng.choice(3000, size=200, replace=False).tolist():
        idx.remove(sid)
        del entries[sid]
    live = np.bincount(np.concatenate([k for k, _ in entries.values()]), minlength=len(pool))
    for max_postings in (12, 6, 100):
        for _ in range(10):
            asked = np.unique(rng.integers(0, len(pool), size=4000))
            ok = np.zeros(len(pool), dtype=bool)
            ok[asked] = True
            ok &= (held <= 12) & (live <= max_postings)
            vals = sorted(sid << 6 | int(w) for sid, (k, ws) in entries.items() for key, w in zip(k, ws) if ok[key])
            assert len(vals) > 256  # the bucket filter runs
            q = np.sort(pool[asked])
            for min_hits, scattered in ((4, 5), (2, 2), (6, 5)):
                assert idx.hits(q, max_postings, min_hits, scattered) == reference_rank(vals, min_hits, scattered)


def test_encode_lower_cases_piece_by_piece_like_the_whole_text() -> None:
    """A final sigma is the one lower case that depends on the next letter, which may lie
    across an ASCII non-word character (another piece): ς or σ, both fold to σ, one row."""
    s = DetectSettings()
    hasher = WindowHasher(s.window, s.bands, s.rows, s.post_step)
    table = WordTable(hasher, is_feature)
    for t in ("ΟΔΟΣ.ΑΒΓ ΟΔΟΣ'Α ΟΔΟΣ:Α ΟΔΟΣ Α", "ΟΔΟΣ ΟΔΟΣ.ΑΒΓ", "İstanbul ΟΔΟΣ.Α", "Σ.Σ'Σ ΣΣ"):
        want, n = reference_encode(hasher, t, 100)
        got, m = table.encode(t, 100)
        assert m == n and np.array_equal(got, want)
