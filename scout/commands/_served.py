"""When `scout serve` runs, the CLI's queries go through it: it already owns the index and has the model loaded,
so a `scout search` answers without loading anything heavy.

`scout serve` writes `$SCOUT_HOME/serve.json` (its URL, pid and which index it serves) once it listens and
removes it when it stops. `served_library()` reads that file and uses the server only if the pid is alive, the
index is the one this process would open and `/healthz` answers; anything else (no file, a stale file from a
killed server, another index) means: open the index here, as before. `ServedLibrary` is the `Library` over the
server's JSON API (stdlib `urllib`: importing an HTTP client library would cost more than the query).
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any, Iterable

from scout.relay import pid_alive

SERVE_FILE = "serve.json"
HEALTH_TIMEOUT = 1.0  # seconds: a server that cannot answer its health check this fast is not used
REQUEST_TIMEOUT = 600.0  # a match over a large index may take a while on a busy machine


def serve_file(home: Path | None = None) -> Path:
    from domain.settings import scout_home

    return (home or scout_home()) / SERVE_FILE


def index_identity() -> dict[str, str]:
    """Which index this process would open: the server is used only when it serves the same one."""
    from domain.settings import IndexSettings

    settings = IndexSettings()
    if settings.backend == "server":
        return {"backend": "server", "url": settings.url, "collection": settings.collection}
    return {"backend": settings.backend, "path": str(Path(settings.resolved_path).resolve())}


def advertise(url: str, home: Path | None = None, gated: bool = False) -> Path:
    """Write the serve file (atomically) for this process; returns its path. `gated`: the server asks for a
    token (a shared one or named users'), so only a CLI that has one (SCOUT_WEB_TOKEN) uses it."""
    path = serve_file(home)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps({"url": url, "pid": os.getpid(), "index": index_identity(), "gated": gated}),
                   encoding="utf-8")
    os.replace(tmp, path)
    return path


def withdraw(home: Path | None = None) -> None:
    """Remove the serve file if this process wrote it."""
    path = serve_file(home)
    try:
        if json.loads(path.read_text(encoding="utf-8")).get("pid") == os.getpid():
            path.unlink()
    except (OSError, ValueError):
        pass


def _token() -> str | None:
    from domain.settings import WebSettings

    token = WebSettings().token
    return token.get_secret_value() if token else None


class ServedError(RuntimeError):
    """The server answered with an error the CLI reports as is (status and the server's detail)."""

    def __init__(self, status: int, detail: str):
        super().__init__(detail)
        self.status = status


class ServedLibrary:
    """`Library` over a running `scout serve`'s JSON API."""

    thread_safe = True

    def __init__(self, url: str, token: str | None = None):
        self.url = url.rstrip("/")
        self.token = token

    def _get(self, path: str, timeout: float = REQUEST_TIMEOUT, **params: Any) -> Any:
        query = urllib.parse.urlencode({k: v for k, v in params.items() if v is not None})
        request = urllib.request.Request(self.url + path + (f"?{query}" if query else ""))
        request.add_header("Accept", "application/json")
        if self.token:
            request.add_header("Authorization", f"Bearer {self.token}")
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return json.loads(response.read().decode("utf-8"))
        except urllib.error.HTTPError as exc:
            try:
                detail = json.loads(exc.read().decode("utf-8")).get("detail", "")
            except (ValueError, AttributeError, OSError):
                detail = ""
            if exc.code in (401, 403):
                detail = (f"scout serve at {self.url} refused this command's token (HTTP {exc.code}); set "
                          "SCOUT_WEB_TOKEN to a valid token")
            raise ServedError(exc.code, str(detail) or f"HTTP {exc.code}") from None

    def healthy(self) -> bool:
        try:
            return self._get("/healthz", timeout=HEALTH_TIMEOUT).get("status") == "ok"
        except (OSError, ValueError, ServedError, AttributeError):
            return False

    # -- Library -------------------------------------------------------------------------------------
    def search(self, query: str, filters=None, limit: int = 20, feedback=None):
        """`feedback` (a watchlist's judgements) cannot travel through the API: here it only puts the documents
        judged not relevant below the others; the server's own runs of the watchlist use all of it."""
        from service.library import SearchResult

        f = filters
        params: dict[str, Any] = {"q": query, "limit": limit}
        if f is not None:
            params.update(kind=f.kind.value if f.kind else None, lang=f.language,
                          since=f.since.isoformat() if f.since else None,
                          until=f.until.isoformat() if f.until else None,
                          concept=f.concept, area=f.area, source=f.source, org=f.organization)
        result = SearchResult.model_validate(self._get("/api/search", **params))
        if feedback is not None:
            result.hits.sort(key=lambda h: h.doc_id in feedback.not_relevant)
        return result

    def needs(self):
        from domain.models import Document

        return [Document.model_validate(d) for d in self._get("/api/needs")]

    def match(self, need_id: str, limit: int = 20):
        from domain.models import NeedMatches

        try:
            return NeedMatches.model_validate(self._get(f"/api/needs/{urllib.parse.quote(need_id, safe='')}/matches",
                                                        limit=limit))
        except ServedError as exc:
            if exc.status == 404:
                raise KeyError(need_id) from None
            raise

    def _one_or_none(self, path: str, model):
        """The model at `path`, or None where the server answers 404 (an unknown id or name)."""
        try:
            return model.model_validate(self._get(path))
        except ServedError as exc:
            if exc.status == 404:
                return None
            raise

    def document(self, doc_id: str):
        from domain.models import Document

        return self._one_or_none(f"/api/documents/{urllib.parse.quote(doc_id, safe='')}", Document)

    def organization(self, name_or_key: str):
        from service.library import OrgProfile

        return self._one_or_none(f"/api/orgs/{urllib.parse.quote(name_or_key, safe='')}", OrgProfile)

    def all_matches(self, limit_per_need: int = 20) -> Iterable:
        for need in self.needs():
            yield from self.match(need.id, limit=limit_per_need).matches


def served_library(home: Path | None = None) -> ServedLibrary | None:
    """The running `scout serve` for this index, verified live, or None."""
    try:
        info = json.loads(serve_file(home).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(info, dict) or not pid_alive(info.get("pid")) or not isinstance(info.get("url"), str):
        return None
    if info.get("index") != index_identity():
        return None
    token = _token()
    if info.get("gated") and not token:
        return None  # it would answer 401: open the index here (through the server's index routes)
    library = ServedLibrary(info["url"], token)
    return library if library.healthy() else None
