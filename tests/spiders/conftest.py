"""Shared helpers: Scrapy responses built from saved bodies, and a private SCOUT_HOME per test."""

from __future__ import annotations

from pathlib import Path

import pytest
from scrapy.http import HtmlResponse, Request, Response, TextResponse, XmlResponse

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "spiders"


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def response(url: str, body: bytes | str, cls: type[Response] = TextResponse, *, status: int = 200,
             headers: dict | None = None, **request_kwargs) -> Response:
    """A response to `url` as the downloader would hand it to a callback."""
    if isinstance(body, str):
        body = body.encode("utf-8")
    # HTML and XML declare their own encoding (meta charset, XML prolog); plain text is taken as UTF-8.
    kwargs = {"encoding": "utf-8"} if cls is TextResponse else {}
    return cls(url=url, body=body, status=status, headers=headers or {}, request=Request(url, **request_kwargs), **kwargs)


def xml(url: str, name_or_body: str | bytes) -> XmlResponse:
    body = fixture_bytes(name_or_body) if isinstance(name_or_body, str) and (FIXTURES / name_or_body).exists() else name_or_body
    return response(url, body, XmlResponse)


def html(url: str, name_or_body: str | bytes) -> HtmlResponse:
    body = fixture_bytes(name_or_body) if isinstance(name_or_body, str) and (FIXTURES / name_or_body).exists() else name_or_body
    return response(url, body, HtmlResponse)


@pytest.fixture(autouse=True)
def scout_home(tmp_path, monkeypatch):
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("SCOUT_HOME", str(home))
    for name in ("SCOUT_CRAWL_FEEDS", "SCOUT_CRAWL_ALLOWED_DOMAINS"):
        monkeypatch.delenv(name, raising=False)
    return home
