"""The functions behind both the pages and the JSON API, so that the two can never disagree.

Each takes the library and raw request values and returns the library's own models, or raises
`HTTPException` (400 for a bad filter, 404 for an unknown id).
"""

from __future__ import annotations

from fastapi import HTTPException

from service.queries import BadQuery, build_filters, is_unknown_need
from service.library import Library, OrgProfile, SearchResult
from domain.models import Document, NeedMatches

MAX_LIMIT = 500


def search(
    library: Library,
    q: str,
    *,
    kind: str | None = None,
    lang: str | None = None,
    since: str | None = None,
    until: str | None = None,
    concept: str | None = None,
    area: str | None = None,
    source: str | None = None,
    org: str | None = None,
    limit: int = 20,
) -> SearchResult:
    try:
        filters = build_filters(kind=kind, language=lang, since=since, until=until, concept=concept, area=area,
                                source=source, organization=org)
    except BadQuery as exc:
        raise HTTPException(status_code=400, detail=str(exc)) from None
    return library.search(q, filters, limit=max(1, min(limit, MAX_LIMIT)))


def needs(library: Library) -> list[Document]:
    return library.needs()


def need_matches(library: Library, need_id: str, limit: int = 20) -> NeedMatches:
    if is_unknown_need(library, need_id):
        raise HTTPException(status_code=404, detail=f"unknown need id {need_id!r}")
    try:
        return library.match(need_id, limit=max(1, min(limit, MAX_LIMIT)))
    except KeyError:
        raise HTTPException(status_code=404, detail=f"unknown need id {need_id!r}") from None


def document(library: Library, doc_id: str) -> Document:
    doc = library.document(doc_id)
    if doc is None:
        raise HTTPException(status_code=404, detail=f"unknown document id {doc_id!r}")
    return doc


def organization(library: Library, name: str) -> OrgProfile:
    profile = library.organization(name)
    if profile is None:
        raise HTTPException(status_code=404, detail=f"no organization called {name!r}")
    return profile
