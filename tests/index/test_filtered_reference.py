"""A filtered free-text search ranks from its query's unfiltered lists, cut to what the filter lets through, when
they serve (issue 28, `Ranker.filtered_reference`): the page must be the one the filtered searches give, hit for
hit and score for score, whichever way it was made; only where the cut lists cannot stand in (a narrow filter,
a long query of several vectors, judgements) do the filtered searches run. Over the demo bundle's real texts
through the real nlp `Enricher` (hashing embedder; at this size every search is exact)."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from domain.models import DocKind, SearchFilters
from domain.settings import IndexSettings, NlpSettings
from index.ranking import Ranker, RankWeights
from index.ranking.channels import BM25_CHANNEL
from index.store import Index
from index.suppliers import KnownSuppliers
from nlp.fake import HashingEmbedder
from nlp.pipeline import Enricher
from tests.index.test_rank_golden import demo_corpus

QUERIES = ["counter drone detection with radar and cameras", "hypersonic thermal protection materials",
           "量子センシングによる磁気センサー", "autonomous underwater vehicle navigation", "battery",
           "radar", "lithium sulfur battery cathode for unmanned vehicles"]
FILTERS = {"kind": SearchFilters(kind=DocKind.research), "language": SearchFilters(language="en"),
           "ja": SearchFilters(language="ja"), "since": SearchFilters(since=date(2019, 1, 1)),
           "kind+since": SearchFilters(kind=DocKind.startup, since=date(2015, 1, 1)),
           "concept": SearchFilters(concept="sensing-technology")}


@pytest.fixture(scope="module")
def ranker(tmp_path_factory):
    enricher = Enricher(NlpSettings(cache=False), embedder=HashingEmbedder(dim=256))
    enriched, rejects = enricher.enrich(demo_corpus())
    assert not rejects, rejects
    with Index(IndexSettings(backend="edge", path=tmp_path_factory.mktemp("ref") / "ix"), dim=256) as index:
        index.upsert(enriched)
        yield Ranker(index, enricher, KnownSuppliers())


def _page(ranker: Ranker, query: str, filters: SearchFilters, limit: int) -> list[dict]:
    ranker.stats._values = {}  # nothing kept from another case: each search starts as a new query does
    return [h.model_dump() for h in ranker.search(query, filters, limit)]


# (the scale's depth, the hits asked for): the Library's (500: its 100 hits search 500 deep, a head of 140), and
# a reference of 50 (pages of 5 and 10 search 50 deep, a head of 60) where more cases have that many documents
# with a share on this small corpus
SHAPES = [(500, 100), (100, 20), (200, 40)]


def _in_order(page: list[dict]) -> list[dict]:
    """Hits of equal scores in one order (which comes first among them is the order they were found in)."""
    return sorted(page, key=lambda h: (-round(h["score"], 9), h["doc_id"]))


def _at_the_cut(page: list[dict]) -> tuple[list[dict], list[float]]:
    """The page, its hits tied with the last one's score as their scores only: which of equal hits the page's
    end keeps is the order they were found in."""
    last = round(page[-1]["score"], 9) if page else None
    tied = [h for h in page if round(h["score"], 9) == last]
    return [h for h in page if round(h["score"], 9) != last], [h["score"] for h in tied]


def _similarity(ranker: Ranker, query: str, doc_id: str, passage_index: int) -> float:
    vectors = np.asarray(ranker.query_input(query).vectors, dtype=np.float64)
    passage = next(h for h in ranker.index.passages(doc_id, vectors=True)
                   if h.payload["passage_index"] == passage_index)
    v = np.asarray(passage.dense, dtype=np.float64)
    norms = np.linalg.norm(vectors, axis=1) * np.linalg.norm(v)
    return float(max(vectors @ v / np.where(norms > 0, norms, 1.0)))


def _without_tied_evidence(ranker: Ranker, query: str, page: list[dict], other: list[dict]) -> list[dict]:
    """`page` with each hit's evidence taken from `other` where the two passages are equally close to the query:
    a document below the passage channel's floor has its best passage found by another read, which breaks a
    tie in its own order (the hashing embedder ties many a Japanese passage with its English rendering at 0)."""
    out = []
    for hit, twin in zip(page, other):
        a, b = hit.get("evidence"), twin.get("evidence")
        if a and b and a != b and hit["doc_id"] == twin["doc_id"] and abs(
                _similarity(ranker, query, hit["doc_id"], a["passage_index"])
                - _similarity(ranker, query, hit["doc_id"], b["passage_index"])) < 1e-6:
            hit = {**hit, "evidence": b}
        out.append(hit)
    return out + page[len(other):]


@pytest.mark.parametrize("scale_depth,limit", SHAPES)
def test_the_page_is_the_filtered_searches_page(ranker, monkeypatch, scale_depth, limit):
    monkeypatch.setattr(ranker, "weights", RankWeights(search_scale_depth=scale_depth))
    used = []
    real = Ranker.filtered_reference

    def counted(self, *args, **kwargs):
        found = real(self, *args, **kwargs)
        used.append(found is not None and found[1] is not None)  # the page ranked from the cut lists
        return found

    cases = [(q, name) for q in QUERIES for name in FILTERS]
    monkeypatch.setattr(Ranker, "filtered_reference", counted)
    cut = {case: _page(ranker, case[0], FILTERS[case[1]], limit) for case in cases}
    monkeypatch.setattr(Ranker, "filtered_reference", lambda self, *a, **k: None)
    searched = {case: _page(ranker, case[0], FILTERS[case[1]], limit) for case in cases}
    for case in cases:
        page = _without_tied_evidence(ranker, case[0], _in_order(cut[case]), _in_order(searched[case]))
        assert _at_the_cut(page) == _at_the_cut(_in_order(searched[case])), case
    assert len(used) == len(cases)
    assert sum(used) >= 3, used  # the comparison covers pages ranked from the cut lists ...
    assert not all(used), used  # ... and the narrow filters' searches
    assert sum(1 for page in cut.values() if page) > len(cases) // 2


def test_a_filter_clicked_on_a_page_searches_no_channel_again(ranker, monkeypatch):
    """The query's unfiltered search keeps its lists; the same query filtered then searches nothing more."""
    monkeypatch.setattr(ranker, "weights", RankWeights(search_scale_depth=50))
    ranker.stats._values = {}
    query = "counter drone detection with radar and cameras"
    ranker.search(query, None, 10)  # the page's own search: 50 deep, its lists the reference
    searched = []
    real = Ranker.channel_results
    monkeypatch.setattr(Ranker, "channel_results", lambda self, *a, **k: searched.append(a) or real(self, *a, **k))
    assert ranker.search(query, SearchFilters(language="en"), 10)
    assert searched == []


def test_a_shallower_search_searches(ranker, monkeypatch):
    """A search shallower than its reference lists (a page of 5: 50 deep against 500) stops above their floor:
    the cut lists would reach below it, so its filtered lists are searched."""
    ranker.stats._values = {}
    monkeypatch.setattr(Ranker, "filtered_reference", lambda *a, **k: pytest.fail("ranked from the cut lists"))
    ranker.search("radar", SearchFilters(language="en"), 5)


def test_a_narrow_filter_searches(ranker, monkeypatch):
    """Fewer documents with a share than the re-scored head: the filtered searches run (their documents below
    every floor fill the head, as they did)."""
    monkeypatch.setattr(ranker, "weights", RankWeights(search_scale_depth=50))
    ranker.stats._values = {}
    searched = []
    real = Ranker.channel_results
    monkeypatch.setattr(Ranker, "channel_results", lambda self, q, filters=None, *a, **k: searched.append(filters)
                        or real(self, q, filters, *a, **k))
    narrow = SearchFilters(kind=DocKind.startup, since=date(2015, 1, 1), language="ja")
    ranker.search("battery", narrow, 10)
    assert narrow in searched


def test_judgements_rank_from_the_filtered_searches(ranker, monkeypatch):
    """Rocchio feedback reads the channels' lists themselves: with judgements, nothing is cut."""
    from index.ranking.feedback import Feedback

    monkeypatch.setattr(ranker, "weights", RankWeights(search_scale_depth=50))
    ranker.stats._values = {}
    hits = ranker.search("radar", None, 10)
    monkeypatch.setattr(Ranker, "filtered_reference", lambda *a, **k: pytest.fail("ranked from the cut lists"))
    ranker.search("radar", SearchFilters(language="en"), 10, feedback=Feedback(relevant=[hits[0].doc_id]))


def test_a_rare_concept_searches_without_reading_the_filter(ranker, monkeypatch):
    """A concept too rare to fill the head from the lists goes straight to its filtered searches (a scan at
    scale): which listed documents pass is read for the BM25 list alone (`lexical_cut`), not for every list."""
    from index.store import Index

    monkeypatch.setattr(ranker, "weights", RankWeights(search_scale_depth=50))
    ranker.stats._values = {}
    ranker.search("battery", None, 10)
    lists = ranker.reference_lists(ranker.query_input("battery"), None, 50)
    asked = []
    real = Index.passing
    monkeypatch.setattr(Index, "passing", lambda self, ids, *a, **k: asked.append(set(ids)) or real(self, ids, *a, **k))
    assert ranker.stats.concept_share("lithium-sulfur-battery") < 0.1
    ranker.search("battery", SearchFilters(concept="lithium-sulfur-battery"), 10)
    assert asked == [{h.doc_id for h in lists[BM25_CHANNEL]}]


def test_a_narrow_filters_results_without_a_share_are_its_lists_best_not_its_lowest_ids(ranker, monkeypatch):
    """Under a narrow filter most of the filtered lists' documents lie below every floor of the query's unfiltered
    lists (which scale its scores): they share nothing, and more of them than the re-scored head can take. The
    head takes those its filtered lists rank highest, so the page's weak results are the filter's best weak ones
    (they had been the lowest ids among them); the scores shown stay the unfiltered scale's."""
    from index.ranking.fusion import own_list_fusion

    import index.ranking.ranker as ranker_module

    # a head of 10 (the product's is 60 at least, more than this small corpus's filters hold)
    monkeypatch.setattr(ranker_module, "MIN_HEAD", 10)
    monkeypatch.setattr(ranker, "weights", RankWeights(search_scale_depth=20, search_rescore_margin=6))
    seen = []
    real = Ranker.head_order
    monkeypatch.setattr(Ranker, "head_order", lambda self, cands, results, size: seen.append(
        (dict(cands), results, size)) or real(self, cands, results, size))
    tried = 0
    for query in QUERIES:
        ranker.stats._values = {}
        seen.clear()
        page = ranker.search(query, FILTERS["concept"], 4)  # 50 deep against a 20-deep reference
        cands, results, size = seen[-1]
        without = [d for d, c in cands.items() if c.fused == 0]
        room = size - (len(cands) - len(without))  # the head's places left for documents without a share
        if room <= 0 or len(without) <= room:
            continue  # the head takes every one of them: nothing to choose
        tried += 1
        own = own_list_fusion(results, ranker.full_weights())
        taken = set(d for d, _ in sorted(((d, c) for d, c in cands.items()),
                                         key=lambda dc: (-dc[1].fused, -own.get(dc[0], 0.0), dc[0]))[:size])
        left_out = max(own.get(d, 0.0) for d in without if d not in taken)
        for hit in page:
            if hit.doc_id in without:
                assert own.get(hit.doc_id, 0.0) >= left_out, (query, hit.doc_id)
        head = real(ranker, cands, results, size)[:size]
        assert {c.doc_id for c in head} == taken, query
        assert min(own.get(d, 0.0) for d in taken if d in without) >= left_out, query
        assert sorted(without)[:room] != sorted(d for d in taken if d in without), "the lowest ids: no order"
    assert tried >= 2, tried


NARROW = {"concept": FILTERS["concept"], "kind+since": FILTERS["kind+since"],
          "rare concept": SearchFilters(concept="lithium-sulfur-battery")}


def test_a_narrow_filters_bm25_lists_are_its_unfiltered_ones_cut(ranker, monkeypatch):
    """Where a filter's dense searches run, its BM25 list is the query's unfiltered one cut to the filter
    (`Ranker.lexical_cut`): no document scores lexically under a filter what the unfiltered list does not give
    it (a BM25 score below the unfiltered floor, which shares nothing there), and no BM25 search is filtered."""
    import index.ranking.ranker as ranker_module
    from index.store import Index

    monkeypatch.setattr(ranker_module, "MIN_HEAD", 10)
    monkeypatch.setattr(ranker, "weights", RankWeights(search_scale_depth=20, search_rescore_margin=6))
    real = Index.search_sparse

    def unfiltered_only(self, sparse, filters=None, *a, **k):
        assert not getattr(filters, "must", None), "a filtered BM25 search"
        return real(self, sparse, filters, *a, **k)

    monkeypatch.setattr(Index, "search_sparse", unfiltered_only)
    weak = 0
    for query in QUERIES:
        ranker.stats._values = {}
        for name, filters in NARROW.items():
            q, ranked = ranker.search_ranked(query, filters, 4)
            listed = {h.doc_id: h.raw for h in ranker.reference_lists(q, None, 20)[BM25_CHANNEL]}
            for r in ranked:
                if r.breakdown.bm25:
                    assert listed.get(r.doc_id) == r.breakdown.bm25, (query, name, r.doc_id)
                weak += r.breakdown.sparse == 0 and r.doc_id not in listed
    assert weak >= 5, weak  # the pages hold documents below the BM25 floor


def test_a_narrow_filters_cut_bm25_lists_change_no_score(ranker, monkeypatch):
    """The cut BM25 lists against the filtered BM25 searches (the product until the night of 7 December): every
    document on both pages has the same score, and a document with a BM25 share missing from the cut page
    scores no more than its last result: what the cut changes is which documents below every floor (sharing
    nothing) fill a narrow filter's page."""
    import index.ranking.ranker as ranker_module

    monkeypatch.setattr(ranker_module, "MIN_HEAD", 10)
    monkeypatch.setattr(ranker, "weights", RankWeights(search_scale_depth=20, search_rescore_margin=6))
    moved = 0
    for query in QUERIES:
        for name, filters in NARROW.items():
            ranker.stats._values = {}
            cut = ranker.search_ranked(query, filters, 10)[1]
            ranker.stats._values = {}
            with monkeypatch.context() as m:
                m.setattr(Ranker, "lexical_cut", lambda *a, **k: {})
                searched = ranker.search_ranked(query, filters, 10)[1]
            scores = {r.doc_id: r.score for r in cut}
            for r in searched:
                if r.doc_id in scores:
                    assert scores[r.doc_id] == pytest.approx(r.score, abs=1e-9), (query, name, r.doc_id)
                elif r.breakdown.sparse > 0 and cut:
                    assert r.score <= min(scores.values()) + 1e-9, (query, name, r.doc_id)
            moved += [r.doc_id for r in cut] != [r.doc_id for r in searched]
    assert moved, "no page tells the two apart"


def test_a_shallower_unfiltered_search_takes_its_bm25_list_from_the_reference(ranker, monkeypatch):
    """A page shallower than its query's reference lists (10 hits: 50 deep against 100) takes its BM25 list as
    their first 50 (a BM25 search is exact: the same list), and searches BM25 once, at the reference depth."""
    from index.store import Index

    monkeypatch.setattr(ranker, "weights", RankWeights(search_scale_depth=100))
    real = Index.search_sparse
    limits = []
    monkeypatch.setattr(Index, "search_sparse", lambda self, sparse, filters=None, limit=100, **k: limits.append(
        limit) or real(self, sparse, filters, limit, **k))
    for query in QUERIES:
        limits.clear()
        cut = _page(ranker, query, None, 10)
        assert limits == [100], (query, limits)
        with monkeypatch.context() as m:
            m.setattr(Ranker, "lexical_cut", lambda *a, **k: {})
            searched = _page(ranker, query, None, 10)
        assert limits == [100, 100, 50], (query, limits)
        assert _at_the_cut(_in_order(cut)) == _at_the_cut(_in_order(searched)), query


def test_the_same_query_again_searches_nothing(ranker, monkeypatch):
    """A query asked again (a page reloaded, the next page) ranks from its kept lists: the same page, no search."""
    monkeypatch.setattr(ranker, "weights", RankWeights(search_scale_depth=50))
    ranker.stats._values = {}
    query = "autonomous underwater vehicle navigation"
    first = [h.model_dump() for h in ranker.search(query, None, 10)]
    searched = []
    real = Ranker.channel_results
    monkeypatch.setattr(Ranker, "channel_results", lambda self, *a, **k: searched.append(a) or real(self, *a, **k))
    assert [h.model_dump() for h in ranker.search(query, None, 10)] == first
    assert searched == []


def test_a_filter_that_cannot_fill_the_head_reads_which_documents_pass_once(ranker, monkeypatch):
    """Where the cut lists hold too few shares for the head, the filtered dense searches run with the BM25 lists
    already cut: which of the listed documents pass is read once, not again for the BM25 list."""
    from index.store import Index

    monkeypatch.setattr(ranker, "weights", RankWeights(search_scale_depth=50))
    real_passing, real_search = Index.passing, Ranker.channel_results
    asked, searched = [], []
    monkeypatch.setattr(Index, "passing", lambda self, ids, *a, **k: asked.append(len(ids)) or real_passing(
        self, ids, *a, **k))
    monkeypatch.setattr(Ranker, "channel_results", lambda self, q, filters=None, *a, **k: searched.append(
        filters) or real_search(self, q, filters, *a, **k))
    narrow = FILTERS["kind+since"]
    tried = 0
    for query in QUERIES:
        ranker.stats._values = {}
        ranker.search(query, None, 10)  # the query's page: its lists kept
        asked.clear(), searched.clear()
        ranker.search(query, narrow, 10)
        if narrow in searched:  # the cut lists did not fill the head
            tried += 1
            assert len(asked) == 1, (query, asked)
    assert tried >= 2, tried


def test_a_japanese_query_searches_its_one_vector_once_and_ranks_from_its_cut_lists(ranker, monkeypatch):
    """A Japanese query's passage takes its English rendering's vector (`ja_vectors=rendering`), and the rendering
    is a query passage of its own: two passages, one vector. The vector is searched once, and a broad filter
    ranks from the cut lists as a one-vector query's does: the page the filtered searches give."""
    query, filters = "量子センシングによる磁気センサー", FILTERS["kind"]
    monkeypatch.setattr(ranker, "weights", RankWeights(search_scale_depth=100))  # pages of 20: a head of 60
    q = ranker.query_input(query)
    assert len(q.vectors) == 2 and np.array_equal(q.vectors[0], q.vectors[1])
    searched: list[int] = []
    real_search = ranker.index.backend.search_dense
    monkeypatch.setattr(ranker.index.backend, "search_dense",
                        lambda vectors, *a, **k: searched.append(len(vectors)) or real_search(vectors, *a, **k))
    used = []
    real = Ranker.filtered_reference
    monkeypatch.setattr(Ranker, "filtered_reference", lambda self, *a, **k: (
        lambda found: used.append(found is not None and found[1] is not None) or found)(real(self, *a, **k)))
    cut = _page(ranker, query, filters, 20)
    assert used == [True] and searched and set(searched) == {1}, (used, searched)
    monkeypatch.setattr(Ranker, "filtered_reference", lambda self, *a, **k: None)
    page = _page(ranker, query, filters, 20)
    assert cut and _at_the_cut(_without_tied_evidence(ranker, query, _in_order(cut), _in_order(page))) == \
        _at_the_cut(_in_order(page))


def test_a_narrow_concepts_searches_start_beside_its_unfiltered_ones(ranker, monkeypatch):
    """A concept too narrow for the cut lists however many documents they hold: its filtered searches run
    whatever the unfiltered ones find, so they start before those (on the channel pool: two passage searches at
    once), and the page is the one of searching them after."""
    import index.ranking.ranker as rk

    monkeypatch.setattr(ranker, "weights", RankWeights(search_scale_depth=50))  # pages of 10: a head of 60
    query, filters = "lithium battery for small drones", SearchFilters(concept="lithium-sulfur-battery")
    assert ranker._narrow(filters.concept, len(rk.CHANNELS) * 50, 60)
    events: list[tuple[str, bool]] = []
    real_later, real_results = rk.search_later, Ranker.channel_results
    monkeypatch.setattr(rk, "search_later", lambda channels, q, ctx: events.append(
        ("started", bool(ctx.where.must))) or real_later(channels, q, ctx))
    monkeypatch.setattr(Ranker, "channel_results", lambda self, q, f=None, *a, **k: events.append(
        ("searched", f is not None)) or real_results(self, q, f, *a, **k))
    page = _page(ranker, query, filters, 10)
    assert page and ("started", True) in events and ("searched", False) in events, events
    assert events.index(("started", True)) < events.index(("searched", False)), events

    def deferred(channels, q, ctx):  # searched when asked for: after the unfiltered searches, as before
        class Later:
            def result(self):
                return {ch.name: ch.search(q, ctx) for ch in channels}
        return Later()

    monkeypatch.setattr(rk, "search_later", deferred)
    assert _page(ranker, query, filters, 10) == page
    ranker.search(query, None, 10)  # asked again unfiltered, then filtered: its lists are kept, nothing started
    events.clear()
    monkeypatch.setattr(rk, "search_later", lambda *a: pytest.fail("started with the lists kept"))
    ranker.search(query, filters, 10)
