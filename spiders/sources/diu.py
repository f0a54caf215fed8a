"""DIU open solicitations (Areas of Interest / Commercial Solutions Openings) as needs.

    scrapy crawl diu

The page lists each open solicitation as a U.S. Web Design System accordion item: a heading
(`.usa-accordion__heading`) with the title, then a content block (`.usa-accordion__content`) with
the summary, the due date and a "Submit a Solution" link to `/work-with-us/submit-solution/<id>`.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Iterator

import scrapy

from domain.models import DocKind, Document, Reject
from spiders.base import EndpointSpider, join_text, slugify
from spiders.dates import parse_date as parse_any_date
from spiders.layout import page_sections
from spiders.records import joined_url, one_record

START_URL = "https://www.diu.mil/work-with-us/open-solicitations"
ORGANIZATION = "Defense Innovation Unit"
_MONTH_DATE = r"([A-Z][a-z]{2,8}\.? \d{1,2},? \d{4}|\d{4}-\d{2}-\d{2}|\d{1,2}/\d{1,2}/\d{4})"
_DUE = re.compile(r"(?:responses?|submissions?|proposals?)\s+(?:are\s+)?due(?:\s+(?:by|on))?\s*:?\s*" + _MONTH_DATE, re.I)
_POSTED = re.compile(r"(?:posted|published|released|opened)(?:\s+on)?\s*:?\s*" + _MONTH_DATE, re.I)


def parse_date(raw: str) -> datetime | None:
    """"March 5, 2025", "Mar. 5, 2025", "2025-03-05", "03/05/2025" (US, month first)."""
    return parse_any_date(raw)


class DiuSpider(EndpointSpider):
    """DIU open solicitations, one `Document(kind=need)` per solicitation."""

    name = "diu"
    base_url = START_URL  # the public endpoint; `-a base_url=...` points the spider elsewhere
    kind = DocKind.need
    allowed_domains = ["www.diu.mil", "diu.mil"]

    def parse(self, response: scrapy.http.Response, **kwargs: Any) -> Iterator[Document | Reject]:
        """The open-solicitations page: one need per accordion item.

        @url https://www.diu.mil/work-with-us/open-solicitations
        @returns items 1
        @returns requests 0 0
        """
        if not isinstance(response, scrapy.http.TextResponse) or not response.body.strip():
            yield self.reject(response.url, "empty body or not an HTML page")
            return
        headings = response.css(".usa-accordion__heading")
        if not headings:
            if re.search(r"no (?:open|current) solicitations", response.text, re.I):
                return  # a legitimately empty list
            # a redesigned page: its structured data, else its headings and text (spiders/layout.py)
            sections = [s for s in page_sections(response) if _DUE.search(s.text) or (s.link and "submit" in s.link)]
            if sections:
                self.note(f"{response.url}: accordion not found (page redesigned?); "
                          f"{len(sections)} solicitation(s) read from the page's {sections[0].via}")
            for section in sections:
                link = next((u for u in section.links if "submit-solution" in u), section.link)
                yield one_record(self, response.url, self.need, response, section.title,
                                 list(section.parts) or [section.text], link, layout=section.via)
            if sections:
                return
            yield self.reject(response.url,
                              "no solicitation accordion (.usa-accordion__heading) found: page layout not recognised")
            return
        for index, heading in enumerate(headings):
            yield one_record(self, response.url, self.solicitation, response, heading, index)

    def solicitation(self, response: scrapy.http.TextResponse, heading: Any, index: int) -> Document | Reject:
        title = join_text(heading.css("::text").getall())
        content = heading.xpath("following-sibling::*[1][contains(@class, 'usa-accordion__content')]")
        if not content:
            controls = heading.css("button::attr(aria-controls)").get()
            content = response.xpath("//*[@id=$id]", id=controls) if controls else content
        if not title or not content:
            return self.reject(response.url, f"solicitation #{index + 1} without title or content")
        blocks = [join_text(node.css("::text").getall()) for node in content.css("p, li")]
        blocks = [b for b in blocks if b]
        if not blocks:
            blocks = [join_text(content.css("::text").getall())]
        full = " ".join(blocks)
        link = None
        for anchor in content.css("a[href]"):
            href = anchor.attrib["href"]
            label = " ".join(anchor.css("::text").getall())
            if "submit-solution" in href or "submit" in label.lower():
                link = joined_url(response, href)
                break
        link = link or joined_url(response, content.css("a[href]::attr(href)").get())
        return self.need(response, title, blocks, link)

    def need(self, response, title: str, blocks: list[str], link: str | None, layout: str = "accordion") -> Document:
        """The need of one solicitation: its title, text blocks and link, wherever on the page they were."""
        full = " ".join(blocks)
        solicitation_id = None
        if link and "submit-solution" in link:
            solicitation_id = link.rstrip("/").rsplit("/", 1)[-1]
        solicitation_id = solicitation_id or slugify(title)
        due = _DUE.search(full)
        posted = _POSTED.search(full)
        # Summary: the paragraphs that are not just the dates or the call to action.
        summary = " ".join(
            b for b in blocks if not ((_DUE.search(b) or _POSTED.search(b)) and len(b) < 120) and "Submit a Solution" not in b
        )
        return Document.make(
            kind=self.kind,
            source=self.source,
            source_id=solicitation_id,
            url=link or f"{response.url}#{slugify(title)}",
            title=title,
            text=summary or full,
            language="en",
            organizations=[ORGANIZATION],
            published=parse_date(posted.group(1)) if posted else None,
            meta={
                "solicitation_id": solicitation_id,
                "responses_due": parse_date(due.group(1)).date().isoformat() if due and parse_date(due.group(1)) else None,
                "responses_due_text": due.group(1) if due else None,
                "page": response.url,
                "layout": layout,
            },
        )
