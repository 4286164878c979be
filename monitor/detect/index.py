"""Windowed MinHash signatures and a compact banded-LSH index over them.

Why windows: a partial copy reuses a third of a source inside a longer post, so a
whole-document MinHash of the post is diluted by the unrelated text. The source is cut into
consecutive windows of `window` content words; the post into windows of the same size
every `post_step` (2) content words, so every source window has a post window overlapping at
least 90% of it, and the neighbouring post windows give it several more draws of the
min-hashes (a spun window that misses in one band often hits in the next window's).

Why content words only: function words are shared by every English text and are what a
spinner leaves alone; names, numbers and rare words also survive, and the set of a window's
content words keeps a Jaccard similarity of about (1 - r) / (1 + r) when a share r of them is
replaced (0.33 at r = 0.5), while two unrelated texts' windows share almost none.

Immutables (DSpin, NDSS 2014): content words outside the thesaurus a spinner draws on are
weighted ×3 (see IMMUTABLE_WEIGHT).

The MinHash is computed here rather than with datasketch.MinHash so that one numpy pass
hashes all the windows of a text at once; it is the classic scheme: each word is hashed to
32 bits with CRC-32 (stable across processes and platforms, unlike `hash()`), and each of
`bands * rows` permutations is a multiply-shift hash of that value with fixed constants
(seeded numpy generator). Constants, window, bands and rows are part of the signature
format: change any of them and bump SIGNATURE_VERSION, so stored signatures are re-made.

Index layout: one sorted uint64 array of band keys << 32 | internal source number << 6 |
window number: 8 bytes per key, plus a two-level bucket directory over the keys' top bits for
lookups; rebuild from stored signatures is one concatenate, one uint64 sort and
one pass dropping stop keys (keys held by more than `max_postings` sources: no evidence, and
long posting lists are what a lookup would otherwise gather). Sources added after a build go
to a small delta that is merged when it reaches an eighth of the main arrays. Removal is a
mask, and so is re-adding a source under its id (an edited source: the new keys replace the
old); masked entries never count towards a key's postings and are dropped whenever the arrays
they lie in are rebuilt.
"""

from __future__ import annotations

import struct
import sys
import threading
import zlib
from bisect import bisect_left
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from monitor.detect.lexicon import is_immutable
from monitor.detect.normalise import _WORD as _WORD_RE
from monitor.detect.normalise import _fold, words

# An immutable (a word outside the spinner's thesaurus: name, number, inflected form) is
# counted as this many set elements, so a window's MinHash is drawn mostly from the words a
# spinner cannot touch: the Jaccard of a spun window rises from (1-r)/(1+r) towards 1 as
# immutables dominate, and unrelated windows gain nothing (they share no names).
IMMUTABLE_WEIGHT = 3

# Two hits at most this many fingerprint words apart in the source (≈ 150 words of text: a
# few paragraphs, a third of a short article) can come from one copied passage; chance
# collisions fall anywhere in the source. In windows: `near_windows(window)`.
NEAR_WORDS = 48
# Candidates are ranked by their most hits within this many fingerprint words of the source
# (≈ 100 words: what one copied paragraph gives), then by all hits: `rank_windows(window)`.
RANK_WORDS = 32


def near_windows(window: int) -> int:
    return max(1, NEAR_WORDS // window)


def rank_windows(window: int) -> int:
    return max(1, RANK_WORDS // window)


SIGNATURE_VERSION = 8  # 8: windows of 8 words, 6 bands a window at least; 7: 12 bands a window at least; 6: bands of 2 min-hashes; 5: key budget per source; common words out, immutables ×3
_HEADER = struct.Struct("<BBBHII")  # version, bands, rows, window, n_words, n_keys


class WindowHasher:
    """Band keys (uint32) of the windows of a sequence of content words."""

    def __init__(self, window: int, bands: int, rows: int, post_step: int = 2, seed: int = 20140218) -> None:
        self.window, self.bands, self.rows, self.post_step = window, bands, rows, post_step
        rng = np.random.default_rng(seed)
        k = bands * rows
        self._a = rng.integers(1, 2**63, size=k, dtype=np.uint64) | np.uint64(1)  # odd
        self._b = rng.integers(0, 2**63, size=k, dtype=np.uint64)
        self._mix = rng.integers(1, 2**63, size=(bands, rows), dtype=np.uint64) | np.uint64(1)
        self._band_salt = rng.integers(0, 2**63, size=bands, dtype=np.uint64)
        self._mix_rows = [np.ascontiguousarray(self._mix[:, r]) for r in range(rows)]

    def perm_hashes_of(self, words: Sequence[str]) -> np.ndarray:
        """(n_words, bands*rows) uint32: each word's permuted 32-bit hashes (multiply-shift
        of its CRC-32 on uint64), the minimum over its weighted copies. An immutable word
        stands for IMMUTABLE_WEIGHT distinct set elements, any other word for one."""
        n, k = len(words), self.bands * self.rows
        out = np.empty((n, k), dtype=np.uint32)
        if not n:
            return out
        enc = [w.encode("utf-8", "surrogatepass") for w in words]
        x = np.fromiter((zlib.crc32(b) for b in enc), dtype=np.uint64, count=n)
        with np.errstate(over="ignore"):
            out[:] = (x[:, None] * self._a[None, :] + self._b[None, :]) >> np.uint64(32)
            imm = [i for i, w in enumerate(words) if is_immutable(w)]
            for c in range(1, IMMUTABLE_WEIGHT):
                if not imm:
                    break
                y = np.fromiter((zlib.crc32(enc[i], c) for i in imm), dtype=np.uint64, count=len(imm))
                extra = ((y[:, None] * self._a[None, :] + self._b[None, :]) >> np.uint64(32)).astype(np.uint32)
                out[imm] = np.minimum(out[imm], extra)
        return out

    def _band_keys(self, mins: np.ndarray) -> np.ndarray:
        """(n_windows, b*rows) minima → (n_windows, b) uint32 keys of the first b bands."""
        b = mins.shape[1] // self.rows
        m = mins.reshape(len(mins), b, self.rows)
        # Σ_r m·mix (mod 2^64) one row at a time, each product made in uint64 by the multiply
        # itself (no separate widening copy): the same sums as one uint64 reduction over a
        # (windows, bands, rows) product, 3x faster
        with np.errstate(over="ignore"):
            acc = np.multiply(m[:, :, 0], self._mix_rows[0][:b], dtype=np.uint64)
            term = np.empty_like(acc)
            for r in range(1, self.rows):
                np.multiply(m[:, :, r], self._mix_rows[r][:b], out=term, dtype=np.uint64)
                acc += term
            acc += self._band_salt[:b]
            np.right_shift(acc, np.uint64(29), out=term)
            acc ^= term
            acc *= np.uint64(0xBF58476D1CE4E5B9)
        # the low 32 bits of acc ^ (acc >> 32): the XOR of its two 32-bit halves (either order)
        halves = acc.view(np.uint32)
        return halves[:, 0::2] ^ halves[:, 1::2]

    def source_keys(self, ph: np.ndarray, budget: int, min_bands: int) -> tuple[np.ndarray, np.ndarray]:
        """Keys of consecutive windows (the last one aligned to the end of the text), from
        the (n_words, ≥ bands*rows) permuted hashes of the source's fingerprint words.

        Every source gets about `budget` keys: a short source spends them on more bands per
        window (up to all `bands`), a long one has `min_bands` per window. Chance collisions
        grow with the keys a source holds, so this keeps them alike for every source while a
        partial copy of a short source (one or two windows) still gets enough draws."""
        n, w = len(ph), self.window
        if n == 0:
            return np.zeros(0, dtype=np.uint32), np.zeros(0, dtype=np.uint8)
        full = max(1, n // w) if n >= w else 0
        n_win = max(1, full + (full * w < n and n >= w))
        per = max(min_bands, min(self.bands, budget // n_win))
        ph = ph[:, : per * self.rows]
        if n <= w:
            mins = ph.min(axis=0, keepdims=True)
        else:
            mins = ph[: full * w].reshape(full, w, ph.shape[1]).min(axis=1)
            if full * w < n:  # the last window ends where the text ends
                mins = np.vstack([mins, ph[n - w :].min(axis=0, keepdims=True)])
        keys = self._band_keys(mins)
        wins = np.repeat(np.arange(len(mins)) % 64, per).astype(np.uint8)
        keys, first = np.unique(keys.ravel(), return_index=True)
        return keys, wins[first]

    def post_keys(self, ph: np.ndarray) -> np.ndarray:
        """Distinct keys of windows starting every `post_step` words, from the post's
        (n_words, bands*rows) permuted hashes: minima of blocks of `post_step` words, then
        sliding minima over window // post_step blocks by doubling (log2 passes)."""
        n, w = len(ph), self.window
        if n == 0:
            return np.zeros(0, dtype=np.uint32)
        step = max(1, min(self.post_step, w))
        if n <= w:
            mins = ph.min(axis=0, keepdims=True)
        else:
            if step == 1:
                blocks = ph
            else:
                # minima of rows k, k + step, ... side by side (the last block may be shorter:
                # it takes the rows it has)
                blocks = ph[0::step].copy()
                for r in range(1, step):
                    part = ph[r::step]
                    np.minimum(blocks[: len(part)], part, out=blocks[: len(part)])
            mins = _sliding_min(blocks, w // step)
        keys = self._band_keys(mins)
        if len(keys) > 1:
            # A band's minima stay the same over most neighbouring post windows (the words
            # holding them stay inside): only a key that differs from the one above it in its
            # band is kept for the sort, which is then ~2.5x shorter (the sort is most of the cost)
            flat, width = keys.ravel(), keys.shape[1]
            new = np.empty(len(flat), dtype=bool)
            new[:width] = True
            np.not_equal(flat[width:], flat[:-width], out=new[width:])
            return _unique(np.compress(new, flat))
        return _unique(keys.ravel())


def _sliding_min(a: np.ndarray, span: int) -> np.ndarray:
    """Row-wise minima of every run of `span` consecutive rows (all rows if fewer)."""
    if len(a) <= span:
        return a.min(axis=0, keepdims=True)
    m, width = a, 1
    while 2 * width <= span:  # m[i] = min of rows i .. i + width - 1
        m = np.minimum(m[:-width], m[width:])
        width *= 2
    if width < span:
        m = np.minimum(m[: len(m) - (span - width)], m[span - width :])
    return m


class WordTable:
    """Token → fingerprint-word number, and each number's permuted hashes, computed once.

    The hot path of `candidates()` used to spend most of its time in per-word Python work
    (fold, stopword and lexicon tests, CRC-32, building tuples). Here one dict lookup per
    token of the text (as `\\w+` finds it in the lower-cased text; `encode`: per piece of the
    text between ASCII non-word characters) gives nothing for a word that is not a
    fingerprint word, or a row number into `perm` (as bytes, joined): the (bands × rows)
    permuted hashes of the word, already the minimum over an immutable's weighted copies. A
    post's hashes are then one gather. Same words, same hashes as `normalise.words` +
    `lexicon.is_feature` + `WindowHasher.perm_hashes_of` word by word: it changes no fingerprint.

    Memory: 4 bytes × bands × rows (256 by default) a distinct fingerprint word; at `max_words`
    distinct words (or 4 × `max_words` tokens and pieces known) the table starts again empty
    (one slow post), so it stays under ~17 MB plus its dicts.
    """

    def __init__(self, hasher: WindowHasher, is_feature: Callable[[str], bool], max_words: int = 1 << 16) -> None:
        self._hasher = hasher
        self._is_feature = is_feature
        self._max = max_words
        self._lock = threading.Lock()  # the table grows and resets: one text at a time
        self._reset()

    def _reset(self) -> None:
        # token as found → its row as 8 bytes (native int64), b"" if it is not a fingerprint
        # word: a text's rows are then one bytes join (no per-token int objects to convert, no
        # filtering of non-words)
        self.codes: dict[str, bytes] = {}
        self._rows: dict[str, bytes] = {}  # folded word → row as 8 bytes
        # `encode`: a run of the UTF-8 text between ASCII non-word bytes → the codes of its
        # words (often one, none for a dash, several where non-ASCII punctuation joins them),
        # a word that is not a fingerprint word as -1 (so that every word is counted)
        self._chunks: dict[bytes, Any] = {}  # bytes, or None: its lower case is longer (the slow way)
        self.perm = np.zeros((256, self._hasher.bands * self._hasher.rows), dtype=np.uint32)
        self.n = 0

    def _learn(self, tokens) -> None:
        new: list[str] = []
        for t in tokens:
            if t in self.codes:
                continue
            w = t if t.isascii() else _fold(t)
            if not self._is_feature(w):
                self.codes[t] = b""
                continue
            row = self._rows.get(w)
            if row is None:
                row = self._rows[w] = (self.n + len(new)).to_bytes(8, sys.byteorder, signed=True)
                new.append(w)
            self.codes[t] = row
        if not new:
            return
        need = self.n + len(new)
        if need > len(self.perm):
            grown = np.zeros((max(need, 2 * len(self.perm)), self.perm.shape[1]), dtype=np.uint32)
            grown[: self.n] = self.perm[: self.n]
            self.perm = grown
        self.perm[self.n : need] = self._hasher.perm_hashes_of(new)
        self.n = need

    def encode(self, text: str, max_words: int) -> tuple[np.ndarray, int]:
        """((n, bands*rows) permuted hashes of the fingerprint words of `text` in text
        order, number of words kept).

        The words are those `\\w+` finds in the lower-cased text, but neither the regex nor
        `str.lower` runs on the text (they were most of the cost): its UTF-8 bytes, ASCII
        letters lower-cased and other ASCII non-word bytes made spaces in one `translate`, are
        split by `bytes.split` (in C), and each piece (a word, or words joined by non-ASCII
        punctuation: a curly quote, a dash) is looked up whole; a piece never seen before is
        decoded, lower-cased and split by the regex once. Lower-casing piece by piece gives the
        text's words: no lower case depends on what lies across an ASCII non-word character
        but a final sigma's (ς or σ), and both fold to σ, one row. A piece holding a letter
        whose lower case is longer ("İ") sends the whole text the slow way, as before."""
        chunks = text.encode("utf-8", "surrogatepass").translate(_LOWER_SPACES).split()
        if len(chunks) > max_words:  # (a piece may hold no word): count them the plain way
            return self._encode_plain(text, max_words)
        with self._lock:
            try:
                codes = b"".join(map(self._chunks.__getitem__, chunks))
            except KeyError:  # a piece not seen yet
                if self.n + len(chunks) > self._max or len(self.codes) + len(self._chunks) > 4 * self._max:
                    self._reset()
                self._learn_chunks(chunks)
                try:
                    codes = b"".join(map(self._chunks.__getitem__, chunks))
                except TypeError:
                    codes = None
            except TypeError:  # a piece whose lower case is longer (None)
                codes = None
            if codes is not None:
                rows = np.frombuffer(codes, dtype=np.int64)
                if len(rows) > max_words:
                    rows = rows[:max_words]
                return self.perm.take(np.compress(rows >= 0, rows), axis=0), len(rows)
        return self._encode_plain(text, max_words)

    def _encode_plain(self, text: str, max_words: int) -> tuple[np.ndarray, int]:
        """`encode` by the regex over the lower-cased text (`normalise.words`' tokens)."""
        low = text.lower()
        if len(low) != len(text):  # a letter whose lower case is longer: tokenise the slow way
            toks, _ = words(text, max_words)
            return self.encode_words(toks)
        return self.encode_words(_WORD_RE.findall(low)[:max_words])

    def _learn_chunks(self, chunks: list[bytes]) -> None:
        new: dict[bytes, list[str] | None] = {}
        for c in chunks:
            if c not in self._chunks and c not in new:
                piece = c.decode("utf-8", "surrogatepass")
                low = piece.lower()
                new[c] = _WORD_RE.findall(low) if len(low) == len(piece) else None
        self._learn([t for toks in new.values() if toks for t in toks])
        for c, toks in new.items():
            self._chunks[c] = None if toks is None else b"".join([self.codes[t] or _NOT_A_ROW for t in toks])

    def encode_words(self, toks: list[str]) -> tuple[np.ndarray, int]:
        """The same from the text's words already split (`normalise.tokenize`: lower-cased,
        folded; a folded word has the row of the word it was folded from)."""
        with self._lock:
            try:
                rows = b"".join(map(self.codes.__getitem__, toks))
            except KeyError:  # a token not seen yet
                if self.n + len(toks) > self._max or len(self.codes) > 4 * self._max:
                    self._reset()
                self._learn(toks)
                rows = b"".join(map(self.codes.__getitem__, toks))
            return self.perm.take(np.frombuffer(rows, dtype=np.int64), axis=0), len(toks)


# ASCII capitals to lower case, the other bytes of `\w` in ASCII kept, every other ASCII byte
# a space; bytes ≥ 0x80 (parts of non-ASCII letters and punctuation alike) kept
_LOWER_SPACES = bytes(c + 32 if 0x41 <= c <= 0x5A else c if c >= 0x80 or _WORD_RE.fullmatch(chr(c)) else 0x20
                      for c in range(256))
_NOT_A_ROW = (-1).to_bytes(8, sys.byteorder, signed=True)


def _unique(a: np.ndarray) -> np.ndarray:
    """Sorted distinct values (np.unique's hash path is slow for a few thousand uint32)."""
    a = np.sort(a)
    if len(a) < 2:
        return a
    keep = np.empty(len(a), dtype=bool)
    keep[0] = True
    np.not_equal(a[1:], a[:-1], out=keep[1:])
    return np.compress(keep, a)  # (faster than a[keep] on this numpy)


def pack_signature(hasher: WindowHasher, n_words: int, keys: np.ndarray, wins: np.ndarray) -> bytes:
    """Header, then the uint32 keys (little-endian), then one byte per key: its window."""
    head = _HEADER.pack(SIGNATURE_VERSION, hasher.bands, hasher.rows, hasher.window,
                        min(n_words, 2**32 - 1), len(keys))
    return head + keys.astype("<u4").tobytes() + wins.astype(np.uint8).tobytes()


class SignatureError(ValueError):
    """The stored signature was made by another format version or other parameters."""


def _header(hasher: WindowHasher, sig: bytes) -> tuple[int, int]:
    """(words fingerprinted, number of keys) of a signature this detector can read;
    SignatureError (re-fingerprint) otherwise."""
    if len(sig) < _HEADER.size:
        raise SignatureError("signature too short")
    version, bands, rows, window, n_words, n_keys = _HEADER.unpack_from(sig)
    if version != SIGNATURE_VERSION or (bands, rows, window) != (hasher.bands, hasher.rows, hasher.window):
        raise SignatureError(f"signature v{version} {bands}x{rows}/{window} does not match this detector; re-fingerprint")
    if len(sig) != _HEADER.size + 5 * n_keys:
        raise SignatureError("signature truncated or corrupt; re-fingerprint")
    return n_words, n_keys


def signature_parts(hasher: WindowHasher, sig: bytes) -> tuple[int, bytes, bytes]:
    """(number of keys, the keys' bytes, the windows' bytes) without numpy: an index rebuilt
    from 100,000 signatures parses them all at once (two numpy arrays per signature cost more
    than the rest of the rebuild's per-source work). Byte strings, not views: the garbage
    collector does not track them, so 100,000 waiting sources do not slow its passes.
    SignatureError if it must be re-made."""
    _, n_keys = _header(hasher, sig)
    cut = _HEADER.size + 4 * n_keys
    return n_keys, bytes(sig[_HEADER.size: cut]), bytes(sig[cut:])


def unpack_signature(hasher: WindowHasher, sig: bytes) -> tuple[int, np.ndarray, np.ndarray]:
    """(words fingerprinted, band keys, their windows); SignatureError if it must be re-made."""
    n_words, n_keys = _header(hasher, sig)
    keys = np.frombuffer(sig, dtype="<u4", count=n_keys, offset=_HEADER.size)
    wins = np.frombuffer(sig, dtype=np.uint8, count=n_keys, offset=_HEADER.size + 4 * n_keys)
    return n_words, keys.astype(np.uint32, copy=False), wins


class _Sorted:
    """Keys sorted, their values alongside, and a bucket directory over the keys' top bits
    (about 2 keys a bucket): a lookup reads one directory entry and one short run of keys,
    instead of a 24-step binary search through tens of megabytes (cache misses).

    Stop keys: the entries of a key held more than `cap` times are dropped when the arrays are
    built and the key is remembered in `stop` (sorted): a lookup never skips over or gathers
    long posting lists, and they cost no memory. Keys in `stop_before` (those a part built
    earlier dropped) are dropped too."""

    def __init__(self, keys: np.ndarray, vals: np.ndarray, cap: int = 2**31,
                 stop_before: np.ndarray | None = None, packed: np.ndarray | None = None) -> None:
        # One uint64 sort of (key << 32 | value) is several times faster than argsort + gathers;
        # built and split in place, temporaries kept few and small: at 100,000 sources each is
        # 20-170 MB, and on a fresh process most of a rebuild's time is the memory's first touch.
        # `packed` (taken over, sorted in place): the (key << 32 | value) array, built by the caller.
        if packed is None:
            packed = keys.astype(np.uint64)
            packed <<= np.uint64(32)
            packed |= vals
        packed.sort()
        hi = packed.view(np.uint32)[_HI::2]  # the keys (a view)
        stop = _EMPTY if stop_before is None else stop_before
        self.cap = cap  # no key holds more entries than this (the others are stop keys)
        n = len(hi)
        drop = np.zeros(n, dtype=bool)
        if cap < n:
            # A key held more than `cap` times equals, in sorted order, the entry `cap` places
            # on; the entries from there to `cap` places on are all that key's: one comparison
            # and one running sum mark every entry of a stop key, with no per-key run lengths.
            same = hi[cap:] == hi[: n - cap]
            if same.any():
                depth = np.int8 if cap < 127 else np.int32  # ≤ cap + 1 spans overlap
                mark = np.zeros(n + 1, dtype=depth)  # +1 opens a span, -1 closes it
                mark[: n - cap] = same
                np.subtract(mark[cap + 1:], same, out=mark[cap + 1:])
                np.cumsum(mark, out=mark)
                drop = np.greater(mark[:n], 0)
                del mark
                new = hi[: n - cap][same]
                stop = np.union1d(stop, new[np.concatenate(([True], new[1:] != new[:-1]))]).astype(np.uint32)
            del same
        if stop_before is not None and len(stop_before) and n:  # keys an earlier build dropped
            # each key's entries, found in the packed array itself: (key << 32) .. (key << 32 | 2**32 - 1)
            first = stop_before.astype(np.uint64) << np.uint64(32)
            start = np.searchsorted(packed, first, "left")
            end = np.searchsorted(packed, first | np.uint64(0xFFFFFFFF), "right")
            found = end > start
            if found.any():
                edges = np.zeros(n + 1, dtype=np.int8)
                edges[start[found]] += 1  # distinct keys: distinct bounds
                edges[end[found]] -= 1
                drop |= np.cumsum(edges[:n], dtype=np.int8) > 0
        if drop.any():
            packed = packed[~drop]
        del hi, drop
        # Keys and values stay interleaved, (key << 32 | value) as sorted: no copies at a build,
        # and a lookup finds an entry's value in the cache line its key was read from
        self.packed, self.stop = packed, stop
        halves = packed.view(np.uint32)
        self.keys, self.vals = halves[_HI::2], halves[1 - _HI::2]  # views
        keys = self.keys
        bits = max(1, min(25, int(np.ceil(np.log2(max(2, len(keys) / _KEYS_PER_BUCKET))))))
        self.shift = np.uint32(32 - bits)
        # The first key of bucket b (top bits ≥ b; keys are sorted) is base[b >> block] + dir[b]:
        # dir holds 2 bytes a bucket (the keys of the buckets before b in its block of 2**block
        # buckets), base 8 bytes a block. Twice the buckets of one 4-byte directory in the same
        # memory: a lookup gathers half as many keys.
        nb = 1 << bits
        per = len(keys) / nb
        block = bits if not per else max(0, min(bits, int(np.log2(32768 / per))))  # ≤ 32,768 keys a block
        while True:  # (a block holds < 2**16 keys: dir entries fit 2 bytes)
            starts = np.arange(nb >> block, dtype=np.uint32) << np.uint32(32 - bits + block)
            base = np.empty(len(starts) + 1, dtype=np.int64)
            base[:-1] = np.searchsorted(self.packed, starts.astype(np.uint64) << np.uint64(32))
            base[-1] = len(keys)
            if not block or int(np.diff(base).max()) < 2**16:
                break
            block -= 1
        self.block, self.base = np.uint32(block), base
        self.dir = np.zeros(nb + 1, dtype=np.uint16)  # dir[nb] = 0: base[-1] is every key
        # block by block: the temporaries are a block's (in cache), not the whole index's
        width = 1 << block
        for c in np.flatnonzero(base[1:] > base[:-1]).tolist():
            top = keys[base[c]: base[c + 1]] >> self.shift
            top -= np.uint32(c << block)
            per_bucket = np.bincount(top, minlength=width)
            np.cumsum(per_bucket[:-1], dtype=np.uint16, out=self.dir[c * width + 1: (c + 1) * width])

    def __len__(self) -> int:
        return len(self.keys)

    @property
    def nbytes(self) -> int:
        return self.packed.nbytes + self.dir.nbytes + self.base.nbytes + self.stop.nbytes

    def _buckets(self, q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(first entry, number of entries) of each query key's bucket (int64)."""
        b = q >> self.shift
        lo = self.base.take(b >> self.block)  # (take: 2x faster than [] with these indices)
        lo += self.dir.take(b)
        b += 1
        cnt = self.base.take(b >> self.block)
        cnt += self.dir.take(b)
        cnt -= lo
        return lo, cnt

    def lookup(self, q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(values, query number) of all entries whose key is in `q` (unique)."""
        lo, cnt = self._buckets(q)
        total = int(cnt.sum())
        if not total:
            return _EMPTY, np.zeros(0, dtype=np.int64)
        qi = np.repeat(np.arange(len(q)), cnt)
        idx = np.repeat(lo - np.cumsum(cnt) + cnt, cnt) + np.arange(total)
        found = self.packed[idx].view(np.uint32)
        hit = found[_HI::2] == q[qi]
        return found[1 - _HI::2][hit], qi[hit]

    def values(self, q: np.ndarray) -> np.ndarray:
        """The values of `lookup(q)` alone, with fewer passes: the bucket's keys are compared
        with the query repeated (no query numbers made, gathered or kept)."""
        lo, cnt = self._buckets(q)
        total = int(cnt.sum())
        if not total:
            return _EMPTY
        # entry k of the run of query i: lo[i] + k, as one repeat and one running count
        lo += cnt
        lo -= np.cumsum(cnt)
        idx = np.repeat(lo, cnt)
        idx += np.arange(total)
        found = self.packed[idx].view(np.uint32)  # keys and values, one gather
        return np.compress(found[_HI::2] == np.repeat(q, cnt), found[1 - _HI::2])


_EMPTY = np.zeros(0, dtype=np.uint32)
_LITTLE = sys.byteorder == "little"
_HI = 1 if _LITTLE else 0  # the uint32 half of a uint64 that holds its high bits

# Directory size: about this many keys a bucket (at most twice as many: the bucket count is a
# power of two). A lookup gathers a whole bucket, so fewer keys a bucket is a faster lookup;
# 2 costs 1-2 bytes a key of directory (2 bytes a bucket), inside the 1.5 KB a source with the
# 8 bytes a key.
_KEYS_PER_BUCKET = 2


def _member(a: np.ndarray, sorted_set: np.ndarray) -> np.ndarray:
    """a[i] in sorted_set, for each i."""
    if not len(sorted_set):
        return np.zeros(len(a), dtype=bool)
    pos = np.minimum(np.searchsorted(sorted_set, a), len(sorted_set) - 1)
    return sorted_set[pos] == a


class BandIndex:
    """source id → band keys, searchable by key. Memory: 8 bytes per stored key (the key and
    `internal source number << 6 | window number mod 64`) plus a directory of 1-2 bytes a key."""

    def __init__(self, max_postings: int = 2**31, window: int = 8) -> None:
        self._cap = max_postings  # keys held more often are stop keys (dropped at build)
        self._near, self._span = near_windows(window), rank_windows(window)  # NEAR_WORDS, RANK_WORDS
        self._ids: list[int] = []  # internal number → source id
        self._num: dict[int, int] = {}  # source id → internal number (live ones)
        self._alive = np.zeros(0, dtype=bool)
        self._holes = False  # the arrays may hold entries of removed or replaced sources
        self._main = _Sorted(np.zeros(0, dtype=np.uint32), np.zeros(0, dtype=np.uint32))
        self._delta = self._main
        self._pending: list[tuple[int, int, bytes, bytes]] = []  # num, n keys, keys, windows

    def __len__(self) -> int:
        return len(self._num)

    def add(self, source_id: int, keys: np.ndarray, wins: np.ndarray) -> None:
        self.add_bytes(source_id, len(keys), keys.astype("<u4").tobytes(), wins.astype(np.uint8).tobytes())

    def add_bytes(self, source_id: int, n: int, keys: bytes, wins: bytes) -> None:
        """`add` with the n keys as little-endian uint32 bytes and their windows as bytes."""
        self.remove(source_id)
        num = len(self._ids)
        if num >= 2**26:
            raise OverflowError("more than 67 million sources added to one index")
        self._ids.append(source_id)
        self._num[source_id] = num
        self._pending.append((num, n, keys, wins))

    def remove(self, source_id: int) -> None:
        num = self._num.pop(source_id, None)
        if num is None:
            return
        if num < len(self._alive):
            self._alive[num] = False
            self._holes = True
        else:  # not flushed yet
            self._pending = [e for e in self._pending if e[0] != num]

    def nbytes(self) -> int:
        self._flush()
        return self._main.nbytes + self._delta.nbytes + self._alive.nbytes

    def _flush(self) -> None:
        if not self._pending:
            return
        alive = np.zeros(len(self._ids), dtype=bool)
        alive[: len(self._alive)] = self._alive
        nums = np.fromiter((e[0] for e in self._pending), dtype=np.uint32, count=len(self._pending))
        alive[nums] = True
        self._alive = alive
        lengths = np.fromiter((e[1] for e in self._pending), dtype=np.int64, count=len(self._pending))
        new_keys = np.frombuffer(b"".join([e[2] for e in self._pending]), dtype="<u4").astype(np.uint32, copy=False)
        new_wins = np.frombuffer(b"".join([e[3] for e in self._pending]), dtype=np.uint8)
        stop = np.union1d(self._main.stop, self._delta.stop).astype(np.uint32)
        if not len(self._main) and not len(self._delta) and _LITTLE and self._alive.all():
            # The first build (a restart): (key << 32 | value) written straight into one
            # uint64 array, its halves seen as two uint32 columns: no separate key and value
            # arrays of the whole index.
            packed = np.empty(int(lengths.sum()), dtype=np.uint64)
            halves = packed.view(np.uint32).reshape(-1, 2)
            halves[:, 1] = new_keys
            halves[:, 0] = np.repeat(nums << np.uint32(6), lengths)
            halves[:, 0] |= new_wins
            self._pending = []
            self._main = _Sorted(_EMPTY, _EMPTY, self._cap, stop, packed=packed)
            return
        keys = np.concatenate([new_keys, self._delta.keys])
        vals = np.repeat(nums, lengths)
        vals <<= np.uint32(6)
        vals |= new_wins
        if len(self._delta.vals):
            vals = np.concatenate([vals, self._delta.vals])
        self._pending = []
        keys, vals = self._live(keys, vals)
        if len(keys) * 8 >= len(self._main):  # delta grew big: one sorted array again
            main_keys, main_vals = self._live(self._main.keys, self._main.vals)
            self._main = _Sorted(np.concatenate([main_keys, keys]), np.concatenate([main_vals, vals]),
                                 self._cap, stop)
            self._delta = _Sorted(_EMPTY, _EMPTY)
            self._holes = False  # both parts built from live entries only
        else:
            self._delta = _Sorted(keys, vals, self._cap, stop)

    def _live(self, keys: np.ndarray, vals: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The entries of sources still in the index: those of a removed source, or of one
        re-added since (replaced), are dropped before arrays are built, so they neither take
        memory for ever nor count towards stop keys."""
        if self._alive.all():  # nothing removed or replaced (a rebuild after a restart)
            return keys, vals
        live = self._alive[vals >> np.uint32(6)]
        return (keys, vals) if live.all() else (keys[live], vals[live])

    def hits(self, keys: np.ndarray, max_postings: int, min_hits: int,
             min_scattered: int | None = None) -> list[tuple[int, int]]:
        """[(source id, number of keys shared)] best first (most keys in `span` consecutive
        windows, then most keys), for the sources that share at least
        `min_hits` keys of which two come from windows at most `near` apart in the source,
        or `min_scattered` (default min_hits + 1) keys anywhere. A copied passage hits neighbouring windows; chance
        collisions are scattered over the source. A key held by more than `max_postings`
        sources says nothing about any of them and is skipped."""
        self._flush()
        if not len(keys) or not self._num:
            return []
        keys = keys.astype(np.uint32, copy=False)
        # Neither part holds entries of its own stop keys, and the delta is built knowing the
        # main part's (its list holds both): only keys that became stop keys in the delta can
        # still have entries, in the main part.
        if len(self._delta.stop) > len(self._main.stop):
            keys = keys[~_member(keys, self._delta.stop)]
        parts = [part for part in (self._main, self._delta) if len(part)]
        if not parts:
            return []
        if len(parts) == 1 and parts[0].cap <= max_postings:
            # no key of one part holds more than its cap entries: none is over max_postings
            vals = parts[0].values(keys)
            if self._holes:
                vals = np.compress(self._alive[vals >> np.uint32(6)], vals)
        else:
            found = [part.lookup(keys) for part in parts]
            vals, qi = found[0] if len(found) == 1 else (np.concatenate([f[0] for f in found]),
                                                          np.concatenate([f[1] for f in found]))
            if not len(vals):
                return []
            live = self._alive[vals >> np.uint32(6)]  # removed or replaced sources hold no postings
            vals, qi = vals[live], qi[live]
            per_key = np.bincount(qi, minlength=len(keys))  # postings of each key, both parts
            vals = vals[per_key[qi] <= max_postings]
        if len(vals) > 256:
            # Most sources hold one or two of the post's keys. Counted by source number modulo
            # a power of two (≥ 4 buckets a value), a source with min_hits values lies in a
            # bucket with at least as many: the values of the other buckets are dropped before
            # the sort (the same result: they could never pass), ~100x fewer of them.
            mask = np.uint32((1 << max(8, (4 * len(vals) - 1).bit_length())) - 1)
            bucket = vals >> np.uint32(6)
            bucket &= mask
            per = np.bincount(bucket, minlength=int(mask) + 1)
            vals = np.compress(per.take(bucket) >= min_hits, vals)
        if not len(vals):
            return []
        vals = np.sort(vals)
        scattered = min_hits + 1 if min_scattered is None else min_scattered
        ranked = _rank(vals.tolist(), (vals >> np.uint32(6)).tolist(), min_hits, scattered, self._near, self._span)
        return [(self._ids[num], count) for num, count in ranked]


def _rank(vals: list[int], nums: list[int], min_hits: int, scattered: int, near: int,
          span: int) -> list[tuple[int, int]]:
    """[(source number, values)] of the sources with at least `min_hits` of the sorted
    `source number << 6 | window` values (`nums`: their source numbers), two of them from
    windows at most `near` apart, or at least `scattered` anywhere; best first: the most
    values in `span` consecutive windows, then the most values, then the source number.

    In Python: after the bucket filter a post has a few dozen values left, and most of them
    belong to sources with fewer than min_hits (the bucket's other sources): a `Counter`
    (one C pass) drops those, and the few left cost less word by word than the numpy passes
    would (a dozen calls of a microsecond or more, each on a handful of values)."""
    per = Counter(nums)
    found = []
    for num, count in per.items():  # first seen first: by source number
        if count < min_hits:
            continue
        i = bisect_left(nums, num)
        wins = [v & 63 for v in vals[i: i + count]]  # sorted
        close = count >= scattered or any(b - a <= near for a, b in zip(wins, wins[1:]))
        if not close:
            continue
        # Rank by the most hits in a paragraph's worth of source windows (what one copied
        # paragraph gives), then by all hits: a long post's chance hits are spread over many
        # windows and must not push a lifted paragraph's source past the cap.
        best = max(bisect_left(wins, w + span, k) - k for k, w in enumerate(wins))
        found.append((-best, -count, num))
    found.sort()  # (the source numbers are distinct: the order of equal ranks is theirs)
    return [(num, -neg) for _, neg, num in found]
