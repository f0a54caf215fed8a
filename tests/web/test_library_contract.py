"""What the screens rely on from any `service.library.Library`, checked against each implementation.

The in-memory fake is checked here; the real library joins by adding a factory to IMPLEMENTATIONS (or a
fixture that yields one built over an index of the same fixture documents).
"""

from __future__ import annotations

from datetime import date

import pytest

from service.library import Library
from domain.models import DocKind, SearchFilters, score_label
from tests.web.fakes import MemoryLibrary

IMPLEMENTATIONS = {"memory": MemoryLibrary}
QUERIES = ["radar absorbing metamaterial", "電波吸収材", "quantum sensor navigation", "drone detection"]


@pytest.fixture(scope="module", params=sorted(IMPLEMENTATIONS))
def impl(request) -> Library:
    return IMPLEMENTATIONS[request.param]()


def test_is_a_library(impl):
    assert isinstance(impl, Library)


@pytest.mark.parametrize("query", QUERIES)
def test_search_is_ranked_limited_and_faceted(impl, query):
    result = impl.search(query, limit=3)
    assert result.query == query
    assert 0 < len(result.hits) <= 3
    scores = [h.score for h in result.hits]
    assert scores == sorted(scores, reverse=True)
    assert all(0.0 <= h.score <= 1.0 and h.label == score_label(h.score) for h in result.hits)
    assert len({h.doc_id for h in result.hits}) == len(result.hits)
    full = impl.search(query, limit=100)
    assert sum(full.facets.get("kind", {}).values()) == len(full.hits), "kind facet counts every hit once"
    assert sum(full.facets.get("language", {}).values()) == len(full.hits)


@pytest.mark.parametrize(
    "filters, check",
    [
        (SearchFilters(kind=DocKind.research), lambda h: h.kind == DocKind.research),
        (SearchFilters(language="ja"), lambda h: h.language == "ja"),
        (SearchFilters(since=date(2026, 1, 1)), lambda h: h.published and h.published.date() >= date(2026, 1, 1)),
        (SearchFilters(until=date(2025, 12, 31)), lambda h: h.published and h.published.date() <= date(2025, 12, 31)),
        (SearchFilters(concept="metamaterial"), lambda h: "metamaterial" in h.concepts),
        (SearchFilters(source="arxiv"), lambda h: h.source == "arxiv"),
    ],
)
def test_search_filters_hold(impl, filters, check):
    hits = [h for q in QUERIES for h in impl.search(q, filters, limit=50).hits]
    assert hits, f"some fixture document passes {filters}"
    assert all(check(h) for h in hits)


def test_needs_documents_and_matches(impl):
    needs = impl.needs()
    assert needs and all(n.kind == DocKind.need for n in needs)
    for need in needs:
        assert impl.document(need.id) == need
        result = impl.match(need.id, limit=3)
        assert result.need.id == need.id and 0 < len(result.matches) <= 3
        assert [m.rank for m in result.matches] == list(range(1, len(result.matches) + 1))
        assert all(m.need_id == need.id and m.kind != DocKind.need for m in result.matches)
        scores = [m.score for m in result.matches]
        assert scores == sorted(scores, reverse=True)
        for m in result.matches:  # one score in [0, 1], its breakdown's contributions add up to it, a label
            assert 0.0 <= m.score <= 1.0 and m.breakdown.total == m.score
            assert sum(m.breakdown.contributions().values()) == pytest.approx(m.score, abs=1e-3)
            assert m.label == score_label(m.score) and m.model_dump()["label"] == m.label
        matched = {m.doc_id for m in result.matches}
        assert all(set(o.doc_ids) <= matched for o in result.organizations)
    assert impl.document("no-such-id") is None
    with pytest.raises(KeyError):
        impl.match("no-such-need")


def test_all_matches_respects_the_per_need_limit(impl):
    matches = list(impl.all_matches(limit_per_need=2))
    per_need: dict[str, int] = {}
    for m in matches:
        per_need[m.need_id] = per_need.get(m.need_id, 0) + 1
    assert set(per_need) == {n.id for n in impl.needs()}
    assert max(per_need.values()) <= 2


def test_organization_profile(impl):
    some_org = impl.match(impl.needs()[0].id).organizations[0]
    profile = impl.organization(some_org.name)
    assert profile is not None and profile.key == some_org.key
    assert impl.organization(some_org.key).key == profile.key  # by key as well as by name
    assert any(n.key == impl.needs()[0].id for n in profile.needs)
    assert impl.organization("No Such Organization 42") is None
