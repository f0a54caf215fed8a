"""The library contract the screens rely on (tests/web/test_library_contract.py), checked on the real library.

The contract's tests are imported unchanged; only their `impl` fixture is replaced by the real index.
"""

from __future__ import annotations

from datetime import date

import pytest

from domain.models import DocKind, SearchFilters
from tests.web.test_library_contract import (  # noqa: F401 - collected here against the real library
    test_all_matches_respects_the_per_need_limit,
    test_is_a_library,
    test_needs_are_ordered_by_source_then_title,
    test_needs_documents_and_matches,
    test_organization_profile,
    test_organization_rows_do_not_depend_on_the_page_size,
    test_search_filters_hold,
    test_search_finds_something,
    test_search_is_ranked_limited_and_faceted,
    test_search_refuses_a_query_past_the_bound_or_not_text,
)


@pytest.fixture(scope="module")
def impl(real_library):
    return real_library


# -- what the screens assume beyond the shared contract, checked where only the real library can break it ----


def test_match_of_a_document_that_is_not_a_need_is_a_key_error(real_library, stored):
    with pytest.raises(KeyError):
        real_library.match(stored["2604.01234"].id)  # a research result


@pytest.mark.parametrize("filters", [
    SearchFilters(concept="drone-swarm"),
    SearchFilters(kind=DocKind.startup, language="ja"),
    SearchFilters(area="jp-hypersonics", since=date(2021, 1, 1)),
    SearchFilters(organization="株式会社メタテック"),
])
def test_browsing_by_filters_alone(real_library, filters):
    everything = real_library.search("", filters, limit=100)
    matching = real_library.index.count(filters)
    assert matching and len(everything.hits) == matching, "an empty query lists every matching document"
    published = [h.published for h in everything.hits]
    assert published == sorted(published, reverse=True), "newest first"
    for h in everything.hits:
        analysis = real_library.index.analysis_payload(h.doc_id)
        assert filters.concept is None or filters.concept in analysis["concepts"]
        assert filters.area is None or filters.area in analysis["areas"]
        assert filters.kind is None or h.kind == filters.kind
        assert filters.language is None or h.language == filters.language
        assert filters.since is None or h.published.date() >= filters.since
        assert filters.organization is None or "メタテック" in analysis["organizations"]
    page = real_library.search("", filters, limit=1)
    assert len(page.hits) == 1
    assert sum(page.facets["kind"].values()) == matching, "facets count every matching document, not the page"
    assert sum(page.facets["year"].values()) == matching


def test_search_facets_count_every_matching_document(real_library):
    filters = SearchFilters(language="ja")
    result = real_library.search("電波吸収", filters, limit=2)
    assert len(result.hits) == 2
    assert sum(result.facets["language"].values()) == real_library.index.count(filters) == result.facets["language"]["ja"]


def test_organization_needs_are_one_per_need(real_library):
    needs = {n.id: n for n in real_library.needs()}
    for name in ("三菱電機株式会社", "Tohoku University", "AeroShield Ltd.", "スカイスウォーム"):
        profile = real_library.organization(name)
        assert profile is not None, name
        own = {d.doc_id for d in profile.documents}
        assert own and profile.needs, name
        keys = [n.key for n in profile.needs]
        assert len(keys) == len(set(keys)), "one entry per need"
        scores = [n.score for n in profile.needs]
        assert scores == sorted(scores, reverse=True)
        for entry in profile.needs:
            assert entry.key in needs and entry.name == needs[entry.key].title
            assert entry.doc_ids and set(entry.doc_ids) <= own
            matched = {m.doc_id for m in real_library.match(entry.key, limit=50).matches}
            assert set(entry.doc_ids) <= matched


def test_japanese_legal_forms_name_one_organization(real_library):
    a, b = real_library.organization("スカイスウォーム株式会社"), real_library.organization("株式会社スカイスウォーム")
    assert a is not None and b is not None and a.key == b.key
    assert a.name == "スカイスウォーム株式会社", "shown as the source wrote it"
    assert real_library.organization("三菱電機").known_supplier is (
        "三菱電機" in real_library.ranker.known_suppliers)


def test_needs_answered_are_the_needs_whose_rankings_hold_the_document(real_library):
    from tests.web.test_library_contract import check_needs_answered

    check_needs_answered(real_library)
