"""The semantic tier's second gate (word-piece vectors) and the file its piece table is kept in.
No model needed: a stand-in encoder, so these run where the extra is not installed (CI)."""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from monitor.detect import DetectSettings, Detector, semantic


class _Made:
    """What `_piece_table` needs of an encoder: the vocabulary's size, the width, `distill`."""

    def __init__(self, n: int = 50, dim: int = 8) -> None:
        self.w = {"embeddings.word_embeddings.weight": np.zeros((n, dim), dtype=np.float32)}
        self.dim = dim
        self.calls = 0

    def distill(self) -> np.ndarray:
        self.calls += 1
        return np.random.default_rng(self.calls).standard_normal((50, 8)).astype(np.float32)


def test_the_piece_table_is_made_once_and_read_back_alike(tmp_path: Path) -> None:
    enc = _Made()
    first = semantic._piece_table(enc, tmp_path)
    assert enc.calls == 1 and first.dtype == np.float32 and first.shape == (50, 8)
    kept = list(tmp_path.iterdir())
    assert len(kept) == 1 and kept[0].suffix == ".npy"  # no temporary file left behind
    assert kept[0].stat().st_mode & 0o044 == 0o044  # readable by another user (an image built as root)
    again = semantic._piece_table(enc, tmp_path)
    assert enc.calls == 1  # read, not made
    assert np.array_equal(first, again)  # the first start gives what later starts read


@pytest.mark.parametrize("content", [b"not an array", None])
def test_a_damaged_or_foreign_piece_table_is_made_again(tmp_path: Path, content: bytes | None,
                                                        caplog: pytest.LogCaptureFixture) -> None:
    enc = _Made()
    semantic._piece_table(enc, tmp_path)
    path = next(tmp_path.iterdir())
    if content is None:
        np.save(path, np.zeros((7, 8), dtype=np.float16))  # another model's shape
    else:
        path.write_bytes(content)
    caplog.set_level(logging.WARNING, logger="monitor.detect.semantic")
    table = semantic._piece_table(enc, tmp_path)
    assert enc.calls == 2 and table.shape == (50, 8)
    assert str(path) in caplog.text and "making it again" in caplog.text
    assert np.load(path).shape == (50, 8)  # and kept in its place


def test_a_file_in_the_way_of_the_cache_directory_costs_only_the_making(tmp_path: Path,
                                                                         caplog: pytest.LogCaptureFixture) -> None:
    (tmp_path / "cache").write_text("a file, not a directory")
    enc = _Made()
    assert semantic._piece_table(enc, tmp_path / "cache").shape == (50, 8)
    assert "cannot keep the piece table" in caplog.text


def _no_home(cls: type) -> Path:
    raise RuntimeError("Could not determine home directory.")


def test_the_cache_directory_follows_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("MONITOR_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert semantic.cache_dir() == tmp_path / "xdg" / "reuse-monitor"
    monkeypatch.setenv("MONITOR_CACHE_DIR", str(tmp_path / "mine"))
    assert semantic.cache_dir() == tmp_path / "mine"
    monkeypatch.delenv("MONITOR_CACHE_DIR")
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setattr(Path, "home", classmethod(_no_home))
    assert semantic.cache_dir().name == "reuse-monitor"  # under the temporary directory, not an error


class _Words:
    """A stand-in encoder: a sentence's vector is its bag of words (hashed), so a sentence and
    its copy are alike and unrelated sentences are not; counts what each encoding is asked."""

    def __init__(self) -> None:
        self.model = self.pieces = 0

    @staticmethod
    def _bags(sentences: list[str]) -> np.ndarray:
        out = np.zeros((len(sentences), 384), dtype=np.float32)
        for k, s in enumerate(sentences):
            for w in s.lower().split():
                out[k, hash(w.strip(".,")) % 384] += 1.0
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)

    def encode(self, sentences: list[str]) -> np.ndarray:
        self.model += len(sentences)
        return self._bags(sentences)

    def encode_pieces(self, sentences: list[str]) -> np.ndarray:
        self.pieces += len(sentences)
        return self._bags(sentences)


SOURCE = ("The river authority closed the old Harbour Bridge on Monday after inspectors found cracks. "
          "Engineers said the steel beams under the eastern span had corroded faster than expected. "
          "Traffic will move to the Kingsway crossing, adding twenty minutes to the commute. "
          "The council has set aside 38 million pounds for repairs over the next two years. "
          "A temporary ferry service for cyclists and walkers starts running next week. "
          "Local shops near the bridge fear a drop in trade while the works go on.")
UNRELATED = ("Our garden club meets on Thursdays to swap seeds and cuttings from the allotments. "
             "This month the bridge tables at the community hall were moved for the harvest show. "
             "Members brought tomatoes, beans and the first pumpkins of the season to judge. "
             "The council judges were strict about the size and colour of every entry this time. "
             "Tea and cake were served afterwards while the winners collected their ribbons. "
             "New members are welcome and the yearly fee stays at ten pounds.")


def test_the_piece_gate_spares_the_model_a_pair_it_would_reject(monkeypatch: pytest.MonkeyPatch) -> None:
    words = _Words()
    monkeypatch.setattr(semantic, "encoder", lambda directory=None: words)
    lenient = DetectSettings(semantic=True, semantic_gate_shared=1, rewrite_min_run=1, min_source_words=10)
    gated = Detector(lenient)
    assert gated.compare_semantic(SOURCE, UNRELATED) is None  # turned away by the pieces ...
    assert words.pieces > 0 and words.model == 0  # ... before the model encodes a sentence
    v = Detector(replace(lenient, semantic_gate_evidence=0.0)).compare_semantic(SOURCE, UNRELATED)
    assert v is not None and not v.is_match and words.model > 0  # without it, the model is asked (and says no)


def test_the_piece_gate_lets_a_copy_through_to_the_model(monkeypatch: pytest.MonkeyPatch) -> None:
    words = _Words()
    monkeypatch.setattr(semantic, "encoder", lambda directory=None: words)
    det = Detector(DetectSettings(semantic=True))
    v = det.compare_semantic(SOURCE, SOURCE.replace("Monday", "Tuesday"))
    assert v is not None and v.is_match and v.method == "semantic"
    assert words.pieces > 0 and words.model > 0
