"""The `nlp.base.Enricher` seam: the real enricher and every test fake satisfy it, and honour its shape."""

from __future__ import annotations

import numpy as np
import pytest

from domain.models import Document
from domain.settings import NlpSettings
from nlp.base import EnrichedDocument, EnrichedQuery, Enricher
from nlp.fake import HashingEmbedder


def _real():
    from nlp.pipeline import Enricher as PipelineEnricher

    return PipelineEnricher(NlpSettings(cache=False), embedder=HashingEmbedder(dim=32))


def _index_fake():
    from tests.index.fakes import FakeEnricher

    return FakeEnricher(dim=32)


@pytest.mark.parametrize("make", [_real, _index_fake], ids=["nlp.pipeline.Enricher", "tests.index.FakeEnricher"])
def test_enrichers_satisfy_the_protocol(make):
    enricher = make()
    assert isinstance(enricher, Enricher)
    docs = [Document.make(kind="research", source="t", source_id="1", url="https://example.org/1",
                          title="Quantum magnetometer", text="A diamond magnetometer senses magnetic anomalies."),
            Document.make(kind="research", source="t", source_id="2", url="https://example.org/2",
                          title="", text="")]  # nothing to analyse: a reject with its reason, not an exception
    enriched, rejects = enricher.enrich(docs)
    assert [e.document.id for e in enriched] == [docs[0].id] and all(isinstance(e, EnrichedDocument) for e in enriched)
    assert len(rejects) == 1 and rejects[0].reason
    assert enriched[0].passage_vectors.shape == (len(enriched[0].analysis.passages), enricher.embedder.dim)
    q = enricher.query("magnetic anomaly navigation")
    assert isinstance(q, EnrichedQuery) and np.asarray(q.passage_vectors).shape[1] == enricher.embedder.dim


@pytest.mark.parametrize("make", [_real, _index_fake], ids=["nlp.pipeline.Enricher", "tests.index.FakeEnricher"])
def test_a_query_gives_its_bm25_vector_before_its_encoders_run(make):
    """`query(text, analysed=)`: the ranker starts the query's BM25 search with it while the query is encoded."""
    enricher = make()
    events: list = []
    encode = enricher.embedder.encode
    enricher.embedder.encode = lambda texts, *a, **k: events.append("encoded") or encode(texts, *a, **k)
    q = enricher.query("magnetic anomaly navigation", analysed=events.append)
    assert events[0] == q.sparse and q.sparse.indices and "encoded" in events[1:]
    assert enricher.query("magnetic anomaly navigation").sparse == q.sparse  # the same without the callback


def test_something_else_is_not_an_enricher():
    class Half:
        def query(self, text):  # no enrich, no embedder
            return None

    assert not isinstance(Half(), Enricher)
