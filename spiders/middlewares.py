"""Downloader middlewares: a strict host-and-port allow-list, guarded redirects and retries with backoff."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urldefrag, urlsplit

from scrapy import Request, Spider, signals
from scrapy.downloadermiddlewares.offsite import OffsiteMiddleware
from scrapy.downloadermiddlewares.redirect import RedirectMiddleware
from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response
from scrapy.utils.asyncio import sleep
from scrapy.utils.httpobj import urlparse_cached

from domain.settings import CrawlSettings

logger = logging.getLogger(__name__)


DEFAULT_PORTS = {"http": 80, "https": 443}


def split_allowed(entry: str) -> tuple[str, int | None]:
    """An allow-list entry: `host` (the scheme's default port only) or `host:port` (that port too)."""
    entry = entry.strip().lower()
    host, sep, port = entry.rpartition(":")
    if sep and port.isdigit() and "]" not in port:
        return host.strip("[]"), int(port)
    return entry.strip("[]"), None


class AllowListMiddleware(OffsiteMiddleware):
    """Fetch only the spider's `allowed_domains` (plus the host of its `base_url`) and
    `SCOUT_CRAWL_ALLOWED_DOMAINS`. Unlike Scrapy's default, an empty list allows nothing.

    The list is checked on every request the downloader sees: after every redirect (a redirect is a new
    request) and for robots.txt too, so an allowed host cannot bounce the crawler elsewhere. It names hosts
    *and* ports: a host entry allows the scheme's default port (80, 443) only; `host:port` entries, the
    port of `base_url` and the ports of a spider's `allowed_origins` (e.g. configured feed URLs) allow
    theirs, so an allowed host's SSH or database port is never tried.

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

    def _entries(self, spider: Spider) -> list[tuple[str, int | None]]:
        entries = [split_allowed(d) for d in (getattr(spider, "allowed_domains", None) or []) if d]
        base = urlsplit(getattr(spider, "base_url", "") or "")
        if base.hostname:
            entries.append((base.hostname.lower(), _port(base.scheme, base.port)))
        for origin in getattr(spider, "allowed_origins", None) or []:
            entries.append(split_allowed(origin))
        return entries + [split_allowed(d) for d in getattr(self, "extra_domains", [])]

    def _domains(self, spider: Spider) -> list[str]:
        return [host for host, _ in self._entries(spider)]

    def should_follow(self, request: Request, spider: Spider) -> bool:
        parts = urlparse_cached(request)
        if parts.scheme == "file":
            return bool(getattr(spider, "allow_local_files", False))
        if parts.scheme == "data":
            return True
        host = (parts.hostname or "").lower()
        try:
            port = _port(parts.scheme, parts.port)
        except ValueError:  # a port that is not a number
            return False
        entries = self._entries(spider)
        if not any(host == d or host.endswith("." + d) for d, _ in entries):
            return False
        return port == DEFAULT_PORTS.get(parts.scheme) or any(host == d and port == p for d, p in entries)

    def process_request(self, request: Request) -> None:
        # Unlike Scrapy's offsite filter, `dont_filter` does not bypass the allow-list (retries, redirects and
        # contract requests set it), nor does being a robots.txt request.
        assert self.crawler.spider
        if self.should_follow(request, self.crawler.spider):
            return
        self.stats.inc_value("offsite/filtered")
        parts = urlparse_cached(request)
        where = parts.netloc or parts.scheme
        raise IgnoreRequest(f"{where!r} is not on the crawl allow-list")


def _port(scheme: str, port: int | None) -> int | None:
    return port if port is not None else DEFAULT_PORTS.get(scheme)


class RedirectGuardMiddleware(RedirectMiddleware):
    """Scrapy's redirects, with two silent losses made visible.

    A redirect back to a URL already in its own chain (a feed redirecting to itself) fails the request with
    "redirect loop", recorded as a reject, instead of vanishing in the duplicate filter. And a redirect
    continues a request the scheduler already accepted, so the duplicate filter does not drop it either: two
    feed items redirecting to one article are both fetched, and the pipeline rejects the second with its
    reason. Every hop still passes the allow-list; REDIRECT_MAX_TIMES still bounds the chain.
    """

    def _redirect(self, redirected: Request, request: Request, reason: Any) -> Request:
        chain = [*request.meta.get("redirect_urls", []), request.url]
        if urldefrag(redirected.url)[0] in {urldefrag(u)[0] for u in chain}:
            self.crawler.stats.inc_value("dualscout/redirect_loops")
            raise IgnoreRequest(f"redirect loop: {request.url} redirects back to {redirected.url}")
        redirected = super()._redirect(redirected, request, reason)
        redirected.dont_filter = True
        return redirected


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
