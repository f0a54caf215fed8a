"""What every dualscout spider shares; the conventions below are the contract with the pipelines.

Conventions (every spider in `spiders/sources/<name>.py`, one per source):

- Callbacks are pure functions of the response: they yield `domain.models.Document` (built with
  `Document.make(...)`), `domain.models.Reject` (a bad record, with its reason) or follow-up `Request`s.
  They never write files or touch the crawl state; the item pipelines do.
- Every spider accepts a `base_url` spider argument (`-a base_url=http://127.0.0.1:8000`). The class
  attribute `base_url` is the public endpoint; an instance value points the spider at a mirror or a
  loopback test server. The host of the effective `base_url` is allow-listed automatically, and
  `@url` contracts written against the public endpoint are rebased onto it (`spiders/contracts.py`).
- Credentials and knobs come from `domain.settings.CrawlSettings()` (`self.crawl_settings`), never
  from module-level constants.
- `allowed_domains` lists the public hosts; only those (plus `SCOUT_CRAWL_ALLOWED_DOMAINS`) are fetched.

`ScoutSpider` implements these and turns failed requests (HTTP errors after retries, DNS errors,
timeouts, robots.txt refusals, oversized pages) into `Reject`s via `errback`. A spider whose URLs
carry credentials names their query parameters in `secret_params`: they are dropped from reject
URLs, masked in reject reasons and in the crawl log. `EndpointSpider` is the variant for sources
whose `base_url` is a whole endpoint URL (an API endpoint or a page) rather than a prefix.
"""

from __future__ import annotations

import json
import logging
import re
from functools import cached_property
from typing import Any, ClassVar, Iterable
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import scrapy
from scrapy import signals
from scrapy.http import Response, TextResponse
from twisted.python.failure import Failure

from domain.models import DocKind, Reject
from domain.settings import CrawlSettings


#: query parameters by which the APIs we crawl take credentials (OpenAlex `api_key`, KAKEN `appid`)
CREDENTIAL_PARAMS = ("api_key", "appid")


class ScoutSpider(scrapy.Spider):
    """Base class: `base_url` argument, allow-listing of its host, failures recorded as rejects."""

    #: public endpoint; `-a base_url=...` overrides it per crawl
    base_url: str = ""
    #: the `Document.kind` this spider yields
    kind: ClassVar[DocKind]
    #: query parameters that carry credentials (never written to rejects or logs)
    secret_params: ClassVar[tuple[str, ...]] = ()
    #: each document is one fetched page: two documents with one final URL are one article (see ValidatePipeline)
    one_document_per_url: ClassVar[bool] = False

    def __init__(self, *args: Any, base_url: str | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        if base_url:
            self.base_url = base_url.rstrip("/")
        self.allowed_domains = list(getattr(self, "allowed_domains", []) or [])
        host = urlsplit(self.base_url).hostname if self.base_url else None
        # SCOUT_CRAWL_ALLOWED_DOMAINS too, so the list is complete even under Scrapy's own offsite filter.
        for domain in [host, *(d.strip() for d in self.crawl_settings.allowed_domains)]:
            if domain and domain not in self.allowed_domains:
                self.allowed_domains.append(domain)
        #: `host:port` of URLs this crawl was configured with, allowed on their own port (see AllowListMiddleware)
        self.allowed_origins: list[str] = []

    def allow_origin(self, url: str) -> None:
        """Allow the host of a configured URL (a feed) on its port too."""
        parts = urlsplit(url)
        if parts.hostname and parts.hostname not in self.allowed_domains:
            self.allowed_domains.append(parts.hostname)
        try:
            port = parts.port
        except ValueError:
            port = None
        if parts.hostname and port and f"{parts.hostname}:{port}" not in self.allowed_origins:
            self.allowed_origins.append(f"{parts.hostname}:{port}")

    @classmethod
    def from_crawler(cls, crawler, *args: Any, **kwargs: Any):
        spider = super().from_crawler(crawler, *args, **kwargs)
        # Scrapy replaces its root log handler after the spider is built: filter once the spider opens.
        crawler.signals.connect(lambda spider: install_redaction(*spider.secrets()), signal=signals.spider_opened, weak=False)
        return spider

    def secrets(self) -> list[str]:
        """Credential values this spider sends (masked in the crawl log); none by default."""
        return []

    @property
    def source(self) -> str:
        """`Document.source`: the spider name."""
        return self.name

    @cached_property
    def crawl_settings(self) -> CrawlSettings:
        return CrawlSettings()

    def url(self, path: str) -> str:
        """An absolute URL under the effective `base_url`."""
        return self.base_url.rstrip("/") + "/" + path.lstrip("/")

    def request(self, url: str, callback: Any = None, **kwargs: Any) -> scrapy.Request:
        """A request whose failures become rejects (unless another `errback` is given)."""
        kwargs.setdefault("errback", self.errback)
        return scrapy.Request(url, callback=callback or self.parse, **kwargs)

    def reject(self, url: str | None, reason: str, detail: str | None = None) -> Reject:
        if self.secret_params:
            url = url and without_secrets(url, self.secret_params)
            reason = mask_secrets(reason, self.secret_params)
            detail = detail and mask_secrets(detail, self.secret_params)
        return Reject(source=self.source, url=url, reason=reason, detail=(detail or None) and detail[:2000])

    def note(self, message: str) -> None:
        """A problem the crawl worked around (an ill-formed feed read leniently, a page read by a fallback):
        logged, and listed in the crawl summary (`CrawlStats.notes`, at most 50)."""
        self.logger.warning(message)
        crawler = getattr(self, "crawler", None)
        if crawler is not None and crawler.stats is not None:
            notes = list(crawler.stats.get_value("dualscout/notes") or [])
            crawler.stats.set_value("dualscout/notes", [*notes, message][:50])

    def describe_failure(self, failure: Failure) -> str:
        """The reject reason for a failed request."""
        return failure_reason(failure)

    def errback(self, failure: Failure):
        """Record a failed request as a reject; the crawl goes on."""
        request = getattr(failure, "request", None)
        url = request.url if request is not None else None
        detail = str(failure.value)[:500]
        response = getattr(failure.value, "response", None)
        if response is not None and (message := error_body_text(response)):
            detail = f"{detail}: {message}"  # what the server said about its refusal
        yield self.reject(url, self.describe_failure(failure), detail=detail)


class EndpointSpider(ScoutSpider):
    """A `ScoutSpider` whose `base_url` is a whole endpoint URL (an API endpoint or a start page),
    requested as given: `-a base_url` is kept verbatim, since a trailing slash is part of the path.

    Failed requests are worded "request failed: HTTP 503" / "request failed: DNSLookupError: ...",
    as these sources' rejects always have been (`request_failed`, their errback's former name, still
    answers), so rejects logs stay comparable across versions.
    """

    def __init__(self, *args: Any, base_url: str | None = None, **kwargs: Any):
        super().__init__(*args, base_url=base_url, **kwargs)
        if base_url:
            self.base_url = base_url

    async def start(self):
        """The endpoint itself is the start page; API spiders override this with their first query."""
        yield self.request(self.base_url)

    def describe_failure(self, failure: Failure) -> str:
        response = getattr(failure.value, "response", None)
        cause = f"HTTP {response.status}" if response is not None else f"{type(failure.value).__name__}: {failure.value}"
        return f"request failed: {cause}"[:300]

    def request_failed(self, failure: Failure):
        """A request that failed for good (HTTP error after retries, DNS, timeout, robots.txt) is recorded."""
        return self.errback(failure)


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


def install_redaction(*secrets: str) -> None:
    """Attach a redacting filter per secret to every root handler (Scrapy logs request URLs at DEBUG)."""
    for secret in filter(None, secrets):
        for handler in logging.getLogger().handlers:
            if not any(isinstance(f, SecretRedactingFilter) and f.secret == secret for f in handler.filters):
                handler.addFilter(SecretRedactingFilter(secret))


def without_secrets(url: str, names: Iterable[str]) -> str:
    """The URL with credential parameters removed: what may be written to rejects logs and stats."""
    names = tuple(names)
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    if not any(k in names for k, _ in query):
        return url
    return urlunsplit(parts._replace(query=urlencode([(k, v) for k, v in query if k not in names])))


def mask_secrets(text: str, names: Iterable[str]) -> str:
    """`text` with the values of `name=value` credential parameters replaced by ***."""
    pattern = "|".join(re.escape(n) for n in names)
    return re.sub(rf"(\b(?:{pattern})=)[^&\s'\">]*", r"\1***", text) if pattern else text


def slugify(text: str) -> str:
    """A stable id from a title: lower-case ASCII words joined by '-', at most 80 characters."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:80]


def join_text(parts: Iterable[str]) -> str:
    """Text nodes joined with single spaces (whitespace runs collapsed)."""
    return " ".join(" ".join(parts).split())


def int_arg(name: str, value: str | int) -> int:
    """A spider argument that must be an integer (spider arguments arrive as strings)."""
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ValueError(f"spider argument {name} must be an integer, got {value!r}") from None


def failure_reason(failure: Failure) -> str:
    """A short, stable reason for a failed request (used in rejects and stats)."""
    from scrapy import exceptions as scrapy_errors
    from scrapy.spidermiddlewares.httperror import HttpError
    from twisted.internet import error as tx_errors

    value = failure.value
    message = str(value)
    if failure.check(HttpError):
        response = value.response
        retried = response.request.meta.get("retry_times", 0) if response.request else 0
        return f"http {response.status}" + (f" after {retried} retries" if retried else "")
    if failure.check(scrapy_errors.CannotResolveHostError, tx_errors.DNSLookupError):
        return "dns lookup failed"
    if failure.check(scrapy_errors.DownloadTimeoutError, tx_errors.TimeoutError, tx_errors.TCPTimedOutError):
        return "timeout"
    if failure.check(scrapy_errors.DownloadConnectionRefusedError, tx_errors.ConnectionRefusedError, tx_errors.ConnectError):
        return "connection refused"
    if failure.check(scrapy_errors.DownloadCancelledError):
        # Scrapy cancels a download mid-body (no Content-Length) without a message: the size cap is the cause
        # unless the crawl itself is stopping.
        return "page too large" if "max size" in message or not message.strip() else f"download cancelled: {message[:200]}"
    if failure.check(scrapy_errors.IgnoreRequest):
        if "robots.txt" in message.lower():
            return "forbidden by robots.txt"
        if "allow-list" in message:
            return "domain not allow-listed"
        return f"ignored: {message[:200]}"
    from spiders.records import describe

    return describe(value)


def check_body(response: Response) -> str | None:
    """Why a response body cannot be parsed as text, or None when it can.

    Catches the failures a source throws at us most often: an empty body and bytes that are not
    valid in the declared (or UTF-8) encoding.
    """
    if not response.body or not response.body.strip():
        return "empty body"
    if isinstance(response, TextResponse):
        encoding = response.encoding or "utf-8"
        try:
            response.body.decode(encoding)
        except (UnicodeDecodeError, LookupError):
            return f"undecodable body (not valid {encoding})"
    return None


def load_json(response: Response) -> tuple[Any, str | None]:
    """(data, None), or (None, reason) for an empty, undecodable or malformed JSON body."""
    reason = check_body(response)
    if reason:
        return None, reason
    try:
        return json.loads(response.body.decode(getattr(response, "encoding", None) or "utf-8")), None
    except (ValueError, UnicodeDecodeError) as exc:
        return None, f"malformed JSON: {exc}"[:200]
    except RecursionError:
        return None, "malformed JSON: nested too deeply"


def header_charset(response: Response) -> str | None:
    """The Python codec named by the HTTP `Content-Type` charset, or None (absent or unknown)."""
    from w3lib.encoding import http_content_type_encoding

    content_type = response.headers.get("Content-Type")
    return http_content_type_encoding(content_type.decode("latin-1")) if content_type else None


def load_xml(response: Response, check_encoding: bool = True):
    """(lxml root element, None), or (None, reason) for an empty, undecodable or malformed XML body.

    The HTTP `Content-Type` charset decides the encoding when there is one (RFC 7303: it overrides
    the XML declaration), since a server that sends Shift_JIS or EUC-JP often says so only in the
    header; otherwise the body's BOM and XML declaration do. Strict on purpose: a truncated document
    is rejected as a whole rather than half-read (feeds, which are often ill-formed, are read
    leniently by feedparser instead). Entities are not resolved and nothing is fetched from the
    network (no XXE). With `check_encoding=False` a body that is not valid in the header's charset
    is left to lxml's own detection instead of being rejected as undecodable.
    """
    from lxml import etree

    if not response.body or not response.body.strip():
        return None, "empty body"
    body, override = response.body, None
    charset = header_charset(response)
    if charset:
        try:
            # re-encoded, with the parser told so: the declaration inside may name another encoding
            body, override = response.body.decode(charset).lstrip("\ufeff").encode("utf-8"), "utf-8"
        except (UnicodeDecodeError, LookupError):
            if check_encoding:
                return None, f"undecodable body (not valid {charset}, the charset of its Content-Type)"
    elif check_encoding:
        reason = check_body(response)
        if reason:
            return None, reason
    parser = etree.XMLParser(resolve_entities=False, no_network=True, recover=False, huge_tree=False,
                             encoding=override)
    try:
        return etree.fromstring(body, parser=parser), None
    except etree.XMLSyntaxError as exc:
        return None, f"malformed XML: {exc}"[:200]


def error_body_text(response: Response, limit: int = 500) -> str:
    """The readable text of an error response's body (markup stripped), at most `limit` characters."""
    if not response.body or not response.body.strip():
        return ""
    try:
        text = response.text if isinstance(response, TextResponse) else response.body.decode("utf-8", "replace")
    except (UnicodeDecodeError, LookupError):
        text = response.body.decode("utf-8", "replace")
    if text.lstrip().startswith("<"):
        text = html_to_text(re.sub(r">\s*<", "> <", re.sub(r"<\?xml[^>]*\?>", "", text)))  # tags part words
    return " ".join(text.split())[:limit]


def html_to_text(fragment: str | None) -> str:
    """Plain text of an HTML fragment (feed descriptions, topic descriptions)."""
    if not fragment:
        return ""
    from w3lib.html import remove_tags, remove_tags_with_content, replace_entities

    fragment = remove_tags_with_content(fragment, which_ones=("script", "style"))
    fragment = fragment.replace("<br", "\n<br").replace("</p>", "</p>\n")
    return replace_entities(remove_tags(fragment)).strip()
