"""The hubness correction (CSLS, Conneau et al. 2018): a document close to every need is a hub of the space,
not an answer.

For a need, a document's dense similarity is lowered by `RankWeights.hubness` times its mean similarity to
its `hubness_k` nearest other needs, and its BM25 score (scaled by the need's best) by the same weight times
its mean scaled score for its `hubness_k` best other needs; the multilingual channel's best-sentence similarity
by the same weight times its mean for the titles of its `hubness_k` nearest other needs. The channels apply it (index/ranking/channels.py);
this module says how generic a document is. Needs only, and only with enough needs to tell.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from contextlib import contextmanager
from functools import lru_cache
from typing import Any, Iterator, Sequence

import numpy as np

from domain.models import DocKind
from index.backends.base import Cond, Where
from index.ranking.query import QueryInput, subject_weighted
from index.ranking.stats import CorpusStatistics
from index.ranking.weights import RankWeights
from index.store import DOC_POINT, Index


@lru_cache(maxsize=1)
def _blas():
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()  # finds the BLAS libraries once (a scan of the loaded libraries)


_blas_lock = threading.Lock()
_blas_users = 0
_blas_limit: Any = None


@contextmanager
def one_blas_thread() -> Iterator[None]:
    """BLAS on one thread for the small matrix products of the correction (a document's few vectors against
    the needs'): waking a second BLAS thread for each costs far more than the product (6.8 ms a document
    instead of 0.14 on a busy 2-core machine) and gives the same numbers (the threads split the output, not
    the sums). The limit is the process's: rankings in several threads share it, the last one out restores it."""
    global _blas_users, _blas_limit
    with _blas_lock:
        if _blas_users == 0:
            _blas_limit = _blas().limit(limits=1, user_api="blas")
        _blas_users += 1
    try:
        yield
    finally:
        with _blas_lock:
            _blas_users -= 1
            if _blas_users == 0:
                _blas_limit.restore_original_limits()
                _blas_limit = None


def mean_of_others(nearest: Sequence[tuple[str, float]], need_id: str, k: int, *,
                   absent_as_zero: bool = False) -> float:
    """Mean score of the `k` best needs in `nearest` (best first) other than `need_id`; with `absent_as_zero`,
    needs missing from the list count 0 (the mean is over k), else the mean is over those present."""
    scores = [s for n, s in nearest if n != need_id][:k]
    if absent_as_zero:
        return sum(scores) / k
    return sum(scores) / len(scores) if scores else 0.0


class Hubness:
    """How much each document resembles needs in general, per need; neighbour lists kept in `stats`."""

    def __init__(self, index: Index, stats: CorpusStatistics, weights: RankWeights):
        self.index, self.stats, self.weights = index, stats, weights

    def need_of(self, q: QueryInput) -> str | None:
        """The need whose channels get the correction, or None (free text, correction off, fewer needs than
        `need_idf_min_needs`)."""
        w = self.weights
        if not w.hubness or q.need_id is None:
            return None
        return q.need_id if self.stats.need_count() >= w.need_idf_min_needs else None

    def dense(self, doc_ids: Sequence[str], need_id: str) -> dict[str, float]:
        """Each document's mean similarity to its `hubness_k` nearest needs other than `need_id` (a need's
        similarity to a document: its best passage pair, as in the dense channel; computed exactly).

        Kept per document with the corpus statistics (ranking every need asks for mostly the same documents)."""
        k = self.weights.hubness_k
        matrix, starts, needs = self.stats.need_passages()
        nearest: dict[str, list[tuple[str, float]]] = self.stats.cached(f"hubness/{k}", dict)
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
        return {d: mean_of_others(nearest.get(d, ()), need_id, k) for d in doc_ids}

    def multilingual(self, doc_ids: Sequence[str], need_id: str) -> dict[str, float]:
        """Each document's mean similarity, in the multilingual space, to the titles of its `hubness_k` nearest
        needs other than `need_id` among the needs written in `need_id`'s language (a need's title against the
        document's best sentence, as the channel scores; a need's title vector is its first stored sentence
        vector, its title). CSLS's neighbourhood is the query side's language: the channel scores an English
        need against Japanese documents, so a Japanese document's hubness is its closeness to English needs,
        in the same cross-lingual units; its closeness to Japanese needs (same-language similarities run
        higher) would over-correct it. No other need in that language: no correction. Kept per document."""
        k = self.weights.hubness_k
        needs, matrix, languages = self.stats.cached("need_titles/multilingual", self._need_titles)
        language = self.stats.languages([need_id]).get(need_id, "")
        rows = [j for j, lang in enumerate(languages) if lang == language]
        needs, matrix = [needs[j] for j in rows], matrix[rows]
        nearest: dict[str, list[tuple[str, float]]] = self.stats.cached(f"hubness/multilingual/{k}/{language}", dict)
        missing = [d for d in doc_ids if d not in nearest]
        if missing and needs:
            vectors = self.index.sentence_vectors(missing)
            top = min(k + 1, len(needs))
            with one_blas_thread():
                for d in missing:
                    if d not in vectors:
                        nearest[d] = []
                        continue
                    sims = (vectors[d] @ matrix.T).max(axis=0)  # the document's best sentence against each need
                    best = np.argpartition(-sims, top - 1)[:top]
                    nearest[d] = sorted(((needs[j], float(sims[j])) for j in best), key=lambda t: -t[1])
        return {d: mean_of_others(nearest.get(d, ()), need_id, k) for d in doc_ids}

    def _need_titles(self) -> tuple[list[str], np.ndarray, list[str]]:
        """(need ids, their titles' multilingual vectors as rows: each need's first sentence vector, their
        languages)."""
        ids = [h.payload["doc_id"] for h in self.index.scan(
            Where((Cond("point", value=DOC_POINT), Cond("kind", value=DocKind.need.value))), payload=["doc_id"])]
        found = self.index.sentence_vectors(ids)
        needs = [d for d in ids if d in found]
        languages = self.stats.languages(needs)
        return (needs, np.asarray([found[d][0] for d in needs], dtype=np.float32).reshape(len(needs), -1),
                [languages.get(d, "") for d in needs])

    def _lexical_neighbours(self) -> dict[str, list[tuple[str, float]]]:
        """For each document, the needs whose BM25 query ranks it highest: (need id, its score / that need's
        best score), best first, `hubness_k + 1` at most. A need's query: its BM25 vector weighted by rarity
        among the needs (one search per need, once per corpus version)."""
        w = self.weights
        found: dict[str, list[tuple[str, float]]] = defaultdict(list)
        for need_id, vec in self.index.sparse_of_kind(DocKind.need):
            hits = self.index.search_sparse(subject_weighted(vec, self.stats, w), limit=w.depth,
                                            exclude_kind=DocKind.need.value)
            if hits and hits[0].score > 0:
                for h in hits:
                    found[h.payload["doc_id"]].append((need_id, h.score / hits[0].score))
        return {d: sorted(v, key=lambda t: -t[1])[: w.hubness_k + 1] for d, v in found.items()}

    def lexical(self, doc_ids: Sequence[str], need_id: str) -> dict[str, float]:
        """Each document's mean scaled BM25 score for its `hubness_k` best needs other than `need_id` (a need
        that does not rank it in its top `depth` counts 0)."""
        w = self.weights
        key = f"lexical_neighbours/{w.depth}/{w.hubness_k}/{w.need_idf}/{w.need_idf_min_needs}"
        near = self.stats.cached(key, self._lexical_neighbours)
        return {d: mean_of_others(near.get(d, ()), need_id, w.hubness_k, absent_as_zero=True) for d in doc_ids}

    def weights_for(self, doc_ids: Sequence[str], need_id: str) -> dict[str, float]:
        """The correction's weight for each document: `hubness`, or `hubness_other_language` for a document in
        another language than the need."""
        w = self.weights
        if w.hubness_other_language is None or w.hubness_other_language == w.hubness:
            return dict.fromkeys(doc_ids, w.hubness)
        languages = self.stats.languages([*doc_ids, need_id])
        own = languages.get(need_id, "")

        def other(d: str) -> bool:  # only two known languages differ; "other" and unknown count as the need's
            return {own, languages.get(d, own)} == {"ja", "en"}

        return {d: w.hubness_other_language if other(d) else w.hubness for d in doc_ids}
