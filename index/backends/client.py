"""qdrant-client: a Qdrant server or cluster (`server`), or qdrant-client's local mode (`local`)."""

from __future__ import annotations

from typing import Any, Sequence

from qdrant_client import QdrantClient, models

from nlp.base import SparseVector
from index.backends.base import (
    ALL_VECTORS, DENSE, FLOAT_FIELDS, KEYWORD_FIELDS, LEXICAL, SENTENCE_DIM, SENTENCES, TITLE, TITLE_LEXICAL,
    TITLED_VECTORS, Cond, Hit, PointData, Where,
)


def _cond(c: Cond) -> Any:
    if c.any is not None:
        return models.FieldCondition(key=c.key, match=models.MatchAny(any=list(c.any)))
    if c.value is not None:
        return models.FieldCondition(key=c.key, match=models.MatchValue(value=c.value))
    return models.FieldCondition(key=c.key, range=models.Range(gte=c.gte, lte=c.lte))


def _filter(where: Where | None) -> models.Filter | None:
    if where is None or (not where.must and not where.must_not):
        return None
    return models.Filter(must=[_cond(c) for c in where.must] or None,
                         must_not=[_cond(c) for c in where.must_not] or None)


def _hit(p: Any, with_vectors: bool = False) -> Hit:
    dense = sparse = sentences = None
    if with_vectors and isinstance(p.vector, dict):
        d = p.vector.get(DENSE)
        s = p.vector.get(LEXICAL)
        dense = list(d) if d is not None else None
        if s is not None:
            sparse = SparseVector(indices=list(s.indices), values=list(s.values))
        sentences = [list(v) for v in p.vector.get(SENTENCES) or ()] or None
    return Hit(id=str(p.id), score=float(getattr(p, "score", 0.0) or 0.0), payload=p.payload or {},
               dense=dense, sparse=sparse, sentences=sentences)


class ClientBackend:
    """`sentences`: a new collection holds the multilingual `sentences` vector (the channel on), or not at all (the
    channel off); an existing one keeps the vectors it was made with."""

    def __init__(self, client: QdrantClient, collection: str, dim: int, *, local: bool = False,
                 sentences: bool = True):
        self.client = client
        self.collection = collection
        self._writes = 0  # upserts and deletions made since opening (`version`)
        self.vector_names = ALL_VECTORS if sentences else TITLED_VECTORS
        if not client.collection_exists(collection):
            vectors = {n: models.VectorParams(size=dim, distance=models.Distance.COSINE)
                       for n in (DENSE, TITLE) if n in self.vector_names}
            if SENTENCES in self.vector_names:
                vectors[SENTENCES] = models.VectorParams(
                    size=SENTENCE_DIM, distance=models.Distance.COSINE, datatype=models.Datatype.FLOAT16,
                    multivector_config=models.MultiVectorConfig(comparator=models.MultiVectorComparator.MAX_SIM))
            client.create_collection(
                collection,
                vectors_config=vectors,
                sparse_vectors_config={n: models.SparseVectorParams(modifier=models.Modifier.IDF)
                                       for n in (LEXICAL, TITLE_LEXICAL) if n in self.vector_names},
            )
        else:
            params = client.get_collection(collection).config.params
            have = params.vectors
            size = have[DENSE].size if isinstance(have, dict) and DENSE in have else None
            if size != dim:
                raise ValueError(f"collection {collection!r} holds {DENSE!r} vectors of size {size}, not {dim}")
            # a collection made before the title (or sentence) vectors keeps working, without those channels
            self.vector_names = frozenset(have) | frozenset(params.sparse_vectors or {})
        if local:
            return  # local mode scans payloads and has no payload indexes
        schema = client.get_collection(collection).payload_schema or {}
        for name in KEYWORD_FIELDS:
            if name not in schema:
                client.create_payload_index(collection, name, models.PayloadSchemaType.KEYWORD)
        for name in FLOAT_FIELDS:
            if name not in schema:
                client.create_payload_index(collection, name, models.PayloadSchemaType.FLOAT)

    def upsert(self, points: Sequence[PointData]) -> None:
        out = []
        for p in points:
            vec: dict[str, Any] = {}
            if p.dense is not None:
                vec[DENSE] = list(map(float, p.dense))
            if p.sparse is not None and p.sparse.indices:
                vec[LEXICAL] = models.SparseVector(indices=list(p.sparse.indices), values=list(p.sparse.values))
            if p.title is not None and TITLE in self.vector_names:
                vec[TITLE] = list(map(float, p.title))
            if p.title_sparse is not None and p.title_sparse.indices and TITLE_LEXICAL in self.vector_names:
                vec[TITLE_LEXICAL] = models.SparseVector(indices=list(p.title_sparse.indices),
                                                         values=list(p.title_sparse.values))
            if p.sentences and SENTENCES in self.vector_names:
                vec[SENTENCES] = [list(map(float, v)) for v in p.sentences]
            out.append(models.PointStruct(id=p.id, vector=vec, payload=p.payload))
        if out:
            self.client.upsert(self.collection, points=out, wait=True)
            self._writes += 1

    def delete_where(self, where: Where) -> None:
        self.client.delete(self.collection, points_selector=models.FilterSelector(filter=_filter(where)), wait=True)
        self._writes += 1

    def retrieve(self, ids, *, vectors=False, payload=True):
        if not ids:
            return []
        recs = self.client.retrieve(self.collection, ids=list(ids),
                                    with_vectors=vectors if isinstance(vectors, bool) else list(vectors),
                                    with_payload=payload if isinstance(payload, bool) else list(payload))
        return [_hit(r, vectors) for r in recs]

    def scroll(self, where, *, limit, offset=None, vectors=False, payload=True):
        recs, nxt = self.client.scroll(self.collection, scroll_filter=_filter(where), limit=limit, offset=offset,
                                       with_payload=payload, with_vectors=vectors)
        return [_hit(r, vectors) for r in recs], nxt

    def count(self, where):
        return int(self.client.count(self.collection, count_filter=_filter(where), exact=True).count)

    def point_count(self) -> int:
        return int(self.client.count(self.collection, exact=True).count)

    def version(self) -> tuple[int, int]:
        # this client's writes: a server's other clients' are seen by the count alone
        return self.point_count(), self._writes

    def facet(self, key, where, limit):
        resp = self.client.facet(self.collection, key=key, facet_filter=_filter(where), limit=limit, exact=True)
        return {str(h.value): int(h.count) for h in resp.hits}

    def search_dense(self, vectors, where, limit, payload=True, using=DENSE):
        flt = _filter(where)
        # a multivector field takes a multivector query: one vector of it scores a document by its best one
        wrap = (lambda v: [v]) if using == SENTENCES else (lambda v: v)
        reqs = [models.QueryRequest(query=wrap([float(x) for x in v]), using=using, filter=flt, limit=limit,
                                    with_payload=payload) for v in vectors]
        if not reqs:
            return []
        results = self.client.query_batch_points(self.collection, requests=reqs)
        return [[_hit(p) for p in r.points] for r in results]

    def search_sparse(self, vector, where, limit, payload=True, using=LEXICAL):
        if not vector.indices:
            return []
        res = self.client.query_points(
            self.collection, query=models.SparseVector(indices=list(vector.indices), values=list(vector.values)),
            using=using, query_filter=_filter(where), limit=limit, with_payload=payload,
        )
        return [_hit(p) for p in res.points]

    def flush(self) -> None:
        pass  # the server persists on write (wait=True); local mode writes through on every update

    def optimize(self) -> None:
        pass  # a server optimizes in the background; local mode has no vector index to build

    def close(self) -> None:
        self.client.close()
