"""A filtered passage or title search over few points scans them rather than walking the graph (issue 28,
`index.backends.edge.EXACT_SEARCH_POINTS`): a narrow filter's list is then the exact one, the neighbours a graph
filtered down to a few thousand points misses included.

The shard is large enough that Qdrant itself walks the graph (more matching vectors than its own full-scan
threshold, about 6,700 of 384 dimensions) and random unit vectors, where a graph's recall at 200 is about 0.97:
without the scan, these lists lose neighbours."""

from __future__ import annotations

from datetime import datetime, timezone

import numpy as np
import pytest

import index.backends.edge as edge
from domain.models import Analysis, Document, Passage, SearchFilters
from domain.settings import IndexSettings
from index.backends.base import DENSE, SENTENCES, TITLE
from index.backends.edge import _filter
from index.store import Index
from nlp.base import EnrichedDocument, SparseVector

DOCS, DIM, DEPTH = 9_500, 384, 200


def _is_ja(i: int) -> bool:
    return i % 4 != 0  # three in four documents: 7,125 passages, above Qdrant's own full-scan threshold


@pytest.fixture(scope="module")
def shard(tmp_path_factory):
    rng = np.random.default_rng(3)
    vecs = rng.standard_normal((DOCS, 2, DIM)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=2, keepdims=True)  # row 0 the passage, row 1 the title
    items = []
    for i in range(DOCS):
        doc = Document(id=f"d{i:05d}", kind="research", source="arxiv", url=f"https://example.org/{i}",
                       title=f"Document {i}", text="x" * 40, language="ja" if _is_ja(i) else "en",
                       published=datetime(2020, 1, 1, tzinfo=timezone.utc), content_hash=f"h{i}")
        analysis = Analysis(doc_id=doc.id, language=doc.language,
                            passages=[Passage(index=0, start=0, end=20, text="x" * 20, hash="a")])
        items.append(EnrichedDocument(doc, analysis, vecs[i, :1], SparseVector(indices=[1 + i % 50], values=[1.0]),
                                      title_vector=vecs[i, 1], title_sparse=SparseVector(indices=[1], values=[1.0])))
    with Index(IndexSettings(backend="edge", path=tmp_path_factory.mktemp("exact") / "index"), dim=DIM,
               sentences=False) as index:
        index.upsert(items)
        index.optimize()  # the graphs built: unfiltered searches walk them
        yield index, vecs


def _queries(n: int = 12) -> np.ndarray:
    q = np.random.default_rng(11).standard_normal((n, DIM)).astype(np.float32)
    return q / np.linalg.norm(q, axis=1, keepdims=True)


def _exact(vecs: np.ndarray, row: int, query: np.ndarray, keep: np.ndarray) -> list[tuple[str, float]]:
    scores = vecs[:, row] @ query
    order = [i for i in np.argsort(-scores) if keep[i]][:DEPTH]
    return [(f"d{i:05d}", float(scores[i])) for i in order]


@pytest.mark.parametrize("row", [0, 1], ids=["passages", "titles"])
def test_a_narrow_filter_finds_the_exact_neighbours(shard, row):
    index, vecs = shard
    keep = np.array([_is_ja(i) for i in range(DOCS)])
    queries = _queries()
    search = index.search_dense if row == 0 else index.search_titles
    found = search(queries, SearchFilters(language="ja"), limit=DEPTH)
    for query, hits in zip(queries, found):
        want = _exact(vecs, row, query, keep)
        assert [h.payload["doc_id"] for h in hits] == [d for d, _ in want]
        assert [h.score for h in hits] == pytest.approx([s for _, s in want], abs=1e-5)


def test_the_filter_keeps_each_documents_score(shard):
    """A filter chooses documents; it never changes a document's score (the scan scores as the graph re-scores)."""
    index, _ = shard
    query = _queries(1)
    unfiltered = {h.payload["doc_id"]: h.score for h in index.search_dense(query, None, limit=DEPTH)[0]}
    filtered = {h.payload["doc_id"]: h.score for h in index.search_dense(query, SearchFilters(language="ja"),
                                                                          limit=DEPTH)[0]}
    shared = unfiltered.keys() & filtered.keys()
    assert len(shared) > DEPTH // 2
    assert all(filtered[d] == pytest.approx(unfiltered[d], abs=1e-5) for d in shared)


def test_which_searches_scan(shard, monkeypatch):
    index, _ = shard
    backend = index.backend
    narrow = _filter(index._search_where(SearchFilters(language="ja"), None))
    assert backend.scans(narrow, DENSE) and backend.scans(narrow, TITLE)
    assert not backend.scans(None, DENSE), "an unfiltered search walks the graph"
    assert not backend.scans(narrow, SENTENCES), "sentence vectors (8 a document) keep the graph"
    monkeypatch.setattr(edge, "EXACT_SEARCH_POINTS", 10_000)  # the filter's ~14,250 points are now too many
    assert not backend.scans(narrow, DENSE)
