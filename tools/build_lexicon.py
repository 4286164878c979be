"""Build monitor/detect/data/wordnet-words.zlib from WordNet 3.0 (Debian: wordnet-base).

    apt-get install wordnet-base && python tools/build_lexicon.py [/usr/share/wordnet]

Output: the single-word lemmas of WordNet's index files (the exact forms a thesaurus-driven
spinner can look up and replace), lower-case, one per line, zlib-compressed. The detector
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

words: set[str] = set()
for pos in ("noun", "verb", "adj", "adv"):
    for line in open(WN / f"index.{pos}", encoding="latin-1"):
        if line.startswith("  "):
            continue
        lemma = line.split(" ", 1)[0]
        if "_" not in lemma and "-" not in lemma and lemma.isalnum():
            words.add(lemma.lower())
data = "\n".join(sorted(words)).encode("utf-8")
OUT.write_bytes(zlib.compress(data, 9))
print(f"{len(words)} words, {OUT.stat().st_size} bytes → {OUT}")
