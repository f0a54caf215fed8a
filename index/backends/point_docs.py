"""Each point's document (and passage), known from its id without reading its payload.

A search returns point ids; ranking wants each hit's document id (and a passage's index). Asked of the payload,
Qdrant Edge reads the point's payload from disk (`payload_memory=Cold`: payloads are most of the index) and
decodes all of it, however few fields are asked for: a document point's payload holds the document and its
analysis. Measured at 10k documents, reading `doc_id` from the payload was 85-95% of a search's time in the
shard (a need's title search: 309 ms with it, 18 ms without). Point ids are uuid5 of the document id and the
part (index/store.py `point_id`), so a table from each id to its document answers without reading anything:
`PointDocs`, kept in RAM (24 bytes a point and the document ids' text: 91 MiB at a million documents).

The table only ever answers with what a point's id determines: an id belongs to one document for good (ids
are derived from the document id), so an entry never turns wrong; a deleted point's entry is never asked for.
An id it does not hold (the table still being built, a point written by an older version under another id,
a 64-bit key shared by two ids) is read from the payload as before (the caller's fallback), and learnt.
"""

from __future__ import annotations

import threading
from typing import Callable, Iterable, Sequence
from uuid import UUID

import numpy as np

DOC_PART = -1  # the part of a document's own point (a passage's part is its index)
_MERGE_AT = 65_536  # ids learnt one by one are merged into the sorted table when this many wait


_LOW = (1 << 64) - 1


def id_int(point_id: UUID | str) -> int:
    """A point id as the 128-bit integer of its UUID."""
    return (point_id if isinstance(point_id, UUID) else UUID(str(point_id))).int


def id_halves(point_ids: Sequence[UUID | str]) -> tuple[np.ndarray, np.ndarray]:
    """The ids' first and last 64 bits, in one pass for a list of UUID objects (what the shard returns) or of
    canonical UUID strings; any other spelling, or a mix, one id at a time as `id_int` reads it."""
    try:
        raw = b"".join([i.int.to_bytes(16, "big") for i in point_ids])  # type: ignore[union-attr]
    except AttributeError:  # strings
        try:
            raw = bytes.fromhex("".join(point_ids).replace("-", ""))  # type: ignore[arg-type]
        except (TypeError, ValueError):  # a mix, other spellings
            raw = b""
        if len(raw) != 16 * len(point_ids):
            raw = b"".join(id_int(i).to_bytes(16, "big") for i in point_ids)
    halves = np.frombuffer(raw, dtype=">u8").reshape(-1, 2).astype(np.uint64)
    return np.ascontiguousarray(halves[:, 0]), np.ascontiguousarray(halves[:, 1])


class _DocNames:
    """Document ids by index: those of the build as one UTF-8 blob with offsets (a million Python strings made
    beside the build's transient objects would keep their memory pages with the process), those learnt later
    in a list. Append-only: an index, once given, names the same document."""

    def __init__(self, blob: bytes = b"", offsets: np.ndarray | None = None) -> None:
        self._blob = blob
        self._offsets = offsets if offsets is not None else np.zeros(1, dtype=np.int64)
        self._built = len(self._offsets) - 1
        self._extra: list[str] = []
        self._extra_index: dict[str, int] = {}

    def names(self, indices: np.ndarray) -> list[str | None]:
        """The documents of `indices` (None where an index is negative), read in one pass: the offsets gathered
        by numpy, each name decoded once."""
        built, blob, extra = self._built, self._blob, self._extra
        wanted = indices.tolist()
        if built:
            inside = np.where((indices >= 0) & (indices < built), indices, 0)
            starts, ends = self._offsets[inside].tolist(), self._offsets[inside + 1].tolist()
        else:
            starts = ends = [0] * len(wanted)
        decoded: dict[int, str] = {}
        out: list[str | None] = []
        for i, start, end in zip(wanted, starts, ends):
            if i < 0:
                out.append(None)
            elif i in decoded:
                out.append(decoded[i])
            else:
                decoded[i] = name = blob[start:end].decode() if i < built else extra[i - built]
                out.append(name)
        return out

    def index_of(self, doc_id: str) -> int:
        """The index of a learnt document (a document of the build learnt again gets one too)."""
        i = self._extra_index.get(doc_id)
        if i is None:
            i = self._extra_index[doc_id] = self._built + len(self._extra)
            self._extra.append(doc_id)
        return i


class PointDocs:
    """point id -> (document id, part): the ids' first 64 bits as a sorted array (their last 64 bits beside
    them, checked), the index of each id's document and its part; and a dict of the ids learnt since the last
    merge.
    Thread-safe: lookups read a consistent (keys, owners, parts) triple; `learn` and `merge` swap it whole."""

    def __init__(self) -> None:
        self._keys = np.empty(0, dtype=np.uint64)
        self._lows = np.empty(0, dtype=np.uint64)
        self._owners = np.empty(0, dtype=np.int32)  # index into _docs; -1: two ids share the first 64 bits
        self._parts = np.empty(0, dtype=np.int32)
        self._docs = _DocNames()
        self._learnt: dict[int, tuple[str, int]] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._keys) + len(self._learnt)

    @classmethod
    def build(cls, documents: Iterable[tuple[str, int]], ids_of: Callable[[str, int], bytes],
              stop: threading.Event | None = None) -> "PointDocs | None":
        """The table of the documents (document id, number of its points): `ids_of(doc_id, n)` gives the ids of
        its n points as 16 bytes each, its own point first (part -1), then passages 0, 1, ... None when `stop`
        is set. Made in numpy a chunk of documents at a time (a million documents' 3 million ids as Python
        integers would leave hundreds of MB with the process)."""
        table = cls()
        ids, counts, names, ends = bytearray(), [], bytearray(), [0]
        chunks: list[tuple[np.ndarray, np.ndarray]] = []

        def flush() -> None:
            if counts:
                raw = np.frombuffer(bytes(ids), dtype=">u8").reshape(-1, 2).astype(np.uint64)
                chunks.append((raw, np.asarray(counts, dtype=np.int64)))
                ids.clear()
                counts.clear()

        for i, (doc_id, n) in enumerate(documents):
            if i % 8192 == 0:
                if stop is not None and stop.is_set():
                    return None
                flush()
            got = ids_of(doc_id, n)
            names += doc_id.encode()
            ends.append(len(names))
            ids += got
            counts.append(len(got) // 16)
        flush()
        raw = np.concatenate([c[0] for c in chunks]) if chunks else np.empty((0, 2), dtype=np.uint64)
        n_points = np.concatenate([c[1] for c in chunks]) if chunks else np.empty(0, dtype=np.int64)
        owners = np.repeat(np.arange(len(n_points), dtype=np.int32), n_points)
        starts = np.repeat(np.cumsum(n_points) - n_points, n_points)
        parts = (np.arange(len(owners), dtype=np.int64) - starts + DOC_PART).astype(np.int32)
        table._docs = _DocNames(bytes(names), np.asarray(ends, dtype=np.int64))
        table._set(np.ascontiguousarray(raw[:, 0]), np.ascontiguousarray(raw[:, 1]), owners, parts)
        return table

    def _set(self, keys: np.ndarray, lows: np.ndarray, owners: np.ndarray, parts: np.ndarray) -> None:
        order = np.argsort(keys, kind="stable")
        keys, lows, owners, parts = keys[order], lows[order], owners[order], parts[order]
        if len(keys) > 1:
            shared = np.zeros(len(keys), dtype=bool)
            same = keys[1:] == keys[:-1]
            shared[1:] |= same
            shared[:-1] |= same
            if shared.any():  # two ids, one first half: neither is answered (each is read from its payload)
                owners = owners.copy()
                owners[shared] = -1
        self._keys, self._lows, self._owners, self._parts = keys, lows, owners, parts

    def learn(self, entries: Iterable[tuple[UUID | str, str, int]]) -> None:
        """Add (point id, document id, part) entries: points just written, or read from their payloads."""
        with self._lock:
            for point_id, doc_id, part in entries:
                self._learnt[id_int(point_id)] = (doc_id, part)
            if len(self._learnt) >= _MERGE_AT:
                self._merge()

    def _merge(self) -> None:
        learnt = self._learnt
        add_keys = np.fromiter((k >> 64 for k in learnt), dtype=np.uint64, count=len(learnt))
        add_lows = np.fromiter((k & _LOW for k in learnt), dtype=np.uint64, count=len(learnt))
        pos = np.searchsorted(self._keys, add_keys)
        known = pos < len(self._keys)
        known[known] = (self._keys[pos[known]] == add_keys[known]) & (self._lows[pos[known]] == add_lows[known])
        keys, lows, owners, parts = self._keys, self._lows, self._owners.copy(), self._parts.copy()
        idx = np.fromiter((self._docs.index_of(d) for d, _ in learnt.values()), dtype=np.int32, count=len(learnt))
        prt = np.fromiter((p for _, p in learnt.values()), dtype=np.int32, count=len(learnt))
        owners[pos[known]], parts[pos[known]] = idx[known], prt[known]  # re-learnt: the newest entry
        new = ~known
        self._set(np.concatenate([keys, add_keys[new]]), np.concatenate([lows, add_lows[new]]),
                  np.concatenate([owners, idx[new]]), np.concatenate([parts, prt[new]]))
        self._learnt = {}

    def lookup(self, ids: Sequence[UUID | str]) -> list[tuple[str, int] | None]:
        """(document id, part) of each point id, None where the table does not know it. In numpy but for the
        names: a search asks it for about 1,500 ids (1,000 UUIDs at a million documents: 2.2 ms one at a time,
        1.0 ms so)."""
        with self._lock:  # one consistent state (a merge replaces the arrays and the dict)
            keys_arr, lows, owners, parts = self._keys, self._lows, self._owners, self._parts
            learnt, docs = self._learnt, self._docs
        if not len(ids):
            return []
        keys, low = id_halves(ids)
        if len(keys_arr):
            order = np.argsort(keys)  # ascending keys: each binary search starts where the last ended (fewer misses)
            pos = np.empty(len(keys), dtype=np.intp)
            pos[order] = np.searchsorted(keys_arr, keys[order])
            pos[pos >= len(keys_arr)] = 0
            found = (keys_arr[pos] == keys) & (lows[pos] == low)
            owner, part = np.where(found, owners[pos], -1), parts[pos].tolist()
        else:
            owner, part = np.full(len(keys), -1, dtype=np.int32), [0] * len(keys)
        out: list[tuple[str, int] | None] = [None if d is None else (d, p) for d, p in zip(docs.names(owner), part)]
        if learnt:  # learnt since the last merge: the newest entry
            for i, (k, lo) in enumerate(zip(keys.tolist(), low.tolist())):
                hit = learnt.get(k << 64 | lo)
                if hit is not None:
                    out[i] = hit
        return out
