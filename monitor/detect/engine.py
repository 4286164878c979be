"""First detector: rare-word candidates, difflib alignment of normalised tokens.

It finds whole-article copies and the seed pair; the spin-robust engine replaces the inside
of `Detector` without changing its interface.
"""

from __future__ import annotations

import difflib
import json
import re
import unicodedata
import zlib
from collections import Counter
from dataclasses import dataclass, field

from monitor.domain import Passage

_TOKEN = re.compile(r"\w+", re.UNICODE)


@dataclass(frozen=True, slots=True)
class Token:
    text: str  # normalised form
    start: int  # offsets into the original text
    end: int


def tokenize(text: str) -> list[Token]:
    """NFKC, case-folded word tokens with offsets into `text`.

    NFKC can change lengths, so it is applied per token and offsets stay those of `text`.
    """
    return [
        Token(unicodedata.normalize("NFKC", m.group()).casefold(), m.start(), m.end())
        for m in _TOKEN.finditer(text)
    ]


@dataclass(frozen=True, slots=True)
class DetectSettings:
    min_score: float = 0.5  # a verdict below this is not a match
    min_coverage: float = 0.3  # share of the source that must be reused
    min_source_words: int = 40  # shorter texts cannot be told apart from stock phrases
    max_words: int = 50_000  # what is fingerprinted and aligned of one enormous page


@dataclass(frozen=True, slots=True)
class Verdict:
    is_match: bool
    kind: str | None  # "copy" | "spun_copy" | "partial_copy" when is_match
    score: float = 0.0
    coverage: float = 0.0
    spin_rate: float = 0.0
    passages: tuple[Passage, ...] = ()
    substitutions: tuple[tuple[str, str], ...] = ()
    reason: str = ""

    def to_dict(self) -> dict:
        return {
            "match": self.is_match,
            "kind": self.kind,
            "score": round(self.score, 4),
            "coverage": round(self.coverage, 4),
            "spin_rate": round(self.spin_rate, 4),
            "passages": [
                {"source_start": p.source_start, "source_end": p.source_end,
                 "copy_start": p.copy_start, "copy_end": p.copy_end}
                for p in self.passages
            ],
            "substitutions": [list(s) for s in self.substitutions],
            "reason": self.reason,
        }


@dataclass
class Detector:
    settings: DetectSettings = field(default_factory=DetectSettings)
    _index: dict[str, set[int]] = field(default_factory=dict)
    _features: dict[int, frozenset[str]] = field(default_factory=dict)

    # A spinner rarely changes long words, names and numbers: they seed the candidates.
    def _features_of(self, text: str) -> frozenset[str]:
        toks = [t.text for t in tokenize(text)[: self.settings.max_words]]
        return frozenset(t for t in toks if len(t) >= 7 or t.isdigit())

    def signature(self, text: str) -> bytes:
        return zlib.compress(json.dumps(sorted(self._features_of(text))).encode())

    def add(self, source_id: int, signature: bytes) -> None:
        self.remove(source_id)
        feats = frozenset(json.loads(zlib.decompress(signature)))
        self._features[source_id] = feats
        for f in feats:
            self._index.setdefault(f, set()).add(source_id)

    def remove(self, source_id: int) -> None:
        for f in self._features.pop(source_id, ()):
            self._index.get(f, set()).discard(source_id)

    def __len__(self) -> int:
        return len(self._features)

    def candidates(self, text: str) -> list[int]:
        hits: Counter[int] = Counter()
        for f in self._features_of(text):
            for sid in self._index.get(f, ()):
                hits[sid] += 1
        # A candidate shares at least a fifth of its own rare words with the post.
        return [sid for sid, n in hits.most_common() if n >= max(3, 0.2 * len(self._features[sid]))]

    def compare(self, source_text: str, copy_text: str) -> Verdict:
        src = tokenize(source_text)[: self.settings.max_words]
        cpy = tokenize(copy_text)[: self.settings.max_words]
        if len(src) < self.settings.min_source_words:
            return Verdict(False, None, reason=f"source too short ({len(src)} words)")
        if not cpy:
            return Verdict(False, None, reason="copy has no text")
        sm = difflib.SequenceMatcher(None, [t.text for t in src], [t.text for t in cpy], autojunk=False)
        blocks = [b for b in sm.get_matching_blocks() if b.size >= 3]
        matched = sum(b.size for b in blocks)
        coverage = matched / len(src)
        subs: Counter[tuple[str, str]] = Counter()
        substituted = 0
        for tag, i1, i2, j1, j2 in sm.get_opcodes():
            if tag == "replace" and (i2 - i1) <= 6 and (j2 - j1) <= 6:
                substituted += i2 - i1
                subs[(" ".join(t.text for t in src[i1:i2]), " ".join(t.text for t in cpy[j1:j2]))] += 1
        spin_rate = substituted / max(1, matched + substituted)
        passages = _passages(blocks, src, cpy)
        score = min(1.0, coverage + spin_rate * coverage)  # substituted words are reuse too
        span = (passages[-1].source_end - passages[0].source_start) if passages else 0
        if coverage < self.settings.min_coverage or score < self.settings.min_score:
            return Verdict(False, None, score, coverage, spin_rate, reason="too little of the source reused")
        kind = "copy" if spin_rate < 0.05 else "spun_copy"
        if span < 0.6 * len(source_text) or len(cpy) > 2 * len(src):
            kind = "partial_copy"
        return Verdict(True, kind, score, coverage, spin_rate, tuple(passages),
                       tuple(s for s, _ in subs.most_common(20)))


def _passages(blocks, src: list[Token], cpy: list[Token]) -> list[Passage]:
    """Merge matching blocks that are close in both texts into passages."""
    out: list[list[int]] = []
    for b in blocks:
        s0, s1, c0, c1 = b.a, b.a + b.size, b.b, b.b + b.size
        if out and s0 - out[-1][1] <= 12 and 0 <= c0 - out[-1][3] <= 24:
            out[-1][1], out[-1][3] = s1, c1
        else:
            out.append([s0, s1, c0, c1])
    return [Passage(src[a].start, src[b - 1].end, cpy[c].start, cpy[d - 1].end) for a, b, c, d in out]
