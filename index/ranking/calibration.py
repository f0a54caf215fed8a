"""Cross-lingual calibration of the language-agnostic channel: a Japanese document's similarity to an English
query (or an English document's to a Japanese one) read in the units of same-language similarity.

USE-multilingual puts a sentence and its translation close, not on top of each other. Over unrelated pairs its
cross-lingual similarities are distributed as same-language ones are (sbir-bench, English titles against
English documents: mean 0.184, sd 0.092; against Japanese ones: 0.187, 0.088), but the closer the meaning, the
further a cross-lingual pair falls short (an English need's title against the Japanese rendering of its
relevant abstract 0.53, against the English abstract itself 0.63; the 99.9th percentiles 0.52 and 0.59). The
channel's scale is set by the query's same-language documents, whose top a cross-lingual pair never reaches,
so a Japanese document got back less of the dense weight the channel takes from it than its meaning was worth
(README, "The language-agnostic channel"). Matching means and deviations would change nothing (the bulks agree);
the tails are where they differ.

The calibration maps the upper tail of the cross-lingual distribution onto the upper tail of the
same-language one, both measured on the corpus itself (no relevance judgement, nothing fitted per query):
the titles (first sentences) of a sample of documents in the query's language as queries, against the same
sample's documents and a sample of the other language's, each scored by its best sentence as the channel
scores, a document never against itself. The tails' quantiles (the 90th percentile and up, as far as both
samples hold at least `MIN_TAIL` pairs beyond each) are paired, and the straight line through them (least
squares) is the map. A straight line: within a list of other-language documents alone, scaled by itself, it
changes nothing (min-max scaling absorbs it); it moves a document against the query's own language's. Too few
documents of either language (`MIN_DOCUMENTS`), too few quantiles, or a slope outside `SLOPE_RANGE` (a sample
of one topic's documents, whose own similarities run far higher): no map, the similarities as they are.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import islice
from typing import Mapping

import numpy as np

from domain.models import DocKind, SearchFilters
from index.backends.base import Cond, Where
from index.store import DOC_POINT, Index

LANGUAGES = ("en", "ja")
SAMPLE_DOCUMENTS = 400  # documents of each language read: their titles are the queries, their sentences the targets
MIN_DOCUMENTS = 20  # fewer documents of a language: no map for pairs involving it
PROBS = (0.9, 0.95, 0.98, 0.99, 0.995, 0.998, 0.999)
MIN_TAIL = 20  # a quantile is used when both distributions have at least this many pairs beyond it
MIN_KNOTS = 3
SLOPE_RANGE = (0.5, 2.5)


@dataclass(frozen=True)
class TailMap:
    """similarity in same-language units = offset + slope x cross-lingual similarity."""

    offset: float
    slope: float
    knots: int  # quantiles it was fitted through

    def __call__(self, similarity: float) -> float:
        return self.offset + self.slope * similarity


def fit_tail(cross: np.ndarray, same: np.ndarray) -> TailMap | None:
    """The straight line through the paired upper quantiles of two similarity samples (`cross` onto `same`),
    or None (too few quantiles the samples hold, or an implausible slope)."""
    probs = [p for p in PROBS if min(cross.size, same.size) * (1.0 - p) >= MIN_TAIL]
    if len(probs) < MIN_KNOTS:
        return None
    x, y = np.quantile(cross, probs), np.quantile(same, probs)
    slope, offset = np.polyfit(x, y, 1)
    if not SLOPE_RANGE[0] <= slope <= SLOPE_RANGE[1]:
        return None
    return TailMap(float(offset), float(slope), len(probs))


def sample(index: Index, language: str, n: int = SAMPLE_DOCUMENTS) -> dict[str, np.ndarray]:
    """Up to `n` documents (not needs) written in `language`: doc id -> its sentence vectors (the first its
    title). The index's own order (point ids are hashes): no document chosen for its content."""
    where = Where((Cond("point", value=DOC_POINT), Cond("language", value=language)),
                  (Cond("kind", value=DocKind.need.value),))
    ids = [h.payload["doc_id"] for h in islice(index.scan(where, payload=["doc_id"]), n)]
    return index.sentence_vectors(ids) if ids else {}


def best_sentence(queries: np.ndarray, targets: Mapping[str, np.ndarray]) -> np.ndarray:
    """queries x targets: each query vector's similarity to each target document's best sentence."""
    matrix = np.concatenate(list(targets.values()))
    starts = np.cumsum([0] + [len(v) for v in targets.values()])[:-1]
    return np.maximum.reduceat(queries @ matrix.T, starts, axis=1)


def cross_lingual_maps(index: Index) -> dict[tuple[str, str], TailMap]:
    """(query language, document language) -> its map onto the query language's own similarities, for the
    pairs of `LANGUAGES` the corpus holds enough documents of."""
    # counted first: a corpus of one language reads no vectors (documents and needs: a count is cheap)
    if any(index.count(SearchFilters(language=lang)) < MIN_DOCUMENTS for lang in LANGUAGES):
        return {}
    docs = {lang: sample(index, lang) for lang in LANGUAGES}
    if any(len(d) < MIN_DOCUMENTS for d in docs.values()):
        return {}
    sims: dict[tuple[str, str], np.ndarray] = {}
    for q_lang, q_docs in docs.items():
        q_ids = list(q_docs)
        queries = np.stack([q_docs[d][0] for d in q_ids])
        for d_lang, d_docs in docs.items():
            s = best_sentence(queries, d_docs)
            if q_lang == d_lang:  # a document never against itself
                column = {d: j for j, d in enumerate(d_docs)}
                s[np.arange(len(q_ids)), [column[d] for d in q_ids]] = np.nan
            sims[q_lang, d_lang] = s[~np.isnan(s)]
    maps = {}
    for (q_lang, d_lang), s in sims.items():
        if q_lang != d_lang:
            found = fit_tail(s, sims[q_lang, q_lang])
            if found is not None:
                maps[q_lang, d_lang] = found
    return maps
