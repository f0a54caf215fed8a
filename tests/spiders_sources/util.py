"""Build Scrapy responses from saved bodies, the way the engine hands them to callbacks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from scrapy.http import HtmlResponse, Request, Response, TextResponse, XmlResponse

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "spiders_sources"


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def response(
    url: str,
    body: bytes,
    cls: type[Response] = TextResponse,
    status: int = 200,
    headers: dict[str, Any] | None = None,
    meta: dict[str, Any] | None = None,
    cb_kwargs: dict[str, Any] | None = None,
    **kwargs: Any,
) -> Response:
    request = Request(url, meta=meta or {}, cb_kwargs=cb_kwargs or {})
    return cls(url=url, body=body, status=status, headers=headers or {}, request=request, **kwargs)


def run(callback_result: Any) -> list[Any]:
    return list(callback_result or [])


__all__ = ["FIXTURES", "HtmlResponse", "Response", "TextResponse", "XmlResponse", "fixture", "response", "run"]
