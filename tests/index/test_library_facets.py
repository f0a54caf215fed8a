"""Search facets count the query's best hits, not the whole corpus."""

from __future__ import annotations

from domain.settings import IndexSettings
from index.ranking import Ranker
from index.store import Index
from index.suppliers import KnownSuppliers
from service.index_library import FACET_HITS, IndexLibrary
from tests.index.conftest import make_doc


def test_facets_follow_the_query(tmp_path, enricher):
    docs = [make_doc(f"l{i}", f"Lidar sensor {i}", f"A compact lidar sensor for drones, design {i}.", source="lidarsrc")
            for i in range(30)]
    docs += [make_doc(f"c{i}", f"Battery chemistry {i}", f"A solid electrolyte battery cell, variant {i}.",
                      source="batterysrc", kind="startup") for i in range(FACET_HITS + 20)]
    enriched, _ = enricher.enrich(docs)
    index = Index(IndexSettings(backend="edge", path=tmp_path / "ix"), dim=enricher.embedder.dim)
    index.upsert(enriched)
    with IndexLibrary(index, enricher, Ranker(index, enricher, KnownSuppliers())) as lib:
        corpus = lib.search("", limit=5).facets
        assert corpus["source"] == {"batterysrc": FACET_HITS + 20, "lidarsrc": 30}
        lidar = lib.search("compact lidar sensor drones", limit=5)
        battery = lib.search("solid electrolyte battery", limit=5)
    assert lidar.facet_hits == battery.facet_hits == FACET_HITS
    assert sum(lidar.facets["source"].values()) == FACET_HITS
    assert lidar.facets["source"]["lidarsrc"] == 30  # every lidar document is among the query's best hits
    assert lidar.facets != battery.facets != corpus
    assert battery.facets["kind"].get("startup", 0) > lidar.facets["kind"].get("startup", 0)
