"""Spider contracts (`scrapy check`): `@url` names the public sample URL and follows `base_url`.

A docstring documents a callback against the real source (`@url http://export.arxiv.org/api/...`).
Run with `scrapy check -a base_url=http://127.0.0.1:8000` and the same request goes to the mirror or
loopback server instead: the public prefix (the class's `base_url`) is replaced by the instance's.
A relative `@url` (for sources with no public endpoint, like the needs file) is joined to `base_url`;
for spiders without a public `base_url` (feeds) the URL's scheme and host are swapped for it.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urljoin, urlsplit, urlunsplit

from scrapy.contracts.default import UrlContract as _ScrapyUrlContract


def rebase(url: str, public_base: str | None, base: str | None) -> str:
    """`url` moved from the public endpoint onto `base` (relative URLs are joined to `base`)."""
    if not base or base == public_base:
        return url if urlsplit(url).scheme or not base else urljoin(base.rstrip("/") + "/", url)
    if not urlsplit(url).scheme:
        return urljoin(base.rstrip("/") + "/", url)
    if public_base and url.startswith(public_base):
        rest = url[len(public_base) :]
        if not rest or rest[0] in "?#":  # the endpoint itself (a start page or an API with a query)
            return base + rest
        return base.rstrip("/") + "/" + rest.lstrip("/")
    # Another page of the source (or no public endpoint, like feeds): keep the path, swap the origin.
    parts, origin = urlsplit(url), urlsplit(base)
    return urlunsplit((origin.scheme, origin.netloc, parts.path, parts.query, ""))


class UrlContract(_ScrapyUrlContract):
    """`@url URL`: the sample request, rebased onto the spider's `base_url` argument."""

    name = "url"

    def __init__(self, method: Any, *args: Any):
        super().__init__(method, *args)
        self.spider = getattr(method, "__self__", None)

    def adjust_request_args(self, args: dict[str, Any]) -> dict[str, Any]:
        url = self.args[0]
        if self.spider is not None:
            url = rebase(url, getattr(type(self.spider), "base_url", None), getattr(self.spider, "base_url", None))
        args["url"] = url
        return args
