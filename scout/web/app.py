"""The dualscout web app: server-rendered pages, a JSON API under `/api` and offline API docs at `/docs`.

`create_app(library, settings)` takes any `service.library.Library`, so tests serve a deterministic fake and
`scout serve` the real index. Pages and API call the same functions (`scout.web.queries`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable
from urllib.parse import urlencode

from fastapi import APIRouter, FastAPI, HTTPException, Query, Request
from fastapi.exception_handlers import http_exception_handler, request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader
from starlette.exceptions import HTTPException as StarletteHTTPException

from service.library import Library, OrgProfile, SearchResult
from domain.models import Document, NeedMatches
from domain.settings import WebSettings
from scout.web import queries
from scout.web.security import SecurityMiddleware
from scout.web.serialized import serialized
from scout.web.text import bar_class, guess_lang, highlight, safe_url

HERE = Path(__file__).parent
FACET_PARAMS = {"kind": "kind", "source": "source", "language": "lang", "concept": "concept", "area": "area"}
FILTER_PARAMS = ("kind", "lang", "since", "until", "concept", "area", "source", "org")
LANG_NAMES = {"ja": "日本語", "en": "English", "other": "other"}
REPORT_CSP = ("default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'; "
              "frame-ancestors 'none'")


def _labels() -> tuple[Callable[[str], str], Callable[[str], str], Callable[[list[str]], str]]:
    """Concept and area labels from the taxonomy when it loads; ids otherwise (the screens never depend on it).

    The third function gives the words of some concepts in both languages, so that evidence in Japanese and
    evidence in English both get the shared concept highlighted.
    """
    try:
        from nlp.taxonomy import load_taxonomy

        tax = load_taxonomy()
        concepts = {c.id: c.en for c in tax.concepts}
        words = {c.id: [*c.labels_en(), *c.labels_ja()] for c in tax.concepts}
        areas = {a.id: a.en for a in tax.areas}
    except Exception:  # noqa: BLE001 - labels are a nicety
        concepts, words, areas = {}, {}, {}

    def concept_words(ids: list[str]) -> str:
        return " ".join(w for cid in ids for w in [cid.replace("-", " "), *words.get(cid, [])])

    return (lambda cid: concepts.get(cid, cid)), (lambda aid: areas.get(aid, aid)), concept_words


def schema_type(spec: dict[str, Any]) -> str:
    """A JSON-schema fragment as a short type name for the docs page: `Evidence | null`, `list of Match`."""
    if "$ref" in spec:
        return spec["$ref"].rsplit("/", 1)[-1]
    if "anyOf" in spec:
        return " | ".join(schema_type(s) for s in spec["anyOf"])
    if "enum" in spec:
        return " | ".join(repr(v) for v in spec["enum"])
    if spec.get("type") == "array":
        return f"list of {schema_type(spec.get('items', {}))}"
    if spec.get("type") == "object" and isinstance(spec.get("additionalProperties"), dict):
        return f"map of {schema_type(spec['additionalProperties'])}"
    return spec.get("type", "any")


def url_with(request: Request, path: str | None = None, **changes: Any) -> str:
    """The current query string with some parameters changed (None drops one); the token never travels."""
    params = {k: v for k, v in request.query_params.items() if k != "token"}
    for key, value in changes.items():
        if value is None or value == "":
            params.pop(key, None)
        else:
            params[key] = str(value)
    query = urlencode(params)
    return (path if path is not None else request.url.path) + (f"?{query}" if query else "")


def create_app(library: Library, settings: WebSettings | None = None) -> FastAPI:
    settings = settings or WebSettings()
    app = FastAPI(
        title="dualscout",
        summary="Dual-use technology that answers published defense needs.",
        version="0.1.0",
        docs_url=None,  # FastAPI's Swagger page loads from a CDN; /docs below is rendered here, offline
        redoc_url=None,
    )
    app.state.library = serialized(library)
    token = settings.token.get_secret_value() if settings.token else None
    app.add_middleware(SecurityMiddleware, token=token)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

    concept_label, area_label, concept_words = _labels()
    env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=True, trim_blocks=True, lstrip_blocks=True)
    env.globals.update(
        highlight=highlight, safe_url=safe_url, guess_lang=guess_lang, schema_type=schema_type, bar_class=bar_class, url_with=url_with,
        concept_label=concept_label, area_label=area_label, concept_words=concept_words, lang_names=LANG_NAMES,
    )
    env.filters["day"] = lambda dt: dt.date().isoformat() if dt else ""
    templates = Jinja2Templates(env=env)

    def lib(request: Request) -> Library:
        return request.app.state.library

    def page(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
        return templates.TemplateResponse(request, name, context, status_code=status)

    # ---- JSON API ------------------------------------------------------------------------------------------
    api = APIRouter(prefix="/api", tags=["api"])

    @api.get("/search", response_model=SearchResult, summary="Search documents")
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

    @api.get("/needs", response_model=list[Document], summary="List the needs, newest first")
    def api_needs(request: Request) -> list[Document]:
        return queries.needs(lib(request))

    @api.get("/needs/{need_id}/matches", response_model=NeedMatches, summary="Ranked matches for one need")
    def api_matches(request: Request, need_id: str, limit: int = Query(20, ge=1, le=queries.MAX_LIMIT)) -> NeedMatches:
        return queries.need_matches(lib(request), need_id, limit)

    @api.get("/documents/{doc_id}", response_model=Document, summary="One document")
    def api_document(request: Request, doc_id: str) -> Document:
        return queries.document(lib(request), doc_id)

    @api.get("/orgs/{name:path}", response_model=OrgProfile, summary="One organization and the needs it answers")
    def api_org(request: Request, name: str) -> OrgProfile:
        return queries.organization(lib(request), name)

    app.include_router(api)

    # ---- pages ---------------------------------------------------------------------------------------------
    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
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

    @app.get("/needs", response_class=HTMLResponse, include_in_schema=False)
    def needs_page(request: Request) -> HTMLResponse:
        return page(request, "needs.html", needs=queries.needs(lib(request)))

    @app.get("/needs/{need_id}", response_class=HTMLResponse, include_in_schema=False)
    def need_page(request: Request, need_id: str, limit: int = Query(20, ge=1, le=queries.MAX_LIMIT),
                  page_no: int = Query(1, ge=1, le=1000, alias="page"),
                  sort: str = Query("score", pattern="^(score|date)$")) -> HTMLResponse:
        view = queries.need_page(lib(request), need_id, per_page=limit, page=page_no, sort=sort)
        result = view.result
        top = max((m.score for m in result.matches), default=1.0)
        otop = max((o.score for o in result.organizations), default=1.0)
        return page(request, "need.html", result=result, need=result.need, top=top, otop=otop, matches=view.matches,
                    first=view.first, page=page_no, has_more=view.has_more, sort=sort)

    @app.get("/documents/{doc_id}", response_class=HTMLResponse, include_in_schema=False)
    def document_page(request: Request, doc_id: str) -> HTMLResponse:
        return page(request, "document.html", doc=queries.document(lib(request), doc_id))

    @app.get("/orgs/{name:path}", response_class=HTMLResponse, include_in_schema=False)
    def org_page(request: Request, name: str) -> HTMLResponse:
        profile = queries.organization(lib(request), name)
        top = max((n.score for n in profile.needs), default=1.0)
        return page(request, "org.html", org=profile, top=top)

    @app.get("/reports/{week}", response_class=HTMLResponse, include_in_schema=False)
    def report_page(week: str, profile: str = "default") -> HTMLResponse:
        """The weekly report's "view in browser" link: the newest one written to the outbox for that week."""
        from domain.settings import ReportSettings
        from service.report.send import written_report

        path = written_report(ReportSettings(), week, profile)
        if path is None:
            raise HTTPException(status_code=404, detail=f"no report for {week!r} in the outbox")
        # The e-mail's own HTML: inline styles (mail clients drop <style>) and the chart as a data: URI.
        return HTMLResponse(path.read_text(encoding="utf-8"), headers={"content-security-policy": REPORT_CSP})

    @app.get("/docs", response_class=HTMLResponse, include_in_schema=False)
    def api_docs(request: Request) -> HTMLResponse:
        schema = app.openapi()
        ops = []
        for path, methods in schema.get("paths", {}).items():
            for method, op in methods.items():
                ok = op.get("responses", {}).get("200", {}).get("content", {}).get("application/json", {})
                ref = ok.get("schema", {})
                ref_name = (ref.get("$ref") or ref.get("items", {}).get("$ref") or "").rsplit("/", 1)[-1]
                if ref.get("type") == "array" and ref_name:
                    ref_name = f"list of {ref_name}"
                ops.append({"method": method.upper(), "path": path, "summary": op.get("summary", ""),
                            "params": op.get("parameters", []), "returns": ref_name})
        models = schema.get("components", {}).get("schemas", {})
        return page(request, "docs.html", ops=ops, models=models)

    @app.exception_handler(StarletteHTTPException)
    async def html_errors(request: Request, exc: StarletteHTTPException):
        if request.url.path.startswith("/api/") or request.url.path in ("/openapi.json", "/healthz"):
            return await http_exception_handler(request, exc)
        detail = exc.detail if isinstance(exc.detail, str) else "error"
        return page(request, "error.html", status=exc.status_code, status_code=exc.status_code, detail=detail)

    @app.exception_handler(Exception)
    async def server_errors(request: Request, exc: Exception):
        # The traceback goes to the server log (Starlette re-raises after this); the client gets one line.
        if request.url.path.startswith("/api/"):
            return JSONResponse({"detail": "internal error in the index; see the server log"}, status_code=500)
        return page(request, "error.html", status=500, status_code=500,
                    detail="The index failed to answer; see the server log.")

    @app.exception_handler(RequestValidationError)
    async def html_validation_errors(request: Request, exc: RequestValidationError):
        if request.url.path.startswith("/api/"):
            return await request_validation_exception_handler(request, exc)
        detail = "; ".join(f"{'.'.join(str(p) for p in e.get('loc', [])[1:])}: {e.get('msg')}" for e in exc.errors())
        return page(request, "error.html", status=400, status_code=400, detail=detail or "bad request")

    return app
