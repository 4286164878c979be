"""The words a thesaurus-driven spinner can replace, and hence those it cannot.

Package data: data/wordnet-words.zlib, the single-word lemmas of WordNet 3.0 (built by
tools/build_lexicon.py; licence in data/WORDNET-LICENSE). Loaded once, lazily, through
importlib.resources: the detector does no other I/O.
"""

from __future__ import annotations

import zlib
from functools import lru_cache
from importlib import resources

from monitor.detect.normalise import is_content


@lru_cache(maxsize=1)
def thesaurus_words() -> frozenset[str]:
    raw = resources.files("monitor.detect").joinpath("data/wordnet-words.zlib").read_bytes()
    return frozenset(zlib.decompress(raw).decode("utf-8").split("\n"))


@lru_cache(maxsize=1)
def common_words() -> frozenset[str]:
    raw = resources.files("monitor.detect").joinpath("data/common-words.zlib").read_bytes()
    return frozenset(zlib.decompress(raw).decode("utf-8").split("\n"))


def _base_forms(word: str):
    yield word
    for end, repl in _SUFFIXES:
        if word.endswith(end) and len(word) > len(end) + 1:
            yield word[: -len(end)] + repl


@lru_cache(maxsize=200_000)
def is_common(word: str) -> bool:
    """One of the ~1000 most frequent English content words (or an inflection of one):
    "year", "people", "government". Shared by any two texts; first in a spinner's line."""
    common = common_words()
    return any(b in common for b in _base_forms(word))


# Regular inflections, WordNet's "morphy" rules: a word that is a known word once one of
# these endings is replaced is an ordinary (if inflected) English word, not an immutable.
_SUFFIXES = (("ies", "y"), ("ses", "s"), ("xes", "x"), ("zes", "z"), ("ches", "ch"), ("shes", "sh"),
             ("men", "man"), ("es", "e"), ("es", ""), ("s", ""), ("ed", "e"), ("ed", ""),
             ("ing", "e"), ("ing", ""), ("er", ""), ("est", ""), ("er", "e"), ("est", "e"), ("ly", ""))


@lru_cache(maxsize=200_000)
def is_immutable(word: str) -> bool:
    """A content word no thesaurus has an entry for: names, numbers, codes, rare and foreign
    words. These survive any spinner (DSpin's immutables), so they identify a spun copy.
    Inflected forms of known words ("meetings", "held") are not immutables: they are common,
    and a spinner that lemmatises replaces them."""
    known = thesaurus_words()
    return not any(b in known for b in _base_forms(word))


@lru_cache(maxsize=200_000)
def is_feature(word: str) -> bool:
    """A word that goes into fingerprints: a content word that is not one of the commonest."""
    return is_content(word) and not is_common(word)
