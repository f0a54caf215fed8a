"""Re-scoring: the fused score plus what explains a match beyond its words, on the score's [0, 1] scale.

The score is the document's match strength for the query and nothing else: (fused + concept + recency +
kind) / `RankWeights.score_scale`, in [0, 1] (a ja/en pair's larger concept weight can pass 1: clipped, and
shown as `clipped`); a free-text query's score is also held under its absolute ceiling (`absolute_ceiling`:
the best of a poor field is not strong). The `ScoreBreakdown` holds each part on the score's scale: they add
up to the score. Judgements move the order only: Rocchio's term (index/ranking/feedback.py) is added to the
unclipped strength for sorting and shown apart as `feedback`, and a document judged not relevant goes below
every other.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Callable, Collection, Mapping, Sequence

import numpy as np

from domain.models import ScoreBreakdown, ScoreCeiling
from index.ranking.fusion import breakdown_parts
from index.ranking.query import QueryInput
from index.ranking.weights import RankWeights

Idf = Callable[[str], float]

# A free-text query's score is held under a ceiling set by absolute evidence: the cosine of its best passage
# pair (points: cosine -> highest score). Read off the sbir-bench dev split (40 needs, the packaged MiniLM): a
# need's title against a relevant award's passages has a median best-pair cosine of 0.66 (a quarter below
# 0.54), against a random award's 0.11 (95th percentile 0.33). So strong (0.70) takes a cosine of 0.55,
# moderate (0.55) one of 0.40, and from 0.65 nothing is held back ...
CEILING_COSINES = (0.0, 0.40, 0.55, 0.65)
CEILING_SCORES = (0.15, 0.55, 0.70, 1.0)
# ... or by the share of the query's words (BM25 query weight) the document holds, when that says more (a
# Japanese document met through its own words, whose dense vectors read an English rendering): all of them,
# nothing held back; three quarters, strong at most; half, moderate at most.
CEILING_COVERAGE = (0.0, 0.5, 0.75, 1.0)


def absolute_ceiling(cosine: float, coverage: float = 0.0) -> float:
    """The highest score a free-text query's document may have, given its best passage pair's cosine and the
    share of the query's words it holds."""
    return float(max(np.interp(cosine, CEILING_COSINES, CEILING_SCORES),
                     np.interp(coverage, CEILING_COVERAGE, CEILING_SCORES)))


@dataclass
class Candidate:
    """A fused document before re-scoring."""

    doc_id: str
    fused: float = 0.0  # in [0, 1]: the sum of `shares`
    shares: Mapping[str, float] = field(default_factory=dict)  # channel -> its share of the fused score
    corrections: Mapping[str, float] = field(default_factory=dict)  # channel -> its hubness correction's share
    part_names: Mapping[str, tuple[str, str]] = field(default_factory=dict)  # fusion.breakdown_parts's `parts`
    similarity: float = 0.0  # the raw best passage-pair cosine
    bm25: float = 0.0  # the raw BM25 score
    pair: tuple[int, dict[str, Any]] | None = None  # (query passage index, document passage payload)

    @cached_property
    def parts(self) -> dict[str, float]:
        """The fused score by ScoreBreakdown part, made when first read: a ranking fuses about a thousand
        documents and re-scores a head of a hundred or so (1.5 of a 1M search's 3.6 ms of fusion went here)."""
        return breakdown_parts(self.shares, self.corrections, self.part_names)


@dataclass
class RankedDocument:
    """One document of a ranking: its score breakdown (`breakdown.total` is the score), the need's concepts
    it shares, its payload fields (RANK_FIELDS) and the best dense passage pair the evidence comes from."""

    doc_id: str
    breakdown: ScoreBreakdown
    shared_concepts: list[str] = field(default_factory=list)
    payload: dict[str, Any] = field(default_factory=dict)
    passage_pair: tuple[int, dict[str, Any]] | None = None  # (need passage index, doc passage payload)
    held: ScoreCeiling | None = None  # free text: the ceiling its score is, where it held the score down

    @property
    def score(self) -> float:
        return self.breakdown.total


class Concepts:
    """Concept overlap through the taxonomy: a document's concept covers a query's concept it equals or is
    narrower than."""

    def __init__(self, taxonomy: Any):
        self.taxonomy = taxonomy

    def expand(self, concepts: Sequence[str]) -> set[str]:
        """The concepts and all their ancestors."""
        out: set[str] = set()
        tax = self.taxonomy
        for c in concepts:
            out.add(c)
            if c in tax.by_id:
                out.update(tax.ancestors(c))
        return out

    def overlap(self, need: Sequence[str], doc: Sequence[str], idf: Idf) -> float:
        """Share of the need's concepts the document has (itself or a narrower one), each weighted by its
        rarity among the documents (`idf`): a shared rare concept ("hydrogen embrittlement") says more than
        a shared broad one ("materials")."""
        covered = self.expand(doc)
        total = sum(idf(c) for c in need)
        return sum(idf(c) for c in need if c in covered) / total if total else 0.0

    def shared(self, query: Sequence[str], doc: Sequence[str], expanded_query: set[str]) -> list[str]:
        """The document's concepts the query has, or that are narrower than one it has."""
        return sorted(x for x in doc if x in expanded_query or self.expand([x]) & set(query))


def recency(published_ts: float | None, now: float, weights: RankWeights) -> float:
    """`recency` weight halved every `recency_half_life_years` of age."""
    if published_ts is None:
        return 0.0
    age_years = max(0.0, (now - published_ts) / (365.25 * 86400))
    return weights.recency * math.pow(0.5, age_years / weights.recency_half_life_years)


def rescore(head: Sequence[Candidate], payloads: Mapping[str, dict], q: QueryInput, weights: RankWeights,
            concepts: Concepts, concept_idf: Callable[[], Idf], feedback: Mapping[str, float], now: float,
            ceilings: Mapping[str, float] | None = None, rejected: Collection[str] = (),
            ) -> list[RankedDocument]:
    """`head` re-scored and sorted, best first: by the unclipped strength moved by `feedback` (Rocchio's term on
    the fused scale; no part of the score), the `rejected` (judged not relevant) after every other.
    `ceilings`: doc id -> the highest score it may have (free text). `concept_idf()` is called once, when a
    concept is shared."""
    ceilings = ceilings or {}
    w = weights
    need_concepts = concepts.expand(q.concepts)  # for the shared-concepts explanation
    idf: Idf | None = None
    scale = w.score_scale
    out: list[tuple[float, RankedDocument]] = []
    for c in head:
        p = payloads.get(c.doc_id, {})
        concept = 0.0
        shared: list[str] = []
        concept_weight = w.concept
        # a need's title meets the other language's documents through dictionary renderings: its concepts weigh
        # more there (RankWeights.concept_other_language); a person's free text is not weighted so (one word,
        # "radar", had put seven Japanese documents 0.139 up, where an English document got 0.009)
        if (w.concept_other_language is not None and q.need_id is not None
                and {q.language, p.get("language")} == {"ja", "en"}):
            concept_weight = w.concept_other_language
        if need_concepts and p.get("concepts"):
            shared = concepts.shared(q.concepts, p["concepts"], need_concepts)
            if idf is None:  # one count per ranking, not one per candidate
                idf = concept_idf()
            concept = concept_weight * concepts.overlap(q.concepts, p["concepts"], idf)
        recent = recency(p.get("published_ts"), now, w)
        kind = w.kind.get(p.get("kind", ""), 0.0)
        fb = feedback.get(c.doc_id, 0.0)
        uncapped = strength = (c.fused + concept + recent + kind) / scale
        if c.doc_id in ceilings:
            strength = min(strength, ceilings[c.doc_id])
        bd = ScoreBreakdown(**{k: v / scale for k, v in c.parts.items()}, concept=concept / scale,
                            recency=recent / scale, kind=kind / scale, feedback=fb / scale,
                            similarity=c.similarity, bm25=c.bm25)
        total = min(1.0, max(0.0, strength))
        bd.clipped = total - sum(v for k, v in bd.contributions().items() if k != "clipped")
        if abs(bd.clipped) < 1e-12:
            bd.clipped = 0.0
        bd.total = total
        # equal strengths (held at one ceiling) keep the ranking's own order
        out.append(((c.doc_id in rejected, -(strength + bd.feedback), -uncapped),
                    RankedDocument(c.doc_id, bd, shared, p, c.pair), (-strength, -uncapped)))
    if feedback:  # the places the judgements moved each document: its place without them, less its place now
        kept = [t for t in out if t[1].doc_id not in rejected]
        before = {t[1].doc_id: i for i, t in enumerate(sorted(kept, key=lambda t: t[2]))}
        for i, t in enumerate(sorted(kept, key=lambda t: t[0])):
            t[1].breakdown.moved = before[t[1].doc_id] - i
    out.sort(key=lambda t: t[0])
    return [r for _, r, _ in out]
