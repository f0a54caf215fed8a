"""Retrieval channels: each turns a query into one ranked result list.

A channel searches one field of the index with one part of the query and returns its documents best first
(`ChannelHit`s: a document once, with its score and, where the hubness correction applied, how much it
took). Fusion (index/ranking/fusion.py) combines the lists; nothing here knows of the others.

Adding a channel: a class with the `Channel` shape, a `RankWeights` field named like it (its weight), and an
entry in `CHANNELS`. `part` names the `ScoreBreakdown` field its contribution is shown under, and
`correction_part` the one its hubness correction is shown under.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Literal, Protocol, Sequence

import numpy as np

from index.backends.base import Where
from index.ranking.calibration import LANGUAGES, cross_lingual_maps
from index.ranking.hubness import Hubness
from index.ranking.query import QueryInput
from index.ranking.weights import RankWeights
from index.store import Index
from nlp.base import SparseVector

Mode = Literal["full", "bm25", "dense"]


@dataclass(frozen=True)
class ChannelHit:
    """One document of a channel's result list."""

    doc_id: str
    score: float  # what fusion scales: the similarity, less the hubness correction where it applied
    raw: float  # the similarity itself, in the channel's units (a cosine, a BM25 score)
    hubness: float | None = None  # how generic the document is (index/ranking/hubness.py), where corrected
    correction: float | None = None  # what the correction took, on the scale of `score` (weight x hubness)
    pair: tuple[int, dict[str, Any]] | None = None  # best pair: (query passage index, document passage payload)


@dataclass(frozen=True)
class SearchContext:
    """What every channel of one ranking shares."""

    index: Index
    weights: RankWeights
    where: Where
    depth: int  # documents a channel offers
    exclude_kind: str | None
    hubness: Hubness
    hubness_need: str | None  # the need whose hubness correction applies (None: no correction)
    sparse_best: float | None = None  # the corrected BM25 channel's scale: the unfiltered list's best score


class Channel(Protocol):
    name: str  # also the RankWeights field that holds its weight
    part: str  # the ScoreBreakdown field its contribution is shown under
    correction_part: str  # ... and its hubness correction

    def search(self, q: QueryInput, ctx: SearchContext) -> list[ChannelHit]:
        """Best first, each document once, at most `ctx.depth`; empty when the channel does not apply."""
        ...


def _title_field_applies(q: QueryInput, ctx: SearchContext) -> bool:
    # The title fields serve needs (a long text with a title); a short free-text query is a title itself.
    return q.title_vectors is not None and ctx.index.has_titles()


@dataclass(frozen=True)
class DenseChannel:
    """Query vectors against document passage vectors (or title vectors, one per document): a document scores
    its best pair. For a need, corrected for hubness."""

    name: str
    query: Callable[[QueryInput], np.ndarray | None]
    titles: bool = False  # search the documents' title vectors
    always: bool = False  # run whatever its weight (its pairs are the evidence)
    part: str = "dense"
    correction_part: str = "generic"

    def search(self, q: QueryInput, ctx: SearchContext) -> list[ChannelHit]:
        vectors = self.query(q)
        if vectors is None or not len(vectors) or not (self.always or getattr(ctx.weights, self.name)):
            return []
        if self.titles and not _title_field_applies(q, ctx):
            return []
        need = ctx.hubness_need
        # with the hubness correction, twice the depth is fetched: it reorders the head before the cut
        fetch = 2 * ctx.depth if need else ctx.depth
        search = ctx.index.search_titles if self.titles else ctx.index.search_dense
        per_passage = search(vectors, ctx.where, fetch, exclude_kind=ctx.exclude_kind)
        raw: dict[str, float] = {}
        pair: dict[str, tuple[int, dict[str, Any]]] = {}
        for qi, hits in enumerate(per_passage):
            if any(hits is other for other in per_passage[:qi]):
                continue  # a vector given twice (Index.search_dense): its hits tie, and the first passage keeps them
            seen: set[str] = set()
            for h in hits:
                d = h.payload["doc_id"]
                if d in seen:
                    continue  # a document counts once per query passage: its best passage
                seen.add(d)
                if h.score > raw.get(d, -2.0):
                    raw[d], pair[d] = h.score, (qi, h.payload)
        scored, hub, weight = raw, {}, {}
        if need and raw:
            head = sorted(raw, key=lambda d: -raw[d])[:fetch]
            hub = ctx.hubness.dense(head, need)
            weight = ctx.hubness.weights_for(head, need)
            scored = {d: raw[d] - weight[d] * hub[d] for d in head}
        # Each channel offers its best `depth` documents, however many query vectors found them: the min-max
        # scaling then spans the same depth on every channel (a long need's 20 passages would otherwise
        # stretch its dense channels' scale over thousands of weak hits).
        return [ChannelHit(d, scored[d], raw[d], hub.get(d), weight[d] * hub[d] if d in hub else None, pair[d])
                for d in sorted(scored, key=lambda d: -scored[d])[: ctx.depth]]


@dataclass(frozen=True)
class SparseChannel:
    """A BM25 vector against the documents' BM25 vectors (or their titles'). With `corrected`, for a need, its
    scores are scaled by the best one and corrected for hubness."""

    name: str
    query: Callable[[QueryInput], SparseVector | None]
    titles: bool = False  # search the documents' title BM25 vectors
    always: bool = False  # run whatever its weight
    corrected: bool = False  # apply the hubness correction (the need's own BM25 query)
    part: str = "sparse"
    correction_part: str = "generic_lexical"

    def search(self, q: QueryInput, ctx: SearchContext) -> list[ChannelHit]:
        sparse = self.query(q)
        if sparse is None or not sparse.indices or not (self.always or getattr(ctx.weights, self.name)):
            return []
        if self.titles and not _title_field_applies(q, ctx):
            return []
        search = ctx.index.search_title_sparse if self.titles else ctx.index.search_sparse
        need = ctx.hubness_need if self.corrected else None
        if not need:
            return [ChannelHit(h.payload["doc_id"], h.score, h.score)
                    for h in search(sparse, ctx.where, ctx.depth, exclude_kind=ctx.exclude_kind)]
        # hubness-corrected: scores scaled by the best one (as each need's neighbour lists are), twice the depth
        # fetched, reordered, then cut
        hits = search(sparse, ctx.where, 2 * ctx.depth, exclude_kind=ctx.exclude_kind)
        if not hits or hits[0].score <= 0:
            return []
        top = ctx.sparse_best or hits[0].score  # a filtered list keeps the unfiltered list's scale
        raw = {h.payload["doc_id"]: h.score for h in hits}
        hub = ctx.hubness.lexical(list(raw), need)
        weight = ctx.hubness.weights_for(list(raw), need)
        scored = {d: raw[d] / top - weight[d] * hub[d] for d in raw}
        return [ChannelHit(d, scored[d], raw[d], hub[d], weight[d] * hub[d])
                for d in sorted(scored, key=lambda d: -scored[d])[: ctx.depth]]


@dataclass(frozen=True)
class MultilingualChannel:
    """The query as a whole (a need: its title) against every document's sentences in the language-agnostic
    space (nlp/multilingual.py): a document scores its best sentence, whichever language it is written in.
    For a need, corrected for hubness like the dense channels (its mean best-sentence similarity to the titles
    of its nearest other needs). Nothing without the query's vector (the channel off, its encoder missing)
    or the documents' (an index built before them): the ranking is then the one without it.

    Its job is meaning across languages: fusion gives it part of the `donors`' weight for the pairs it
    `serves` only (the ranker's `pair_weights`); an English need and an English document rank as without it."""

    name: str = "multilingual"
    part: str = "multilingual"
    correction_part: str = "generic"
    donors: tuple[str, ...] = ("dense", "title_dense", "doc_title", "title_title")  # the rendering's dense channels

    @staticmethod
    def serves(query_language: str | None, doc_language: str | None, pairs: str) -> bool:
        """Whether the channel takes part for a (query, document) pair of these languages. `pairs`: "cross"
        (one Japanese, one English), "japanese" (either side Japanese). Other and unknown languages count as
        the query's (as the hubness correction counts them)."""
        q = query_language or ""
        d = doc_language or q
        if pairs == "japanese":
            return "ja" in (q, d)
        if pairs == "cross":
            return {q, d} == {"ja", "en"}
        raise ValueError(f"RankWeights.multilingual_pairs: {pairs!r} (cross or japanese)")

    def search(self, q: QueryInput, ctx: SearchContext) -> list[ChannelHit]:
        vector = q.multilingual_vector
        if vector is None or not ctx.weights.multilingual or not ctx.index.has_sentences():
            return []
        need = ctx.hubness_need
        fetch = 2 * ctx.depth if need else ctx.depth
        raw = {h.payload["doc_id"]: h.score
               for h in ctx.index.search_sentences(vector, ctx.where, fetch, exclude_kind=ctx.exclude_kind)}
        hub, weight = {}, {}
        if need and raw:
            hub = ctx.hubness.multilingual(list(raw), need)
            weight = ctx.hubness.weights_for(list(raw), need)
        # a cross-lingual pair's similarity (and its neighbourhood's, in the same units) read as a same-language one
        unit = self.calibration(q, list(raw), ctx)
        sim = {d: unit[d](s) if d in unit else s for d, s in raw.items()}
        correction = {d: weight[d] * (unit[d](h) if d in unit else h) for d, h in hub.items()}
        scored = {d: sim[d] - correction.get(d, 0.0) for d in raw}
        return [ChannelHit(d, scored[d], raw[d], hub.get(d), correction.get(d))
                for d in sorted(scored, key=lambda d: -scored[d])[: ctx.depth]]

    @staticmethod
    def calibration(q: QueryInput, doc_ids: Sequence[str], ctx: SearchContext) -> dict[str, Callable[[float], float]]:
        """Document -> the map of its similarity onto the query language's own (index/ranking/calibration.py),
        for the documents in another language than the query (a Japanese and an English side) that the
        corpus holds a map for; the maps are measured once per corpus version."""
        if ctx.weights.multilingual_calibration == "off" or q.language not in LANGUAGES or not doc_ids:
            return {}
        if ctx.weights.multilingual_calibration != "tail":
            raise ValueError(f"RankWeights.multilingual_calibration: {ctx.weights.multilingual_calibration!r} "
                             "(tail or off)")
        stats = ctx.hubness.stats
        languages = stats.languages(doc_ids)
        other = [d for d in doc_ids if languages.get(d) in LANGUAGES and languages[d] != q.language]
        if not other:
            return {}
        maps = stats.cached("multilingual/calibration", lambda: cross_lingual_maps(ctx.index))
        return {d: maps[q.language, languages[d]] for d in other if (q.language, languages[d]) in maps}


# The full ranking's channels, in the order they run (and their shares add up in fusion).
CHANNELS: tuple[Channel, ...] = (
    DenseChannel("dense", lambda q: q.vectors, always=True),  # need passages -> document passages
    SparseChannel("sparse", lambda q: q.focused_sparse or q.sparse, always=True, corrected=True),
    DenseChannel("title_dense", lambda q: q.title_vectors),  # need title -> document passages
    DenseChannel("doc_title", lambda q: q.vectors, titles=True),  # need passages -> document titles
    DenseChannel("title_title", lambda q: q.title_vectors, titles=True),  # need title -> document titles
    SparseChannel("title_lexical", lambda q: q.subject_sparse or q.sparse, titles=True),  # need BM25 -> titles
    MultilingualChannel(),  # need title -> document sentences, across languages
)
# The channel whose weight is mixed per (query, document) pair rather than added (fusion.mixture).
MIXED_CHANNEL = next(ch for ch in CHANNELS if isinstance(ch, MultilingualChannel))
# The baselines `scout eval --baselines` compares with: one channel each, the need's text as it is.
BASELINES: dict[str, tuple[Channel, ...]] = {
    "dense": (DenseChannel("dense", lambda q: q.vectors, always=True),),
    "bm25": (SparseChannel("sparse", lambda q: q.sparse, always=True),),
}
# The channels whose hits carry the numbers shown beside the contributions: the raw best passage-pair cosine
# (`ScoreBreakdown.similarity`, and the evidence pair) and the raw BM25 score (`ScoreBreakdown.bm25`).
SIMILARITY_CHANNEL = "dense"
BM25_CHANNEL = "sparse"


def channels_for(mode: Mode) -> Sequence[Channel]:
    return CHANNELS if mode == "full" else BASELINES[mode]


# Channels searched at once by `search_channels`: the index's searches (Qdrant Edge, Rust) release the GIL, so
# one channel's search runs on the second core while another's runs or its Python (hubness, scaling) holds the
# GIL. Each channel reads the index and the kept statistics only, so the lists are the same as one at a time.
CHANNEL_THREADS = 2
_pool: tuple[int, ThreadPoolExecutor] | None = None
_pool_lock = threading.Lock()


def _channel_pool() -> ThreadPoolExecutor:
    """The process's pool for channel searches (a forked child makes its own: the parent's threads are not in it)."""
    global _pool
    with _pool_lock:
        if _pool is None or _pool[0] != os.getpid():
            _pool = (os.getpid(), ThreadPoolExecutor(CHANNEL_THREADS - 1, thread_name_prefix="channel"))
        return _pool[1]


def search_later(channels: Sequence[Channel], q: QueryInput,
                 ctx: SearchContext) -> Future[dict[str, list[ChannelHit]]]:
    """The channels' lists (by name), searched one after the other on the pool's thread: the caller goes on with
    other work meanwhile (a free-text query's BM25 list is searched while the query is encoded; a narrow
    filter's lists beside the query's unfiltered ones)."""
    def search() -> dict[str, list[ChannelHit]]:
        return {ch.name: ch.search(q, ctx) for ch in channels}

    if CHANNEL_THREADS <= 1:  # no pool: searched now
        done: Future[dict[str, list[ChannelHit]]] = Future()
        done.set_result(search())
        return done
    return _channel_pool().submit(search)


def search_channels(channels: Sequence[Channel], q: QueryInput, ctx: SearchContext) -> dict[str, list[ChannelHit]]:
    """Each channel's result list, by channel name, in the channels' order; the channels search
    `CHANNEL_THREADS` at a time (this thread runs the first, the others go to the pool's threads and to this
    one as it comes free)."""
    if CHANNEL_THREADS <= 1 or len(channels) < 2:
        return {ch.name: ch.search(q, ctx) for ch in channels}
    pool = _channel_pool()
    done = threading.Condition()
    queue = list(range(len(channels)))
    results: dict[int, list[ChannelHit] | BaseException] = {}

    def drain() -> None:  # take the next channel not yet started, until none is left
        while True:
            with done:
                if not queue:
                    return
                i = queue.pop(0)
            try:
                found: list[ChannelHit] | BaseException = channels[i].search(q, ctx)
            except BaseException as failure:  # noqa: BLE001 - raised on the caller's thread below
                found = failure
            with done:
                results[i] = found
                done.notify_all()

    for _ in range(CHANNEL_THREADS - 1):
        pool.submit(drain)  # a helper the pool starts late finds nothing left and returns
    drain()
    with done:
        done.wait_for(lambda: len(results) == len(channels))
    for i in range(len(channels)):
        if isinstance(results[i], BaseException):
            raise results[i]  # as it would be one at a time
    return {ch.name: results[i] for i, ch in enumerate(channels)}  # type: ignore[misc]
