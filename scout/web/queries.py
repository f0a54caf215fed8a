"""The functions behind both the pages and the JSON API, so that the two can never disagree.

Each takes the library and raw request values and returns the library's own models, or raises
`HTTPException` (400 for a bad filter, 404 for an unknown id).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timezone

from fastapi import HTTPException

from domain.limits import MAX_ID_CHARS, MAX_QUERY_CHARS, checked_text
from service.queries import BadQuery, UnknownNeed, build_filters, resolve_need
from service.library import Library, OrgProfile, SearchResult
from domain.models import DocKind, Document, Match, NeedMatches, OrgMatch

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
    checked_text(q, "the query", MAX_QUERY_CHARS)  # InputRejected: 413/422 through the app's handler
    try:
        filters = build_filters(kind=kind, language=lang, since=since, until=until, concept=concept, area=area,
                                source=source, organization=org)
    except BadQuery as exc:
        raise HTTPException(status_code=400, detail=str(exc)) from None
    return library.search(q, filters, limit=max(1, min(limit, MAX_LIMIT)))


def needs(library: Library) -> list[Document]:
    return library.needs()


def latest_needs(library: Library, count: int = 8) -> list[Document]:
    """The newest needs: by publication, or by when they were first seen where the source gives no date."""
    def newest(need: Document):
        moment = need.published or need.first_seen
        return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)  # an undated zone: UTC

    return sorted(library.needs(), key=newest, reverse=True)[:count]


def need_id_of(library: Library, need_id: str) -> str:
    """The full id of the need that `need_id` names: its id or a unique prefix (as `scout match` takes, through
    the one resolver, `service.queries.resolve_need`); 404 when no need has it, 400 when the prefix is ambiguous."""
    try:
        return resolve_need(library, need_id)
    except UnknownNeed as exc:
        raise HTTPException(status_code=404, detail=str(exc)) from None
    except BadQuery as exc:
        raise HTTPException(status_code=400, detail=str(exc)) from None


@dataclass
class NeedPage:
    result: NeedMatches  # the ranked matches up to and including this page
    matches: list[Match]  # this page's
    first: int  # place of the first on this page, in the page's order (by score, or newest first)
    has_more: bool
    among: int = 0  # the matches the order runs over (a date sort: the best DATE_SORT_DEPTH, judged not relevant aside)


DATE_SORT_DEPTH = 200  # sorting by date sorts the best this many matches


def need_page(library: Library, need_id: str, *, per_page: int = 20, page: int = 1, sort: str = "score") -> NeedPage:
    """One page of a need's matches, by score (rank order) or by date (newest first among the best)."""
    start = (page - 1) * per_page
    depth = DATE_SORT_DEPTH if sort == "date" else start + per_page + 1
    result = need_matches(library, need_id, min(max(depth, start + per_page + 1), MAX_LIMIT))
    # Matches judged not relevant come after every other (the library puts them there) and are listed, hidden
    # unless asked for, on the first page only: they never take another match's place on any page.
    rejected = [m for m in result.matches if m.judgement == "not_relevant"]
    ranked = [m for m in result.matches if m.judgement != "not_relevant"]
    if sort == "date":
        ranked.sort(key=lambda m: (m.published is not None, m.published.timestamp() if m.published else 0),
                    reverse=True)
    shown = ranked[start:start + per_page] + (rejected if page == 1 else [])
    return NeedPage(result, shown, start + 1, len(ranked) > start + per_page, len(ranked))


def need_matches(library: Library, need_id: str, limit: int = 20) -> NeedMatches:
    checked_text(need_id, "the need id", MAX_ID_CHARS)
    need_id = need_id_of(library, need_id)
    try:
        return library.match(need_id, limit=max(1, min(limit, MAX_LIMIT)))
    except KeyError:
        raise HTTPException(status_code=404, detail=f"unknown need id {need_id!r}") from None


def document(library: Library, doc_id: str) -> Document:
    checked_text(doc_id, "the document id", MAX_ID_CHARS)
    doc = library.document(doc_id)
    if doc is None:
        raise HTTPException(status_code=404, detail=f"unknown document id {doc_id!r}")
    return doc


def document_needs(library: Library, doc: Document) -> list[OrgMatch]:
    """The needs `doc` answers, best first (`Library.needs_answered`); none for a need, which answers none."""
    return [] if doc.kind == DocKind.need else library.needs_answered(doc.id)


def organization(library: Library, name: str) -> OrgProfile:
    checked_text(name, "the organization", MAX_ID_CHARS)
    profile = library.organization(name)
    if profile is None:
        raise HTTPException(status_code=404, detail=f"no organization called {name!r}")
    return profile
