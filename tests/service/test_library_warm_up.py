"""`scout serve`'s warm-up (`IndexLibrary.warm_up`): the query models loaded, the index's point table built, the
two warm-up queries ranked as searches and the needs' figures computed, so that the first person to search or to
open a need page waits for none of them (at a million documents the first search took 7.3 s without it, the
first need page 31 s). What a person reads must not change: nothing is kept that a later search reads (no
embedding, no reference list or scale), and the pages after it are a cold library's. The library's turn (the web
app's lock) is held while the models and the ranker's searches work, never while the table builds or the needs'
figures are computed (seconds at a million documents, when searches would otherwise queue behind them)."""

from __future__ import annotations

import pytest

from domain.models import SearchFilters
from index.backends.base import Where
from domain.settings import IndexSettings, NlpSettings
from index.ranking import Ranker
from index.store import Index
from index.suppliers import KnownSuppliers
from nlp.cache import EmbeddingCache
from nlp.pipeline import Enricher
from service.index_library import IndexLibrary
from tests.index.test_rank_golden import demo_corpus

WARM_UP_TEXTS = ["radar absorbing metamaterials for small drones", "水中音響センサーによる磁気計測の研究"]


@pytest.fixture
def index_path(tmp_path, monkeypatch):
    monkeypatch.setenv("SCOUT_HOME", str(tmp_path / "home"))
    enricher = Enricher(NlpSettings(model="hashing", cache=False))
    enriched, rejects = enricher.enrich(demo_corpus())
    assert not rejects, rejects
    path = tmp_path / "ix"
    with Index(IndexSettings(backend="edge", path=path), dim=enricher.embedder.dim) as ix:
        ix.upsert(enriched)
    return path, enricher.embedder.dim


def _library(index: Index) -> IndexLibrary:
    enricher = Enricher(NlpSettings(model="hashing"))  # the embedding cache on, as `scout serve` runs it
    return IndexLibrary(index, enricher, Ranker(index, enricher, KnownSuppliers()))


def _page(library: IndexLibrary, text: str, filters: SearchFilters | None = None) -> list[tuple[str, float, str]]:
    return [(h.doc_id, h.score, h.evidence.text if h.evidence else "")
            for h in library.search(text, filters, limit=10).hits]


def _matches(library: IndexLibrary, need_id: str) -> list[tuple[str, float]]:
    return [(m.doc_id, m.score) for m in library.match(need_id, limit=10).matches]


def test_the_warm_up_ranks_the_two_queries_keeps_nothing_and_changes_no_page(index_path):
    path, dim = index_path
    with Index(IndexSettings(backend="edge", path=path), dim=dim) as ix:  # reopened: no point table yet
        assert ix.backend._docs is None
        warm = _library(ix)
        events: list = []

        class Turn:  # what the web app passes: its lock
            def __enter__(self):
                events.append("turn")

            def __exit__(self, *exc):
                events.append("turn over")

        index_warm_up, rank_warm_up, needs_warm_up = ix.warm_up, warm.ranker.warm_up, warm.ranker.warm_up_needs
        ix.warm_up = lambda: (events.append("index"), index_warm_up())
        warm.ranker.warm_up = lambda queries: (events.append(("rank", [q.text for q in queries])),
                                               rank_warm_up(queries))
        warm.ranker.warm_up_needs = lambda: (events.append("needs"), needs_warm_up())
        warm.warm_up(turn=Turn)
        del ix.warm_up, warm.ranker.warm_up, warm.ranker.warm_up_needs
        assert events == ["turn", "turn over", "index", "turn", ("rank", WARM_UP_TEXTS), "turn over", "needs"]
        assert ix.backend._docs is not None and len(ix.backend._docs) == ix.backend.count(Where()), "table built"
        assert len(EmbeddingCache(NlpSettings().cache_path)) == 0, "no query stored"
        assert warm.ranker.stats.cached("reference_scales", dict) == {}, "no query's scales kept"
        assert warm.ranker.stats.cached("reference_lists", dict) == {}, "no query's lists kept"
        assert "needs" in warm.ranker.stats._values, "the needs' figures computed"
        assert warm._org_cache_version == ix.version(), "the organizations' figures computed"

        cold = _library(ix)
        for text in [*WARM_UP_TEXTS, "counter drone detection with radar and cameras"]:
            for filters in (None, SearchFilters(language="en"), SearchFilters(kind="research")):
                assert _page(warm, text, filters) == _page(cold, text, filters), (text, filters)
        for need in warm.needs()[:5]:
            assert _matches(warm, need.id) == _matches(cold, need.id), need.id


def test_the_organizations_figures_are_read_once_however_many_pages_ask(index_path):
    # every document's organizations are read for a need page's rows (about 20 s at a million documents): a
    # page that asks while the warm-up (or another page) reads them waits for that reading instead of starting
    # its own
    import threading

    path, dim = index_path
    with Index(IndexSettings(backend="edge", path=path), dim=dim) as ix:
        library = _library(ix)
        reads, entered, release = [], threading.Event(), threading.Event()
        scan = ix.scan

        def slow_scan(where, *, payload=True):
            if "organizations" in payload:
                reads.append(threading.current_thread().name)
                entered.set()
                release.wait(30)
            return scan(where, payload=payload)

        ix.scan = slow_scan
        got = {}
        first = threading.Thread(target=lambda: got.update(first=library._org_state()))
        first.start()
        assert entered.wait(30)
        second = threading.Thread(target=lambda: got.update(second=library._org_state()))
        second.start()
        second.join(0.3)  # it asks while the first reads
        release.set()
        first.join(30), second.join(30)
        assert len(reads) == 1 and got["first"] is got["second"]
        assert library._org_state() is got["first"] and len(reads) == 1  # kept while the count stays


def test_the_need_pages_figures_are_computed_again_once_the_corpus_changes_and_only_then(index_path):
    # `scout serve` asks every minute (refresh_figures): with the corpus as it was, nothing is ranked or read
    # again; once a crawl's document is written, both figures are computed again, so the next need page finds
    # them, and it shows what the cold library shows
    from tests.index.conftest import make_doc

    path, dim = index_path
    with Index(IndexSettings(backend="edge", path=path), dim=dim) as ix:
        library = _library(ix)
        library.ranker.stats.check_every = 0.0  # the corpus's size checked at every ask (every second by default)
        library.refresh_figures()
        ranked, scans = [], []
        rank, scan = library.ranker.rank, ix.scan
        library.ranker.rank = lambda *a, **kw: (ranked.append(a[0].need_id), rank(*a, **kw))[1]
        ix.scan = lambda where, *, payload=True: (scans.append(payload), scan(where, payload=payload))[1]
        library.refresh_figures()
        assert ranked == [] and scans == [], "the corpus did not change: nothing to compute"
        new = make_doc("r900", "Acoustic modem", "Underwater acoustic communication for small vehicles.",
                       orgs=("Deep Blue Acoustics Inc.",))
        ix.upsert(library.enricher.enrich([new])[0])
        library.refresh_figures()
        assert len(ranked) == 1 and ranked[0] is not None, "the needs' figures computed again"
        assert any("organizations" in p for p in scans if not isinstance(p, bool)), "the organizations' too"
        assert library._org_cache_version == ix.version()
        del library.ranker.rank, ix.scan
        need = library.needs()[0].id
        assert _matches(library, need) == _matches(_library(ix), need)


def test_an_organizations_status_keeps_none_of_its_records(index_path):
    """A need page's organization rows read each organization's records once, as a stream, and keep its status
    only: the records held would grow with every organization shown until the corpus changes (at a million
    documents, hundreds a row)."""
    from index.organizations import OrgStatus

    path, dim = index_path
    with Index(IndexSettings(backend="edge", path=path), dim=dim) as ix:
        library = _library(ix)
        need = library.needs()[0]
        page = library.match(need.id, limit=10)
        kept = library._org_state()["status"]
        assert page.organizations and kept and all(isinstance(v, OrgStatus) for v in kept.values()), kept
        org = page.organizations[0]
        assert (org.known_supplier, org.new_entrant) == (kept[org.key].known_supplier, kept[org.key].new_entrant)
        profile = library.organization(org.key)
        assert profile is not None and profile.known_supplier == org.known_supplier
