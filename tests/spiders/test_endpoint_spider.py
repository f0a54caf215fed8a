"""What the six endpoint spiders get from `spiders.base` (EndpointSpider / ScoutSpider)."""

from __future__ import annotations

import asyncio

import pytest
from scrapy import Request
from twisted.internet.error import TimeoutError as TxTimeoutError
from twisted.python.failure import Failure

from spiders.base import ScoutSpider, mask_secrets, without_secrets
from spiders.sources.jstage import JstageSpider
from spiders.sources.kaken import KakenSpider
from spiders.sources.openalex import OpenalexSpider

from .test_contracts import SPIDERS


async def _start(spider) -> list[Request]:
    return [r async for r in spider.start()]


@pytest.mark.parametrize("spider_cls", SPIDERS, ids=lambda c: c.name)
def test_every_source_is_a_scout_spider_with_extra_domains(spider_cls: type, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SCOUT_CRAWL_ALLOWED_DOMAINS", '["mirror.example.org"]')
    spider = spider_cls(base_url="http://127.0.0.1:8123/x/")
    assert isinstance(spider, ScoutSpider)
    assert {"127.0.0.1", "mirror.example.org", *spider_cls.allowed_domains} <= set(spider.allowed_domains)
    assert spider.base_url == "http://127.0.0.1:8123/x/"  # an endpoint URL is kept verbatim


def test_trailing_slash_of_an_endpoint_is_part_of_the_request(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SCOUT_CRAWL_KAKEN_APPID", "app-secret")
    (request,) = asyncio.run(_start(KakenSpider(base_url="http://127.0.0.1:8123/opensearch/")))
    assert request.url.startswith("http://127.0.0.1:8123/opensearch/?") and request.errback is not None


def test_timeout_rejects_never_carry_the_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SCOUT_CRAWL_OPENALEX_API_KEY", "sk-test-123")
    spider = OpenalexSpider()
    (request,) = asyncio.run(_start(spider))
    failure = Failure(TxTimeoutError(f"Getting {request.url} took longer than 180.0 seconds."))
    failure.request = request  # type: ignore[attr-defined]
    (reject,) = list(spider.errback(failure))
    assert reject.reason.startswith("request failed: TimeoutError")
    assert "sk-test-123" not in reject.reason + (reject.detail or "") + reject.url
    assert "api_key=***" in reject.reason


def test_article_pages_keep_their_own_errback() -> None:
    spider = JstageSpider()
    request = spider.request("https://www.jstage.jst.go.jp/article/x", callback=spider.parse_article,
                             errback=spider.article_failed)
    assert request.errback == spider.article_failed
    assert spider.request("https://api.jstage.jst.go.jp/searchapi/do").errback == spider.errback


def test_secret_helpers() -> None:
    assert without_secrets("https://x/w?a=1&api_key=k&b=2", ("api_key",)) == "https://x/w?a=1&b=2"
    assert without_secrets("https://doi.org/10.1/x?y=%7E", ("api_key",)) == "https://doi.org/10.1/x?y=%7E"
    assert mask_secrets("GET https://x/?appid=abc&kw=1 failed", ("appid",)) == "GET https://x/?appid=***&kw=1 failed"
