"""Build monitor/detect/data/{wordnet-words,common-words}.zlib from WordNet 3.0 (wordnet-base).

    apt-get install wordnet-base && python tools/build_lexicon.py [/usr/share/wordnet]

Output: the single-word lemmas of WordNet's index files (the forms a thesaurus-driven
spinner can look up and replace) and the irregular forms of its exception lists, lower-case, one per line, zlib-compressed. The detector
treats content words *outside* this list as immutables (DSpin, NDSS 2014): names, numbers,
inflected forms and rare words that a spinner leaves alone. WordNet's licence is shipped
beside the data (data/WORDNET-LICENSE). Changing the data changes fingerprints: bump
SIGNATURE_VERSION in monitor/detect/index.py when you rebuild it.
"""

from __future__ import annotations

import sys
import zlib
from pathlib import Path

WN = Path(sys.argv[1] if len(sys.argv) > 1 else "/usr/share/wordnet")
OUT = Path(__file__).resolve().parents[1] / "monitor" / "detect" / "data" / "wordnet-words.zlib"
COMMON = OUT.with_name("common-words.zlib")
N_COMMON = 1000

words: set[str] = set()
for pos in ("noun", "verb", "adj", "adv"):
    for line in open(WN / f"index.{pos}", encoding="latin-1"):
        if line.startswith("  "):
            continue
        lemma = line.split(" ", 1)[0]
        if "_" not in lemma and "-" not in lemma and lemma.isalnum():
            words.add(lemma.lower())
# Irregular inflections ("held", "children", "better"): known words too, not immutables.
for pos in ("noun", "verb", "adj", "adv"):
    for line in open(WN / f"{pos}.exc", encoding="latin-1"):
        form = line.split(" ", 1)[0]
        if "_" not in form and "-" not in form and form.isalnum():
            words.add(form.lower())
data = "\n".join(sorted(words)).encode("utf-8")
OUT.write_bytes(zlib.compress(data, 9))
print(f"{len(words)} words, {OUT.stat().st_size} bytes → {OUT}")

# The most frequent content words: lemmas ranked by their sense-tagged counts in SemCor
# (WordNet's cntlist.rev). They are in every text, so they are no evidence of a copy, and
# they are exactly what a spinner replaces first; the index leaves them out of fingerprints.
counts: dict[str, int] = {}
for line in open(WN / "cntlist.rev", encoding="latin-1"):
    key, _, n = line.split()
    lemma = key.split("%", 1)[0]
    if "_" not in lemma and lemma.isalpha():
        counts[lemma] = counts.get(lemma, 0) + int(n)
top = sorted(counts, key=lambda w: -counts[w])[:N_COMMON]
COMMON.write_bytes(zlib.compress("\n".join(sorted(top)).encode("utf-8"), 9))
print(f"{len(top)} common words → {COMMON}")
