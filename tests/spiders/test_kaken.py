from __future__ import annotations

import asyncio
from datetime import datetime, timezone
from urllib.parse import parse_qs, urlparse

import pytest
from scrapy import Request
from scrapy.exceptions import CloseSpider

from domain.models import Document, Reject
from spiders.sources.kaken import KakenSpider

from tests.spiders.responses import XmlResponse, fixture_bytes, response, run

PAGE = "https://kaken.nii.ac.jp/opensearch/?appid=app-secret&format=xml&rw=2&st=1&kw=%E9%87%8F%E5%AD%90"


async def _start(spider: KakenSpider) -> list[Request]:
    return [r async for r in spider.start()]


def test_missing_appid_closes_with_a_clear_reason() -> None:
    with pytest.raises(CloseSpider) as caught:
        asyncio.run(_start(KakenSpider(kw="量子")))
    assert caught.value.reason.startswith("kaken_appid_missing")
    assert "SCOUT_CRAWL_KAKEN_APPID" in caught.value.reason


def test_start_request_uses_appid_xml_and_keyword(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SCOUT_CRAWL_KAKEN_APPID", "app-secret")
    (request,) = asyncio.run(_start(KakenSpider(kw="量子センシング", rw=1000)))
    query = parse_qs(urlparse(request.url).query)
    assert query["appid"] == ["app-secret"] and query["format"] == ["xml"]
    assert query["kw"] == ["量子センシング"] and query["rw"] == ["500"] and query["st"] == ["1"]


def test_grant_list_yields_documents_reject_and_next_page(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SCOUT_CRAWL_KAKEN_APPID", "app-secret")
    spider = KakenSpider(kw="量子", rw=2)
    out = run(spider.parse(response(PAGE, fixture_bytes("kaken_grants.xml"), cls=XmlResponse)))
    docs = [o for o in out if isinstance(o, Document)]
    rejects = [o for o in out if isinstance(o, Reject)]
    (next_page,) = [o for o in out if isinstance(o, Request)]
    assert len(docs) == 2 and len(rejects) == 1

    nv = docs[0]
    assert nv.source_id == "KAKENHI-PROJECT-23H01234"
    assert nv.url == "https://kaken.nii.ac.jp/grant/KAKENHI-PROJECT-23H01234/"
    assert nv.title == "ダイヤモンドNVセンターを用いた常温量子磁気センサの高感度化"
    assert nv.text.startswith("本研究では、ダイヤモンド中の窒素-空孔(NV)センター")
    assert "Sensitivity enhancement of room-temperature quantum magnetometers" in nv.text
    assert nv.organizations == ["東京工業大学"]
    assert nv.language == "ja" and nv.kind == "research"
    assert nv.published == datetime(2023, 4, 1, tzinfo=timezone.utc)
    assert nv.meta["period"] == {"start": "2023-04-01", "end": "2026-03-31"}
    assert nv.meta["principal_investigators"] == ["伊藤 真理"]
    assert nv.meta["keywords"] == ["量子センシング", "NVセンター", "磁気センサ"]

    english = docs[1]
    assert english.language == "en" and english.organizations == ["Kyushu University"]
    assert english.published == datetime(2022, 4, 1, tzinfo=timezone.utc)
    assert english.text == "underwater acoustic communication; adaptive equalization"
    assert english.meta["has_abstract"] is False

    assert "without id or title" in rejects[0].reason
    assert "app-secret" not in rejects[0].url and "kw=" in rejects[0].url
    assert parse_qs(urlparse(next_page.url).query)["st"] == ["3"]


def test_namespaced_grant_list_parses_the_same() -> None:
    body = fixture_bytes("kaken_grants.xml").replace(b"<grantAwards>", b'<grantAwards xmlns="http://kaken.nii.ac.jp/ns/1.0">')
    out = run(KakenSpider().parse(response(PAGE, body, cls=XmlResponse)))
    assert [d.source_id for d in out if isinstance(d, Document)] == ["KAKENHI-PROJECT-23H01234", "KAKENHI-PROJECT-22K04567"]


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"", "empty body"),
        (b"<grantAwards><grantAward id='x'><summary>", "malformed XML"),
        ("<?xml version='1.0' encoding='UTF-8'?><grantAwards><totalResults>一</totalResults></grantAwards>".encode("cp932"),
         "malformed XML"),
        (None, "not a KAKEN grant list (<error>): 403 appid is invalid"),
    ],
)
def test_bad_bodies_become_rejects(body: bytes | None, reason: str) -> None:
    body = fixture_bytes("kaken_error.xml") if body is None else body
    out = run(KakenSpider().parse(response(PAGE, body, cls=XmlResponse)))
    assert len(out) == 1 and isinstance(out[0], Reject) and reason in out[0].reason
