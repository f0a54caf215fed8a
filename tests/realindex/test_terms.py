"""Typed technology terms through the real pipeline, index, library and pages (issue 26)."""

from __future__ import annotations

from domain.models import TECHNOLOGY_ENTITY_TYPES, document_terms


def test_japanese_documents_carry_typed_terms_and_never_generic_words(stored):
    terms = [t for doc in stored.values() if doc.language == "ja" for t in document_terms(doc)]
    assert terms, "the shipped Japanese tagger typed no term in the Japanese fixtures"
    assert all(t.type in TECHNOLOGY_ENTITY_TYPES for t in terms)
    assert not {t.text for t in terms} & {"近年", "評価", "実現", "本研究", "提案手法"}


def test_shared_terms_of_a_match_are_in_both_documents(real_library):
    seen = 0
    for need in real_library.needs():
        need_terms = document_terms(need)
        texts = {t.text.casefold() for t in need_terms}
        concepts = {t.concept for t in need_terms if t.concept}
        for m in real_library.match(need.id, limit=10).matches:
            doc_terms = {(t.type, t.text) for t in document_terms(real_library.document(m.doc_id))}
            for t in m.shared_terms:
                seen += 1
                assert (t.type, t.text) in doc_terms
                assert t.text.casefold() in texts or (t.concept and t.concept in concepts)
    assert seen, "no match shares a typed term with its need"


def test_pages_show_the_types(real_library, real_client, stored):
    doc = next(d for d in stored.values() if d.language == "ja" and d.kind.value != "need" and document_terms(d))
    html = real_client.get(f"/documents/{doc.id}").text
    assert "Technology terms" in html
    assert document_terms(doc)[0].text in html
    for need in real_library.needs():
        if any(m.shared_terms for m in real_library.match(need.id, limit=20).matches):
            assert "Shared terms:" in real_client.get(f"/needs/{need.id}").text
            break
    else:
        raise AssertionError("no need page has a match with shared terms")
