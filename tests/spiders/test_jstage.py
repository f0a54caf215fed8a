from __future__ import annotations

from datetime import datetime, timezone
from urllib.parse import parse_qs, urlparse

import pytest
from scrapy import Request
from twisted.python.failure import Failure

from domain.models import Document, Reject
from spiders.sources.jstage import JstageSpider, detect_language

from tests.spiders.responses import HtmlResponse, XmlResponse, fixture_bytes, response, run

SEARCH = "https://api.jstage.jst.go.jp/searchapi/do?service=3&keyword=%E3%83%AC%E3%83%BC%E3%83%80&start=1&count=2"
ARTICLE = "https://www.jstage.jst.go.jp/article/transcom/E107.B/3/E107.B_2023EBP3101/_article"


def test_detect_language() -> None:
    assert detect_language("水中音響通信における適応等化器の検討") == "ja"
    assert detect_language("Adaptive equalization for underwater acoustic links") == "en"
    assert detect_language("Ku帯 SAR") == "en"  # two kanji in Latin text do not make it Japanese
    assert detect_language("2024") is None


def test_search_page_follows_articles_rejects_bad_entry_and_pages_on() -> None:
    spider = JstageSpider(keyword="レーダ", count=2)
    out = run(spider.parse(response(SEARCH, fixture_bytes("jstage_search.xml"), cls=XmlResponse)))
    requests = [o for o in out if isinstance(o, Request)]
    rejects = [o for o in out if isinstance(o, Reject)]
    articles = [r for r in requests if r.callback == spider.parse_article]
    pages = [r for r in requests if r.callback == spider.parse]
    assert [r.url for r in articles] == [
        ARTICLE,
        "https://www.jstage.jst.go.jp/article/jasj/80/2/80_95/_article/-char/ja",
    ]
    assert len(rejects) == 1 and "without title or link" in rejects[0].reason
    assert len(pages) == 1
    query = parse_qs(urlparse(pages[0].url).query)
    assert query["start"] == ["3"] and query["service"] == ["3"] and query["keyword"] == ["レーダ"]


def test_search_page_without_following_yields_documents_from_the_api_alone() -> None:
    spider = JstageSpider(follow_articles="false", max_results=2)
    out = run(spider.parse(response(SEARCH, fixture_bytes("jstage_search.xml"), cls=XmlResponse)))
    docs = [o for o in out if isinstance(o, Document)]
    rejects = [o for o in out if isinstance(o, Reject)]
    assert not [o for o in out if isinstance(o, Request)]  # max_results=2 reached
    (sar,) = docs
    assert sar.title == "ドローン搭載Ku帯合成開口レーダによる樹木透過イメージング"
    assert "Foliage-Penetrating Imaging" in sar.text  # the English title rides along
    assert sar.source_id == "10.1587/transcom.2023EBP3101" and sar.language == "ja"
    assert sar.meta["authors"] == ["山田 博", "鈴木 愛子"]
    assert sar.published == datetime(2024, 1, 1, tzinfo=timezone.utc)
    # Only a Japanese title and no abstract: nothing beyond the title to match on.
    assert [r.reason for r in rejects] == ["article without abstract, English title or keywords", "entry without title or link"]
    assert rejects[0].url == "https://www.jstage.jst.go.jp/article/jasj/80/2/80_95/_article/-char/ja"


def test_article_page_adds_abstract_institutions_and_date() -> None:
    spider = JstageSpider()
    search = run(spider.parse(response(SEARCH, fixture_bytes("jstage_search.xml"), cls=XmlResponse)))
    follow = next(r for r in search if isinstance(r, Request) and r.url == ARTICLE)
    page = response(ARTICLE, fixture_bytes("jstage_article.html"), cls=HtmlResponse, cb_kwargs=follow.cb_kwargs, meta=follow.meta)
    (doc,) = run(spider.parse_article(page, **follow.cb_kwargs))
    assert isinstance(doc, Document)
    assert doc.text.startswith("小型無人航空機に搭載可能なKu帯合成開口レーダを試作し")
    assert doc.organizations == ["東北大学", "株式会社スペースセンシング"]
    assert doc.published == datetime(2024, 3, 1, tzinfo=timezone.utc)
    assert doc.language == "ja" and doc.meta["keywords"] == ["合成開口レーダ", "ドローン"]
    assert doc.meta["has_abstract"] is True


def test_failed_article_fetch_keeps_the_search_record() -> None:
    spider = JstageSpider()
    search = run(spider.parse(response(SEARCH, fixture_bytes("jstage_search.xml"), cls=XmlResponse)))
    follow = next(r for r in search if isinstance(r, Request) and r.url == ARTICLE)
    failure = Failure(ConnectionError("refused"))
    failure.request = follow  # type: ignore[attr-defined]
    (doc,) = run(spider.article_failed(failure))
    assert doc.meta["has_abstract"] is False and doc.url == ARTICLE


def test_article_page_that_is_not_html_still_yields_the_record() -> None:
    spider = JstageSpider()
    record = {"title": "タイトル", "title_ja": "タイトル", "title_en": "Title", "url": ARTICLE, "doi": "10.1/x", "joi": ""}
    page = response(ARTICLE, b"\x89PNG\r\n\x1a\n\x00\x00", cls=HtmlResponse, cb_kwargs={"record": record})
    (doc,) = run(spider.parse_article(page, record=record))
    assert isinstance(doc, Document) and doc.source_id == "10.1/x" and doc.text == "Title"


def test_no_hits_is_quiet_and_api_errors_are_rejects() -> None:
    spider = JstageSpider()
    assert run(spider.parse(response(SEARCH, fixture_bytes("jstage_no_hits.xml"), cls=XmlResponse))) == []
    (reject,) = run(spider.parse(response(SEARCH, fixture_bytes("jstage_error.xml"), cls=XmlResponse)))
    assert "ERR_007" in reject.reason and "count" in reject.reason


def test_shift_jis_declared_xml_is_read() -> None:
    body = fixture_bytes("jstage_search.xml").decode("utf-8").replace('encoding="UTF-8"', 'encoding="Shift_JIS"')
    out = run(JstageSpider(follow_articles=False).parse(response(SEARCH, body.encode("shift_jis"), cls=XmlResponse)))
    assert [d.title for d in out if isinstance(d, Document)][0].startswith("ドローン搭載")


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"", "empty body"),
        (b'<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><entry><article_title>', "malformed XML"),
        ("<?xml version='1.0' encoding='UTF-8'?><feed><title>レーダ</title></feed>".encode("shift_jis"), "malformed XML"),
        (b"<html><body>Service Unavailable</body></html>\n<p>", "malformed XML"),
    ],
)
def test_bad_bodies_become_rejects(body: bytes, reason: str) -> None:
    out = run(JstageSpider().parse(response(SEARCH, body, cls=XmlResponse)))
    assert len(out) == 1 and isinstance(out[0], Reject) and reason in out[0].reason


def test_disabled_by_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    import asyncio

    monkeypatch.setenv("SCOUT_CRAWL_JSTAGE_ENABLED", "false")
    spider = JstageSpider()

    async def collect():
        return [r async for r in spider.start()]

    assert asyncio.run(collect()) == []
