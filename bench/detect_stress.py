"""Recall on spun copies made here with the shared spinner, harder than the dev set.

    python bench/detect_stress.py [--rates 0.5 0.9] [--dev ../shared/data/detect-dev]

Each dev source is spun whole and, separately, a third of its paragraphs is spun and put in
the middle of an unrelated article (a dev negative), with ../shared/tools/spinner.py
(needs `apt-get install wordnet-base`), strategies random and seedlike, at each rate (the
share of words with a thesaurus entry the spinner tries to replace; the share of all words
actually replaced is printed). Prints candidate and match recall by kind, and false positives.

    python bench/detect_stress.py --background 100000

puts the dev sources among that many synthetic sources (bench/detect_scale.py's generator:
recombined sentences of the dev sources themselves, so they share vocabulary and sentence
skeletons with them): recall where chance candidates compete for the `max_candidates` places
and where the stop-key rule (keys held by many sources are skipped) is in force.
"""

from __future__ import annotations

import argparse
import random
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import DEV, load_set  # noqa: E402
from monitor.detect import Detector  # noqa: E402

TOOLS = Path(__file__).resolve().parents[1] / ".." / "shared" / "tools"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dev", default=str(DEV))
    ap.add_argument("--rates", type=float, nargs="+", default=[0.5, 0.9])
    ap.add_argument("--background", type=int, default=0, help="synthetic sources added to the index")
    args = ap.parse_args()
    sys.path.insert(0, str(TOOLS))
    try:
        import spinner  # type: ignore[import-not-found]

        spinner.wordnet()
    except (ImportError, OSError) as e:
        sys.exit(f"needs ../shared/tools/spinner.py and wordnet-base: {e}")
    sources, posts, labels = load_set(Path(args.dev))
    hosts = [posts[l["url"]] for l in labels if l["source"] is None
             and sum(c.isascii() for c in posts[l["url"]]) > 0.97 * len(posts[l["url"]])
             and len(posts[l["url"]]) < 20_000]
    rnd = random.Random(5)
    urls = list(sources)
    det = Detector()
    for i, u in enumerate(urls):
        det.add(i, det.signature(sources[u]))
    texts = {i: sources[u] for i, u in enumerate(urls)}
    if args.background:
        from bench.detect_scale import Corpus

        corpus = Corpus(list(sources.values()), seed=11)
        lengths = np.clip(np.random.default_rng(3).lognormal(np.log(650), 0.5, size=args.background), 150, 4000)
        for j, n in enumerate(lengths.astype(int)):
            texts[len(urls) + j] = t = corpus.article(int(n))
            det.add(len(urls) + j, det.signature(t))
    n_cands = []
    stats: dict[str, list[float]] = defaultdict(lambda: [0, 0, 0, 0.0])
    fps = 0
    for k, u in enumerate(urls):
        paras = [p for p in sources[u].split("\n") if p.strip()]
        for strategy in ("random", "seedlike"):
            for rate in args.rates:
                whole, r1 = spinner.spin(sources[u], rate, strategy, seed=k)
                m = max(1, round(len(paras) / 3))
                a = rnd.randrange(0, len(paras) - m + 1)
                part, r2 = spinner.spin("\n".join(paras[a : a + m]), rate, strategy, seed=k + 1)
                host = rnd.choice(hosts)
                cut = max(0, host.find("\n", len(host) // 2))
                for kind, text, real in ((f"spun-{strategy}-{rate}", whole, r1),
                                         (f"partial-{strategy}-{rate}", host[:cut] + "\n" + part + "\n" + host[cut:], r2)):
                    cands = det.candidates(text)
                    n_cands.append(len(cands))
                    got = [i for i, _ in det.scan(text, lambda ids: {i: texts[i] for i in ids})]
                    st = stats[kind]
                    st[0] += 1
                    st[1] += k in cands
                    st[2] += k in got
                    st[3] += real
                    fps += len([i for i in got if i != k])
    for kind in sorted(stats):
        n, c, g, real = stats[kind]
        print(f"{kind:<22} n {n:>3}  words replaced {real / n:.2f}  candidate recall {c / n:.3f}  match recall {g / n:.3f}")
    print(f"false-positive matches {fps}; {np.mean(n_cands):.2f} candidates per post"
          + (f" among {len(det)} sources" if args.background else ""))


if __name__ == "__main__":
    main()
