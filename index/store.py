"""`Index`: the one front over Qdrant. The backend is chosen once, at construction, from `IndexSettings`.

Layout (decided for ranking quality and for cheap replacement):
- one point per passage, id uuid5(doc_id, passage index), with the named dense vector `dense` (cosine) and
  the passage's offsets and text: dense retrieval can point at its evidence;
- one point per document, id uuid5(doc_id, "doc"), with the named sparse vector `lexical` and the full
  document: BM25 length normalisation and Qdrant's IDF are then per document, as BM25 intends (sparse on
  every passage would count a long document's terms once per passage in the IDF); and the title alone as
  the dense vector `title` and the sparse vector `title_lexical` (a title is the document's own focused
  statement of what it is: ranking compares it with a need); and, when the multilingual channel is on, the
  multivector `sentences`: each sentence's vector in a language-agnostic space (nlp/multilingual.py), compared
  by MaxSim, so one query vector scores the document by its best sentence (8-bit TurboQuant on Edge).
Every point carries the filter fields (kind, source, language, published_ts, concepts, areas, org_keys) so
a filter applies to either channel. Points of one document share `doc_id` and `content_hash`; an upsert
writes the new points and then deletes the document's points of any other hash, so a changed document
replaces its old version, and a re-run after a crash converges to the same index (ids are deterministic).
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np

from index.backends.base import (
    LEXICAL, SENTENCE_DIM, SENTENCES, TITLE, TITLE_LEXICAL, Backend, Cond, Hit, PointData, Where,
)
from index.lock import IndexLockedError, OwnerLock
from index.suppliers import normalize_org
from nlp.base import EnrichedDocument, SparseVector
from domain.models import (
    DUALSCOUT_NAMESPACE, Analysis, Document, DocKind, Passage, SearchFilters, TermRef, document_terms,
)
from domain.settings import IndexSettings

DOC_POINT = "doc"
PASSAGE_POINT = "passage"
FACET_KEYS = {"kind": "kind", "source": "source", "language": "language", "concept": "concepts",
              "area": "areas", "organization": "org_keys", "year": "year",
              # typed technology terms (domain.models.TermRef), one field per type, counted when browsing
              "method": "terms_method", "material": "terms_material", "task": "terms_task"}
TERM_FIELDS = {"METHOD": "terms_method", "MATERIAL": "terms_material", "TASK": "terms_task"}


def term_fields(terms: Sequence[TermRef]) -> dict[str, list[str]]:
    """A document's typed terms as its payload holds them for the facets: one field per type, each term once
    (case and runs of white space aside)."""
    return {field: sorted({" ".join(t.text.split()).casefold() for t in terms if t.type == kind})
            for kind, field in TERM_FIELDS.items()}


_NAMESPACE = DUALSCOUT_NAMESPACE.bytes


def _uuid5(name: bytes) -> bytearray:
    """The 16 bytes of `uuid.uuid5(DUALSCOUT_NAMESPACE, name)`, made straight from its SHA-1 (a UUID object
    costs three times the hash: a search names some 300 points)."""
    h = bytearray(hashlib.sha1(_NAMESPACE + name).digest()[:16])
    h[6] = (h[6] & 0x0F) | 0x50  # version 5
    h[8] = (h[8] & 0x3F) | 0x80  # RFC 4122 variant
    return h


def point_id(doc_id: str, part: int | str) -> str:
    """A point's id: the uuid5 of its document and part, in the canonical spelling."""
    h = _uuid5(f"{doc_id}#{part}".encode()).hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def point_ids(doc_id: str, n_points: int) -> bytes:
    """The ids of a document's `n_points` points, its own point first, then passages 0, 1, ...: 16 bytes each
    (the UUIDs' bytes, without the UUID objects: a table of every point's document is made from these)."""
    return b"".join(_uuid5(f"{doc_id}#{part}".encode()) for part in ("doc", *range(n_points - 1)))


def _epoch(d: datetime | None) -> float | None:
    if d is None:
        return None
    if d.tzinfo is None:
        d = d.replace(tzinfo=timezone.utc)
    return d.timestamp()


def filters_to_where(filters: SearchFilters | None) -> Where:
    """SearchFilters -> backend conditions (the org filter takes a normalized organization key)."""
    if filters is None:
        return Where()
    must: list[Cond] = []
    if filters.kind is not None:
        must.append(Cond("kind", value=str(filters.kind)))
    if filters.source:
        must.append(Cond("source", value=filters.source))
    if filters.language:
        must.append(Cond("language", value=filters.language))
    if filters.concept:
        must.append(Cond("concepts", value=filters.concept))
    if filters.area:
        must.append(Cond("areas", value=filters.area))
    if filters.organization:
        must.append(Cond("org_keys", value=normalize_org(filters.organization)))  # a name or a key
    if filters.since or filters.until:
        lo = datetime.combine(filters.since, datetime.min.time(), timezone.utc).timestamp() if filters.since else None
        hi = datetime.combine(filters.until, datetime.max.time(), timezone.utc).timestamp() if filters.until else None
        must.append(Cond("published_ts", gte=lo, lte=hi))
    return Where(tuple(must))


class Index:
    """Documents, passages and their vectors in Qdrant.

    `Index(settings, dim=384)`; `settings.backend` is `edge` (Qdrant Edge shard in `settings.resolved_path`),
    `local` (qdrant-client local mode in that folder) or `server` (qdrant-client at `settings.url`).
    Embedded backends take an owner lock: a second process gets `IndexLockedError` naming the owner.
    `sentences`: whether an index created now holds the multilingual `sentences` vector (False with
    `SCOUT_NLP_MULTILINGUAL=off`: no storage for a channel that is off); an existing index keeps its layout, and
    `has_sentences` says which it has.
    """

    def __init__(self, settings: IndexSettings | None = None, *, dim: int, command: str | None = None,
                 sentences: bool = True):
        self.settings = settings or IndexSettings()
        self.dim = dim
        self._sentences = sentences
        self._lock: OwnerLock | None = None
        # upserts and deletions made through this object: free to read, so a cache in this process sees its own
        # writes at once (`version` sees every write the backend made, when it is asked)
        self.local_writes = 0
        self.backend: Backend = self._open_backend(command)

    def _open_backend(self, command: str | None) -> Backend:
        s = self.settings
        if s.backend == "server":
            from qdrant_client import QdrantClient

            from index.backends.client import ClientBackend

            key = s.api_key.get_secret_value() if s.api_key else None
            return ClientBackend(QdrantClient(url=s.url, api_key=key), s.collection, self.dim,
                                 sentences=self._sentences)
        folder: Path = s.resolved_path
        lock = OwnerLock(folder, command)
        try:
            lock.acquire()
        except IndexLockedError:
            # The owner may serve the shard (`scout serve`): then write and read through it (`index.owner`).
            from index.owner import find_owner

            owner = find_owner(folder)
            if owner is None:
                raise
            if owner.backend != s.backend:
                raise RuntimeError(
                    f"the index at {folder} is served by pid {owner.pid} as SCOUT_INDEX_BACKEND={owner.backend}, "
                    f"but this process asks for {s.backend}: use the same backend") from None
            if owner.dim is not None and owner.dim != self.dim:
                raise RuntimeError(
                    f"the index at {folder} (served by pid {owner.pid}) holds vectors of size {owner.dim}, but this "
                    f"process' model makes {self.dim}: use the server's SCOUT_NLP_* model settings") from None
            from index.backends.remote import RemoteBackend

            return RemoteBackend(owner)
        self._lock = lock
        try:
            if s.backend == "edge":
                from index.backends.edge import EdgeBackend

                return EdgeBackend(folder / "shard", self.dim, point_ids, sentences=self._sentences,
                                   oversampling=s.rescore_oversampling)
            from qdrant_client import QdrantClient

            from index.backends.client import ClientBackend

            return ClientBackend(QdrantClient(path=str(folder / "local")), s.collection, self.dim, local=True,
                                 sentences=self._sentences)
        except BaseException:
            self._lock.release()
            raise

    # -- writing -------------------------------------------------------------------------------------
    def _points(self, item: EnrichedDocument) -> list[PointData]:
        doc, analysis = item.document, item.analysis
        if doc.id != analysis.doc_id:
            raise ValueError(f"analysis is for {analysis.doc_id}, not document {doc.id}")
        if len(item.passage_vectors) != len(analysis.passages):
            raise ValueError(
                f"document {doc.id}: {len(analysis.passages)} passages but {len(item.passage_vectors)} vectors")
        if len(analysis.passages) and item.passage_vectors.shape[1] != self.dim:
            raise ValueError(f"document {doc.id}: vectors of size {item.passage_vectors.shape[1]}, index {self.dim}")
        if not doc.language and analysis.language:
            doc = doc.model_copy(update={"language": analysis.language})  # nlp decided it
        chash = doc.content_hash or analysis.doc_id
        common: dict[str, Any] = {
            "doc_id": doc.id,
            "kind": str(doc.kind),
            "source": doc.source,
            "language": analysis.language or doc.language or "other",
            "published_ts": _epoch(doc.published),
            "year": str(doc.published.year) if doc.published else None,
            "concepts": list(analysis.concepts),
            "areas": list(analysis.areas),
            "org_keys": sorted(analysis.organizations),
            "content_hash": chash,
        }
        terms = document_terms(doc)
        doc_payload = {
            **common,
            "point": DOC_POINT,
            "document": doc.model_dump(mode="json"),
            "analysis": analysis.model_dump(mode="json", exclude={"passages"}),
            "url": doc.url,
            "title": doc.title,
            "published": doc.published.isoformat() if doc.published else None,
            "organizations": list(analysis.organizations.values()) or list(doc.organizations),
            "n_passages": len(analysis.passages),
            **term_fields(terms),
        }
        if item.title_vector is not None and len(item.title_vector) != self.dim:
            raise ValueError(f"document {doc.id}: title vector of size {len(item.title_vector)}, index {self.dim}")
        title = item.title_vector.tolist() if item.title_vector is not None else None
        sentences = None
        if item.sentence_vectors is not None and len(item.sentence_vectors):
            if item.sentence_vectors.ndim != 2 or item.sentence_vectors.shape[1] != SENTENCE_DIM:
                raise ValueError(f"document {doc.id}: sentence vectors of shape {item.sentence_vectors.shape}, "
                                 f"the index holds {SENTENCE_DIM}-dimensional ones")
            sentences = item.sentence_vectors.tolist()
        points = [PointData(point_id(doc.id, "doc"), doc_payload, sparse=item.sparse, title=title,
                            title_sparse=item.title_sparse, sentences=sentences)]
        for p, vec in zip(analysis.passages, item.passage_vectors):
            payload = {**common, "point": PASSAGE_POINT, "passage_index": p.index, "start": p.start, "end": p.end,
                       "text": p.text, "hash": p.hash}
            points.append(PointData(point_id(doc.id, p.index), payload, dense=vec.tolist()))
        return points

    def upsert(self, items: Sequence[EnrichedDocument], *, flush: bool = True) -> int:
        """Write documents (idempotent); a document whose content changed replaces its old points.

        Crash order: a changed document's old points go first, then its passages, then its document
        point, so a document point with the new hash implies its passages are all in; a re-run after a kill
        at any step converges to the same points.
        """
        stored = {h.payload["doc_id"]: h.payload.get("content_hash") for h in self.backend.retrieve(
            [point_id(i.document.id, "doc") for i in items], payload=["doc_id", "content_hash"])}
        for item in items:
            doc = item.document
            old = stored.get(doc.id)
            if old is not None and old != (doc.content_hash or doc.id):
                self.backend.delete_where(Where(
                    must=(Cond("doc_id", value=doc.id),),
                    must_not=(Cond("content_hash", value=doc.content_hash or doc.id),),
                ))
        points: list[PointData] = []
        for item in items:
            doc_point, *passages = self._points(item)
            points.extend(passages)
            points.append(doc_point)
        for i in range(0, len(points), 512):
            self.backend.upsert(points[i : i + 512])
        self.local_writes += 1
        if flush:
            self.flush()
        return len(items)

    def delete(self, doc_ids: Sequence[str], *, flush: bool = True) -> None:
        ids = tuple(doc_ids)
        if ids:
            self.backend.delete_where(Where(must=(Cond("doc_id", any=ids),)))
            self.local_writes += 1
        if flush:
            self.flush()

    def flush(self) -> None:
        self.backend.flush()

    @property
    def owned(self) -> bool:
        """True when this process holds the embedded shard's owner lock."""
        return self._lock is not None

    def share(self, endpoint: str) -> str:
        """Serve this (owned, embedded) index to the other processes of this machine at `endpoint` (the owner
        endpoint, `index.owner`): from now on every backend call, local or remote, is serialized. Returns the
        token those processes present (mount `index.backends.owner_routes.owner_router` with it)."""
        from index.backends.remote import LockedBackend

        if self._lock is None:
            raise RuntimeError("only the process that owns an embedded index can share it")
        if not isinstance(self.backend, LockedBackend):
            self.backend = LockedBackend(self.backend)
        return self._lock.advertise(endpoint, self.settings.backend, self.dim)

    def warm_up(self) -> None:
        """Finish now what the backend would do on its first reads (embedded: build the point -> document table,
        `index/backends/point_docs.py`; seconds at a million documents). Safe beside other threads' calls."""
        warm = getattr(self.backend, "warm_up", None)
        if callable(warm):
            warm()

    def optimize(self) -> None:
        """Build vector indexes and merge segments after a large ingest (embedded: runs in-process)."""
        self.backend.optimize()

    def close(self) -> None:
        try:
            self.backend.close()
        finally:
            if self._lock is not None:
                self._lock.release()
                self._lock = None

    def __enter__(self) -> "Index":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # -- reading -------------------------------------------------------------------------------------
    def _doc_hit(self, doc_id: str, vectors: bool = False) -> Hit | None:
        hits = self.backend.retrieve([point_id(doc_id, "doc")], vectors=vectors)
        return hits[0] if hits else None

    def get(self, doc_id: str) -> Document | None:
        hit = self._doc_hit(doc_id)
        return Document.model_validate(hit.payload["document"]) if hit else None

    def get_many(self, doc_ids: Sequence[str], fields: Sequence[str] | None = None) -> dict[str, dict[str, Any]]:
        """doc_id -> doc point payload (only `fields` when given, plus doc_id)."""
        payload: bool | list[str] = True if fields is None else sorted({"doc_id", *fields})
        hits = self.backend.retrieve([point_id(d, "doc") for d in doc_ids], payload=payload)
        return {h.payload["doc_id"]: h.payload for h in hits}

    def _scan(self, where: Where, *, vectors: bool = False, payload: bool | Sequence[str] = True,
              page: int = 256) -> Iterator[Hit]:
        """Every point matching `where`, page by page."""
        payload = payload if isinstance(payload, bool) else list(payload)
        offset = None
        while True:
            hits, offset = self.backend.scroll(where, limit=page, offset=offset, vectors=vectors, payload=payload)
            yield from hits
            if offset is None:
                return

    def scan(self, where: Where, *, payload: bool | Sequence[str] = True) -> Iterator[Hit]:
        """Every point matching `where` (payload only), for the service layer: the backend stays behind `Index`."""
        return self._scan(where, payload=payload)

    def passages(self, doc_id: str, *, vectors: bool = False) -> list[Hit]:
        where = Where((Cond("doc_id", value=doc_id), Cond("point", value=PASSAGE_POINT)))
        return sorted(self._scan(where, vectors=vectors), key=lambda h: h.payload["passage_index"])

    def passage_vectors(self, *, doc_ids: Sequence[str] | None = None,
                        kind: DocKind | str | None = None) -> tuple[list[str], np.ndarray]:
        """(owner document id of each passage, their dense vectors as rows) of some documents or of a kind."""
        where = Where((Cond("point", value=PASSAGE_POINT),))
        if doc_ids is not None:
            where = where.and_(Cond("doc_id", any=tuple(doc_ids)))
        if kind is not None:
            where = where.and_(Cond("kind", value=str(DocKind(kind))))
        hits = [h for h in self._scan(where, vectors=True, payload=["doc_id"], page=1024) if h.dense is not None]
        rows = np.asarray([h.dense for h in hits], dtype=np.float32).reshape(len(hits), self.dim)
        return [h.payload["doc_id"] for h in hits], rows

    def sparse_by_id(self, doc_ids: Sequence[str]) -> dict[str, SparseVector]:
        """Each document's BM25 vector, by id (documents without one left out)."""
        # the BM25 vector alone: reading the title's float vector too (on disk) tripled the time at 1M documents
        hits = self.backend.retrieve([point_id(d, "doc") for d in doc_ids], vectors=[LEXICAL], payload=["doc_id"])
        return {h.payload["doc_id"]: h.sparse for h in hits if h.sparse is not None}

    def sparse_of_kind(self, kind: DocKind | str) -> Iterator[tuple[str, SparseVector]]:
        """(document id, BM25 vector) of every document of one kind (ranking's needs-collection statistics)."""
        where = Where((Cond("point", value=DOC_POINT), Cond("kind", value=str(DocKind(kind)))))
        for h in self._scan(where, vectors=True, payload=["doc_id"]):
            if h.sparse is not None:
                yield h.payload["doc_id"], h.sparse

    def sparse_of(self, doc_id: str) -> SparseVector:
        hit = self._doc_hit(doc_id, vectors=True)
        return hit.sparse if hit and hit.sparse else SparseVector()

    def analysis_payload(self, doc_id: str) -> dict[str, Any] | None:
        """The stored analysis without passages (concepts, areas, organizations, entities)."""
        hit = self._doc_hit(doc_id)
        return hit.payload.get("analysis") if hit else None

    def analysis(self, doc_id: str) -> Analysis | None:
        hit = self._doc_hit(doc_id)
        if hit is None:
            return None
        passages = [Passage(index=h.payload["passage_index"], start=h.payload["start"], end=h.payload["end"],
                            text=h.payload["text"], hash=h.payload.get("hash", "")) for h in self.passages(doc_id)]
        return Analysis.model_validate({**hit.payload["analysis"], "passages": passages})

    def documents(self, kind: DocKind | str | None = None) -> Iterator[Document]:
        where = Where((Cond("point", value=DOC_POINT),))
        if kind is not None:
            where = where.and_(Cond("kind", value=str(DocKind(kind))))
        for h in self._scan(where, payload=["document"]):
            yield Document.model_validate(h.payload["document"])

    def content_hash_owners(self, hashes: Sequence[str]) -> dict[str, str]:
        """content hash -> id of a stored document with that content (the oldest id when several share it)."""
        if not hashes:
            return {}
        where = Where((Cond("point", value=DOC_POINT), Cond("content_hash", any=tuple(sorted(set(hashes))))))
        owners: dict[str, str] = {}
        for h in self._scan(where, payload=["doc_id", "content_hash"]):
            chash, doc_id = h.payload.get("content_hash"), h.payload["doc_id"]
            if chash and (chash not in owners or doc_id < owners[chash]):
                owners[chash] = doc_id
        return owners

    def passing(self, doc_ids: Sequence[str], filters: SearchFilters | None,
                *, exclude_kind: str | None = None) -> set[str]:
        """The documents among `doc_ids` that `filters` (and `exclude_kind`) let through, as a filtered search
        would: one read of the payload indexes, no document read."""
        if not doc_ids:
            return set()
        where = self._search_where(filters, exclude_kind).and_(
            Cond("point", value=DOC_POINT), Cond("doc_id", any=tuple(dict.fromkeys(doc_ids))))
        return {h.payload["doc_id"] for h in self._scan(where, payload=["doc_id"], page=len(doc_ids))}

    def point_count(self) -> int:
        """Every point held (documents, passages): cheap, and changed by any write that adds or removes a
        document (`Backend.point_count`)."""
        return self.backend.point_count()

    def version(self) -> tuple[int, int]:
        """(points held, writes made through the backend): changed by any write, a document replaced in place
        by as many points too; what a cache of figures read from the documents checks. Cheap. Writes another
        client makes to a Qdrant server change the count only."""
        return self.backend.version()

    def count(self, filters: SearchFilters | None = None) -> int:
        """Number of documents matching the filters."""
        return self.backend.count(filters_to_where(filters).and_(Cond("point", value=DOC_POINT)))

    def facets(self, filters: SearchFilters | None = None, keys: Sequence[str] = ("kind", "source", "language"),
               limit: int = 50) -> dict[str, dict[str, int]]:
        """Document counts per value of each facet key (kind, source, language, concept, area, organization)."""
        where = filters_to_where(filters).and_(Cond("point", value=DOC_POINT))
        out: dict[str, dict[str, int]] = {}
        for key in keys:
            if key not in FACET_KEYS:
                raise ValueError(f"unknown facet {key!r}; choose from {sorted(FACET_KEYS)}")
            out[key] = self.backend.facet(FACET_KEYS[key], where, limit)
        return out

    # -- searching -----------------------------------------------------------------------------------
    def has_titles(self) -> bool:
        """False for an index built before the title vectors (ranking then goes without its title channels)."""
        return {TITLE, TITLE_LEXICAL} <= set(self.backend.vector_names)

    def has_sentences(self) -> bool:
        """False for an index created without the multilingual sentence vectors (with the channel off, or by a
        version before them): ranking goes without that channel, and only a new index adds it."""
        return SENTENCES in set(self.backend.vector_names)

    def search_sentences(self, vector: Any, filters: SearchFilters | Where | None = None, limit: int = 100,
                         *, exclude_kind: str | None = None) -> list[Hit]:
        """Documents by their best sentence's similarity to `vector` in the multilingual space."""
        where = self._search_where(filters, exclude_kind)
        return self.backend.search_dense([list(map(float, vector))], where, limit, payload=["doc_id"],
                                         using=SENTENCES)[0]

    def sentence_vectors(self, doc_ids: Sequence[str]) -> dict[str, np.ndarray]:
        """doc id -> its sentence vectors (rows) in the multilingual space; documents without any are absent."""
        hits = self.backend.retrieve([point_id(d, "doc") for d in doc_ids], vectors=True, payload=["doc_id"])
        return {h.payload["doc_id"]: np.asarray(h.sentences, dtype=np.float32) for h in hits if h.sentences}

    def search_titles(self, vectors: Any, filters: SearchFilters | Where | None = None, limit: int = 100,
                      *, exclude_kind: str | None = None) -> list[list[Hit]]:
        """Documents whose title vector is nearest, for each query vector (one result list per vector)."""
        where = self._search_where(filters, exclude_kind)
        vecs = [list(map(float, v)) for v in vectors]
        return self.backend.search_dense(vecs, where, limit, payload=["doc_id"], using=TITLE)

    def search_title_sparse(self, sparse: SparseVector, filters: SearchFilters | Where | None = None,
                            limit: int = 100, *, exclude_kind: str | None = None) -> list[Hit]:
        """Best documents by BM25 over their titles alone."""
        return self.backend.search_sparse(sparse, self._search_where(filters, exclude_kind), limit, payload=["doc_id"],
                                          using=TITLE_LEXICAL)

    @staticmethod
    def _search_where(filters: SearchFilters | Where | None, exclude_kind: str | None) -> Where:
        # No `point` condition: each named vector lives on one kind of point only (`dense` on passages, the
        # others on documents), so the vector named in a search already selects its points. An unfiltered
        # search then stays a plain HNSW search, faster than a filtered one.
        where = filters if isinstance(filters, Where) else filters_to_where(filters)
        return where.and_(exclude=[Cond("kind", value=exclude_kind)] if exclude_kind else [])

    def search_dense(self, vectors: Any, filters: SearchFilters | Where | None = None, limit: int = 100,
                     *, exclude_kind: str | None = None) -> list[list[Hit]]:
        """Nearest passages for each query vector (one result list per vector), with their document and passage
        index (`passage_texts` has their text)."""
        where = self._search_where(filters, exclude_kind)
        vecs = [list(map(float, v)) for v in vectors]
        # a vector given twice is searched once (a Japanese query's passage has its English rendering's vector,
        # and the rendering is a passage of its own): both get the one list
        distinct = list(dict.fromkeys(tuple(v) for v in vecs))
        if len(distinct) == len(vecs):
            return self.backend.search_dense(vecs, where, limit, payload=["doc_id", "passage_index"])
        found = dict(zip(distinct, self.backend.search_dense([list(v) for v in distinct], where, limit,
                                                             payload=["doc_id", "passage_index"])))
        return [found[tuple(v)] for v in vecs]

    def passage_texts(self, passages: Sequence[tuple[str, int]]) -> dict[tuple[str, int], dict[str, Any]]:
        """(doc id, passage index) -> that passage's payload fields: its offsets and text (searches return
        a passage's document and index only: reading the text of hundreds of hits to show twenty costs)."""
        fields = ["doc_id", "passage_index", "start", "end", "text"]
        hits = self.backend.retrieve([point_id(d, i) for d, i in dict.fromkeys(passages)], payload=fields)
        return {(h.payload["doc_id"], h.payload["passage_index"]): h.payload for h in hits if "text" in h.payload}

    def search_sparse(self, sparse: SparseVector, filters: SearchFilters | Where | None = None, limit: int = 100,
                      *, exclude_kind: str | None = None) -> list[Hit]:
        """Best documents for a sparse (BM25) query; Qdrant applies IDF."""
        return self.backend.search_sparse(sparse, self._search_where(filters, exclude_kind), limit, payload=["doc_id"])
