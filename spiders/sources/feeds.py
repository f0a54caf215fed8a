"""Startup announcements from RSS 2.0, RSS 1.0 (RDF, e.g. PR TIMES) and Atom feeds.

Each feed item is followed to its article page; trafilatura extracts the main text (falling back to
the item's description when the page cannot be fetched or has no main text) and the company name is
taken from the page's structured data, company-name patterns (株式会社…, … Inc.) or `og:site_name`.

Spider arguments:
- `feeds`: comma-separated feed URLs (default `SCOUT_CRAWL_FEEDS`); relative ones are joined to
  `base_url`. The hosts of the feeds are allow-listed; article links elsewhere need
  `SCOUT_CRAWL_ALLOWED_DOMAINS` (otherwise the feed description is used).
- `max_items` per feed (default 200), `base_url`
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

from scrapy.http import TextResponse

from domain.models import DocKind, Document, normalize_text
from spiders.base import ScoutSpider, check_body, failure_reason, html_to_text, int_arg, load_xml

ATOM = "http://www.w3.org/2005/Atom"
RSS1 = "http://purl.org/rss/1.0/"
RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
DC = "http://purl.org/dc/elements/1.1/"
CONTENT = "http://purl.org/rss/1.0/modules/content/"
NS = {"a": ATOM, "rss1": RSS1, "rdf": RDF, "dc": DC, "content": CONTENT}

# Company-name characters: Latin, digits, katakana, kanji and a few joiners; hiragana (particles) ends a name.
_NAME = r"[A-Za-z0-9\u30A0-\u30FF\u3005\u4E00-\u9FFF&・ー.\-]+"
JA_COMPANY = re.compile(rf"(?:株式会社|合同会社|有限会社)\s?({_NAME})|({_NAME})\s?(?:株式会社|合同会社|有限会社)")
EN_COMPANY = re.compile(
    r"\b((?:[A-Z][\w&\-]*\s+){0,3}[A-Z][\w&\-]*),?\s+(Inc|Corp|Corporation|Ltd|LLC|GmbH|Co\.,\s?Ltd)\b\.?"
)
# Words a company-name pattern may swallow from the sentence around it.
_TRAILING = ("代表取締役", "代表", "取締役", "社長", "本社", "CEO")
_TRACKING = re.compile(r"^(utm_|fbclid$|gclid$|ref$)")


def strip_tracking(url: str) -> str:
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _TRACKING.match(k)]
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), ""))


def company_names(text: str) -> list[str]:
    """Company names written out in `text` (Japanese legal-form prefixes/suffixes, English suffixes)."""
    names: list[str] = []
    for match in JA_COMPANY.finditer(text):
        name = match.group(1) or match.group(2)
        for word in _TRAILING:
            if name.endswith(word) and len(name) > len(word):
                name = name[: -len(word)]
        full = match.group(0).strip()
        if match.group(1):
            full = full[: len(full) - len(match.group(1))] + name
        if len(name) >= 2 and full not in names:
            names.append(full)
    for match in EN_COMPANY.finditer(text):
        full = f"{match.group(1)} {match.group(2)}".strip()
        if match.group(2) in ("Inc", "Corp", "Ltd") and not full.endswith("."):
            full += "."
        if full not in names:
            names.append(full)
    return names


def _parse_date(value: str | None) -> datetime | None:
    if not value:
        return None
    value = value.strip()
    try:
        parsed = parsedate_to_datetime(value)  # RSS 2.0: RFC 822
    except (TypeError, ValueError, IndexError):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))  # Atom, dc:date: ISO 8601
        except ValueError:
            return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def _first(element, *paths: str) -> str:
    for path in paths:
        found = element.find(path, NS)
        if found is not None and (found.text or "").strip():
            return found.text.strip()
    return ""


def _language(value: str | None) -> str | None:
    value = (value or "").strip().lower()
    if value.startswith("ja"):
        return "ja"
    if value.startswith("en"):
        return "en"
    return None


def _permalink_guid(item) -> str:
    """RSS 2.0: a `<guid>` is the item's URL unless it says isPermaLink="false"."""
    guid = item.find("guid")
    if guid is None or guid.get("isPermaLink", "true") != "true":
        return ""
    return (guid.text or "").strip()


def feed_entries(root) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """(feed info, items) of an RSS 2.0, RSS 1.0 or Atom document; items are plain dicts."""
    entries: list[dict[str, Any]] = []
    if root.tag == "rss":
        channel = root.find("channel")
        if channel is None:
            raise ValueError("RSS without <channel>")
        info = {"title": _first(channel, "title"), "language": _language(_first(channel, "language"))}
        for item in channel.findall("item"):
            entries.append({
                "title": _first(item, "title"),
                "link": _first(item, "link") or _permalink_guid(item),
                "guid": _first(item, "guid"),
                "description": _first(item, "content:encoded", "description"),
                "published": _first(item, "pubDate", "dc:date"),
                "author": _first(item, "dc:creator", "author"),
                "categories": [c.text.strip() for c in item.findall("category") if c.text and c.text.strip()],
            })
    elif root.tag == f"{{{RDF}}}RDF":
        channel = root.find("rss1:channel", NS)
        info = {
            "title": _first(channel, "rss1:title") if channel is not None else "",
            "language": _language(_first(channel, "dc:language") if channel is not None else None),
        }
        for item in root.findall("rss1:item", NS):
            entries.append({
                "title": _first(item, "rss1:title"),
                "link": _first(item, "rss1:link") or item.get(f"{{{RDF}}}about", ""),
                "guid": item.get(f"{{{RDF}}}about", ""),
                "description": _first(item, "content:encoded", "rss1:description"),
                "published": _first(item, "dc:date"),
                "author": _first(item, "dc:creator", "dc:publisher"),
                "categories": [c.text.strip() for c in item.findall("dc:subject", NS) if c.text and c.text.strip()],
            })
    elif root.tag == f"{{{ATOM}}}feed":
        info = {"title": _first(root, "a:title"), "language": _language(root.get("{http://www.w3.org/XML/1998/namespace}lang"))}
        for entry in root.findall("a:entry", NS):
            links = entry.findall("a:link", NS)
            link = next((l.get("href") for l in links if l.get("rel", "alternate") == "alternate" and l.get("href")), "")
            author = entry.find("a:author", NS)
            entries.append({
                "title": html_to_text(_first(entry, "a:title")),
                "link": link,
                "guid": _first(entry, "a:id"),
                "description": _first(entry, "a:content", "a:summary"),
                "published": _first(entry, "a:published", "a:updated"),
                "author": _first(author, "a:name") if author is not None else "",
                "categories": [c.get("term") for c in entry.findall("a:category", NS) if c.get("term")],
            })
    else:
        raise ValueError(f"not an RSS or Atom feed (root element {root.tag})")
    return info, entries


def _json_ld_organizations(response: TextResponse) -> list[str]:
    """Organization names in the page's JSON-LD (author / sourceOrganization / Organization nodes)."""
    names: list[str] = []

    def visit(node: Any) -> None:
        if isinstance(node, list):
            for child in node:
                visit(child)
        elif isinstance(node, dict):
            types = node.get("@type")
            types = types if isinstance(types, list) else [types]
            if {"Organization", "Corporation"} & set(types) and isinstance(node.get("name"), str):
                names.append(node["name"].strip())
            for key, value in node.items():
                if key != "publisher":  # the publisher is the site itself, not the company announced
                    visit(value)

    for script in response.xpath('//script[@type="application/ld+json"]/text()').getall():
        try:
            visit(json.loads(script))
        except (ValueError, RecursionError):  # malformed, or nested too deeply to be a real page's metadata
            continue
    return [n for n in dict.fromkeys(names) if n]


class FeedsSpider(ScoutSpider):
    name = "feeds"
    kind = DocKind.startup
    base_url = ""  # no single public endpoint: the feeds are configured
    one_document_per_url = True  # items redirecting to one article: the second is a reject, not a copy

    def __init__(self, feeds: str | None = None, max_items: str | int = 200, **kwargs: Any):
        super().__init__(**kwargs)
        configured = [f.strip() for f in feeds.split(",")] if feeds else list(self.crawl_settings.feeds)
        self.feeds = [urljoin(self.base_url + "/", f) if self.base_url else f for f in configured if f]
        self.max_items = int_arg("max_items", max_items)
        for feed in self.feeds:
            self.allow_origin(feed)  # the feed's host, on the feed's port

    async def start(self):
        if not self.feeds:
            self.logger.error("no feeds configured: set SCOUT_CRAWL_FEEDS or pass -a feeds=URL[,URL...]")
            return
        for feed in self.feeds:
            yield self.request(feed, self.parse)

    def parse(self, response):
        """A feed: one request per item, to its article page (the item travels in cb_kwargs).

        @url https://prtimes.jp/index.rdf
        @returns requests 1
        @returns items 0 0
        """
        root, reason = load_xml(response)
        if root is None:
            yield self.reject(response.url, reason)
            return
        try:
            info, entries = feed_entries(root)
        except ValueError as exc:
            yield self.reject(response.url, str(exc))
            return
        for entry in entries[: self.max_items]:
            entry = {**entry, "feed": response.url, "feed_title": info["title"], "language": info["language"]}
            link = (entry["link"] or "").strip()
            if not link:
                yield self.reject(response.url, f"feed item without a link: {entry['title'][:80]!r}")
                continue
            entry["link"] = strip_tracking(urljoin(response.url, link))
            if urlsplit(entry["link"]).scheme not in ("http", "https"):
                yield self.reject(entry["link"], "feed item link is not http(s)")
                continue
            yield self.request(entry["link"], self.parse_article, cb_kwargs={"entry": entry}, errback=self.article_failed)

    def request(self, url: str, callback: Any = None, errback: Any = None, **kwargs: Any):
        request = super().request(url, callback, **kwargs)
        if errback is not None:
            request.errback = errback
        return request

    def parse_article(self, response, entry: dict[str, Any]):
        """An article page: main text by trafilatura, company name, one startup document.

        @url https://prtimes.jp/main/html/rd/p/000000012.000012345.html
        @cb_kwargs {"entry": {"title": "株式会社サンプル、小型レーダーを発表", "link": "https://prtimes.jp/main/html/rd/p/000000012.000012345.html", "guid": "", "description": "株式会社サンプルは小型レーダーを発表しました。", "published": "2026-11-20T10:00:00+09:00", "author": "", "categories": [], "feed": "https://prtimes.jp/index.rdf", "feed_title": "PR TIMES", "language": "ja"}}
        @returns items 1 1
        @scrapes id kind title text url organizations
        """
        problem = check_body(response)
        if problem is None and not isinstance(response, TextResponse):
            problem = f"not a text page ({response.headers.get('Content-Type', b'').decode(errors='replace')})"
        if problem is not None:
            yield self.entry_document(entry, None, None, fallback_reason=problem) or self.reject(
                response.url, f"article page: {problem}; feed item has no description"
            )
            return
        import trafilatura

        html = response.text
        text = trafilatura.extract(html, url=response.url, include_comments=False, include_tables=True, favor_precision=True)
        metadata = trafilatura.extract_metadata(html, default_url=response.url)
        reason = None if text else "no main text found"
        if text and len(text) < len(html_to_text(entry.get("description"))):
            # Less than the feed's own teaser: the extractor missed the article body.
            text, reason = None, "main text shorter than the feed description"
        doc = self.entry_document(entry, response, text, metadata=metadata, fallback_reason=reason)
        yield doc or self.reject(response.url, "article page: no main text; feed item has no description")

    def article_failed(self, failure):
        """The article page could not be fetched: fall back to the feed item's description."""
        request = failure.request
        entry = request.cb_kwargs.get("entry", {})
        reason = failure_reason(failure)
        yield self.entry_document(entry, None, None, fallback_reason=reason) or self.reject(
            request.url, f"article page: {reason}; feed item has no description"
        )

    def entry_document(self, entry, response, text, *, metadata=None, fallback_reason=None) -> Document | None:
        """The startup document of a feed item (and its article page, when there is one)."""
        description = html_to_text(entry.get("description"))
        title = entry.get("title") or (metadata.title if metadata is not None and metadata.title else "")
        body = text or description
        if not body or not title:
            return None
        url = entry.get("link") or (response.url if response is not None else "")
        if response is not None:
            canonical = response.xpath('//link[@rel="canonical"]/@href').get()
            if canonical and urlsplit(urljoin(response.url, canonical)).scheme in ("http", "https"):
                url = urljoin(response.url, canonical)
            else:
                url = response.url
        if not url:
            return None
        site_name = None
        organizations: list[str] = []
        if response is not None:
            site_name = response.xpath('//meta[@property="og:site_name"]/@content').get()
            organizations = _json_ld_organizations(response)
        if not organizations:  # title and body scanned apart: a name never spans the two
            organizations = list(dict.fromkeys(company_names(normalize_text(title)) + company_names(normalize_text(body))))
        if not organizations and site_name:
            organizations = [site_name.strip()]
        language = entry.get("language")
        if response is not None:
            language = _language(response.xpath("/html/@lang").get()) or language
        published = _parse_date(entry.get("published"))
        if published is None and metadata is not None and metadata.date:
            published = _parse_date(metadata.date)
        return Document.make(
            kind=self.kind,
            source=self.source,
            source_id=entry.get("link") or None,  # the item link (tracking stripped): stable across redirects
            url=url,
            title=title,
            text=body,
            language=language,
            organizations=organizations,
            published=published,
            meta={
                "feed": entry.get("feed"),
                "feed_title": entry.get("feed_title"),
                "guid": entry.get("guid") or None,
                "author": entry.get("author") or None,
                "categories": entry.get("categories") or [],
                "site_name": site_name,
                "text_source": "article" if text else "description",
                "fallback_reason": fallback_reason if not text else None,
            },
        )
