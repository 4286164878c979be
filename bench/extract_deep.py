"""Deeply nested HTML: extraction time with the depth scan, beside parsing the raw input.

    python bench/extract_deep.py [--sizes 10000,50000,100000] [--raw-max 20000] [--reps 3]

For each size N, pages of N nested tags of several shapes (div, ul/li, table/tr/td,
inline b) with a paragraph at the bottom. Prints the median time of ``extract_page``
(depth scan + flattening + parse + extraction) and, for N up to ``--raw-max``, of Lexbor
parsing the unflattened input (the cost before the scan: quadratic in depth, ~100 s for
100,000 divs, so it is skipped for large N).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from selectolax.lexbor import LexborHTMLParser  # noqa: E402

from bench.timing import median_seconds  # noqa: E402
from monitor.extract import extract_page  # noqa: E402

SHAPES = {"div": ("<div>", "</div>"), "ul/li": ("<ul><li>", "</li></ul>"),
          "table": ("<table><tr><td>", "</td></tr></table>"), "b": ("<b>", "</b>")}
PARA = "<p>The paragraph at the bottom of a page nested far too deep, long enough to count.</p>"


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="10000,50000,100000")
    ap.add_argument("--raw-max", type=int, default=20000, help="largest N whose raw parse is timed")
    ap.add_argument("--reps", type=int, default=3)
    args = ap.parse_args()
    print(f"{'shape':<7} {'N':>7} {'bytes':>9} {'extract':>9} {'raw parse':>10}  reason")
    for n in (int(x) for x in args.sizes.split(",")):
        for shape, (op, cl) in SHAPES.items():
            html = "<html><body>" + op * n + PARA + cl * n + "</body></html>"
            page = extract_page(html)
            ok = "paragraph at the bottom" in page.text
            t = median_seconds(lambda h=html: extract_page(h), args.reps)
            raw = f"{median_seconds(lambda h=html: LexborHTMLParser(h), 1):9.3f}s" if n <= args.raw_max else "   skipped"
            print(f"{shape:<7} {n:>7} {len(html):>9} {t:8.3f}s {raw}  {page.reason!r}{'' if ok else ' TEXT LOST'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
