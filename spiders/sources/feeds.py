"""Startup announcements from RSS 0.9x/1.0/2.0 and Atom feeds, read by feedparser.

Scrapy fetches (politeness, robots.txt, HTTP cache); feedparser reads what comes back, as feeds are
published in the wild: encodings named only by the HTTP `Content-Type` header (Shift_JIS, EUC-JP)
or only by the document, `xml:base`, the `dc:` and `content:` modules, and ill-formed documents (a
truncated feed, a comment before `<?xml`, an undeclared prefix), of which feedparser keeps what it
could read. A recovered feed's problem is a note on each of its documents and in the crawl summary;
only a feed of which nothing could be read is rejected. A web page given as a feed leads to the
feeds it announces (`<link rel="alternate" type="application/rss+xml">`, one hop).

Each item is followed to its article page; trafilatura extracts the main text (the item's own
content stands in when the page cannot be fetched or has no main text, and when the item link
points at one post of a page that holds several: `page#post-2`).

The company of an announcement comes from the item's own metadata (PR TIMES `<dc:corp>`, an author
that is a company), then the organizations the article's JSON-LD names (author first) that are not
the site (its publisher, its `WebSite`, an organization on the page's own host), then company names
written in the title and text; the site that hosts the announcement (`og:site_name`, the publisher:
"PR TIMES", "The Verge") never is.

Document ids follow the feed, not the fetch: the item's guid (RSS `<guid>`, Atom `<id>`, RSS 1.0
`rdf:about`) as the publisher wrote it, else its link as written (fragment kept); a relative or
feed-local one, or one on a loopback host (a feed served from a local port writes the port into its
links), is qualified by the feed's title. The same feed crawled from another base URL, a mirror or a
redirect gives the same ids.

Spider arguments:
- `feeds`: comma-separated feed URLs (default `SCOUT_CRAWL_FEEDS`); relative ones are joined to
  `base_url`. The hosts of the feeds are allow-listed; article links elsewhere need
  `SCOUT_CRAWL_ALLOWED_DOMAINS` (otherwise the item's own content is used).
- `max_items` per feed (default 200), `base_url`
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

from scrapy.http import TextResponse

from domain.models import DocKind, Document, normalize_text
from domain.orgs import EN_COMPANY_SUFFIX, EN_NAME_WORD, JA_COMPANY_FORM, normalize_org
from spiders.base import ScoutSpider, check_body, failure_reason, html_to_text, int_arg
from spiders.dates import parse_date
from spiders.layout import json_ld, ld_types
from spiders.records import RECORD_ERRORS, describe, joined_url, one_record

# A company name written out: a Japanese legal form before or after the name (hiragana, a particle, ends it);
# up to four capitalized words on one line before an English form. The forms are domain.orgs's.
_NAME = r"[A-Za-z0-9\u30A0-\u30FF\u3005\u4E00-\u9FFF&・ー.\-]+"
JA_COMPANY = re.compile(rf"{JA_COMPANY_FORM}[ \t]?({_NAME})|({_NAME})[ \t]?{JA_COMPANY_FORM}")
EN_COMPANY = re.compile(rf"\b((?:{EN_NAME_WORD}[ \t]+){{0,3}}{EN_NAME_WORD}),?[ \t]+({EN_COMPANY_SUFFIX})")
# Words a company-name pattern may swallow from the sentence around it.
_TRAILING = ("代表取締役", "代表", "取締役", "社長", "本社", "CEO")
_TRACKING = re.compile(r"^(utm_|fbclid$|gclid$|ref$)")
_ORGANIZATION_TYPES = {"Organization", "Corporation", "NGO", "EducationalOrganization", "CollegeOrUniversity",
                       "ResearchOrganization", "GovernmentOrganization", "LocalBusiness", "NewsMediaOrganization"}
_ARTICLE_TYPES = {"Article", "NewsArticle", "BlogPosting", "PressRelease", "Report", "TechArticle", "WebPage"}


def strip_tracking(url: str) -> str:
    """`url` without analytics parameters; the #fragment stays (two posts on one page are two items)."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _TRACKING.match(k)]
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), parts.fragment))


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
        if match.group(2) in ("Inc", "Corp", "Ltd"):
            full += "."
        if full not in names:
            names.append(full)
    return names


def _language(value: str | None) -> str | None:
    value = (value or "").strip().lower()
    if value.startswith("ja"):
        return "ja"
    if value.startswith("en"):
        return "en"
    return None


def feed_problem(parsed: Any) -> str | None:
    """What was wrong with a feed feedparser read anyway, in words; None for a sound feed."""
    if not parsed.get("bozo"):
        return None
    exc = parsed.get("bozo_exception")
    kind = type(exc).__name__
    if kind == "NonXMLContentType":  # served as text/plain or text/html: common and harmless
        return None
    if kind == "CharacterEncodingOverride":
        return f"undecodable body: {exc}"
    line = getattr(exc, "getLineNumber", lambda: None)()
    where = f" (line {line})" if line else ""
    return f"ill-formed feed, read leniently: {getattr(exc, 'getMessage', lambda: str(exc))()}{where}"[:300]


def _is_absolute_uri(value: str) -> bool:
    return bool(re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:", value)) and not value.lower().startswith("javascript:")


def _on_loopback(url: str) -> bool:
    """Whether `url` names this machine (127.0.0.1, ::1, localhost): a port of ours, not a publisher."""
    import ipaddress

    host = urlsplit(url).hostname or ""
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def item_key(guid: str, link: str, feed_title: str) -> str:
    """The item's id inside the source, as its feed writes it (see the module doc)."""
    key = guid or link
    if _is_absolute_uri(key) and _on_loopback(key):
        # a feed served from a loopback port writes that port into its links: it is not the item's identity
        parts = urlsplit(key)
        key = urlunsplit(("", "", parts.path, parts.query, parts.fragment))
    if _is_absolute_uri(key):
        return key
    # a bare guid ("12345") or a relative link is unique only inside its own feed
    return f"{normalize_text(feed_title) or 'feed'}|{key}" if key else ""


def _struct_utc(value: Any) -> str:
    from calendar import timegm
    from datetime import datetime, timezone

    try:
        return datetime.fromtimestamp(timegm(value), timezone.utc).isoformat() if value else ""
    except (TypeError, ValueError, OverflowError):
        return ""


_ENTITY_DECLARATION = re.compile(rb"<!DOCTYPE[^>\[]*\[[^\]]*<!ENTITY", re.I | re.S)
_ENTITY_DECLARATION_UTF16 = re.compile(rb"<\x00!\x00E\x00N\x00T\x00I\x00T\x00Y|\x00<\x00!\x00E\x00N\x00T\x00I\x00T\x00Y")


def declares_entities(body: bytes) -> bool:
    """Whether the feed's DOCTYPE declares entities: no real feed needs them, and an XML parser that expands
    them ("billion laughs") can be made to spend seconds and megabytes on a few hundred bytes (defusedxml's rule)."""
    head = body[:65536]
    return bool(_ENTITY_DECLARATION.search(head) or _ENTITY_DECLARATION_UTF16.search(head))


_CHAR_REFERENCE = re.compile(rb"&#([xX][0-9a-fA-F]{1,16}|[0-9]{1,20});")


def _no_character(match: re.Match) -> bytes:
    digits = match.group(1)
    value = int(digits[1:], 16) if digits[:1] in (b"x", b"X") else int(digits)
    if value == 0 or 0xD800 <= value <= 0xDFFF or value > 0x10FFFF:
        return b"&#xFFFD;"
    return match.group(0)


def without_bad_references(body: bytes) -> bytes:
    """`body` with character references to no character (`&#xD800;`, `&#0;`, past U+10FFFF) replaced by U+FFFD.

    XML forbids them; feedparser's lenient parser turns a surrogate one into a Python string that its own
    UTF-8 re-encoding cannot hold (UnicodeEncodeError), losing the whole feed for one character."""
    return _CHAR_REFERENCE.sub(_no_character, body) if b"&#" in body else body


class FeedUnreadable(ValueError):
    """feedparser failed on the body itself (not a recoverable ill-formedness): the message says how."""


def read_feed(body: bytes, content_type: str | None) -> tuple[dict[str, Any], list[dict[str, Any]], str | None]:
    """(feed info, items as plain dicts, problem or None) of a feed body; FeedUnreadable when feedparser
    itself fails on it.

    No Content-Location is given to feedparser: links and guids stay as the feed wrote them
    (resolved only against its own `xml:base`), so ids do not depend on where it was fetched from;
    the caller resolves links against the response URL.
    """
    import feedparser

    headers = {"content-type": content_type} if content_type else {}
    try:
        parsed = feedparser.parse(without_bad_references(body), response_headers=headers,
                                  resolve_relative_uris=True, sanitize_html=True)
    except RECORD_ERRORS as exc:
        raise FeedUnreadable(f"feed could not be read: {describe(exc)}") from None
    feed = parsed.get("feed", {})
    info = {
        "title": html_to_text(feed.get("title") or ""),
        "language": _language(feed.get("language") or (feed.get("title_detail") or {}).get("language")),
        "version": parsed.get("version") or "",
    }
    entries = []
    for entry in parsed.get("entries", []):
        content = entry.get("content") or []
        description = (content[0].get("value") if content else "") or entry.get("summary") or ""
        link = entry.get("link") or ""
        guid = entry.get("id") or ""
        if not link and entry.get("guidislink"):
            link = guid
        entries.append({
            "title": html_to_text(entry.get("title") or ""),
            "link": link.strip(),
            "guid": guid.strip(),
            "description": description,
            "published": entry.get("published") or entry.get("updated") or entry.get("created") or "",
            # feedparser's own reading (UTC) of a date format ours does not know
            "published_utc": _struct_utc(entry.get("published_parsed") or entry.get("updated_parsed")),
            "author": entry.get("author") or "",
            "corp": normalize_text(entry.get("dc_corp") or ""),  # PR TIMES: the company of the release
            "categories": [t.get("term") for t in entry.get("tags") or [] if t.get("term")],
            "language": _language((entry.get("title_detail") or {}).get("language")),
        })
    return info, entries, feed_problem(parsed)


def discovered_feeds(response, limit: int = 3) -> list[str]:
    """Feeds a web page announces (`<link rel="alternate" type="application/rss+xml|atom+xml">`)."""
    if not isinstance(response, TextResponse):
        return []
    try:
        hrefs = response.xpath(
            '//link[contains(concat(" ", normalize-space(@rel), " "), " alternate ")]'
            '[contains(@type, "rss") or contains(@type, "atom") or contains(@type, "rdf")]/@href').getall()
    except (ValueError, AttributeError):
        return []
    urls = [strip_tracking(u) for u in (joined_url(response, h) for h in hrefs) if u]
    return [u for u in dict.fromkeys(urls) if urlsplit(u).scheme in ("http", "https") and u != response.url][:limit]


def _json_ld_nodes(response: TextResponse) -> list[dict[str, Any]]:
    """Every JSON-LD node of the page (`@graph`s flattened), read by extruct."""
    data = json_ld(response)
    nodes: list[dict[str, Any]] = []

    def visit(node: Any) -> None:
        if isinstance(node, list):
            for child in node:
                visit(child)
        elif isinstance(node, dict):
            nodes.append(node)
            for value in node.values():
                if isinstance(value, (dict, list)):
                    visit(value)

    visit(data)
    return nodes


def _names(node: Any) -> list[str]:
    """The names of a JSON-LD value: a node, a list of nodes or a plain string."""
    if isinstance(node, list):
        return [n for child in node for n in _names(child)]
    if isinstance(node, dict):
        name = node.get("name")
        return [name.strip()] if isinstance(name, str) and name.strip() else []
    return [node.strip()] if isinstance(node, str) and node.strip() else []


def site_names(response: TextResponse, nodes: list[dict[str, Any]]) -> list[str]:
    """Names of the site that hosts a page: `og:site_name`, JSON-LD publishers and `WebSite` nodes."""
    names = [n.strip() for n in response.xpath('//meta[@property="og:site_name"]/@content').getall() if n.strip()]
    for node in nodes:
        names += _names(node.get("publisher"))
        if "WebSite" in ld_types(node):
            names += _names(node)
    return list(dict.fromkeys(names))


def page_organizations(response: TextResponse, nodes: list[dict[str, Any]], site: list[str]) -> list[str]:
    """JSON-LD organizations of the page that are not the site itself.

    When the page has an article node, only the organizations it names (author, creator,
    sourceOrganization, about) count: an Organization node standing beside the article is the site's
    own (Yoast-style `@graph`s, "Vox Media" beside a Verge story), whatever its name.
    """
    site_keys = {normalize_org(n) for n in site}
    by_id = {n["@id"]: n for n in nodes if isinstance(n.get("@id"), str)}
    site_ids = set()
    for node in nodes:  # what publishers point to by @id is the site's own organization
        for ref in node.get("publisher") if isinstance(node.get("publisher"), list) else [node.get("publisher")]:
            if isinstance(ref, dict) and isinstance(ref.get("@id"), str):
                site_ids.add(ref["@id"])
    host = (urlsplit(response.url).hostname or "").removeprefix("www.")
    found: list[str] = []
    articles = [n for n in nodes if ld_types(n) & _ARTICLE_TYPES]
    named: list[dict[str, Any]] = []
    for article in articles:  # authors first
        for key in ("author", "creator", "sourceOrganization", "about"):
            value = article.get(key)
            for ref in value if isinstance(value, list) else [value]:
                if isinstance(ref, dict):
                    named.append(by_id.get(ref.get("@id"), ref) if len(ref) == 1 and "@id" in ref else ref)
    for node in named if articles else nodes:
        if not ld_types(node) & _ORGANIZATION_TYPES or node.get("@id") in site_ids:
            continue
        url = node.get("url") if isinstance(node.get("url"), str) else ""
        if url and (urlsplit(url).hostname or "").removeprefix("www.") == host:
            continue  # an organization on the page's own host is the site
        for name in _names(node):
            if normalize_org(name) and normalize_org(name) not in site_keys:
                found.append(name)
    return list(dict.fromkeys(found))


def page_date(response: TextResponse, nodes: list[dict[str, Any]]):
    """The article's publication time as the page states it (time and zone kept), or None."""
    candidates = [n.get("datePublished") for n in nodes if ld_types(n) & _ARTICLE_TYPES]
    candidates += response.xpath(
        '//meta[@property="article:published_time" or @name="article:published_time" or @itemprop="datePublished"'
        ' or @name="pubdate" or @name="publishdate" or @name="date"]/@content').getall()
    candidates += response.xpath("//article//time/@datetime | //time[@itemprop='datePublished']/@datetime").getall()
    for value in candidates:
        if isinstance(value, str) and (parsed := parse_date(value)) is not None:
            return parsed
    return None


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
        if not response.body or not response.body.strip():
            yield self.reject(response.url, "empty body")
            return
        if declares_entities(response.body):
            yield self.reject(response.url, "feed declares XML entities in its DOCTYPE (refused: entity expansion)")
            return
        content_type = response.headers.get("Content-Type")
        try:
            info, entries, problem = read_feed(response.body, content_type.decode("latin-1") if content_type else None)
        except FeedUnreadable as exc:
            yield self.reject(response.url, str(exc))
            return
        if not entries and not info["version"] and (found := discovered_feeds(response)):
            if response.meta.get("discovered_from"):  # one hop only: a page must not lead to pages forever
                yield self.reject(response.url, "not an RSS or Atom feed (a page announcing other feeds)")
                return
            # a site's page instead of its feed: follow the feeds it announces, as feed readers do
            self.note(f"{response.url} is a web page, not a feed; reading the feed(s) it announces: {', '.join(found)}")
            for url in found:
                yield self.request(url, self.parse, meta={"discovered_from": response.url})
            return
        if not entries:
            if not info["version"]:
                yield self.reject(response.url, "not an RSS or Atom feed (no channel, feed or item found)",
                                  detail=problem)
            elif problem:
                yield self.reject(response.url, problem)
            return  # a sound feed with no items is simply empty
        if problem:
            self.note(f"{response.url}: {problem}; {len(entries)} item(s) recovered")
        for entry in entries[: self.max_items]:
            # one item at a time (spiders/records.py): a link such as http://[::1 is that item's reject
            yield one_record(self, response.url, self.item_request, response, entry, info, problem)

    def item_request(self, response, entry: dict[str, Any], info: dict[str, Any], problem: str | None):
        """The request for one feed item's article page (the item travels in cb_kwargs), or its document when
        the feed holds the whole post, or its reject."""
        entry = {**entry, "feed": response.url, "feed_title": info["title"],
                 "language": info["language"] or entry["language"], "feed_problem": problem}
        link = entry["link"]
        if not link:
            return self.reject(response.url, f"feed item without a link: {entry['title'][:80]!r}", detail=problem)
        entry["link"] = strip_tracking(urljoin(response.url, link))
        parts = urlsplit(entry["link"])
        if parts.scheme not in ("http", "https"):
            return self.reject(entry["link"], "feed item link is not http(s)")
        parts.port  # noqa: B018 - a port past 65535 or not a number is this item's ValueError
        entry["key"] = item_key(entry["guid"], strip_tracking(link), info["title"])
        if parts.fragment and html_to_text(entry["description"]):
            # one post of a page holding several: the page's main text is not this post's
            return self.entry_document(entry, None, None)
        # dont_filter: items that differ only by #fragment share a page but are not duplicates
        return self.request(entry["link"], self.parse_article, cb_kwargs={"entry": entry},
                            errback=self.article_failed, dont_filter=bool(parts.fragment))

    def request(self, url: str, callback: Any = None, errback: Any = None, **kwargs: Any):
        request = super().request(url, callback, **kwargs)
        if errback is not None:
            request.errback = errback
        return request

    def parse_article(self, response, entry: dict[str, Any]):
        """An article page: main text by trafilatura, company name, one startup document.

        @url https://prtimes.jp/main/html/rd/p/000000012.000012345.html
        @cb_kwargs {"entry": {"title": "株式会社サンプル、小型レーダーを発表", "link": "https://prtimes.jp/main/html/rd/p/000000012.000012345.html", "guid": "", "key": "https://prtimes.jp/main/html/rd/p/000000012.000012345.html", "description": "株式会社サンプルは小型レーダーを発表しました。", "published": "2026-11-20T10:00:00+09:00", "author": "", "corp": "", "categories": [], "feed": "https://prtimes.jp/index.rdf", "feed_title": "PR TIMES", "language": "ja"}}
        @returns items 1 1
        @scrapes id kind title text url organizations
        """
        yield one_record(self, response.url, self.article_document, response, entry)

    def article_document(self, response, entry: dict[str, Any]) -> Document | Any:
        problem = check_body(response)
        if problem is None and not isinstance(response, TextResponse):
            problem = f"not a text page ({response.headers.get('Content-Type', b'').decode(errors='replace')})"
        if problem is not None:
            return self.entry_document(entry, None, None, fallback_reason=problem) or self.reject(
                response.url, f"article page: {problem}; feed item has no description"
            )
        import trafilatura

        html = response.text
        text = trafilatura.extract(html, url=response.url, include_comments=False, include_tables=True, favor_precision=True)
        metadata = trafilatura.extract_metadata(html, default_url=response.url)
        reason = None if text else "no main text found"
        if text and len(text) < len(html_to_text(entry.get("description"))):
            # Less than the feed's own teaser: the extractor missed the article body.
            text, reason = None, "main text shorter than the feed description"
        doc = self.entry_document(entry, response, text, metadata=metadata, fallback_reason=reason)
        return doc or self.reject(response.url, "article page: no main text; feed item has no description")

    def article_failed(self, failure):
        """The article page could not be fetched: fall back to the feed item's description."""
        request = failure.request
        entry = request.cb_kwargs.get("entry", {})
        reason = failure_reason(failure)
        yield one_record(self, request.url, lambda: self.entry_document(entry, None, None, fallback_reason=reason)
                         or self.reject(request.url, f"article page: {reason}; feed item has no description"))

    def entry_document(self, entry, response, text, *, metadata=None, fallback_reason=None) -> Document | None:
        """The startup document of a feed item (and its article page, when there is one)."""
        description = html_to_text(entry.get("description"))
        title = entry.get("title") or (metadata.title if metadata is not None and metadata.title else "")
        body = text or description
        if not body or not title:
            return None
        url = entry.get("link") or (response.url if response is not None else "")
        nodes: list[dict[str, Any]] = []
        site: list[str] = []
        canonical_url = None
        if response is not None:
            canonical = response.xpath('//link[@rel="canonical"]/@href').get()
            joined = joined_url(response, canonical)
            if joined and urlsplit(joined).scheme in ("http", "https"):
                canonical_url = joined
            url = canonical_url or response.url
            if urlsplit(entry.get("link") or "").fragment and not urlsplit(url).fragment:
                url += "#" + urlsplit(entry["link"]).fragment
            nodes = _json_ld_nodes(response)
            site = site_names(response, nodes)
        if not url:
            return None
        organizations = self.organizations(entry, response, nodes, site, title, body)
        language = entry.get("language")
        if response is not None:
            language = _language(response.xpath("/html/@lang").get()) or language
        published = parse_date(entry.get("published")) or parse_date(entry.get("published_utc"))
        if published is None and response is not None:
            published = page_date(response, nodes)
        if published is None and metadata is not None and metadata.date:
            published = parse_date(metadata.date)
        return Document.make(
            kind=self.kind,
            source=self.source,
            # the item's guid or link as its feed writes it: stable across redirects, mirrors and base URLs
            source_id=entry.get("key") or entry.get("link") or None,
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
                "site_name": site[0] if site else None,
                "canonical_url": canonical_url,
                "text_source": "article" if text else "description",
                "fallback_reason": fallback_reason if not text else None,
                "feed_problem": entry.get("feed_problem") or None,
            },
        )

    @staticmethod
    def organizations(entry, response, nodes, site, title: str, body: str) -> list[str]:
        """The announcing company: item metadata, then the page's own JSON-LD, then names in the text."""
        if entry.get("corp"):
            return [entry["corp"]]
        site_keys = {k for k in (normalize_org(n) for n in site) if k}
        author = company_names(normalize_text(entry.get("author") or ""))
        if author and not {normalize_org(a) for a in author} & site_keys:
            return author  # the item's author is a company ("Helix Photonics Corp.", "株式会社ソラテック")
        if response is not None and (found := page_organizations(response, nodes, site)):
            return found
        # title and body scanned apart: a name never spans the two
        names = company_names(normalize_text(title)) + company_names(normalize_text(body))
        # a pattern stops at a space: "株式会社PR" is the start of the site's "株式会社PR TIMES"
        return [n for n in dict.fromkeys(names) if not any(k.startswith(normalize_org(n)) for k in site_keys)]
