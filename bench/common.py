"""Shared by the benchmarks: loading a labelled set and the naive datasketch baseline."""

from __future__ import annotations

import json
import re
from pathlib import Path

from datasketch import MinHash, MinHashLSH

ROOT = Path(__file__).resolve().parents[1]
DEV = ROOT / ".." / "shared" / "data" / "detect-dev"
_WORD = re.compile(r"\w+")


def load_sources(folder: Path) -> dict[str, str]:
    """source url → text, from a labelled set's sources.jsonl."""
    with open(folder / "sources.jsonl", encoding="utf-8") as fh:
        return {x["url"]: x["text"] for x in map(json.loads, fh)}


def load_set(folder: Path) -> tuple[dict[str, str], dict[str, str], list[dict]]:
    """(source url → text, post url → text, labels); HTML posts go through the extractor."""
    from monitor.extract import extract_page

    sources = load_sources(folder)
    posts = {}
    for line in open(folder / "candidates.jsonl", encoding="utf-8"):
        x = json.loads(line)
        posts[x["url"]] = x["text"] if x.get("text") is not None else extract_page(x["html"], url=x["url"]).text
    labels = [json.loads(line) for line in open(folder / "labels.jsonl", encoding="utf-8")]
    return sources, posts, labels


class Baseline:
    """Word 5-gram shingles, MinHash(num_perm=128), MinHashLSH(threshold=0.5): a hit is a match."""

    def __init__(self) -> None:
        self.lsh = MinHashLSH(threshold=0.5, num_perm=128)

    @staticmethod
    def minhash(text: str) -> MinHash:
        words = _WORD.findall(text.lower())
        shingles = {" ".join(words[i : i + 5]) for i in range(max(1, len(words) - 4))}
        m = MinHash(num_perm=128)
        m.update_batch([s.encode("utf-8") for s in shingles])
        return m

    def add(self, key, text: str) -> None:
        self.lsh.insert(key, self.minhash(text))

    def query(self, text: str) -> list:
        return self.lsh.query(self.minhash(text))
