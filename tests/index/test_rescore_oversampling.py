"""`SCOUT_INDEX_RESCORE_OVERSAMPLING` (issue 28): how many times the hits asked for an embedded index's passage and
title searches re-score on the float vectors. The setting reaches the shard's searches, the re-scoring stays on
whatever its value (scores stay exact cosines), and a value below 1 (fewer candidates than hits) is refused."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from domain.settings import IndexSettings
from index.store import Index
from tests.index.conftest import corpus


def test_the_default_re_scores_the_hits_returned(tmp_path, monkeypatch):
    """1 since issue 28's free-text benchmark (bench/search_quality.py): no quality figure moved, the 1M searches
    read less from disk."""
    monkeypatch.delenv("SCOUT_INDEX_RESCORE_OVERSAMPLING", raising=False)
    with Index(IndexSettings(backend="edge", path=tmp_path / "index"), dim=32) as index:
        params = index.backend.dense_params.quantization
        assert (params.rescore, params.oversampling) == (True, 1.0)


def test_the_setting_reaches_the_searches_and_leaves_their_results(tmp_path, monkeypatch, enricher):
    enriched, _ = enricher.enrich(corpus())
    found = {}
    for value in ("1", "2"):
        monkeypatch.setenv("SCOUT_INDEX_RESCORE_OVERSAMPLING", value)
        with Index(IndexSettings(backend="edge", path=tmp_path / "index"), dim=32) as index:
            params = index.backend.dense_params.quantization
            assert (params.rescore, params.oversampling) == (True, float(value))
            if value == "1":
                index.upsert(enriched)
            query = enriched[0].passage_vectors[:1]
            found[value] = [(h.payload["doc_id"], round(h.score, 6)) for h in index.search_dense(query, limit=5)[0]]
    # below the shard's indexing threshold every search is exact: the two settings find the same
    assert found["1"] == found["2"] and found["1"]


@pytest.mark.parametrize("value", ["0.5", "0", "-1"])
def test_fewer_candidates_than_hits_is_refused(monkeypatch, value):
    monkeypatch.setenv("SCOUT_INDEX_RESCORE_OVERSAMPLING", value)
    with pytest.raises(ValidationError, match="rescore_oversampling"):
        IndexSettings()
