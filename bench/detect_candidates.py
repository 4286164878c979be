"""The candidate step of another commit against this tree's, on one index, same posts.

    python bench/detect_candidates.py --old main --sources 100000     # ≈ 2 min on 2 cores
    python bench/detect_candidates.py --old 07c7b65 --sources 20000 --rounds 3

`monitor/detect/index.py` (and `normalise.py`) of `--old` are read with `git show` and
imported under other names; both indexes are built from the same signatures (made by this
tree: the signatures of both are checked equal on a sample first), and both answer the same
posts (the scale bench's synthetic sources and posts: `bench/detect_scale.py`), post by post
in alternating order, so that the machine's load falls on both alike. Candidate lists must be
equal (asserted); the figures are CPU time (one core), new / old per round and its median.
"""

from __future__ import annotations

import argparse
import importlib.util
import multiprocessing as mp
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import DEV, load_sources  # noqa: E402
from bench.detect_scale import Corpus, _sig, spin_random  # noqa: E402
from monitor.detect import DetectSettings, Detector  # noqa: E402
from monitor.detect import normalise as new_normalise  # noqa: E402
from monitor.detect.lexicon import is_feature  # noqa: E402


def _module(name: str, source: str) -> object:
    spec = importlib.util.spec_from_loader(name, loader=None)
    assert spec is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    exec(compile(source, f"<{name}>", "exec"), mod.__dict__)  # noqa: S102 - a commit of this repository
    return mod


def old_modules(ref: str) -> tuple:
    show = lambda path: subprocess.run(["git", "-C", str(ROOT), "show", f"{ref}:{path}"],  # noqa: E731
                                       check=True, capture_output=True, text=True).stdout
    norm = _module("old_normalise", show("monitor/detect/normalise.py"))
    index = _module("old_index", show("monitor/detect/index.py").replace("from monitor.detect.normalise",
                                                                          "from old_normalise"))
    return norm, index


class Old:
    """The old commit's candidate step, as its Detector ran it."""

    def __init__(self, norm, index, s: DetectSettings) -> None:
        self.norm, self.s = norm, s
        self.h = index.WindowHasher(s.window, s.bands, s.rows, s.post_step)
        self.idx = index.BandIndex(s.max_postings)
        self.table = index.WordTable(self.h, is_feature)
        self.parts = index.signature_parts

    def add(self, sid: int, sig: bytes) -> None:
        self.idx.add_bytes(sid, *self.parts(self.h, sig))

    def _cands(self, content, n: int) -> list[int]:
        s = self.s
        hits = self.idx.hits(self.h.post_keys(content), s.max_postings, s.min_hits, s.min_scattered_hits)
        return [sid for sid, _ in hits][: s.max_candidates * max(1, -(-n // 1000))]

    def candidates(self, text: str) -> list[int]:
        return self._cands(*self.table.encode(text, self.s.max_words))

    def scan_stage(self, words: list[str]) -> list[int]:
        return self._cands(*self.table.encode_words(words))


class New:
    def __init__(self, s: DetectSettings) -> None:
        self.det = Detector(s)

    def add(self, sid: int, sig: bytes) -> None:
        self.det.add(sid, sig)

    def candidates(self, text: str) -> list[int]:
        return self.det.candidates(text)

    def scan_stage(self, words: list[str]) -> list[int]:
        return self.det._candidates(*self.det._table.encode_words(words))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--old", default="main", help="git commit or branch of the old code")
    ap.add_argument("--sources", type=int, default=100_000)
    ap.add_argument("--posts", type=int, default=600)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    norm, index = old_modules(args.old)
    s = DetectSettings()
    corpus = Corpus(list(load_sources(Path(DEV)).values()))
    rng = np.random.default_rng(7)
    lengths = np.clip(rng.lognormal(np.log(650), 0.5, size=args.sources), 150, 4000).astype(int)
    texts = [corpus.article(int(k)) for k in lengths]
    with mp.Pool(args.workers) as pool:
        sigs = pool.map(_sig, enumerate(texts), chunksize=500)
    old, new = Old(norm, index, s), New(s)
    for sid, sig in sigs[:: max(1, len(sigs) // 2000)]:  # the same signatures from both
        ph, n = old.table.encode(texts[sid], s.max_words)
        keys, wins = old.h.source_keys(ph, s.key_budget, s.min_bands)
        assert index.pack_signature(old.h, n, keys, wins) == sig, sid
    for name, part in (("old", old), ("new", new)):
        c0 = time.process_time()
        for sid, sig in sigs:
            part.add(sid, sig)
        nbytes = part.idx.nbytes() if part is old else part.det.index_bytes()
        print(f"{name}: index built in {time.process_time() - c0:.2f} s CPU, {nbytes / args.sources:.2f} bytes a source")
    posts = [spin_random(texts[int(rng.integers(len(texts)))], 0.3, corpus.vocab, rng) if k % 10 == 0
             else corpus.article(700) for k in range(args.posts)]
    words = {p: new_normalise.tokenize(p, s.max_words).words for p in posts}
    n_cands = 0
    for p in posts:
        got = old.candidates(p)
        assert got == new.candidates(p) == old.scan_stage(words[p]) == new.scan_stage(words[p])
        n_cands += len(got)
    print(f"{len(posts)} posts: the same candidates, old and new ({n_cands / len(posts):.2f} a post)")
    for stage, arg in (("candidates()", lambda p: p), ("scan() stage from the words", lambda p: words[p])):
        ratios, cpu_old, cpu_new = [], [], []
        for r in range(args.rounds):
            spent = {"old": 0.0, "new": 0.0}
            for k, p in enumerate(posts):
                pair = [("old", old), ("new", new)] if (k + r) % 2 else [("new", new), ("old", old)]
                for name, part in pair:
                    f = part.candidates if stage == "candidates()" else part.scan_stage
                    x = arg(p)
                    c0 = time.process_time()
                    f(x)
                    spent[name] += time.process_time() - c0
            ratios.append(spent["new"] / spent["old"])
            cpu_old.append(spent["old"])
            cpu_new.append(spent["new"])
        o, n = statistics.median(cpu_old), statistics.median(cpu_new)
        print(f"{stage}: new / old CPU {statistics.median(ratios):.3f} (rounds "
              f"{', '.join(f'{x:.3f}' for x in ratios)}); old {len(posts) / o:.0f} posts/s "
              f"({o / len(posts) * 1e3:.3f} ms), new {len(posts) / n:.0f} posts/s ({n / len(posts) * 1e3:.3f} ms)")


if __name__ == "__main__":
    main()
