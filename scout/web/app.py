"""The dualscout web app: server-rendered pages, a JSON API under `/api` and offline API docs at `/docs`.

`create_app(library, settings)` takes any `service.library.Library`, so tests serve a deterministic fake and
`scout serve` the real index. It assembles the routers (`scout.web.api`, `scout.web.pages`), the token gate and
the error pages; pages and API call the same functions (`scout.web.queries`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable
from urllib.parse import urlencode

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader
from starlette.exceptions import HTTPException as StarletteHTTPException

from domain.limits import InputRejected
from domain.models import document_terms, score_label
from service.analyst import AnalystStore, open_analyst_store
from domain.labels import source_label
from service.library import Library
from domain.settings import WebSettings
from scout.web import analyst_api, analyst_pages, api, pages, render
from scout.web.security import SecurityMiddleware, served_hosts
from domain.times import shown, shown_day
from scout.web.serialized import serialized
from scout.web.text import bar_class, guess_lang, highlight, is_loopback, safe_url, source_reference

HERE = Path(__file__).parent
LANG_NAMES = {"ja": "日本語", "en": "English", "other": "other"}


def _labels() -> tuple[Callable[[str], str], Callable[[str], str], Callable[[list[str]], str]]:
    """Concept and area labels from the taxonomy when it loads; ids otherwise (the screens never depend on it).

    The third function gives the words of some concepts in both languages, so that evidence in Japanese and
    evidence in English both get the shared concept highlighted.
    """
    from service import labels  # the one rule the CLI and a watchlist's filters name them by

    tax = labels.taxonomy()  # the one the index was analysed with
    words = {c.id: [*c.labels_en(), *c.labels_ja()] for c in tax.concepts} if tax is not None else {}

    def concept_words(ids: list[str]) -> str:
        return " ".join(w for cid in ids for w in [cid.replace("-", " "), *words.get(cid, [])])

    return labels.concept_label, labels.area_label, concept_words


def _readable(text: str) -> str:
    """A crawled text with the spaces its source dropped between sentences ("feasible.This"), as evidence
    shows it (service.evidence.readable; imported on first use, as the library imports it anyway)."""
    from service.evidence import readable

    return readable(text)


def _report_host() -> list[str]:
    """The host of SCOUT_REPORT_BASE_URL: the mail's links name this server by it (a reverse proxy's name)."""
    from urllib.parse import urlsplit

    from domain.settings import ReportSettings

    try:
        host = urlsplit(ReportSettings().base_url).hostname
    except ValueError:  # a bad value is `scout config`'s to report, not the server's to fail on
        return []
    return [host] if host else []


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


def create_app(library: Library, settings: WebSettings | None = None, analyst: AnalystStore | None = None) -> FastAPI:
    """The app over `library`; `analyst` holds users, judgements and watchlists (default: the configured one)."""
    settings = settings or WebSettings()
    analyst = analyst if analyst is not None else open_analyst_store()
    app = FastAPI(
        title="dualscout",
        summary="Dual-use technology that answers published defense needs.",
        version="0.1.0",
        docs_url=None,  # FastAPI's Swagger page loads from a CDN; /docs below is rendered here, offline
        redoc_url=None,
    )
    app.state.library = serialized(library)
    token = settings.token.get_secret_value() if settings.token else None
    app.state.analyst = analyst
    app.add_middleware(SecurityMiddleware, token=token, users=analyst.user_for_token, users_exist=analyst.has_users,
                       open_allowed=is_loopback(settings.host),
                       hosts=served_hosts(settings.host, [*settings.allowed_hosts, *_report_host()]))
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

    concept_label, area_label, concept_words = _labels()
    env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=True, trim_blocks=True, lstrip_blocks=True)
    env.globals.update(
        highlight=highlight, safe_url=safe_url, source_reference=source_reference, guess_lang=guess_lang, schema_type=schema_type, bar_class=bar_class, url_with=url_with,
        concept_label=concept_label, area_label=area_label, concept_words=concept_words, lang_names=LANG_NAMES,
        watch_form_fields=analyst_pages.watch_form_fields, document_terms=document_terms, score_label=score_label,
        term_facets={"method": "technology / method", "material": "material", "task": "task / application"},
    )
    env.filters["day"] = shown_day  # times in one zone, named (domain/times.py)
    env.filters["moment"] = shown
    env.filters["readable"] = _readable
    env.filters["source_label"] = source_label  # what a person reads; URLs, facets and the API keep the name
    templates = Jinja2Templates(env=env)

    app.state.templates = templates
    app.include_router(api.router)
    app.include_router(analyst_api.router)
    app.include_router(pages.router)
    app.include_router(analyst_pages.router)

    @app.exception_handler(StarletteHTTPException)
    async def html_errors(request: Request, exc: StarletteHTTPException):
        if request.url.path.startswith(("/api/", "/feeds/", "/internal/")) or request.url.path in ("/openapi.json", "/healthz"):
            return await http_exception_handler(request, exc)
        detail = exc.detail if isinstance(exc.detail, str) else "error"
        return render.page(request, "error.html", status=exc.status_code, status_code=exc.status_code, detail=detail)

    @app.exception_handler(Exception)
    async def server_errors(request: Request, exc: Exception):
        # The traceback goes to the server log (Starlette re-raises after this); the client gets one line.
        if request.url.path.startswith(("/api/", "/internal/")):
            return JSONResponse({"detail": "internal error in the index; see the server log"}, status_code=500)
        return render.page(request, "error.html", status=500, status_code=500,
                    detail="The index failed to answer; see the server log.")

    @app.exception_handler(InputRejected)
    async def rejected_input(request: Request, exc: InputRejected):
        # Too long (413) or not text (422): refused whole with the reason, from the library, store or a route.
        if request.url.path.startswith(("/api/", "/feeds/")):
            return JSONResponse({"detail": str(exc)}, status_code=exc.status)
        return render.page(request, "error.html", status=exc.status, status_code=exc.status, detail=str(exc))

    @app.exception_handler(RequestValidationError)
    async def html_validation_errors(request: Request, exc: RequestValidationError):
        if request.url.path.startswith("/api/"):
            # FastAPI's answer echoes each bad input: a 1 MB query came back whole, a lone surrogate made the
            # echo itself fail (500). The location and the reason are what a client needs.
            errors = [{k: v for k, v in e.items() if k in ("type", "loc", "msg")} for e in exc.errors()]
            return JSONResponse({"detail": jsonable_encoder(errors)}, status_code=422)
        detail = "; ".join(f"{'.'.join(str(p) for p in e.get('loc', [])[1:])}: {e.get('msg')}" for e in exc.errors())
        return render.page(request, "error.html", status=400, status_code=400, detail=detail or "bad request")

    return app
