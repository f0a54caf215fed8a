"""What every dualscout spider shares; the conventions below are the contract with the pipelines.

Conventions (every spider in `spiders/sources/<name>.py`, one per source):

- Callbacks are pure functions of the response: they yield `scout.models.Document` (built with
  `Document.make(...)`), `scout.models.Reject` (a bad record, with its reason) or follow-up `Request`s.
  They never write files or touch the crawl state; the item pipelines do.
- Every spider accepts a `base_url` spider argument (`-a base_url=http://127.0.0.1:8000`). The class
  attribute `base_url` is the public endpoint; an instance value points the spider at a mirror or a
  loopback test server. The host of the effective `base_url` is allow-listed automatically, and
  `@url` contracts written against the public endpoint are rebased onto it (`spiders/contracts.py`).
- Credentials and knobs come from `scout.settings.CrawlSettings()` (`self.crawl_settings`), never
  from module-level constants.
- `allowed_domains` lists the public hosts; only those (plus `SCOUT_CRAWL_ALLOWED_DOMAINS`) are fetched.

`ScoutSpider` implements these and turns failed requests (HTTP errors after retries, DNS errors,
timeouts, robots.txt refusals, oversized pages) into `Reject`s via `errback`.
"""

from __future__ import annotations

import json
from functools import cached_property
from typing import Any, ClassVar
from urllib.parse import urlsplit

import scrapy
from scrapy.http import Response, TextResponse
from twisted.python.failure import Failure

from scout.models import DocKind, Reject
from scout.settings import CrawlSettings


class ScoutSpider(scrapy.Spider):
    """Base class: `base_url` argument, allow-listing of its host, failures recorded as rejects."""

    #: public endpoint; `-a base_url=...` overrides it per crawl
    base_url: str = ""
    #: the `Document.kind` this spider yields
    kind: ClassVar[DocKind]

    def __init__(self, *args: Any, base_url: str | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        if base_url:
            self.base_url = base_url.rstrip("/")
        self.allowed_domains = list(getattr(self, "allowed_domains", []) or [])
        host = urlsplit(self.base_url).hostname if self.base_url else None
        if host and host not in self.allowed_domains:
            self.allowed_domains.append(host)

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
        """A request whose failures become rejects."""
        return scrapy.Request(url, callback=callback or self.parse, errback=self.errback, **kwargs)

    def reject(self, url: str | None, reason: str, detail: str | None = None) -> Reject:
        return Reject(source=self.source, url=url, reason=reason, detail=(detail or None) and detail[:2000])

    def errback(self, failure: Failure):
        """Record a failed request as a reject; the crawl goes on."""
        request = getattr(failure, "request", None)
        url = request.url if request is not None else None
        yield self.reject(url, failure_reason(failure), detail=str(failure.value)[:500])


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
    if failure.check(scrapy_errors.DownloadCancelledError) and "max size" in message:
        return "page too large"
    if failure.check(scrapy_errors.IgnoreRequest):
        if "robots.txt" in message.lower():
            return "forbidden by robots.txt"
        if "allow-list" in message:
            return "domain not allow-listed"
        return f"ignored: {message[:200]}"
    return f"{type(value).__name__}: {message[:200]}"


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


def load_xml(response: Response):
    """(lxml root element, None), or (None, reason) for an empty, undecodable or malformed XML body.

    Strict on purpose: a truncated feed is rejected as a whole rather than half-read. Entities are
    not resolved and nothing is fetched from the network (no XXE).
    """
    from lxml import etree

    reason = check_body(response)
    if reason:
        return None, reason
    parser = etree.XMLParser(resolve_entities=False, no_network=True, recover=False, huge_tree=False)
    try:
        return etree.fromstring(response.body, parser=parser), None
    except etree.XMLSyntaxError as exc:
        return None, f"malformed XML: {exc}"[:200]


def html_to_text(fragment: str | None) -> str:
    """Plain text of an HTML fragment (feed descriptions, topic descriptions)."""
    if not fragment:
        return ""
    from w3lib.html import remove_tags, remove_tags_with_content, replace_entities

    fragment = remove_tags_with_content(fragment, which_ones=("script", "style"))
    fragment = fragment.replace("<br", "\n<br").replace("</p>", "</p>\n")
    return replace_entities(remove_tags(fragment)).strip()
