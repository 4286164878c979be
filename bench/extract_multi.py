"""Multilingual extraction benchmark: segments to keep and to drop, beside trafilatura.

    python bench/extract_multi.py [--data ../shared/data/extract-dev-multi] [--reps 3]
                                  [--worst 10] [--empty] [--no-speed] [--no-trafilatura]
                                  [--half a|b]

Scoring (the benchmark's own rule, see the data set's README): whitespace is collapsed in
the output and in each segment; a ``with`` segment found in the output is a true positive,
missed a false negative; a ``without`` segment found is a false positive, absent a true
negative. Precision, recall, accuracy and F1 are over all segments of all pages. "empty"
counts pages whose output is empty although they have ``with`` segments.

Both extractors are run in the same process on the same pages: ``extract_page`` gets the
page bytes (decoding included), trafilatura ``extract(html, include_comments=False)`` the
text decoded as UTF-8. Speed: medians over ``--reps`` passes, and their ratio.

``--half a`` / ``--half b`` score one of two fixed halves of the pages (split by a hash of
the page key): develop a rule on one half, confirm it generalises on the other.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.timing import paired_medians, print_speed  # noqa: E402
from monitor.extract import extract_page  # noqa: E402

_WS = re.compile(r"\s+")


def norm(text: str) -> str:
    return _WS.sub(" ", text or "").strip()


class Tally:
    def __init__(self) -> None:
        self.tp = self.fn = self.fp = self.tn = self.empty = 0

    def add(self, output: str, seg: dict) -> tuple[int, int]:
        out = norm(output)
        miss = fpos = 0
        for s in seg.get("with", []):
            if norm(s) in out:
                self.tp += 1
            else:
                self.fn += 1
                miss += 1
        for s in seg.get("without", []):
            if norm(s) in out:
                self.fp += 1
                fpos += 1
            else:
                self.tn += 1
        if not out and seg.get("with"):
            self.empty += 1
        return miss, fpos

    def figures(self) -> tuple[float, float, float, float]:
        p = self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0
        r = self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0
        f1 = 2 * p * r / (p + r) if p + r else 0.0
        n = self.tp + self.fn + self.fp + self.tn
        acc = (self.tp + self.tn) / n if n else 0.0
        return f1, p, r, acc


def half_of(key: str) -> str:
    """'a' or 'b', fixed per page: the first byte of the key's SHA-1, even or odd."""
    return "ab"[hashlib.sha1(key.encode("utf-8")).digest()[0] & 1]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "extract-dev-multi")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--worst", type=int, default=0, help="list the N pages with most missed/false segments")
    ap.add_argument("--empty", action="store_true", help="list pages whose output is empty")
    ap.add_argument("--no-speed", action="store_true")
    ap.add_argument("--no-trafilatura", action="store_true")
    ap.add_argument("--half", choices=("a", "b"), help="score only one half (split by a hash of the key)")
    args = ap.parse_args()
    if not (args.data / "segments.json").exists():
        print(f"no benchmark data at {args.data}", file=sys.stderr)
        return 2
    segs = json.loads((args.data / "segments.json").read_text(encoding="utf-8"))
    if args.half:
        segs = {k: v for k, v in segs.items() if half_of(k) == args.half}
    pages = {k: gzip.decompress((args.data / "html" / f"{k}.html.gz").read_bytes()) for k in segs}

    traf_extract = None
    if not args.no_trafilatura:
        try:
            from trafilatura import extract as traf_extract
        except ImportError:
            print("trafilatura not installed (pip install .[bench]): ours alone")
    html_str = {k: v.decode("utf-8", errors="replace") for k, v in pages.items()}

    ours_tally, per_page, reasons = Tally(), {}, {}
    for k, seg in segs.items():
        page = extract_page(pages[k], url=seg.get("url"))
        per_page[k] = ours_tally.add(page.text, seg)
        if page.reason:
            reasons[page.reason.split(":")[0]] = reasons.get(page.reason.split(":")[0], 0) + 1
        if args.empty and not norm(page.text) and seg.get("with"):
            print(f"  empty: {k} {page.reason!r} {seg.get('url', '')[:90]}")
    rows = [("this extractor", ours_tally)]
    if traf_extract is not None:
        traf_tally = Tally()
        for k, seg in segs.items():
            traf_tally.add(traf_extract(html_str[k], include_comments=False) or "", seg)
        rows.append(("trafilatura", traf_tally))

    print(f"{'extractor':<16} {'F1':>6} {'prec':>6} {'recall':>6} {'acc':>6} {'empty':>6}   ({len(segs)} pages)")
    for name, t in rows:
        f1, p, r, acc = t.figures()
        print(f"{name:<16} {f1:6.3f} {p:6.3f} {r:6.3f} {acc:6.3f} {t.empty:6d}")
    if reasons:
        print("reasons given:", ", ".join(f"{r!r} {n}" for r, n in sorted(reasons.items(), key=lambda x: -x[1])))

    if args.worst:
        print("\nworst pages (missed with, found without, key, url):")
        for k in sorted(per_page, key=lambda k: -(per_page[k][0] + per_page[k][1]))[: args.worst]:
            miss, fpos = per_page[k]
            print(f"  {miss:2d} {fpos:2d} {k} {segs[k].get('url', '')[:90]}")

    if args.no_speed or traf_extract is None:
        return 0

    def run_ours() -> None:
        for k, b in pages.items():
            extract_page(b, url=segs[k].get("url"))

    def run_traf() -> None:
        for h in html_str.values():
            traf_extract(h, include_comments=False)

    mo, mt = paired_medians(run_ours, run_traf, args.reps)
    print_speed(len(pages), mo, mt, args.reps)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
