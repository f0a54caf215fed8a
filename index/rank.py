"""Needs -> technologies: hybrid retrieval, explainable re-scoring, organizations.

1. Candidates from four channels: every need passage searches the dense passage vectors (a document
   scores by its best passage pair); the need's BM25 vector searches the document sparse vectors (Qdrant
   applies IDF); and the need's title alone, a short focused statement of the need, queries both again.
   For a need, the dense and BM25 channels' scores are corrected for hubness: a document's mean score for
   its nearest other needs is partly subtracted (CSLS), so prose that resembles every need stops crowding them.
2. Fusion per document: each channel's scores min-max scaled over its result list, then a weighted sum
   (`fusion="rrf"` gives weighted reciprocal rank fusion instead).
3. Re-score: fused rank score + shared taxonomy concepts (ancestors included) + recency + source kind
   (+ relevance feedback, Rocchio, when the need has judgements: index/feedback.py). Needs never match needs.
4. The score, the document's match strength for the query and nothing else: that sum without feedback,
   divided by the most it can reach (`RankWeights.score_scale`), in [0, 1]. Channels are min-max scaled as
   in the query's unfiltered list at a fixed depth, so a filter, a page size or a judgement never changes a
   score; a free-text query's score is held under a ceiling set by its best passage pair's cosine
   (`absolute_ceiling`), so the best of a poor field is not strong. The `ScoreBreakdown` holds each part's
   contribution on the score's scale (they add up to it). Judgements move the order only: Rocchio's centred
   term is added for sorting (shown apart as `feedback`), and a document judged not relevant goes below
   every other.
5. Evidence: the need passage and the document passage of the best dense pair (computed for the returned
   matches only).
6. Organizations: each organization's matched documents, best first, with decaying weights, combined as a
   noisy-OR, so a firm with several strong documents ranks above one lucky abstract.
"""

from __future__ import annotations

import math
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Literal, Sequence

import numpy as np

from index.backends.base import Cond, Where
from index.feedback import Feedback, rocchio_term
from index.store import Index, filters_to_where
from index.suppliers import KnownSuppliers, normalize_org
from nlp.base import Enricher, SparseVector
from nlp.passages import DEFAULT_MAX_PASSAGES
from domain.models import (
    DocKind, Document, Evidence, Match, NeedMatches, OrgMatch, ScoreBreakdown, SearchFilters, SearchHit,
)

Mode = Literal["full", "bm25", "dense"]
# A free-text query's channels are scaled as in its unfiltered list of this many candidates (a need's: as in
# RankWeights.depth), whatever the filters or the page size: a score never depends on them.
SEARCH_SCALE_DEPTH = 500
# A free-text query's score is held under a ceiling set by absolute evidence: the cosine of its best passage
# pair (points: cosine -> highest score). Read off the sbir-bench dev split (40 needs, MiniLM): a need's title
# against a relevant award's passages has a median best-pair cosine of 0.66 (quarter below 0.54), against a
# random award's 0.11 (95th percentile 0.33). So the best of a poor field is not strong: strong (0.70) takes a
# cosine of 0.55, moderate (0.55) one of 0.40, and from 0.65 nothing is held back.
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


def _filtered(filters: SearchFilters | None) -> bool:
    return filters is not None and any(v is not None for v in filters.model_dump().values())

# Corpus statistics (concept and needs-collection frequencies, hubness) are kept until the index's document
# or need count changes (checked at most every STATS_CHECK seconds) and at most STATS_TTL seconds (a document
# replaced in place changes no count).
STATS_CHECK = 10.0
STATS_TTL = 3600.0
# doc point fields that ranking and the denormalised Match/SearchHit need (not the full text)
RANK_FIELDS = ("kind", "source", "language", "url", "title", "published", "published_ts", "organizations",
               "concepts")


@dataclass(frozen=True)
class RankWeights:
    """Chosen for the task's shape (a long need with a telling title -> a short technology abstract).

    Measured on the sbir-bench dev split (bench/ranking_quality.py, strict nDCG@10); the figures are in the
    README. What carried: score fusion over RRF; the need's title as a second, focused query; the document's
    own title as a field of its own (dense and BM25), because a title is the author's focused statement of
    what the work is; and weighting the need's BM25 query by how rare each term is among the needs
    (solicitation boilerplate such as "phase", "prototype", "develop" says nothing about a need). What gave
    nothing and was left out: pseudo-relevance feedback, position decay of need passages, the mean over need
    passages beside the best pair, word bigrams, z-score normalisation.
    """

    depth: int = 200  # candidates per channel
    fusion: str = "score"  # "score" (per-channel min-max scaled scores) or "rrf"
    rrf_k: float = 60.0
    dense: float = 1.0  # need passages -> document passages, best pair
    sparse: float = 1.5  # need BM25 (weighted by rarity among needs, title terms boosted) -> documents
    title_dense: float = 0.5  # need title alone -> document passages
    title_sparse: float = 0.0  # need title alone, BM25 (covered by the title-term boost of `sparse`)
    doc_title: float = 0.5  # need passages -> document titles, best pair
    title_title: float = 0.25  # need title -> document titles
    title_lexical: float = 0.5  # need BM25 (weighted by rarity among needs) -> document titles
    dense_multi: float = 0.0  # weight of the mean over need passages beside the best pair
    need_idf: float = 0.5  # exponent of the needs-collection IDF weighting of a need's BM25 query (0 = off)
    need_idf_min_needs: int = 20  # fewer needs than this: too few to tell boilerplate from subject
    title_boost: float = 1.0  # a need's title terms weigh (1 + this) in its BM25 query
    # Hubness correction (CSLS, Conneau et al. 2018): a document's dense scores for a need are lowered by this
    # times its mean similarity to its `hubness_k` nearest other needs, and its BM25 score (scaled by the
    # need's best) by this times its mean scaled BM25 score for its `hubness_k` best other needs. A document
    # close to every need (generic programme prose) is a hub of the space, not a match. Needs only, and only
    # with enough needs to tell (need_idf_min_needs). 0.5 is CSLS's own weight (2 cos - r_doc - r_need).
    hubness: float = 0.5
    hubness_k: int = 10
    # The hubness weight for a document written in another language (ja vs en) than the need (None:
    # `hubness`). Met only through its dictionary rendering, a Japanese document looked like a hub to English
    # needs and 0.25 served it better; since English needs also query a Japanese document's own words
    # (nlp/reverse.py) the same weight serves both, and a lower one lets Japanese documents crowd English
    # needs' top 10 (cross-lingual bench, README).
    hubness_other_language: float | None = None
    # Full concept overlap adds this much (the fused score is scaled to [0, 1]). Small on purpose: on the dev
    # split any concept weight lowered nDCG (the taxonomy is coarser than a topic), so overlap mostly explains
    # a match and breaks near-ties; see the README.
    concept: float = 0.01
    # The concept weight for a document in the other language (ja vs en) than the query (None: `concept`).
    # Such a document meets the query's words only through dictionary renderings, which blur both channels,
    # while the taxonomy's concepts are the same in both languages (cross-lingual bench, README: EN->JA
    # titles 0.86 -> 0.92 MRR ratio at 0.15; taking the excess from the fused share instead lost it all).
    # The score's scale stays that of same-language pairs: the rare excess is clipped, as with feedback.
    concept_other_language: float | None = 0.15
    recency: float = 0.05
    recency_half_life_years: float = 4.0
    kind: dict[str, float] = field(default_factory=lambda: {"research": 0.0, "startup": 0.02})
    org_decay: float = 0.5
    # Relevance feedback (index/feedback.py): Rocchio's beta and gamma, SMART's classic values (alpha = 1).
    feedback_relevant: float = 0.75
    feedback_not_relevant: float = 0.15

    @property
    def score_scale(self) -> float:
        """The most fused + concept + recency + kind can reach: dividing by it puts the score in [0, 1]."""
        return 1.0 + self.concept + self.recency + max(self.kind.values(), default=0.0)


# Channels by family: their contributions are shown as `dense` and `sparse` in the ScoreBreakdown.
DENSE_CHANNELS = ("dense", "title_dense", "doc_title", "title_title")
SPARSE_CHANNELS = ("sparse", "title_sparse", "title_lexical")
# Channels whose query Rocchio moves (the need's own text, dense and BM25); the title channels keep theirs.
FEEDBACK_CHANNELS = ("dense", "sparse")


@dataclass
class _Candidate:
    doc_id: str
    scores: dict[str, float] = field(default_factory=dict)  # channel -> score
    ranks: dict[str, int] = field(default_factory=dict)  # channel -> rank (1-based)
    fused: float = 0.0
    best_pair: tuple[int, dict[str, Any]] | None = None  # (need passage index, doc passage payload)
    raw_dense: float | None = None  # the dense similarity itself, when the channel's score was corrected
    raw_sparse: float | None = None  # the BM25 score itself, likewise
    generic: float = 0.0  # the document's dense hubness (see RankWeights.hubness)
    generic_lexical: float = 0.0  # ... and its BM25 hubness
    corrections: dict[str, float] = field(default_factory=dict)  # channel -> hubness subtracted from its score
    parts: dict[str, float] = field(default_factory=dict)  # contributions to `fused` (ScoreBreakdown names)

    @property
    def dense(self) -> float:
        return self.raw_dense if self.raw_dense is not None else self.scores.get("dense", 0.0)

    @property
    def sparse(self) -> float:
        return self.raw_sparse if self.raw_sparse is not None else self.scores.get("sparse", 0.0)


@dataclass
class RankedDocument:
    """One document of a ranking: its score breakdown (`breakdown.total` is the score), the need's concepts
    it shares, its payload fields (RANK_FIELDS) and the best dense passage pair the evidence comes from."""

    doc_id: str
    breakdown: ScoreBreakdown
    shared_concepts: list[str] = field(default_factory=list)
    payload: dict[str, Any] = field(default_factory=dict)
    passage_pair: tuple[int, dict[str, Any]] | None = None  # (need passage index, doc passage payload)

    @property
    def score(self) -> float:
        return self.breakdown.total


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


def _mean_of_others(nearest: Sequence[tuple[str, float]], need_id: str, k: int, *,
                    absent_as_zero: bool = False) -> float:
    """Mean score of the `k` best needs in `nearest` (best first) other than `need_id`; with `absent_as_zero`,
    needs missing from the list count 0 (the mean is over k), else the mean is over those present."""
    scores = [s for n, s in nearest if n != need_id][:k]
    if absent_as_zero:
        return sum(scores) / k
    return sum(scores) / len(scores) if scores else 0.0


def organization_score(scores: Sequence[float], decay: float) -> float:
    """An organization's score from its documents' scores for one need: best first, each weighing decay^i,
    combined as a noisy-OR, 1 - prod(1 - decay^i * score_i). In [0, 1] like a match's score; one document
    scores its own score, and every further answering document raises it."""
    ordered = sorted((min(1.0, max(0.0, s)) for s in scores), reverse=True)
    return 1.0 - math.prod(1.0 - s * decay**i for i, s in enumerate(ordered))


def _family_parts(per_channel: dict[str, float], generic: dict[str, float]) -> dict[str, float]:
    """Channel contributions summed by family (ScoreBreakdown's names); a corrected channel's share is split
    into its similarity part and its hubness part (`generic` holds the negative amounts)."""
    parts = {"dense": 0.0, "sparse": 0.0, "generic": 0.0, "generic_lexical": 0.0}
    for ch, value in per_channel.items():
        family = "dense" if ch in DENSE_CHANNELS else "sparse"
        correction = generic.get(ch, 0.0)
        parts[family] += value - correction
        parts["generic" if family == "dense" else "generic_lexical"] += correction
    return parts


class Ranker:
    def __init__(self, index: Index, enricher: Enricher | None = None, known_suppliers: KnownSuppliers | None = None,
                 *, weights: RankWeights | None = None, taxonomy: Any = None):
        self.index = index
        self.enricher = enricher
        self.weights = weights or RankWeights()
        if known_suppliers is None:
            known_suppliers = KnownSuppliers.load(index.settings.known_suppliers_path)
        self.known_suppliers = known_suppliers
        self._taxonomy = taxonomy
        self._stats: dict[str, Any] = {}  # name -> value; see _corpus_stat
        self._stats_version: tuple[int, int] | None = None  # (documents, needs) the statistics were taken at
        self._stats_since = self._stats_checked = 0.0
        self._stats_lock = threading.Lock()

    # -- taxonomy ------------------------------------------------------------------------------------
    @property
    def taxonomy(self) -> Any:
        if self._taxonomy is None:
            self._taxonomy = getattr(self.enricher, "taxonomy", None)
            if self._taxonomy is None:
                from nlp.taxonomy import load_taxonomy

                self._taxonomy = load_taxonomy()
        return self._taxonomy

    def _concept_overlap(self, need: Sequence[str], doc: Sequence[str], idf: Any) -> float:
        """Share of the need's concepts the document has (itself or a narrower one), each weighted by its
        rarity among the documents (`idf`, from `_concept_idf`): a shared rare concept ("hydrogen
        embrittlement") says more than a shared broad one ("materials")."""
        covered = self._expand(doc)
        total = sum(idf(c) for c in need)
        return sum(idf(c) for c in need if c in covered) / total if total else 0.0

    def _corpus_stat(self, name: str, compute: Any) -> Any:
        """`compute()`, kept while the corpus keeps its size (see STATS_CHECK): not counted per search."""
        now = time.monotonic()
        if now - self._stats_checked > STATS_CHECK:
            with self._stats_lock:
                version = (self.index.count(), self.index.count(SearchFilters(kind=DocKind.need)))
                if version != self._stats_version or now - self._stats_since > STATS_TTL:
                    self._stats = {}
                    self._stats_version, self._stats_since = version, now
                self._stats_checked = now
        stats = self._stats
        if name not in stats:
            stats[name] = compute()
        return stats[name]

    def _concept_idf(self) -> Any:
        n, df = self._corpus_stat(
            "concepts", lambda: (self.index.count(), self.index.facets(keys=["concept"], limit=100_000)["concept"]))
        return lambda c: math.log(1.0 + n / (1.0 + df.get(c, 0)))

    def _need_term_df(self) -> tuple[int, dict[int, int]]:
        """(number of needs, term id -> number of needs that use it)."""
        df: dict[int, int] = defaultdict(int)
        for _, vec in self.index.sparse_of_kind(DocKind.need):
            for i in vec.indices:
                df[i] += 1
        return self.index.count(SearchFilters(kind=DocKind.need)), dict(df)

    def _expand(self, concepts: Sequence[str]) -> set[str]:
        out: set[str] = set()
        tax = self.taxonomy
        for c in concepts:
            out.add(c)
            if c in tax.by_id:
                out.update(tax.ancestors(c))
        return out

    # -- inputs --------------------------------------------------------------------------------------
    def need_input(self, need_id: str) -> tuple[Document, QueryInput]:
        need = self.index.get(need_id)
        if need is None:
            raise KeyError(f"no document {need_id!r} in the index")
        if need.kind != DocKind.need:
            raise ValueError(f"{need_id!r} is a {need.kind.value}, not a need")
        passages = self.index.passages(need_id, vectors=True)
        vectors = np.array([h.dense for h in passages if h.dense is not None], dtype=np.float32)
        evidence = [Evidence(passage_index=h.payload["passage_index"], start=h.payload["start"],
                             end=h.payload["end"], text=h.payload["text"]) for h in passages]
        analysis = self.index.analysis_payload(need_id)
        concepts = list(analysis.get("concepts", [])) if analysis else []
        w = self.weights
        # The need's stored BM25 vector is its query: saturated tf suits a 1,000-word need (a term repeated
        # twenty times must not drown the rest); measured as good as query-side 1 + log(tf).
        q = QueryInput(vectors, self.index.sparse_of(need_id), concepts, evidence, need_id=need_id,
                       language=need.language, key=f"need {need_id}")
        if self.enricher is not None and need.title.strip() and (w.title_dense or w.title_sparse or w.title_title
                                                                 or w.title_boost):
            eq = self.enricher.query(need.title)
            q.title_vectors = np.asarray(eq.passage_vectors, dtype=np.float32)[:1]
            q.title_sparse = eq.sparse
        q.subject_sparse = self._subject_weighted(q.sparse)
        boost = set(q.title_sparse.indices) if q.title_sparse is not None and w.title_boost else set()
        q.focused_sparse = SparseVector(
            indices=list(q.subject_sparse.indices),
            values=[v * (1.0 + w.title_boost) if i in boost else v
                    for i, v in zip(q.subject_sparse.indices, q.subject_sparse.values)])
        return need, q

    def _subject_weighted(self, sparse: SparseVector) -> SparseVector:
        """`sparse` with each term weighted by (needs-collection IDF / its maximum) ** need_idf.

        Needs share a solicitation's boilerplate ("phase", "prototype", "commercialization"); documents use
        those words too, so the corpus IDF alone leaves them weight. Their rarity among the needs tells a
        need's subject from its form. Too few needs to tell: unchanged.
        """
        w = self.weights
        if not w.need_idf or not sparse.indices:
            return sparse
        n_needs, df = self._corpus_stat("needs", self._need_term_df)
        if n_needs < w.need_idf_min_needs:
            return sparse
        top = math.log(1.0 + (n_needs + 0.5) / 0.5)  # a term no need has
        values = [v * (math.log(1.0 + (n_needs - df.get(i, 0) + 0.5) / (df.get(i, 0) + 0.5)) / top) ** w.need_idf
                  for i, v in zip(sparse.indices, sparse.values)]
        return SparseVector(indices=list(sparse.indices), values=values)

    def _need_passages(self) -> tuple[np.ndarray, np.ndarray, list[str]]:
        """Every need's passage vectors, grouped by need: (matrix, start row of each need, need ids)."""
        owners, matrix = self.index.passage_vectors(kind=DocKind.need)
        order = sorted(range(len(owners)), key=lambda i: owners[i])
        owners = [owners[i] for i in order]
        starts = [i for i in range(len(owners)) if i == 0 or owners[i] != owners[i - 1]]
        return matrix[order], np.asarray(starts, dtype=np.int64), [owners[i] for i in starts]

    def _hubness(self, doc_ids: Sequence[str], need_id: str) -> dict[str, float]:
        """Each document's mean similarity to its `hubness_k` nearest needs other than `need_id` (a need's
        similarity to a document: its best passage pair, as in the dense channel; computed exactly).

        Kept per document with the corpus statistics (ranking every need asks for mostly the same documents)."""
        k = self.weights.hubness_k
        matrix, starts, needs = self._corpus_stat("need_passages", self._need_passages)
        nearest: dict[str, list[tuple[str, float]]] = self._corpus_stat("hubness", dict)
        missing = [d for d in doc_ids if d not in nearest]
        if missing and len(needs):
            owners, vectors = self.index.passage_vectors(doc_ids=missing)
            per_need = np.maximum.reduceat(vectors @ matrix.T, starts, axis=1) if len(owners) else None
            rows: dict[str, list[int]] = defaultdict(list)
            for i, d in enumerate(owners):
                rows[d].append(i)
            top = min(k + 1, len(needs))
            for d in missing:
                if d not in rows:
                    nearest[d] = []
                    continue
                sims = per_need[rows[d]].max(axis=0)  # the document's best passage against each need
                best = np.argpartition(-sims, top - 1)[:top]
                nearest[d] = sorted(((needs[j], float(sims[j])) for j in best), key=lambda t: -t[1])
        return {d: _mean_of_others(nearest.get(d, ()), need_id, k) for d in doc_ids}

    def _lexical_neighbours(self) -> dict[str, list[tuple[str, float]]]:
        """For each document, the needs whose BM25 query ranks it highest: (need id, its score / that need's
        best score), best first, `hubness_k + 1` at most. A need's query: its BM25 vector weighted by rarity
        among the needs (one search per need, once per corpus version)."""
        w = self.weights
        found: dict[str, list[tuple[str, float]]] = defaultdict(list)
        for need_id, vec in self.index.sparse_of_kind(DocKind.need):
            hits = self.index.search_sparse(self._subject_weighted(vec), limit=w.depth, exclude_kind=DocKind.need.value)
            if hits and hits[0].score > 0:
                for h in hits:
                    found[h.payload["doc_id"]].append((need_id, h.score / hits[0].score))
        return {d: sorted(v, key=lambda t: -t[1])[: w.hubness_k + 1] for d, v in found.items()}

    def _lexical_hubness(self, doc_ids: Sequence[str], need_id: str) -> dict[str, float]:
        """Each document's mean scaled BM25 score for its `hubness_k` best needs other than `need_id` (a need
        that does not rank it in its top `depth` counts 0)."""
        k = self.weights.hubness_k
        near = self._corpus_stat("lexical_neighbours", self._lexical_neighbours)
        return {d: _mean_of_others(near.get(d, ()), need_id, k, absent_as_zero=True) for d in doc_ids}

    def _hubness_weights(self, doc_ids: Sequence[str], need_id: str) -> dict[str, float]:
        """The hubness weight of each document for `need_id`: `hubness`, or `hubness_other_language` for a
        document in another language than the need (languages read once per corpus version)."""
        w = self.weights
        if w.hubness_other_language is None or w.hubness_other_language == w.hubness:
            return dict.fromkeys(doc_ids, w.hubness)
        languages: dict[str, str] = self._corpus_stat("languages", dict)
        missing = [d for d in [*doc_ids, need_id] if d not in languages]
        if missing:
            for d, p in self.index.get_many(missing, ("language",)).items():
                languages[d] = p.get("language") or ""
        own = languages.get(need_id, "")

        def other(d: str) -> bool:  # only two known languages differ; "other" and unknown count as the need's
            return {own, languages.get(d, own)} == {"ja", "en"}

        return {d: w.hubness_other_language if other(d) else w.hubness for d in doc_ids}

    def _hubness_need(self, q: QueryInput, mode: Mode) -> str | None:
        """The need whose dense and BM25 channels get the hubness correction, or None (baselines, free text,
        fewer needs than need_idf_min_needs)."""
        w = self.weights
        if mode != "full" or not w.hubness or q.need_id is None:
            return None
        n_needs, _ = self._corpus_stat("needs", self._need_term_df)
        return q.need_id if n_needs >= w.need_idf_min_needs else None

    # -- core ----------------------------------------------------------------------------------------
    def _dense_channel(self, name: str, vectors: np.ndarray, where: Any, depth: int, exclude_kind: str | None,
                       cands: dict[str, _Candidate], multi: float, hubness_of: str | None = None) -> None:
        # with the hubness correction, twice the depth is fetched: it reorders the head before the cut
        fetch = 2 * depth if hubness_of else depth
        if name in ("doc_title", "title_title"):  # against document titles: one point per document
            per_passage = self.index.search_titles(vectors, where, fetch, exclude_kind=exclude_kind)
        else:
            per_passage = self.index.search_dense(vectors, where, fetch, exclude_kind=exclude_kind)
        best: dict[str, float] = {}
        pair: dict[str, tuple[int, dict[str, Any]]] = {}
        sums: dict[str, float] = defaultdict(float)
        for qi, hits in enumerate(per_passage):
            seen: set[str] = set()
            for h in hits:
                d = h.payload["doc_id"]
                if d in seen:
                    continue  # a document counts once per query passage: its best passage
                seen.add(d)
                score = h.score
                sums[d] += score
                if score > best.get(d, -2.0):
                    best[d], pair[d] = score, (qi, h.payload)
        n = max(1, len(per_passage))
        raw = {d: best[d] + multi * sums[d] / n for d in best}
        scored = raw
        hub: dict[str, float] = {}
        if hubness_of and raw:
            head = sorted(raw, key=lambda d: -raw[d])[:fetch]
            hub = self._hubness(head, hubness_of)
            weight = self._hubness_weights(head, hubness_of)
            scored = {d: raw[d] - weight[d] * hub[d] for d in head}
        # Each channel offers its best `depth` documents, however many query vectors found them: the min-max
        # scaling then spans the same depth on every channel (a long need's 20 passages would otherwise
        # stretch its dense channels' scale over thousands of weak hits).
        for rank, d in enumerate(sorted(scored, key=lambda d: -scored[d])[:depth], start=1):
            c = cands.setdefault(d, _Candidate(d))
            c.scores[name], c.ranks[name] = scored[d], rank
            if name == "dense":  # evidence pairs refer to need passages, not to the title query
                c.best_pair = pair[d]
                if hub:
                    c.raw_dense = raw[d]
            if d in hub:
                c.generic = hub[d]
                c.corrections[name] = self.weights.hubness * hub[d]

    def _sparse_channel(self, name: str, sparse: SparseVector, where: Any, depth: int, exclude_kind: str | None,
                        cands: dict[str, _Candidate], hubness_of: str | None = None,
                        best: float | None = None) -> None:
        search = self.index.search_title_sparse if name == "title_lexical" else self.index.search_sparse
        if not hubness_of or name != "sparse":
            for rank, h in enumerate(search(sparse, where, depth, exclude_kind=exclude_kind), start=1):
                c = cands.setdefault(h.payload["doc_id"], _Candidate(h.payload["doc_id"]))
                c.scores[name], c.ranks[name] = h.score, rank
            return
        # hubness-corrected: scores scaled by the best one (as each need's neighbour lists are), twice the depth
        # fetched, reordered, then cut
        hits = search(sparse, where, 2 * depth, exclude_kind=exclude_kind)
        if not hits or hits[0].score <= 0:
            return
        top = best if best else hits[0].score  # a filtered list keeps the unfiltered list's scale
        raw = {h.payload["doc_id"]: h.score for h in hits}
        hub = self._lexical_hubness(list(raw), hubness_of)
        weight = self._hubness_weights(list(raw), hubness_of)
        scored = {d: raw[d] / top - weight[d] * hub[d] for d in raw}
        for rank, d in enumerate(sorted(scored, key=lambda d: -scored[d])[:depth], start=1):
            c = cands.setdefault(d, _Candidate(d))
            c.scores[name], c.ranks[name] = scored[d], rank
            c.raw_sparse, c.generic_lexical = raw[d], hub[d]
            c.corrections[name] = self.weights.hubness * hub[d]

    def candidates(self, q: QueryInput, filters: SearchFilters | None, mode: Mode = "full",
                   exclude_kind: str | None = DocKind.need.value, depth: int | None = None,
                   sparse_best: float | None = None) -> dict[str, _Candidate]:
        """Each channel's candidates; `sparse_best`: the BM25 score the hubness-corrected channel is scaled by
        (default: its own list's best)."""
        w = self.weights
        depth = depth or w.depth
        where = filters_to_where(filters)
        cands: dict[str, _Candidate] = {}
        hub = self._hubness_need(q, mode)
        if mode in ("full", "dense") and len(q.vectors):
            self._dense_channel("dense", q.vectors, where, depth, exclude_kind, cands, w.dense_multi, hub)
        if mode == "bm25" and q.sparse.indices:  # the baseline: the need's text as a plain BM25 query
            self._sparse_channel("sparse", q.sparse, where, depth, exclude_kind, cands)
        if mode != "full":
            return cands
        focused = q.focused_sparse or q.sparse
        if focused.indices:
            self._sparse_channel("sparse", focused, where, depth, exclude_kind, cands, hub, best=sparse_best)
        if q.title_vectors is not None and len(q.title_vectors) and w.title_dense:
            self._dense_channel("title_dense", q.title_vectors, where, depth, exclude_kind, cands, 0.0, hub)
        if q.title_sparse is not None and q.title_sparse.indices and w.title_sparse:
            self._sparse_channel("title_sparse", q.title_sparse, where, depth, exclude_kind, cands)
        # The title fields serve needs (a long text with a title); a short free-text query is a title itself.
        if q.title_vectors is not None and (w.doc_title or w.title_title or w.title_lexical) and self.index.has_titles():
            if len(q.vectors) and w.doc_title:
                self._dense_channel("doc_title", q.vectors, where, depth, exclude_kind, cands, 0.0, hub)
            if len(q.title_vectors) and w.title_title:
                self._dense_channel("title_title", q.title_vectors, where, depth, exclude_kind, cands, 0.0, hub)
            subject = q.subject_sparse or q.sparse
            if subject.indices and w.title_lexical:
                self._sparse_channel("title_lexical", subject, where, depth, exclude_kind, cands)
        return cands

    def _channel_weights(self) -> dict[str, float]:
        w = self.weights
        return {"dense": w.dense, "sparse": w.sparse, "title_dense": w.title_dense, "title_sparse": w.title_sparse,
                "doc_title": w.doc_title, "title_title": w.title_title, "title_lexical": w.title_lexical}

    def fuse(self, cands: dict[str, _Candidate], mode: Mode,
             scales: tuple[dict[str, float], dict[str, float]] | None = None) -> None:
        """Set each candidate's fused score in [0, 1] (1 = first in every channel) and its parts: what the
        dense and BM25 channel families contributed, and (negative) what their hubness corrections took.
        `scales`: each channel's (floor, spread) to scale by instead of its own list's (`Scales`: a filtered
        list is scaled as the unfiltered one is, so that a filter never changes a score)."""
        if mode != "full":
            key = "dense" if mode == "dense" else "sparse"
            for c in cands.values():
                c.fused = c.scores.get(key, 0.0)
                c.parts = {key: c.fused}
            return
        w = self.weights
        weights = {ch: wt for ch, wt in self._channel_weights().items()
                   if wt and any(ch in c.ranks for c in cands.values())}
        total = sum(weights.values()) or 1.0
        if w.fusion == "rrf":  # rank-based: a channel's part is its reciprocal rank share (no hubness split)
            for c in cands.values():
                per = {ch: wt / (w.rrf_k + c.ranks[ch]) / (total / (w.rrf_k + 1))
                       for ch, wt in weights.items() if ch in c.ranks}
                c.parts = _family_parts(per, {})
                c.fused = sum(per.values())
            return
        # score fusion: each channel min-max scaled over its own result list; absent = its floor
        lo, spread = self._channel_scales(cands, weights)
        if scales is not None:
            lo = {ch: scales[0].get(ch, lo[ch]) for ch in weights}
            spread = {ch: scales[1].get(ch, spread[ch]) for ch in weights}
        for c in cands.values():
            per = {ch: wt * min(1.0, max(0.0, (c.scores[ch] - lo[ch]) / spread[ch])) / total
                   for ch, wt in weights.items() if ch in c.scores}
            # a corrected channel's share splits into the similarity's part and the (negative) hubness part
            generic = {ch: -weights[ch] * c.corrections[ch] / spread[ch] / total
                       for ch in c.corrections if ch in per}
            c.fused = sum(per.values())
            c.parts = _family_parts(per, generic)

    @staticmethod
    def _channel_scales(cands: dict[str, _Candidate], weights: dict[str, float],
                        ) -> tuple[dict[str, float], dict[str, float]]:
        """Each channel's floor and spread (max - min) over its result list: fusion's min-max scaling."""
        lo = {ch: min(c.scores[ch] for c in cands.values() if ch in c.scores) for ch in weights}
        hi = {ch: max(c.scores[ch] for c in cands.values() if ch in c.scores) for ch in weights}
        return lo, {ch: (hi[ch] - lo[ch]) or 1.0 for ch in weights}

    def rank(self, q: QueryInput, filters: SearchFilters | None = None, limit: int = 20, mode: Mode = "full",
             exclude_kind: str | None = DocKind.need.value, now: float | None = None, depth: int | None = None,
             feedback: Feedback | None = None) -> list[RankedDocument]:
        """Ranked documents with their score breakdown, shared concepts and payload.

        The score is the document's match strength for the query and nothing else: (fused + concept + recency
        + kind) / RankWeights.score_scale, in [0, 1] (a ja/en pair's larger concept weight can pass 1: clipped,
        and shown as `clipped`). Channels are scaled as in the query's unfiltered list at a fixed depth, so a
        filter, a page size or another document's judgement never changes it; a free-text query's score is
        also held under the absolute ceiling of its best passage pair (`absolute_ceiling`). `feedback` (the
        judgements) moves the order only: Rocchio's term, shown as `breakdown.feedback` but no part of the
        score, is added for sorting, and documents judged not relevant go below every other."""
        w = self.weights
        scales, sparse_best = None, None
        if mode == "full":
            reference_depth = w.depth if q.need_id is not None else SEARCH_SCALE_DEPTH
            if _filtered(filters) or (depth or w.depth) != reference_depth:
                scales, sparse_best = self._reference_scales(q, exclude_kind, reference_depth)
        cands = self.candidates(q, filters, mode, exclude_kind, depth, sparse_best=sparse_best)
        if not cands:
            return []
        self.fuse(cands, mode, scales)

        prelim = sorted(cands.values(), key=lambda c: -c.fused)
        if mode != "full":  # baselines: the channel's own order, nothing added (raw scores, for `scout eval`)
            return [RankedDocument(c.doc_id, ScoreBreakdown(**c.parts, similarity=c.dense, bm25=c.sparse,
                                                            total=c.fused), passage_pair=c.best_pair)
                    for c in prelim[:limit]]
        # Re-score a generous head: the additive terms can lift a document by a few dozen places only.
        head = prelim[: max(limit * 3, 60)]
        fb: dict[str, float] = {}
        if feedback:
            head, fb = self._feedback(q, cands, head, feedback, filters, exclude_kind, w.depth)
        payloads = self.index.get_many([c.doc_id for c in head], RANK_FIELDS)
        ceiling = q.need_id is None and len(q.vectors) > 0  # free text: hold each score under its evidence
        coverage: dict[str, float] = {}
        if ceiling:
            self._fill_best_pairs(q, head)
            coverage = self._coverage(q, head)
        rejected = set(feedback.not_relevant) if feedback else set()
        need_concepts = self._expand(q.concepts)  # for the shared-concepts explanation
        concept_idf = None
        # Age from the start of today (UTC), not the wall clock: the same request scores the same all day.
        now = now or time.time() // 86400 * 86400
        scale = w.score_scale
        out: list[tuple[float, RankedDocument]] = []
        for c in head:
            p = payloads.get(c.doc_id, {})
            concept = recency = 0.0
            shared: list[str] = []
            concept_weight = w.concept
            if w.concept_other_language is not None and {q.language, p.get("language")} == {"ja", "en"}:
                concept_weight = w.concept_other_language
            if need_concepts and p.get("concepts"):
                shared = sorted(x for x in p["concepts"] if x in need_concepts or self._expand([x]) & set(q.concepts))
                if concept_idf is None:  # one count per ranking, not one per candidate
                    concept_idf = self._concept_idf()
                concept = concept_weight * self._concept_overlap(q.concepts, p["concepts"], concept_idf)
            ts = p.get("published_ts")
            if ts is not None:
                age_years = max(0.0, (now - ts) / (365.25 * 86400))
                recency = w.recency * math.pow(0.5, age_years / w.recency_half_life_years)
            kind = w.kind.get(p.get("kind", ""), 0.0)
            strength = (c.fused + concept + recency + kind) / scale
            if ceiling:
                strength = min(strength, absolute_ceiling(c.dense, coverage.get(c.doc_id, 0.0)))
            bd = ScoreBreakdown(**{k: v / scale for k, v in c.parts.items()}, concept=concept / scale,
                                recency=recency / scale, kind=kind / scale, feedback=fb.get(c.doc_id, 0.0) / scale,
                                similarity=c.dense, bm25=c.sparse)
            total = min(1.0, max(0.0, strength))
            bd.clipped = total - sum(v for k, v in bd.contributions().items() if k != "clipped")
            if abs(bd.clipped) < 1e-12:
                bd.clipped = 0.0
            bd.total = total
            # the order: rejected last; then the unclipped strength moved by the judgements (Rocchio)
            out.append(((c.doc_id in rejected, -(strength + bd.feedback)),
                        RankedDocument(c.doc_id, bd, shared, p, c.best_pair)))
        out.sort(key=lambda t: t[0])
        # the best `limit`, then the rejected ones (below every other, kept so that every view can say so)
        return [r for k, r in out if not k[0]][:limit] + [r for k, r in out if k[0]]

    def _reference_scales(self, q: QueryInput, exclude_kind: str | None, depth: int,
                          ) -> tuple[tuple[dict[str, float], dict[str, float]] | None, float | None]:
        """The query's unfiltered candidates at `depth`: each channel's (floor, spread) and the best raw BM25
        score of the hubness-corrected channel. Kept per query with the corpus statistics."""
        cache: dict = self._corpus_stat("reference_scales", dict)
        key = (q.key, exclude_kind, depth)
        if q.key is not None and key in cache:
            return cache[key]
        ref = self.candidates(q, None, "full", exclude_kind, depth)
        weights = {ch: wt for ch, wt in self._channel_weights().items()
                   if wt and any(ch in c.ranks for c in ref.values())}
        scales = self._channel_scales(ref, weights) if ref and weights else None
        best = max((c.raw_sparse for c in ref.values() if c.raw_sparse is not None), default=None)
        if q.key is not None:
            if len(cache) > 1000:
                cache.clear()
            cache[key] = (scales, best)
        return scales, best

    def _coverage(self, q: QueryInput, head: Sequence[_Candidate]) -> dict[str, float]:
        """The share of the query's BM25 weight on words each document of `head` holds."""
        weights = {i: v for i, v in zip(q.sparse.indices, q.sparse.values) if v > 0}
        total = sum(weights.values())
        if not total:
            return {}
        vectors = self.index.sparse_by_id([c.doc_id for c in head])
        return {d: sum(weights.get(i, 0.0) for i in set(v.indices)) / total for d, v in vectors.items()}

    def _fill_best_pairs(self, q: QueryInput, head: Sequence[_Candidate]) -> None:
        """Give every candidate of `head` its best dense passage pair and its cosine (`raw_dense`), the ones
        found by the lexical channels only included (one request over their passages)."""
        missing = [c for c in head if c.best_pair is None]
        if not missing or not len(q.vectors):
            return
        best: dict[str, tuple[float, int, dict[str, Any]]] = {}
        where = Where((Cond("doc_id", any=tuple(c.doc_id for c in missing)),))
        per_query = self.index.search_dense(q.vectors, where, 2 * DEFAULT_MAX_PASSAGES * len(missing))
        for qi, hits in enumerate(per_query):
            for h in hits:
                d = h.payload["doc_id"]
                if d not in best or h.score > best[d][0]:
                    best[d] = (h.score, qi, h.payload)
        for c in missing:
            if c.doc_id in best:
                score, qi, payload = best[c.doc_id]
                c.best_pair, c.raw_dense = (qi, payload), score

    # -- relevance feedback --------------------------------------------------------------------------
    def _feedback(self, q: QueryInput, cands: dict[str, _Candidate], head: list[_Candidate], feedback: Feedback,
                  filters: SearchFilters | None, exclude_kind: str | None, depth: int,
                  ) -> tuple[list[_Candidate], dict[str, float]]:
        """Rocchio (index/feedback.py) on the dense and BM25 channels: (the head plus the documents most like
        the relevant ones, doc id -> feedback contribution on the fused scale).

        A channel's term: beta x mean similarity to the relevant documents - gamma x mean similarity to the
        rejected ones, in the channel's units (dense: cosine of the documents' mean passage vectors; BM25: a
        judged document's BM25 vector as the query, scaled by its score for itself, as the need's channel is
        scaled by its best), then scaled by the channel's min-max spread and weight share, as fusion scales
        the channel's own score. A judged document's own similarity counts like any other."""
        w = self.weights
        where = filters_to_where(filters)
        weights = {ch: wt for ch, wt in self._channel_weights().items()
                   if wt and any(ch in c.ranks for c in cands.values())}
        total = sum(weights.values()) or 1.0
        _, spread = self._channel_scales(cands, weights)
        # documents like the relevant ones join the head (from the whole index, within the filters)
        found: list[str] = []
        if feedback.relevant:
            centroids = self._centroids(feedback.relevant)
            vectors = np.asarray([centroids[d] for d in feedback.relevant if d in centroids], dtype=np.float32)
            if len(vectors):
                for hits in self.index.search_dense(vectors, where, depth, exclude_kind=exclude_kind):
                    found.extend(h.payload["doc_id"] for h in hits)
            for d in feedback.relevant:
                vec = self.index.sparse_of(d)
                if vec.indices:
                    found.extend(h.payload["doc_id"] for h in self.index.search_sparse(
                        vec, where, depth, exclude_kind=exclude_kind))
        in_head = {c.doc_id for c in head}
        extra = [cands.setdefault(d, _Candidate(d)) for d in dict.fromkeys(found) if d not in in_head]
        head = head + extra
        ids = [c.doc_id for c in head]
        fb = np.zeros(len(ids), dtype=np.float64)
        similarities = {"dense": self._dense_similarities, "sparse": self._sparse_similarities}
        for ch in FEEDBACK_CHANNELS:
            if ch not in weights:
                continue
            sims = similarities[ch]
            rel, rej = sims(ids, feedback.relevant), sims(ids, feedback.not_relevant)
            term = rocchio_term(rel, rej, w.feedback_relevant, w.feedback_not_relevant)
            fb += weights[ch] / total * term / spread[ch]
        return head, dict(zip(ids, fb.tolist()))

    def _centroids(self, doc_ids: Sequence[str]) -> dict[str, np.ndarray]:
        """Each document's mean passage vector, L2-normalised (its place in the dense space as a whole);
        kept with the corpus statistics."""
        known: dict[str, np.ndarray] = self._corpus_stat("centroids", dict)
        missing = [d for d in dict.fromkeys(doc_ids) if d not in known]
        if missing:
            owners, vectors = self.index.passage_vectors(doc_ids=missing)
            rows: dict[str, list[int]] = defaultdict(list)
            for i, d in enumerate(owners):
                rows[d].append(i)
            for d, r in rows.items():
                mean = vectors[r].mean(axis=0)
                norm = float(np.linalg.norm(mean))
                known[d] = mean / norm if norm else mean
        return {d: known[d] for d in doc_ids if d in known}

    def _dense_similarities(self, ids: Sequence[str], judged: Sequence[str]) -> np.ndarray:
        """(len(ids) x len(judged)) cosines of the documents' centroids (0 where a document has none)."""
        if not judged:
            return np.zeros((len(ids), 0))
        centroids = self._centroids([*ids, *judged])
        dim = self.index.dim
        a = np.asarray([centroids.get(d, np.zeros(dim, np.float32)) for d in ids], dtype=np.float32).reshape(-1, dim)
        b = np.asarray([centroids.get(d, np.zeros(dim, np.float32)) for d in judged], dtype=np.float32).reshape(-1, dim)
        return (a @ b.T).astype(np.float64)

    def _sparse_similarities(self, ids: Sequence[str], judged: Sequence[str]) -> np.ndarray:
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

    # -- evidence ------------------------------------------------------------------------------------
    def _evidence(self, q: QueryInput, ranked: Sequence[tuple[str, tuple[int, dict[str, Any]] | None]],
                  ) -> list[tuple[Evidence | None, Evidence | None]]:
        """(need passage, document passage) of each (doc id, best dense pair or None) in `ranked`."""
        missing = [d for d, pair in ranked if pair is None]
        fallback: dict[str, tuple[int, dict[str, Any]]] = {}
        if missing and len(q.vectors):
            # Found by the lexical channels only: score just their passages against the query's, in one
            # request (a filter this narrow makes Qdrant score every matching passage exactly); the limit
            # covers every passage of those documents (capped passages plus their English renderings).
            best: dict[str, tuple[float, int, dict[str, Any]]] = {}
            where = Where((Cond("doc_id", any=tuple(missing)),))
            per_query = self.index.search_dense(q.vectors, where, 2 * DEFAULT_MAX_PASSAGES * len(missing))
            for qi, hits in enumerate(per_query):
                for h in hits:
                    d = h.payload["doc_id"]
                    if d not in best or h.score > best[d][0]:
                        best[d] = (h.score, qi, h.payload)
            fallback = {d: (qi, payload) for d, (_, qi, payload) in best.items()}
        out = []
        for doc_id, known in ranked:
            pair = known or fallback.get(doc_id)
            if pair is None:
                out.append((None, None))
                continue
            qi, dp = pair
            need_ev = q.passages[qi] if qi < len(q.passages) else None
            out.append((need_ev, Evidence(passage_index=dp["passage_index"], start=dp["start"], end=dp["end"],
                                          text=dp["text"])))
        return out

    # -- public API ----------------------------------------------------------------------------------
    def match(self, need_id: str, limit: int = 20, filters: SearchFilters | None = None,
              feedback: Feedback | None = None) -> NeedMatches:
        """The need's best documents; `feedback` (its judgements) moves its ranking (index/feedback.py)."""
        need, q = self.need_input(need_id)
        if filters is not None and filters.kind == DocKind.need:
            raise ValueError("needs never match needs: filter on research or startup")
        matches: list[Match] = []
        ranked = self.rank(q, filters, limit, feedback=feedback)
        evidence = self._evidence(q, [(r.doc_id, r.passage_pair) for r in ranked])
        for rank, (r, (need_ev, doc_ev)) in enumerate(zip(ranked, evidence), start=1):
            p = r.payload
            matches.append(Match(
                need_id=need.id, doc_id=r.doc_id, rank=rank, score=r.score, breakdown=r.breakdown,
                shared_concepts=r.shared_concepts, need_evidence=need_ev, doc_evidence=doc_ev,
                title=p.get("title", ""), url=p.get("url", ""), kind=p.get("kind"), source=p.get("source", ""),
                organizations=p.get("organizations", []), published=p.get("published"),
            ))
        return NeedMatches(need=need, matches=matches, organizations=self.organizations(matches))

    def organizations(self, matches: Sequence[Match]) -> list[OrgMatch]:
        """Organizations by their matched documents (`organization_score`: a firm with several strong
        documents ranks above one lucky abstract)."""
        per_org: dict[str, list[Match]] = defaultdict(list)
        names: dict[str, str] = {}
        for m in matches:
            for name in m.organizations:
                key = normalize_org(name)
                if key:
                    per_org[key].append(m)
                    names.setdefault(key, name)
        out = []
        for key, ms in per_org.items():
            ms.sort(key=lambda m: -m.score)
            score = organization_score([m.score for m in ms], self.weights.org_decay)
            out.append(OrgMatch(key=key, name=names[key], score=score, doc_ids=[m.doc_id for m in ms],
                                known_supplier=key in self.known_suppliers))
        out.sort(key=lambda o: -o.score)
        return out

    def query_input(self, text: str) -> QueryInput:
        if self.enricher is None:
            raise RuntimeError("free-text search needs an enricher to embed the query")
        eq = self.enricher.query(text)
        passages = eq.passages or [text]
        evidence = []
        pos = 0
        for i, ptxt in enumerate(passages):
            start = text.find(ptxt, pos)
            start = start if start >= 0 else pos
            evidence.append(Evidence(passage_index=i, start=start, end=start + len(ptxt), text=ptxt))
            pos = start + len(ptxt)
        return QueryInput(np.asarray(eq.passage_vectors, dtype=np.float32), eq.sparse, list(eq.concepts), evidence,
                          language=eq.language, key=f"query {text}")

    def search(self, query: str, filters: SearchFilters | None = None, limit: int = 20,
               feedback: Feedback | None = None) -> list[SearchHit]:
        """Free-text search over every kind (needs included unless filtered); `feedback` (a watchlist's
        judgements) moves the order as a need's judgements move its ranking."""
        q = self.query_input(query)
        hits = []
        # a short query needs fewer candidates than a need: 5x the page, at least 50
        ranked = self.rank(q, filters, limit, exclude_kind=None, depth=max(50, 5 * limit), feedback=feedback)
        evidence = self._evidence(q, [(r.doc_id, r.passage_pair) for r in ranked])
        for r, (_, doc_ev) in zip(ranked, evidence):
            p = r.payload
            hits.append(SearchHit(
                doc_id=r.doc_id, score=r.score, title=p.get("title", ""), url=p.get("url", ""),
                kind=p.get("kind", "research"), source=p.get("source", ""), language=p.get("language"),
                organizations=p.get("organizations", []), concepts=p.get("concepts", []),
                published=p.get("published"), evidence=doc_ev,
            ))
        return hits
