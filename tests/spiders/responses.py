"""Scrapy responses built from saved bodies, the way the engine hands them to callbacks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from scrapy.http import HtmlResponse, Request, Response, TextResponse, XmlResponse

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "spiders"


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def response(url: str, body: bytes | str, cls: type[Response] = TextResponse, *, status: int = 200,
             headers: dict | None = None, meta: dict[str, Any] | None = None, cb_kwargs: dict[str, Any] | None = None,
             encoding: str | None = None, **request_kwargs: Any) -> Response:
    """A response to `url` as the downloader would hand it to a callback."""
    if isinstance(body, str):
        body = body.encode("utf-8")
    # HTML and XML declare their own encoding (meta charset, XML prolog); plain text is taken as UTF-8.
    if encoding is None and cls is TextResponse:
        encoding = "utf-8"
    kwargs = {"encoding": encoding} if encoding else {}
    request = Request(url, meta=meta or {}, cb_kwargs=cb_kwargs or {}, **request_kwargs)
    return cls(url=url, body=body, status=status, headers=headers or {}, request=request, **kwargs)


def xml(url: str, name_or_body: str | bytes) -> XmlResponse:
    body = fixture_bytes(name_or_body) if isinstance(name_or_body, str) and (FIXTURES / name_or_body).exists() else name_or_body
    return response(url, body, XmlResponse)


def html(url: str, name_or_body: str | bytes) -> HtmlResponse:
    body = fixture_bytes(name_or_body) if isinstance(name_or_body, str) and (FIXTURES / name_or_body).exists() else name_or_body
    return response(url, body, HtmlResponse)


def run(callback_result: Any) -> list[Any]:
    return list(callback_result or [])


__all__ = ["FIXTURES", "HtmlResponse", "Response", "TextResponse", "XmlResponse", "fixture_bytes", "html",
           "response", "run", "xml"]
