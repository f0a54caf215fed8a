"""Qdrant Edge (in-process shard): the embedded default backend."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any, Callable, Sequence

import qdrant_edge as qe

from domain.files import private_dir
from nlp.base import SparseVector
from index.backends.point_docs import DOC_PART, PointDocs
from index.backends.base import (
    ALL_VECTORS, DENSE, FLOAT_FIELDS, KEYWORD_FIELDS, LEGACY_VECTORS, LEXICAL, SENTENCE_DIM, SENTENCES, TITLE,
    TITLE_LEXICAL, TITLED_VECTORS, Cond, Hit, PointData, Where,
)


def _cond(c: Cond) -> Any:
    if c.any is not None:
        return qe.FieldCondition(c.key, match=qe.MatchAny(list(c.any)))
    if c.value is not None:
        return qe.FieldCondition(c.key, match=qe.MatchValue(c.value))
    return qe.FieldCondition(c.key, range=qe.RangeFloat(gte=c.gte, lte=c.lte))


def _filter(where: Where | None) -> Any:
    if where is None or (not where.must and not where.must_not):
        return None
    return qe.Filter(must=[_cond(c) for c in where.must] or None,
                     must_not=[_cond(c) for c in where.must_not] or None)


def _vectors(vec: Any) -> tuple[list[float] | None, SparseVector | None, list[list[float]] | None]:
    if not isinstance(vec, dict):
        return None, None, None
    dense = vec.get(DENSE)
    sparse = vec.get(LEXICAL)
    if sparse is not None:
        sparse = SparseVector(indices=list(sparse.indices), values=list(sparse.values))
    sentences = vec.get(SENTENCES)
    return (list(dense) if dense is not None else None), sparse, (list(sentences) if sentences else None)


class _EdgeHit(Hit):
    """A Hit whose id string is made only when read: a search builds hundreds of hits whose payloads are read
    but whose ids are not, and turning each point's UUID into a string is not free."""

    def __init__(self, point: Any, payload: dict[str, Any], dense: list[float] | None,
                 sparse: SparseVector | None, sentences: list[list[float]] | None = None):
        self._point = point  # Hit's own __init__ would assign `id`, which is read-only here
        self.score = float(getattr(point, "score", 0.0) or 0.0)
        self.payload = payload
        self.dense = dense
        self.sparse = sparse
        self.sentences = sentences

    @property
    def id(self) -> str:  # type: ignore[override]
        return str(self._point.id)


def _hit(p: Any, with_vectors: bool = False, payload: dict[str, Any] | None = None) -> Hit:
    dense, sparse, sentences = _vectors(p.vector) if with_vectors else (None, None, None)
    return _EdgeHit(p, (p.payload or {}) if payload is None else payload, dense, sparse, sentences)


def _give_back_freed_memory() -> None:
    """Return the heap's freed pages to the OS (glibc's malloc_trim): the table's build frees a million
    documents' transient objects (the facet's hits, the chunks), which glibc would otherwise keep with the
    process (at 1M documents: +215 MiB after the build, +91 MiB, the table itself, after this)."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: nothing to do
        pass


# The payload fields a point's id determines (`PointDocs`): asked for these alone, a read answers from the table
# instead of the point's payload on disk.
ID_FIELDS = frozenset({"doc_id", "passage_index"})
INLINE_TABLE_POINTS = 60_000  # a shard of fewer points builds its table at once (about 0.1 s), a larger one aside


# Passage and title searches run on int8 copies of the vectors, kept in RAM (a quarter of the float32 size); the float32
# originals stay on disk and are read (through the page cache) only to re-score each search's best candidates,
# `oversampling` times the number asked for (`SCOUT_INDEX_RESCORE_OVERSAMPLING`), so the scores a search returns
# are exact cosines. At a million documents (2M passage and 1M title vectors) that is 1.1 GB of RAM instead of
# 4.6 GB. The default re-scores the hits returned only (1): at a million documents twice as many (2) cost a
# free-text search 10-50 ms more at p50 in disk reads, and changed no quality figure measured (free-text search on
# sbir-bench, `bench/search_quality.py`; `scout eval`; README "Past one machine").
QUANTIZATION = qe.ScalarQuantizationConfig(qe.ScalarType.Int8, quantile=0.99, memory=qe.Memory.Pinned)


def dense_search(oversampling: float) -> Any:
    return qe.SearchParams(quantization=qe.QuantizationSearchParams(rescore=True, oversampling=float(oversampling)))


# A filtered passage or title search that matches few points scans them (every matching vector scored on its
# float32 original) instead of walking the graph. Filtered down to a narrow set, HNSW both misses neighbours and
# costs more than the scan: at a million synthetic documents a concept filter's (about 30,000 points) 500-deep
# passage list kept 0.886 of the exact list on average and 0.460 at worst, in 23.7 / 45.1 ms (p50 / p95) against
# the scan's 13.0 / 19.7 ms. A scan costs about 0.2 us a point (100k documents: 60,000 points in 12.7 ms), so
# below this many points it is at most about as slow as the graph and always exact. The count is Qdrant's
# estimate from the payload indexes (0.1-1 ms) and counts the filter's points of every kind, so it errs towards
# the graph. Qdrant's own switch (`full_scan_threshold`, 10,000 KB: about 6,700 of these vectors) is fixed in
# a segment's graph when it is built; this one holds for shards already built. The multilingual sentence
# vectors (8 a document, MaxSim) cost several times more a point to scan and keep the graph.
EXACT_SEARCH_POINTS = 50_000
EXACT_SEARCH = qe.SearchParams(exact=True)
SCANNED_VECTORS = frozenset({DENSE, TITLE})


def _config(dim: int, names: frozenset[str], sentences: str = "Turbo8") -> Any:
    # memory placements are not part of a shard's stored layout: an index built before opens with these (its
    # segments take the quantized layout as the optimizer rewrites them)
    dense = {n: qe.EdgeVectorParams(size=dim, distance=qe.Distance.Cosine, memory=qe.Memory.Cold,
                                    quantization_config=QUANTIZATION) for n in (DENSE, TITLE) if n in names}
    if SENTENCES in names:
        # 8-bit TurboQuant storage: 519 bytes a sentence vector against float16's 1,028, MaxSim scores within
        # 4e-4 of the exact ones (measured on 16,000 random 512-d vectors): the index stays under 1.5x its
        # size without the channel. Shards made with float16 sentence vectors still open (`sentences`).
        dense[SENTENCES] = qe.EdgeVectorParams(
            size=SENTENCE_DIM, distance=qe.Distance.Cosine, datatype=getattr(qe.VectorStorageDatatype, sentences),
            multivector_config=qe.MultiVectorConfig(qe.MultiVectorComparator.MaxSim))
    sparse = {n: qe.EdgeSparseVectorParams(modifier=qe.Modifier.Idf) for n in (LEXICAL, TITLE_LEXICAL) if n in names}
    # Payloads (documents, analyses, passage texts: most of the index's size) are read from disk as searches
    # need them, not loaded whole when the index opens: at a million documents they would not fit a laptop's RAM.
    # A search reads ~60 document payloads; the pages it touched stay in the OS page cache.
    return qe.EdgeConfig(vectors=dense, sparse_vectors=sparse, payload_memory=qe.Memory.Cold)


def _stored_layout(path: Path) -> tuple[frozenset[str], str] | None:
    """The named vectors, and the sentence vectors' storage type, that the shard's own config file names; None
    where it names nothing readable. Only the order to try layouts in (the load checks it): a load with another
    layout's config reads every segment before it refuses (0.7 s at 10k synthetic documents)."""
    try:
        stored = json.loads((path / "edge_config.json").read_text(encoding="utf-8"))
        names = frozenset(stored["vectors"]) | frozenset(stored.get("sparse_vectors") or {})
        datatype = str((stored["vectors"].get(SENTENCES) or {}).get("datatype", "turbo8"))
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
    return names, {"float16": "Float16"}.get(datatype.lower(), "Turbo8")


class ShardOpenError(RuntimeError):
    """The embedded shard exists but cannot be opened (a damaged or foreign file), said as such."""

    def __init__(self, path: Path, cause: BaseException) -> None:
        detail = " ".join(str(cause).split())[:300] or type(cause).__name__
        super().__init__(
            f"the index shard at {path} cannot be opened ({detail}); it may be damaged: restore it from a backup, "
            f"or move it aside and rebuild it by moving inbox/done/*.jsonl back to the inbox and running `scout run enrich`"
        )
        self.path = path


class EdgeBackend:
    """`point_ids(doc_id, n)`: the ids (128-bit integers) of a document's n points, its own point first, then its
    passages 0, 1, ... (`index.store.point_ids`): with it, the backend answers `doc_id` and `passage_index` from
    a table of every point (`PointDocs`, built in the background on the first read that asks for them) instead
    of the payloads on disk.

    `sentences`: a new shard holds the multilingual `sentences` vector (the channel on); without it (the channel
    off) the shard has no storage for it at all, which at a million documents is 1.5 GB resident on opening that
    no point would use. An existing shard keeps the vectors it was made with, whatever `sentences` says.

    `oversampling`: how many times the hits asked for a passage or title search re-scores on the float vectors
    (`IndexSettings.rescore_oversampling`).
    """

    def __init__(self, path: Path, dim: int, point_ids: Callable[[str, int], Sequence[int]] | None = None,
                 sentences: bool = True, oversampling: float = 1.0):
        private_dir(path)
        self.dense_params = dense_search(oversampling)
        wanted = ALL_VECTORS if sentences else TITLED_VECTORS
        self.vector_names = wanted
        self._written = False  # anything updated since the last flush
        self._writes = 0  # updates made since opening (`version`)
        self._point_ids = point_ids
        self._docs: PointDocs | None = None  # the table, once built
        self._docs_lock = threading.Lock()
        self._docs_pending: list[tuple[str, str, int]] | None = None  # points written while it is built
        self._docs_thread: threading.Thread | None = None
        self._docs_stop = threading.Event()
        if any(path.iterdir()):
            # The layout the shard says it was made with first, then the one asked for: a shard made with the
            # channel set the other way, or by an older version (float16 sentence vectors; before the sentence
            # vectors, or before the title vectors too), keeps working without the channels it lacks
            # (`Index.has_sentences`, `has_titles`). Each load checks the stored config.
            layouts = [(ALL_VECTORS, "Turbo8"), (TITLED_VECTORS, "Turbo8"), (ALL_VECTORS, "Float16"),
                       (LEGACY_VECTORS, "Turbo8")]
            stored = _stored_layout(path)
            layouts.sort(key=lambda layout: (layout != stored, layout != (wanted, "Turbo8")))
            failures: list[Exception] = []
            for names, datatype in layouts:
                try:
                    self.shard = qe.EdgeShard.load(str(path), _config(dim, names, datatype))
                except Exception as failure:
                    failures.append(failure)
                    continue
                self.vector_names = names
                break
            else:
                # No layout opens: report the first failure (another layout's "incompatible config" would hide a
                # damaged file behind an unrelated message).
                first = failures[0]
                raise ShardOpenError(path, first if "incompatible" not in str(first) else failures[-1]) from first
        else:
            self.shard = qe.EdgeShard.create(str(path), _config(dim, wanted))
        schema = self.shard.info().payload_schema
        for name in KEYWORD_FIELDS:
            if name not in schema:
                self._update(qe.UpdateOperation.create_field_index(name, qe.PayloadSchemaType.Keyword))
        for name in FLOAT_FIELDS:
            if name not in schema:
                self._update(qe.UpdateOperation.create_field_index(name, qe.PayloadSchemaType.Float))

    def _update(self, operation: Any) -> None:
        self._written = True
        self.shard.update(operation)
        self._writes += 1

    # -- the point -> document table ---------------------------------------------------------------------
    def _table(self) -> PointDocs | None:
        """The table once built. The first call builds it: at once for a small shard, else on a thread of its
        own, the reads going to the payloads until it is done (a million documents take seconds: a facet of the
        `doc_id` index, which reads no payload, and a hash per point)."""
        if self._docs is None and self._point_ids is not None and self._docs_thread is None:
            with self._docs_lock:
                if self._docs_thread is not None:
                    return self._docs
                self._docs_pending = []
                self._docs_thread = threading.Thread(target=self._build_table, name="point-docs", daemon=True)
                inline = self.shard.info().points_count < INLINE_TABLE_POINTS
            if inline:
                self._build_table()
            else:
                self._docs_thread.start()
        return self._docs

    def point_docs(self, wait: bool = False) -> PointDocs | None:
        """The point -> document table (None until built); `wait`: build it now, or wait for its build."""
        table = self._table()
        if wait and table is None and self._docs_thread is not None and self._docs_thread.ident is not None:
            self._docs_thread.join()
        return self._docs

    def warm_up(self) -> None:
        """Build the point -> document table now and wait for it (`point_docs(wait=True)`)."""
        self.point_docs(wait=True)

    def _build_table(self) -> None:
        assert self._point_ids is not None
        hits: Any = None
        try:
            # per document its number of points, from the keyword index (the counts without a filter are the
            # index's own; a count short of the points leaves passages to the fallback, which learns them)
            hits = self.shard.facet(qe.FacetRequest("doc_id", limit=1 << 40, exact=False)).hits
            table = PointDocs.build(((str(h.value), int(h.count)) for h in hits), self._point_ids, self._docs_stop)
        except Exception:  # noqa: BLE001 - the table is an optimization: without it, reads go to the payloads
            table = None
        with self._docs_lock:
            if table is not None:
                table.learn(self._docs_pending or ())
                self._docs = table
            self._docs_pending = None
        del hits
        _give_back_freed_memory()

    def _learn(self, entries: list[tuple[str, str, int]]) -> None:
        with self._docs_lock:
            if self._docs is not None:
                self._docs.learn(entries)
            elif self._docs_pending is not None:
                self._docs_pending.extend(entries)

    def _id_fields(self, payload: bool | Sequence[str]) -> list[str] | None:
        """The fields asked for when the table can answer them all (and is built), else None."""
        if isinstance(payload, bool) or not payload or not set(payload) <= ID_FIELDS:
            return None
        return list(payload) if self._table() is not None else None

    def _with_ids(self, points: Sequence[Any], fields: list[str], with_vectors: bool = False) -> list[Hit]:
        """Hits for points read without payload, their `fields` from the table; the ids it does not know read
        from their payloads (and learnt)."""
        assert self._docs is not None
        known = self._docs.lookup([p.id for p in points])
        missing = [p.id for p, k in zip(points, known) if k is None]
        read: dict[Any, dict[str, Any]] = {}
        if missing:
            read = {r.id: r.payload or {} for r in self.shard.retrieve(missing, with_payload=fields, with_vector=False)}
            self._learn([(str(i), pl["doc_id"], pl.get("passage_index", DOC_PART)) for i, pl in read.items()
                         if "doc_id" in pl])
        out = []
        for p, k in zip(points, known):
            if k is None:
                payload = {f: v for f, v in read.get(p.id, {}).items() if f in fields}
            else:
                payload = {"doc_id": k[0]} if "doc_id" in fields else {}
                if k[1] != DOC_PART and "passage_index" in fields:
                    payload["passage_index"] = k[1]
            out.append(_hit(p, with_vectors, payload))
        return out

    def upsert(self, points: Sequence[PointData]) -> None:
        out = []
        for p in points:
            vec: dict[str, Any] = {}
            if p.dense is not None:
                vec[DENSE] = list(map(float, p.dense))
            if p.sparse is not None and p.sparse.indices:
                vec[LEXICAL] = qe.SparseVector(list(p.sparse.indices), list(p.sparse.values))
            if p.title is not None and TITLE in self.vector_names:
                vec[TITLE] = list(map(float, p.title))
            if p.title_sparse is not None and p.title_sparse.indices and TITLE_LEXICAL in self.vector_names:
                vec[TITLE_LEXICAL] = qe.SparseVector(list(p.title_sparse.indices), list(p.title_sparse.values))
            if p.sentences and SENTENCES in self.vector_names:
                vec[SENTENCES] = [list(map(float, v)) for v in p.sentences]
            out.append(qe.Point(p.id, vec, p.payload))
        if out:
            self._update(qe.UpdateOperation.upsert_points(out))
            if self._point_ids is not None:
                self._learn([(p.id, p.payload["doc_id"], p.payload.get("passage_index", DOC_PART)) for p in points
                             if "doc_id" in p.payload])

    def delete_where(self, where: Where) -> None:
        self._update(qe.UpdateOperation.delete_points_by_filter(_filter(where)))

    def retrieve(self, ids: Sequence[str], *, vectors: bool | Sequence[str] = False,
                 payload: bool | Sequence[str] = True) -> list[Hit]:
        if not ids:
            return []
        fields = self._id_fields(payload)
        recs = self.shard.retrieve(list(ids), with_payload=False if fields else payload if isinstance(payload, bool)
                                   else list(payload), with_vector=vectors if isinstance(vectors, bool) else list(vectors))
        return self._with_ids(recs, fields, vectors) if fields else [_hit(r, vectors) for r in recs]

    def scroll(self, where, *, limit, offset=None, vectors=False, payload=True):
        fields = self._id_fields(payload)
        recs, nxt = self.shard.scroll(qe.ScrollRequest(offset=offset, limit=limit, filter=_filter(where),
                                                       with_payload=False if fields else payload, with_vector=vectors))
        return (self._with_ids(recs, fields, vectors) if fields else [_hit(r, vectors) for r in recs]), nxt

    def count(self, where: Where) -> int:
        return int(self.shard.count(qe.CountRequest(exact=True, filter=_filter(where))))

    def point_count(self) -> int:
        return int(self.shard.info().points_count)

    def version(self) -> tuple[int, int]:
        return self.point_count(), self._writes

    def facet(self, key: str, where: Where, limit: int) -> dict[str, int]:
        resp = self.shard.facet(qe.FacetRequest(key, limit=limit, exact=True, filter=_filter(where)))
        return {str(h.value): int(h.count) for h in resp.hits}

    def scans(self, flt: Any, using: str) -> bool:
        """Whether a search of `using` filtered by `flt` scans the matching points (`EXACT_SEARCH_POINTS`)."""
        return (flt is not None and using in SCANNED_VECTORS
                and self.shard.count(qe.CountRequest(exact=False, filter=flt)) <= EXACT_SEARCH_POINTS)

    def search_dense(self, vectors, where, limit, payload=True, using=DENSE):
        flt = _filter(where)
        fields = self._id_fields(payload)
        # a multivector field takes a multivector query: one vector of it scores a document by its best one
        wrap = (lambda v: [v]) if using == SENTENCES else (lambda v: v)
        vectors = list(vectors)
        if not vectors:
            return []
        params = EXACT_SEARCH if self.scans(flt, using) else self.dense_params
        reqs = [qe.QueryRequest(limit=limit, query=qe.Query.Nearest(wrap([float(x) for x in v]), using=using),
                                filter=flt, with_payload=False if fields else payload, params=params)
                for v in vectors]
        results = self.shard.query_batch(qe.QueryBatchRequest(reqs))
        return [self._with_ids(res, fields) if fields else [_hit(p) for p in res] for res in results]

    def search_sparse(self, vector, where, limit, payload=True, using=LEXICAL):
        if not vector.indices:
            return []
        q = qe.Query.Nearest(qe.SparseVector(list(vector.indices), list(vector.values)), using=using)
        fields = self._id_fields(payload)
        res = self.shard.query(qe.QueryRequest(limit=limit, query=q, filter=_filter(where),
                                               with_payload=False if fields else payload))
        return self._with_ids(res, fields) if fields else [_hit(p) for p in res]

    def flush(self) -> None:
        self.shard.flush()
        self._written = False

    def optimize(self) -> None:
        self.shard.optimize()
        self.flush()

    def close(self) -> None:
        if self._docs_thread is not None and self._docs_thread.is_alive():
            self._docs_stop.set()
            self._docs_thread.join()
        # A flush costs time even with nothing to write: a read-only command (every query) skips it.
        if self._written:
            self.shard.flush()
        self.shard.close()
