"""The words a thesaurus-driven spinner can replace, and hence those it cannot.

Package data: data/wordnet-words.zlib, the single-word lemmas of WordNet 3.0 (built by
tools/build_lexicon.py; licence in data/WORDNET-LICENSE). Loaded once, lazily, through
importlib.resources: the detector does no other I/O.
"""

from __future__ import annotations

import zlib
from functools import lru_cache
from importlib import resources


@lru_cache(maxsize=1)
def thesaurus_words() -> frozenset[str]:
    raw = resources.files("monitor.detect").joinpath("data/wordnet-words.zlib").read_bytes()
    return frozenset(zlib.decompress(raw).decode("utf-8").split("\n"))


def is_immutable(word: str) -> bool:
    """A content word a spinner has no synonym for: not a thesaurus headword (names,
    numbers, inflected forms like "meetings" or "held", rare and foreign words)."""
    return word not in thesaurus_words()
