"""A source registered after the posts: comparing it with 100,000 stored posts.

    python bench/rescan.py                      # 100,000 posts (a few minutes on 2 cores)
    python bench/rescan.py --posts 10000        # quick run

Posts are synthetic ~700-word articles made from the dev set's sentences with most content
words swapped (bench/detect_scale.py's Corpus), a few of them spun copies of the source
registered afterwards. They go into a real migrated SQLite store with the candidate keys a
checked post keeps (posts.signature). Then the real path: Monitor.register_source and
Monitor.rescan_due (the new source's keys against the stored posts' keys, detect/reverse.py)
for 1 new source; the candidate step alone for 1 and 100 (the pairs it yields are aligned
as forward detection would align them: on this synthetic corpus, made from 55 articles'
sentences, chance candidates are common both ways, so alignment time says more about the
corpus than about the rescan). Baselines in the same process on a sample of the same posts,
scaled to all of them: the forward candidate step over every post's text (read from the
store), and full detection (alignment) of the source against every post. Figures are
printed, never asserted.
"""

from __future__ import annotations

import argparse
import hashlib
import multiprocessing as mp
import os
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import DEV, load_sources  # noqa: E402
from bench.detect_scale import Corpus, spin_random  # noqa: E402
from monitor import config  # noqa: E402
from monitor.detect import DetectSettings, Detector, reverse  # noqa: E402
from monitor.domain import Source  # noqa: E402
from monitor.pipeline import Monitor  # noqa: E402
from monitor.store import Database  # noqa: E402
from monitor.store.models import PostRow  # noqa: E402

_DET: Detector | None = None


def _post_sig(text: str) -> bytes:
    global _DET
    if _DET is None:
        _DET = Detector(DetectSettings())
    return reverse.post_signature(_DET, text)


def timed(fn, *args):  # noqa: ANN001, ANN002, ANN201
    t0 = time.perf_counter()
    out = fn(*args)
    return out, time.perf_counter() - t0


def candidate_pass(m: Monitor, ids: list[int], since: datetime) -> tuple[int, int]:
    """(candidate pairs, posts read): the reverse candidate step of Monitor.rescan, no alignment."""
    keys = reverse.SourceKeys(m.detector, ((sid, sig) for sid, sig, _ in m.store.signatures(ids=ids) if sig))
    pairs = posts = 0
    for chunk in m.store.post_signatures(since):
        batch = [(pid, k) for pid, sig, _ in chunk if (k := reverse.post_keys(m.detector, sig)) is not None]
        posts += len(batch)
        pairs += sum(len(c) for _, c in keys.candidates(batch))
    return pairs, posts


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--posts", type=int, default=100_000)
    ap.add_argument("--copies", type=int, default=20, help="stored posts that copy the new source (spun)")
    ap.add_argument("--spin", type=float, default=0.3)
    ap.add_argument("--sample", type=int, default=3000, help="posts the forward baseline is timed on")
    ap.add_argument("--align-sample", type=int, default=300, help="posts the alignment baseline is timed on")
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--dev", default=str(DEV))
    args = ap.parse_args()
    if not (Path(args.dev) / "sources.jsonl").exists():
        sys.exit(f"needs the dev set for real sentences: {args.dev}")
    corpus = Corpus(list(load_sources(Path(args.dev)).values()))
    rng = np.random.default_rng(11)
    n = args.posts

    t0 = time.perf_counter()
    new_sources = [corpus.article(700) for _ in range(100)]
    lengths = np.clip(rng.lognormal(np.log(650), 0.5, size=n), 150, 4000).astype(int)
    texts = [corpus.article(int(k)) for k in lengths]
    planted = set(rng.choice(n, size=args.copies, replace=False).tolist())
    for i in planted:
        texts[i] = spin_random(new_sources[0], args.spin, corpus.vocab, rng)
    print(f"generated {n} posts (median {int(np.median(lengths))} words), {len(planted)} of them spun copies "
          f"of the source registered later, in {time.perf_counter() - t0:.0f} s")

    det = Detector(DetectSettings())
    sample = texts[:500]
    per_sig = [timed(reverse.post_signature, det, t)[1] for t in sample]
    per_cand = [timed(det.candidates, t)[1] for t in sample]
    print(f"cost added to each post check (its keys, kept with it): median {statistics.median(per_sig) * 1e3:.2f} ms "
          f"(the candidate step it follows: {statistics.median(per_cand) * 1e3:.2f} ms)")
    t0 = time.perf_counter()
    with mp.Pool(args.workers) as pool:
        sigs = pool.map(_post_sig, texts, chunksize=500)
    print(f"post keys for {n} posts in {time.perf_counter() - t0:.0f} s on {args.workers} processes; "
          f"median {int(np.median([len(s) for s in sigs]))} bytes a post "
          f"({sum(len(s) for s in sigs) / 2**20:.0f} MB in all)")

    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'monitor.db'}"
        db = Database(url)
        db.migrate()
        now = datetime.now(timezone.utc)
        t0 = time.perf_counter()
        rows = [{"url": f"https://blog{i % 997}.example/p/{i}", "guid": str(i), "title": "", "text": t,
                 "content_hash": hashlib.sha256(t.encode()).hexdigest(), "signature": sig,
                 "checked_at": now - timedelta(minutes=i % 10000), "state": "checked", "entry_hash": ""}
                for i, (t, sig) in enumerate(zip(texts, sigs))]
        with db.engine.begin() as conn:
            for i in range(0, n, 10_000):
                conn.execute(PostRow.__table__.insert(), rows[i:i + 10_000])
        del rows, sigs
        print(f"stored {n} posts in {time.perf_counter() - t0:.0f} s")

        settings = config.load(None, database_url=url, data_dir=tmp)
        m = Monitor(settings, db)
        try:
            m.register_source(Source("https://me.example/0", new_sources[0]), "url")
            found, first = timed(m.rescan_due)
            hits = {int(f.post.url.rsplit("/", 1)[1]) for f in found}
            print(f"rescan_due, 1 new source vs {n} posts: {first:.2f} s, {len(hits & planted)} of {len(planted)} "
                  f"copies found, {len(hits - planted)} other matches")
            since = now - timedelta(days=30)
            again = [timed(m.rescan, since, [1])[1] for _ in range(3)]
            print(f"  again (pairs already matched are not aligned again): median {statistics.median(again):.2f} s")
            for i, text in enumerate(new_sources[1:], 1):
                m.register_source(Source(f"https://me.example/{i}", text), "url")
            for k in (1, 100):
                (pairs, scanned), took = timed(candidate_pass, m, list(range(1, k + 1)), since)
                print(f"candidate step alone, {k} source(s) vs {scanned} posts: {took:.2f} s, {pairs} pairs to align")

            # --- baselines on a sample, scaled to every post --------------------------------
            ids = list(range(1, args.sample + 1))
            t0 = time.perf_counter()
            posts = m.store.posts_by_id(ids)
            only = Detector(DetectSettings())  # an index holding the one new source
            sig0 = next(sig for sid, sig, _ in m.store.signatures(ids=[1]))
            only.add(1, sig0)
            for p in posts.values():
                only.candidates(p.text)
            forward = (time.perf_counter() - t0) / len(posts) * n
            hundred = Detector(DetectSettings())
            for sid, sig, _ in m.store.signatures(ids=range(1, 101)):
                hundred.add(sid, sig)
            fw_pairs = sum(len(hundred.candidates(p.text)) for p in posts.values()) / len(posts) * n
            print(f"forward candidate step, 100 sources: {fw_pairs:.0f} pairs to align (scaled from {len(posts)} posts)")
            t0 = time.perf_counter()
            for pid in ids[: args.align_sample]:
                det.compare(new_sources[0], posts[pid].text)
            align = (time.perf_counter() - t0) / args.align_sample * n
            print(f"baseline, forward candidate step over every post's text: {forward:.0f} s "
                  f"(timed on {len(posts)} posts; {forward / first:.0f}x the rescan)")
            print(f"baseline, full detection of the source against every post: {align:.0f} s "
                  f"(timed on {args.align_sample} posts; {align / first:.0f}x the rescan)")
        finally:
            m.close()


if __name__ == "__main__":
    main()
