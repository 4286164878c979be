"""The language of a text, and the rewrite check's terms in languages other than English.

The rewrite check (sentences.py) compares sentences as sets of terms. Its English rule drops
English stopwords and cuts words to 6 letters; in German or Indonesian that keeps the function
words ("der", "sebuah") as terms and parts inflected or affixed forms ("Regierung" and
"Regierungen", "membenci" and "dibenci"). For a text in one of LANGUAGES a term is instead the
word's Snowball stem (snowballstemmer), and a word on that language's stop list (stop-words)
is no term. Malay is read as Indonesian: one stop list (both packages' lists), one stemmer.

The language is the one whose stop list covers most of the text's words, if that is not English
and covers at least MIN_SHARE of them and MIN_STOPWORDS words; otherwise None, and the English
rule applies as before (so an English text's terms are exactly what they were). A stem term
carries its language ("de:regier"), so only texts judged the same language share stems: a
translation is not a re-telling. Numbers are kept whole in every language.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from functools import lru_cache

import snowballstemmer
from stop_words import get_stop_words

from monitor.detect.normalise import STOPWORDS, _fold

# language code → (Snowball algorithm, stop-words lists). Malay shares Indonesian's stemmer:
# the two standard languages share their affixes (meN-, di-, ber-, ke-…-an, -nya, -lah).
LANGUAGES: dict[str, tuple[str, tuple[str, ...]]] = {
    "de": ("german", ("german",)),
    "fr": ("french", ("french",)),
    "es": ("spanish", ("spanish",)),
    "it": ("italian", ("italian",)),
    "pt": ("portuguese", ("portuguese",)),
    "nl": ("dutch", ("dutch",)),
    "id": ("indonesian", ("indonesian", "malaysian")),
}
# A text in a language has a fifth to a half of its words on that language's stop list (README
# "The rewrite check's terms"); the telling words choose the language, this only asks for enough
# of them (a spun Italian copy whose spinner put English words in has 15%).
MIN_SHARE = 0.1
MIN_STOPWORDS = 8  # fewer hits: too little text to tell, the English rule stays
SAMPLE_WORDS = 3000  # the language of an article is plain from its first few thousand words


@lru_cache(maxsize=1)
def stop_lists() -> dict[str, frozenset[str]]:
    """language → its stop words, folded as normalise folds text words ("für" → "fur"). "en"
    only tells English apart (the English rule keeps normalise.STOPWORDS): the words of the
    English list that normalise.STOPWORDS also has, as the list itself has the country codes,
    "http" and "www", which any web page has."""
    out = {"en": frozenset(w for w in get_stop_words("english") if w in STOPWORDS)}
    for lang, (_, lists) in LANGUAGES.items():
        out[lang] = frozenset(_fold(w) for name in lists for w in get_stop_words(name))
    return out


@lru_cache(maxsize=1)
def _telling() -> dict[str, frozenset[str]]:
    """language → the stop words of its list that are on no other list: "de", "la", "que",
    "in" and "a" are on several, and would let a long list outvote the text's real language."""
    lists = stop_lists()
    return {lang: frozenset(w for w in stop.difference(*(s for other, s in lists.items() if other != lang))
                            if len(w) > 1) for lang, stop in lists.items()}


def language(words: list[str]) -> str | None:
    """The language of a text given its normalised words (a key of LANGUAGES), or None for
    English, an unlisted language or too little text to tell: the language with most distinct
    words on its list alone (_telling), if its whole list covers MIN_SHARE of the text."""
    sample = words[:SAMPLE_WORDS]
    owner = _owners()
    # distinct words: a repeated "to" in a dozen links is one; one pass over the text, then
    # only the few telling words it has are counted (a telling word has one language)
    per = Counter(map(owner.__getitem__, owner.keys() & sample))
    best, most = "en", 0
    for lang in _telling():
        n = per[lang]
        if n > most:
            best, most = lang, n
    if best == "en":  # most texts: no count of words needed
        return None
    hits = sum(map(stop_lists()[best].__contains__, sample))
    if hits < MIN_STOPWORDS or hits < MIN_SHARE * len(sample):
        return None
    return best


@lru_cache(maxsize=1)
def _owners() -> dict[str, str]:
    """telling word → its language (_telling's lists are disjoint)."""
    return {w: lang for lang, telling in _telling().items() for w in telling}


def term_function(lang: str, fallback: Callable[[str], str]) -> Callable[[str], str]:
    """The term of a word in a text of language `lang`: "" for a stop word or a lone letter,
    a number whole, a word of another script by `fallback` (the English rule's handling), else
    "lang:stem"."""
    stop = stop_lists()[lang]
    stemmer = snowballstemmer.stemmer(LANGUAGES[lang][0])
    lock = threading.Lock()  # a Snowball stemmer keeps its word in itself while it works
    prefix = lang + ":"

    def term(word: str) -> str:
        if word in stop or (len(word) == 1 and not word.isdigit()):
            return ""
        if word.isdigit():
            return word
        if not word.isascii() and word[0] > "\u02ff":  # past Latin: not this language's word
            return fallback(word)
        with lock:
            return prefix + stemmer.stemWord(word)

    return term
