"""Relevance feedback: an analyst's judgements of a need's matches, and what they do to its ranking.

Rocchio (1971), the classic of the field: the query moves toward the centroid of the documents judged
relevant and away from the centroid of those judged not relevant,

    q' = alpha * q + beta * mean(relevant) - gamma * mean(not relevant).

Scoring is linear in the query, so the ranking applies it as a term added to each channel it acts on (dense
and BM25): beta times a document's mean centred similarity to the relevant documents, minus gamma times its
mean centred similarity to the rejected ones, in the channel's own units, then scaled as the channel is in
fusion (`RocchioFeedback`). The term moves the order only, never the score (index/ranking/rescore.py). alpha = 1: the need's own query keeps its weight. beta and gamma are
SMART's classic 0.75 and 0.15 unless `RankWeights` says otherwise; the README has the measured effect.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np

from index.backends.base import Cond, Where
from index.ranking.channels import ChannelHit
from index.ranking.fusion import active_weights, channel_scales
from index.ranking.stats import CorpusStatistics
from index.ranking.weights import RankWeights
from index.store import Index


@dataclass(frozen=True)
class Feedback:
    """A need's judged documents (stable document ids): relevant, and not relevant."""

    relevant: tuple[str, ...] = ()
    not_relevant: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        # tuples whatever the caller passed (lists from JSON), each id once, order kept
        object.__setattr__(self, "relevant", tuple(dict.fromkeys(self.relevant)))
        object.__setattr__(self, "not_relevant", tuple(dict.fromkeys(self.not_relevant)))
        both = set(self.relevant) & set(self.not_relevant)
        if both:
            raise ValueError(f"judged both relevant and not relevant: {', '.join(sorted(both))}")

    def __bool__(self) -> bool:
        return bool(self.relevant or self.not_relevant)

    @property
    def judged(self) -> tuple[str, ...]:
        return self.relevant + self.not_relevant


def rocchio_term(relevant_sims: np.ndarray, rejected_sims: np.ndarray, beta: float, gamma: float) -> np.ndarray:
    """beta * mean centred similarity to the relevant documents - gamma * mean centred similarity to the
    rejected ones.

    Each argument is (candidates x judged documents of that side); a side with no documents adds nothing.
    Similarities are centred: each judged document's similarity to a candidate less its mean similarity to
    all the candidates. Cosines are positive, so uncentred every candidate gained from any relevant judgement;
    centred, a document no more like the relevant ones than the ranking at large gains nothing, and one less
    like them loses. Centring shifts every candidate's term by the same amount, so the order is Rocchio's own.
    """
    n = relevant_sims.shape[0] if relevant_sims.ndim == 2 else rejected_sims.shape[0]
    out = np.zeros(n, dtype=np.float64)
    if relevant_sims.size:
        out += beta * (relevant_sims - relevant_sims.mean(axis=0, keepdims=True)).mean(axis=1)
    if rejected_sims.size:
        out -= gamma * (rejected_sims - rejected_sims.mean(axis=0, keepdims=True)).mean(axis=1)
    return out


class RocchioFeedback:
    """Rocchio on the dense and BM25 channels (`CHANNELS`: the need's own text; the title channels keep theirs).

    A channel's term: beta x mean similarity to the relevant documents - gamma x mean similarity to the
    rejected ones, in the channel's units (dense: cosine of the documents' mean passage vectors; BM25: a
    judged document's BM25 vector as the query, scaled by its score for itself, as the need's channel is
    scaled by its best), then scaled by the channel's min-max spread and weight share, as fusion scales the
    channel's own score. A judged document's own similarity counts like any other."""

    CHANNELS = ("dense", "sparse")

    def __init__(self, index: Index, stats: CorpusStatistics, weights: RankWeights):
        self.index, self.stats, self.weights = index, stats, weights

    def found(self, feedback: Feedback, where: Where, depth: int, exclude_kind: str | None) -> list[str]:
        """Documents most like the relevant ones (dense and BM25, `depth` each, within the filters), in the
        order found: they join the ranking even where the need's own query missed them."""
        found: list[str] = []
        if feedback.relevant:
            centroids = self.stats.centroids(feedback.relevant)
            vectors = np.asarray([centroids[d] for d in feedback.relevant if d in centroids], dtype=np.float32)
            if len(vectors):
                for hits in self.index.search_dense(vectors, where, depth, exclude_kind=exclude_kind):
                    found.extend(h.payload["doc_id"] for h in hits)
            for d in feedback.relevant:
                vec = self.index.sparse_of(d)
                if vec.indices:
                    found.extend(h.payload["doc_id"] for h in self.index.search_sparse(
                        vec, where, depth, exclude_kind=exclude_kind))
        return list(dict.fromkeys(found))

    def terms(self, ids: Sequence[str], feedback: Feedback, results: Mapping[str, Sequence[ChannelHit]],
              weights: Mapping[str, float], scales: Mapping[str, tuple[float, float]] | None = None,
              ) -> dict[str, float]:
        """Doc id -> the feedback's term on the fused scale, for each of `ids`; `results`, `weights` and
        `scales` are the channels' result lists, weights and (floor, spread) fusion used (for the scaling)."""
        weights = active_weights(results, weights)
        total = sum(weights.values()) or 1.0
        scales = {**channel_scales(results, list(weights)), **(scales or {})}
        w = self.weights
        fb = np.zeros(len(ids), dtype=np.float64)
        similarities = {"dense": self.dense_similarities, "sparse": self.sparse_similarities}
        for ch in self.CHANNELS:
            if ch not in weights:
                continue
            sims = similarities[ch]
            rel, rej = sims(ids, feedback.relevant), sims(ids, feedback.not_relevant)
            term = rocchio_term(rel, rej, w.feedback_relevant, w.feedback_not_relevant)
            fb += weights[ch] / total * term / scales[ch][1]
        return dict(zip(ids, fb.tolist()))

    def dense_similarities(self, ids: Sequence[str], judged: Sequence[str]) -> np.ndarray:
        """(len(ids) x len(judged)) cosines of the documents' centroids (0 where a document has none)."""
        if not judged:
            return np.zeros((len(ids), 0))
        centroids = self.stats.centroids([*ids, *judged])
        dim = self.index.dim
        a = np.asarray([centroids.get(d, np.zeros(dim, np.float32)) for d in ids], dtype=np.float32).reshape(-1, dim)
        b = np.asarray([centroids.get(d, np.zeros(dim, np.float32)) for d in judged], dtype=np.float32).reshape(-1, dim)
        return (a @ b.T).astype(np.float64)

    def sparse_similarities(self, ids: Sequence[str], judged: Sequence[str]) -> np.ndarray:
        """(len(ids) x len(judged)): each judged document's BM25 vector as a query over `ids`, scaled by its
        score for itself (0 for an empty vector)."""
        out = np.zeros((len(ids), len(judged)))
        pos = {d: i for i, d in enumerate(ids)}
        for j, d in enumerate(judged):
            vec = self.index.sparse_of(d)
            if not vec.indices:
                continue
            where = Where((Cond("doc_id", any=tuple(dict.fromkeys([*ids, d]))),))
            hits = {h.payload["doc_id"]: h.score for h in self.index.search_sparse(vec, where, len(ids) + 1)}
            self_score = hits.get(d) or max(hits.values(), default=0.0)
            if self_score <= 0:
                continue
            for doc, s in hits.items():
                if doc in pos:
                    out[pos[doc], j] = s / self_score
        return out
