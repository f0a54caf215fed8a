"""What ranking knows of the corpus as a whole, kept between rankings until the corpus changes."""

from __future__ import annotations

import math
import threading
import time
from collections import defaultdict
from typing import Any, Callable, Sequence

import numpy as np

from domain.models import DocKind, SearchFilters
from index.store import Index

# Statistics are kept until the index changes (`Index.version`: its point count and the writes made through its
# backend, checked at most every CHECK_EVERY seconds: the shard's own count, 0.05 ms at a million documents, where
# the exact count of the documents it replaced took 71 ms and fell on a search every 10 s; at once after a write
# through the same `Index`) and at most TTL seconds (another client's write to a Qdrant server that replaces a
# document by as many points changes neither).
CHECK_EVERY = 1.0
TTL = 3600.0


class CorpusStatistics:
    """Corpus-wide figures the ranking uses (concept and needs-collection frequencies, every need's passage
    vectors, documents' languages and mean vectors) and whatever else a part of the ranking keeps per corpus
    (`cached`): computed once, not per search, and dropped when the index changes (`Index.version`).

    Thread-safe: a figure is computed once; a thread that asks for it meanwhile waits for it (the needs' BM25
    neighbours take some 30 s at a million documents: a need page opened while `scout serve` warms them up waits
    for them rather than computing them again beside it)."""

    def __init__(self, index: Index, *, check_every: float = CHECK_EVERY, ttl: float = TTL):
        self.index = index
        self.check_every, self.ttl = check_every, ttl
        self._values: dict[str, Any] = {}
        self._version: tuple[int, int] | None = None  # the index's version the figures were taken at
        self._since = self._checked = 0.0
        self._writes_seen = -1  # `Index.local_writes` at the last check
        self._lock = threading.Lock()
        self._computing: dict[str, Any] = {}  # a figure's name -> held while it is computed

    def cached(self, name: str, compute: Callable[[], Any]) -> Any:
        """`compute()`, kept while the index is as it was."""
        now = time.monotonic()
        if now - self._checked > self.check_every or self.index.local_writes != self._writes_seen:
            with self._lock:
                self._writes_seen = self.index.local_writes  # read first: a write meanwhile shows at the next call
                version = self.index.version()
                if version != self._version or now - self._since > self.ttl:
                    self._values = {}
                    self._version, self._since = version, now
                self._checked = now
        values = self._values
        if name in values:
            return values[name]
        with self._lock:
            computing = self._computing.setdefault(name, threading.RLock())
        with computing:
            if name not in values:  # not computed by the thread this one waited for
                values[name] = compute()
            return values[name]

    def _concept_counts(self) -> tuple[int, dict[str, int]]:
        return self.cached(
            "concepts", lambda: (self.index.count(), self.index.facets(keys=["concept"], limit=100_000)["concept"]))

    def concept_idf(self) -> Callable[[str], float]:
        """A concept's rarity among the documents: log(1 + N / (1 + its document frequency))."""
        n, df = self._concept_counts()
        return lambda c: math.log(1.0 + n / (1.0 + df.get(c, 0)))

    def concept_share(self, concept: str) -> float:
        """The share of the documents that hold `concept` (0 to 1)."""
        n, df = self._concept_counts()
        return df.get(concept, 0) / n if n else 0.0

    def need_term_df(self) -> tuple[int, dict[int, int]]:
        """(number of needs, term id -> number of needs that use it)."""

        def compute() -> tuple[int, dict[int, int]]:
            df: dict[int, int] = defaultdict(int)
            for _, vec in self.index.sparse_of_kind(DocKind.need):
                for i in vec.indices:
                    df[i] += 1
            return self.index.count(SearchFilters(kind=DocKind.need)), dict(df)

        return self.cached("needs", compute)

    def need_count(self) -> int:
        return self.need_term_df()[0]

    def need_passages(self) -> tuple[np.ndarray, np.ndarray, list[str]]:
        """Every need's passage vectors, grouped by need: (matrix, start row of each need, need ids)."""

        def compute() -> tuple[np.ndarray, np.ndarray, list[str]]:
            owners, matrix = self.index.passage_vectors(kind=DocKind.need)
            order = sorted(range(len(owners)), key=lambda i: owners[i])
            owners = [owners[i] for i in order]
            starts = [i for i in range(len(owners)) if i == 0 or owners[i] != owners[i - 1]]
            return matrix[order], np.asarray(starts, dtype=np.int64), [owners[i] for i in starts]

        return self.cached("need_passages", compute)

    def languages(self, doc_ids: Sequence[str]) -> dict[str, str]:
        """Each document's language ("" when unknown), read once per document."""
        known: dict[str, str] = self.cached("languages", dict)
        missing = [d for d in doc_ids if d not in known]
        if missing:
            for d, p in self.index.get_many(missing, ("language",)).items():
                known[d] = p.get("language") or ""
        # those asked for (not the kept dict itself, which another thread's ranking may be adding to)
        return {d: known[d] for d in doc_ids if d in known}

    def centroids(self, doc_ids: Sequence[str]) -> dict[str, np.ndarray]:
        """Each document's mean passage vector, L2-normalised (its place in the dense space as a whole)."""
        known: dict[str, np.ndarray] = self.cached("centroids", dict)
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
