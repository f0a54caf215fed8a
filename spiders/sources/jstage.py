"""J-STAGE WebAPI (service=3, article search): Japanese journal articles.

    scrapy crawl jstage -a keyword="レーダ" -a pubyearfrom=2024

The search API answers Atom-like XML with Japanese and English titles, authors and journal, but no
abstract; with `follow_articles` (default on) each article page is fetched for its `abstract`,
`authors_institutions` and `publication_date` meta tags (the same tags J-STAGE serves to citation tools).
Paging with `start`/`count` until `opensearch:totalResults` or `max_results`.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Iterator
from urllib.parse import urlencode

import scrapy

from domain.models import DocKind, Document, Reject
from spiders.base import EndpointSpider, int_arg, load_xml
from spiders.dates import parse_date
from spiders.records import one_record, page_number

API_URL = "https://api.jstage.jst.go.jp/searchapi/do"
NS = {
    "a": "http://www.w3.org/2005/Atom",
    "prism": "http://prismstandard.org/namespaces/basic/2.0/",
    "opensearch": "http://a9.com/-/spec/opensearch/1.1/",
}
MAX_COUNT = 1000  # the API's own cap per request

_JA_CHARS = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uff66-\uff9f]")
_LATIN = re.compile(r"[A-Za-z]")


def detect_language(text: str) -> str | None:
    """"ja" when Japanese script is a real share of the letters, "en" for Latin text, else None."""
    ja = len(_JA_CHARS.findall(text))
    latin = len(_LATIN.findall(text))
    if ja == 0 and latin == 0:
        return None
    if ja >= max(5, 0.2 * latin) or (ja and ja >= latin):
        return "ja"
    return "en"


def _text(node: Any, path: str) -> str:
    found = node.find(path, NS)
    return " ".join("".join(found.itertext()).split()) if found is not None else ""


def _date(raw: str) -> datetime | None:
    """"2024/03/15", "2024-03", "2024", "2024年3月15日" -> an aware datetime; anything else -> None."""
    return parse_date(raw)


class JstageSpider(EndpointSpider):
    """Articles from J-STAGE, one `Document(kind=research)` per article."""

    name = "jstage"
    kind = DocKind.research
    base_url = API_URL  # the public endpoint; `-a base_url=...` points the spider elsewhere
    allowed_domains = ["api.jstage.jst.go.jp", "www.jstage.jst.go.jp"]

    def __init__(
        self,
        keyword: str = "",
        article: str = "",
        pubyearfrom: str = "",
        cdjournal: str = "",
        count: int | str = 100,
        max_results: int | str = 500,
        follow_articles: str | bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.enabled = self.crawl_settings.jstage_enabled
        self.query = {k: v for k, v in {"keyword": keyword, "article": article, "pubyearfrom": pubyearfrom,
                                        "cdjournal": cdjournal}.items() if v}
        self.count = max(1, min(int_arg("count", count), MAX_COUNT))
        self.max_results = int_arg("max_results", max_results)
        self.follow_articles = str(follow_articles).lower() not in ("0", "false", "no", "off")

    def page_url(self, start: int) -> str:
        return f"{self.base_url}?{urlencode({'service': 3, **self.query, 'start': start, 'count': self.count})}"

    async def start(self):  # type: ignore[no-untyped-def]
        if not self.enabled:
            self.logger.info("jstage disabled by SCOUT_CRAWL_JSTAGE_ENABLED=false")
            return
        yield self.request(self.page_url(1))

    def parse(self, response: scrapy.http.Response, **kwargs: Any) -> Iterator[Document | Reject | scrapy.Request]:
        """One page of search results; follows each article page and the next page.

        @url https://api.jstage.jst.go.jp/searchapi/do?service=3&keyword=radar&count=5
        @returns requests 0 6
        """
        root, reason = load_xml(response, check_encoding=False)
        if root is None:
            yield self.reject(response.url, reason)
            return
        status = _text(root, "a:result/a:status") or _text(root, "result/status")
        if status.startswith("ERR") and status != "ERR_001":  # ERR_001: no hits, not a fault
            message = _text(root, "a:result/a:message") or _text(root, "result/message")
            yield self.reject(response.url, f"J-STAGE error {status}: {message}")
            return
        entries = root.findall("a:entry", NS)
        for entry in entries:
            yield one_record(self, response.url, self.entry_item, entry, response.url)
        # Paging numbers from the page itself: one that is not a number ends paging, never the page's records.
        total = page_number(_text(root, "opensearch:totalResults"), 0)
        start = page_number(_text(root, "opensearch:startIndex"), 1)
        per_page = page_number(_text(root, "opensearch:itemsPerPage"), 0) or len(entries) or self.count
        next_start = start + per_page
        if entries and next_start <= total and next_start <= self.max_results:
            yield self.request(self.page_url(next_start))

    def entry_item(self, entry: Any, page_url: str) -> Document | Reject | scrapy.Request:
        """One search entry: its article page to follow, or its document straight away."""
        record = self.entry_record(entry)
        if not record["title"] or not record["url"]:
            return self.reject(record["url"] or page_url, "entry without title or link")
        if self.follow_articles:
            return self.request(record["url"], callback=self.parse_article, errback=self.article_failed,
                                cb_kwargs={"record": record}, meta={"record": record})
        return self.make_document(record)

    def entry_record(self, entry: Any) -> dict[str, Any]:
        title_ja = _text(entry, "a:article_title/a:ja")
        title_en = _text(entry, "a:article_title/a:en")
        link_ja = _text(entry, "a:article_link/a:ja")
        link_en = _text(entry, "a:article_link/a:en")
        doi = _text(entry, "prism:doi")
        return {
            "title_ja": title_ja,
            "title_en": title_en,
            "title": title_ja or title_en,
            "url": link_en or link_ja,
            "url_ja": link_ja,
            "authors_ja": [" ".join(n.text.split()) for n in entry.findall("a:author/a:ja/a:name", NS) if n.text],
            "authors_en": [" ".join(n.text.split()) for n in entry.findall("a:author/a:en/a:name", NS) if n.text],
            "journal_ja": _text(entry, "a:material_title/a:ja"),
            "journal_en": _text(entry, "a:material_title/a:en"),
            "cdjournal": _text(entry, "a:cdjournal"),
            "issn": _text(entry, "prism:issn"),
            "volume": _text(entry, "prism:volume"),
            "number": _text(entry, "prism:number"),
            "pubyear": _text(entry, "a:pubyear"),
            "doi": doi,
            "joi": _text(entry, "a:joi"),
            "abstract": "",
            "institutions": [],
            "published": "",
            "keywords": [],
        }

    def parse_article(self, response: scrapy.http.Response, record: dict[str, Any] | None = None,
                      **kwargs: Any) -> Iterator[Document | Reject]:
        """An article page: abstract and affiliations from its citation meta tags.

        @url https://www.jstage.jst.go.jp/article/jsaeronautics/1/0/1_1/_article/-char/ja/
        @cb_kwargs {"record": {"title": "t", "title_ja": "", "title_en": "t", "url": "https://www.jstage.jst.go.jp/article/x", "doi": "", "joi": ""}}
        @returns items 1 1
        """
        record = dict(record or response.meta.get("record") or {})
        if not record:
            yield self.reject(response.url, "article page without its search record")
            return
        try:
            selector = response.selector
        except (AttributeError, ValueError, UnicodeDecodeError):
            selector = None
        if selector is not None:
            def meta(name: str) -> list[str]:
                return [" ".join(v.split()) for v in selector.xpath(f"//meta[@name='{name}']/@content").getall() if v.strip()]
            record["abstract"] = " ".join(meta("abstract")[:1]) or " ".join(meta("citation_abstract")[:1])
            institutions: list[str] = []
            for value in meta("authors_institutions") + meta("citation_author_institution"):
                for org in re.split(r"\s*;\s*", value):
                    if org and org not in institutions:
                        institutions.append(org)
            record["institutions"] = institutions
            record["published"] = (meta("publication_date") or meta("citation_publication_date") or [""])[0]
            record["keywords"] = meta("keywords")
        yield one_record(self, response.url, self.make_document, record)

    def article_failed(self, failure: Any) -> Iterator[Document | Reject]:
        """The article page could not be fetched: keep what the search API said."""
        record = failure.request.meta.get("record")
        if record:
            yield one_record(self, failure.request.url, self.make_document, record)

    def make_document(self, record: dict[str, Any]) -> Document | Reject:
        abstract = record.get("abstract") or ""
        language = detect_language(f"{abstract} {record['title']}" if abstract else record["title"])
        other_title = record["title_en"] if record["title"] == record.get("title_ja") else ""
        # The other-language title helps cross-lingual matching; keep it after the abstract.
        text = " ".join(t for t in (abstract, other_title) if t) or "; ".join(record.get("keywords") or [])
        if not text:
            return self.reject(record["url"], "article without abstract, English title or keywords")
        published = _date(record.get("published") or "") or _date(record.get("pubyear") or "")
        source_id = record.get("doi") or record.get("joi") or record["url"]
        return Document.make(
            kind=self.kind,
            source=self.source,
            source_id=source_id,
            url=record["url"],
            title=record["title"],
            text=text,
            language=language,
            organizations=list(record.get("institutions") or []),
            published=published,
            meta={
                "doi": record.get("doi") or None,
                "title_en": record.get("title_en") or None,
                "title_ja": record.get("title_ja") or None,
                "authors": record.get("authors_ja") or record.get("authors_en") or [],
                "journal": record.get("journal_ja") or record.get("journal_en") or None,
                "cdjournal": record.get("cdjournal") or None,
                "volume": record.get("volume") or None,
                "keywords": record.get("keywords") or [],
                "has_abstract": bool(abstract),
            },
        )
