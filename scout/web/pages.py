"""The server-rendered pages (the analysts' pages, forms and feeds live in `scout.web.analyst_pages`)."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import HTMLResponse

from scout.web import queries
from scout.web.analyst_pages import need_context, org_context
from scout.web.render import page
from service.library import Library

router = APIRouter(include_in_schema=False)

FACET_PARAMS = {"kind": "kind", "source": "source", "language": "lang", "concept": "concept", "area": "area"}
FILTER_PARAMS = ("kind", "lang", "since", "until", "concept", "area", "source", "org")


def lib(request: Request) -> Library:
    return request.app.state.library


@router.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/", response_class=HTMLResponse)
def search_page(request: Request, q: str = "", limit: int = Query(20, ge=1, le=queries.MAX_LIMIT)) -> HTMLResponse:
    params = {k: request.query_params.get(k) or None for k in FILTER_PARAMS}
    active = {k: v for k, v in params.items() if v}
    if not q.strip() and not active:
        return page(request, "search.html", q=q, result=None, params=params, active=active,
                    needs=queries.needs(lib(request))[:8], error=None)
    try:
        result = queries.search(lib(request), q, limit=limit, **params)
    except HTTPException as exc:
        return page(request, "search.html", status=exc.status_code, q=q, result=None, params=params,
                    active=active, needs=[], error=exc.detail)
    return page(request, "search.html", q=q, result=result, params=params, active=active, needs=[], error=None, limit=limit,
                facet_params=FACET_PARAMS, top=max((h.score for h in result.hits), default=1.0))


@router.get("/needs", response_class=HTMLResponse)
def needs_page(request: Request) -> HTMLResponse:
    return page(request, "needs.html", needs=queries.needs(lib(request)))


@router.get("/needs/{need_id}", response_class=HTMLResponse)
def need_page(request: Request, need_id: str, limit: int = Query(20, ge=1, le=queries.MAX_LIMIT)) -> HTMLResponse:
    result = queries.need_matches(lib(request), need_id, limit)
    top = max((m.score for m in result.matches), default=1.0)
    otop = max((o.score for o in result.organizations), default=1.0)
    return page(request, "need.html", result=result, need=result.need, top=top, otop=otop,
                **need_context(request, result))


@router.get("/documents/{doc_id}", response_class=HTMLResponse)
def document_page(request: Request, doc_id: str) -> HTMLResponse:
    return page(request, "document.html", doc=queries.document(lib(request), doc_id))


@router.get("/orgs/{name:path}", response_class=HTMLResponse)
def org_page(request: Request, name: str) -> HTMLResponse:
    profile = queries.organization(lib(request), name)
    top = max((n.score for n in profile.needs), default=1.0)
    return page(request, "org.html", org=profile, top=top, **org_context(request, profile))


@router.get("/docs", response_class=HTMLResponse)
def api_docs(request: Request) -> HTMLResponse:
    schema = request.app.openapi()
    ops = []
    for path, methods in schema.get("paths", {}).items():
        for method, op in methods.items():
            ok = op.get("responses", {}).get("200", {}).get("content", {}).get("application/json", {})
            ref = ok.get("schema", {})
            ref_name = (ref.get("$ref") or ref.get("items", {}).get("$ref") or "").rsplit("/", 1)[-1]
            if ref.get("type") == "array" and ref_name:
                ref_name = f"list of {ref_name}"
            body = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema", {})
            ops.append({"method": method.upper(), "path": path, "summary": op.get("summary", ""),
                        "params": op.get("parameters", []), "returns": ref_name,
                        "body": (body.get("$ref") or "").rsplit("/", 1)[-1]})
    models = schema.get("components", {}).get("schemas", {})
    return page(request, "docs.html", ops=ops, models=models)
