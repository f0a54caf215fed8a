"""The demo site serves the bundled records in the sources' real formats."""

from __future__ import annotations

import json
import urllib.request

import pytest
from lxml import etree

from scout.demo.site import DemoData, DemoSite

ATOM = "{http://www.w3.org/2005/Atom}"
OPENSEARCH = "{http://a9.com/-/spec/opensearch/1.1/}"


@pytest.fixture(scope="module")
def site():
    with DemoSite() as running:
        yield running


def get(url: str) -> tuple[int, bytes, str]:
    try:
        with urllib.request.urlopen(url) as resp:
            return resp.status, resp.read(), resp.headers.get("Content-Type", "")
    except urllib.error.HTTPError as err:
        return err.code, err.read(), ""


def test_arxiv_atom_pages_and_filters_by_category(site):
    status, body, ctype = get(f"{site.base_url}/api/query?search_query=cat:cs.CV&start=0&max_results=5")
    assert status == 200 and "atom" in ctype
    feed = etree.fromstring(body)
    total = int(feed.findtext(f"{OPENSEARCH}totalResults"))
    entries = feed.findall(f"{ATOM}entry")
    assert len(entries) == 5
    expected = sum(1 for r in DemoData().arxiv if any(c.startswith("cs.CV") for c in r["categories"]))
    assert total == expected
    for entry in entries:
        assert entry.findtext(f"{ATOM}id").startswith(f"{site.base_url}/abs/")
        assert entry.findtext(f"{ATOM}summary").strip()
        assert any(c.get("term").startswith("cs.CV") for c in entry.findall(f"{ATOM}category"))
    _, last, _ = get(f"{site.base_url}/api/query?search_query=cat:cs.CV&start={total}&max_results=5")
    assert etree.fromstring(last).findall(f"{ATOM}entry") == []


def test_rss_items_link_to_article_pages_with_company(site):
    status, body, _ = get(f"{site.base_url}/feeds/announcements.rss")
    assert status == 200
    items = etree.fromstring(body).findall("channel/item")
    assert len(items) == len(DemoData().announcements)
    link = items[0].findtext("link")
    status, page, ctype = get(link)
    assert status == 200 and "text/html" in ctype
    company = items[0].findtext("{http://purl.org/dc/elements/1.1/}creator")
    assert company and company.encode() in page


def test_sbir_solicitations_page_until_empty(site):
    seen = []
    start = 0
    while True:
        status, body, _ = get(f"{site.base_url}/public/api/solicitations?start={start}&rows=2")
        page = json.loads(body)
        if not page:
            break
        seen += [t["topic_number"] for s in page for t in s["solicitation_topics"]]
        start += 2
    assert len(seen) == 8 and len(set(seen)) == 8


def test_unknown_path_is_404_and_robots_txt_is_served(site):
    assert get(f"{site.base_url}/nope")[0] == 404
    status, body, _ = get(f"{site.base_url}/robots.txt")
    assert status == 200 and b"User-agent" in body


# -- the Japanese slice: the real spiders' callbacks read what the site serves ---------------------------------
def _spider_out(callback_result):
    from scrapy import Request

    from domain.models import Document, Reject

    out = list(callback_result or [])
    return ([o for o in out if isinstance(o, Document)], [o for o in out if isinstance(o, Reject)],
            [o for o in out if isinstance(o, Request)])


def test_jstage_search_and_article_pages_become_japanese_research_documents(site):
    from spiders.sources.jstage import JstageSpider
    from tests.spiders.responses import html, xml

    spider = JstageSpider(base_url=f"{site.base_url}/searchapi/do", count=2)
    first = spider.page_url(1)
    docs, rejects, requests = _spider_out(spider.parse(xml(first, get(first)[1])))
    rows = DemoData().japanese["jstage"]
    assert not docs and not rejects
    articles = [r for r in requests if "/article/" in r.url]
    assert len(articles) == 2 and any("start=3" in r.url for r in requests)  # the next page
    status, page, ctype = get(articles[0].url)
    assert status == 200 and "html" in ctype
    [doc], _, _ = _spider_out(spider.parse_article(html(articles[0].url, page), **articles[0].cb_kwargs))
    assert doc.language == "ja" and doc.title == rows[0]["title_ja"]
    assert doc.text.startswith(rows[0]["abstract"][:20]) and rows[0]["title_en"] in doc.text
    assert doc.organizations == rows[0]["institutions"] and doc.published.year == 2025
    # keyword search ANDs its words, as J-STAGE does; no hit is the API's ERR_001, not a fault
    _, body, _ = get(f"{site.base_url}/searchapi/do?service=3&keyword=ISAR%20%E8%89%A6%E8%88%B9&count=10")
    assert len(etree.fromstring(body).findall(f"{ATOM}entry")) == 1
    _, body, _ = get(f"{site.base_url}/searchapi/do?service=3&keyword=nothing-like-this")
    assert _spider_out(spider.parse(xml(first, body))) == ([], [], [])


def test_kaken_grants_become_japanese_research_documents(site, monkeypatch):
    from spiders.sources.kaken import KakenSpider
    from tests.spiders.responses import xml

    monkeypatch.setenv("SCOUT_CRAWL_KAKEN_APPID", "demo")
    spider = KakenSpider(base_url=f"{site.base_url}/opensearch/", rw=50)
    url = spider.page_url(1)
    docs, rejects, requests = _spider_out(spider.parse(xml(url, get(url)[1])))
    rows = DemoData().japanese["kaken"]
    assert len(docs) == len(rows) and not rejects and not requests
    assert all(d.language == "ja" for d in docs)
    assert docs[0].title == rows[0]["title_ja"] and docs[0].organizations == [rows[0]["institution_ja"]]
    assert rows[0]["title_en"] in docs[0].text and docs[0].published.year == rows[0]["start_year"]


def test_prtimes_rss1_feed_and_release_pages_become_japanese_startup_documents(site):
    from spiders.sources.feeds import FeedsSpider
    from tests.spiders.responses import html, xml

    feed = f"{site.base_url}/prtimes/technology.rdf"
    spider = FeedsSpider(feeds=feed)
    _, _, requests = _spider_out(spider.parse(xml(feed, get(feed)[1])))
    rows = DemoData().japanese["prtimes"]
    assert len(requests) == len(rows)
    req = requests[0]
    [doc], _, _ = _spider_out(spider.parse_article(html(req.url, get(req.url)[1]), **req.cb_kwargs))
    assert doc.kind == "startup" and doc.language == "ja" and doc.title == rows[0]["title"]
    assert doc.organizations == [rows[0]["company"]]  # the JSON-LD author, not the publisher PR TIMES
    assert rows[0]["paragraphs"][1][:30] in doc.text


def test_the_japanese_slice_is_labelled_as_written_for_the_demo():
    note = DemoData().japanese["note"]
    assert "written by the dualscout maintainers" in note and "not real" in note
