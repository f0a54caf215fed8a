"""OpenAlex works API: research outputs with abstracts and institutions.

    scrapy crawl openalex -a search="synthetic aperture radar" -a since=2025-01-01

Cursor paging (`cursor=*`, then `meta.next_cursor`). The API key and mailto come from
`SCOUT_CRAWL_OPENALEX_API_KEY` / `SCOUT_CRAWL_OPENALEX_MAILTO`. A 429, or any error body that says the
daily credits/budget are used up, closes the spider with a reason naming the cause: retrying would only
burn more of the budget.
"""

from __future__ import annotations

import json
import logging
from datetime import date, datetime, timedelta, timezone
from typing import Any, Iterator
from urllib.parse import parse_qsl, urlencode, urlparse, urlsplit, urlunsplit

import scrapy
from scrapy import signals
from scrapy.exceptions import CloseSpider

from scout.models import Document, Reject
from scout.settings import CrawlSettings

API_URL = "https://api.openalex.org/works"
MAX_PER_PAGE = 100  # the API's own cap per page
# Error bodies that mean "your allowance is gone" rather than "this query is wrong".
_EXHAUSTED_WORDS = ("credit", "budget", "rate limit", "daily limit", "too many requests", "quota")
# 429 is deliberately absent: for this API it means the allowance is gone, not a transient fault.
_RETRY_CODES = [500, 502, 503, 504, 522, 524, 408]


class SecretRedactingFilter(logging.Filter):
    """Replaces a secret (an API key carried in the query string) with *** in every log record."""

    def __init__(self, secret: str) -> None:
        super().__init__()
        self.secret = secret

    def filter(self, record: logging.LogRecord) -> bool:
        if self.secret:
            try:
                message = record.getMessage()
            except Exception:  # a broken record is not ours to fix
                return True
            if self.secret in message:
                record.msg = message.replace(self.secret, "***")
                record.args = ()
        return True


def install_redaction(secret: str) -> None:
    """Attach the redacting filter to every root handler (Scrapy logs request URLs at DEBUG)."""
    if not secret:
        return
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, SecretRedactingFilter) and f.secret == secret for f in handler.filters):
            handler.addFilter(SecretRedactingFilter(secret))


def without_secrets(url: str, names: tuple[str, ...] = ("api_key", "appid")) -> str:
    """The URL with credential parameters removed: what may be written to rejects logs and stats."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in names]
    return urlunsplit(parts._replace(query=urlencode(query)))


def rebuild_abstract(inverted_index: dict[str, list[int]] | None) -> str:
    """OpenAlex ships abstracts as {word: [positions]}; put the words back in order."""
    if not inverted_index or not isinstance(inverted_index, dict):
        return ""
    slots: dict[int, str] = {}
    for word, positions in inverted_index.items():
        for position in positions or []:
            if isinstance(position, int):
                slots[position] = word
    return " ".join(slots[i] for i in sorted(slots))


def _language(code: str | None) -> str | None:
    if not code:
        return None
    code = code.lower()
    return code if code in ("en", "ja") else "other"


def _published(work: dict[str, Any]) -> datetime | None:
    raw = work.get("publication_date")
    if raw:
        try:
            return datetime.fromisoformat(str(raw)).replace(tzinfo=timezone.utc)
        except ValueError:
            pass
    year = work.get("publication_year")
    if isinstance(year, int) and 1000 < year < 3000:
        return datetime(year, 1, 1, tzinfo=timezone.utc)
    return None


class OpenalexSpider(scrapy.Spider):
    """Research works from OpenAlex, one `Document(kind=research)` per work."""

    name = "openalex"
    base_url = API_URL  # the public endpoint; `-a base_url=...` points the spider elsewhere
    allowed_domains = ["api.openalex.org"]
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
        base_url: str = API_URL,
        *args: Any,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        settings = CrawlSettings()
        self.api_key = settings.openalex_api_key.get_secret_value() if settings.openalex_api_key else ""
        self.mailto = settings.openalex_mailto
        self.search = search
        self.since = since or (date.today() - timedelta(days=int(days))).isoformat()
        filters = [f for f in (filter,) if f]
        if not any(f.startswith("from_publication_date") for f in filter.split(",")):
            filters.append(f"from_publication_date:{self.since}")
        self.filter = ",".join(filters)
        self.per_page = max(1, min(int(per_page), MAX_PER_PAGE))
        self.max_pages = int(max_pages)
        self.base_url = base_url
        host = urlparse(base_url).hostname
        self.allowed_domains = sorted({*type(self).allowed_domains, *settings.allowed_domains, *([host] if host else [])})
        self.pages = 0

    @classmethod
    def from_crawler(cls, crawler, *args, **kwargs):  # type: ignore[no-untyped-def]
        spider = super().from_crawler(crawler, *args, **kwargs)
        # Scrapy replaces its root log handler after the spider is built: filter once the spider opens.
        crawler.signals.connect(lambda spider: install_redaction(spider.api_key), signal=signals.spider_opened, weak=False)
        return spider

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
        yield scrapy.Request(self.page_url("*"), callback=self.parse, meta={"cursor": "*"}, errback=self.request_failed)

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

    def request_failed(self, failure: Any) -> Iterator[Reject]:
        """A request that failed for good (HTTP error after retries, DNS, timeout, robots.txt) is recorded."""
        request = getattr(failure, "request", None)
        response = getattr(failure.value, "response", None)
        reason = f"HTTP {response.status}" if response is not None else f"{type(failure.value).__name__}: {failure.value}"
        yield Reject(source=self.name, url=without_secrets(request.url) if request is not None else None, reason=f"request failed: {reason}"[:300])

    def parse(self, response: scrapy.http.Response, **kwargs: Any) -> Iterator[Document | Reject | scrapy.Request]:
        """One page of works; follows `meta.next_cursor`.

        @url https://api.openalex.org/works?search=radar&per_page=5&cursor=*
        @returns items 0 5
        @returns requests 0 1
        """
        try:
            payload = json.loads(response.body) if response.body.strip() else None
        except (ValueError, UnicodeDecodeError) as exc:
            payload = None
            self._stop_if_exhausted(response, payload)
            yield Reject(source=self.name, url=without_secrets(response.url), reason=f"malformed JSON: {exc}")
            return
        self._stop_if_exhausted(response, payload)
        if payload is None:
            yield Reject(source=self.name, url=without_secrets(response.url), reason=f"empty body (HTTP {response.status})")
            return
        if response.status >= 400 or not isinstance(payload, dict) or "error" in payload:
            message = payload.get("message") or payload.get("error") if isinstance(payload, dict) else None
            yield Reject(
                source=self.name, url=without_secrets(response.url), reason=f"OpenAlex error HTTP {response.status}: {message or 'no results list'}"
            )
            return
        results = payload.get("results")
        if not isinstance(results, list):
            yield Reject(source=self.name, url=without_secrets(response.url), reason="OpenAlex answer has no results list")
            return
        for work in results:
            yield self.work_to_item(work, response.url)
        self.pages += 1
        next_cursor = (payload.get("meta") or {}).get("next_cursor")
        if next_cursor and results and (self.max_pages <= 0 or self.pages < self.max_pages):
            yield scrapy.Request(self.page_url(next_cursor), callback=self.parse, meta={"cursor": next_cursor}, errback=self.request_failed)

    def work_to_item(self, work: Any, page_url: str) -> Document | Reject:
        if not isinstance(work, dict):
            return Reject(source=self.name, url=without_secrets(page_url), reason="work is not a JSON object")
        openalex_id = str(work.get("id") or "")
        title = work.get("title") or work.get("display_name") or ""
        if not openalex_id or not str(title).strip():
            return Reject(source=self.name, url=openalex_id or without_secrets(page_url), reason="work without id or title")
        short_id = openalex_id.rstrip("/").rsplit("/", 1)[-1]
        doi = work.get("doi") or (work.get("ids") or {}).get("doi")
        organizations: list[str] = []
        authors: list[str] = []
        for authorship in work.get("authorships") or []:
            name = ((authorship or {}).get("author") or {}).get("display_name")
            if name:
                authors.append(name)
            for institution in (authorship or {}).get("institutions") or []:
                org = (institution or {}).get("display_name")
                if org and org not in organizations:
                    organizations.append(org)
        source = ((work.get("primary_location") or {}).get("source") or {}).get("display_name")
        topic = (work.get("primary_topic") or {}).get("display_name")
        abstract = rebuild_abstract(work.get("abstract_inverted_index"))
        keywords = [k.get("display_name") for k in work.get("keywords") or [] if isinstance(k, dict) and k.get("display_name")]
        # Without an abstract, the topic and keywords still say what the work is about.
        text = abstract or "; ".join(t for t in (topic, *keywords[:10]) if t)
        if not text:
            return Reject(source=self.name, url=doi or openalex_id, reason="work without abstract, topic or keywords")
        return Document.make(
            kind="research",
            source=self.name,
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
