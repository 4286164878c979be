"""Do partial AI re-tellings keep the source's order of facts more than same-event articles do?

    python bench/detect_fact_order.py

For every held-out post (bench/data/llm-heldout) against its source: the names and numbers it
shares with the source (a word with a digit, or capitalised inside a sentence), each at its first
mention in either text, and the longest run of them in the same order in both (a longest
increasing subsequence), as a share of those shared. Printed per kind, with the count shared.
A measurement for monitor/detect/README.md (seventh round), not a rule of the detector.
"""

from __future__ import annotations

import bisect
import re
import statistics
import sys
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import DEV, load_sources  # noqa: E402
from bench.detect_rewrites import extract_articles, heldout_items  # noqa: E402

_WORD = re.compile(r"\w+")
_SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+")


def facts(text: str) -> list[str]:
    """Names and numbers in order of first mention, lower-cased."""
    out: list[str] = []
    seen: set[str] = set()
    for sentence in _SENTENCE.split(text):
        for k, w in enumerate(_WORD.findall(sentence)):
            if len(w) > 1 and (any(c.isdigit() for c in w) or (k > 0 and w[0].isupper())):
                lw = w.lower()
                if lw not in seen:
                    seen.add(lw)
                    out.append(lw)
    return out


def in_order(seq: list[int]) -> int:
    """Length of the longest increasing subsequence."""
    tails: list[int] = []
    for x in seq:
        i = bisect.bisect_left(tails, x)
        tails[i:i + 1] = [x]
    return len(tails)


def main() -> None:
    sources = load_sources(DEV)
    sources.update(extract_articles())
    by_kind: dict[str, list[tuple[float, int]]] = defaultdict(list)
    for it in heldout_items():
        if it["source"] not in sources:
            continue
        where = {w: i for i, w in enumerate(facts(sources[it["source"]]))}
        seq = [where[w] for w in facts(it["text"]) if w in where]
        if seq:
            by_kind[it["kind"]].append((in_order(seq) / len(seq), len(seq)))
    print("share of shared names and numbers in the source's order (held-out posts against their source):")
    for kind, v in sorted(by_kind.items()):
        shares = [s for s, _ in v]
        counts = [n for _, n in v]
        print(f"  {kind:<20} {len(v):2d} posts: share {min(shares):.2f}-{max(shares):.2f} "
              f"(median {statistics.median(shares):.2f}); shared {min(counts)}-{max(counts)}")


if __name__ == "__main__":
    main()
