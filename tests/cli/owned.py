"""A small real library for `scout serve` tests: the index of SCOUT_HOME (dim 32, the index tests' corpus) with
the index tests' deterministic enricher. The server's process owns the index; a test's process opening the same
settings reaches it through the owner endpoint."""

from __future__ import annotations

import time
from pathlib import Path

from domain.settings import IndexSettings
from index.ranking import Ranker
from index.store import Index
from index.suppliers import KnownSuppliers
from service.index_library import IndexLibrary
from tests.index.conftest import corpus
from tests.index.fakes import FakeEnricher


class GatedLibrary(IndexLibrary):
    """`search("slow")` says it started (a file `entered` in `gate`) and waits until the test says go (`release`)."""

    gate: Path | None = None

    def search(self, query, filters=None, limit=20):
        if query == "slow" and self.gate is not None:
            (self.gate / "entered").touch()
            while not (self.gate / "release").exists():
                time.sleep(0.05)
        return super().search(query, filters, limit)


def small_library(gate: Path | None = None) -> IndexLibrary:
    enricher = FakeEnricher(dim=32)
    index = Index(IndexSettings(), dim=32)
    if index.owned and index.count() == 0:
        index.upsert(enricher.enrich(corpus())[0])
    library = GatedLibrary(index, enricher, Ranker(index, enricher, KnownSuppliers()))
    library.gate = gate
    return library
