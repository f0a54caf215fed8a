"""The JSON API under `/api`: the read routes over the library (the analyst's write routes live in
`scout.web.analyst_api`). Every route calls `scout.web.queries`, as the pages do."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request

from domain.models import Document, NeedMatches, OrgMatch
from scout.web import queries
from service.library import Library, OrgProfile, SearchResult

router = APIRouter(prefix="/api", tags=["api"])


def lib(request: Request) -> Library:
    return request.app.state.library


@router.get("/search", response_model=SearchResult, summary="Search documents")
def api_search(
    request: Request,
    q: str = Query(..., description="Free text, Japanese or English."),
    kind: str | None = Query(None, description="research, startup or need"),
    lang: str | None = Query(None, description="ja, en or other"),
    since: str | None = Query(None, description="Published on or after: YYYY, YYYY-MM or YYYY-MM-DD"),
    until: str | None = Query(None, description="Published on or before: YYYY, YYYY-MM or YYYY-MM-DD"),
    concept: str | None = Query(None, description="Taxonomy concept id"),
    area: str | None = Query(None, description="Critical-technology area id"),
    source: str | None = Query(None, description="Source name, e.g. arxiv"),
    org: str | None = Query(None, description="Organization name or key"),
    limit: int = Query(20, ge=1, le=queries.MAX_LIMIT),
) -> SearchResult:
    return queries.search(lib(request), q, kind=kind, lang=lang, since=since, until=until, concept=concept,
                          area=area, source=source, org=org, limit=limit)


@router.get("/needs", response_model=list[Document], summary="List the needs, by source, then title")
def api_needs(request: Request) -> list[Document]:
    return queries.needs(lib(request))


@router.get("/needs/{need_id}/matches", response_model=NeedMatches, summary="Ranked matches for one need")
def api_matches(request: Request, need_id: str, limit: int = Query(20, ge=1, le=queries.MAX_LIMIT)) -> NeedMatches:
    return queries.need_matches(lib(request), need_id, limit)


@router.get("/documents/{doc_id}", response_model=Document, summary="One document")
def api_document(request: Request, doc_id: str) -> Document:
    return queries.document(lib(request), doc_id)


@router.get("/documents/{doc_id}/needs", response_model=list[OrgMatch],
            summary="The needs a document answers (scored as the last match run ranked them; judgements as they stand now): key = the need's id, name = its title, best first")
def api_document_needs(request: Request, doc_id: str) -> list[OrgMatch]:
    return queries.document_needs(lib(request), queries.document(lib(request), doc_id))


@router.get("/orgs/{name:path}", response_model=OrgProfile, summary="One organization and the needs it answers")
def api_org(request: Request, name: str) -> OrgProfile:
    return queries.organization(lib(request), name)
