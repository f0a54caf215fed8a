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
