"""US DoD SBIR/STTR topics from the SBIR.gov public solicitations API (JSON): one need per topic.

API: https://api.www.sbir.gov/public/api/solicitations?agency=DOD&open=1&rows=50&start=0 returns a
JSON list of solicitations (`solicitation_title`, `solicitation_number`, `program`, `agency`,
`branch`, `release_date`, `open_date`, `close_date`, `solicitation_topics`: [{`topic_title`,
`branch`, `topic_number`, `topic_description`, `sbir_topic_link`, `subtopics`: [...]}]). We page
with `start`/`rows` until an empty page (or `max_pages`).

Spider arguments: `agency` (default DOD), `open` (1: open solicitations, 0: closed, empty: all),
`keyword`, `rows` (default 50, the API maximum), `max_pages` (default 40), `base_url`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit, urljoin

from domain.models import DocKind, Document
from spiders.base import ScoutSpider, int_arg, html_to_text, load_json
from spiders.dates import parse_date
from spiders.records import one_record, page_number

PUBLIC_BASE = "https://api.www.sbir.gov"
API_PATH = "/public/api/solicitations"


def _date(value: Any) -> datetime | None:
    """ISO dates and the US "05/01/2025" of SBIR.gov (month first), by the spiders' one date parser."""
    return parse_date(value) if isinstance(value, str) else None


def _names_itself(branch: str, agency: str) -> bool:
    """A branch that is the agency's own initials ("DoD" of "Department of Defense"): one issuer, not two."""
    initials = "".join(word[0] for word in agency.split())
    return bool(branch) and len(initials) > 1 and branch.casefold() == initials.casefold()


def _str(value: Any) -> str:
    return str(value).strip() if value is not None else ""


class SbirTopicsSpider(ScoutSpider):
    name = "sbir_topics"
    kind = DocKind.need
    base_url = PUBLIC_BASE
    allowed_domains = ["api.www.sbir.gov", "www.sbir.gov"]

    def __init__(self, agency: str = "DOD", open: str | int = 1, keyword: str | None = None,
                 rows: str | int = 50, max_pages: str | int = 40, **kwargs: Any):
        super().__init__(**kwargs)
        self.params = {"agency": agency, "open": str(open), "keyword": keyword or ""}
        self.rows = max(1, min(int_arg("rows", rows), 50))
        self.max_pages = max(1, int_arg("max_pages", max_pages))

    def page_url(self, start: int, rows: int | None = None) -> str:
        params = {k: v for k, v in self.params.items() if v != ""}
        params.update(rows=rows or self.rows, start=start)
        return self.url(API_PATH) + "?" + urlencode(params)

    async def start(self):
        yield self.request(self.page_url(0))

    def parse(self, response):
        """One page of solicitations: a need per topic, then the next page until an empty one.

        @url https://api.www.sbir.gov/public/api/solicitations?agency=DOD&open=1&rows=2&start=0
        @returns items 1
        @scrapes id kind source source_id url title text published
        """
        data, reason = load_json(response)
        if reason:
            yield self.reject(response.url, reason)
            return
        if isinstance(data, dict) and ("error" in data or "message" in data):
            yield self.reject(response.url, f"SBIR API error: {_str(data.get('error') or data.get('message'))[:200]}")
            return
        if not isinstance(data, list):
            yield self.reject(response.url, f"unexpected JSON: expected a list of solicitations, got {type(data).__name__}")
            return
        for solicitation in data:
            if not isinstance(solicitation, dict):
                yield self.reject(response.url, "solicitation is not a JSON object")
                continue
            topics = solicitation.get("solicitation_topics") or []
            if not isinstance(topics, list):
                yield self.reject(response.url, "solicitation_topics is not a list")
                continue
            for topic in topics:
                yield one_record(self, response.url, self.topic_document, solicitation, topic, response.url)
        query = parse_qs(urlsplit(response.url).query)
        start = page_number(query.get("start", ["0"])[0], 0)
        rows = page_number(query.get("rows", [str(self.rows)])[0], self.rows) or self.rows
        if data and start // rows + 1 < self.max_pages:
            yield self.request(self.page_url(start + rows, rows))

    def topic_document(self, solicitation: dict[str, Any], topic: Any, page_url: str):
        if not isinstance(topic, dict):
            return self.reject(page_url, "topic is not a JSON object")
        number = _str(topic.get("topic_number"))
        if not number:
            return self.reject(page_url, f"topic without topic_number: {_str(topic.get('topic_title'))[:80]!r}")
        parts = [html_to_text(_str(topic.get("topic_description")))]
        subtopics = topic.get("subtopics") or []
        for sub in subtopics if isinstance(subtopics, list) else []:
            if isinstance(sub, dict):
                heading = " ".join(filter(None, [_str(sub.get("subtopic_number")), _str(sub.get("subtopic_title"))]))
                parts.append(f"{heading}: {html_to_text(_str(sub.get('subtopic_description')))}".strip(": "))
        agency = _str(solicitation.get("agency"))
        branch = _str(topic.get("branch")) or _str(solicitation.get("branch"))
        link = _str(topic.get("sbir_topic_link")) or _str(solicitation.get("solicitation_agency_url"))
        url = urljoin(page_url, link) if link else page_url  # some records carry site-relative links
        return Document.make(
            kind=self.kind,
            source=self.source,
            source_id=number,
            url=url,
            title=_str(topic.get("topic_title")),
            text="\n\n".join(p for p in parts if p),
            language="en",
            organizations=[o for o in dict.fromkeys([agency, "" if _names_itself(branch, agency) else branch]) if o],
            published=_date(solicitation.get("release_date")) or _date(solicitation.get("open_date")),
            meta={
                "solicitation_title": _str(solicitation.get("solicitation_title")) or None,
                "solicitation_number": _str(solicitation.get("solicitation_number")) or None,
                "program": _str(solicitation.get("program")) or None,
                "phase": _str(solicitation.get("phase")) or None,
                "agency": agency or None,
                "branch": branch or None,
                "open_date": _str(solicitation.get("open_date")) or None,
                "close_date": _str(solicitation.get("close_date")) or None,
                "status": _str(solicitation.get("current_status")) or None,
                "subtopics": len(subtopics) if isinstance(subtopics, list) else 0,
            },
        )
