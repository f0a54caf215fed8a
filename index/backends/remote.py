"""The index owned by another process, reached over loopback HTTP.

An embedded shard (Qdrant Edge or qdrant-client local mode) may be open in one process only. When
`scout serve` owns it, it advertises an endpoint in the owner lock, and every other process (a scheduled
flow, a CLI search) talks to the shard through that server instead of failing with "locked" or opening the
folder twice. Both sides of that small wire protocol live here: `RemoteBackend` (the client, a `Backend`)
and `dispatch` with `index.backends.owner_routes` (the server side, mounted by `scout serve`).
"""

from __future__ import annotations

import threading
from dataclasses import asdict
from typing import Any, Sequence

import httpx

from index.backends.base import DENSE, LEXICAL, Backend, Cond, Hit, PointData, Where
from nlp.base import SparseVector

UPSERT_CHUNK = 256  # points per request: keeps searches interleaving with a large ingest


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


class RemoteBackendError(RuntimeError):
    pass


class RemoteBackend:
    """A `Backend` whose shard is owned by the `scout serve` process at `url`."""

    def __init__(self, url: str, token: str, timeout: float = 120.0):
        self.url = url
        self._client = httpx.Client(base_url=url, timeout=timeout, headers={"Authorization": f"Bearer {token}"})
        self._vector_names: frozenset[str] | None = None

    @property
    def vector_names(self) -> frozenset[str]:
        if self._vector_names is None:
            self._vector_names = frozenset(self._call("vector_names"))
        return self._vector_names

    def _call(self, op: str, **args: Any) -> Any:
        try:
            resp = self._client.post(f"/internal/index/{op}", json=args)
        except httpx.HTTPError as exc:
            raise RemoteBackendError(f"the index owner at {self.url} did not answer: {exc}") from exc
        if resp.status_code != 200:
            raise RemoteBackendError(f"the index owner at {self.url} refused {op}: {resp.status_code} {resp.text[:200]}")
        return resp.json()

    def upsert(self, points: Sequence[PointData]) -> None:
        for i in range(0, len(points), UPSERT_CHUNK):
            self._call("upsert", points=[encode_point(p) for p in points[i:i + UPSERT_CHUNK]])

    def delete_where(self, where: Where) -> None:
        self._call("delete_where", where=encode_where(where))

    def retrieve(self, ids: Sequence[str], *, vectors: bool = False,
                 payload: bool | Sequence[str] = True) -> list[Hit]:
        return [decode_hit(h) for h in self._call("retrieve", ids=list(ids), vectors=vectors,
                                                  payload=payload if isinstance(payload, bool) else list(payload))]

    def scroll(self, where: Where, *, limit: int, offset: Any = None, vectors: bool = False,
               payload: bool | Sequence[str] = True) -> tuple[list[Hit], Any]:
        out = self._call("scroll", where=encode_where(where), limit=limit, offset=offset, vectors=vectors,
                         payload=payload if isinstance(payload, bool) else list(payload))
        return [decode_hit(h) for h in out["hits"]], out["next"]

    def count(self, where: Where) -> int:
        return int(self._call("count", where=encode_where(where)))

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
