"""Notice pages after a redesign: the spiders fall back on structured data, then readable text.

No real DIU, NATO DIANA or ATLA page could be had offline, so each test takes the saved page in
today's layout (tests/fixtures/spiders) and rewrites its markup the way redesigns do: other class
names, other heading levels, cards instead of an accordion, the list moved into JSON-LD.
"""

from __future__ import annotations

import json
import re

from scrapy.utils.test import get_crawler

from domain.models import Document, Reject
from spiders.layout import heading_sections, json_ld_items
from spiders.sources.diu import DiuSpider
from spiders.sources.nato_diana import NatoDianaSpider
from tests.spiders.responses import fixture_bytes, html

DIU = "https://www.diu.mil/work-with-us/open-solicitations"
DIANA = "https://www.diana.nato.int/challenge-programme.html"


def diu_redesigned() -> bytes:
    """The accordion becomes cards: <article class="card"><h3>title</h3> ... </article>, no USWDS classes."""
    page = fixture_bytes("diu_open_solicitations.html").decode()
    page = re.sub(r'<div class="usa-accordion[^"]*"[^>]*>', "<div class=\"cards\">", page)
    page = re.sub(r'<h4 class="usa-accordion__heading">\s*<button[^>]*>(.*?)</button>\s*</h4>',
                  r"<h3 class='card-title'>\1</h3>", page, flags=re.S)
    page = re.sub(r'<div id="[^"]+" class="usa-accordion__content[^"]*" hidden>', "<div class='card-body'>", page)
    assert "usa-accordion" not in page
    return page.encode()


def test_diu_redesign_is_read_from_its_headings_and_text():
    spider = DiuSpider.from_crawler(get_crawler(DiuSpider))
    before = [o for o in spider.parse(html(DIU, "diu_open_solicitations.html")) if isinstance(o, Document)]
    after = list(spider.parse(html(DIU, diu_redesigned())))
    docs = [o for o in after if isinstance(o, Document)]
    assert [d.source_id for d in docs] == [d.source_id for d in before] == ["PROJ00588", "PROJ00591"]
    assert [d.meta["responses_due"] for d in docs] == [d.meta["responses_due"] for d in before]
    assert docs[0].published == before[0].published and docs[0].meta["layout"] == "headings"
    assert "Group 1 and Group 2 unmanned aircraft" in docs[0].text
    assert "An official website" not in docs[0].text  # the footer is not part of any item
    [note] = spider.crawler.stats.get_value("dualscout/notes")  # the crawl summary says the layout changed
    assert "accordion not found" in note and "2 solicitation(s)" in note


def test_diu_list_moved_into_json_ld_is_read_from_it():
    items = [{"@type": "ListItem", "position": 1, "item": {
        "@type": "CreativeWork", "name": "Counter-sUAS Sensing at the Tactical Edge",
        "url": "/work-with-us/submit-solution/PROJ00588",
        "description": "Low size, weight and power sensors that detect, track and classify Group 1 and Group 2 "
                       "unmanned aircraft. Responses Due: March 25, 2025."}}]
    page = ('<html><head><script type="application/ld+json">'
            + json.dumps({"@context": "https://schema.org", "@type": "ItemList", "itemListElement": items})
            + '</script></head><body><div id="app"></div></body></html>').encode()
    [doc] = list(DiuSpider().parse(html(DIU, page)))
    assert doc.source_id == "PROJ00588" and doc.meta["layout"] == "json-ld"
    assert doc.meta["responses_due"] == "2025-03-25"


def test_diu_page_with_nothing_recognisable_is_still_rejected():
    page = b"<html><body><h1>Work with us</h1><p>We are updating this page.</p></body></html>"
    [rej] = list(DiuSpider().parse(html(DIU, page)))
    assert isinstance(rej, Reject) and "layout not recognised" in rej.reason


def test_diana_redesign_without_cards_or_challenge_heading():
    page = fixture_bytes("nato_diana_challenges.html").decode()
    page = page.replace('class="challenge-card"', 'class="tile"').replace("<h2>Challenge areas</h2>", "<h2>Focus areas</h2>")
    page = page.replace('class="challenges"', 'class="areas"').replace("<h3>", "<h4>").replace("</h3>", "</h4>")
    before = {d.title for d in NatoDianaSpider().parse(html(DIANA, "nato_diana_challenges.html")) if isinstance(d, Document)}
    after = [d for d in NatoDianaSpider().parse(html(DIANA, page.encode())) if isinstance(d, Document)]
    assert {d.title for d in after} == before and after[0].meta["layout"] == "headings"  # not "How to apply"
    assert all(d.organizations == ["NATO DIANA"] for d in after)


def test_heading_sections_skip_navigation_and_short_blocks():
    page = b"""<html><body><nav><h2>Menu</h2><p>Home About Contact Careers Newsroom and more links here</p></nav>
    <main><h1>Calls</h1><h2>Tiny</h2><p>Too short.</p>
    <h2>Quantum sensing</h2><p>Navigation-grade quantum sensors for submarines that hold accuracy without GNSS.</p>
    </main></body></html>"""
    sections = heading_sections(html("https://example.org/", page))
    assert [s.title for s in sections] == ["Quantum sensing"] and json_ld_items(html("https://example.org/", page)) == []


def test_atla_pages_are_read_by_their_links_whatever_the_markup():
    """ATLA list pages are followed by link label and target (公募, 研究テーマ, .pdf), not by layout."""
    from spiders.sources.atla import AtlaSpider

    url = "https://www.mod.go.jp/atla/funding/koubo/r07/index.html"
    page = fixture_bytes("atla_koubo.html").decode()
    # a redesign: the list becomes a table, every wrapper and class changes
    links = re.findall(r'<a\s[^>]*href="[^"]+"[^>]*>.*?</a>', page, flags=re.S)
    redesigned = ("<html><body><div class='cms-body'><table>" + "".join(f"<tr><td>{a}</td></tr>" for a in links)
                  + "</table></div></body></html>")
    spider = AtlaSpider(base_url="https://www.mod.go.jp/atla/funding.html")
    before = sorted(r.url for r in spider.parse(html(url, page.encode())))
    after = sorted(r.url for r in spider.parse(html(url, redesigned.encode())))
    assert before and after == before
