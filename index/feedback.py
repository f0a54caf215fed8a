"""Relevance feedback: an analyst's judgements of a need's matches, and what they do to its ranking.

Rocchio (1971), the classic of the field: the query moves toward the centroid of the documents judged
relevant and away from the centroid of those judged not relevant,

    q' = alpha * q + beta * mean(relevant) - gamma * mean(not relevant).

Scoring is linear in the query, so the ranking applies it as a term added to the score of each channel it
acts on (dense and BM25): beta times a document's mean similarity to the relevant documents, minus gamma
times its mean similarity to the rejected ones, in the channel's own units, then scaled as the channel is
in fusion (see `Ranker._feedback`). alpha = 1: the need's own query keeps its weight. beta and gamma are
SMART's classic 0.75 and 0.15 unless `RankWeights` says otherwise; the README has the measured effect.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


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
