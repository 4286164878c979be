"""Text → normalised word tokens with character offsets into the text as given.

Spinners change case, punctuation and diacritics freely, so a token is a run of word
characters (`\\w+`), NFKC-normalised, case-folded and stripped of combining marks.
Normalisation is applied per token, so offsets stay those of the original text even where
NFKC changes lengths (ligatures, full-width forms).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from itertools import accumulate

_WORD = re.compile(r"\w+", re.UNICODE)
_SPLIT = re.compile(r"(\w+)", re.UNICODE)
# A letter outside ASCII: a text without one has no word to fold (curly quotes, dashes and
# other non-ASCII punctuation are enough to make `str.isascii` false).
_NON_ASCII_LETTER = re.compile(r"[^\W\x00-\x7f]", re.UNICODE)


@dataclass(frozen=True, slots=True)
class Tokens:
    """Parallel lists: normalised form, start and end offset of each word in the text."""

    words: list[str]
    starts: list[int]
    ends: list[int]
    truncated: bool = False  # the text had more words than were kept

    def __len__(self) -> int:
        return len(self.words)


@lru_cache(maxsize=200_000)
def _fold(word: str) -> str:
    if word.isascii():
        return word.lower()
    w = unicodedata.normalize("NFKC", word).casefold()
    if not w.isascii():
        # "café" and "cafe" are the same word to a reader and to a spinner's lexicon.
        w = "".join(c for c in unicodedata.normalize("NFKD", w) if not unicodedata.combining(c))
    return w


def tokenize(text: str, max_words: int | None = None) -> Tokens:
    """Words of `text` (at most `max_words`, the rest dropped and `truncated` set)."""
    low = text.lower()
    if len(low) != len(text):  # a rare letter whose lower case is longer ("İ"): the slow way
        return _tokenize_slow(text, max_words)
    # split keeps the words at odd places and what lies between them at even places; the
    # running sum of the pieces' lengths gives every offset, all in C (no match objects)
    pieces = _SPLIT.split(low)
    ws = pieces[1::2]
    offsets = list(accumulate(map(len, pieces)))
    starts, ends = offsets[0 : 2 * len(ws) : 2], offsets[1::2]
    truncated = max_words is not None and len(ws) > max_words
    if truncated:
        ws, starts, ends = ws[:max_words], starts[:max_words], ends[:max_words]
    if not text.isascii():
        ws = _fold_all(ws, low)
    return Tokens(ws, starts, ends, truncated)


class _Folded(dict):
    """word → folded word, worked out once per distinct word: a text's words are then one
    C-level `map` (no Python call per word). Starts again empty when full."""

    max_words = 200_000

    def __missing__(self, word: str) -> str:
        if len(self) >= self.max_words:
            self.clear()
        f = self[word] = word if word.isascii() else _fold(word)
        return f


_FOLDED = _Folded()


def _fold_all(ws: list[str], low: str) -> list[str]:
    """`ws` with its non-ASCII words folded. Only those words are looked up: an English text
    has a handful (a name with an accent), found by one C-level pass of `str.isascii` and
    `list.index`, not by a Python step per word."""
    ascii_ = list(map(str.isascii, ws))
    try:
        k = ascii_.index(False)
    except ValueError:
        return ws
    out = ws[:]
    while True:
        out[k] = _FOLDED[ws[k]]
        try:
            k = ascii_.index(False, k + 1)
        except ValueError:
            return out


def _tokenize_slow(text: str, max_words: int | None) -> Tokens:
    words: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    truncated = False
    for m in _WORD.finditer(text):
        if max_words is not None and len(words) >= max_words:
            truncated = True
            break
        words.append(_fold(m.group()))
        starts.append(m.start())
        ends.append(m.end())
    return Tokens(words, starts, ends, truncated)


def words(text: str, max_words: int | None = None) -> tuple[list[str], bool]:
    """The normalised words of `text` without offsets (fingerprinting: the hot path), and
    whether the text was truncated. Same words as `tokenize`."""
    low = text.lower()
    if len(low) != len(text):
        t = _tokenize_slow(text, max_words)
        return t.words, t.truncated
    ws = _WORD.findall(low)
    if not text.isascii():  # curly quotes are enough: fold only the words that need it
        ws = _fold_all(ws, low)
    if max_words is not None and len(ws) > max_words:
        return ws[:max_words], True
    return ws, False


# Words a spinner's lexicon rarely has an entry for and that every English text is full of.
# They carry no evidence on their own (every article shares them), so they never seed a
# candidate or an alignment; they still count as aligned words inside a passage.
STOPWORDS: frozenset[str] = frozenset(
    """a about above after again against all also am an and any are as at be because been
    before being below between both but by can could did do does doing down during each few
    for from further had has have having he her here hers herself him himself his how i if in
    into is it its itself just me more most my myself no nor not now of off on once only or
    other our ours ourselves out over own s same she should so some such t than that the
    their theirs them themselves then there these they this those through to too under until
    up very was we were what when where which while who whom why will with would you your
    yours yourself yourselves ve d ll m re o y said says say one two new like get got make
    made may might must much many even well back way since still yet per via told according
    don didn doesn isn wasn aren weren won wouldn couldn shouldn hasn haven hadn let us""".split()
)

# The same for the languages most often met on blogs besides English: a post in Portuguese
# shares "que", "de", "uma" with every other Portuguese text, which is no evidence of copying.
STOPWORDS |= frozenset(
    """de la le les des du un une et est en que qui pour pas au aux ce ces dans sur par plus
    il elle ils nous vous je on se sa son ses mais ou donc avec comme tout été être avoir
    el los las del y es por con para una lo al su sus como pero más este esta hay ser fue
    o os as da do das dos em no na nos nas um uma com não mais ao ele ela seu sua isso é
    der die das den dem des ein eine einer und ist im zu mit von auf für nicht sich auch es
    sie er wir ich dass wie aber oder bei aus nach noch nur wird sind hat werden
    il lo gli di che è per non una con del della dei delle si sono anche ma più come
    yang dan di ke dari ini itu dengan untuk dalam tidak ada akan pada juga kita saya
    het een van en te dat op voor met zijn niet aan ook als bij""".split()
)


def is_content(word: str) -> bool:
    """A word that can identify a text: not a stopword, and not a lone letter."""
    return word not in STOPWORDS and (len(word) > 1 or word.isdigit())
