"""Precision, recall by kind and false positives of the detector and of a naive baseline.

    python bench/detect.py [labelled-set-folder]      # default ../shared/data/detect-dev

The folder holds sources.jsonl {url, text}, candidates.jsonl {url, text | html} and
labels.jsonl {url, source, kind} (source null: must not match anything).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import DEV, Baseline, load_set  # noqa: E402
from monitor.detect import semantic  # noqa: E402
from monitor.detect import DetectSettings, Detector  # noqa: E402

_EXPECTED_KIND = {"spun": "spun_copy", "partial": "partial_copy", "copy": "copy"}


def report(name: str, labels: list[dict], found: dict[str, list[str]], kinds: dict[str, dict[str, str]]) -> None:
    by_kind: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    tp = fp = 0
    fp_posts = []
    kind_ok = kind_n = 0
    for lab in labels:
        got = found.get(lab["url"], [])
        for src in got:
            if src == lab["source"]:
                tp += 1
            else:
                fp += 1
                fp_posts.append((lab["url"], src))
        if lab["source"]:
            hit = lab["source"] in got
            by_kind[lab["kind"]][0] += hit
            by_kind[lab["kind"]][1] += 1
            family = lab["kind"].split("-")[0]
            if hit and family in _EXPECTED_KIND and kinds:
                kind_n += 1
                kind_ok += kinds[lab["url"]][lab["source"]] == _EXPECTED_KIND[family]
    positives = sum(n for _, n in by_kind.values())
    print(f"== {name}")
    print(f"  precision {tp / max(1, tp + fp):.3f}   recall {tp / max(1, positives):.3f}   "
          f"false-positive matches {fp}")
    for kind in sorted(by_kind):
        k, n = by_kind[kind]
        print(f"  recall {kind:<22} {k / n:.3f}  ({k}/{n})")
    if kinds:
        print(f"  verdict kind right on {kind_ok}/{kind_n} found copies")
    for post, src in fp_posts[:10]:
        print(f"  FALSE POSITIVE {post} -> {src}")


def run_detector(settings: DetectSettings, sources: dict[str, str], posts: dict[str, str], labels: list[dict],
                 urls: list[str]) -> None:
    det = Detector(settings)
    for i, u in enumerate(urls):
        det.add(i, det.signature(sources[u]))
    found: dict[str, list[str]] = {}
    kinds: dict[str, dict[str, str]] = {}
    cand_total = cand_true = positives = folded = 0
    times = []
    for lab in labels:
        text = posts[lab["url"]]
        t0 = time.perf_counter()
        cands = det.candidates(text)
        matches = det.scan(text, lambda ids: {i: sources[urls[i]] for i in ids})
        times.append(time.perf_counter() - t0)
        cand_total += len(cands)
        if lab["source"]:
            positives += 1
            cand_true += urls.index(lab["source"]) in cands
        found[lab["url"]] = [urls[i] for i, _ in matches]
        kinds[lab["url"]] = {urls[i]: v.kind for i, v in matches}
        folded += sum(len(v.related) for _, v in matches)
    report("detector (windowed MinHash candidates + spin-tolerant alignment)"
           + (", semantic tier ON" if settings.semantic else ", semantic tier off"), labels, found, kinds)
    print(f"  candidate stage: recall {cand_true / max(1, positives):.3f}, "
          f"{cand_total / len(labels):.2f} candidates per post (false-positive candidates "
          f"{cand_total - cand_true}); median {statistics.median(times) * 1e3:.1f} ms per post "
          f"(candidates + verification)")
    print(f"  related sources folded into a better match on the same post: {folded}")



def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("folder", nargs="?", default=str(DEV))
    args = ap.parse_args()
    folder = Path(args.folder)
    if not (folder / "labels.jsonl").exists():
        sys.exit(f"no labelled set at {folder} (needs sources.jsonl, candidates.jsonl, labels.jsonl)")
    sources, posts, labels = load_set(folder)
    urls = list(sources)
    print(f"{len(sources)} sources, {len(labels)} labelled posts "
          f"({sum(1 for l in labels if not l['source'])} negatives) from {folder}")

    # The semantic tier (monitor/detect/semantic.py) is optional: with its extra installed,
    # the detector is scored without it and with it, in the same run.
    tiers = [False, True] if semantic.available() else [False]
    for sem in tiers:
        run_detector(DetectSettings(semantic=sem), sources, posts, labels, urls)

    base = Baseline()
    for i, u in enumerate(urls):
        base.add(i, sources[u])
    bfound = {}
    btimes = []
    for lab in labels:
        t0 = time.perf_counter()
        bfound[lab["url"]] = [urls[i] for i in base.query(posts[lab["url"]])]
        btimes.append(time.perf_counter() - t0)
    report("baseline (word 5-gram MinHash, MinHashLSH threshold 0.5, num_perm 128)", labels, bfound, {})
    print(f"  median {statistics.median(btimes) * 1e3:.1f} ms per post")


if __name__ == "__main__":
    main()
