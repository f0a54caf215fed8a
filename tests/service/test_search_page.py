"""A Library search reads only what its page shows (issue 28): the documents and evidence of the page's results,
the facets from payload fields. What a person reads must be what the longer path gave: every hit (id, score,
title, evidence, terms, shared terms, versions) and every facet count, compared here with that path (kept below
as it was: evidence for all FACET_HITS hits, every hit's document read, the facets counted from the documents)
over the demo bundle's real texts through the real nlp `Enricher` (hashing embedder)."""

from __future__ import annotations

from collections import Counter
from datetime import date

import pytest

from domain.models import DocKind, SearchFilters, document_terms, query_terms
from domain.settings import IndexSettings, NlpSettings
from index.grouping import Member, cosine_lookup, group_members, mean_vectors, versions_of
from index.ranking import Ranker
from index.store import Index
from index.suppliers import KnownSuppliers
from nlp.fake import HashingEmbedder
from nlp.pipeline import Enricher
from service.evidence import analysed, shown_evidence
from service.index_library import (
    _FACET_FIELDS, FACET_HITS, TERM_FACET_VALUES, TERM_FACETS, IndexLibrary, _newest_years_first,
)
from tests.index.test_rank_golden import demo_corpus

# the last one leads with a result of two versions, so a page of 5 has one too
QUERIES = ["counter drone detection with radar and cameras", "hypersonic thermal protection materials",
           "量子センシングによる磁気センサー", "autonomous underwater vehicle navigation", "battery",
           "counter unmanned rapid engagement"]


def _old_facets(payloads: list[dict]) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for facet, kind in TERM_FACETS.items():
        counts: Counter = Counter()
        for payload in payloads:
            counts.update({t.text.casefold() for t in document_terms(payload.get("document")) if t.type == kind})
        top = sorted(((v, c) for v, c in counts.items() if c > 1), key=lambda kv: (-kv[1], kv[0]))
        out[facet] = dict(top[:TERM_FACET_VALUES])
    for facet, field in _FACET_FIELDS.items():
        counts = Counter()
        for payload in payloads:
            value = payload.get(field)
            for v in (value if isinstance(value, list) else [value]):
                if v not in (None, ""):
                    counts[str(v)] += 1
        out[facet] = dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))
    return _newest_years_first(out)


def old_search(lib: IndexLibrary, query: str, filters: SearchFilters | None, limit: int):
    """`IndexLibrary.search` before issue 28's change, as it was."""
    hits = lib.ranker.search(query, filters, max(limit, FACET_HITS))
    payloads = lib.index.get_many([h.doc_id for h in hits], ["document", *_FACET_FIELDS.values()])
    texts = {d: analysed(p["document"]) for d, p in payloads.items() if p.get("document")}
    if len(hits) > 1:
        members = [Member(r, r.doc_id, r.title, r.organizations, r.published, r.score, r.url, r.source,
                          texts.get(r.doc_id, "")) for r in hits]
        owners, rows = lib.index.passage_vectors(doc_ids=[r.doc_id for r in hits])
        groups = group_members(members, cosine_lookup(mean_vectors(owners, rows)))
        hits = [g[0].item.model_copy(update={"versions": versions_of(g)}) for g in groups]
    facets = _old_facets([payloads.get(h.doc_id, {}) for h in hits])
    concepts = set(lib.ranker.query_concepts(query))
    shown = []
    for h in hits[:limit]:
        terms = document_terms(payloads.get(h.doc_id, {}).get("document"))
        shown.append(h.model_copy(update={
            "evidence": shown_evidence(h.evidence, texts.get(h.doc_id), query, title=h.title),
            "terms": terms[:6], "shared_terms": query_terms(query, terms, concepts)[:8]}))
    return shown, facets, len(hits)


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    enricher = Enricher(NlpSettings(cache=False), embedder=HashingEmbedder(dim=256))
    enriched, rejects = enricher.enrich(demo_corpus())
    assert not rejects, rejects
    index = Index(IndexSettings(backend="edge", path=tmp_path_factory.mktemp("page") / "ix"), dim=256)
    index.upsert(enriched)
    with IndexLibrary(index, enricher, Ranker(index, enricher, KnownSuppliers())) as lib:
        yield lib


FILTERS = {"none": None, "kind": SearchFilters(kind=DocKind.research), "language": SearchFilters(language="ja"),
           "since": SearchFilters(since=date(2019, 1, 1))}


@pytest.mark.parametrize("limit", [5, 20])
def test_the_page_is_what_the_longer_path_showed(library, limit):
    seen_versions = seen_terms = seen_evidence = 0
    for query in QUERIES:
        for name, flt in FILTERS.items():
            new = library.search(query, flt, limit=limit)
            hits, facets, facet_hits = old_search(library, query, flt, limit)
            assert [h.doc_id for h in new.hits] == [h.doc_id for h in hits], (query, name)
            assert [h.model_dump() for h in new.hits] == [h.model_dump() for h in hits], (query, name)
            assert new.facets == facets, (query, name)
            assert new.facet_hits == facet_hits, (query, name)
            seen_versions += sum(bool(h.versions) for h in new.hits)
            seen_terms += sum(bool(v) for f in TERM_FACETS for v in new.facets[f].values())
            seen_evidence += sum(h.evidence is not None for h in new.hits)
    # the comparison covers grouped results, term facets and evidence (not only empty pages)
    assert seen_versions and seen_terms and seen_evidence


def test_a_page_reads_the_documents_of_its_results_only(library):
    reads: list[list[str]] = []
    get_many = library.index.get_many

    def counted(doc_ids, fields=None):
        if fields is not None and "document" in fields:
            reads.append(list(doc_ids))
        return get_many(doc_ids, fields)

    library.index.get_many = counted
    try:
        result = library.search(QUERIES[0], limit=5)
    finally:
        del library.index.get_many
    assert result.facet_hits > 5
    read = {d for r in reads for d in r}
    shown = {h.doc_id for h in result.hits} | {v.doc_id for h in result.hits for v in h.versions}
    assert read == shown
