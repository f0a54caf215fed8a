"""A small loopback HTTP site for crawl tests: static pages with ETag / Last-Modified (answering
conditional GETs with 304), scripted status sequences (500 then 200), redirects, and a request log."""

from __future__ import annotations

import hashlib
import threading
import time
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit


@dataclass
class Page:
    body: bytes = b""
    content_type: str = "text/html; charset=utf-8"
    statuses: list[int] = field(default_factory=list)  # served first, one per request, then 200
    location: str | None = None  # redirect target (status 302)
    cache_control: str | None = None
    last_modified: float = 1_700_000_000.0  # fixed, so re-runs can revalidate
    delay: float = 0.0  # seconds before answering (a slow server)

    @property
    def etag(self) -> str:
        return '"' + hashlib.sha1(self.body).hexdigest()[:16] + '"'


@dataclass
class Hit:
    path: str
    status: int
    headers: dict[str, str]


class LoopbackSite:
    def __init__(self, pages: dict[str, Page]):
        self.pages = pages
        self.log: list[Hit] = []
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server API)
                path = urlsplit(self.path).path
                # an exact "path?query" route wins over the bare path (paged APIs)
                page = site.pages.get(self.path) or site.pages.get(path)
                path = self.path if self.path in site.pages else path
                status, headers, body = 404, {"Content-Type": "text/plain"}, b"not found"
                if page is not None and page.delay:
                    time.sleep(page.delay)
                if page is not None:
                    if page.statuses:
                        status, body = page.statuses.pop(0), b"temporarily broken"
                    elif page.location:
                        status, headers, body = 302, {"Location": page.location}, b""
                    else:
                        headers = {
                            "Content-Type": page.content_type,
                            "ETag": page.etag,
                            "Last-Modified": formatdate(page.last_modified, usegmt=True),
                        }
                        if page.cache_control:
                            headers["Cache-Control"] = page.cache_control
                        if self.headers.get("If-None-Match") == page.etag:
                            status, body = 304, b""
                        else:
                            status, body = 200, page.body
                site.log.append(Hit(path, status, dict(self.headers)))
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def hits(self, path: str) -> list[Hit]:
        return [h for h in self.log if h.path == path]

    def __enter__(self) -> "LoopbackSite":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
