"""Order-tolerant verification: a rewrite re-tells the source sentence by sentence.

A person who rewrites an article moves clauses ("X said on Monday that Y" -> "Y, according
to X on Monday"), swaps synonyms, merges and splits sentences and drops a few, but keeps the
sequence of facts and most of each sentence's names, numbers and nouns. Word-order
alignment (align.py) loses such text; here a sentence is a *set* of content-word stems, so
word order inside a sentence does not matter, and only the order of sentences does:

1. Sentences: split at . ! ? (not after a lone capital or a short title such as "Gov." or
   "Dec.") and at line breaks; offsets into the text as given.
2. Terms: the content words of a sentence (normalise.is_content), cut to their first 6
   letters (truncation stemming: "investigated"/"investigation", "killed"/"killing");
   names, numbers and other words no thesaurus has (lexicon.is_immutable) are kept whole.
   They count like any other term: a rewriter keeps them, but so does another article on
   the same event, so they are no better evidence of a rewrite than the ordinary words.
   A text in another language that its stop words tell (languages.py: German, French,
   Spanish, Italian, Portuguese, Dutch, Indonesian/Malay) gets that language's terms
   instead: its stop words dropped, the other words by their Snowball stem.
3. Pairs: a source sentence and a post sentence match if they share at least `min_shared`
   terms and their Dice coefficient 2|S ∩ P| / (|S| + |P|) is at least `min_dice`.
4. Chains: matched pairs in order in both texts (a merged or split sentence may pair one
   sentence with two adjacent ones), skipping at most `max_skip` sentences on either side,
   by dynamic programming, best first, disjoint.

Thresholds and their derivations are in README.md ("Rewrites"). Pure, no I/O.
"""

from __future__ import annotations

import itertools
import math
import re
import threading
from bisect import bisect_left
from collections import Counter
from operator import attrgetter
from dataclasses import dataclass
from collections.abc import Callable, Sequence
from typing import NamedTuple, Protocol, TypeVar

from monitor.detect import languages
from monitor.detect.lexicon import is_immutable
from monitor.detect.normalise import Tokens, is_content, tokenize

# A sentence ends at . ! ? (with closing quotes or brackets) before a space, or at a line
# break; the caller does not split after an abbreviation (see _ABBREV).
# (Written to start with one character class, [\n.!?], which lets the regex engine skip
# through the text to the next such character in C: the same matches as
# `[.!?]+["'”’)\]]*(?=\s)|\n`, 3x faster.)
_END = re.compile(r"[\n.!?](?:(?<=\n)|(?<=[.!?])[.!?]*[\"'”’)\]]*(?=\s))")
_ABBREV = frozenset(
    """mr mrs ms dr prof gov sen rep gen col lt sgt capt st jr sr inc co corp ltd no vs etc
    jan feb mar apr jun jul aug sep sept oct nov dec mon tue wed thu fri sat sun a.m p.m
    u.s u.k u.n e.g i.e""".split()
)


class Sentence(NamedTuple):  # a tuple: a long source has hundreds, made on every check
    start: int  # character offsets [start, end) in the text
    w0: int  # word positions [w0, w1) in the Tokens
    w1: int
    end: int
    terms: frozenset[str]

    @property
    def words(self) -> int:
        return self.w1 - self.w0


def _term(word: str) -> str:
    """The term of a word: "" for a stopword, the word itself for a name or number, else its
    first 6 letters. Words in a script with syllable or word signs (Hangul, CJK, kana) keep
    their first 2 signs: a Hangul syllable spells 2-3 letters, so 2 syllables are the same
    truncation stem as 6 letters, and it drops the particles Korean attaches to a word
    ("정부가", "정부는" → "정부"); other non-Latin alphabets are cut at 6 letters like English."""
    if not is_content(word):
        return ""
    if not word.isascii() and word[0] > "\u02ff":  # past Latin: no thesaurus, no stopword list
        if word.isdigit():
            return word
        return word[:2] if word[0] >= "\u1100" else word[:6]
    return word if is_immutable(word) else word[:6]


class _TermTable(dict):
    """word → term, worked out once per distinct word: a text's terms are then one C-level
    `map` over its words (no Python call per word). Starts again empty when full. One table
    per language: `term` is the English rule (_term) or a language's (languages.py)."""

    max_words = 200_000

    def __init__(self, term: Callable[[str], str] = _term) -> None:
        super().__init__()
        self.term = term

    def __missing__(self, word: str) -> str:
        if len(self) >= self.max_words:
            self.clear()
        t = self[word] = self.term(word)
        return t


_TERMS = _TermTable()
_TABLES: dict[str, _TermTable] = {}  # language → its table (made when first met)
_TABLES_LOCK = threading.Lock()


def _table(words: list[str]) -> _TermTable:
    """The term table for a text of these words: its language's (languages.language), else
    the English rule's (English, another language, or too little text to tell)."""
    lang = languages.language(words)
    if lang is None:
        return _TERMS
    table = _TABLES.get(lang)
    if table is None:
        with _TABLES_LOCK:
            table = _TABLES.get(lang)
            if table is None:
                table = _TABLES[lang] = _TermTable(languages.term_function(lang, _term))
    return table


def _cuts(text: str) -> list[int]:
    """Character offsets where sentences end (see _END and _ABBREV), then one past the text."""
    cuts = []
    for m in _END.finditer(text):
        at = m.start()
        if text[at] != "\n":
            before = text[max(0, at - 5): at].rsplit(None, 1)
            last = before[-1].lower().lstrip("(\"'“‘") if before else ""
            if len(last) == 1 and last.isalpha() or last in _ABBREV:
                continue
        cuts.append(m.end())
    cuts.append(len(text) + 1)
    return cuts


def token_terms(tok: Tokens) -> list[str]:
    """The term of each word of a text ("" for a stopword), by the text's language."""
    return list(map(_table(tok.words).__getitem__, tok.words))


def sentences(text: str, tok: Tokens, terms: list[str] | None = None) -> list[Sentence]:
    """The sentences of `text` (already tokenised as `tok`, its words' terms `terms` if already
    known: token_terms) that have any content words."""
    terms_of = token_terms(tok) if terms is None else terms
    starts, ends = tok.starts, tok.ends
    out: list[Sentence] = []
    i, n = 0, len(terms_of)
    for cut in _cuts(text):
        j = bisect_left(starts, cut, i, n)
        if j > i:
            held = frozenset(filter(None, terms_of[i:j]))
            if held:
                out.append(Sentence(starts[i], i, j, ends[j - 1], held))
        i = j
        if i >= n:
            break
    return out


_NONE = frozenset([""])


@dataclass(frozen=True, slots=True)
class Pair:
    i: int  # source sentence
    j: int  # post sentence
    shared: int  # terms shared
    dice: float  # 2 × shared / (terms of both)


def terms_of(tok: Tokens, terms: list[str] | None = None) -> frozenset[str]:
    """Every term of a text (the union of its sentences' terms), without splitting it."""
    return frozenset(token_terms(tok) if terms is None else terms) - _NONE


def may_retell(src: list[Sentence], post_terms: frozenset[str], min_shared: int, min_dice: float,
               min_run: int) -> bool:
    """Whether enough source sentences could pair with some post sentence for `retold` to find
    anything, judged against the post's terms as a whole (no need to split the post). A pair
    shares k terms with k ≥ min_shared and 2k / (|S| + |P|) ≥ min_dice; as k ≤ |P| that means
    k ≥ min_dice × |S| / (2 − min_dice) (a third of |S| at 0.5), and a sentence shares no more
    with one post sentence than with the whole post. Exact: it never rejects what would pair."""
    need = min_dice / (2 - min_dice)
    enough = 0
    for s in src:
        k = len(s.terms & post_terms)
        if k >= min_shared and k >= need * len(s.terms) - 1e-9:
            enough += 1
            if enough >= min_run:
                return True
    return False


def term_index(cpy: list[Sentence]) -> dict[str, list[int]]:
    """term → the post sentences holding it (made once per post, see pairs)."""
    where: dict[str, list[int]] = {}
    for j, s in enumerate(cpy):
        for t in s.terms:
            where.setdefault(t, []).append(j)
    return where


def pairs(src: list[Sentence], cpy: list[Sentence], min_shared: int, min_dice: float,
          where: dict[str, list[int]] | None = None) -> list[Pair]:
    """Every (source sentence, post sentence) sharing at least `min_shared` terms and a Dice
    coefficient 2|S ∩ P| / (|S| + |P|) of at least `min_dice`."""
    if where is None:
        where = term_index(cpy)
    out = []
    for i, s in enumerate(src):
        shared = [where[t] for t in s.terms if t in where]
        if len(shared) < min_shared:  # fewer terms in the whole post than a pair needs
            continue
        count: dict[int, int] = {}
        for js in shared:
            for j in js:
                count[j] = count.get(j, 0) + 1
        for j, k in count.items():
            if k >= min_shared:
                dice = 2 * k / (len(s.terms) + len(cpy[j].terms))
                if dice >= min_dice:
                    out.append(Pair(i, j, k, dice))
    return out


class _Step(Protocol):
    @property
    def i(self) -> int: ...  # source sentence

    @property
    def j(self) -> int: ...  # post sentence


P = TypeVar("P", bound=_Step)


def chains(found: Sequence[P], max_skip: int, gain: Callable[[P], float] | None = None) -> list[list[P]]:
    """Disjoint in-order chains of pairs, best first by total `gain` (default 1 a pair: most
    sentences). A step goes forward in both texts by at most max_skip + 1 sentences, or stays
    on one sentence of one side (a merge or a split). Shared by the runs here and the semantic
    tier's chains (gain: a pair's margin)."""
    ps = sorted(found, key=lambda p: (p.i, p.j))
    n = len(ps)
    gains = [gain(p) for p in ps] if gain is not None else [1.0] * n
    best = gains[:]
    prev = [-1] * n
    step = max_skip + 1
    for b in range(n):
        pb = ps[b]
        for a in range(b - 1, -1, -1):
            pa = ps[a]
            di, dj = pb.i - pa.i, pb.j - pa.j
            if di > step:
                break  # sorted by source sentence: all earlier pairs are further back
            if 0 <= dj <= step and (di or dj) and best[a] + gains[b] > best[b]:
                best[b], prev[b] = best[a] + gains[b], a
    used = [False] * n
    out = []
    for b in sorted(range(n), key=lambda k: -best[k]):
        if used[b]:
            continue
        chain = []
        k = b
        while k >= 0 and not used[k]:
            used[k] = True
            chain.append(ps[k])
            k = prev[k]
        out.append(chain[::-1])
    return out


def retold(src: list[Sentence], cpy: list[Sentence], min_shared: int, min_dice: float,
           max_skip: int, min_run: int, min_local: int = 2,
           where: dict[str, list[int]] | None = None) -> list[list[Pair]]:
    """The in-order chains of at least `min_local` source sentences, in source order, if
    together they re-tell at least `min_run` source sentences (else none). A heavy rewrite
    reorders paragraphs, so order is asked of neighbouring sentences only; a same-event
    article shares isolated facts (chains of one, at most one chain of two: README)."""
    found = pairs(src, cpy, min_shared, min_dice, where)
    if len(found) < min_run:
        return []
    runs = [c for c in chains(found, max_skip) if len({p.i for p in c}) >= min_local]
    if len({p.i for c in runs for p in c}) < min_run:
        return []
    return sorted(runs, key=lambda c: c[0].i)


# --- the weighted chain: re-told details, not shared topic words (README "AI rewrites") ----

def weights(sents: list[Sentence]) -> dict[str, float]:
    """term → log((n + 1) / df), n the text's sentences and df those holding the term. A term
    in many sentences of a text is its topic (the event's names, the subject), which every
    article on the event shares; a term in one sentence is that sentence's own detail, which a
    rewriter keeps sentence by sentence and another writer of the same facts mostly does not."""
    df = Counter(itertools.chain.from_iterable(map(attrgetter("terms"), sents)))  # counted in C
    n1 = len(sents) + 1
    logs = [0.0] + [math.log(n1 / k) for k in range(1, max(df.values(), default=0) + 1)]  # one log a count
    return dict(zip(df, map(logs.__getitem__, df.values())))


def may_pair(src: list[Sentence], post_terms: frozenset[str], min_shared: int, min_run: int) -> bool:
    """Whether at least `min_run` source sentences share `min_shared` terms with the post as a
    whole (a pair needs that many with one post sentence): exact, and needs no post split."""
    enough = 0
    for s in src:
        if len(s.terms & post_terms) >= min_shared:
            enough += 1
            if enough >= min_run:
                return True
    return False


def weight_sums(sents: list[Sentence], w: dict[str, float]) -> list[float]:
    """Each sentence's total weight (the denominators of `weighted_pairs`; made once a text)."""
    return [sum(map(w.__getitem__, s.terms)) for s in sents]


def weighted_pairs(src: list[Sentence], cpy: list[Sentence], wsrc: dict[str, float],
                   wcpy: dict[str, float], min_shared: int, floor: float,
                   where: dict[str, list[int]], src_sums: list[float] | None = None,
                   cpy_sums: list[float] | None = None) -> list[Pair]:
    """Every (source sentence, post sentence) sharing at least `min_shared` terms whose weighted
    Dice Σ_shared (w_s + w_p) / (Σ_S w_s + Σ_P w_p) (weights: `weights`) is above `floor`."""
    pw = cpy_sums if cpy_sums is not None else weight_sums(cpy, wcpy)
    out = []
    for i, s in enumerate(src):
        shared = [t for t in s.terms if t in where]
        if len(shared) < min_shared:
            continue
        sw = src_sums[i] if src_sums is not None else sum(wsrc[t] for t in s.terms)
        num: dict[int, float] = {}
        count: dict[int, int] = {}
        for t in shared:
            w = wsrc[t] + wcpy[t]
            for j in where[t]:
                num[j] = num.get(j, 0.0) + w
                count[j] = count.get(j, 0) + 1
        for j, k in count.items():
            if k >= min_shared:
                d = num[j] / (sw + pw[j]) if sw + pw[j] > 0 else 0.0
                if d > floor:
                    out.append(Pair(i, j, k, d))
    return out


def evidence_chain(found: list[Pair], cpy: list[Sentence], chance: float, min_shared: int,
                   max_post_skip: int, min_src: int) -> tuple[float, list[Pair]]:
    """The in-order chain of pairs with the most evidence among those re-telling at least
    `min_src` sentences (counted on both sides: two source sentences merged into one post
    sentence re-tell one sentence's worth): (evidence, pairs), or (0, []). Evidence is Σ (similarity −
    chance) over the chain's pairs, less `chance` for every post sentence inside the chain
    that pairs with nothing (one that could: `min_shared` terms or more; a subhead cannot), as
    if it were a pair at similarity 0. So the post side of a re-told passage must stand
    together, as a rewriter's does, at most `max_post_skip` sentences apart; a same-event
    article's matching sentences lie among sentences of its own. The source side may skip any
    number (a partial or heavy rewrite drops or summarises sentences). A sentence pairs with at
    most two adjacent sentences of the other text (a merge or a split, 1:2 or 2:1)."""
    ps = sorted(found, key=lambda p: (p.i, p.j))
    n = len(ps)
    could = [0]  # post sentences that could pair, before each post sentence (prefix sums)
    for c in cpy:
        could.append(could[-1] + (len(c.terms) >= min_shared))
    best = [0.0] * n
    prev = [-1] * n
    srcs = [1] * n  # distinct source sentences in the chain ending here ...
    posts = [1] * n  # ... and post sentences (a merge or split re-tells one sentence, not two)
    same_i = [1] * n  # pairs in a row on one source sentence (a split) ...
    same_j = [1] * n  # ... or on one post sentence (a merge)
    by_j: dict[int, list[int]] = {}  # post sentence → pairs already visited (all with i ≤ current)
    top, end = 0.0, -1
    for b, pb in enumerate(ps):
        best[b] = pb.dice - chance
        for j in range(max(0, pb.j - max_post_skip - 1), pb.j + 1):
            gap = chance * (could[pb.j] - could[j + 1]) if j < pb.j else 0.0
            for a in by_j.get(j, ()):
                pa = ps[a]
                di = pb.i - pa.i
                if not di and j == pb.j:
                    continue
                ri = same_i[a] + 1 if di == 0 else 1
                rj = same_j[a] + 1 if j == pb.j else 1
                if ri > 2 or rj > 2:
                    continue
                v = best[a] + pb.dice - chance - gap
                if v > best[b]:
                    best[b], prev[b], same_i[b], same_j[b] = v, a, ri, rj
                    srcs[b], posts[b] = srcs[a] + (di > 0), posts[a] + (j < pb.j)
        by_j.setdefault(pb.j, []).append(b)
        if min(srcs[b], posts[b]) >= min_src and best[b] > top:
            top, end = best[b], b
    chain = []
    while end >= 0:
        chain.append(ps[end])
        end = prev[end]
    return top, chain[::-1]


# --- what a person checks in a re-told passage ---------------------------------------------

def kept_words(original: str, retold: str) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """Character ranges of the content words of each text whose term (`_term`: a name or a
    number whole, another word by its stem) the other text also has: what a re-told passage
    kept of its original. A word-order diff would mark nearly every word of a rewrite as
    changed; these are the facts and words that came across, which a reader can check."""
    a, b = tokenize(original), tokenize(retold)
    table = _table(a.words + b.words)  # one passage is too short to tell its language alone
    ta = list(map(table.__getitem__, a.words))
    tb = list(map(table.__getitem__, b.words))
    common = (set(ta) & set(tb)) - _NONE
    return ([(a.starts[k], a.ends[k]) for k, t in enumerate(ta) if t in common],
            [(b.starts[k], b.ends[k]) for k, t in enumerate(tb) if t in common])
