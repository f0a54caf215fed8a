"""Embedding cache keyed by (model name, passage hash) in SQLite: unchanged text is never embedded twice.

The cache is a convenience, never a source of truth: a cached vector is used only when it has the model's
dimension, is finite and has unit length (every embedder here normalizes); any other row is a miss and is
embedded again. A cache file SQLite cannot read (truncated, overwritten) is moved aside with a warning and
rebuilt empty, so a broken cache costs time, never documents.
"""

from __future__ import annotations

import hashlib
import logging
import sqlite3
import threading
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path
from typing import Sequence

import numpy as np

import domain.orgs
from domain.files import private_file
from nlp.base import Embedder

log = logging.getLogger(__name__)

#: how far from unit length a cached vector may be (float32 round-off is ~1e-7)
NORM_TOLERANCE = 1e-3


def passage_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def usable_vector(vector: np.ndarray, dim: int | None) -> bool:
    """A vector the index may take: the expected dimension, finite, unit length."""
    if vector.ndim != 1 or (dim is not None and vector.shape[0] != dim) or not np.all(np.isfinite(vector)):
        return False
    return abs(float(np.linalg.norm(vector)) - 1.0) <= NORM_TOLERANCE


class EmbeddingCache:
    """A SQLite table of float32 vectors; safe to share between threads of one process."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.in_memory = str(path) == ":memory:"
        if not self.in_memory:
            private_file(self.path)
        self._lock = threading.Lock()
        self._pruned_for: str | None = None
        #: rows found unusable (wrong dimension, not finite, not unit length) and treated as misses
        self.invalid = 0
        #: where a corrupt cache file was moved, when one was
        self.moved_aside: Path | None = None
        try:
            self._open()
        except sqlite3.DatabaseError as exc:
            self._rebuild(exc)

    def _open(self) -> None:
        self._db = sqlite3.connect(str(self.path), check_same_thread=False, timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS embeddings (model TEXT NOT NULL, hash TEXT NOT NULL, dim INTEGER NOT NULL,"
            " vector BLOB NOT NULL, PRIMARY KEY (model, hash))"
        )
        # Query analyses (nlp.pipeline.QueryAnalysis as JSON), keyed by what produced them (`code_fingerprint`)
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS query_analyses (fingerprint TEXT NOT NULL, hash TEXT NOT NULL,"
            " analysis TEXT NOT NULL, PRIMARY KEY (fingerprint, hash))"
        )
        self._db.commit()
        self._db.execute("SELECT model, hash, dim, vector FROM embeddings LIMIT 1").fetchall()

    def _rebuild(self, error: Exception) -> None:
        """Move the unreadable file (and its WAL) aside and start an empty cache in its place."""
        try:
            self._db.close()
        except Exception:  # noqa: BLE001 - it is broken already
            pass
        if self.in_memory:
            raise error
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        aside = self.path.with_name(f"{self.path.name}.corrupt-{stamp}")
        for suffix in ("", "-wal", "-shm"):
            part = Path(str(self.path) + suffix)
            if part.exists():
                part.replace(Path(str(aside) + suffix))
        self.moved_aside = aside
        private_file(self.path)
        log.warning("embedding cache %s is unreadable (%s): moved aside to %s and rebuilt empty",
                    self.path, error, aside)
        self._open()

    def get_many(self, model: str, hashes: Sequence[str], dim: int | None = None) -> dict[str, np.ndarray]:
        """Usable cached vectors of `hashes` (see `usable_vector`); anything else is left out: a miss."""
        found: dict[str, np.ndarray] = {}
        unique = list(dict.fromkeys(hashes))
        with self._lock:
            try:
                rows = self._select(model, unique)
            except sqlite3.DatabaseError as exc:
                self._rebuild(exc)
                return {}
        for h, row_dim, blob in rows:
            if not isinstance(blob, bytes) or not isinstance(row_dim, int) or len(blob) != 4 * row_dim:
                self.invalid += 1
                continue
            vector = np.frombuffer(blob, dtype=np.float32)
            if usable_vector(vector, dim):
                found[h] = vector
            else:
                self.invalid += 1
        return found

    def _select(self, model: str, unique: list[str]) -> list[tuple]:
        rows: list[tuple] = []
        for i in range(0, len(unique), 500):  # SQLite's bound-parameter limit
            chunk = unique[i : i + 500]
            marks = ",".join("?" * len(chunk))
            rows += self._db.execute(
                f"SELECT hash, dim, vector FROM embeddings WHERE model = ? AND hash IN ({marks})", [model, *chunk]
            ).fetchall()
        return rows

    def put_many(self, model: str, items: Sequence[tuple[str, np.ndarray]]) -> None:
        rows = [(model, h, int(v.shape[0]), np.asarray(v, dtype=np.float32).tobytes()) for h, v in items
                if usable_vector(np.asarray(v, dtype=np.float32), None)]
        with self._lock:
            try:
                self._db.executemany("INSERT OR REPLACE INTO embeddings VALUES (?, ?, ?, ?)", rows)
                self._db.commit()
            except sqlite3.DatabaseError as exc:
                if isinstance(exc, sqlite3.OperationalError) and "full" in str(exc).lower():
                    raise  # a full disk is not a corrupt cache
                self._rebuild(exc)

    def get_analysis(self, fingerprint: str, text_hash: str) -> str | None:
        with self._lock:
            try:
                row = self._db.execute("SELECT analysis FROM query_analyses WHERE fingerprint = ? AND hash = ?",
                                       (fingerprint, text_hash)).fetchone()
            except sqlite3.DatabaseError as exc:
                self._rebuild(exc)
                return None
        return row[0] if row else None

    def put_analysis(self, fingerprint: str, text_hash: str, analysis: str) -> None:
        with self._lock:
            try:
                if fingerprint != self._pruned_for:
                    # analyses by older code or other settings are never found again: drop them (once)
                    self._db.execute("DELETE FROM query_analyses WHERE fingerprint != ?", (fingerprint,))
                    self._pruned_for = fingerprint
                self._db.execute("INSERT OR REPLACE INTO query_analyses VALUES (?, ?, ?)",
                                 (fingerprint, text_hash, analysis))
                self._db.commit()
            except sqlite3.OperationalError as exc:  # locked by a long writer, a full disk: the cache can wait
                log.warning("query analysis not cached: %s", exc)
            except sqlite3.DatabaseError as exc:
                self._rebuild(exc)

    def __len__(self) -> int:
        with self._lock:
            return self._db.execute("SELECT COUNT(*) FROM embeddings").fetchone()[0]

    def close(self) -> None:
        with self._lock:
            self._db.close()


class CachedEmbedder:
    """An Embedder that consults the cache first and encodes only the texts it has not seen."""

    def __init__(self, embedder: Embedder, cache: EmbeddingCache) -> None:
        self.inner = embedder
        self.cache = cache
        self.name = embedder.name
        self.dim = embedder.dim
        self.hits = 0
        self.misses = 0

    @property
    def max_tokens(self) -> int:
        return self.inner.max_tokens

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        return self.inner.count_tokens(texts)

    def _lookup(self, texts: Sequence[str]) -> tuple[list[str], dict, dict[str, str]]:
        """(each text's hash, the cached vectors found, hash -> text of each distinct miss), counting hits and
        misses."""
        hashes = [passage_hash(t) for t in texts]
        found = self.cache.get_many(self.name, hashes, dim=self.dim)
        missing: dict[str, str] = {}
        for h, t in zip(hashes, texts):
            if h not in found and h not in missing:
                missing[h] = t
        self.hits += len(texts) - sum(1 for h in hashes if h not in found)
        self.misses += len(missing)
        return hashes, found, missing

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        hashes, found, missing = self._lookup(texts)
        if missing:
            vectors = np.asarray(self.inner.encode(list(missing.values())), dtype=np.float32)
            new = list(zip(missing.keys(), vectors))
            self.cache.put_many(self.name, new)
            found.update(new)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, h in enumerate(hashes):
            out[row] = found[h]
        return out

    def encode_with_states(self, texts: Sequence[str], wanted: Sequence[bool] | None = None) -> tuple:
        """`encode`, and the token states of the `wanted` texts (all by default) from the inner embedder
        (nlp.embedder.SentenceTransformerEmbedder.encode_with_states): the misses' from the pass that embeds
        them (the same call, so the same vectors as `encode`), a wanted hit's from one more pass (a passage seen
        before: the cache keeps vectors, not states)."""
        texts = list(texts)
        inner = getattr(self.inner, "encode_with_states", None)
        if inner is None:
            return self.encode(texts), [None] * len(texts)
        wanted = [True] * len(texts) if wanted is None else list(wanted)
        hashes, found, missing = self._lookup(texts)
        states: dict[str, object] = {}
        if missing:
            vectors, new_states = inner(list(missing.values()))
            new = list(zip(missing.keys(), np.asarray(vectors, dtype=np.float32)))
            self.cache.put_many(self.name, new)
            found.update(new)
            states.update(zip(missing.keys(), new_states))
        again = {h: t for h, t, w in zip(hashes, texts, wanted) if w and h not in states}
        if again:
            states.update(zip(again.keys(), inner(list(again.values()))[1]))
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, h in enumerate(hashes):
            out[row] = found[h]
        return out, [states.get(h) if w else None for h, w in zip(hashes, wanted)]


_FINGERPRINT_PACKAGES = ("spacy", "sudachipy", "sudachidict-core", "ja-ginza", "jamdict", "jamdict-data",
                         "snowballstemmer", "lingua-language-detector", "tokenizers")


def code_fingerprint(extra_files: Sequence[Path] = (), settings: Sequence[object] = ()) -> str:
    """A digest of everything a text analysis depends on: the nlp package's code and data files and the
    organization-name rules (domain/orgs.py), the versions of the libraries and dictionaries it calls, any
    `extra_files` (a configured taxonomy) and `settings`.
    A cached analysis under another fingerprint is simply never found, so a change to any of them is safe."""
    digest = hashlib.sha256()
    here = Path(__file__).resolve().parent
    own = sorted(p for p in here.iterdir() if p.suffix in (".py", ".txt", ".yaml")) + [Path(domain.orgs.__file__)]
    for path in own + list(extra_files):
        digest.update(path.name.encode() + b"\0")
        try:
            digest.update(path.read_bytes())
        except OSError:
            digest.update(b"missing")
    installed = installed_versions()
    for name in _FINGERPRINT_PACKAGES:
        digest.update(f"{name}={installed.get(name, 'none')}".encode())
    digest.update(repr(list(settings)).encode())
    return digest.hexdigest()[:32]


@lru_cache(maxsize=1)
def installed_versions() -> dict[str, str]:
    """{normalized distribution name: version} from the `*.dist-info` folder names on sys.path: one directory
    listing per path entry, where `importlib.metadata.version()` scans every entry once per name (half a
    second of a cold query's start-up for nine names)."""
    import os
    import re
    import sys

    out: dict[str, str] = {}
    for entry in sys.path:
        try:
            names = os.listdir(entry or ".")
        except OSError:
            continue
        for name in names:
            if name.endswith(".dist-info") and "-" in name:
                dist, _, ver = name[: -len(".dist-info")].rpartition("-")
                out.setdefault(re.sub(r"[-_.]+", "-", dist).lower(), ver)
    return out
