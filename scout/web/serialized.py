"""One query at a time, unless the library says it is thread-safe.

FastAPI runs the (synchronous) routes in a thread pool. The query embedder and the ranker's caches are not
promised to be safe under concurrent calls, so `create_app` wraps any library that does not declare
`thread_safe = True` in this proxy: searches, matches and organization pages (which rank) take turns. Reading
stored needs and documents does not wait for them (the backend serializes its own calls when shared:
`index.backends.remote.LockedBackend`), so one slow search never holds up a page that only reads.
"""

from __future__ import annotations

import threading
from datetime import datetime
from typing import Iterable

from service.library import Library, OrgProfile, SearchResult
from domain.models import Document, Match, NeedMatches, OrgMatch, SearchFilters


class SerializedLibrary:
    thread_safe = True

    def __init__(self, library: Library) -> None:
        self.inner = library
        self._lock = threading.Lock()

    def search(self, query: str, filters: SearchFilters | None = None, limit: int = 20, feedback=None) -> SearchResult:
        with self._lock:
            if feedback is None:
                return self.inner.search(query, filters, limit=limit)
            return self.inner.search(query, filters, limit=limit, feedback=feedback)

    def warm_up(self) -> None:
        """The library's warm-up, if it has one, taking its turn while it uses the models and the ranker: a
        query that comes meanwhile waits for what it would otherwise load itself (not for the index's table)."""
        warm = getattr(self.inner, "warm_up", None)
        if callable(warm):
            warm(turn=lambda: self._lock)

    def refresh_figures(self) -> None:
        """The library's refresh of its corpus figures, if it has one, without a turn: it reads the index only,
        and a need page that needs a figure meanwhile waits for that figure alone."""
        refresh = getattr(self.inner, "refresh_figures", None)
        if callable(refresh):
            refresh()

    def needs(self) -> list[Document]:
        return self.inner.needs()

    def match(self, need_id: str, limit: int = 20) -> NeedMatches:
        with self._lock:
            return self.inner.match(need_id, limit=limit)

    def document(self, doc_id: str) -> Document | None:
        return self.inner.document(doc_id)

    def organization(self, name_or_key: str) -> OrgProfile | None:
        with self._lock:
            return self.inner.organization(name_or_key)

    def needs_answered(self, doc_id: str) -> list[OrgMatch]:
        with self._lock:  # a need the match ledger has not seen is ranked
            return self.inner.needs_answered(doc_id)

    def all_matches(self, limit_per_need: int = 20) -> Iterable[Match]:
        with self._lock:  # a lazy generator would escape the lock
            return list(self.inner.all_matches(limit_per_need=limit_per_need))

    def judgement_states(self, need_id: str) -> dict[str, str]:
        return self.inner.judgement_states(need_id)

    def match_run_time(self) -> datetime | None:
        return self.inner.match_run_time()


def serialized(library: Library) -> Library:
    return library if getattr(library, "thread_safe", False) else SerializedLibrary(library)
