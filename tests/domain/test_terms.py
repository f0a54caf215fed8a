"""Typed technology terms as people read them (issue 26): what a match says two documents share is true."""

from __future__ import annotations

from domain.models import TermRef, document_terms, query_terms, shared_terms


def T(kind: str, text: str, concept: str | None = None) -> TermRef:
    return TermRef(type=kind, text=text, concept=concept)


def test_shared_by_the_same_words_or_the_same_concept_only():
    need = [T("MATERIAL", "Carbon fiber  composites", "composite-material"), T("TASK", "anomaly detection")]
    doc = [T("MATERIAL", "炭素繊維複合材料", "composite-material"), T("TASK", "Anomaly Detection"),
           T("METHOD", "beam search"), T("MATERIAL", "carbon")]
    shared = shared_terms(need, doc)
    assert [t.text for t in shared] == ["炭素繊維複合材料", "Anomaly Detection"]
    assert shared_terms([], doc) == [] and shared_terms(need, []) == []


def test_a_term_without_a_concept_is_never_shared_by_a_missing_concept():
    assert shared_terms([T("METHOD", "x", None)], [T("METHOD", "y", None)]) == []


def test_document_terms_read_meta_and_skip_damaged_rows():
    meta = {"terms": [{"type": "METHOD", "text": "beam search", "concept": None}, {"text": "no type"}, "junk"]}
    assert [t.text for t in document_terms({"meta": meta})] == ["beam search"]
    assert document_terms(None) == [] and document_terms({"meta": {}}) == []
    assert T("TASK", "x").type_name == "task / application"


def test_a_query_names_a_term_by_whole_words_or_its_concept():
    doc = [T("METHOD", "synthetic aperture radar"), T("MATERIAL", "metamaterial absorber"), T("METHOD", "radar"),
           T("TASK", "paradar tracking"), T("MATERIAL", "炭素繊維"), T("METHOD", "GNSS", "gnss")]
    # the query in the term's words, or the term in the query's; whole words only (never "paradar tracking")
    assert [t.text for t in query_terms(" Radar ", doc)] == ["synthetic aperture radar", "radar"]
    assert [t.text for t in query_terms("a Metamaterial  absorber for ships", doc)] == ["metamaterial absorber"]
    assert [t.text for t in query_terms("炭素繊維の接合", doc)] == ["炭素繊維"]
    assert [t.text for t in query_terms("衛星測位", doc, {"gnss"})] == ["GNSS"]
    assert query_terms("", doc) == [] and query_terms("radar", []) == []
