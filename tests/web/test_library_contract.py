"""What the screens rely on from any `service.library.Library`, checked against each implementation.

Every fake library the tests use is checked here (the in-memory one of the web tests, the report tests' one);
tests/realindex/test_library_contract.py runs the same tests against the real library over a real index. The
tests derive their queries and filters from each implementation's own documents, so they hold for any corpus.
"""

from __future__ import annotations

from datetime import date

import pytest

from service.library import Library
from domain.models import DocKind, SearchFilters, score_label
from tests.report.fakes import FakeLibrary
from tests.web.fakes import MemoryLibrary

IMPLEMENTATIONS = {"memory": MemoryLibrary, "report": FakeLibrary}
QUERIES = ["radar absorbing metamaterial", "電波吸収材", "quantum sensor navigation", "drone detection"]


@pytest.fixture(scope="module", params=sorted(IMPLEMENTATIONS))
def impl(request) -> Library:
    return IMPLEMENTATIONS[request.param]()


def test_is_a_library(impl):
    assert isinstance(impl, Library)


def queries(impl) -> list[str]:
    """Fixed probes in both languages plus the implementation's own need titles."""
    return QUERIES + [n.title for n in impl.needs()][:3]


def test_search_refuses_a_query_past_the_bound_or_not_text(impl):
    """A person's query is bounded at the library's door, whoever calls it (CLI, API, watchlists, relay)."""
    from domain.limits import MAX_QUERY_CHARS, InputRejected, InputTooLarge

    with pytest.raises(InputTooLarge):
        impl.search("radar " * 200_000)
    with pytest.raises(InputRejected):
        impl.search("radar \ud800")
    assert impl.search("r" * MAX_QUERY_CHARS, limit=1) is not None  # at the bound: answered


def test_search_finds_something(impl):
    assert any(impl.search(q, limit=3).hits for q in queries(impl))


@pytest.mark.parametrize("query", QUERIES)
def test_search_is_ranked_limited_and_faceted(impl, query):
    result = impl.search(query, limit=3)
    assert result.query == query
    assert len(result.hits) <= 3
    scores = [h.score for h in result.hits]
    assert scores == sorted(scores, reverse=True)
    assert all(0.0 <= h.score <= 1.0 and h.label == score_label(h.score) for h in result.hits)
    assert len({h.doc_id for h in result.hits}) == len(result.hits)
    full = impl.search(query, limit=100)
    assert sum(full.facets.get("kind", {}).values()) == len(full.hits), "kind facet counts every hit once"
    assert sum(full.facets.get("language", {}).values()) == len(full.hits)


FILTERS = {
    "kind": lambda h: (SearchFilters(kind=h.kind), lambda x: x.kind == h.kind),
    "language": lambda h: h.language and (SearchFilters(language=h.language), lambda x: x.language == h.language),
    "since": lambda h: h.published and (SearchFilters(since=h.published.date()),
                                        lambda x: x.published and x.published.date() >= h.published.date()),
    "until": lambda h: h.published and (SearchFilters(until=h.published.date()),
                                        lambda x: x.published and x.published.date() <= h.published.date()),
    "concept": lambda h: h.concepts and (SearchFilters(concept=h.concepts[0]), lambda x: h.concepts[0] in x.concepts),
    "source": lambda h: (SearchFilters(source=h.source), lambda x: x.source == h.source),
}


@pytest.mark.parametrize("name", sorted(FILTERS))
def test_search_filters_hold(impl, name):
    """A filter taken from a hit keeps that hit's query finding something, and every hit passes it."""
    probes = [(q, h) for q in queries(impl) for h in impl.search(q, limit=50).hits]
    built = [(q, FILTERS[name](h)) for q, h in probes]
    built = [(q, f) for q, f in built if f]
    if not built:
        pytest.skip(f"no document of this implementation carries a {name}")
    for query, (filters, check) in built[:5]:
        hits = impl.search(query, filters, limit=50).hits
        assert hits, f"{query!r} with {filters} finds what it found without the filter"
        assert all(check(h) for h in hits)


def test_needs_are_ordered_by_source_then_title(impl):
    needs = impl.needs()
    assert [(n.source, n.title) for n in needs] == sorted((n.source, n.title) for n in needs)


def test_needs_documents_and_matches(impl):
    needs = impl.needs()
    assert any(impl.match(n.id, limit=3).matches for n in needs)
    assert needs and all(n.kind == DocKind.need for n in needs)
    for need in needs:
        assert impl.document(need.id) == need
        result = impl.match(need.id, limit=3)
        assert result.need.id == need.id and len(result.matches) <= 3
        assert [m.rank for m in result.matches] == list(range(1, len(result.matches) + 1))
        assert all(m.need_id == need.id and m.kind != DocKind.need for m in result.matches)
        scores = [m.score for m in result.matches]
        assert scores == sorted(scores, reverse=True)
        for m in result.matches:  # one score in [0, 1], its breakdown's contributions add up to it, a label
            assert 0.0 <= m.score <= 1.0 and m.breakdown.total == m.score
            assert sum(m.breakdown.contributions().values()) == pytest.approx(m.score, abs=1e-3)
            assert m.label == score_label(m.score) and m.model_dump()["label"] == m.label
        best = {m.doc_id for m in impl.match(need.id, limit=20).matches}
        assert all(o.doc_ids and set(o.doc_ids) <= best for o in result.organizations)
    assert impl.document("no-such-id") is None
    with pytest.raises(KeyError):
        impl.match("no-such-need")


def test_organization_rows_do_not_depend_on_the_page_size(impl):
    """A need's organization rows score their documents among its best 20 matches, whatever the limit: the page
    (any page of it), `scout match --limit N`, the API and the brief show one figure per organization."""
    def rows(need_id, limit):
        return [(o.key, round(o.score, 9), o.doc_ids) for o in impl.match(need_id, limit=limit).organizations]

    compared = 0
    for need in impl.needs():
        full = rows(need.id, 20)
        for limit in (1, 3, 41, 100):
            assert rows(need.id, limit) == full, f"{need.id} at limit {limit}"
        compared += len(impl.match(need.id, limit=20).matches) > 1
    assert compared, "some need has more matches than the smallest limit"


def test_all_matches_respects_the_per_need_limit(impl):
    matches = list(impl.all_matches(limit_per_need=2))
    per_need: dict[str, int] = {}
    for m in matches:
        per_need[m.need_id] = per_need.get(m.need_id, 0) + 1
    assert set(per_need) == {n.id for n in impl.needs() if impl.match(n.id).matches}
    assert max(per_need.values()) <= 2


def test_organization_profile(impl):
    need = next(n for n in impl.needs() if impl.match(n.id).organizations)
    some_org = impl.match(need.id).organizations[0]
    profile = impl.organization(some_org.name)
    assert profile is not None and profile.key == some_org.key
    assert impl.organization(some_org.key).key == profile.key  # by key as well as by name
    assert any(n.key == need.id for n in profile.needs)
    assert impl.organization("No Such Organization 42") is None


def check_needs_answered(impl) -> None:
    """A document's needs: one entry per need whose 20 best matches hold it, best first, with the score that need's
    ranking gives it; a need document, or a document no need ranks, answers none."""
    needs = {n.id: n for n in impl.needs()}
    best = {n: {m.doc_id: m.score for m in impl.match(n, limit=20).matches} for n in needs}
    docs = {d for ranked in best.values() for d in ranked}
    assert docs, "some need has matches"
    for doc_id in sorted(docs):
        answered = impl.needs_answered(doc_id)
        assert [a.key for a in answered] == sorted({a.key for a in answered}, key=lambda k: -best[k][doc_id])
        assert {a.key for a in answered} == {n for n, ranked in best.items() if doc_id in ranked}
        for a in answered:
            assert a.name == needs[a.key].title and a.doc_ids == [doc_id]
            assert abs(a.score - best[a.key][doc_id]) < 1e-9
    assert impl.needs_answered(next(iter(needs))) == []


def test_needs_answered_are_the_needs_whose_rankings_hold_the_document(impl):
    check_needs_answered(impl)
