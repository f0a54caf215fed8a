"""Downloader middlewares: a strict domain allow-list and retries with exponential backoff."""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from scrapy import Request, Spider, signals
from scrapy.downloadermiddlewares.offsite import OffsiteMiddleware
from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response
from scrapy.utils.asyncio import sleep
from scrapy.utils.httpobj import urlparse_cached

from domain.settings import CrawlSettings

logger = logging.getLogger(__name__)


class AllowListMiddleware(OffsiteMiddleware):
    """Fetch only the spider's `allowed_domains` (plus the host of its `base_url`) and
    `SCOUT_CRAWL_ALLOWED_DOMAINS`. Unlike Scrapy's default, an empty list allows nothing.

    `file:` URLs are local files: only spiders that set `allow_local_files = True` (the needs file)
    may read them, so a feed cannot smuggle `file:///etc/passwd` into the index.
    """

    @classmethod
    def from_crawler(cls, crawler):
        # Checked in the downloader only (not at scheduling, where Scrapy drops requests silently),
        # so an off-list request reaches the spider's errback and is recorded as a reject.
        o = cls(crawler.stats)
        o.crawler = crawler
        crawler.signals.connect(o.spider_opened, signal=signals.spider_opened)
        return o

    def spider_opened(self, spider: Spider) -> None:
        self.extra_domains = [d.strip().lower() for d in CrawlSettings().allowed_domains if d.strip()]
        super().spider_opened(spider)

    def _domains(self, spider: Spider) -> list[str]:
        domains = [d.lower() for d in (getattr(spider, "allowed_domains", None) or []) if d]
        base_host = urlsplit(getattr(spider, "base_url", "") or "").hostname
        if base_host:
            domains.append(base_host)
        return domains + getattr(self, "extra_domains", [])

    def should_follow(self, request: Request, spider: Spider) -> bool:
        parts = urlparse_cached(request)
        if parts.scheme == "file":
            return bool(getattr(spider, "allow_local_files", False))
        if parts.scheme == "data":
            return True
        host = (parts.hostname or "").lower()
        return any(host == d or host.endswith("." + d) for d in self._domains(spider))

    def process_request(self, request: Request) -> None:
        # Unlike Scrapy's offsite filter, `dont_filter` does not bypass the allow-list (retries and
        # contract requests set it); only Scrapy's own robots.txt requests are exempt.
        assert self.crawler.spider
        if request.meta.get("dont_obey_robotstxt") and request.url.endswith("/robots.txt"):
            return
        if self.should_follow(request, self.crawler.spider):
            return
        self.stats.inc_value("offsite/filtered")
        host = urlparse_cached(request).hostname or urlparse_cached(request).scheme
        raise IgnoreRequest(f"{host!r} is not on the crawl allow-list")


class BackoffRetryMiddleware(RetryMiddleware):
    """Scrapy's retries, each one delayed: `RETRY_BACKOFF_BASE * 2**(n-1)` seconds, or the server's
    `Retry-After`, capped at `RETRY_BACKOFF_MAX`."""

    def __init__(self, settings):
        super().__init__(settings)
        self.backoff_base = settings.getfloat("RETRY_BACKOFF_BASE", 1.0)
        self.backoff_max = settings.getfloat("RETRY_BACKOFF_MAX", 60.0)

    def _delay(self, retry: Request, response: Response | None) -> float:
        delay = self.backoff_base * 2 ** max(retry.meta.get("retry_times", 1) - 1, 0)
        if response is not None:
            retry_after = response.headers.get(b"Retry-After")
            if retry_after:
                try:
                    delay = max(delay, float(retry_after.decode().strip()))
                except ValueError:
                    pass  # an HTTP date; the exponential delay is good enough
        return min(delay, self.backoff_max)

    async def process_response(self, request: Request, response: Response):
        result = RetryMiddleware.process_response(self, request, response)
        if isinstance(result, Request):
            await sleep(self._delay(result, response))
        return result

    async def process_exception(self, request: Request, exception: Exception):
        result = RetryMiddleware.process_exception(self, request, exception)
        if isinstance(result, Request):
            await sleep(self._delay(result, None))
        return result


class RejectOnErrorMiddleware:
    """A callback that raises on an unexpected record must not lose it silently: the response
    becomes a Reject (reason `parse error: ...`) and the error is logged for the crawl's stats."""

    @classmethod
    def from_crawler(cls, crawler):
        o = cls()
        o.crawler = crawler
        return o

    def process_spider_exception(self, response: Response, exception: Exception):
        from scrapy.spidermiddlewares.httperror import HttpError

        from domain.models import Reject

        if isinstance(exception, HttpError):
            return None  # Scrapy's own handling: the request's errback records it
        spider = self.crawler.spider
        self.crawler.stats.inc_value("dualscout/parse_errors")
        logger.error("parse error in %s on %s: %r", spider.name, response.url, exception)
        source = getattr(spider, "source", None) or spider.name
        reason = f"parse error: {type(exception).__name__}: {exception}"[:300]
        return [Reject(source=source, url=response.url, reason=reason)]
