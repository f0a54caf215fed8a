"""NATO DIANA challenge areas as needs.

    scrapy crawl nato_diana

The challenge programme page presents each challenge area as a card (an element whose class starts
with `challenge`, holding a heading, a description and usually a link to the area's page). When no
such cards exist the page is read as sections: every h3 under an h2 that mentions "challenge" is an
area, with the paragraphs after it as its description.
"""

from __future__ import annotations

import re
from typing import Any, Iterator

import scrapy

from domain.models import DocKind, Document, Reject
from spiders.base import EndpointSpider, join_text, slugify
from spiders.layout import page_sections
from spiders.records import joined_url, one_record

START_URL = "https://www.diana.nato.int/challenge-programme.html"
ORGANIZATION = "NATO DIANA"
_CARD_PREDICATE = (
    "[@class and (starts-with(normalize-space(@class), 'challenge') or contains(@class, ' challenge'))]"
    "[.//h2 or .//h3 or .//h4][.//p]"
)
_YEAR = re.compile(r"\b(20\d{2})\b")


class NatoDianaSpider(EndpointSpider):
    """NATO DIANA challenge areas, one `Document(kind=need)` per area."""

    name = "nato_diana"
    base_url = START_URL  # the public endpoint; `-a base_url=...` points the spider elsewhere
    kind = DocKind.need
    allowed_domains = ["www.diana.nato.int", "diana.nato.int"]

    def parse(self, response: scrapy.http.Response, **kwargs: Any) -> Iterator[Document | Reject]:
        """The challenge programme page: one need per challenge area.

        @url https://www.diana.nato.int/challenge-programme.html
        @returns items 1
        @returns requests 0 0
        """
        if not isinstance(response, scrapy.http.TextResponse) or not response.body.strip():
            yield self.reject(response.url, "empty body or not an HTML page")
            return
        areas = list(self.from_cards(response)) or list(self.from_sections(response))
        layout = "cards or sections"
        if not areas:  # a redesigned page: its structured data, else its headings and text
            found = page_sections(response)
            areas = [(s.title, s.text, s.link) for s in found]
            layout = found[0].via if found else layout
            if found:
                self.note(f"{response.url}: no challenge cards or sections (page redesigned?); "
                          f"{len(found)} area(s) read from the page's {layout}")
        if not areas:
            yield self.reject(response.url, "no challenge areas found: page layout not recognised")
            return
        page_title = join_text(response.css("title::text").getall())
        year_match = _YEAR.search(page_title + " " + join_text(response.css("h1 ::text").getall()))
        seen: set[str] = set()
        for title, description, link in areas:
            if not title:
                yield self.reject(response.url, "challenge area without a title")
                continue
            if not description:
                yield self.reject(link or response.url, f"challenge area '{title}' without a description")
                continue
            slug = slugify(title)
            if slug in seen:
                continue
            seen.add(slug)
            yield one_record(self, link or response.url, Document.make,
                kind=self.kind,
                source=self.source,
                source_id=slug,
                url=link or f"{response.url.split('#')[0]}#{slug}",
                title=title,
                text=description,
                language="en",
                organizations=[ORGANIZATION],
                meta={"challenge_area": title, "programme_year": int(year_match.group(1)) if year_match else None,
                      "page": response.url, "layout": layout},
            )

    def from_cards(self, response: scrapy.http.TextResponse) -> Iterator[tuple[str, str, str | None]]:
        cards = response.xpath("//*" + _CARD_PREDICATE)
        # Keep the innermost cards: a "challenges" wrapper holding cards is not itself an area.
        for card in cards:
            if card.xpath("./descendant::*" + _CARD_PREDICATE):
                continue
            title = join_text(card.xpath("(.//h2|.//h3|.//h4)[1]//text()").getall())
            description = " ".join(join_text(p.xpath(".//text()").getall()) for p in card.css("p, li"))
            href = card.css("a[href]::attr(href)").get()
            yield title, " ".join(description.split()), joined_url(response, href)

    def from_sections(self, response: scrapy.http.TextResponse) -> Iterator[tuple[str, str, str | None]]:
        for h2 in response.xpath("//h2[contains(translate(., 'CHALENG', 'chaleng'), 'challenge')]"):
            title, parts, href = None, [], None
            for sibling in h2.xpath("following-sibling::*"):
                tag = sibling.root.tag
                if tag == "h2":
                    break
                if tag == "h3":
                    if title is not None:
                        yield title, " ".join(parts), href
                    title = join_text(sibling.xpath(".//text()").getall())
                    parts = []
                    href = sibling.css("a[href]::attr(href)").get()
                    href = joined_url(response, href)
                elif title is not None and tag in ("p", "ul", "ol", "div"):
                    text = join_text(sibling.xpath(".//text()").getall())
                    if text:
                        parts.append(text)
            if title is not None:
                yield title, " ".join(parts), href
