"""The Enricher front with the hashing fake embedder: enrichment, bad input, queries, translation."""

from __future__ import annotations

import time

import numpy as np
import pytest

from nlp.fake import HashingEmbedder
from nlp.pipeline import Enricher
from domain.models import Document


def _doc(n, title, text, **kw):
    return Document.make(kind="research", source="test", url=f"http://example.org/{n}", title=title, text=text, **kw)


@pytest.fixture
def enricher(nlp_settings, sparse):
    return Enricher(nlp_settings, embedder=HashingEmbedder(max_tokens=64), sparse=sparse)


def test_english_document(enricher):
    doc = _doc(1, "Quantum sensors for navigation",
               "Axelspace Inc. builds quantum sensing payloads and radar absorbing material for small aircraft.",
               organizations=["AXELSPACE, INC.", "Tokyo Tech"])
    [out], rejects = enricher.enrich([doc])
    assert not rejects
    a = out.analysis
    assert a.language == "en" and out.document.language == "en"
    assert "quantum-sensing" in a.concepts and "radar-absorbing-material" in a.concepts
    assert a.areas  # from the taxonomy
    assert a.organizations["axelspace"] == "AXELSPACE, INC."  # the source's spelling wins
    assert "tokyotech" in a.organizations
    for e in a.entities:  # offsets are in Document.text
        assert doc.text[e.start : e.end] == e.text
    assert out.passage_vectors.shape == (len(a.passages), 384)
    assert out.sparse.indices and len(out.sparse.indices) == len(out.sparse.values)
    assert a.keyphrases


def test_japanese_document_gets_english_renderings(enricher):
    text = "株式会社アクセルスペースは量子センサーを用いた航法システムを開発した。"
    [out], rejects = enricher.enrich([_doc(2, "量子センシングの研究", text)])
    assert not rejects
    a = out.analysis
    assert a.language == "ja"
    assert "quantum-sensing" in a.concepts
    assert "アクセルスペース" in a.organizations
    assert out.translated_from  # renderings appended, pointing at their source passage
    for index, source in out.translated_from.items():
        rendered, original = a.passages[index], a.passages[source]
        assert (rendered.start, rendered.end) == (original.start, original.end)
        assert "quantum sensing" in rendered.text
    assert out.passage_vectors.shape[0] == len(a.passages)


def test_japanese_passages_take_their_renderings_vectors_unless_told_to_embed_the_japanese(nlp_settings, sparse):
    text = "株式会社アクセルスペースは量子センサーを用いた航法システムを開発した。"
    doc = _doc(2, "量子センシングの研究", text)
    embedder = HashingEmbedder(max_tokens=64)
    [out], _ = Enricher(nlp_settings, embedder=embedder, sparse=sparse).enrich([doc])
    [(rendered, source)] = out.translated_from.items()
    np.testing.assert_allclose(out.passage_vectors[source], out.passage_vectors[rendered], atol=1e-6)
    assert out.analysis.passages[source].text.startswith("量子センシング")  # evidence keeps the Japanese
    [as_text], _ = Enricher(nlp_settings.model_copy(update={"ja_vectors": "text"}), embedder=embedder,
                            sparse=sparse).enrich([doc])
    np.testing.assert_allclose(as_text.passage_vectors[source],
                               embedder.encode([as_text.analysis.passages[source].text])[0], atol=1e-6)
    assert not np.allclose(as_text.passage_vectors[source], as_text.passage_vectors[rendered])
    # a Japanese query's first vector (a need title's in ranking) is its rendering's
    q = Enricher(nlp_settings, embedder=embedder, sparse=sparse).query("量子センシングによる航法")
    np.testing.assert_allclose(q.passage_vectors[0], embedder.encode([q.rendering])[0], atol=1e-6)


def test_titles_get_their_own_vectors(enricher):
    en = _doc(3, "Quantum sensors for navigation", "A long abstract about sensors. " * 5)
    ja = _doc(4, "量子センシングの研究", "量子センサーを用いた航法システムを開発した。")
    untitled = _doc(5, "", "Radar absorbing material for small aircraft.")
    out, rejects = enricher.enrich([en, ja, untitled])
    assert not rejects
    by_id = {o.document.id: o for o in out}
    title_vec = by_id[en.id].title_vector
    assert title_vec.shape == (384,)
    np.testing.assert_allclose(title_vec, enricher.embedder.encode([en.title])[0], atol=1e-6)
    assert not np.allclose(title_vec, by_id[en.id].passage_vectors[0])  # not the first passage's vector
    assert by_id[en.id].title_sparse.indices == enricher.sparse.encode_title(en.title, "en").indices
    # a Japanese title is embedded through its English rendering (the default model reads English) ...
    rendering = enricher._title_text(ja.title, "ja")
    assert "quantum sensing" in rendering
    np.testing.assert_allclose(by_id[ja.id].title_vector, enricher.embedder.encode([rendering])[0], atol=1e-6)
    # ... and its BM25 title vector keeps the Japanese words beside the rendering
    assert set(enricher.sparse.encode_title(ja.title, "ja").indices) <= set(by_id[ja.id].title_sparse.indices)
    assert by_id[untitled.id].title_vector is None and by_id[untitled.id].title_sparse is None


def test_bad_inputs_never_stop_the_batch(enricher):
    docs = [
        _doc(1, "", "   "),  # empty
        Document(id="ctl", kind="research", source="test", url="http://example.org/ctl",
                 title="ctl\x00\x07", text="bad \x1b[31m radar absorbing material \u202e end"),
        _doc(3, "Mixed 混在", "Quantum sensing と量子センシング and ЖЖЖ ☃ emoji 🚀 in one text."),
        _doc(4, "Unbekannt", "Die Quantensensorik ist ein Forschungsgebiet der Physik und wird eingesetzt."),
        _doc(5, "big", "Radar absorbing materials are studied in detail here. " * 20_000),  # ~1 MB
        _doc(6, "ok", "A plain English document about synthetic aperture radar imaging."),
    ]
    started = time.perf_counter()
    out, rejects = enricher.enrich(docs)
    assert time.perf_counter() - started < 60
    assert [r.reason for r in rejects] == ["empty text"]
    assert rejects[0].stage == "nlp" and rejects[0].url == "http://example.org/1"
    by_id = {e.document.id: e for e in out}
    assert len(out) == 5
    ctl = by_id["ctl"]
    assert "radar-absorbing-material" in ctl.analysis.concepts
    assert by_id[docs[3].id].analysis.language == "other"
    big = by_id[docs[4].id]
    assert big.notes and "nlp_notes" in big.document.meta
    assert big.passage_vectors.shape[0] == len(big.analysis.passages) <= enricher.max_passages


def test_unchanged_documents_are_not_embedded_twice(nlp_settings, sparse):
    inner = HashingEmbedder(max_tokens=64)
    enricher = Enricher(nlp_settings, embedder=inner, sparse=sparse)
    docs = [_doc(i, f"Title {i}", f"Document number {i} about lidar and sonar. " * 10) for i in range(5)]
    enricher.enrich(docs)
    seen = inner.encoded_texts
    assert seen > 0
    out, _ = Enricher(nlp_settings, embedder=inner, sparse=sparse).enrich(docs)  # a later run, same cache file
    assert inner.encoded_texts == seen
    assert all(np.allclose(np.linalg.norm(e.passage_vectors, axis=1), 1, atol=1e-5) for e in out)


def test_query(enricher):
    q = enricher.query("Quantum sensing for GPS-denied navigation")
    assert q.language == "en" and "quantum-sensing" in q.concepts
    assert q.passage_vectors.shape == (1, 384) and q.passages == [q.text]
    with pytest.raises(ValueError):
        enricher.query(" \x00 ")


@pytest.mark.slow
def test_japanese_query_is_rendered(enricher):
    q = enricher.query("量子センシングを用いた航法")
    assert q.language == "ja" and "quantum-sensing" in q.concepts
    assert "quantum sensing" in q.rendering
    assert q.passage_vectors.shape[0] == 2  # the Japanese text and its English rendering


@pytest.mark.slow
def test_term_translation_uses_taxonomy_then_jmdict(enricher):
    pytest.importorskip("jamdict")
    doc = enricher.pipeline("ja")("量子センシングと耐熱複合材料による小型無人機")
    rendering = enricher.translator.render(doc)
    assert rendering.startswith("quantum sensing")  # taxonomy label, as one unit
    assert "composite material" in rendering  # JMdict compound
    assert "drone" in rendering or "unmanned aerial vehicle" in rendering  # JMdict or the taxonomy (uav)


def _need_and_research(nlp_settings, title, text):
    """(lexical encoder, enricher, the need's and a research document's sparse vectors) for the same text."""
    from nlp.lexical import LexicalEncoder

    lexical = LexicalEncoder()
    enricher = Enricher(nlp_settings, embedder=HashingEmbedder(max_tokens=64), sparse=lexical)
    need = Document.make(kind="need", source="test", url="http://example.org/n", title=title, text=text)
    [n, r], _ = enricher.enrich([need, _doc(2, title, text)])
    return lexical, enricher, n.sparse, r.sparse


def test_english_needs_and_queries_also_carry_their_japanese_equivalents_weighed_below_their_own_words(nlp_settings):
    from nlp.lexical import term_id

    text = "A rugged camera with a heater for cold nights"
    lexical, enricher, need, research = _need_and_research(nlp_settings, "Rugged cameras", text)
    camera = term_id("カメラ")
    need_weights = dict(zip(need.indices, need.values))
    assert camera in need_weights and camera not in research.indices  # documents are not expanded
    own = max(need_weights[term_id(t)] for t in lexical.tokens("camera", "en"))
    assert 0 < need_weights[camera] <= nlp_settings.reverse_weight * own * 1.5
    assert camera in enricher.query(text).sparse.indices
    off = Enricher(nlp_settings.model_copy(update={"reverse_weight": 0.0}), embedder=HashingEmbedder(max_tokens=64),
                   sparse=lexical)
    assert camera not in off.query(text).sparse.indices
    assert camera not in _need_and_research(off.settings, "Rugged cameras", text)[2].indices


def test_japanese_needs_and_queries_also_carry_the_other_readings_of_their_words(nlp_settings):
    from nlp.lexical import term_id

    text = "電池の負極の研究"
    lexical, enricher, need, research = _need_and_research(nlp_settings, "負極", text)
    pole = term_id(lexical.tokens("pole", "en")[0])
    assert pole in need.indices and pole not in research.indices  # "anode" is the rendering, "negative pole" the other
    assert pole in enricher.query(text).sparse.indices


def test_an_english_query_loads_no_japanese_pipeline(nlp_settings, monkeypatch):
    """A query's filler words (研究, "study") are known without rendering anything: an English query loads no
    Japanese pipeline for them (reading them from renderings made then had cost 1.2 s of a cold English
    `scout search`)."""
    from nlp.lexical import LexicalEncoder

    enricher = Enricher(nlp_settings, embedder=HashingEmbedder(max_tokens=64), sparse=LexicalEncoder())
    asked: list[str] = []
    pipeline = enricher.pipeline
    monkeypatch.setattr(enricher, "pipeline", lambda language: asked.append(language) or pipeline(language))
    enricher.query("drone detection radar research")
    assert "ja" not in asked


def test_the_english_filler_words_hold_the_renderings_of_the_japanese_ones(nlp_settings):
    """A Japanese query's rendering spells its filler words in English (研究 -> "study"): each rendering of a
    Japanese filler word is made of English filler words, so the rendering's reading drops them too."""
    from nlp.lexical import LexicalEncoder
    from nlp.tokens import QUERY_FILLER_JA

    enricher = Enricher(nlp_settings, embedder=HashingEmbedder(max_tokens=64), sparse=LexicalEncoder())
    filler = enricher.query_filler_terms()
    ja = enricher.pipeline("ja")
    for word in sorted(QUERY_FILLER_JA):
        rendering = enricher.translator.render(ja.make_doc(word))
        assert set(enricher.sparse.tokens(rendering, "en")) <= filler, f"{word} -> {rendering!r}"
