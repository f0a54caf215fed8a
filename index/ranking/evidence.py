"""Evidence: the query passage and the document passage of a match's best dense pair."""

from __future__ import annotations

from typing import Any, Sequence

from domain.models import Evidence
from index.backends.base import Cond, Where
from index.ranking.query import QueryInput
from index.store import Index
from nlp.passages import DEFAULT_MAX_PASSAGES

Pair = tuple[int, dict[str, Any]]  # (query passage index, document passage payload)


def best_pairs(index: Index, q: QueryInput, doc_ids: Sequence[str]) -> dict[str, tuple[float, Pair]]:
    """Each document's best dense pair with the query and its cosine, in one request over their passages (a
    filter this narrow makes Qdrant score every matching passage exactly; the limit covers every passage of
    those documents: capped passages plus their English renderings)."""
    best: dict[str, tuple[float, int, dict[str, Any]]] = {}
    if not doc_ids or not len(q.vectors):
        return {}
    where = Where((Cond("doc_id", any=tuple(doc_ids)),))
    for qi, hits in enumerate(index.search_dense(q.vectors, where, 2 * DEFAULT_MAX_PASSAGES * len(doc_ids))):
        for h in hits:
            d = h.payload["doc_id"]
            if d not in best or h.score > best[d][0]:
                best[d] = (h.score, qi, h.payload)
    return {d: (score, (qi, payload)) for d, (score, qi, payload) in best.items()}


def evidence_pairs(index: Index, q: QueryInput, ranked: Sequence[tuple[str, Pair | None]],
                   ) -> list[tuple[Evidence | None, Evidence | None]]:
    """(query passage, document passage) of each (doc id, best dense pair or None) in `ranked`; a document
    without a pair (found by the lexical channels only) gets its passage closest to the query's."""
    missing = [d for d, pair in ranked if pair is None]
    fallback = {d: pair for d, (_, pair) in best_pairs(index, q, missing).items()}
    pairs = [(doc_id, known or fallback.get(doc_id)) for doc_id, known in ranked]
    # a search's hits carry their passage's document and index; the texts of the pairs shown are read here
    texts = index.passage_texts([(d, pair[1]["passage_index"]) for d, pair in pairs
                                 if pair is not None and "text" not in pair[1]])
    out = []
    for doc_id, pair in pairs:
        if pair is None:
            out.append((None, None))
            continue
        qi, dp = pair
        dp = dp if "text" in dp else texts[(doc_id, dp["passage_index"])]
        query_ev = q.passages[qi] if qi < len(q.passages) else None
        out.append((query_ev, Evidence(passage_index=dp["passage_index"], start=dp["start"], end=dp["end"],
                                       text=dp["text"])))
    return out
