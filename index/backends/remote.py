"""Storage calls to an index that another process owns, over its owner endpoint (`index.owner`).

An embedded shard (Qdrant Edge or qdrant-client local mode) may be open in one process only. When `scout serve`
owns it, every other process that opens the index (a scheduled flow writing, a command run with its own settings)
gets a `RemoteBackend`: the same `Backend` calls, sent through `index.owner.OwnerClient`, instead of failing with
"locked" or opening the folder twice. `dispatch` is the owner's side (mounted by `index.backends.owner_routes`).
"""

from __future__ import annotations

import json
import threading
from dataclasses import asdict
from typing import Any, Sequence

from index.backends.base import DENSE, LEXICAL, Backend, Cond, Hit, PointData, Where
from index.owner import MAX_CALL_BYTES, Owner, OwnerClient
from nlp.base import SparseVector

UPSERT_CHUNK = 256  # points per request at most: keeps searches interleaving with a large ingest
UPSERT_BYTES = MAX_CALL_BYTES // 4  # and bytes per request at most (documents carry their full text)


def _sparse(data: dict | None) -> SparseVector | None:
    return SparseVector(list(data["indices"]), list(data["values"])) if data else None


def encode_where(where: Where | None) -> dict | None:
    return asdict(where) if where is not None else None


def decode_where(data: dict | None) -> Where:
    if not data:
        return Where()

    def cond(c: dict) -> Cond:
        return Cond(key=c["key"], value=c.get("value"), any=tuple(c["any"]) if c.get("any") is not None else None,
                    gte=c.get("gte"), lte=c.get("lte"))

    return Where(tuple(cond(c) for c in data.get("must", ())), tuple(cond(c) for c in data.get("must_not", ())))


def encode_point(p: PointData) -> dict:
    return {"id": p.id, "payload": p.payload, "dense": p.dense,
            "sparse": asdict(p.sparse) if p.sparse is not None else None, "title": p.title,
            "title_sparse": asdict(p.title_sparse) if p.title_sparse is not None else None,
            "sentences": p.sentences}


def decode_point(d: dict) -> PointData:
    return PointData(id=d["id"], payload=d["payload"], dense=d.get("dense"), sparse=_sparse(d.get("sparse")),
                     title=d.get("title"), title_sparse=_sparse(d.get("title_sparse")), sentences=d.get("sentences"))


def encode_hit(h: Hit) -> dict:
    return {"id": h.id, "score": h.score, "payload": h.payload, "dense": h.dense,
            "sparse": asdict(h.sparse) if h.sparse is not None else None, "sentences": h.sentences}


def decode_hit(d: dict) -> Hit:
    return Hit(id=d["id"], score=d["score"], payload=d.get("payload") or {}, dense=d.get("dense"),
               sparse=_sparse(d.get("sparse")), sentences=d.get("sentences"))


class RemoteBackend:
    """A `Backend` whose shard is owned by another process (`owner`, from the discovery file)."""

    def __init__(self, owner: Owner):
        self.url = owner.endpoint
        self._client = owner.client()
        self._vector_names: frozenset[str] | None = None

    @property
    def vector_names(self) -> frozenset[str]:
        if self._vector_names is None:
            self._vector_names = frozenset(self._call("vector_names"))
        return self._vector_names

    def _call(self, op: str, **args: Any) -> Any:
        return self._client.call(op, **args)

    def upsert(self, points: Sequence[PointData]) -> None:
        chunk: list[str] = []
        size = 0
        for p in points:
            encoded = json.dumps(encode_point(p))
            if chunk and (len(chunk) >= UPSERT_CHUNK or size + len(encoded) > UPSERT_BYTES):
                self._send_points(chunk)
                chunk, size = [], 0
            chunk.append(encoded)
            size += len(encoded) + 1
        if chunk:
            self._send_points(chunk)

    def _send_points(self, encoded: list[str]) -> None:
        from index.owner import OwnerError, detail

        status, data = self._client.post("upsert", ('{"points": [' + ",".join(encoded) + "]}").encode("utf-8"))
        if status != 200:
            raise OwnerError(f"the index owner at {self.url} refused upsert: {status} {detail(data)}", status)

    def delete_where(self, where: Where) -> None:
        self._call("delete_where", where=encode_where(where))

    def retrieve(self, ids: Sequence[str], *, vectors: bool | Sequence[str] = False,
                 payload: bool | Sequence[str] = True) -> list[Hit]:
        return [decode_hit(h) for h in self._call("retrieve", ids=list(ids),
                                                  vectors=vectors if isinstance(vectors, bool) else list(vectors),
                                                  payload=payload if isinstance(payload, bool) else list(payload))]

    def scroll(self, where: Where, *, limit: int, offset: Any = None, vectors: bool = False,
               payload: bool | Sequence[str] = True) -> tuple[list[Hit], Any]:
        out = self._call("scroll", where=encode_where(where), limit=limit, offset=offset, vectors=vectors,
                         payload=payload if isinstance(payload, bool) else list(payload))
        return [decode_hit(h) for h in out["hits"]], out["next"]

    def count(self, where: Where) -> int:
        return int(self._call("count", where=encode_where(where)))

    def point_count(self) -> int:
        return int(self._call("point_count"))

    def version(self) -> tuple[int, int]:
        points, writes = self._call("version")
        return int(points), int(writes)

    def facet(self, key: str, where: Where, limit: int) -> dict[str, int]:
        return dict(self._call("facet", key=key, where=encode_where(where), limit=limit))

    def search_dense(self, vectors: Sequence[Sequence[float]], where: Where, limit: int,
                     payload: bool | Sequence[str] = True, using: str = DENSE) -> list[list[Hit]]:
        out = self._call("search_dense", vectors=[list(map(float, v)) for v in vectors], where=encode_where(where),
                         limit=limit, payload=payload if isinstance(payload, bool) else list(payload), using=using)
        return [[decode_hit(h) for h in hits] for hits in out]

    def search_sparse(self, vector: SparseVector, where: Where, limit: int,
                      payload: bool | Sequence[str] = True, using: str = LEXICAL) -> list[Hit]:
        out = self._call("search_sparse", vector=asdict(vector), where=encode_where(where), limit=limit,
                         payload=payload if isinstance(payload, bool) else list(payload), using=using)
        return [decode_hit(h) for h in out]

    def flush(self) -> None:
        self._call("flush")

    def close(self) -> None:  # the owner keeps the shard open; only our connection closes
        self._client.close()


class LockedBackend:
    """One backend call at a time: the owner's web threads and other processes' requests share the shard."""

    def __init__(self, inner: Backend):
        self.inner = inner
        self.lock = threading.RLock()

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self.inner, name)
        if not callable(attr):
            return attr

        def locked(*args: Any, **kwargs: Any) -> Any:
            with self.lock:
                return attr(*args, **kwargs)

        return locked

    def warm_up(self) -> None:
        # not under the lock: it only waits for the backend's own background work (the point table's build:
        # seconds at a million documents); holding the lock meanwhile would stop every other call
        warm = getattr(self.inner, "warm_up", None)
        if callable(warm):
            warm()


def dispatch(backend: Backend, op: str, a: dict) -> Any:
    """Run one wire-protocol operation on the owner's backend."""
    if op == "upsert":
        backend.upsert([decode_point(p) for p in a["points"]])
        return True
    if op == "delete_where":
        backend.delete_where(decode_where(a["where"]))
        return True
    if op == "retrieve":
        return [encode_hit(h) for h in backend.retrieve(a["ids"], vectors=a.get("vectors", False),
                                                         payload=a.get("payload", True))]
    if op == "scroll":
        hits, nxt = backend.scroll(decode_where(a["where"]), limit=a["limit"], offset=a.get("offset"),
                                   vectors=a.get("vectors", False), payload=a.get("payload", True))
        return {"hits": [encode_hit(h) for h in hits], "next": nxt}
    if op == "point_count":
        return backend.point_count()
    if op == "version":
        return list(backend.version())
    if op == "count":
        return backend.count(decode_where(a["where"]))
    if op == "facet":
        return backend.facet(a["key"], decode_where(a["where"]), a["limit"])
    if op == "search_dense":
        return [[encode_hit(h) for h in hits] for hits in
                backend.search_dense(a["vectors"], decode_where(a["where"]), a["limit"], payload=a.get("payload", True),
                                     using=a.get("using", DENSE))]
    if op == "search_sparse":
        return [encode_hit(h) for h in backend.search_sparse(_sparse(a["vector"]), decode_where(a["where"]),
                                                              a["limit"], payload=a.get("payload", True),
                                                              using=a.get("using", LEXICAL))]
    if op == "vector_names":
        return sorted(backend.vector_names)
    if op == "flush":
        backend.flush()
        return True
    raise KeyError(op)
