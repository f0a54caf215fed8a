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


def test_short_input_path_gives_the_batch_path_vectors(real_embedder, monkeypatch):
    import torch

    texts = ["quantum sensors for navigation", "水中音響通信の研究"]
    threads = torch.get_num_threads()
    short = real_embedder.encode(texts)  # a query: one forward pass on one torch thread
    assert torch.get_num_threads() == threads  # the thread count is restored
    monkeypatch.setattr(real_embedder, "small_input_chars", 0)  # force SentenceTransformer.encode
    batch = real_embedder.encode(texts)
    assert short.dtype == np.float32 and short.shape == (2, 384)
    np.testing.assert_allclose(short, batch, atol=1e-5)
    real_embedder.model.train()  # someone leaves dropout on: the short path must not inherit it
    try:
        monkeypatch.setattr(real_embedder, "small_input_chars", 512)
        np.testing.assert_allclose(real_embedder.encode(texts), batch, atol=1e-5)
    finally:
        real_embedder.model.eval()


def test_real_passages_fit_the_model(real_embedder):
    text = ("Delamination is the predominant damage mode in composite materials subjected to impact damage. " * 60
            + "量子センシングを用いた高感度な磁場計測を実証した。" * 40)
    passages = split_passages(text, real_embedder, overlap_tokens=32).passages
    counts = real_embedder.count_tokens([p.text for p in passages])
    assert max(counts) <= real_embedder.max_tokens
    assert passages[0].start == 0 and passages[-1].end == len(text)
    assert all(b.start <= a.end for a, b in zip(passages, passages[1:]))


def test_onnx_export_agrees_with_torch(real_embedder, tmp_path, monkeypatch):
    pytest.importorskip("onnxruntime")
    from nlp.embedder import SentenceTransformerEmbedder
    from scout.settings import NlpSettings

    monkeypatch.setenv("SCOUT_HOME", str(tmp_path))
    onnx = SentenceTransformerEmbedder(NlpSettings(backend="onnx", cache=False))
    onnx._model = real_embedder.model  # share the loaded weights; the export is still made from them
    texts = ["synthetic aperture radar ship detection", "lithium-sulfur battery for soldiers"]
    a, b = real_embedder.encode(texts), onnx.encode(texts)
    assert (tmp_path / "models").exists()
    assert onnx.name.endswith("+onnx")
    assert np.min(np.sum(a * b, axis=1)) > 0.999
    # the export must leave the shared model as it found it: in eval mode (no dropout), same vectors
    assert not any(module.training for module in real_embedder.model.modules())
    np.testing.assert_allclose(real_embedder.encode(texts), a, atol=1e-5)
