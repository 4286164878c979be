"""The semantic tier's thresholds, derived from negatives: sentence similarity of texts that
are not copies, all pairs (no candidate stage, no lexical tier in front, so nothing is hidden).

    python bench/detect_semantic.py          # needs the semantic extra and the model package

Negatives: the 8 same-event articles of detect-dev-llm, the dev set's 28 negatives, the
same-topic articles of tests/detect/data/rewrites.jsonl (each against every dev source), and
every dev source against every other. For each negative post, its *closest* source (the
same-event one: highest mean of its 5 best sentence similarities) gives the distribution of a
source sentence's best counterpart in an independent article on the same event; its median
sets the quality scale and its 75th percentile the pair floor (`semantic_min_sim`); the
margin (semantic.margins) of the dev negatives' best pairs the margin floor. Then the evidence of in-order chains of ≥ 2 source
sentences for every negative pair (must stay below `semantic_min_evidence`) and for the
copies of detect-dev-llm and rewrites.jsonl (for reference only: they set nothing).
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import DEV, ROOT, load_set  # noqa: E402
from monitor.detect import DetectSettings, semantic  # noqa: E402
from monitor.detect.engine import _sentence_vectors  # noqa: E402
from monitor.detect.normalise import tokenize  # noqa: E402
from monitor.detect.sentences import sentences  # noqa: E402

LLM = DEV.parent / "detect-dev-llm"
REWRITES = ROOT / "tests" / "detect" / "data" / "rewrites.jsonl"
SAME_EVENT = ("detect-dev-llm same-event", "rewrites.jsonl same-topic")  # written from the same facts


def closest(sims: list[np.ndarray]) -> np.ndarray:
    """Of a negative's similarity matrices against every source, its closest source's (the one
    on the same event): the highest mean of its 5 best sentence similarities."""
    return max(sims, key=lambda m: float(np.sort(m.max(1))[::-1][:5].mean()))


def main() -> None:
    if not semantic.available():
        sys.exit("the semantic extra or the model package is not installed (monitor/detect/README.md)")
    s = DetectSettings(semantic=True)
    srcs, posts, labels = load_set(DEV)
    _, lposts, llabels = load_set(LLM)
    rew = [json.loads(line) for line in open(REWRITES, encoding="utf-8")]
    vec: dict[str, np.ndarray] = {}

    def vectors(text: str) -> np.ndarray:
        if text not in vec:
            vec[text] = _sentence_vectors(text, sentences(text, tokenize(text, s.max_words)))
        return vec[text]

    negs: list[tuple[str, str, str]] = []  # (group, post text, key)
    pos: list[tuple[str, str, str]] = []  # (group, post text, source url)
    for lab in llabels:
        (negs.append(("detect-dev-llm same-event", lposts[lab["url"]], lab["url"])) if lab["source"] is None
         else pos.append((lab["kind"], lposts[lab["url"]], lab["source"])))
    for lab in labels:
        if lab["source"] is None:
            negs.append(("detect-dev negative", posts[lab["url"]], lab["url"]))
    for it in rew:
        (negs.append(("rewrites.jsonl same-topic", it["text"], it["id"])) if it["kind"] == "same-topic"
         else pos.append(("rewrites.jsonl " + it["kind"], it["text"], it["source"])))
    for u, t in srcs.items():
        negs.append(("dev source x other sources", t, u))

    best_same: dict[str, list[float]] = defaultdict(list)
    sims: list[tuple[str, str, str, np.ndarray]] = []
    for g, text, key in negs:
        pv = vectors(text)
        per = []
        for u, t in srcs.items():
            if t == text:
                continue
            m = vectors(t) @ pv.T
            if m.size:
                sims.append((g, key, u, m))
                per.append(m)
        if per:
            best_same[g].extend(closest(per).max(1).tolist())
    print("best counterpart of a source sentence in its closest negative (the same-event article)")
    pooled: list[float] = []
    for g, b in best_same.items():
        a = np.array(b)
        print(f"  {g:<28} {len(a):5d} sentences: p50 {np.percentile(a, 50):.3f}  p75 {np.percentile(a, 75):.3f}"
              f"  p90 {np.percentile(a, 90):.3f}"
              f"  p95 {np.percentile(a, 95):.3f}  p99 {np.percentile(a, 99):.3f}  max {a.max():.3f}")
        if g in SAME_EVENT:
            pooled.extend(b)
    a = np.array(pooled)
    print(f"  same-event articles (detect-dev-llm, rewrites.jsonl) pooled: median {np.median(a):.3f}, p75 {np.percentile(a, 75):.3f} "
          f"(semantic_min_sim {s.semantic_min_sim})")
    mg = np.concatenate([semantic.margins(m)[np.arange(m.shape[0]), m.argmax(1)][m.max(1) >= s.semantic_min_sim]
                         for g, _, _, m in sims if g == "detect-dev negative" and m.shape[0] > 1 and m.shape[1] > 1])
    print(f"  margin of dev negatives' best pairs over the floor: median {np.median(mg):.3f} "
          f"(semantic_min_margin {s.semantic_min_margin})")

    def evidence(m: np.ndarray) -> tuple[float, int]:
        ranked = semantic.chains(semantic.sim_pairs(m, s.semantic_min_sim, s.semantic_min_margin), s.semantic_max_skip)
        kept = [(e, c) for e, c in ranked if len({p.i for p in c}) >= s.semantic_min_local]
        return sum(e for e, _ in kept), max((len(c) for _, c in kept), default=0)

    print(f"\nevidence Σ margin of in-order chains of ≥ {s.semantic_min_local} source sentences "
          f"(pairs ≥ {s.semantic_min_sim}, margin ≥ {s.semantic_min_margin}; a match needs ≥ {s.semantic_min_evidence})")
    worst: dict[str, list[tuple[float, int, str, str]]] = defaultdict(list)
    for g, key, u, m in sims:
        e, n = evidence(m)
        worst[g].append((e, n, key, u))
    for g, v in worst.items():
        v.sort(reverse=True)
        over = sum(1 for e, *_ in v if e >= s.semantic_min_evidence)
        print(f"  {g:<28} {len(v):5d} pairs, {over} at or over the floor; largest "
              + ", ".join(f"{e:.2f} (longest chain {n})" for e, n, *_ in v[:3]))
        for e, _n, key, u in v[:over]:
            print(f"      {e:.2f}  {key[:60]}  x  {u[:60]}")
    print("\ncopies (reference only):")
    got: dict[str, list[float]] = defaultdict(list)
    for g, text, u in pos:
        got[g].append(evidence(vectors(srcs[u]) @ vectors(text).T)[0])
    for g, v in sorted(got.items()):
        print(f"  {g:<28} {sum(e >= s.semantic_min_evidence for e in v):2d}/{len(v)} over the floor; "
              f"evidence {' '.join(f'{e:.2f}' for e in sorted(v))}")
    gate(s, srcs, negs, pos, vectors)


def gate(s: DetectSettings, srcs: dict[str, str], negs: list[tuple[str, str, str]],
         pos: list[tuple[str, str, str]], vectors: Callable[[str], np.ndarray]) -> None:
    """The second gate's settings, on word-piece vectors, derived as the tier's are but looser:
    its pair floor is the same-event articles' *median* best counterpart (the tier's is their
    75th percentile), its margin floor the 75th percentile of the same-event articles' best
    margins on pieces, its chains skip one sentence more; then every copy the tier finds must
    reach the gate's evidence (a tenth of the tier's), with room to spare."""
    pieces: dict[str, np.ndarray] = {}

    def pv(text: str) -> np.ndarray:
        if text not in pieces:
            pieces[text] = _sentence_vectors(text, sentences(text, tokenize(text, s.max_words)), pieces=True)
        return pieces[text]

    best: list[float] = []
    margin: list[float] = []
    for g, text, _key in negs:
        if g not in SAME_EVENT:
            continue
        m = closest([x for t in srcs.values() if t != text and (x := pv(t) @ pv(text).T).size])
        best.extend(m.max(1).tolist())
        margin.extend(semantic.margins(m).max(1).tolist())
    print("\n" f"the gate (word-piece vectors): same-event articles' best counterpart median "
          f"{np.median(best):.3f}, p75 {np.percentile(best, 75):.3f} (semantic_gate_sim {s.semantic_gate_sim}); "
          f"their best margin p75 {np.percentile(margin, 75):.3f} (semantic_gate_margin {s.semantic_gate_margin})")
    kept = []
    for _g, text, u in pos:
        tier = semantic.evidence(vectors(srcs[u]) @ vectors(text).T, s.semantic_min_sim, s.semantic_min_margin,
                                 s.semantic_max_skip, s.semantic_min_local)[0]
        if tier >= s.semantic_min_evidence:
            kept.append(semantic.evidence(pv(srcs[u]) @ pv(text).T, s.semantic_gate_sim, s.semantic_gate_margin,
                                          s.semantic_gate_skip, s.semantic_min_local)[0])
    print(f"  the {len(kept)} copies the tier finds: gate evidence {min(kept):.2f} at least "
          f"({min(kept) / s.semantic_gate_evidence:.1f}x semantic_gate_evidence {s.semantic_gate_evidence}), "
          f"median {np.median(kept):.2f}")


if __name__ == "__main__":
    main()
