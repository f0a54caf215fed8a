"""The ranker: one front over the ranking's parts, for needs (`match`) and free text (`search`)."""

from __future__ import annotations

import time
from typing import Any, Sequence

from domain.models import DocKind, Document, Match, NeedMatches, OrgMatch, ScoreBreakdown, SearchFilters, SearchHit
from index.ranking.channels import (
    BM25_CHANNEL, SIMILARITY_CHANNEL, ChannelHit, Mode, SearchContext, channels_for, search_channels,
)
from index.ranking.evidence import evidence_pairs
from index.ranking.feedback import Feedback, RocchioFeedback
from index.ranking.fusion import (
    breakdown_parts, correction_shares, documents, reciprocal_rank_fusion, score_fusion,
)
from index.ranking.hubness import Hubness
from index.ranking.organizations import rank_organizations
from index.ranking.query import QueryInput, need_query, text_query
from index.ranking.rescore import Candidate, Concepts, RankedDocument, rescore
from index.ranking.stats import CorpusStatistics
from index.ranking.weights import RankWeights
from index.store import Index, filters_to_where
from index.suppliers import KnownSuppliers
from nlp.base import Enricher

# doc point fields that ranking and the denormalised Match/SearchHit need (not the full text)
RANK_FIELDS = ("kind", "source", "language", "url", "title", "published", "published_ts", "organizations",
               "concepts")


class Ranker:
    """Ranks the index's documents for a need or a free-text query (see index/ranking/__init__.py).

    `weights` may be replaced between rankings; `stats` (the corpus statistics) is kept across them."""

    def __init__(self, index: Index, enricher: Enricher | None = None, known_suppliers: KnownSuppliers | None = None,
                 *, weights: RankWeights | None = None, taxonomy: Any = None):
        self.index = index
        self.enricher = enricher
        self.weights = weights or RankWeights()
        if known_suppliers is None:
            known_suppliers = KnownSuppliers.load(index.settings.known_suppliers_path)
        self.known_suppliers = known_suppliers
        self.stats = CorpusStatistics(index)
        self._taxonomy = taxonomy
        self._concepts: Concepts | None = None

    @property
    def taxonomy(self) -> Any:
        if self._taxonomy is None:
            self._taxonomy = getattr(self.enricher, "taxonomy", None)
            if self._taxonomy is None:
                from nlp.taxonomy import load_taxonomy

                self._taxonomy = load_taxonomy()
        return self._taxonomy

    @property
    def concepts(self) -> Concepts:
        if self._concepts is None:
            self._concepts = Concepts(self.taxonomy)
        return self._concepts

    @property
    def hubness(self) -> Hubness:
        return Hubness(self.index, self.stats, self.weights)

    # -- inputs --------------------------------------------------------------------------------------
    def need_input(self, need_id: str) -> tuple[Document, QueryInput]:
        return need_query(self.index, self.enricher, self.stats, self.weights, need_id)

    def query_input(self, text: str) -> QueryInput:
        return text_query(self.enricher, text)

    # -- ranking -------------------------------------------------------------------------------------
    def channel_results(self, q: QueryInput, filters: SearchFilters | None = None, mode: Mode = "full",
                        exclude_kind: str | None = DocKind.need.value, depth: int | None = None,
                        ) -> dict[str, list[ChannelHit]]:
        """Each channel's result list (channel name -> hits, best first). The full ranking corrects a need's
        channels for hubness; the baselines are one channel each, uncorrected."""
        hubness = self.hubness
        ctx = SearchContext(self.index, self.weights, filters_to_where(filters), depth or self.weights.depth,
                            exclude_kind, hubness, hubness.need_of(q) if mode == "full" else None)
        return search_channels(channels_for(mode), q, ctx)

    def fuse(self, results: dict[str, list[ChannelHit]], mode: Mode = "full") -> dict[str, Candidate]:
        """One candidate per document found, in the order found: its fused score in [0, 1] (1 = first in every
        channel), that score by breakdown part, the raw similarity and BM25 score, the evidence pair."""
        channels = channels_for(mode)
        by_doc = {name: {h.doc_id: h for h in hits} for name, hits in results.items()}
        if mode != "full":  # a baseline: its one channel's own score
            only = channels[0]
            shares = {d: {only.name: by_doc[only.name][d].score} for d in documents(results)}
            corrections: dict[str, dict[str, float]] = {}
        else:
            weights = {ch.name: getattr(self.weights, ch.name) for ch in channels}
            if self.weights.fusion == "rrf":  # rank-based: no hubness split (the ranks already hold it)
                shares, corrections = reciprocal_rank_fusion(results, weights, self.weights.rrf_k), {}
            else:
                shares, corrections = score_fusion(results, weights), correction_shares(results, weights)
        parts = {ch.name: (ch.part, ch.correction_part) for ch in channels}
        similar, bm25 = by_doc.get(SIMILARITY_CHANNEL, {}), by_doc.get(BM25_CHANNEL, {})
        out = {}
        for d, per in shares.items():
            pair_hit = similar.get(d)
            out[d] = Candidate(
                d, fused=sum(per.values()),
                parts=breakdown_parts(per, corrections.get(d, {}), parts) if mode == "full" else dict(
                    (parts[ch][0], v) for ch, v in per.items()),
                similarity=pair_hit.raw if pair_hit else 0.0, bm25=bm25[d].raw if d in bm25 else 0.0,
                pair=pair_hit.pair if pair_hit else None)
        return out

    def rank(self, q: QueryInput, filters: SearchFilters | None = None, limit: int = 20, mode: Mode = "full",
             exclude_kind: str | None = DocKind.need.value, now: float | None = None, depth: int | None = None,
             feedback: Feedback | None = None) -> list[RankedDocument]:
        """Ranked documents with their score breakdown, shared concepts and payload (index/ranking/rescore.py
        says how the score is made; with `feedback`, index/ranking/feedback.py)."""
        w = self.weights
        results = self.channel_results(q, filters, mode, exclude_kind, depth)
        cands = self.fuse(results, mode)
        if not cands:
            return []
        prelim = sorted(cands.values(), key=lambda c: -c.fused)
        if mode != "full":  # baselines: the channel's own order, nothing added (raw scores, for `scout eval`)
            return [RankedDocument(c.doc_id, ScoreBreakdown(**c.parts, similarity=c.similarity, bm25=c.bm25,
                                                            total=c.fused), passage_pair=c.pair)
                    for c in prelim[:limit]]
        # Re-score a generous head: the additive terms can lift a document by a few dozen places only.
        head = prelim[: max(limit * 3, 60)]
        fb: dict[str, float] = {}
        if feedback:
            rocchio = RocchioFeedback(self.index, self.stats, w)
            in_head = {c.doc_id for c in head}
            found = rocchio.found(feedback, filters_to_where(filters), w.depth, exclude_kind)
            head = head + [cands.setdefault(d, Candidate(d)) for d in found if d not in in_head]
            fb = rocchio.terms([c.doc_id for c in head], feedback, results,
                               {ch.name: getattr(w, ch.name) for ch in channels_for(mode)})
        payloads = self.index.get_many([c.doc_id for c in head], RANK_FIELDS)
        # Age from the start of today (UTC), not the wall clock: the same request scores the same all day.
        now = now or time.time() // 86400 * 86400
        return rescore(head, payloads, q, w, self.concepts, self.stats.concept_idf, fb, now)[:limit]

    # -- needs and free text -------------------------------------------------------------------------
    def matches(self, need_id: str, limit: int = 20, filters: SearchFilters | None = None,
                feedback: Feedback | None = None) -> tuple[Document, list[Match]]:
        """The need and its best documents, with evidence; `feedback` (its judgements) moves its ranking."""
        need, q = self.need_input(need_id)
        if filters is not None and filters.kind == DocKind.need:
            raise ValueError("needs never match needs: filter on research or startup")
        ranked = self.rank(q, filters, limit, feedback=feedback)
        evidence = evidence_pairs(self.index, q, [(r.doc_id, r.passage_pair) for r in ranked])
        matches = []
        for rank, (r, (need_ev, doc_ev)) in enumerate(zip(ranked, evidence), start=1):
            p = r.payload
            matches.append(Match(
                need_id=need.id, doc_id=r.doc_id, rank=rank, score=r.score, breakdown=r.breakdown,
                shared_concepts=r.shared_concepts, need_evidence=need_ev, doc_evidence=doc_ev,
                title=p.get("title", ""), url=p.get("url", ""), kind=p.get("kind"), source=p.get("source", ""),
                organizations=p.get("organizations", []), published=p.get("published"),
            ))
        return need, matches

    def match(self, need_id: str, limit: int = 20, filters: SearchFilters | None = None,
              feedback: Feedback | None = None) -> NeedMatches:
        """`matches`, with the organizations they name ranked."""
        need, matches = self.matches(need_id, limit, filters, feedback)
        return NeedMatches(need=need, matches=matches, organizations=self.organizations(matches))

    def organizations(self, matches: Sequence[Match]) -> list[OrgMatch]:
        """Organizations by their matched documents (a firm with several strong documents ranks above one
        lucky abstract)."""
        return rank_organizations(matches, self.weights.org_decay, self.known_suppliers)

    def search(self, query: str, filters: SearchFilters | None = None, limit: int = 20) -> list[SearchHit]:
        """Free-text search over every kind (needs included unless filtered)."""
        q = self.query_input(query)
        hits = []
        # a short query needs fewer candidates than a need: 5x the page, at least 50
        ranked = self.rank(q, filters, limit, exclude_kind=None, depth=max(50, 5 * limit))
        evidence = evidence_pairs(self.index, q, [(r.doc_id, r.passage_pair) for r in ranked])
        for r, (_, doc_ev) in zip(ranked, evidence):
            p = r.payload
            hits.append(SearchHit(
                doc_id=r.doc_id, score=r.score, title=p.get("title", ""), url=p.get("url", ""),
                kind=p.get("kind", "research"), source=p.get("source", ""), language=p.get("language"),
                organizations=p.get("organizations", []), concepts=p.get("concepts", []),
                published=p.get("published"), evidence=doc_ev,
            ))
        return hits
