from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timezone
from urllib.parse import parse_qs, urlparse

import pytest
from scrapy import Request
from scrapy.exceptions import CloseSpider

from domain.models import Document, Reject
from spiders.sources.openalex import OpenalexSpider, SecretRedactingFilter, rebuild_abstract

from tests.spiders.responses import fixture_bytes, response, run

PAGE = "https://api.openalex.org/works?per_page=2&cursor=%2A"


@pytest.fixture
def spider(monkeypatch: pytest.MonkeyPatch) -> OpenalexSpider:
    monkeypatch.setenv("SCOUT_CRAWL_OPENALEX_API_KEY", "sk-test-123")
    monkeypatch.setenv("SCOUT_CRAWL_OPENALEX_MAILTO", "scout@example.org")
    return OpenalexSpider(search="synthetic aperture radar", since="2024-01-01")


def test_rebuild_abstract_puts_words_back_in_order() -> None:
    assert rebuild_abstract({"world": [1], "hello": [0, 2]}) == "hello world hello"
    assert rebuild_abstract(None) == ""
    assert rebuild_abstract({"x": ["bad", 0]}) == "x"


def test_start_request_carries_search_filter_key_and_mailto(spider: OpenalexSpider) -> None:
    async def first():
        async for request in spider.start():
            return request

    request = asyncio.run(first())
    query = parse_qs(urlparse(request.url).query)
    assert query["cursor"] == ["*"]
    assert query["search"] == ["synthetic aperture radar"]
    assert query["filter"] == ["from_publication_date:2024-01-01"]
    assert query["api_key"] == ["sk-test-123"]
    assert query["mailto"] == ["scout@example.org"]
    assert int(query["per_page"][0]) <= 100


def test_parse_page_yields_documents_rejects_and_next_cursor(spider: OpenalexSpider) -> None:
    out = run(spider.parse(response(PAGE, fixture_bytes("openalex_works_page1.json"))))
    docs = [o for o in out if isinstance(o, Document)]
    rejects = [o for o in out if isinstance(o, Reject)]
    requests = [o for o in out if isinstance(o, Request)]
    assert len(docs) == 2 and len(rejects) == 2 and len(requests) == 1

    sar = docs[0]
    assert sar.kind == "research" and sar.source == "openalex" and sar.source_id == "W4392544428"
    assert sar.url == "https://doi.org/10.1109/tgrs.2024.3371234"
    assert sar.text.startswith("We present a compact synthetic aperture radar that uses a sparse array")
    assert sar.organizations == ["The University of Tokyo", "Massachusetts Institute of Technology"]
    assert sar.published == datetime(2024, 3, 6, tzinfo=timezone.utc)
    assert sar.language == "en"
    assert sar.meta["venue"] == "IEEE Transactions on Geoscience and Remote Sensing"
    assert sar.meta["authors"] == ["Keiko Tanaka", "Daniel R. Moore"]

    ja = docs[1]
    assert ja.language == "ja" and ja.url == "https://openalex.org/W4391000001"
    assert ja.text == "窒化ガリウムHEMTの 300°Cでの 動作を 評価した。"  # NFKC turns ℃ into °C
    assert ja.organizations == ["Nagoya University"]

    # The erratum has no abstract, topic or keywords: nothing to match on, so it is rejected, not emptied.
    assert rejects[0].url == "https://doi.org/10.5555/no-abstract" and "without abstract" in rejects[0].reason
    assert "without id or title" in rejects[1].reason

    query = parse_qs(urlparse(requests[0].url).query)
    assert query["cursor"] == ["IlsxMDAuMCwgJ2h0dHBzOi8vb3BlbmFsZXgub3JnL1c0MzkyNTQ0NDI4J10i"]
    assert query["api_key"] == ["sk-test-123"]


def test_last_page_and_page_cap_stop_paging(monkeypatch: pytest.MonkeyPatch) -> None:
    spider = OpenalexSpider(search="x")
    assert run(spider.parse(response(PAGE, fixture_bytes("openalex_works_last.json")))) == []
    capped = OpenalexSpider(search="x", max_pages=1)
    out = run(capped.parse(response(PAGE, fixture_bytes("openalex_works_page1.json"))))
    assert not [o for o in out if isinstance(o, Request)]


@pytest.mark.parametrize(
    ("status", "body"),
    [(429, "openalex_429.json"), (403, "openalex_budget_exhausted.json"), (200, "openalex_budget_exhausted.json")],
)
def test_exhausted_credits_close_the_spider_with_a_clear_reason(spider: OpenalexSpider, status: int, body: str) -> None:
    with pytest.raises(CloseSpider) as caught:
        run(spider.parse(response(PAGE, fixture_bytes(body), status=status)))
    reason = caught.value.reason
    assert reason.startswith("openalex_credits_exhausted")
    assert f"HTTP {status}" in reason and "SCOUT_CRAWL_OPENALEX_API_KEY" in reason
    assert "sk-test-123" not in reason


def test_bare_429_without_json_still_stops(spider: OpenalexSpider) -> None:
    with pytest.raises(CloseSpider):
        run(spider.parse(response(PAGE, b"<html>Too Many Requests</html>", status=429)))


def test_query_error_is_a_reject_not_a_stop(spider: OpenalexSpider) -> None:
    out = run(spider.parse(response(PAGE, fixture_bytes("openalex_invalid_filter.json"), status=400)))
    assert len(out) == 1 and isinstance(out[0], Reject)
    assert "HTTP 400" in out[0].reason and "publication_year" in out[0].reason


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b'{"meta": {"next_cursor": "abc"}, "results": [', "malformed JSON"),
        (b"", "empty body"),
        (b"   ", "empty body"),
        (b'{"meta": {}, "results": "n/a"}', "no results list"),
        ('{"results": [{"id": "W1", "title": "caf\u00e9"}]}'.encode("latin-1"), "malformed JSON"),
        (b"[1, 2, 3]", "no results list"),
    ],
)
def test_bad_bodies_become_rejects(spider: OpenalexSpider, body: bytes, reason: str) -> None:
    out = run(spider.parse(response(PAGE, body)))
    assert len(out) == 1 and isinstance(out[0], Reject)
    assert reason in out[0].reason
    assert out[0].source == "openalex" and out[0].url == PAGE


def test_rejects_never_carry_the_api_key(spider: OpenalexSpider) -> None:
    url = "https://api.openalex.org/works?per_page=2&cursor=%2A&api_key=sk-test-123&mailto=scout%40example.org"
    (reject,) = run(spider.parse(response(url, b"{oops")))
    assert "sk-test-123" not in reject.url and "api_key" not in reject.url
    assert "cursor=%2A" in reject.url and "mailto=" in reject.url


def test_malformed_work_entries_are_rejected_one_by_one(spider: OpenalexSpider) -> None:
    body = (b'{"meta": {"next_cursor": null}, "results": ["oops", {"id": "https://openalex.org/W9", "title": "Ok",'
            b' "primary_topic": {"display_name": "Radar Systems"}, "keywords": [{"display_name": "clutter"}]}]}')
    out = run(spider.parse(response(PAGE, body)))
    assert isinstance(out[0], Reject) and isinstance(out[1], Document)
    assert out[1].text == "Radar Systems; clutter" and out[1].meta["has_abstract"] is False


def test_retry_middleware_does_not_loop_on_429() -> None:
    assert 429 in OpenalexSpider.handle_httpstatus_list
    assert 429 not in OpenalexSpider.custom_settings["RETRY_HTTP_CODES"]
    assert 503 in OpenalexSpider.custom_settings["RETRY_HTTP_CODES"]


def test_api_key_is_redacted_from_log_records() -> None:
    record = logging.LogRecord("scrapy.core.engine", logging.DEBUG, __file__, 1,
                               "Crawled (%d) <GET %s>", (200, "https://api.openalex.org/works?api_key=sk-test-123"), None)
    assert SecretRedactingFilter("sk-test-123").filter(record)
    assert record.getMessage() == "Crawled (200) <GET https://api.openalex.org/works?api_key=***>"


def test_base_url_host_is_allowed(monkeypatch: pytest.MonkeyPatch) -> None:
    spider = OpenalexSpider(base_url="http://127.0.0.1:8123/works")
    assert "127.0.0.1" in spider.allowed_domains and "api.openalex.org" in spider.allowed_domains
