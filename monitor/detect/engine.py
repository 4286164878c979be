"""The detector: windowed-MinHash candidates, seed-and-extend verification, a verdict.

Every threshold below is derived in monitor/detect/README.md ("Thresholds"); the comments
give the one-line reason.
"""

from __future__ import annotations

import threading
from collections import Counter, OrderedDict
from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import Generic, TypeVar
from dataclasses import dataclass, field

import numpy as np

from monitor.detect import align as _align
from monitor.detect import semantic as _semantic
from monitor.detect import sentences as _sentences
from monitor.detect.fold import fold_related
from monitor.detect.lexicon import is_feature
from monitor.detect.index import BandIndex, SignatureError, WindowHasher, WordTable, pack_signature, signature_parts
from monitor.detect.normalise import Tokens, tokenize
from monitor.domain import MatchKind, Passage

__all__ = ["DetectSettings", "Detector", "SignatureError", "Verdict"]


@dataclass(frozen=True, slots=True)
class DetectSettings:
    # --- verdict -------------------------------------------------------------------------
    min_score: float = 0.5  # user-facing: a verdict scoring below this is not a match
    min_coverage: float = 0.25  # "a third or more of a source", less the words lost at edges
    min_reused_words: int = 50  # ... or a lifted paragraph of a long one (README "Short lifts")
    min_lift_words: int = 40  # ... or a shorter lift whose evidence holds an identical run of
    min_identical_run: int = 12  # this many words (longest seen between unrelated texts: README)
    min_source_words: int = 40  # shorter texts cannot be told apart from stock phrases
    copy_max_spin: float = 0.05  # below this share of swapped words it is a plain copy
    whole_min_coverage: float = 0.5  # less than half the source reused: a partial copy
    # --- alignment -----------------------------------------------------------------------
    min_density: float = 0.45  # identical words per source word in a passage (spun ≥ 0.5)
    min_passage_words: int = 12  # about a sentence: shorter shared runs are stock phrases
    min_block_words: int = 40  # reuse counts in blocks of ≥ 2 sentences of adjacent passages;
    # isolated sentences (shared quotes, a wire lead) are what same-event articles have in common
    min_seeds: int = 3  # content words in order that start a passage
    max_gap: int = 20  # words between two surviving content words in a heavily spun text
    max_phrase: int = 6  # longest phrase a spinner puts in for one word ("Influenza A ...")
    # --- fingerprint and index (part of the signature format) -----------------------------
    window: int = 8  # fingerprint words per source window (≈ 25 words of text: a lift covers whole ones)
    rows: int = 2  # min-hashes per band key: a band collides with probability J² (README)
    bands: int = 16  # band keys per window at most (short sources) ...
    min_bands: int = 6  # ... and at least (long sources: 12 a window of 16 before v8, README)
    key_budget: int = 150  # keys per source (long ones: min_bands a window); ≈ 1.35 KB of index a source
    post_step: int = 2  # post windows start every 2 content words (query side only)
    min_hits: int = 4  # keys shared, two of them ≤ 48 fingerprint words apart in the source (Poisson
    # tail of many J² draws: spun window ≈ 0.9, chance ≈ 2e-5; see README) ...
    min_scattered_hits: int = 5  # ... or this many anywhere in the source
    max_postings: int = 32  # stop keys: a key held by more sources is no evidence (README)
    max_candidates: int = 50  # per 1,000 words of the post (a long post has more chance hits)
    # --- rewrites (sentences.py; README "Rewrites"): candidates alignment does not confirm
    rewrites: bool = True  # also look for a sentence-by-sentence re-telling of the source
    rewrite_prefilter: bool = True  # skip sources too few of whose sentences could pair (exact)
    rewrite_cache: int = 256  # sources whose sentences are kept (LRU): a source of the post's topic
    # is a chance candidate of many posts; ≈ 30 KB each for a 700-word source (README 5b)
    rewrite_min_dice: float = 0.5  # terms kept by a rewriter who changes up to half of them
    rewrite_min_shared: int = 4  # terms shared: fewer is a short sentence or a stock phrase
    rewrite_max_skip: int = 1  # sentences dropped or added between two re-told ones
    rewrite_min_run: int = 4  # re-told sentences, in local runs: ≈ 80 words, "a few paragraphs"
    rewrite_min_local: int = 3  # sentences in order in one run (a heavy rewrite moves paragraphs)
    # ... else the weighted chain (README "AI rewrites"): re-told details, not the event's topic words
    rewrite_chain: bool = True  # look for it when the runs above find nothing
    rewrite_chain_shared: int = 3  # terms a pair shares (the weights, not the count, judge it)
    rewrite_chance: float = 1 / 3  # weighted overlap of a same-event sentence with its best counterpart
    rewrite_post_skip: int = 2  # added lines between two re-told sentences (a subhead, a line of background)
    rewrite_min_evidence: float = 2 / 3  # Σ (overlap − chance), less chance per unrelated line inside:
    # the chain must still beat chance if two more of its sentences were unrelated (README "AI rewrites")
    # --- semantic tier (semantic.py; README "Semantic tier"): optional extra, candidates every
    # lexical tier rejected; thresholds derived from same-event negatives' sentence similarities
    semantic: bool = False  # opt in (detection.semantic), with the extra and the model installed
    semantic_gate_shared: int = 3  # cheap gate: rewrite_min_run source sentences share this many terms with the post
    semantic_min_sim: float = 0.7  # a pair: 3 in 4 same-event source sentences have no counterpart this close
    semantic_min_margin: float = 0.1  # ... standing out from its sentences' other pairs (median same-topic best)
    semantic_max_skip: int = 2  # sentences dropped or added between two re-told ones
    semantic_min_local: int = 2  # source sentences in order in one chain
    semantic_min_evidence: float = 1.0  # Σ margin over those chains: above every same-event negative (README)
    # the second gate: the same chains on word-piece vectors (semantic.py: microseconds a
    # sentence, not milliseconds), looser than the tier in each rule (README "Semantic tier",
    # the gate; bench/detect_semantic.py derives them):
    semantic_gate_sim: float = 0.75  # same-event source sentences' best counterpart, median (the tier: p75)
    semantic_gate_margin: float = 0.02  # their best pair's margin, p75 (on pieces)
    semantic_gate_skip: int = 3  # one more sentence skipped than the tier allows
    semantic_gate_evidence: float = 0.1  # a tenth of the tier's evidence; 0 turns the gate off
    semantic_cache: int = 256  # sources whose sentence vectors are kept (LRU), ≈ 1.5 KB a sentence
    max_words: int = 20_000  # words fingerprinted and aligned of one text (≈ 40 pages)


K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


@dataclass(frozen=True, slots=True)
class Verdict:
    is_match: bool
    kind: MatchKind | None  # None: not a match
    score: float = 0.0
    coverage: float = 0.0
    spin_rate: float = 0.0
    passages: tuple[Passage, ...] = ()
    substitutions: tuple[tuple[str, str], ...] = ()
    reason: str = ""
    method: str = "alignment"  # "alignment" (word order) | "sentences" (a re-told text)
    reused: int = 0  # source words in the counted blocks (or re-told sentences)
    longest_run: int = 0  # longest run of identical words in the evidence
    related: tuple = ()  # other sources whose evidence lies inside this one's (fold.py)
    similarities: tuple[float, ...] = ()  # semantic tier: each passage's sentence similarity

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
            "method": self.method,
            "reused_words": self.reused,
            "longest_run": self.longest_run,
            "related": list(self.related),
            **({"similarities": [round(x, 3) for x in self.similarities]} if self.similarities else {}),
        }


# Chance level of identical-word density inside a passage found between two unrelated texts
# (function words line up by chance within the allowed gaps), and the density of a copy with
# one word in five swapped; the score maps the first to 0 and the second to 1.
_CHANCE_DENSITY = 0.3
# Reuse counts in full in the score from "a few paragraphs" (2 × 40 words) or a quarter of the
# source; a shorter lift (50 words, or 40 with an identical run) is reported but ranks lower.
_FULL_WORDS = 80
_SPUN_DENSITY = 0.8
# The same for a re-told sentence's term overlap (Dice): two articles on the same event
# reporting the same fact in their own words (median 0.41 measured, README "Rewrites"), and
# a light rewrite that changes one term in five (0.8).
_CHANCE_DICE = 0.4
_LIGHT_DICE = 0.8
# A same-event sentence's best counterpart (median, README "Semantic tier") and a light
# paraphrase's: the semantic tier's quality goes from 0 to 1 between them.
_SAME_EVENT_SIM = 0.6
_CLOSE_SIM = 0.9


class Reading:
    """A post read once: its words and, made when first needed, its fingerprint words' hashes
    (its candidates and its stored keys: `Detector.fingerprint`) and its sentences (a check
    compares one post with several sources)."""

    __slots__ = ("text", "tokens", "content", "_token_terms", "_sentences", "_where", "_terms", "_weights",
                 "_vectors", "_piece_vectors")

    def __init__(self, text: str, tokens: Tokens) -> None:
        self.text, self.tokens = text, tokens
        self.content: np.ndarray | None = None
        self._token_terms: list[str] | None = None
        self._sentences: list | None = None
        self._where: dict[str, list[int]] | None = None
        self._terms: frozenset[str] | None = None
        self._weights: tuple[dict[str, float], list[float]] | None = None
        self._vectors: np.ndarray | None = None
        self._piece_vectors: np.ndarray | None = None

    def weights(self) -> tuple[dict[str, float], list[float]]:
        """(term → specificity in the post, each sentence's total): the weighted chain's, made once."""
        if self._weights is None:
            self._weights = _weighted(self.sentences())
        return self._weights

    def vectors(self) -> np.ndarray:
        """The post's sentence vectors (semantic tier), made once."""
        if self._vectors is None:
            self._vectors = _sentence_vectors(self.text, self.sentences())
        return self._vectors

    def piece_vectors(self) -> np.ndarray:
        """The post's sentence vectors from word pieces (the semantic tier's gate), made once."""
        if self._piece_vectors is None:
            self._piece_vectors = _sentence_vectors(self.text, self.sentences(), pieces=True)
        return self._piece_vectors

    def terms(self) -> frozenset[str]:
        """All the post's terms (the rewrite check's pre-filter; no sentence split needed)."""
        if self._terms is None:
            self._terms = _sentences.terms_of(self.tokens, self.token_terms())
        return self._terms

    def token_terms(self) -> list[str]:
        """Each word's term: made once for the pre-filter's terms and the sentences."""
        if self._token_terms is None:
            self._token_terms = _sentences.token_terms(self.tokens)
        return self._token_terms

    def sentences(self) -> list:
        if self._sentences is None:
            self._sentences = _sentences.sentences(self.text, self.tokens, self.token_terms())
        return self._sentences

    def where(self) -> dict[str, list[int]]:
        """term → post sentences holding it (the rewrite check's index, made once)."""
        if self._where is None:
            self._where = _sentences.term_index(self.sentences())
        return self._where


class _TextCache(Generic[V]):
    """Something made from a source's text (its sentences, their weights, their vectors), kept
    by the text itself, least recently used dropped first: the same sources come back as
    candidates of post after post (a publisher's articles on one subject), and making it is
    most of a tier's cost. A str keeps its hash, and an edited source is simply a new entry.
    Safe to share between threads."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._lru: OrderedDict[str, V] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def get(self, text: str, make: Callable[[], V]) -> V:
        with self._lock:
            found = self._lru.get(text)
            if found is not None:
                self._lru.move_to_end(text)
                self.hits += 1
                return found
            self.misses += 1
        made = make()
        if self.size > 0:
            with self._lock:
                self._lru[text] = made
                if len(self._lru) > self.size:
                    self._lru.popitem(last=False)
        return made


def _weighted(ss: list[_sentences.Sentence]) -> tuple[dict[str, float], list[float]]:
    """The weighted chain's term weights of a text and its sentences' totals."""
    w = _sentences.weights(ss)
    return w, _sentences.weight_sums(ss, w)


def _sentence_vectors(text: str, ss: list[_sentences.Sentence], pieces: bool = False) -> np.ndarray:
    """Unit vectors of the sentences (the rewrite check's split), by the model or (`pieces`) from
    its word-piece table; a sentence the English model cannot read (another script) gets a zero
    vector, so it pairs with nothing."""
    spans = [text[x.start:x.end] for x in ss]
    keep = [k for k, t in enumerate(spans) if _semantic.english_like(t)]
    out = np.zeros((len(ss), 384), dtype=np.float32)
    if keep:
        enc = _semantic.encoder()
        out[keep] = (enc.encode_pieces if pieces else enc.encode)([spans[k] for k in keep])
    return out


@dataclass
class Detector:
    settings: DetectSettings = field(default_factory=DetectSettings)

    def __post_init__(self) -> None:
        s = self.settings
        self._hasher = WindowHasher(s.window, s.bands, s.rows, s.post_step)
        self._index = BandIndex(s.max_postings, s.window)
        self._table = WordTable(self._hasher, is_feature)
        # per source text, the sentences (rewrite_cache: ≈ 30 KB each for a 700-word source),
        # their weights, and their vectors (semantic_cache)
        self._split: _TextCache[list[_sentences.Sentence]] = _TextCache(s.rewrite_cache)
        self._weights: _TextCache[tuple[dict[str, float], list[float]]] = _TextCache(s.rewrite_cache)
        self._vectors: _TextCache[np.ndarray] = _TextCache(s.semantic_cache)
        self._piece_vectors: _TextCache[np.ndarray] = _TextCache(s.semantic_cache)

    # --- fingerprints and index ---------------------------------------------------------
    def _content(self, text: str) -> tuple[np.ndarray, int]:
        """(permuted hashes of the fingerprint words in text order, words in the text)."""
        return self._table.encode(text or "", self.settings.max_words)

    def signature(self, text: str) -> bytes:
        """Compact band keys of the source's windows (≈ 4 bytes × bands per 20 content words)."""
        content, n = self._content(text)
        keys, wins = self._hasher.source_keys(content, self.settings.key_budget, self.settings.min_bands)
        return pack_signature(self._hasher, n, keys, wins)

    def add(self, source_id: int, sig: bytes) -> None:
        """Index a stored signature. Raises SignatureError (a ValueError) if it was made by
        another format version or other settings: re-fingerprint the source then."""
        self._index.add_bytes(source_id, *signature_parts(self._hasher, sig))

    def remove(self, source_id: int) -> None:
        self._index.remove(source_id)

    def __len__(self) -> int:
        return len(self._index)

    def index_bytes(self) -> int:
        return self._index.nbytes()

    def read(self, post_text: str) -> Reading:
        """The post split into words once, for `candidates`, `compare_each` and the stored
        post keys (reverse.post_signature) of one check; fingerprinted once, when first needed."""
        return Reading(post_text or "", tokenize(post_text or "", self.settings.max_words))

    def fingerprint(self, post: str | Reading) -> tuple[np.ndarray, int]:
        """(permuted hashes of the post's fingerprint words, its words): made once a Reading,
        from the words it was split into; from a text, without splitting it for offsets."""
        if not isinstance(post, Reading):
            return self._content(post)
        if post.content is None:
            post.content, _ = self._table.encode_words(post.tokens.words)
        return post.content, len(post.tokens)

    def candidates(self, post: str | Reading) -> list[int]:
        """Sources sharing at least `min_hits` window band keys with the post, best first."""
        return self._candidates(*self.fingerprint(post))

    def _candidates(self, content: np.ndarray, n: int) -> list[int]:
        s = self.settings
        hits = self._index.hits(self._hasher.post_keys(content), s.max_postings, s.min_hits,
                                s.min_scattered_hits)
        return [sid for sid, _ in hits][: self._cap(n)]

    def _cap(self, n_words: int) -> int:
        """Candidates verified for a post of n_words: max_candidates per 1,000 words (at least
        max_candidates). Chance hits grow with the post's windows, so a fixed cap lets a long
        post's chance candidates crowd out a lifted paragraph's source."""
        return self.settings.max_candidates * max(1, -(-n_words // 1000))

    # --- verification -------------------------------------------------------------------
    def compare(self, source_text: str, post_text: str) -> Verdict:
        s = self.settings
        return self._compare(source_text or "", tokenize(source_text or "", s.max_words), self.read(post_text))

    def compare_each(self, post: str | Reading, sources: Mapping[K, str]) -> dict[K, Verdict]:
        """`compare` of one post with each of several sources (a check's candidates): the post
        is split into words and sentences once, as `scan` does, not once a source."""
        if not isinstance(post, Reading):
            post = self.read(post)
        n = self.settings.max_words
        return {k: self._compare(t or "", tokenize(t or "", n), post) for k, t in sources.items()}

    def compare_sentences(self, source_text: str, post_text: str) -> Verdict:
        """The order-tolerant check alone (what `compare` falls back to for a rewrite)."""
        s = self.settings
        src = tokenize(source_text or "", s.max_words)
        if len(src) < s.min_source_words:
            return Verdict(False, None, reason=f"source too short ({len(src)} words)", method="sentences")
        return self._rewrite(source_text or "", src, self.read(post_text))

    def _compare(self, source_text: str, src: Tokens, post: Reading) -> Verdict:
        v = self._align(src, post.tokens)
        if (v.is_match and v.kind != MatchKind.PARTIAL_COPY) or not self.settings.rewrites \
                or len(src) < self.settings.min_source_words or not post.tokens.words:
            return v
        r = self._rewrite(source_text, src, post)
        if v.is_match:  # a partial copy by word order may be a whole re-telling: keep the wider evidence
            return r if r.kind == MatchKind.REWRITE and r.coverage > v.coverage else v
        if r.is_match:
            return r
        m = self._semantic(source_text, src, post) if self.settings.semantic else None
        return m if m is not None and m.is_match else v

    def compare_semantic(self, source_text: str, post_text: str) -> Verdict | None:
        """The semantic tier alone (None: one of its gates turned the pair away)."""
        src = tokenize(source_text or "", self.settings.max_words)
        return self._semantic(source_text or "", src, self.read(post_text))

    def _source_sentences(self, source_text: str, src: Tokens) -> list[_sentences.Sentence]:
        return self._split.get(source_text, lambda: _sentences.sentences(source_text, src))

    def _semantic(self, source_text: str, src: Tokens, post: Reading) -> Verdict | None:
        """In-order chains of sentences whose meaning matches (semantic.py), for a candidate every
        lexical tier rejected; None if a gate turns it away (the model encodes no sentence)."""
        s = self.settings
        ss = self._source_sentences(source_text, src)
        # Gate: a re-telling keeps names, numbers and a few nouns in each sentence, so enough
        # source sentences share some terms with the post as a whole (may_retell with no Dice floor).
        if len(src) < s.min_source_words or not _sentences.may_retell(
                ss, post.terms(), s.semantic_gate_shared, 0.0, s.rewrite_min_run):
            return None
        # Second gate: the same chains on word-piece vectors (~2 ms a text against the model's ~1 s).
        if s.semantic_gate_evidence > 0:
            src_pieces = self._piece_vectors.get(source_text, lambda: _sentence_vectors(source_text, ss, pieces=True))
            near, _ = _semantic.evidence(src_pieces @ post.piece_vectors().T, s.semantic_gate_sim,
                                         s.semantic_gate_margin, s.semantic_gate_skip, s.semantic_min_local)
            if near < s.semantic_gate_evidence:
                return None
        ps = post.sentences()
        sim = self._vectors.get(source_text, lambda: _sentence_vectors(source_text, ss)) @ post.vectors().T
        evidence, kept = _semantic.evidence(sim, s.semantic_min_sim, s.semantic_min_margin, s.semantic_max_skip,
                                            s.semantic_min_local)
        if not kept or evidence < s.semantic_min_evidence:
            return Verdict(False, None, reason=f"semantic: no chain of {s.semantic_min_local} sentences in order "
                           f"with evidence {s.semantic_min_evidence:.2f} (found {evidence:.2f})", method="semantic")
        runs = [c for _, c in kept]
        src_done = sorted({p.i for c in runs for p in c})
        reused = sum(ss[i].words for i in src_done)
        coverage = reused / len(src)
        pairs = sorted((p for c in runs for p in c), key=lambda p: (p.i, p.j))
        mean = sum(p.sim for p in pairs) / len(pairs)
        quality = min(1.0, max(0.0, (mean - _SAME_EVENT_SIM) / (_CLOSE_SIM - _SAME_EVENT_SIM)))
        enough = coverage >= s.min_coverage or reused >= _FULL_WORDS
        amount = min(1.0, max(coverage / s.min_coverage, reused / _FULL_WORDS))
        score = 0.5 * amount + 0.5 * quality
        passages = tuple(Passage(ss[p.i].start, ss[p.i].end, ps[p.j].start, ps[p.j].end) for p in pairs)
        sims = tuple(p.sim for p in pairs)
        what = (f"{len(src_done)} of {len(ss)} source sentences re-told in order, by meaning "
                f"(mean similarity {mean:.2f}, evidence {evidence:.2f})")
        if not enough or score < s.min_score:
            why = f"only {coverage:.0%} of the source ({reused} words)" if not enough else \
                f"score {score:.2f} below min_score {s.min_score}"
            return Verdict(False, None, score, coverage, 1.0 - mean, passages, (), f"{what}: {why}", "semantic",
                           reused, similarities=sims)
        post_done = sum(ps[j].words for j in {p.j for p in pairs})
        whole = coverage >= s.whole_min_coverage and post_done >= 0.5 * len(post.tokens)
        return Verdict(True, MatchKind.REWRITE if whole else MatchKind.PARTIAL_REWRITE, score, coverage, 1.0 - mean,
                       passages, (), f"semantic rewrite: {what}", "semantic", reused, similarities=sims)

    def _rewrite(self, source_text: str, src: Tokens, post: Reading) -> Verdict:
        """A sentence-by-sentence re-telling of the source (sentences.py), for a candidate the
        alignment did not confirm: runs of sentences with most terms kept, else the weighted
        chain (re-told details over what a same-event article shares; README "AI rewrites")."""
        s = self.settings
        ss = self._source_sentences(source_text, src)
        none = Verdict(False, None, reason=f"no run of {s.rewrite_min_run} source sentences re-told in order",
                       method="sentences")
        runs: list[list[_sentences.Pair]] = []
        if not s.rewrite_prefilter or _sentences.may_retell(ss, post.terms(), s.rewrite_min_shared,
                                                            s.rewrite_min_dice, s.rewrite_min_run):
            runs = _sentences.retold(ss, post.sentences(), s.rewrite_min_shared, s.rewrite_min_dice,
                                     s.rewrite_max_skip, s.rewrite_min_run, s.rewrite_min_local, post.where())
        if runs:
            v = self._retold(ss, src, post, runs, _CHANCE_DICE, "mean term overlap")
            if v.is_match or not s.rewrite_chain:
                return v
        if not s.rewrite_chain or (s.rewrite_prefilter and not _sentences.may_pair(
                ss, post.terms(), s.rewrite_chain_shared, s.rewrite_min_run)):
            return none if not runs else v
        ps = post.sentences()
        wsrc, src_sums = self._weights.get(source_text, lambda: _weighted(ss))
        wpost, post_sums = post.weights()
        found = _sentences.weighted_pairs(ss, ps, wsrc, wpost, s.rewrite_chain_shared, s.rewrite_chance,
                                          post.where(), src_sums, post_sums)
        evidence, chain = _sentences.evidence_chain(found, ps, s.rewrite_chance, s.rewrite_min_shared,
                                                     s.rewrite_post_skip, s.rewrite_min_run)
        if evidence < s.rewrite_min_evidence:
            return (v if runs else none) if not chain else Verdict(
                False, None, reason=f"{len({p.i for p in chain})} source sentences re-told in order, evidence "
                f"{evidence:.2f} below {s.rewrite_min_evidence:.2f} over a same-event article", method="sentences")
        return self._retold(ss, src, post, [chain], s.rewrite_chance, "mean weighted overlap",
                            f", evidence {evidence:.2f}")

    def _retold(self, ss: list, src: Tokens, post: Reading, runs: list[list[_sentences.Pair]], chance: float,
                measure: str, extra: str = "") -> Verdict:
        """The verdict on re-told sentence pairs (runs in order): coverage, score, kind, evidence."""
        s = self.settings
        ps = post.sentences()
        src_done = sorted({p.i for c in runs for p in c})
        reused = sum(ss[i].words for i in src_done)
        coverage = reused / len(src)
        pairs = [p for c in runs for p in c]
        dice = sum(p.dice for p in pairs) / len(pairs)
        quality = min(1.0, max(0.0, (dice - chance) / (_LIGHT_DICE - chance)))
        # a re-telling has no identical runs to vouch for a short passage: "a few paragraphs"
        enough = coverage >= s.min_coverage or reused >= _FULL_WORDS
        amount = min(1.0, max(coverage / s.min_coverage, reused / _FULL_WORDS))
        score = 0.5 * amount + 0.5 * quality
        # Evidence: one passage per re-told sentence, or per merged/split group of sentences
        # (a chain step that stays on one sentence of either side joins the two pairs).
        groups: list[list[int]] = []  # [i0, i1, j0, j1] sentence ranges, inclusive
        for c in runs:
            for k, p in enumerate(c):
                if k and (p.i == c[k - 1].i or p.j == c[k - 1].j):
                    groups[-1][1], groups[-1][3] = p.i, p.j
                else:
                    groups.append([p.i, p.i, p.j, p.j])
        passages = tuple(Passage(ss[i0].start, ss[i1].end, ps[j0].start, ps[j1].end) for i0, i1, j0, j1 in groups)
        changed = 1.0 - dice  # share of a re-told sentence's terms not in its counterpart
        what = (f"{len(src_done)} of {len(ss)} source sentences re-told in order "
                f"({measure} {dice:.2f}{extra})")
        if not enough:
            return Verdict(False, None, score * amount, coverage, changed, passages, (),
                           f"{what}: only {coverage:.0%} of the source ({reused} words)", "sentences", reused)
        if score < s.min_score:
            return Verdict(False, None, score, coverage, changed, passages, (),
                           f"{what}: score {score:.2f} below min_score {s.min_score}", "sentences", reused)
        post_done = sum(ps[j].words for j in {p.j for p in pairs})
        whole = coverage >= s.whole_min_coverage and post_done >= 0.5 * len(post.tokens)
        return Verdict(True, MatchKind.REWRITE if whole else MatchKind.PARTIAL_REWRITE, score, coverage, changed, passages,
                       (), f"rewrite: {what}", "sentences", reused)

    def _align(self, src: Tokens, cpy: Tokens) -> Verdict:
        s = self.settings
        notes = []
        if src.truncated:
            notes.append(f"source truncated to {s.max_words} words for fingerprinting")
        if cpy.truncated:
            notes.append(f"post truncated to {s.max_words} words for fingerprinting")
        if len(src) < s.min_source_words:
            return Verdict(False, None, reason=_join([f"source too short ({len(src)} words)"] + notes))
        if not cpy.words:
            return Verdict(False, None, reason=_join(["post has no text"] + notes))
        found = _align.align(src.words, cpy.words, max_gap=s.max_gap, min_seeds=s.min_seeds,
                             max_phrase=s.max_phrase)
        good = [p for p in found
                if p.length >= s.min_passage_words and p.aligned >= s.min_density * p.length]
        if not good:
            return Verdict(False, None, reason=_join(["no passage of the source found in the post"] + notes))
        # Blocks: passages next to each other in the source (a shuffled copy's sentences
        # lie side by side there, as do a partial copy's paragraphs); only blocks of at least
        # min_block_words count towards coverage.
        blocks: list[list[int]] = []  # [s0, s1, words, longest identical run]
        for p in sorted(good, key=lambda p: p.s0):
            run = max((z for _, _, z in p.runs), default=0)
            if blocks and p.s0 - blocks[-1][1] <= 2 * s.max_phrase:
                blocks[-1][1] = max(blocks[-1][1], p.s1)
                blocks[-1][2] += p.length
                blocks[-1][3] = max(blocks[-1][3], run)
            else:
                blocks.append([p.s0, p.s1, p.length, run])
        counted = [b for b in blocks if b[2] >= s.min_block_words]
        reused = sum(b[2] for b in counted)
        longest = max((b[3] for b in counted), default=0)
        aligned = sum(p.aligned for p in good)
        substituted = sum(p.substituted for p in good)
        coverage = reused / len(src)
        spin_rate = substituted / max(1, aligned + substituted)
        density = aligned / max(1, sum(p.length for p in good))
        quality = min(1.0, max(0.0, (density - _CHANCE_DENSITY) / (_SPUN_DENSITY - _CHANCE_DENSITY)))
        enough = (coverage >= s.min_coverage or reused >= s.min_reused_words
                  or (reused >= s.min_lift_words and longest >= s.min_identical_run))
        amount = min(1.0, max(coverage / s.min_coverage, reused / _FULL_WORDS))
        score = 0.5 * amount + 0.5 * quality
        passages = tuple(
            Passage(src.starts[p.s0], src.ends[p.s1 - 1], cpy.starts[p.c0], cpy.ends[p.c1 - 1])
            for p in good
        )
        subs: Counter[tuple[str, str]] = Counter()
        for p in good:
            for a0, a1, b0, b1 in p.subs:
                subs[(" ".join(src.words[a0:a1]), " ".join(cpy.words[b0:b1]))] += 1
        substitutions = tuple(pair for pair, _ in subs.most_common(20))
        if not enough:
            return Verdict(False, None, score * amount, coverage, spin_rate, passages, substitutions,
                           _join([f"only {coverage:.0%} of the source ({reused} words) reused"] + notes), "alignment", reused, longest)
        if score < s.min_score:
            return Verdict(False, None, score, coverage, spin_rate, passages, substitutions,
                           _join([f"score {score:.2f} below min_score {s.min_score}"] + notes), "alignment", reused, longest)
        post_reused = sum(p.c1 - p.c0 for p in good)
        if coverage < s.whole_min_coverage or post_reused < 0.5 * len(cpy):
            kind = MatchKind.PARTIAL_COPY  # a part of the source, or the source inside a longer post
        elif spin_rate < s.copy_max_spin:
            kind = MatchKind.COPY
        else:
            kind = MatchKind.SPUN_COPY
        return Verdict(True, kind, score, coverage, spin_rate, passages, substitutions, _join(notes), "alignment", reused, longest)

    def scan(self, post_text: str,
             load_sources: Callable[[list[int]], Mapping[int, str]]) -> list[tuple[int, Verdict]]:
        """Every source the post copies (one post may copy several), best first."""
        # the post is split into words once, for its keys and for every comparison
        post = self.read(post_text)
        ids = self.candidates(post)
        if not ids:
            return []
        texts = load_sources(ids)
        out = [(sid, self._compare(texts[sid] or "", tokenize(texts[sid] or "", self.settings.max_words), post))
               for sid in ids if sid in texts]
        return self.fold(out)

    def fold(self, matches: Sequence[tuple[K, Verdict]]) -> list[tuple[K, Verdict]]:
        """The matches of one post, best first, each source whose evidence a better match
        already holds folded into that match's `related` (fold.py): one alert per copy."""
        s = self.settings
        return fold_related(matches, s.min_reused_words, s.min_coverage)


def _join(notes: list[str]) -> str:
    return "; ".join(notes)
