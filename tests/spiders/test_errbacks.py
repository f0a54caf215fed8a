"""Requests that fail for good become rejects with the URL (never a credential) and the cause."""

from __future__ import annotations

import pytest
from scrapy import Request
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.internet.error import DNSLookupError
from twisted.python.failure import Failure

from domain.models import Reject

from .test_contracts import SPIDERS
from tests.spiders.responses import response


def _failure(exc: Exception, url: str) -> Failure:
    failure = Failure(exc)
    failure.request = Request(url)  # type: ignore[attr-defined]
    return failure


@pytest.mark.parametrize("spider_cls", SPIDERS, ids=lambda c: c.name)
def test_http_and_network_failures_become_rejects(spider_cls: type) -> None:
    spider = spider_cls()
    url = f"{spider_cls.base_url}?appid=secret-1&api_key=secret-2&q=x"
    (http,) = list(spider.request_failed(_failure(HttpError(response(url, b"oops", status=503), "ignored"), url)))
    (dns,) = list(spider.request_failed(_failure(DNSLookupError("no such host"), url)))
    assert isinstance(http, Reject) and http.reason == "request failed: HTTP 503" and http.source == spider_cls.name
    assert dns.reason.startswith("request failed: DNSLookupError")
    if spider_cls.name in ("openalex", "kaken"):  # the spiders that carry credentials in the URL
        assert "secret" not in http.url and "q=x" in http.url


def test_the_error_body_reaches_the_reject_detail() -> None:
    """What the server said about a refusal (here OpenAlex's own error body) is kept, credentials masked."""
    from spiders.sources.feeds import FeedsSpider
    from spiders.sources.openalex import OpenalexSpider
    from tests.spiders.responses import fixture_bytes

    url = "https://api.openalex.org/works?filter=bogus:1&api_key=secret-2"
    body = fixture_bytes("openalex_invalid_filter.json")
    (rej,) = list(OpenalexSpider().request_failed(_failure(HttpError(response(url, body, status=403), "x"), url)))
    assert "secret" not in (rej.detail or "") and "secret" not in (rej.url or "")
    message = __import__("json").loads(body)["message"]
    assert message[:60] in rej.detail
    html_error = b"<html><body><h1>503 Service Unavailable</h1><p>Back soon.</p></body></html>"
    (rej,) = list(FeedsSpider(feeds=url).errback(_failure(HttpError(response("https://a.example/feed", html_error,
                                                                             status=503), "x"), "https://a.example/feed")))
    assert rej.reason == "http 503" and rej.detail.endswith("503 Service Unavailable Back soon.")
