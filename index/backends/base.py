"""What a storage backend offers the `Index` front: a neutral point/filter vocabulary over Qdrant.

Both backends (Qdrant Edge in-process, qdrant-client for a server or local mode) implement `Backend`, so
`index.store.Index` never asks which one it talks to.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, Sequence

from nlp.base import SparseVector

DENSE = "dense"  # passage points: passage embeddings
LEXICAL = "lexical"  # document points: BM25 over title + text
TITLE = "title"  # document points: the title's embedding (a short, focused statement of the document)
TITLE_LEXICAL = "title_lexical"  # document points: BM25 over the title alone
# document points: the multilingual encoder's vector of each sentence (nlp/multilingual.py), one multivector
# compared by MaxSim, so a one-vector query scores a document by its best sentence; stored in 8 bits (Edge,
# TurboQuant) or float16 (a server): a quarter or half of float32's bytes
SENTENCES = "sentences"
SENTENCE_DIM = 512  # USE-multilingual v3's size
ALL_VECTORS = frozenset({DENSE, LEXICAL, TITLE, TITLE_LEXICAL, SENTENCES})
TITLED_VECTORS = frozenset({DENSE, LEXICAL, TITLE, TITLE_LEXICAL})  # indexes built before the sentence vectors
LEGACY_VECTORS = frozenset({DENSE, LEXICAL})  # indexes built before the title vectors
# keyword-indexed payload fields (facetable); `published_ts` is a float index for date ranges
KEYWORD_FIELDS = ("point", "doc_id", "kind", "source", "language", "concepts", "areas", "org_keys", "content_hash",
                  "year", "terms_method", "terms_material", "terms_task")
FLOAT_FIELDS = ("published_ts",)


@dataclass(frozen=True)
class Cond:
    """One payload condition: equality (`value`), membership (`any`) or a numeric range."""

    key: str
    value: str | int | bool | None = None
    any: tuple[str, ...] | None = None
    gte: float | None = None
    lte: float | None = None


@dataclass(frozen=True)
class Where:
    must: tuple[Cond, ...] = ()
    must_not: tuple[Cond, ...] = ()

    def and_(self, *conds: Cond, exclude: Sequence[Cond] = ()) -> "Where":
        return Where(self.must + tuple(conds), self.must_not + tuple(exclude))


@dataclass
class PointData:
    id: str
    payload: dict[str, Any]
    dense: list[float] | None = None
    sparse: SparseVector | None = None
    title: list[float] | None = None
    title_sparse: SparseVector | None = None
    sentences: list[list[float]] | None = None


@dataclass
class Hit:
    id: str
    score: float
    payload: dict[str, Any] = field(default_factory=dict)
    dense: list[float] | None = None
    sparse: SparseVector | None = None
    sentences: list[list[float]] | None = None  # a document point's sentence vectors (with vectors=True)


class Backend(Protocol):
    # the named vectors this collection holds (an index built by an older version lacks the title vectors)
    vector_names: frozenset[str]

    def upsert(self, points: Sequence[PointData]) -> None: ...

    def delete_where(self, where: Where) -> None: ...

    def retrieve(self, ids: Sequence[str], *, vectors: bool | Sequence[str] = False,
                 payload: bool | Sequence[str] = True) -> list[Hit]:
        """The points of `ids`; `vectors`: all of them, none, or these named ones only (each read costs)."""
        ...

    def scroll(self, where: Where, *, limit: int, offset: Any = None, vectors: bool = False,
               payload: bool | Sequence[str] = True) -> tuple[list[Hit], Any]: ...

    def count(self, where: Where) -> int: ...

    def point_count(self) -> int:
        """Every point held, of every kind, without a filter: cheap (at a million documents 0.1 ms, where an
        exact count of the document points takes 70 ms), for a cache that must see when the index changed."""
        ...

    def version(self) -> tuple[int, int]:
        """(`point_count`, the writes (upserts, deletions) made through this backend since it opened: the
        owner's, for a process that reaches the embedded index through its owner), in one call: what a cache
        must check, since a document replaced in place by as many points changes no count."""
        ...

    def facet(self, key: str, where: Where, limit: int) -> dict[str, int]: ...

    def search_dense(self, vectors: Sequence[Sequence[float]], where: Where, limit: int,
                     payload: bool | Sequence[str] = True, using: str = DENSE) -> list[list[Hit]]: ...

    def search_sparse(self, vector: SparseVector, where: Where, limit: int,
                      payload: bool | Sequence[str] = True, using: str = LEXICAL) -> list[Hit]: ...

    def flush(self) -> None: ...

    def optimize(self) -> None: ...

    def close(self) -> None: ...
