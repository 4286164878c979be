"""Index size, rebuild time and scan speed with many registered sources.

    python bench/detect_scale.py --sources 100000     # full run (a few minutes on 2 cores)
    python bench/detect_scale.py --sources 10000      # quick run

Synthetic sources are real-looking text: sentences of the dev set's source articles recombined, with
about half of their content words swapped for words drawn from the same articles' vocabulary
at its own frequencies (most of each sentence's content words), so that no two sources share passages by accident (plain
recombination would make every post a copy of thousands of sources). Signatures go into a
plain sqlite3 file (id INTEGER, signature BLOB), like the store's `sources` table; the index
is then rebuilt from that file as after a restart. Posts are ~700 words: fresh synthetic
text (no source to find) and a share of spun copies of registered sources, spun here with
random replacement words (no thesaurus at all: the hardest case for the lexicon-free part).
Figures are printed, never asserted.

Lifts (`--lifts`, README "Short lifts"): a paragraph of 50, 65 or 80 words, verbatim or spun
(../shared/tools/spinner.py, seedlike at rate 0.5; the bench's own random-word spinner if
WordNet is missing), taken from a long registered source (1,500+ words) and put in the middle
of a fresh ~2,000-word post. Candidate recall and end-to-end recall (the true source among
scan()'s matches or their `related`) are printed for this index and, with `--before 16,12`
(the default), for an index of the same sources fingerprinted with windows of 16 fingerprint
words and 12 bands a window at least (signature v7; `16,6` is v6), in the same run.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import re
import sqlite3
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import DEV, Baseline, load_sources  # noqa: E402
from monitor.detect import semantic  # noqa: E402
from monitor.detect import DetectSettings, Detector  # noqa: E402
from monitor.detect.normalise import STOPWORDS  # noqa: E402

_SENT = re.compile(r"(?<=[.!?])\s+")
_TOK = re.compile(r"\S+")


class Corpus:
    def __init__(self, texts: list[str], seed: int = 1) -> None:
        self.rng = np.random.default_rng(seed)
        sents = [s.split() for t in texts for s in _SENT.split(t.replace("\n", " ")) if 6 <= len(s.split()) <= 60]
        self.flat = np.array([w for s in sents for w in s], dtype=object)
        self.offsets = np.cumsum([0] + [len(s) for s in sents])
        self.stop = np.array([w.lower().strip(".,;:!?\"'()") in STOPWORDS for w in self.flat])
        self.vocab = self.flat[~self.stop]  # content words, frequency-weighted by repetition

    def article(self, n_words: int) -> str:
        rng = self.rng
        k = max(1, int(n_words / 12) + 1)
        chosen = rng.integers(len(self.offsets) - 1, size=k)
        idx = np.concatenate([np.arange(self.offsets[c], self.offsets[c + 1]) for c in chosen])[:n_words]
        words = self.flat[idx]
        swap = (rng.random(len(idx)) < 0.85) & ~self.stop[idx]
        words[swap] = self.vocab[rng.integers(len(self.vocab), size=int(swap.sum()))]
        # a paragraph break after every ~5th sentence
        ends = np.cumsum(self.offsets[chosen + 1] - self.offsets[chosen])[4::5]
        words[ends[ends < len(words)] - 1] += "\n\n"
        return " ".join(words)


def spin_random(text: str, rate: float, vocab: np.ndarray, rng: np.random.Generator) -> str:
    """Replace a share of the words by random words (one word 70% of the time, two 20%,
    three 10%, about what WordNet spinners put in): a spinner with an unknown lexicon. Like
    every spinner it has no synonym for names and numbers (capitalised words, digits)."""
    out = []
    for w in text.split(" "):
        if not w[:1].isupper() and not w[:1].isdigit() and rng.random() < rate:
            k = 1 + int(rng.random() > 0.7) + int(rng.random() > 0.9)
            out.extend(vocab[rng.integers(len(vocab), size=k)])
        else:
            out.append(w)
    return " ".join(out)


_DET: Detector | None = None


def _init_sig(settings: DetectSettings) -> None:
    global _DET
    _DET = Detector(settings)


def _sig(args: tuple[int, str]) -> tuple[int, bytes]:
    global _DET
    if _DET is None:
        _DET = Detector(DetectSettings())
    return args[0], _DET.signature(args[1])


def _spinner():
    """../shared/tools/spinner.py with its WordNet, or None."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / ".." / "shared" / "tools"))
    try:
        import spinner  # type: ignore[import-not-found]

        spinner.wordnet()
        return spinner
    except (ImportError, OSError):
        return None


def make_lifts(texts: list[str], long_ids: list[int], n: int, hosts: "Corpus",
               rng: np.random.Generator) -> list[tuple[int, str, int, str]]:
    """[(source id, "verbatim" | "spun", words lifted, post)]: a paragraph of a long source,
    starting at a sentence, in the middle of a fresh ~2,000-word post (at a paragraph break)."""
    spinner = _spinner()
    out = []
    for k in range(n if long_ids else 0):
        sid = int(rng.choice(long_ids))
        ws = texts[sid].split(" ")
        n_lift = (50, 65, 80)[k % 3]
        variant = ("verbatim", "spun")[(k // 3) % 2]
        starts = [0] + [i + 1 for i, w in enumerate(ws) if w.endswith((".", "!", "?", ".\n\n"))]
        starts = [b for b in starts if b + n_lift <= len(ws)]
        b = int(rng.choice(starts))
        lift = " ".join(ws[b: b + n_lift])
        if variant == "spun":
            lift = (spinner.spin(lift, 0.5, "seedlike", seed=k)[0] if spinner
                    else spin_random(lift, 0.3, hosts.vocab, rng))
        host = hosts.article(2000).split(" ")
        out.append((sid, variant, n_lift, " ".join(host[:1000]) + "\n\n" + lift + "\n\n" + " ".join(host[1000:])))
    return out


def report_lifts(name: str, det: Detector, texts: list[str], cases: list[tuple[int, str, int, str]]) -> None:
    """Candidate and end-to-end recall of the lifts, by kind and length."""
    stats: dict[tuple[str, int], list[int]] = {}
    chance = []
    fps = 0
    for sid, variant, n_lift, post in cases:
        cands = det.candidates(post)
        got: set[int] = set()
        for found, v in det.scan(post, lambda ids: {i: texts[i] for i in ids}):
            got |= {found, *v.related}
        fps += len(got - {sid})
        st = stats.setdefault((variant, n_lift), [0, 0, 0])
        st[0] += 1
        st[1] += sid in cands
        st[2] += sid in got
        chance.append(len(set(cands) - {sid}))
    cells = [f"{v} {k}: {c / n:.2f} / {g / n:.2f}" for (v, k), (n, c, g) in sorted(stats.items())]
    allc = [sum(x[i] for (v, _), x in stats.items() if v == want) for want in ("verbatim", "spun") for i in (0, 1, 2)]
    print(f"  {name}: {'; '.join(cells)}")
    print(f"    all verbatim {allc[1] / max(1, allc[0]):.2f} / {allc[2] / max(1, allc[0]):.2f}, all spun "
          f"{allc[4] / max(1, allc[3]):.2f} / {allc[5] / max(1, allc[3]):.2f}; "
          f"{statistics.mean(chance):.1f} chance candidates per post (max {max(chance)}); "
          f"other sources matched {fps}")


def _rate(r: float) -> str:
    """A throughput, with two significant digits below 10 a second (the semantic tier's)."""
    return f"{r:.0f}" if r >= 10 else f"{r:.2g}"


def pct(xs: list[float], q: float) -> float:
    return float(np.percentile(xs, q))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sources", type=int, default=100_000)
    ap.add_argument("--posts", type=int, default=600)
    ap.add_argument("--copies", type=float, default=0.1, help="share of posts that are spun copies")
    ap.add_argument("--spin", type=float, default=0.3, help="share of words a copy's spinner replaces")
    ap.add_argument("--baseline-sources", type=int, default=5_000,
                    help="sources in the datasketch baseline index (its query cost hardly depends on it)")
    ap.add_argument("--dev", default=str(DEV))
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--lifts", type=int, default=300, help="lifted paragraphs in long posts (0: none)")
    ap.add_argument("--before", default="16,12", metavar="WINDOW,MIN_BANDS",
                    help="also measure lifts on an index fingerprinted with this window and min_bands "
                    "(up to 2 x WINDOW bands a window; v7: 16,12, v6: 16,6; 0: no)")
    ap.add_argument("--semantic-posts", type=int, default=20,
                    help="posts the semantic tier (when installed) is timed on: seconds of CPU a post")
    ap.add_argument("--profile", action="store_true",
                    help="also print where scan() with all tiers spends its time (cProfile, top 25)")
    args = ap.parse_args()
    if not (Path(args.dev) / "sources.jsonl").exists():
        sys.exit(f"needs the dev set for real sentences: {args.dev}")
    srcs = load_sources(Path(args.dev))
    corpus = Corpus(list(srcs.values()))  # the registered articles: real, mostly English
    rng = np.random.default_rng(7)
    n = args.sources

    t0 = time.perf_counter()
    lengths = np.clip(rng.lognormal(np.log(650), 0.5, size=n), 150, 4000).astype(int)
    texts = [corpus.article(int(k)) for k in lengths]
    print(f"generated {n} sources (median {int(np.median(lengths))} words) in {time.perf_counter() - t0:.0f} s")

    t0 = time.perf_counter()
    with mp.Pool(args.workers) as pool:
        sigs = pool.map(_sig, enumerate(texts), chunksize=500)
    fp_time = time.perf_counter() - t0
    sig_bytes = sum(len(s) for _, s in sigs)
    print(f"fingerprinted in {fp_time:.0f} s on {args.workers} processes "
          f"({fp_time / n * 1e3 * args.workers:.2f} ms CPU per source); stored signature "
          f"{sig_bytes / n:.0f} bytes per source")

    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "sources.sqlite"
        con = sqlite3.connect(db)
        con.execute("CREATE TABLE sources (id INTEGER PRIMARY KEY, signature BLOB)")
        con.executemany("INSERT INTO sources VALUES (?, ?)", sigs)
        con.commit()
        con.close()
        del sigs
        # --- restart: rebuild the index from the stored signatures only ----------------------
        t0 = time.perf_counter()
        det = Detector(DetectSettings())
        con = sqlite3.connect(db)
        for sid, sig in con.execute("SELECT id, signature FROM sources"):
            det.add(sid, sig)
        con.close()
        nbytes = det.index_bytes()  # forces the sorted arrays to be built
        rebuild = time.perf_counter() - t0
    print(f"index rebuilt from sqlite in {rebuild:.2f} s (target <= 5 s); "
          f"{nbytes / n:.0f} index bytes per source (target <= 1536; datasketch MinHashLSH ~9 KB)")

    # --- posts ------------------------------------------------------------------------------
    n_copies = int(args.posts * args.copies)
    truth: list[int | None] = []
    post_texts = []
    for k in range(args.posts):
        if k < n_copies:
            sid = int(rng.integers(n))
            truth.append(sid)
            post_texts.append(spin_random(texts[sid], args.spin, corpus.vocab, rng))
        else:
            truth.append(None)
            post_texts.append(corpus.article(700))
    order = rng.permutation(args.posts)
    truth = [truth[i] for i in order]
    post_texts = [post_texts[i] for i in order]

    cand_wall, cand_cpu, n_cands = [], [], []
    for text in post_texts:
        w0, c0 = time.perf_counter(), time.process_time()
        cands = det.candidates(text)
        cand_wall.append(time.perf_counter() - w0)
        cand_cpu.append(time.process_time() - c0)
        n_cands.append(len(cands))
    print(f"{args.posts} posts of ~700 words ({n_copies} spun copies at {args.spin:.0%} random-word spin):")
    print(f"  candidates(): {1 / statistics.mean(cand_wall):.0f} posts/s, p50 {pct(cand_wall, 50) * 1e3:.2f} ms, "
          f"p99 {pct(cand_wall, 99) * 1e3:.2f} ms, CPU {statistics.median(cand_cpu) * 1e3:.2f} ms median "
          f"({1 / statistics.mean(cand_cpu):.0f} posts/s of one core's CPU); "
          f"{statistics.mean(n_cands):.2f} candidates per post (max {max(n_cands)})")
    # scan() tier by tier: candidates only, + alignment (rewrite check off, no folding),
    # + the rewrite check (without, then with its weighted chain), + folding (all tiers, as shipped). The tiers take turns post by
    # post, in a rotating order, so that a change in the machine's load falls on all of them
    # alike; throughput is given in CPU time of this process (one core) and in wall time.
    def unfolded(matches):
        return [m for m in matches if m[1].is_match]

    tiers = [("candidates() only", None, False),
             ("+ alignment", replace(det.settings, rewrites=False), False),
             ("+ rewrite check", replace(det.settings, semantic=False), False),
             ("+ fold (all lexical tiers; semantic tier off)", replace(det.settings, semantic=False), True)]
    if semantic.available():  # the optional tier (monitor/detect/semantic.py), when its extra is installed
        semantic.encoder().pieces()  # its gate's piece table (made once, then read from the cache), not timed
        tiers.append(("+ semantic tier without its piece-vector gate",
                      replace(det.settings, semantic=True, semantic_gate_evidence=0.0), True))
        tiers.append(("+ semantic tier (as shipped)", replace(det.settings, semantic=True), True))
    # each tier its own caches (sentences, their weights), cold
    caches = [(type(det._split)(det.settings.rewrite_cache), type(det._weights)(det.settings.rewrite_cache),
               type(det._vectors)(det.settings.semantic_cache), type(det._piece_vectors)(det.settings.semantic_cache))
              for _ in tiers]
    shipped = det.settings
    scan_wall: list[list[float]] = [[] for _ in tiers]
    scan_cpu: list[list[float]] = [[] for _ in tiers]
    found = [0] * len(tiers)
    fps = [0] * len(tiers)
    for k, (text, sid) in enumerate(zip(post_texts, truth)):
        for t in [(k + r) % len(tiers) for r in range(len(tiers))]:
            name, settings, fold = tiers[t]
            if settings is not None and settings.semantic and k >= args.semantic_posts:
                continue
            det.settings, (det._split, det._weights, det._vectors, det._piece_vectors) = settings or shipped, caches[t]
            det.fold = det.__class__.fold.__get__(det) if fold else unfolded  # type: ignore[method-assign]
            w0, c0 = time.perf_counter(), time.process_time()
            if settings is None:
                got = set(det.candidates(text))
            else:
                got = {i for i, _ in det.scan(text, lambda ids: {i: texts[i] for i in ids})}
            scan_wall[t].append(time.perf_counter() - w0)  # scan() includes candidates()
            scan_cpu[t].append(time.process_time() - c0)
            found[t] += sid in got
            if settings is not None:
                fps[t] += len(got - {sid})
    det.settings, det.fold = shipped, det.__class__.fold.__get__(det)  # type: ignore[method-assign]
    det._split, det._weights, det._vectors, det._piece_vectors = caches[-1]
    for t, (name, settings, _) in enumerate(tiers):
        cpu, wall = scan_cpu[t], scan_wall[t]
        what = (f"copies among candidates {found[t]}/{n_copies}" if settings is None else
                f"copies found {found[t]}/{n_copies}, false-positive matches {fps[t]}")
        if len(cpu) < len(post_texts):  # the semantic tier: the first posts only
            what = f"on the first {len(cpu)} posts: " + what.replace(f"/{n_copies}", f"/{sum(x is not None for x in truth[:len(cpu)])}")
        base_cpu = sum(scan_cpu[1][: len(cpu)])  # the alignment tier on the same posts
        print(f"  {name}: {_rate(1 / statistics.mean(cpu))} posts/s of CPU "
              f"(median {statistics.median(cpu) * 1e3:.2f} ms, p99 {pct(cpu, 99) * 1e3:.2f} ms); wall "
              f"{_rate(1 / statistics.mean(wall))} posts/s (p50 {pct(wall, 50) * 1e3:.2f} ms, "
              f"p99 {pct(wall, 99) * 1e3:.2f} ms); {what}; CPU / alignment tier {sum(cpu) / base_cpu:.2f}x")
    c = caches[-1][0]
    print(f"    sentence cache (the last tier): {c.hits} hits, {c.misses} misses ({shipped.rewrite_cache} sources kept)")
    full = scan_cpu[-1]
    slow = sorted(range(len(full)), key=lambda i: -full[i])[: max(1, len(full) // 100)]
    print(f"  slowest 1% (all tiers): {', '.join(f'{full[i] * 1e3:.0f} ms' for i in slow)}; words "
          f"{', '.join(str(len(post_texts[i].split())) for i in slow)}; candidates "
          f"{', '.join(str(n_cands[i]) for i in slow)}; copies {sum(truth[i] is not None for i in slow)}")
    if args.lifts:
        long_ids = [i for i, t in enumerate(texts) if len(t.split()) >= 1500]
        cases = make_lifts(texts, long_ids, args.lifts, Corpus(list(srcs.values()), seed=99), rng)
        print(f"{len(cases)} lifts from {len(long_ids)} long sources (1,500+ words) into ~2,000-word posts "
              f"(candidate recall / end-to-end recall):")
        report_lifts(f"after  (window {det.settings.window}, min_bands {det.settings.min_bands})", det, texts, cases)
    if args.profile:
        import cProfile
        import pstats

        prof = cProfile.Profile()
        prof.enable()
        for text in post_texts:
            det.scan(text, lambda ids: {i: texts[i] for i in ids})
        prof.disable()
        pstats.Stats(prof).sort_stats("tottime").print_stats(25)

    base = Baseline()
    for i in range(min(n, args.baseline_sources)):
        base.add(i, texts[i])
    b_cpu = []
    for text in post_texts:
        c0 = time.process_time()
        base.query(text)
        b_cpu.append(time.process_time() - c0)
    ratio = statistics.median(cand_cpu) / statistics.median(b_cpu)
    print(f"baseline (5-gram MinHash 128 perms + MinHashLSH query, {min(n, args.baseline_sources)} sources): "
          f"CPU {statistics.median(b_cpu) * 1e3:.2f} ms median per post; "
          f"candidates() / baseline = {ratio:.2f}x (target <= 3x)")
    if args.lifts and args.before != "0":
        b_window, b_bands = (int(x) for x in args.before.split(","))
        before = replace(DetectSettings(), window=b_window, bands=2 * b_window, min_bands=b_bands)
        t0 = time.perf_counter()
        with mp.Pool(args.workers, initializer=_init_sig, initargs=(before,)) as pool:
            sigs = pool.map(_sig, enumerate(texts), chunksize=500)
        old = Detector(before)
        for sid, sig in sigs:
            old.add(sid, sig)
        what = f"window {b_window}, min_bands {b_bands}"
        print(f"before: the same sources fingerprinted with {what} in "
              f"{time.perf_counter() - t0:.0f} s; {old.index_bytes() / n:.0f} index bytes per source")
        report_lifts(f"before ({what})", old, texts, cases)


if __name__ == "__main__":
    main()
