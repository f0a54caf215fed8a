"""The ranker: one front over the ranking's parts, for needs (`match`) and free text (`search`)."""

from __future__ import annotations

import dataclasses
import functools
import threading
import time
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Callable, Iterable, Iterator, Sequence, TypeVar

import numpy as np

from domain.models import (
    DocKind, Document, Evidence, Match, NeedMatches, OrgMatch, ScoreBreakdown, ScoreCeiling, SearchFilters, SearchHit,
)
from index.ranking.channels import (
    BM25_CHANNEL, CHANNELS, MIXED_CHANNEL, SIMILARITY_CHANNEL, ChannelHit, Mode, SearchContext, SparseChannel,
    channels_for, search_channels, search_later,
)
from index.ranking.evidence import best_pairs, evidence_pairs
from index.ranking.feedback import Feedback, RocchioFeedback
from index.ranking.fusion import (
    Scales, active_weights, channel_scales, correction_shares, documents, mixture,
    own_list_fusion, reciprocal_rank_fusion, score_fusion,
)
from index.ranking.hubness import Hubness
from index.ranking.organizations import rank_organizations
from index.ranking.query import QueryInput, enriched_text_query, need_query, text_key, text_query
from index.ranking.rescore import Candidate, Concepts, RankedDocument, absolute_ceiling, rescore
from index.ranking.stats import CorpusStatistics
from index.ranking.weights import RankWeights
from index.store import Index, filters_to_where
from index.suppliers import KnownSuppliers
from nlp.base import EnrichedQuery, Enricher, SparseVector

# doc point fields that ranking and the denormalised Match/SearchHit need (not the full text)
RANK_FIELDS = ("kind", "source", "language", "url", "title", "published", "published_ts", "organizations",
               "concepts")


T = TypeVar("T")
R = TypeVar("R")
# Rankings run at once by `Ranker.in_threads`: the index's searches (Qdrant Edge, Rust) release the GIL, so a
# second ranking's searches use the second core while the first one's Python (fusion, rescoring) runs.
RANK_THREADS = 2
# Free-text queries whose unfiltered result lists are kept (`Ranker.reference_lists`), newest last: a filter clicked
# on a page ranks from its query's lists instead of searching again. 4 channels x 500 hits a query.
KEPT_REFERENCE_LISTS = 32
# The fewest documents a ranking re-scores (its head): a short page still re-scores enough to let the additive
# terms lift a document a few dozen places.
MIN_HEAD = 60
_BM25 = next(ch for ch in channels_for("full") if ch.name == BM25_CHANNEL)  # the full ranking's BM25 channel
_KEPT_LISTS_LOCK = threading.Lock()  # the kept lists are trimmed from the rank threads (`in_threads`)


def _filtered(filters: SearchFilters | None) -> bool:
    return filters is not None and any(v is not None for v in filters.model_dump().values())


def _lexical(lists: dict[str, list[ChannelHit]]) -> dict[str, list[ChannelHit]]:
    """The BM25 channels' lists among `lists`."""
    return {ch.name: lists[ch.name] for ch in channels_for("full")
            if isinstance(ch, SparseChannel) and ch.name in lists}


def search_depth(limit: int) -> int:
    """The documents each channel offers a free-text search for a page of `limit`: a short query needs fewer
    candidates than a need, 5x the page, at least 50."""
    return max(50, 5 * limit)


def word_cover(q: QueryInput, weights: dict[int, float], held: set[int]) -> tuple[float, int, int]:
    """(share, words held, words): the share of a free text's words (by BM25 query weight) a document holding
    the term ids `held` holds, in the language it holds most of them in (`QueryInput.readings`), with that
    reading's count of words held and of words. A word is held when every term of one of its spellings is
    ("radar", or its Japanese レーダー or レーダ; "underwater" in "underwater acoustic communication", or 水中,
    音響 and 通信 together), and the query's other-language terms are spellings of its words, never words of
    their own (counted as words, a Japanese document holding "radar" in its rendering and レーダ held 69% of the
    one-word query "radar", and was held under 0.662 with every document like it). Without readings each term
    of the query is a word."""
    readings = q.readings or [[[[i]] for i in weights]]
    best = (0.0, 0, 0)
    for reading in readings:
        words = [(weights.get(word[0][0], 0.0), word) for word in reading if word and word[0]]
        total = sum(w for w, _ in words)
        if total > 0:
            kept = [w for w, word in words if any(held.issuperset(s) for s in word)]
            if sum(kept) / total > best[0] or not best[2]:
                best = (sum(kept) / total, len(kept), len(words))
    return best


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
        # BM25 reference lists being searched while their queries are encoded (`search_ranked`), by the key of
        # the lists (query key, excluded kind, depth): (the BM25 vector searched, the search)
        self._early: dict[tuple, tuple[SparseVector, Future[dict[str, list[ChannelHit]]]]] = {}

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

    @staticmethod
    def in_threads(work: Callable[[T], R], items: Iterable[T], threads: int = RANK_THREADS) -> Iterator[R]:
        """`work(item)` for each item, `threads` at a time, the results in the items' order. For rankings
        (`rank`, which reads the index and the kept statistics only): the encoders and the analysis of a
        query (`need_input`, `query_input`) stay on the caller's thread (Sudachi's tokenizer takes one thread
        at a time), so build the items there."""
        if threads <= 1:
            yield from map(work, items)
            return
        with ThreadPoolExecutor(threads, thread_name_prefix="rank") as pool:
            pending: deque = deque()
            for item in items:
                pending.append(pool.submit(work, item))
                if len(pending) > threads:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()

    # -- inputs --------------------------------------------------------------------------------------
    def need_input(self, need_id: str) -> tuple[Document, QueryInput]:
        return need_query(self.index, self.enricher, self.stats, self.weights, need_id)

    def query_input(self, text: str, analysed: Callable[[SparseVector], None] | None = None) -> QueryInput:
        q = text_query(self.enricher, text, analysed)
        self._last_concepts = (text, tuple(q.concepts))
        return q

    def query_concepts(self, text: str) -> list[str]:
        """A free-text query's taxonomy concepts: those of the last query analysed when it was this one (the
        library explains the hits of the search it just ran without a second pass of the encoders)."""
        last = getattr(self, "_last_concepts", None)
        return list(last[1]) if last is not None and last[0] == text else list(self.query_input(text).concepts)

    # -- ranking -------------------------------------------------------------------------------------
    def channel_results(self, q: QueryInput, filters: SearchFilters | None = None, mode: Mode = "full",
                        exclude_kind: str | None = DocKind.need.value, depth: int | None = None,
                        sparse_best: float | None = None,
                        given: dict[str, list[ChannelHit]] | None = None) -> dict[str, list[ChannelHit]]:
        """Each channel's result list (channel name -> hits, best first). The full ranking corrects a need's
        channels for hubness; the baselines are one channel each, uncorrected. `sparse_best`: the score the
        corrected BM25 channel is scaled by (default: its own list's best). `given`: lists made already (by
        channel name), not searched."""
        given = dict(given or {})
        ctx = self._context(q, filters, mode, exclude_kind, depth, sparse_best)
        early = None
        if mode == "full" and not _filtered(filters) and q.key is not None:
            early = self._early.pop((q.key, exclude_kind, ctx.depth), None)
            if early is not None and early[0] != (q.focused_sparse or q.sparse):
                early = None  # searched with another BM25 vector: not this query's list
        channels = channels_for(mode)
        found = search_channels([ch for ch in channels if ch.name not in given
                                 and not (early is not None and ch.name == BM25_CHANNEL)], q, ctx)
        if early is not None:
            given[BM25_CHANNEL] = early[1].result()[BM25_CHANNEL]  # after the others' searches: it ran beside them
        return {ch.name: given[ch.name] if ch.name in given else found[ch.name] for ch in channels}

    def _context(self, q: QueryInput, filters: SearchFilters | None, mode: Mode, exclude_kind: str | None,
                 depth: int | None, sparse_best: float | None = None) -> SearchContext:
        hubness = self.hubness
        return SearchContext(self.index, self.weights, filters_to_where(filters), depth or self.weights.depth,
                             exclude_kind, hubness, hubness.need_of(q) if mode == "full" else None, sparse_best)

    def _search_bm25_early(self, key: tuple, sparse: SparseVector) -> None:
        """Start a free-text query's unfiltered BM25 list (`key`: its reference lists') on the channel pool, for
        `channel_results` to take: the search runs while the query is encoded (on one core, 3-4 ms at a million
        documents), where it would otherwise follow the passage search (the index runs a BM25 search beside no
        other search: measured, the two take the sum of their times when started together)."""
        q = QueryInput(np.empty((0, 0), dtype=np.float32), sparse, [], [], key=key[0])
        self._early[key] = (sparse, search_later([_BM25], q, self._context(q, None, "full", key[1], key[2])))

    def has_reference(self, q: QueryInput, exclude_kind: str | None, depth: int) -> bool:
        return self._scales_kept((q.key, exclude_kind, depth))

    def _scales_kept(self, key: tuple) -> bool:
        """Whether the reference scales of `key` (query key, excluded kind, depth) are kept (`reference_scales`)."""
        return key[0] is not None and key in self.stats.cached("reference_scales", dict)

    def reference_scales(self, q: QueryInput, exclude_kind: str | None, depth: int,
                         results: dict[str, list[ChannelHit]] | None = None) -> tuple[Scales, float | None]:
        """The query's unfiltered result lists at `depth` (`results` when the caller has them): each channel's
        (floor, spread), and the best raw score of the corrected BM25 channel. Every ranking of the query is
        scaled by these, filtered or not, so that its scores are the unfiltered ones. Kept per query with the
        corpus statistics (the unfiltered ranking too reads them there: one scale while they are kept)."""
        cache: dict = self.stats.cached("reference_scales", dict)
        key = (q.key, exclude_kind, depth)
        if q.key is not None and key in cache:
            return cache[key]
        if results is None:
            results = self.channel_results(q, None, "full", exclude_kind, depth)
            if q.need_id is None and q.key is not None:
                self._keep_lists(key, results)
        weights = active_weights(results, {ch.name: getattr(self.weights, ch.name) for ch in channels_for("full")})
        bm25 = [h.raw for h in results.get(BM25_CHANNEL, ())]
        found = (channel_scales(results, list(weights)), max(bm25) if bm25 else None)
        if q.key is not None:
            if len(cache) > 1000:
                cache.clear()
            cache[key] = found
        return found

    def _keep_lists(self, key: tuple, results: dict[str, list[ChannelHit]]) -> None:
        kept: dict = self.stats.cached("reference_lists", dict)
        with _KEPT_LISTS_LOCK:
            kept.pop(key, None)
            kept[key] = results
            while len(kept) > KEPT_REFERENCE_LISTS:
                del kept[next(iter(kept))]

    def reference_lists(self, q: QueryInput, exclude_kind: str | None,
                        depth: int) -> dict[str, list[ChannelHit]] | None:
        """A free-text query's unfiltered result lists at `depth`, while kept (the last KEPT_REFERENCE_LISTS
        queries whose scales were computed), else None."""
        return self.stats.cached("reference_lists", dict).get((q.key, exclude_kind, depth))

    def lexical_cut(self, q: QueryInput, filters: SearchFilters | None, exclude_kind: str | None,
                    reference_depth: int, depth: int,
                    cut: dict[str, list[ChannelHit]] | None = None) -> dict[str, list[ChannelHit]]:
        """A free-text ranking's BM25 lists where it searches (filtered; or shallower than its reference lists):
        the query's unfiltered BM25 lists (`reference_lists`) cut to the documents the filter lets through, then
        to `depth`; nothing while the lists are not kept. `cut`: the lists `filtered_reference` cut already (to
        the same depth), whose BM25 lists these are, with no second read of which documents pass. Unfiltered, the
        cut is the shallower search's own list (a BM25 search is exact).

        Every document with a BM25 share keeps it, with the same score (a share is a score above the
        unfiltered list's floor, and the cut list holds every such document that passes). A filtered BM25
        search would add the filter's documents below that floor, which share nothing, score 0 lexically on
        the unfiltered page (its list does not hold them), and were the narrow filter's costliest search (a
        concept's: 28 ms of a search at a million documents); the filter's further documents come from its
        dense searches alone, by meaning."""
        if cut is not None:
            return _lexical(cut)
        lists = self.reference_lists(q, exclude_kind, reference_depth)
        if lists is None:
            return {}
        lexical = _lexical(lists)
        if not _filtered(filters):
            return {name: hits[:depth] for name, hits in lexical.items()}
        passing = self.index.passing(documents(lexical), filters, exclude_kind=exclude_kind)
        return {name: [h for h in hits if h.doc_id in passing][:depth] for name, hits in lexical.items()}

    def filtered_reference(self, q: QueryInput, filters: SearchFilters, exclude_kind: str | None, reference_depth: int,
                           depth: int, scales: Scales, head: int
                           ) -> tuple[dict[str, list[ChannelHit]], dict[str, Candidate] | None] | None:
        """A filtered free-text ranking's lists taken from the query's unfiltered lists (`reference_lists`): each
        cut to the documents the filter lets through, then to `depth`, with their candidates fused (`fuse`), the
        candidates None where the cut lists cannot stand in for the filtered searches (too few shares for the
        head: the searches run, their BM25 lists these cut ones); None where the lists are not kept or cannot
        serve. For searches at least as deep as the reference lists (the Library's: 500).

        They rank as the filtered searches would. A channel's share of a document's score is its score above
        the channel's floor, the last score of the unfiltered list (`reference_scales`), so every document with
        a share is in that list, and the cut list is the filtered list (at least as deep) down to that floor:
        the same documents with a share, each with the same shares. What the filtered searches add is documents
        below every channel's floor, which score nothing from the channels and come after all the others. So
        when at least `head` documents (the re-scored head) have a share, the head, and so the page and its
        scores, are the same; with fewer (a narrow filter) the filtered dense searches run (its BM25 lists
        are still the cut ones: `lexical_cut`). Where the searches are approximate (HNSW at scale) the cut
        lists are the unfiltered ranking's own: a graph walked under a broad filter misses neighbours that the
        unfiltered walk finds."""
        if any(v is not None and len(np.unique(v, axis=0)) > 1 for v in (q.vectors, q.title_vectors)):
            # a channel of several query vectors has one floor, not one a vector: it may miss some (a vector
            # given twice, as a Japanese query's passage and its rendering, is one)
            return None
        lists = self.reference_lists(q, exclude_kind, reference_depth)
        if lists is None:
            return None
        found = documents(lists)
        if filters.concept and self._narrow(filters.concept, len(found), head):
            # a narrow concept: a share of the lists this small seldom fills the head; its filtered searches
            # (a scan of its few points) cost less than finding out
            return None
        passing = self.index.passing(found, filters, exclude_kind=exclude_kind)
        cut = {ch: [h for h in hits if h.doc_id in passing][:depth] for ch, hits in lists.items()}
        cands = self.fuse(cut, "full", scales, q)
        scored = sum(1 for c in cands.values() if c.fused > 0)
        return cut, cands if scored >= head else None

    def _narrow(self, concept: str, found: int, head: int) -> bool:
        """Whether `concept` is held by too few of `found` listed documents to fill half a head of `head`."""
        return self.stats.concept_share(concept) * found < head / 2

    def full_weights(self) -> dict[str, float]:
        """Each channel's weight in the full ranking for a pair of documents the mixed channel does not serve
        (the channel itself 0: it takes part only through `pair_weights`)."""
        return {ch.name: 0.0 if ch is MIXED_CHANNEL else getattr(self.weights, ch.name) for ch in channels_for("full")}

    def pair_weights(self, q: QueryInput, results: dict[str, list[ChannelHit]],
                     scales: Scales | None = None) -> dict[str, dict[str, float]]:
        """Document -> its channels' weights, for the documents whose pair with the query the language-agnostic
        channel serves (channels.MultilingualChannel.serves): that channel takes `RankWeights.multilingual` of
        the dense channels' weight (or every channel's: `multilingual_from`), the total unchanged, so such a
        document gains only by meaning, never by its language. Every other document (an English need and an
        English document) keeps the weights of the ranking without the channel: its score is the same with the
        channel on or off. `scales`: the unfiltered lists' (a filter leaves the weights as they are unfiltered)."""
        ch, w = MIXED_CHANNEL, self.weights
        if w.multilingual_from not in ("dense", "all"):
            raise ValueError(f"RankWeights.multilingual_from: {w.multilingual_from!r} (dense or all)")
        donors = ch.donors if w.multilingual_from == "dense" else [c.name for c in channels_for("full") if c is not ch]
        mixed = mixture(results, self.full_weights(), ch.name, w.multilingual, donors, scales)
        if mixed is None or q.language is None:
            return {}
        languages = self.stats.languages(documents(results))
        return {d: mixed for d in languages if ch.serves(q.language, languages[d], w.multilingual_pairs)}

    def fuse(self, results: dict[str, list[ChannelHit]], mode: Mode = "full",
             scales: Scales | None = None, q: QueryInput | None = None) -> dict[str, Candidate]:
        """One candidate per document found, in the order found: its fused score in [0, 1] (1 = first in every
        channel), that score by breakdown part, the raw similarity and BM25 score, the evidence pair.
        `scales`: each channel's (floor, spread) to scale by (`reference_scales`) instead of its own list's.
        `q`: the query, whose language says which documents the language-agnostic channel serves."""
        channels = channels_for(mode)
        by_doc = {name: {h.doc_id: h for h in hits} for name, hits in results.items()}
        if mode != "full":  # a baseline: its one channel's own score
            only = channels[0]
            shares = {d: {only.name: by_doc[only.name][d].score} for d in documents(results)}
            corrections: dict[str, dict[str, float]] = {}
        else:
            weights = self.full_weights()
            per_pair = self.pair_weights(q, results, scales) if q is not None else {}
            if self.weights.fusion == "rrf":  # rank-based: no hubness split (the ranks already hold it)
                shares, corrections = reciprocal_rank_fusion(results, weights, self.weights.rrf_k, per_pair), {}
            else:
                shares = score_fusion(results, weights, scales, per_pair)
                corrections = correction_shares(results, weights, scales, per_pair)
        parts = {ch.name: (ch.part, ch.correction_part) for ch in channels}
        similar, bm25 = by_doc.get(SIMILARITY_CHANNEL, {}), by_doc.get(BM25_CHANNEL, {})
        out = {}
        for d, per in shares.items():
            pair_hit = similar.get(d)
            out[d] = Candidate(
                d, fused=sum(per.values()), shares=per, corrections=corrections.get(d, {}), part_names=parts,
                similarity=pair_hit.raw if pair_hit else 0.0, bm25=bm25[d].raw if d in bm25 else 0.0,
                pair=pair_hit.pair if pair_hit else None)
        return out

    def rank(self, q: QueryInput, filters: SearchFilters | None = None, limit: int = 20, mode: Mode = "full",
             exclude_kind: str | None = DocKind.need.value, now: float | None = None, depth: int | None = None,
             feedback: Feedback | None = None, fields: Sequence[str] = ()) -> list[RankedDocument]:
        """Ranked documents with their score breakdown, shared concepts and payload (index/ranking/rescore.py
        says how the score is made; with `feedback`, index/ranking/feedback.py).

        A score is the document's match strength and nothing else: channels are scaled as in the query's
        unfiltered list at a fixed depth (a need's `RankWeights.depth`, free text's `search_scale_depth`), so a
        filter or a page size never changes it, and `feedback` moves the order only (the documents judged not
        relevant after the best `limit`, below every other). `fields`: payload fields read beside RANK_FIELDS
        into each ranked document's payload (in the same read)."""
        w = self.weights
        # Re-score a generous head: the additive terms can lift a document by a few dozen places only.
        margin = w.search_rescore_margin if q.need_id is None else None
        head_size = max(limit * 3 if margin is None else limit + margin, MIN_HEAD)
        scales, sparse_best, own, narrow = None, None, False, None
        if mode == "full":
            reference_depth = w.depth if q.need_id is not None else w.search_scale_depth
            own = not _filtered(filters) and (depth or w.depth) == reference_depth  # this is the reference list
            kept = self.has_reference(q, exclude_kind, reference_depth)
            if (q.need_id is None and not feedback and filters is not None and filters.concept and not kept
                    and (depth or w.depth) >= reference_depth
                    and self._narrow(filters.concept, len(CHANNELS) * reference_depth, head_size)):
                # a concept too narrow for the cut lists however many documents they hold: its filtered
                # searches run whatever the unfiltered ones find, so they start now, beside those (two passage
                # searches run at once), its BM25 lists cut from the unfiltered ones later (`lexical_cut`)
                narrow = search_later([ch for ch in CHANNELS if not isinstance(ch, SparseChannel)], q,
                                      self._context(q, filters, mode, exclude_kind, depth))
            if not own or kept:
                scales, sparse_best = self.reference_scales(q, exclude_kind, reference_depth)
        results, cands, cut = None, None, None
        # a free-text ranking whose query's unfiltered lists are kept takes what it can of its lists from them
        from_reference = mode == "full" and q.need_id is None and not feedback and scales is not None
        if from_reference and _filtered(filters) and (depth or w.depth) >= reference_depth:
            found = self.filtered_reference(q, filters, exclude_kind, reference_depth, depth or w.depth, scales,
                                            head_size)
            if found is not None:
                cut, cands = found
                if cands is not None:
                    results = cut
        if results is None and own and scales is not None and q.need_id is None:
            results = self.reference_lists(q, exclude_kind, reference_depth)  # its own lists, kept: none searched again
        if results is None:
            given = {}
            if from_reference and (_filtered(filters) or (depth or w.depth) < reference_depth):
                given = self.lexical_cut(q, filters, exclude_kind, reference_depth, depth or w.depth, cut)
            if narrow is not None:
                given = {**narrow.result(), **given}
            results = self.channel_results(q, filters, mode, exclude_kind, depth, sparse_best, given)
        if own and q.need_id is None and q.key is not None:  # a filter clicked on its page ranks from these
            self._keep_lists((q.key, exclude_kind, reference_depth), results)
        if own and scales is None:  # the first ranking of the query: its own lists are the reference
            scales, _ = self.reference_scales(q, exclude_kind, reference_depth, results)
        if cands is None:
            cands = self.fuse(results, mode, scales, q)
        if not cands:
            return []
        prelim = self.head_order(cands, results, head_size if mode == "full" else 0)
        if mode != "full":  # baselines: the channel's own order, nothing added (raw scores, for `scout eval`)
            return [RankedDocument(c.doc_id, ScoreBreakdown(**c.parts, similarity=c.similarity, bm25=c.bm25,
                                                            total=c.fused), passage_pair=c.pair)
                    for c in prelim[:limit]]
        head = prelim[:head_size]
        fb: dict[str, float] = {}
        if feedback:
            rocchio = RocchioFeedback(self.index, self.stats, w)
            in_head = {c.doc_id for c in head}
            found = rocchio.found(feedback, filters_to_where(filters), w.depth, exclude_kind)
            head = head + [cands.setdefault(d, Candidate(d)) for d in found if d not in in_head]
            fb = rocchio.terms([c.doc_id for c in head], feedback, results, self.full_weights(), scales)
        payloads = self.index.get_many([c.doc_id for c in head], (*RANK_FIELDS, *fields))
        ceilings = self.ceilings(q, head) if q.need_id is None else {}
        # Age from the start of today (UTC), not the wall clock: the same request scores the same all day.
        now = now or time.time() // 86400 * 86400
        rejected = set(feedback.not_relevant) if feedback else set()
        ranked = rescore(head, payloads, q, w, self.concepts, self.stats.concept_idf, fb, now,
                         {d: c.value for d, c in ceilings.items()}, rejected)
        for r in ranked:  # a score its ceiling holds below its strength says why (hits tied at one ceiling)
            ceiling = ceilings.get(r.doc_id)
            if ceiling is not None and ceiling.value < 1.0 and r.breakdown.clipped < 0 and r.score == ceiling.value:
                r.held = ceiling
        # the best `limit`, then the rejected ones (below every other, kept so that every view can say so)
        return [r for r in ranked if r.doc_id not in rejected][:limit] + [r for r in ranked if r.doc_id in rejected]

    def head_order(self, cands: dict[str, Candidate], results: dict[str, list[ChannelHit]],
                   head_size: int) -> list[Candidate]:
        """The candidates in the order the re-scored head is taken from: by fused score; where fewer than
        `head_size` have one (a narrow filter: its documents below every floor of the query's unfiltered lists
        share nothing), those without by how their own lists rank them (`own_list_fusion`), so the head's tail
        holds the filtered lists' best rather than the lowest ids. Ties by id: the head is the same whichever
        order the lists found its documents in (`filtered_reference`)."""
        without = {d for d, c in cands.items() if c.fused <= 0}
        if not without or len(cands) - len(without) >= head_size:
            return sorted(cands.values(), key=lambda c: (-c.fused, c.doc_id))
        own = own_list_fusion(results, self.full_weights(), only=without)
        return sorted(cands.values(), key=lambda c: (-c.fused, -own.get(c.doc_id, 0.0), c.doc_id))

    def ceilings(self, q: QueryInput, head: list[Candidate]) -> dict[str, ScoreCeiling]:
        """Free text: each candidate's absolute ceiling (index/ranking/rescore.py `absolute_ceiling`), from its
        best passage pair's cosine (found for those the dense channel did not offer, which then carry it) and
        the share of the query's BM25 weight on words it holds, with what it was made of."""
        if not len(q.vectors):
            return {}
        missing = [c for c in head if c.pair is None]
        found = best_pairs(self.index, q, [c.doc_id for c in missing])
        for c in missing:
            if c.doc_id in found:
                c.similarity, c.pair = found[c.doc_id]
        weights = {i: v for i, v in zip(q.sparse.indices, q.sparse.values) if v > 0}
        vectors = self.index.sparse_by_id([c.doc_id for c in head]) if weights else {}
        cover = {d: word_cover(q, weights, set(v.indices)) for d, v in vectors.items()}
        out = {}
        for c in head:
            share, held, words = cover.get(c.doc_id, (0.0, 0, 0))
            out[c.doc_id] = ScoreCeiling(value=absolute_ceiling(c.similarity, share), similarity=c.similarity,
                                         words_held=held, words=words)
        return out

    # -- needs and free text -------------------------------------------------------------------------
    def matches(self, need_id: str, limit: int = 20, filters: SearchFilters | None = None,
                feedback: Feedback | None = None) -> tuple[Document, list[Match]]:
        """The need and its best documents, with evidence; `feedback` (its judgements) moves its ranking."""
        need, q = self.need_input(need_id)
        return need, self.matches_of(need, q, limit, filters, feedback)

    def matches_of(self, need: Document, q: QueryInput, limit: int = 20, filters: SearchFilters | None = None,
                   feedback: Feedback | None = None) -> list[Match]:
        """`matches` for a need whose query is made (`need_input`): what can run on a ranking thread."""
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
        return matches

    def match(self, need_id: str, limit: int = 20, filters: SearchFilters | None = None,
              feedback: Feedback | None = None) -> NeedMatches:
        """`matches`, with the organizations they name ranked."""
        need, matches = self.matches(need_id, limit, filters, feedback)
        return NeedMatches(need=need, matches=matches,
                           organizations=self.organizations(matches, issuers=need.organizations))

    def organizations(self, matches: Sequence[Match], issuers: Sequence[str] = ()) -> list[OrgMatch]:
        """Organizations by their matched documents (a firm with several strong documents ranks above one
        lucky abstract), less the need's issuer (`issuers`: the need's organizations)."""
        return rank_organizations(matches, self.weights.org_decay, self.known_suppliers, issuers)

    def search(self, query: str, filters: SearchFilters | None = None, limit: int = 20,
               feedback: Feedback | None = None) -> list[SearchHit]:
        """Free-text search over every kind (needs included unless filtered); `feedback` (a watchlist's
        judgements) moves the order as a need's judgements move its ranking."""
        q, ranked = self.search_ranked(query, filters, limit, feedback)
        return [self.search_hit(r, ev) for r, ev in zip(ranked, self.search_evidence(q, ranked))]

    def search_ranked(self, query: str, filters: SearchFilters | None = None, limit: int = 20,
                      feedback: Feedback | None = None, fields: Sequence[str] = ()
                      ) -> tuple[QueryInput, list[RankedDocument]]:
        """`search`'s query and ranked documents, without their evidence: a caller that shows some of them
        (a page of a longer list) reads the evidence of those only (`search_evidence`); `fields`: see `rank`."""
        # the query's unfiltered BM25 list, where this ranking will search it (its reference lists are not kept),
        # is searched while the query is encoded
        reference = (text_key(query), None, self.weights.search_scale_depth)
        early = None
        if not self._scales_kept(reference):
            early = functools.partial(self._search_bm25_early, reference)
        try:
            q = self.query_input(query, early)
            return q, self.rank(q, filters, limit, exclude_kind=None, depth=search_depth(limit), feedback=feedback,
                                fields=fields)
        finally:
            self._early.pop(reference, None)  # not taken (a ranking that did not search it, a failure)

    def warm_up(self, queries: Iterable[EnrichedQuery], limit: int = 20) -> None:
        """Rank each free-text query as `search_ranked` would, keeping nothing (no reference lists or scales:
        the queries have no key): what the first searches would read first is read now (the index's graphs,
        vectors and payloads the ranking touches; the corpus statistics it computes, valid until the corpus
        changes). `scout serve` runs it as it starts (the library's `warm_up`)."""
        for eq in queries:
            self.rank(enriched_text_query(eq, eq.text, key=None), None, limit, exclude_kind=None,
                      depth=search_depth(limit))

    def warm_up_needs(self) -> None:
        """Compute now what a need's first ranking computes of the corpus (the needs' BM25 document frequencies
        and passage vectors; for the hubness correction each document's best needs by BM25, one search a need:
        31 s at a million documents and 1,000 needs), kept until the corpus changes: one need ranked on what the
        index holds of it (no encoder, so nothing is stored; keyless, so no list or scale is kept). Nothing to do
        while they are kept. It reads the index only, so it may run beside other rankings; one that needs these
        figures meanwhile waits for them."""
        # kept with the figures it computes: dropped with them when the corpus changes
        self.stats.cached("needs/warmed up", self._rank_a_need)

    def _rank_a_need(self) -> bool:
        need_id = next((d for d, _ in self.index.sparse_of_kind(DocKind.need)), None)
        if need_id is not None:
            _, q = need_query(self.index, None, self.stats, self.weights, need_id)
            self.rank(dataclasses.replace(q, key=None))
        return True

    def search_evidence(self, q: QueryInput, ranked: Sequence[RankedDocument]) -> list[Evidence | None]:
        """The document passage shown as each ranked document's evidence for the free-text query `q` (one
        document's evidence does not depend on the others asked with it)."""
        return [doc_ev for _, doc_ev in evidence_pairs(self.index, q, [(r.doc_id, r.passage_pair) for r in ranked])]

    @staticmethod
    def search_hit(r: RankedDocument, evidence: Evidence | None = None) -> SearchHit:
        p = r.payload
        return SearchHit(
            doc_id=r.doc_id, score=r.score, title=p.get("title", ""), url=p.get("url", ""),
            kind=p.get("kind", "research"), source=p.get("source", ""), language=p.get("language"),
            organizations=p.get("organizations", []), concepts=p.get("concepts", []),
            published=p.get("published"), evidence=evidence, held=r.held,
        )
