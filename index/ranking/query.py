"""What a ranking asks with: a need's (or a free text's) vectors, BM25 queries and concepts."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from domain.models import DocKind, Document, Evidence
from index.ranking.stats import CorpusStatistics
from index.ranking.weights import RankWeights
from index.store import Index
from nlp.base import Enricher, EnrichedQuery, Readings, SparseVector


@dataclass
class QueryInput:
    """What ranking needs of a need or a free-text query."""

    vectors: np.ndarray
    sparse: SparseVector
    concepts: list[str]
    passages: list[Evidence]
    title_vectors: np.ndarray | None = None  # a need's title alone: a focused second query
    title_sparse: SparseVector | None = None
    # A need's BM25 query for the full ranking: terms weighted by their rarity among the needs (`subject`),
    # and that with the title's terms boosted (`focused`). None: use `sparse` (free text, baselines).
    subject_sparse: SparseVector | None = None
    focused_sparse: SparseVector | None = None
    need_id: str | None = None  # the need this query is (its own similarity is left out of hubness)
    key: str | None = None  # names the query for caches (the need, or the free text); None: not cached
    language: str | None = None  # the query's language (ja/en pairs get their own weights)
    # A need's title (a free text: the text) in the multilingual space; None: that channel is off or missing
    multilingual_vector: np.ndarray | None = None
    # A free text's words as BM25 term ids, per language it is spelled in (nlp EnrichedQuery.readings); []: each
    # term of `sparse` is a word
    readings: Readings = field(default_factory=list)


def subject_weighted(sparse: SparseVector, stats: CorpusStatistics, weights: RankWeights) -> SparseVector:
    """`sparse` with each term weighted by (needs-collection IDF / its maximum) ** need_idf.

    Needs share a solicitation's boilerplate ("phase", "prototype", "commercialization"); documents use
    those words too, so the corpus IDF alone leaves them weight. Their rarity among the needs tells a
    need's subject from its form. Too few needs to tell: unchanged.
    """
    w = weights
    if not w.need_idf or not sparse.indices:
        return sparse
    n_needs, df = stats.need_term_df()
    if n_needs < w.need_idf_min_needs:
        return sparse
    top = math.log(1.0 + (n_needs + 0.5) / 0.5)  # a term no need has
    values = [v * (math.log(1.0 + (n_needs - df.get(i, 0) + 0.5) / (df.get(i, 0) + 0.5)) / top) ** w.need_idf
              for i, v in zip(sparse.indices, sparse.values)]
    return SparseVector(indices=list(sparse.indices), values=values)


def need_query(index: Index, enricher: Enricher | None, stats: CorpusStatistics, weights: RankWeights,
               need_id: str) -> tuple[Document, QueryInput]:
    """A stored need and its query: its passage vectors, its stored BM25 vector (weighted by rarity among the
    needs, title terms boosted) and, with an enricher, its title embedded alone."""
    need = index.get(need_id)
    if need is None:
        raise KeyError(f"no document {need_id!r} in the index")
    if need.kind != DocKind.need:
        raise ValueError(f"{need_id!r} is a {need.kind.value}, not a need")
    passages = index.passages(need_id, vectors=True)
    vectors = np.array([h.dense for h in passages if h.dense is not None], dtype=np.float32)
    evidence = [Evidence(passage_index=h.payload["passage_index"], start=h.payload["start"],
                         end=h.payload["end"], text=h.payload["text"]) for h in passages]
    analysis = index.analysis_payload(need_id)
    concepts = list(analysis.get("concepts", [])) if analysis else []
    w = weights
    # The need's stored BM25 vector is its query: saturated tf suits a 1,000-word need (a term repeated
    # twenty times must not drown the rest); measured as good as query-side 1 + log(tf).
    q = QueryInput(vectors, index.sparse_of(need_id), concepts, evidence, need_id=need_id, language=need.language,
                   key=f"need {need_id}")
    if enricher is not None and need.title.strip() and (w.title_dense or w.title_title or w.title_boost
                                                        or w.multilingual):
        eq = enricher.query(need.title)
        q.title_vectors = np.asarray(eq.passage_vectors, dtype=np.float32)[:1]
        q.title_sparse = eq.sparse
        q.multilingual_vector = getattr(eq, "multilingual_vector", None)
    q.subject_sparse = subject_weighted(q.sparse, stats, w)
    boost = set(q.title_sparse.indices) if q.title_sparse is not None and w.title_boost else set()
    q.focused_sparse = SparseVector(
        indices=list(q.subject_sparse.indices),
        values=[v * (1.0 + w.title_boost) if i in boost else v
                for i, v in zip(q.subject_sparse.indices, q.subject_sparse.values)])
    return need, q


def text_key(text: str) -> str:
    """What a free-text query's reference lists and scales are kept under (`QueryInput.key`)."""
    return f"query {text}"


def text_query(enricher: Enricher | None, text: str,
               analysed: Callable[[SparseVector], None] | None = None) -> QueryInput:
    """A free-text query: its passages embedded, its BM25 vector, its concepts. `analysed`: see
    nlp.base.Enricher.query."""
    if enricher is None:
        raise RuntimeError("free-text search needs an enricher to embed the query")
    eq = enricher.query(text) if analysed is None else enricher.query(text, analysed=analysed)
    return enriched_text_query(eq, text, key=text_key(text))


def enriched_text_query(eq: EnrichedQuery, text: str, key: str | None) -> QueryInput:
    """`text_query` of text already enriched (`eq`). `key`: what the ranker keeps the query's reference lists
    and scales under (None: nothing is kept)."""
    passages = eq.passages or [text]
    evidence = []
    pos = 0
    for i, ptxt in enumerate(passages):
        start = text.find(ptxt, pos)
        start = start if start >= 0 else pos
        evidence.append(Evidence(passage_index=i, start=start, end=start + len(ptxt), text=ptxt))
        pos = start + len(ptxt)
    return QueryInput(np.asarray(eq.passage_vectors, dtype=np.float32), eq.sparse, list(eq.concepts), evidence,
                      language=eq.language, key=key,
                      multilingual_vector=getattr(eq, "multilingual_vector", None),
                      readings=list(getattr(eq, "readings", None) or []))
