"""The real packaged model (loaded once per session) and its local ONNX export."""

from __future__ import annotations

import numpy as np
import pytest

from nlp.base import Embedder
from nlp.passages import split_passages

pytestmark = pytest.mark.slow


def test_real_embedder_contract(real_embedder):
    assert isinstance(real_embedder, Embedder)
    assert real_embedder.dim == 384 and real_embedder.max_tokens == 254
    vectors = real_embedder.encode(["quantum sensing", "quantum sensors for navigation", "a recipe for bread"])
    assert vectors.dtype == np.float32 and vectors.shape == (3, 384)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-5)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2]


@pytest.fixture
def torch_embedder(real_embedder):
    """The same loaded model with short inputs on PyTorch (SCOUT_NLP_QUERY_BACKEND=torch)."""
    from nlp.embedder import SentenceTransformerEmbedder
    from domain.settings import NlpSettings

    embedder = SentenceTransformerEmbedder(NlpSettings(cache=False, backend="torch", query_backend="torch"))
    embedder._model = real_embedder.model
    return embedder


def test_short_input_path_gives_the_batch_path_vectors(torch_embedder, monkeypatch):
    import torch

    texts = ["quantum sensors for navigation", "水中音響通信の研究"]
    threads = torch.get_num_threads()
    short = torch_embedder.encode(texts)  # a query: one forward pass on one torch thread
    assert torch.get_num_threads() == threads  # the thread count is restored
    monkeypatch.setattr(torch_embedder, "small_input_chars", 0)  # force SentenceTransformer.encode
    batch = torch_embedder.encode(texts)
    assert short.dtype == np.float32 and short.shape == (2, 384)
    np.testing.assert_allclose(short, batch, atol=1e-5)
    torch_embedder.model.train()  # someone leaves dropout on: the short path must not inherit it
    try:
        monkeypatch.setattr(torch_embedder, "small_input_chars", 512)
        np.testing.assert_allclose(torch_embedder.encode(texts), batch, atol=1e-5)
    finally:
        torch_embedder.model.eval()


def test_short_inputs_run_on_one_onnx_thread_with_the_models_vectors(real_embedder, torch_embedder, onnx_exports):
    pytest.importorskip("onnxruntime")
    texts = ["compact quantum magnetometer for navigation without GPS", "小型衛星による合成開口レーダー観測"]
    got = real_embedder.encode(texts)  # the default: short inputs through the ONNX query session
    session = real_embedder._query_session()
    assert session is not None and session[0].get_session_options().intra_op_num_threads == 1
    assert any(onnx_exports.rglob("model.onnx"))  # exported into SCOUT_NLP_ONNX_DIR, once
    assert got.dtype == np.float32 and got.shape == (2, 384)
    np.testing.assert_allclose(got, torch_embedder.encode(texts), atol=1e-5)
    long_text = "Delamination is the predominant damage mode in composites. " * 20  # past the short-input size
    np.testing.assert_allclose(real_embedder.encode([long_text]), torch_embedder.encode([long_text]), atol=1e-5)


def test_a_model_the_export_cannot_reproduce_keeps_torch_for_queries(real_embedder, tmp_path, caplog):
    """A Dense layer after pooling is outside the exported transformer: the probe tells, torch stays."""
    pytest.importorskip("onnxruntime")
    import torch
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.models import Dense, Normalize

    from nlp.embedder import SentenceTransformerEmbedder
    from domain.settings import NlpSettings

    torch.manual_seed(0)
    base = real_embedder.model
    model = SentenceTransformer(modules=[base[0], base[1], Dense(384, 384), Normalize()], device="cpu").eval()
    embedder = SentenceTransformerEmbedder(NlpSettings(cache=False, onnx_dir=tmp_path))
    embedder._model = model
    texts = ["synthetic aperture radar ship detection"]
    with caplog.at_level("WARNING", logger="nlp.embedder"):
        got = embedder.encode(texts)
    assert embedder._query_session() is None
    assert "ONNX query session is unavailable" in caplog.text
    assert embedder.encode(["a long text " * 60]).shape == (1, 384)  # documents too fall back to torch
    assert embedder._session() is None
    expected = model.encode(texts, normalize_embeddings=True, convert_to_numpy=True)
    np.testing.assert_allclose(got, expected, atol=1e-5)
    strict = SentenceTransformerEmbedder(NlpSettings(cache=False, onnx_dir=tmp_path, query_backend="onnx"))
    strict._model = model
    with pytest.raises(ValueError, match="does not reproduce"):
        strict.encode(texts)


def test_real_passages_fit_the_model(real_embedder):
    text = ("Delamination is the predominant damage mode in composite materials subjected to impact damage. " * 60
            + "量子センシングを用いた高感度な磁場計測を実証した。" * 40)
    passages = split_passages(text, real_embedder, overlap_tokens=32).passages
    counts = real_embedder.count_tokens([p.text for p in passages])
    assert max(counts) <= real_embedder.max_tokens
    assert passages[0].start == 0 and passages[-1].end == len(text)
    assert all(b.start <= a.end for a, b in zip(passages, passages[1:]))


def test_onnx_export_agrees_with_torch(torch_embedder, tmp_path, monkeypatch):
    pytest.importorskip("onnxruntime")
    from nlp.embedder import SentenceTransformerEmbedder
    from domain.settings import NlpSettings

    monkeypatch.setenv("SCOUT_HOME", str(tmp_path))
    monkeypatch.delenv("SCOUT_NLP_ONNX_DIR")
    onnx = SentenceTransformerEmbedder(NlpSettings(backend="onnx", onnx_int8=False, cache=False))
    onnx._model = torch_embedder.model  # share the loaded weights; the export is still made from them
    texts = ["synthetic aperture radar ship detection", "lithium-sulfur battery for soldiers"]
    a, b = torch_embedder.encode(texts), onnx.encode(texts)
    assert (tmp_path / "models").exists()  # the default place: $SCOUT_HOME/models
    assert onnx.name.endswith("+onnx")
    assert np.min(np.sum(a * b, axis=1)) > 0.999
    # the export must leave the shared model as it found it: in eval mode (no dropout), same vectors
    assert not any(module.training for module in torch_embedder.model.modules())
    np.testing.assert_allclose(torch_embedder.encode(texts), a, atol=1e-5)


def test_the_torch_free_tokenizer_gives_the_models_ids(real_embedder):
    light = real_embedder.light
    assert light is not None and light.dim == 384 and light.max_seq_length == 256 and light.pooling == "mean"
    texts = ["Radar-absorbing metamaterials, ÉTÉ façade", "量子センシングを用いたGNSS非依存航法", "x " * 600, "",
             "  tabs\tand\nnewlines  ", "UAV swarm — 2024 (c) ①② don't", "株式会社テスト(株)と東北大学"]
    model_tokenizer = real_embedder.model.tokenizer
    expected = [len(ids) for ids in model_tokenizer(texts, add_special_tokens=False, truncation=False,
                                                    verbose=False)["input_ids"]]
    assert light.count_tokens(texts) == expected
    ours = light.encode_inputs(texts, 256)
    theirs = model_tokenizer(texts, padding=True, truncation=True, max_length=256, return_tensors="np")
    for name in ("input_ids", "attention_mask", "token_type_ids"):
        np.testing.assert_array_equal(ours[name], theirs[name])
    ids, types = light.token_ids(texts)  # unpadded, truncated: what the batch encoder pads itself
    unpadded = model_tokenizer(texts, padding=False, truncation=True, max_length=256)
    assert ids == unpadded["input_ids"] and types == unpadded["token_type_ids"]
    assert len(ids[2]) == 256 and light.pad_id == model_tokenizer.pad_token_id


def test_length_sorted_deduplicated_batches_give_each_texts_own_vector_in_order(real_embedder, torch_embedder):
    """Documents are embedded in runs of similar token counts, a repeated text once: every row must still be
    its own text's vector (as if embedded alone, and as PyTorch gives it), in the caller's order."""
    pytest.importorskip("onnxruntime")
    long = "Delamination is the predominant damage mode in composites under impact. " * 30  # truncated at 256
    texts = [long, "radar", "quantum sensing for navigation without GNSS", "radar", long[:400],
             "水中音響通信の研究", "a lithium-sulfur battery pack for dismounted soldiers " * 3, long]
    session = real_embedder._session()
    assert session is not None
    batched = real_embedder._encode_onnx(texts, session)  # several runs: the token bound splits them
    alone = np.concatenate([real_embedder._encode_onnx([t], session) for t in texts])
    np.testing.assert_allclose(batched, alone, atol=1e-6)
    np.testing.assert_array_equal(batched[1], batched[3])
    np.testing.assert_array_equal(batched[0], batched[7])
    assert not np.allclose(batched[0], batched[4])  # neighbours in a run are not mixed up
    np.testing.assert_allclose(batched, torch_embedder.encode(texts), atol=1e-5)


def test_token_batches_bound_texts_and_padded_tokens_per_run():
    from nlp.embedder import token_batches

    lengths = [256, 12, 256, 40, 9, 130, 255, 12, 3, 300]
    runs = token_batches(lengths, max_texts=3, max_tokens=512)
    flat = [int(i) for run in runs for i in run]
    assert sorted(flat) == list(range(len(lengths)))  # every text once
    assert [lengths[i] for i in flat] == sorted(lengths)  # by increasing token count
    for run in runs:
        assert len(run) <= 3
        assert len(run) == 1 or len(run) * max(lengths[i] for i in run) <= 512
    assert [len(r) for r in runs] == [3, 3, 2, 1, 1]  # short texts share runs; a text over the bound runs alone
    assert token_batches([], 32, 2048) == []


def test_a_cold_query_process_never_imports_torch(real_embedder, onnx_exports, tmp_path):
    """Once the export is made and checked (here by an in-process query), a new process with the default
    settings (int8) encodes queries on ONNX Runtime with the torch-free tokenizer: the same vectors as that
    export gives in-process, no torch, no transformers."""
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    from domain.settings import NlpSettings
    from nlp.embedder import SentenceTransformerEmbedder

    pytest.importorskip("onnxruntime")
    default = SentenceTransformerEmbedder(NlpSettings(cache=False, onnx_dir=onnx_exports))
    assert default.settings.onnx_int8  # the default backend
    default._model = real_embedder.model
    assert default.prepare_query_encoder()
    assert any(onnx_exports.rglob("query-verified.json"))
    texts = ["compact quantum magnetometer", "radar absorbing metamaterial for drones"]
    probe = (
        "import json, sys\n"
        "from domain.settings import NlpSettings\n"
        "from nlp.pipeline import Enricher\n"
        "enricher = Enricher(NlpSettings(cache=False))\n"
        f"vectors = [enricher.embedder.encode([t])[0].tolist() for t in {texts!r}]\n"
        "enricher.query('radar absorbing metamaterial')\n"
        "print(json.dumps({'torch': 'torch' in sys.modules, 'transformers': 'transformers' in sys.modules,"
        " 'vectors': vectors}))\n")
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": str(root), "SCOUT_NLP_ONNX_DIR": str(onnx_exports),
           "SCOUT_HOME": str(tmp_path)}
    env.pop("SCOUT_NLP_ONNX_INT8", None)
    done = subprocess.run([sys.executable, "-c", probe], env=env, cwd=root, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["torch"] is False and result["transformers"] is False
    got = np.array(result["vectors"], dtype=np.float32)
    np.testing.assert_allclose(got, np.concatenate([default.encode([t]) for t in texts]), atol=1e-5)
    model = real_embedder.model.encode(texts, normalize_embeddings=True, convert_to_numpy=True)
    assert np.min(np.sum(got * model, axis=1)) > 0.97  # int8: near the model's own vectors


def test_the_int8_export_is_quantized_per_channel_and_stays_close_to_the_model(real_embedder, onnx_exports):
    """int8 changes the vectors; per-channel weight scales keep them near the model's (per-tensor scales gave
    passages at cosine 0.84-0.99 and cost ranking quality at full size)."""
    pytest.importorskip("onnxruntime")
    from domain.settings import NlpSettings
    from nlp.embedder import INT8_FILE, SentenceTransformerEmbedder

    int8 = SentenceTransformerEmbedder(NlpSettings(cache=False, onnx_dir=onnx_exports, onnx_int8=True))
    int8._model = real_embedder.model  # the quantization starts from the shared fp32 export
    texts = ["Delamination is the predominant damage mode in composite laminates under low-velocity impact. " * 4,
             "compact quantum magnetometer for navigation without GPS",
             "A lithium-sulfur battery pack for dismounted soldiers with twice the specific energy of Li-ion. " * 3]
    got, expected = int8.encode(texts), real_embedder.encode(texts)
    assert int8.name.endswith("+onnx-int8pc") and (int8.onnx_dir() / INT8_FILE).exists()
    assert not np.allclose(got, expected, atol=1e-5)  # really the quantized model
    assert np.min(np.sum(got * expected, axis=1)) > 0.97
