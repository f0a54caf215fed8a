"""The server-rendered pages (the analysts' pages, forms and feeds live in `scout.web.analyst_pages`)."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import HTMLResponse

from scout.web import queries
from scout.web.analyst_pages import document_context, need_context, org_context
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
                    needs=queries.latest_needs(lib(request)), error=None)
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
def need_page(request: Request, need_id: str, limit: int = Query(20, ge=1, le=queries.MAX_LIMIT),
              page_no: int = Query(1, ge=1, le=1000, alias="page"),
              sort: str = Query("score", pattern="^(score|date)$")) -> HTMLResponse:
    view = queries.need_page(lib(request), need_id, per_page=limit, page=page_no, sort=sort)
    # This page's matches (judgements pin and hide within it); the organizations are those of every match so far.
    result = view.result.model_copy(update={"matches": view.matches})
    top = max((m.score for m in result.matches), default=1.0)
    otop = max((o.score for o in result.organizations), default=1.0)
    return page(request, "need.html", result=result, need=result.need, top=top, otop=otop, matches=view.matches,
                first=view.first, page=page_no, has_more=view.has_more, sort=sort, among=view.among,
                **need_context(request, result))


@router.get("/documents/{doc_id}", response_class=HTMLResponse)
def document_page(request: Request, doc_id: str) -> HTMLResponse:
    doc = queries.document(lib(request), doc_id)
    return page(request, "document.html", doc=doc, answered=queries.document_needs(lib(request), doc),
                ranked_at=lib(request).match_run_time(), **document_context(request, doc))


@router.get("/orgs/{name:path}", response_class=HTMLResponse)
def org_page(request: Request, name: str) -> HTMLResponse:
    profile = queries.organization(lib(request), name)
    top = max((n.score for n in profile.needs), default=1.0)
    return page(request, "org.html", org=profile, top=top, ranked_at=lib(request).match_run_time(),
                **org_context(request, profile))


REPORT_CSP = ("default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'; "
              "frame-ancestors 'none'")


@router.get("/reports/{week}", response_class=HTMLResponse)
def report_page(week: str, profile: str = "default", built: str | None = None) -> HTMLResponse:
    """The weekly report's "view in browser" link: the report the mail is (`built`, its build time), or without
    it the newest one written to the outbox for that week."""
    from domain.settings import ReportSettings
    from service.report.send import written_report

    path = written_report(ReportSettings(), week, profile, built)
    if path is None:
        raise HTTPException(status_code=404, detail=f"no report for {week!r}" + (" built at that time" if built else "")
                            + " in the outbox")
    # The e-mail's own HTML: inline styles (mail clients drop <style>) and the chart as a data: URI.
    return HTMLResponse(path.read_text(encoding="utf-8"), headers={"content-security-policy": REPORT_CSP})


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
