"""Extraction benchmark: quality (the article-extraction-benchmark metric) and speed.

    python bench/extract.py [--data ../shared/data/extract-dev] [--reps 5] [--worst 10] [--no-speed]

Metric (as in scrapinghub/article-extraction-benchmark): tokens ``\\w+`` (case kept),
4-token shingle multisets; per page tp/fp/fn normalised to sum 1; precision and recall
averaged over pages; F1 of the averages. Speed: medians over ``--reps`` passes over all
pages, trafilatura ``extract(html, include_comments=False)`` vs ``extract_page`` in the
same process.
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import statistics
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.timing import paired_medians, print_speed  # noqa: E402
from monitor.extract import extract_page  # noqa: E402

_TOKEN = re.compile(r"\w+")


def shingles(text: str, n: int = 4) -> Counter:
    toks = _TOKEN.findall(text or "")
    return Counter(tuple(toks[i : i + n]) for i in range(max(1, len(toks) - n + 1)) if toks[i : i + n])


def tp_fp_fn(true: str, pred: str) -> tuple[float, float, float]:
    t, p = shingles(true), shingles(pred)
    tp = sum((t & p).values())
    fp = sum((p - t).values())
    fn = sum((t - p).values())
    s = tp + fp + fn
    return (tp / s, fp / s, fn / s) if s else (0.0, 0.0, 0.0)


def scores(triples: list[tuple[float, float, float]]) -> tuple[float, float, float]:
    def prec(tp, fp, fn):
        return 1.0 if fp == fn == 0 else 0.0 if tp == fp == 0 else tp / (tp + fp)

    def rec(tp, fp, fn):
        return 1.0 if fp == fn == 0 else 0.0 if tp == fn == 0 else tp / (tp + fn)

    p = statistics.mean(prec(*x) for x in triples if x[0] + x[1] > 0)
    r = statistics.mean(rec(*x) for x in triples if x[0] + x[2] > 0)
    return 2 * p * r / (p + r), p, r


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "extract-dev")
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--worst", type=int, default=0, help="list the N worst pages")
    ap.add_argument("--no-speed", action="store_true")
    args = ap.parse_args()
    if not (args.data / "ground-truth.json").exists():
        print(f"no benchmark data at {args.data}", file=sys.stderr)
        return 2
    truth = json.loads((args.data / "ground-truth.json").read_text(encoding="utf-8"))
    pages = {k: gzip.decompress((args.data / "html" / f"{k}.html.gz").read_bytes()) for k in truth}

    ours = {k: extract_page(pages[k], url=truth[k].get("url")).text for k in truth}
    triples = {k: tp_fp_fn(truth[k]["articleBody"], ours[k]) for k in truth}
    rows = [("this extractor", *scores(list(triples.values())))]
    for peer in sorted((args.data / "peers").glob("*.json")):
        out = json.loads(peer.read_text(encoding="utf-8"))
        out = out.get("output", out)
        tr = [tp_fp_fn(truth[k]["articleBody"], (out.get(k) or {}).get("articleBody") or "") for k in truth]
        rows.append((peer.stem, *scores(tr)))
    rows.sort(key=lambda r: -r[1])
    print(f"{'extractor':<24} {'F1':>6} {'prec':>6} {'recall':>6}   ({len(truth)} pages)")
    for name, f1, p, r in rows:
        mark = "  <==" if name == "this extractor" else ""
        print(f"{name:<24} {f1:6.3f} {p:6.3f} {r:6.3f}{mark}")

    if args.worst:
        print("\nworst pages (F1, precision, recall, id, url):")
        def f1(x):
            tp, fp, fn = x
            return 2 * tp / (2 * tp + fp + fn) if tp else 0.0
        for k in sorted(triples, key=lambda k: f1(triples[k]))[: args.worst]:
            tp, fp, fn = triples[k]
            p = tp / (tp + fp) if tp + fp else 0
            r = tp / (tp + fn) if tp + fn else 0
            print(f"  {f1(triples[k]):.3f} {p:.3f} {r:.3f} {k[:12]} {truth[k]['url'][:90]}")

    if args.no_speed:
        return 0
    try:
        from trafilatura import extract as traf_extract
    except ImportError:
        print("\ntrafilatura not installed (pip install .[bench]): no speed ratio")
        return 0
    html_str = {k: v.decode("utf-8", errors="replace") for k, v in pages.items()}

    def run_ours():
        for k, b in pages.items():
            extract_page(b, url=truth[k].get("url"))

    def run_traf():
        for h in html_str.values():
            traf_extract(h, include_comments=False)

    mo, mt = paired_medians(run_ours, run_traf, args.reps)
    print_speed(len(pages), mo, mt, args.reps)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
