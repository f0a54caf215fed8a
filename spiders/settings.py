"""Scrapy settings for dualscout, derived from `domain.settings.CrawlSettings` (`SCOUT_CRAWL_*`).

Scrapy imports this module when a crawl starts (`scrapy.cfg`, or `SCRAPY_SETTINGS_MODULE` set by
`spiders.crawl`), so the environment of that process decides: polite defaults, an allow-list of
domains, an RFC 2616 HTTP cache (conditional GET on re-runs) and the dedup/batch pipelines.
"""

from __future__ import annotations

from domain.settings import CrawlSettings

_crawl = CrawlSettings()

BOT_NAME = "dualscout"
SPIDER_MODULES = ["spiders.sources"]
NEWSPIDER_MODULE = "spiders.sources"


def _user_agent(crawl: CrawlSettings) -> str:
    """`dualscout/0.1 (+https://...; ops@example.org)`: the contact goes inside the comment."""
    if not crawl.contact:
        return crawl.user_agent
    if crawl.user_agent.endswith(")"):
        return f"{crawl.user_agent[:-1]}; {crawl.contact})"
    return f"{crawl.user_agent} ({crawl.contact})"


# Politeness: identify ourselves, obey robots.txt, one or two requests per host, adaptive delay.
USER_AGENT = _user_agent(_crawl)
ROBOTSTXT_OBEY = _crawl.robotstxt_obey
CONCURRENT_REQUESTS = 8
CONCURRENT_REQUESTS_PER_DOMAIN = _crawl.concurrent_requests_per_domain
DOWNLOAD_DELAY = _crawl.download_delay
AUTOTHROTTLE_ENABLED = _crawl.autothrottle
AUTOTHROTTLE_START_DELAY = max(_crawl.download_delay, 1.0)
AUTOTHROTTLE_MAX_DELAY = 60.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 1.0
DOWNLOAD_TIMEOUT = _crawl.download_timeout
COOKIES_ENABLED = False
TELNETCONSOLE_ENABLED = False  # no listening ports from a crawler
REMOTE_CONTROL_ENABLED = False

# Retries with exponential backoff (and Retry-After) instead of hammering a struggling server.
RETRY_ENABLED = True
RETRY_TIMES = _crawl.retry_times
RETRY_HTTP_CODES = [500, 502, 503, 504, 522, 524, 408, 429]
# Seconds before the first retry; a crawl configured with no delay (a mirror, a test) retries quickly too.
RETRY_BACKOFF_BASE = 1.0 if _crawl.download_delay > 0 else 0.05
RETRY_BACKOFF_MAX = 60.0
RETRY_GIVE_UP_LOG_LEVEL = "WARNING"  # the failure is recorded as a reject, not a crawl error

# A page-size cap: bigger responses are cancelled and recorded as rejects ("page too large").
DOWNLOAD_MAXSIZE = _crawl.max_page_bytes
DOWNLOAD_WARNSIZE = max(_crawl.max_page_bytes // 4, 1)

# Conditional GET on re-runs: RFC 2616 policy revalidates with ETag / Last-Modified.
HTTPCACHE_ENABLED = _crawl.http_cache
HTTPCACHE_POLICY = "scrapy.extensions.httpcache.RFC2616Policy"
HTTPCACHE_STORAGE = "scrapy.extensions.httpcache.FilesystemCacheStorage"
HTTPCACHE_DIR = str(_crawl.data_dir / "httpcache")
HTTPCACHE_IGNORE_HTTP_CODES = [401, 403, 404, 408, 410, 429, 500, 502, 503, 504, 522, 524]  # failures: refetch
HTTPCACHE_GZIP = True

DOWNLOADER_MIDDLEWARES = {
    # Allow-list instead of Scrapy's permissive default (no allowed_domains = everything).
    "scrapy.downloadermiddlewares.offsite.OffsiteMiddleware": None,
    "spiders.middlewares.AllowListMiddleware": 50,
    "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
    "scrapy.downloadermiddlewares.redirect.RedirectMiddleware": None,
    "spiders.middlewares.RedirectGuardMiddleware": 600,
    "spiders.middlewares.BackoffRetryMiddleware": 550,
}
SPIDER_MIDDLEWARES = {
    # Closer to the engine than HttpErrorMiddleware (50), which handles HTTP errors first.
    "spiders.middlewares.RejectOnErrorMiddleware": 40,
}

ITEM_PIPELINES = {
    "spiders.pipelines.ValidatePipeline": 100,
    "spiders.pipelines.RejectsPipeline": 200,
    "spiders.pipelines.DedupPipeline": 300,
    "spiders.pipelines.BatchWriterPipeline": 400,
}

# `@url` contracts name the public endpoint and are rebased onto `-a base_url=...`.
SPIDER_CONTRACTS = {
    "scrapy.contracts.default.UrlContract": None,
    "spiders.contracts.UrlContract": 1,
}

FEED_EXPORT_ENCODING = "utf-8"
LOG_LEVEL = "INFO"
LOG_FORMATTER = "spiders.logformatter.ScoutLogFormatter"
