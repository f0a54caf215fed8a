"""RSS 2.0, RSS 1.0 (PR TIMES) and Atom feeds, article pages, company names, fallbacks."""

from __future__ import annotations

import pytest
from scrapy import Request
from scrapy.exceptions import IgnoreRequest
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.python.failure import Failure

from domain.models import DocKind, Document, Reject
from spiders.sources.feeds import FeedsSpider, company_names, strip_tracking
from tests.spiders.responses import html, response, xml

RSS = "https://news.example.com/feed/"
RDF = "https://prtimes.jp/technology/index.rdf"
ATOM = "https://helixphotonics.example/news/atom.xml"


def requests_of(output):
    return [o for o in output if isinstance(o, Request)]


def test_rss2_items_become_article_requests():
    spider = FeedsSpider(feeds=RSS)
    out = list(spider.parse(xml(RSS, "feed_rss2.xml")))
    reqs = requests_of(out)
    assert len(reqs) == 2 and len(out) == 2
    assert reqs[0].url == "https://news.example.com/2026/11/20/lumenwave-seed/"  # utm_* stripped
    entry = reqs[0].cb_kwargs["entry"]
    assert entry["title"].startswith("Lumenwave raises $12M")
    assert entry["published"] == "Fri, 20 Nov 2026 08:30:00 +0000"
    assert entry["categories"] == ["Funding", "Materials"] and entry["language"] == "en"
    assert reqs[0].callback == spider.parse_article and reqs[0].errback == spider.article_failed


def test_rss1_prtimes_and_atom_feeds_are_read():
    spider = FeedsSpider(feeds=f"{RDF},{ATOM}")
    rdf = requests_of(spider.parse(xml(RDF, "feed_prtimes.rdf")))
    assert [r.cb_kwargs["entry"]["title"][:8] for r in rdf] == ["株式会社ソラテッ", "水中音響通信の新"]
    assert rdf[0].cb_kwargs["entry"]["language"] == "ja"
    atom = requests_of(spider.parse(xml(ATOM, "feed_atom.xml")))
    assert atom[0].url == "https://helixphotonics.example/news/chip-scale-lidar"
    assert atom[0].cb_kwargs["entry"]["published"] == "2026-11-18T09:00:00Z"
    assert set(spider.allowed_domains) >= {"prtimes.jp", "helixphotonics.example"}


def _entry(spider, feed_url, fixture, index=0):
    return requests_of(spider.parse(xml(feed_url, fixture)))[index]


def test_japanese_press_release_article():
    spider = FeedsSpider(feeds=RDF)
    req = _entry(spider, RDF, "feed_prtimes.rdf")
    [doc] = list(spider.parse_article(html(req.url, "article_ja.html"), **req.cb_kwargs))
    assert isinstance(doc, Document) and doc.kind is DocKind.startup and doc.source == "feeds"
    assert doc.title == "株式会社ソラテック、電波吸収メタマテリアルシートの量産を開始"
    assert "ソラシールド" in doc.text and "2GHzから40GHz" in doc.text
    assert "ログイン" not in doc.text and "Copyright" not in doc.text  # boilerplate is left out
    assert doc.organizations == ["株式会社ソラテック"]  # JSON-LD author, not the publisher PR TIMES
    assert doc.language == "ja"
    assert doc.published.isoformat() == "2026-11-20T10:00:00+09:00"
    assert doc.meta["text_source"] == "article" and doc.meta["site_name"] == "PR TIMES"


def test_english_article_company_from_text_pattern():
    spider = FeedsSpider(feeds=RSS)
    req = _entry(spider, RSS, "feed_rss2.xml")
    redirected = html("https://news.example.com/2026/11/20/lumenwave-seed/", "article_en.html")
    [doc] = list(spider.parse_article(redirected, **req.cb_kwargs))
    assert doc.organizations == ["Lumenwave Technologies Inc."]
    assert "radar cross-section of small drones" in doc.text and "Subscribe" not in doc.text
    assert doc.url == "https://news.example.com/2026/11/20/lumenwave-seed/"
    assert doc.language == "en" and doc.meta["site_name"] == "Deep Tech Startup Wire"
    # the id is the item's guid, so a redirect or canonical change does not make a new document
    assert doc.source_id == "https://news.example.com/?p=48213"


def test_article_without_main_text_falls_back_to_description():
    spider = FeedsSpider(feeds=RSS)
    req = _entry(spider, RSS, "feed_rss2.xml", 1)
    [doc] = list(spider.parse_article(html(req.url, b"<html><body><nav>Home</nav></body></html>"), **req.cb_kwargs))
    assert doc.text.startswith("Quiet Robotics LLC announced a visual-inertial navigation module")
    assert doc.meta["text_source"] == "description"
    assert doc.organizations == ["Quiet Robotics LLC"]


def test_failed_article_request_falls_back_then_rejects():
    spider = FeedsSpider(feeds=RSS)
    req = _entry(spider, RSS, "feed_rss2.xml", 1)
    failure = Failure(IgnoreRequest("Forbidden by robots.txt"))
    failure.request = req
    [doc] = list(spider.article_failed(failure))
    assert isinstance(doc, Document) and doc.meta["fallback_reason"] == "forbidden by robots.txt"
    # no description either: the item is rejected with both reasons
    req.cb_kwargs["entry"]["description"] = ""
    not_found = response(req.url, b"gone", status=404)
    failure = Failure(HttpError(not_found))
    failure.request = req
    [rej] = list(spider.article_failed(failure))
    assert isinstance(rej, Reject) and rej.reason == "article page: http 404; feed item has no description"


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"", "empty body"),
        (b"<html><head><title>Not a feed</title></head></html>", "not an RSS or Atom feed"),
        (b'<?xml version="1.0" encoding="UTF-8"?><rss><channel><title>\xff\xfe</title></channel></rss>', "undecodable"),
    ],
)
def test_bad_feeds_are_rejected(body, reason):
    [rej] = list(FeedsSpider(feeds=RSS).parse(xml(RSS, body)))
    assert isinstance(rej, Reject) and rej.reason.startswith(reason) and rej.url == RSS


def test_truncated_feed_keeps_its_recovered_item_with_the_problem():
    [rej] = list(FeedsSpider(feeds=RSS).parse(xml(RSS, b"<rss><channel><item><title>cut")))
    # the item was read (lenient parse) but has no link to follow; the feed's problem travels with it
    assert rej.reason == "feed item without a link: ''" and rej.detail.startswith("ill-formed feed, read leniently")


def test_non_http_item_links_are_refused():
    feed = b"""<rss version="2.0"><channel><title>x</title><item><title>Leak</title>
    <link>file:///etc/passwd</link><description>d</description></item></channel></rss>"""
    [rej] = list(FeedsSpider(feeds=RSS).parse(xml(RSS, feed)))
    assert rej.reason == "feed item link is not http(s)"


def test_company_name_patterns():
    assert company_names("株式会社ソラテックは、新製品を発表") == ["株式会社ソラテック"]
    assert company_names("アクアリンク合同会社が発表") == ["アクアリンク合同会社"]
    assert company_names("Helix Photonics Corp. introduced a LiDAR") == ["Helix Photonics Corp."]
    assert company_names("no company here") == []
    # an apostrophe inside a name keeps the name whole; a possessive before a name is not part of it
    assert company_names("D'Angelo Technologies, LLC (D5T) completed Phase I") == ["D'Angelo Technologies LLC"]
    assert company_names("O\u2019Neil Optics Inc. ships") == ["O\u2019Neil Optics Inc."]
    assert company_names("Boeing's Helix Photonics Corp. ships") == ["Helix Photonics Corp."]


def test_tracking_parameters_are_stripped():
    # the fragment stays: it tells apart posts on one page
    assert strip_tracking("https://a.example/x?id=3&utm_source=rss&fbclid=9#frag") == "https://a.example/x?id=3#frag"


def test_feeds_relative_to_base_url_and_default_from_settings(monkeypatch):
    spider = FeedsSpider(feeds="feeds/startups.rss", base_url="http://127.0.0.1:8123")
    assert spider.feeds == ["http://127.0.0.1:8123/feeds/startups.rss"]
    monkeypatch.setenv("SCOUT_CRAWL_FEEDS", '["https://prtimes.jp/index.rdf"]')
    assert FeedsSpider().feeds == ["https://prtimes.jp/index.rdf"]


def test_rss_guid_permalink_stands_in_for_a_missing_link():
    feed = b"""<rss version="2.0"><channel><title>x</title>
    <item><title>A</title><guid>https://news.example.com/a</guid><description>d</description></item>
    <item><title>B</title><guid isPermaLink="false">tag:b</guid><description>Beta Systems Inc. news.</description></item>
    </channel></rss>"""
    out = list(FeedsSpider(feeds=RSS).parse(xml(RSS, feed)))
    assert [o.url for o in out if isinstance(o, Request)] == ["https://news.example.com/a"]
    # no link at all: nothing to follow and no URL to give the document, so it is rejected
    assert [o.reason for o in out if isinstance(o, Reject)] == ["feed item without a link: 'B'"]


def test_shift_jis_article_is_decoded():
    spider = FeedsSpider(feeds=RDF)
    req = _entry(spider, RDF, "feed_prtimes.rdf", 1)
    page = ('<html lang="ja"><head><meta charset="Shift_JIS"><title>水中音響通信</title></head><body><article>'
            "<h1>水中音響通信の新方式</h1><p>アクアリンク合同会社は、浅海域で毎秒100キロビットを実現する水中音響通信モデムを発表しました。"
            "独自の適応等化技術により、多重反射の強い港湾内でも安定した通信を確保します。</p></article></body></html>")
    [doc] = list(spider.parse_article(html(req.url, page.encode("shift_jis")), **req.cb_kwargs))
    assert "適応等化技術" in doc.text and doc.organizations == ["アクアリンク合同会社"] and doc.language == "ja"
