"""Typed technology terms through the real pipeline, index, library and pages (issue 26)."""

from __future__ import annotations

import re

from domain.models import ENTITY_TYPE_NAMES, TECHNOLOGY_ENTITY_TYPES, SearchFilters, document_terms


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
    # grouped under headings that name the type ("Technologies and methods:"), the chips do not repeat it
    # (every chip had begun "technology / method")
    terms = html[html.index('<section class="doc-terms"'):html.index("</section>", html.index('<section class="doc-terms"'))]
    assert "Technologies and methods:" in terms or "Materials:" in terms or "Tasks and applications:" in terms
    assert 'class="term-type"' not in terms
    for need in real_library.needs():
        if any(m.shared_terms for m in real_library.match(need.id, limit=20).matches):
            page = real_client.get(f"/needs/{need.id}").text
            # a chip shows the term, its type in its tint and its title, never written before the term
            # ("technology / method レーダー" had read as one phrase on every chip)
            assert "Shared terms:" in page and 'class="term-type"' not in page
            titles = re.findall(r'<a class="chip term term-(\w+)" href="[^"]*" title="([^"]*)"', page)
            assert titles and all(title.startswith(ENTITY_TYPE_NAMES[kind.upper()]) for kind, title in titles)
            break
    else:
        raise AssertionError("no need page has a match with shared terms")


def _term_counts(docs, kind: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for doc in docs:
        for text in {" ".join(t.text.split()).casefold() for t in document_terms(doc) if t.type == kind}:
            counts[text] = counts.get(text, 0) + 1
    return counts


def test_browsing_with_no_query_counts_typed_terms_over_the_filtered_documents(real_library, stored):
    """A browse's term facets are exact counts of the documents the filters select (a term in one document
    only is left out, as in a query's facets); a filter only ever narrows them."""
    from service.index_library import TERM_FACETS

    everything = real_library.search("", limit=5)
    assert any(everything.facets.get(f) for f in TERM_FACETS), "no typed-term facet when browsing"
    for kind_filter in (None, "research"):
        filters = SearchFilters(kind=kind_filter) if kind_filter else None
        result = real_library.search("", filters, limit=5)
        docs = [d for d in stored.values() if kind_filter is None or d.kind.value == kind_filter]
        for facet, kind in TERM_FACETS.items():
            expected = {t: c for t, c in _term_counts(docs, kind).items() if c > 1}
            assert set(result.facets[facet]) <= set(expected)
            for value, count in result.facets[facet].items():
                assert count == expected[value], (facet, value)
                assert count <= everything.facets[facet].get(value, 0)
            if len(expected) <= 12:
                assert result.facets[facet] == expected


def _query_naming_a_shared_term(stored):
    """A term two documents type alike (a query of its words finds both)."""
    counts = _term_counts([d for d in stored.values() if d.kind.value != "need"], "METHOD")
    return max((t for t, c in counts.items() if c > 1), key=lambda t: (counts[t], t))


def test_a_search_hit_explains_itself_by_the_terms_the_query_names(real_library, stored):
    term = _query_naming_a_shared_term(stored)
    hits = real_library.search(term, limit=20).hits
    explained = [h for h in hits if h.shared_terms]
    assert len(explained) >= 2
    query_concepts = set(real_library.ranker.query_concepts(term))
    for h in hits:
        doc_terms = {(t.type, t.text) for t in document_terms(real_library.document(h.doc_id))}
        for t in h.shared_terms:
            assert (t.type, t.text) in doc_terms
            words = " ".join(t.text.split()).casefold()
            assert words in term or term in words or t.concept in query_concepts
    named = [h for h in hits if term in {" ".join(t.text.split()).casefold() for t in
                                         document_terms(real_library.document(h.doc_id))}]
    assert named and all(any(" ".join(t.text.split()).casefold() == term for t in h.shared_terms) for h in named)


def test_the_search_page_shows_the_terms_a_hit_matches(real_library, real_client, stored):
    term = _query_naming_a_shared_term(stored)
    explained = [h for h in real_library.search(term, limit=20).hits if h.shared_terms]
    page = real_client.get("/", params={"q": term}).text
    hits = page.split('<li class="hit"')[1:]
    shown = [h for h in hits if "Matching terms:" in h]
    assert len(shown) == len(explained) >= 2
    for h in shown:
        assert term in h.split("Matching terms:", 1)[1].split("</div>", 1)[0].casefold()


def test_watchlists_show_each_hits_shared_typed_terms(real_library, real_client, stored, tmp_path):
    from service.analyst import AnalystStore
    from service.watch import add_watchlist

    term = _query_naming_a_shared_term(stored)
    with AnalystStore(tmp_path / "analyst.sqlite") as store:
        wl = add_watchlist(store, real_library, "terms", user="tester", query=term)
        hits = store.hits(wl.id)
        assert sum(1 for h in hits if h.terms) >= 2, "no watchlist hit names its shared terms"
        for h in hits:
            doc_terms = {(t.type, t.text) for t in document_terms(real_library.document(h.doc_id))}
            assert {(t.type, t.text) for t in h.terms} <= doc_terms
        # a concept watchlist: its hits' terms are those under the concept
        concept = next(t.concept for d in stored.values() for t in document_terms(d) if t.concept)
        cwl = add_watchlist(store, real_library, "concept", user="tester", filters={"concept": concept})
        taxonomy = real_library.enricher.taxonomy
        chits = store.hits(cwl.id)
        assert any(h.terms for h in chits)
        for h in chits:
            assert all(concept in (t.concept, *taxonomy.ancestors(t.concept)) for t in h.terms)


def test_the_browse_page_and_api_show_typed_term_facets(real_library, real_client):
    from service.index_library import TERM_FACETS

    research = real_library.search("", SearchFilters(language="ja"), limit=5)
    facet = next(f for f in TERM_FACETS if research.facets.get(f))
    html = real_client.get("/", params={"lang": "ja"}).text  # a browse: a filter, no query
    section = html.split(f'data-facet="{facet}"', 1)
    assert len(section) == 2, "the browse page has no typed-term facet"
    value = next(iter(research.facets[facet]))
    assert value in section[1].split("</section>", 1)[0]
    api = real_client.get("/api/search", params={"q": "", "lang": "ja"}).json()
    assert api["facets"][facet] == research.facets[facet]


def test_the_watchlist_page_shows_shared_terms(real_library, stored, tmp_path):
    from fastapi.testclient import TestClient

    from domain.settings import WebSettings
    from scout.web.app import create_app
    from service.analyst import AnalystStore

    term = _query_naming_a_shared_term(stored)
    with AnalystStore(tmp_path / "analyst.sqlite") as store, \
            TestClient(create_app(real_library, WebSettings(token=None), analyst=store),
                       base_url="http://127.0.0.1") as client:
        assert client.get("/watchlists").status_code == 200
        assert "Shared terms:" not in client.get("/watchlists").text
        assert client.post("/watchlists", data={"name": "shared terms", "q": term},
                           follow_redirects=True).status_code == 200
        page = client.get("/watchlists").text
        chips = page.split("Shared terms:", 1)
        assert len(chips) == 2, "no watchlist hit shows its shared terms"
        assert term in chips[1].split("</div>", 1)[0].casefold()


def test_a_search_hit_lists_a_term_once(real_client, real_library):
    """A hit listed its matching terms, then all its terms again under no label (電波吸収メタマテリアル twice):
    the second list holds the others, labelled."""
    import re

    for query in ("電波吸収メタマテリアル", "ドローン 群制御", "量子センサ"):
        result = real_library.search(query, limit=10)
        hit = next((h for h in result.hits if h.shared_terms and len(h.terms) > len(h.shared_terms)), None)
        if hit is None:
            continue
        html = real_client.get("/", params={"q": query}).text
        start = html.index(f'<li class="hit" data-doc-id="{hit.doc_id}"')
        block = html[start:html.find("</li>", start)]
        chips = re.findall(r'<a class="chip term [^>]*>([^<]+)</a>', block)
        assert len(chips) == len(set(chips)), chips
        assert "Other terms:" in block and "Matching terms:" in block
        return
    raise AssertionError("no search hit with matching terms and others")


def test_an_english_querys_japanese_term_facets_carry_their_english_names(real_library, real_client):
    """Out of the box only Japanese documents have typed terms, so an English query's term facets listed
    Japanese terms only ("radar": 深層学習, レーダ, レーダー ... on the demo). Each Japanese value the taxonomy
    knows now carries its concept's English name, in the JSON, on the page and in `scout search`."""
    from service import labels
    from service.index_library import TERM_FACETS

    for query in ("drone swarm control", "ultra-high temperature ceramics", "radar absorbing coating"):
        result = real_library.search(query, limit=10)
        values = [v for facet in TERM_FACETS for v in result.facets.get(facet, {}) if re.search(r"[\u3040-\u9fff]", v)]
        known = {v: labels.term_gloss(v) for v in values if labels.term_gloss(v)}
        if not known:
            continue
        assert result.term_glosses == known
        page = real_client.get("/", params={"q": query}).text
        facets = page[page.index('<aside class="facets"'):page.index("</aside>")]
        for value, gloss in known.items():
            assert re.search(rf'>{re.escape(value)}</span> <span class="gloss" lang="en">{re.escape(gloss)}</span>', facets)
        japanese = real_library.search("無人機の群制御", limit=10)
        assert japanese.term_glosses == {}, "a Japanese query's reader reads the terms as they are"
        browse = real_library.search("", SearchFilters(language="ja"), limit=10)  # the pages are in English
        shown = [v for facet in TERM_FACETS for v in browse.facets.get(facet, {})]
        assert browse.term_glosses == {v: labels.term_gloss(v) for v in shown if labels.term_gloss(v)}
        assert browse.term_glosses
        return
    raise AssertionError("no English query's term facets hold a Japanese term the taxonomy knows")
