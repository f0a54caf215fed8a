"""arXiv API Atom pages: documents, paging, API errors and broken bodies."""

from __future__ import annotations

from scrapy import Request

from domain.models import DocKind, Document, Reject
from spiders.sources.arxiv import ArxivSpider, build_query
from tests.spiders.responses import xml

PAGE1 = "http://export.arxiv.org/api/query?search_query=cat%3Acs.CV&start=0&max_results=2"


def split(output):
    output = list(output)
    return (
        [o for o in output if isinstance(o, Document)],
        [o for o in output if isinstance(o, Reject)],
        [o for o in output if isinstance(o, Request)],
    )


def test_page_yields_research_documents_and_next_page():
    spider = ArxivSpider(query="cat:cs.CV", page_size=2)
    docs, rejects, requests = split(spider.parse(xml(PAGE1, "arxiv_page1.xml")))
    assert rejects == []
    assert [d.source_id for d in docs] == ["2106.01234", "2011.04567"]
    first = docs[0]
    assert first.kind is DocKind.research and first.source == "arxiv"
    assert first.url == "https://arxiv.org/abs/2106.01234"
    assert first.title == "Neural ODEs for Image Segmentation with Level Sets"
    assert first.text.startswith("We propose a novel approach for image segmentation")
    assert "\n" not in first.text  # hard-wrapped abstract lines are joined
    assert first.organizations == ["University of Pennsylvania"]
    assert first.meta["authors"] == ["Rami Hanna", "Maria Lopez"]
    assert first.meta["categories"] == ["cs.CV", "cs.LG", "eess.IV"]
    assert first.meta["primary_category"] == "cs.CV"
    assert first.meta["pdf_url"] == "http://arxiv.org/pdf/2106.01234v1"
    assert first.published.isoformat() == "2021-06-01T17:59:58+00:00"
    assert docs[1].meta["version"] == 2 and docs[1].organizations == ["Huawei Noah's Ark Lab", "McGill University"]
    # totalResults 3, startIndex 0, 2 entries: one more page, starting at 2
    assert len(requests) == 1 and "start=2" in requests[0].url and requests[0].errback == spider.errback


def test_last_page_stops_paging():
    spider = ArxivSpider(query="cat:cs.CV", page_size=2)
    docs, rejects, requests = split(spider.parse(xml(PAGE1.replace("start=0", "start=2"), "arxiv_page2.xml")))
    assert len(docs) == 1 and not rejects and not requests


def test_max_records_caps_paging():
    spider = ArxivSpider(query="cat:cs.CV", page_size=2, max_records=2)
    _, _, requests = split(spider.parse(xml(PAGE1, "arxiv_page1.xml")))
    assert requests == []


def test_api_error_entry_is_rejected():
    docs, rejects, requests = split(ArxivSpider().parse(xml(PAGE1, "arxiv_error.xml")))
    assert docs == [] and requests == []
    assert rejects[0].reason == "arXiv API error: incorrect id format for 1234.12345"


def test_truncated_feed_is_rejected_not_half_read():
    body = (open_fixture := xml(PAGE1, "arxiv_page1.xml").body)[: len(open_fixture) // 2]
    docs, rejects, _ = split(ArxivSpider().parse(xml(PAGE1, body)))
    assert docs == [] and rejects[0].reason.startswith("malformed XML")
    assert rejects[0].url == PAGE1 and rejects[0].source == "arxiv"


def test_empty_and_non_utf8_bodies_are_rejected():
    _, rejects, _ = split(ArxivSpider().parse(xml(PAGE1, b"")))
    assert rejects[0].reason == "empty body"
    latin1 = '<?xml version="1.0" encoding="UTF-8"?><feed xmlns="http://www.w3.org/2005/Atom"><title>Caf\xe9</title></feed>'
    _, rejects, _ = split(ArxivSpider().parse(xml(PAGE1, latin1.encode("latin-1"))))
    assert rejects[0].reason.startswith("undecodable body")


def test_html_error_page_is_not_a_feed():
    _, rejects, _ = split(ArxivSpider().parse(xml(PAGE1, b"<html><body>Rate exceeded</body></html>")))
    assert rejects[0].reason.startswith("not an Atom feed")


def test_query_from_categories_and_keywords():
    assert build_query(["cs.RO", "eess.SP"], ["radar", "synthetic aperture"]) == (
        '(cat:cs.RO OR cat:eess.SP) AND (all:radar OR all:"synthetic aperture")'
    )
    spider = ArxivSpider(categories="cs.RO", keywords="lidar", base_url="http://127.0.0.1:8000/")
    assert spider.page_url(0).startswith("http://127.0.0.1:8000/api/query?search_query=%28cat%3Acs.RO%29+AND")
    assert "127.0.0.1" in spider.allowed_domains


def test_public_endpoint_is_polite():
    assert ArxivSpider().download_delay >= 3.0
    assert not hasattr(ArxivSpider(base_url="http://127.0.0.1:1"), "download_delay")


# --- recorded arXiv API answers (lukasschwab/arxiv.py test fixtures, MIT; see fixtures README) ---

def test_recorded_answer_gives_an_english_document_with_its_time():
    url = "http://export.arxiv.org/api/query?search_query=au:del_maestro+AND+ti:checkerboard"
    [doc] = split(ArxivSpider().parse(xml(url, "arxiv_py/checkerboard.xml")))[0]
    assert doc.source_id == "cond-mat/0603029" and doc.url == "https://arxiv.org/abs/cond-mat/0603029"
    assert doc.language == "en"
    assert doc.published.isoformat() == "2006-03-02T02:22:45+00:00"
    assert doc.meta["doi"] == "10.1103/PhysRevB.74.024520" and doc.meta["version"] == 1
    assert doc.meta["authors"] == ["Adrian Del Maestro", "Bernd Rosenow", "Subir Sachdev"]


def test_recorded_http_400_reaches_the_callback_and_its_message_the_reject():
    import json

    from scrapy.spidermiddlewares.httperror import HttpErrorMiddleware
    from scrapy.utils.test import get_crawler

    from tests.spiders.responses import XmlResponse, fixture_bytes, response

    recorded = json.loads(fixture_bytes("arxiv_py/id_abc_400.json"))
    answer = response(recorded["url"], recorded["body"], XmlResponse, status=recorded["status_code"],
                      headers={"Content-Type": "application/atom+xml; charset=UTF-8"})
    crawler = get_crawler(ArxivSpider)
    crawler.spider = spider = ArxivSpider.from_crawler(crawler)
    HttpErrorMiddleware.from_crawler(crawler).process_spider_input(answer)  # raises for a status it would drop
    docs, [reject], requests = split(spider.parse(answer))
    assert docs == [] and requests == []
    assert reject.reason == "arXiv API error (HTTP 400): incorrect id format for abc"
    assert reject.url == recorded["url"]


def test_http_400_without_an_error_feed_keeps_the_body_text():
    answer = xml(PAGE1, b"<html><body><h1>Bad Request</h1><p>malformed search_query</p></body></html>")
    answer = answer.replace(status=400)
    [reject] = list(ArxivSpider().parse(answer))
    assert reject.reason == "arXiv API error (HTTP 400): Bad Request malformed search_query"


def test_abstract_language():
    from spiders.sources.arxiv import abstract_language

    assert abstract_language("Radar", "We propose a radar for drones and evaluate it on the bench.") == "en"
    assert abstract_language("Sur la stabilité des réseaux", " ".join(["nous étudions la stabilité des "
                             "réseaux de capteurs et montrons que le modèle converge vers une solution"] * 2)) == "other"
    assert abstract_language("小型レーダの研究", "本研究では小型レーダを提案する。") == "ja"
