"""Short lifts: one paragraph of a source inside another post, and what unrelated texts share.

    python bench/detect_lifts.py                      # dev set only
    python bench/detect_lifts.py --background 100000  # the dev sources among synthetic ones

Part 1, negatives (the derivation of the short-lift rule, monitor/detect/README.md): every
pair that is not a copy is aligned (no candidate stage, so nothing is hidden by it): each dev
negative and each same-event article of detect-dev-llm against every source, each labelled
copy against every source it does not copy, and each dev source against every other. For
each pair: the source words in counted blocks (`reused`) and the longest run of identical
words in them. Prints the largest values, and the pairs that would match under the rules.

Part 2, lifts: from each English dev source, a passage of 40, 50, 60 and 80 words starting at
a sentence, verbatim and spun (../shared/tools/spinner.py, seedlike, rate 0.5: about a
quarter of the words replaced), put in the middle of a host post of about 1,000 or 3,000
words made of unrelated dev negatives. Prints candidate and match recall per length, and the
matches of the host alone (must be none).
"""

from __future__ import annotations

import argparse
import random
import re
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import DEV, load_set  # noqa: E402
from monitor.detect import DetectSettings, Detector  # noqa: E402

LLM = DEV.parent / "detect-dev-llm"
TOOLS = Path(__file__).resolve().parents[1] / ".." / "shared" / "tools"
_WORD = re.compile(r"\w+")
_SENT = re.compile(r"(?:^|(?<=[.!?]\s)|(?<=\n))\s*(?=[A-Z\"“])")


def negatives(det: Detector, sources: dict[str, str], posts: dict[str, str], labels: list[dict]) -> None:
    s = det.settings
    groups: dict[str, list[tuple[str, str, str, str]]] = defaultdict(list)  # name -> (post, src, ptext, stext)
    for lab in labels:
        for u, t in sources.items():
            if u == lab["source"]:
                continue
            g = "dev negative x source" if lab["source"] is None else "dev copy x other source"
            groups[g].append((lab["url"], u, posts[lab["url"]], t))
    if (LLM / "labels.jsonl").exists():
        _, lp, ll = load_set(LLM)
        for lab in ll:
            if lab["source"] is None:
                for u, t in sources.items():
                    groups["llm same-event x source"].append((lab["url"], u, lp[lab["url"]], t))
    for a, ta in sources.items():
        for b, tb in sources.items():
            if a != b:
                groups["dev source x other source"].append((a, b, ta, tb))
    print("== negatives: alignment evidence of pairs that are not copies (rewrite check off)")
    print(f"   rules: reused >= {s.min_reused_words}, or >= {s.min_lift_words} with an identical run "
          f">= {s.min_identical_run}, or coverage >= {s.min_coverage}")
    for name, pairs in groups.items():
        t0 = time.perf_counter()
        rows = []
        for pu, su, pt, st in pairs:
            v = det.compare(st, pt)
            rows.append((v.reused, v.longest_run, v.coverage, v.is_match, pu, su))
        top_reused = max(r[0] for r in rows)
        top_run = max(r[1] for r in rows)
        any_block = [r for r in rows if r[0] > 0]
        print(f"  {name:<26} pairs {len(rows):>5}  with a counted block {len(any_block):>3}  "
              f"max reused {top_reused:>4}  max identical run {top_run:>3}  "
              f"matches {sum(r[3] for r in rows)}  ({time.perf_counter() - t0:.0f} s)")
        for r in sorted(any_block, reverse=True)[:4]:
            print(f"      reused {r[0]:>4} run {r[1]:>3} cov {r[2]:.2f} {'MATCH' if r[3] else '     '} "
                  f"{r[4][:60]} <- {r[5][:60]}")


def lifts(det: Detector, texts: dict[int, str], urls: list[str], sources: dict[str, str],
          hosts: list[str], spinner) -> None:
    rnd = random.Random(3)
    stats: dict[tuple, list[int]] = defaultdict(lambda: [0, 0, 0])
    host_fps = 0
    n_cands = []
    for k, u in enumerate(urls):
        src = sources[u]
        if sum(c.isascii() for c in src) < 0.97 * len(src):
            continue
        starts = [m.start() for m in _SENT.finditer(src)]
        words = [(m.start(), m.end()) for m in _WORD.finditer(src)]
        for host_words in (1000, 3000):
            host_parts, n = [], 0
            for h in rnd.sample(hosts, len(hosts)):
                host_parts.append(h)
                n += len(_WORD.findall(h))
                if n >= host_words:
                    break
            host = "\n\n".join(host_parts)
            hw = [m.end() for m in _WORD.finditer(host)]
            cut = host.find("\n", hw[min(len(hw) - 1, host_words // 2)]) if hw else 0
            cut = cut if cut > 0 else len(host)
            for n_lift in (40, 50, 60, 80):
                begin = [i for i, (a, _) in enumerate(words) if a in set(starts)]
                begin = [i for i in begin if i + n_lift <= len(words)]
                if not begin:
                    continue
                i = rnd.choice(begin)
                lift = src[words[i][0]: words[i + n_lift - 1][1]]
                for variant in ("verbatim", "spun"):
                    text = lift if variant == "verbatim" else spinner.spin(lift, 0.5, "seedlike", seed=k)[0]
                    post = host[:cut] + "\n\n" + text + "\n\n" + host[cut:]
                    cands = det.candidates(post)
                    n_cands.append(len(cands))
                    got = [i for i, _ in det.scan(post, lambda ids: {i: texts[i] for i in ids})]
                    st = stats[(host_words, n_lift, variant)]
                    st[0] += 1
                    st[1] += k in cands
                    st[2] += k in got
            got = det.scan(host, lambda ids: {i: texts[i] for i in ids})
            host_fps += sum(1 for i, _ in got if i < len(urls))
    print("== lifts: a passage of a dev source inside an unrelated host post")
    for key in sorted(stats):
        n, c, g = stats[key]
        print(f"  host ~{key[0]:>4} words  lift {key[1]:>2} words {key[2]:<8}  n {n:>3}  "
              f"candidate recall {c / n:.3f}  match recall {g / n:.3f}")
    print(f"  hosts alone: matches {host_fps}; {np.mean(n_cands):.2f} candidates per post, max {max(n_cands)} "
          f"among {len(det)} sources")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--background", type=int, default=0, help="synthetic sources added to the index")
    ap.add_argument("--skip-negatives", action="store_true")
    args = ap.parse_args()
    if not (DEV / "labels.jsonl").exists():
        sys.exit(f"needs the dev set: {DEV}")
    sys.path.insert(0, str(TOOLS))
    try:
        import spinner  # type: ignore[import-not-found]

        spinner.wordnet()
    except (ImportError, OSError) as e:
        sys.exit(f"needs ../shared/tools/spinner.py and wordnet-base: {e}")
    sources, posts, labels = load_set(DEV)
    if not args.skip_negatives:
        negatives(Detector(DetectSettings(rewrites=False)), sources, posts, labels)
    urls = list(sources)
    det = Detector()
    texts = {i: sources[u] for i, u in enumerate(urls)}
    for i, u in enumerate(urls):
        det.add(i, det.signature(sources[u]))
    if args.background:
        from bench.detect_scale import Corpus

        corpus = Corpus(list(sources.values()), seed=11)
        lengths = np.clip(np.random.default_rng(3).lognormal(np.log(650), 0.5, size=args.background), 150, 4000)
        for j, n in enumerate(lengths.astype(int)):
            texts[len(urls) + j] = t = corpus.article(int(n))
            det.add(len(urls) + j, det.signature(t))
    hosts = [posts[lab["url"]] for lab in labels if lab["source"] is None
             and sum(c.isascii() for c in posts[lab["url"]]) > 0.97 * len(posts[lab["url"]])
             and len(posts[lab["url"]]) < 20_000]
    lifts(det, texts, urls, sources, hosts, spinner)


if __name__ == "__main__":
    main()
