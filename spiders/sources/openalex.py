"""OpenAlex works API: research outputs with abstracts and institutions.

    scrapy crawl openalex -a search="synthetic aperture radar" -a since=2025-01-01

Cursor paging (`cursor=*`, then `meta.next_cursor`). The API key and mailto come from
`SCOUT_CRAWL_OPENALEX_API_KEY` / `SCOUT_CRAWL_OPENALEX_MAILTO`. A 429, or any error body that says the
daily credits/budget are used up, closes the spider with a reason naming the cause: retrying would only
burn more of the budget.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone
from typing import Any, Iterator
from urllib.parse import urlencode

import scrapy
from scrapy.exceptions import CloseSpider

from domain.models import DocKind, Document, Reject
from spiders.base import CREDENTIAL_PARAMS, EndpointSpider, SecretRedactingFilter, int_arg  # noqa: F401 - the filter is re-exported
from spiders.dates import parse_date
from spiders.records import as_dict, as_list, one_record

API_URL = "https://api.openalex.org/works"
MAX_PER_PAGE = 100  # the API's own cap per page
# Error bodies that mean "your allowance is gone" rather than "this query is wrong".
_EXHAUSTED_WORDS = ("credit", "budget", "rate limit", "daily limit", "too many requests", "quota")
# 429 is deliberately absent: for this API it means the allowance is gone, not a transient fault.
_RETRY_CODES = [500, 502, 503, 504, 522, 524, 408]


def rebuild_abstract(inverted_index: dict[str, list[int]] | None) -> str:
    """OpenAlex ships abstracts as {word: [positions]}; put the words back in order."""
    if not inverted_index or not isinstance(inverted_index, dict):
        return ""
    slots: dict[int, str] = {}
    for word, positions in inverted_index.items():
        for position in positions if isinstance(positions, list) else []:
            if isinstance(position, int):
                slots[position] = word
    return " ".join(slots[i] for i in sorted(slots))


def _language(code: str | None) -> str | None:
    if not code:
        return None
    code = code.lower()
    return code if code in ("en", "ja") else "other"


def _published(work: dict[str, Any]) -> datetime | None:
    if (published := parse_date(work.get("publication_date"))) is not None:
        return published
    year = work.get("publication_year")
    if isinstance(year, int) and 1000 < year < 3000:
        return datetime(year, 1, 1, tzinfo=timezone.utc)
    return None


class OpenalexSpider(EndpointSpider):
    """Research works from OpenAlex, one `Document(kind=research)` per work."""

    name = "openalex"
    kind = DocKind.research
    base_url = API_URL  # the public endpoint; `-a base_url=...` points the spider elsewhere
    allowed_domains = ["api.openalex.org"]
    secret_params = CREDENTIAL_PARAMS
    handle_httpstatus_list = [400, 402, 403, 429]
    custom_settings = {
        "RETRY_HTTP_CODES": _RETRY_CODES,
        "CONCURRENT_REQUESTS_PER_DOMAIN": 1,  # cursor paging is sequential anyway
    }

    def __init__(
        self,
        search: str = "",
        filter: str = "",  # noqa: A002 - the API's own parameter name
        since: str = "",
        days: int | str = 7,
        per_page: int | str = MAX_PER_PAGE,
        max_pages: int | str = 5,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        key = self.crawl_settings.openalex_api_key
        self.api_key = key.get_secret_value() if key else ""
        self.mailto = self.crawl_settings.openalex_mailto
        self.search = search
        self.since = since or (date.today() - timedelta(days=int_arg("days", days))).isoformat()
        filters = [f for f in (filter,) if f]
        if not any(f.startswith("from_publication_date") for f in filter.split(",")):
            filters.append(f"from_publication_date:{self.since}")
        self.filter = ",".join(filters)
        self.per_page = max(1, min(int_arg("per_page", per_page), MAX_PER_PAGE))
        self.max_pages = int_arg("max_pages", max_pages)
        self.pages = 0

    def secrets(self) -> list[str]:
        return [self.api_key]

    def page_url(self, cursor: str) -> str:
        params: dict[str, Any] = {"per_page": self.per_page, "cursor": cursor}
        if self.search:
            params["search"] = self.search
        if self.filter:
            params["filter"] = self.filter
        if self.mailto:
            params["mailto"] = self.mailto
        if self.api_key:
            params["api_key"] = self.api_key
        return f"{self.base_url}?{urlencode(params)}"

    async def start(self):  # type: ignore[no-untyped-def]
        if not self.api_key:
            self.logger.warning(
                "no OpenAlex API key (SCOUT_CRAWL_OPENALEX_API_KEY): the keyless allowance is tiny and runs out fast"
            )
        yield self.request(self.page_url("*"), meta={"cursor": "*"})

    def _stop_if_exhausted(self, response: scrapy.http.Response, payload: Any) -> None:
        message = ""
        if isinstance(payload, dict):
            message = " ".join(str(payload.get(k) or "") for k in ("error", "message")).strip()
        lowered = message.lower()
        is_error = response.status >= 400 or (isinstance(payload, dict) and "error" in payload)
        if response.status == 429 or (is_error and any(word in lowered for word in _EXHAUSTED_WORDS)):
            setting = "SCOUT_CRAWL_OPENALEX_API_KEY" if not self.api_key else "your OpenAlex plan (SCOUT_CRAWL_OPENALEX_API_KEY)"
            detail = f": {message}" if message else ""
            raise CloseSpider(
                f"openalex_credits_exhausted: OpenAlex answered HTTP {response.status}{detail}; "
                f"the daily credits/budget are used up, not retrying. Wait for the daily reset or check {setting}."
            )

    def parse(self, response: scrapy.http.Response, **kwargs: Any) -> Iterator[Document | Reject | scrapy.Request]:
        """One page of works; follows `meta.next_cursor`.

        @url https://api.openalex.org/works?search=radar&per_page=5&cursor=*
        @returns items 0 5
        @returns requests 0 1
        """
        try:
            payload = json.loads(response.body) if response.body.strip() else None
        except (ValueError, UnicodeDecodeError, RecursionError) as exc:
            payload = None
            self._stop_if_exhausted(response, payload)
            detail = "nested too deeply" if isinstance(exc, RecursionError) else exc
            yield self.reject(response.url, f"malformed JSON: {detail}"[:200])
            return
        self._stop_if_exhausted(response, payload)
        if payload is None:
            yield self.reject(response.url, f"empty body (HTTP {response.status})")
            return
        if response.status >= 400 or not isinstance(payload, dict) or "error" in payload:
            message = payload.get("message") or payload.get("error") if isinstance(payload, dict) else None
            yield self.reject(response.url, f"OpenAlex error HTTP {response.status}: {message or 'no results list'}")
            return
        results = payload.get("results")
        if not isinstance(results, list):
            yield self.reject(response.url, "OpenAlex answer has no results list")
            return
        for work in results:
            yield one_record(self, response.url, self.work_to_item, work, response.url)
        self.pages += 1
        next_cursor = as_dict(payload.get("meta")).get("next_cursor")
        if next_cursor and isinstance(next_cursor, str) and results and (self.max_pages <= 0 or self.pages < self.max_pages):
            yield self.request(self.page_url(next_cursor), meta={"cursor": next_cursor})

    def work_to_item(self, work: Any, page_url: str) -> Document | Reject:
        if not isinstance(work, dict):
            return self.reject(page_url, "work is not a JSON object")
        openalex_id = str(work.get("id") or "")
        title = work.get("title") or work.get("display_name") or ""
        if not openalex_id or not str(title).strip():
            return self.reject(openalex_id or page_url, "work without id or title")
        short_id = openalex_id.rstrip("/").rsplit("/", 1)[-1]
        doi = work.get("doi") or as_dict(work.get("ids")).get("doi")
        doi = doi if isinstance(doi, str) else None
        organizations: list[str] = []
        authors: list[str] = []
        # The API documents lists and objects; a record that sends a string instead loses that field only.
        for authorship in as_list(work.get("authorships")):
            name = as_dict(as_dict(authorship).get("author")).get("display_name")
            if isinstance(name, str) and name:
                authors.append(name)
            for institution in as_list(as_dict(authorship).get("institutions")):
                org = as_dict(institution).get("display_name")
                if isinstance(org, str) and org and org not in organizations:
                    organizations.append(org)
        source = as_dict(as_dict(work.get("primary_location")).get("source")).get("display_name")
        topic = as_dict(work.get("primary_topic")).get("display_name")
        topic = topic if isinstance(topic, str) else None
        abstract = rebuild_abstract(work.get("abstract_inverted_index"))
        keywords = [k.get("display_name") for k in as_list(work.get("keywords"))
                    if isinstance(k, dict) and isinstance(k.get("display_name"), str) and k.get("display_name")]
        # Without an abstract, the topic and keywords still say what the work is about.
        text = abstract or "; ".join(t for t in (topic, *keywords[:10]) if t)
        if not text:
            return self.reject(doi or openalex_id, "work without abstract, topic or keywords")
        return Document.make(
            kind=self.kind,
            source=self.source,
            source_id=short_id,
            url=doi or openalex_id,
            title=str(title),
            text=text,
            language=_language(work.get("language")),
            organizations=organizations,
            published=_published(work),
            meta={
                "openalex_id": openalex_id,
                "doi": doi,
                "authors": authors,
                "venue": source,
                "type": work.get("type"),
                "primary_topic": topic,
                "keywords": keywords,
                "cited_by_count": work.get("cited_by_count"),
                "updated_date": work.get("updated_date"),
                "has_abstract": bool(abstract),
            },
        )
