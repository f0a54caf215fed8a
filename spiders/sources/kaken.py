"""KAKEN (Grants-in-Aid for Scientific Research database): Japanese research grants.

    SCOUT_CRAWL_KAKEN_APPID=... scrapy crawl kaken -a kw="量子センシング"

The OpenSearch endpoint answers `format=xml` with `grantAward` records: titles (ja/en), research
institutions, the period of award and paragraph lists (research outline, outline of achievements).
Needs a CiNii/KAKEN app id (`SCOUT_CRAWL_KAKEN_APPID`); without it the spider closes at once.
"""

from __future__ import annotations

from typing import Any, Iterator
from urllib.parse import urlencode

import scrapy
from lxml import etree
from scrapy.exceptions import CloseSpider

from domain.models import DocKind, Document, Reject
from spiders.base import CREDENTIAL_PARAMS, EndpointSpider, int_arg, load_xml
from spiders.dates import parse_date
from spiders.records import one_record, page_number

API_URL = "https://kaken.nii.ac.jp/opensearch/"
GRANT_URL = "https://kaken.nii.ac.jp/grant/{id}/"
MAX_RW = 500  # the API's own cap per page
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
# Paragraph types that describe the research, best first.
_TEXT_TYPES = (
    "abstract",
    "outline_of_research_initial",
    "purpose",
    "outline_of_research_achievement",
    "outline_of_research_performance",
    "significance_of_research_achievement",
)


def _clean(value: str | None) -> str:
    return " ".join((value or "").split())


def _lang_of(node: Any) -> str:
    return (node.get(XML_LANG) or "ja").lower()


def _first(nodes: list[Any], lang: str) -> Any:
    for node in nodes:
        if _lang_of(node) == lang:
            return node
    return nodes[0] if nodes else None


def _strip_namespaces(root: Any) -> None:
    """KAKEN has served the grant list with and without a default namespace; match on local names."""
    for node in root.iter():
        if isinstance(node.tag, str) and node.tag.startswith("{"):
            node.tag = etree.QName(node).localname


class KakenSpider(EndpointSpider):
    """KAKEN research projects, one `Document(kind=research)` per grant award."""

    name = "kaken"
    kind = DocKind.research
    base_url = API_URL  # the public endpoint; `-a base_url=...` points the spider elsewhere
    allowed_domains = ["kaken.nii.ac.jp"]
    secret_params = CREDENTIAL_PARAMS

    def __init__(self, kw: str = "", rw: int | str = 100, max_results: int | str = 500, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        appid = self.crawl_settings.kaken_appid
        self.appid = appid.get_secret_value() if appid else ""
        self.kw = kw
        self.rw = max(1, min(int_arg("rw", rw), MAX_RW))
        self.max_results = int_arg("max_results", max_results)

    def secrets(self) -> list[str]:
        return [self.appid]

    def page_url(self, st: int) -> str:
        params: dict[str, Any] = {"appid": self.appid, "format": "xml", "rw": self.rw, "st": st}
        if self.kw:
            params["kw"] = self.kw
        return f"{self.base_url}?{urlencode(params)}"

    async def start(self):  # type: ignore[no-untyped-def]
        if not self.appid:
            raise CloseSpider(
                "kaken_appid_missing: KAKEN needs an application id; register one at "
                "https://support.nii.ac.jp/en/cinii/api/developer and set SCOUT_CRAWL_KAKEN_APPID"
            )
        yield self.request(self.page_url(1))

    def parse(self, response: scrapy.http.Response, **kwargs: Any) -> Iterator[Document | Reject | scrapy.Request]:
        """One page of grant awards; follows the next page.

        @url https://kaken.nii.ac.jp/opensearch/?format=xml&kw=radar&rw=5
        @returns items 0 5
        @returns requests 0 1
        """
        root, reason = load_xml(response, check_encoding=False)
        if root is None:
            yield self.reject(response.url, reason)
            return
        _strip_namespaces(root)
        root_name = etree.QName(root).localname
        if root_name not in ("grantAwards", "grantAwardList", "grants"):
            message = _clean(" ".join(root.itertext()))[:200]
            yield self.reject(response.url, f"not a KAKEN grant list (<{root_name}>): {message}")
            return
        awards = root.findall("grantAward")
        for award in awards:
            yield one_record(self, response.url, self.award_to_item, award, response.url)
        total = page_number(_clean(root.findtext("totalResults")), 0)
        start = page_number(_clean(root.findtext("startIndex")), 1)
        per_page = page_number(_clean(root.findtext("itemsPerPage")), 0) or len(awards) or self.rw
        next_start = start + per_page
        if awards and next_start <= total and next_start <= self.max_results:
            yield self.request(self.page_url(next_start))

    def award_to_item(self, award: Any, page_url: str) -> Document | Reject:
        grant_id = award.get("id") or ""
        summaries = award.findall("summary")
        summary_ja = _first(summaries, "ja")
        summary_en = _first(summaries, "en")
        title_ja = _clean(summary_ja.findtext("title")) if summary_ja is not None and _lang_of(summary_ja) == "ja" else ""
        title_en = _clean(summary_en.findtext("title")) if summary_en is not None and _lang_of(summary_en) == "en" else ""
        title = title_ja or title_en
        if not grant_id or not title:
            return self.reject(page_url, f"grant award without id or title ({grant_id or 'no id'})")
        main = summary_ja if title_ja else summary_en
        institutions = []
        for inst in (main.findall("institution") if main is not None else []):
            name = _clean(inst.text)
            if name and name not in institutions:
                institutions.append(name)
        paragraphs: dict[tuple[str, str], str] = {}
        for plist in award.findall("paragraphList"):
            text = " ".join(_clean("".join(p.itertext())) for p in plist.findall("paragraph"))
            key = (plist.get("type") or "", _lang_of(plist))
            if text and key not in paragraphs:
                paragraphs[key] = text
        language = "ja" if title_ja else "en"
        parts = [paragraphs[(t, language)] for t in _TEXT_TYPES if (t, language) in paragraphs]
        if not parts:  # fall back to the other language's outline
            parts = [v for (t, _), v in paragraphs.items() if t in _TEXT_TYPES][:2]
        keywords = [_clean(k.text) for k in award.iter("keyword") if _clean(k.text)]
        period = main.find("periodOfAward") if main is not None else None
        start_date = _clean(period.findtext("startDate")) if period is not None else ""
        end_date = _clean(period.findtext("endDate")) if period is not None else ""
        start_year = _clean(period.findtext("startFiscalYear")) if period is not None else ""
        end_year = _clean(period.findtext("endFiscalYear")) if period is not None else ""
        # the start of the award, else the start of its first fiscal year (1 April)
        published = parse_date(start_date) or parse_date(f"{start_year}年度" if start_year else None)
        investigators = []
        if main is not None:
            for member in main.findall("member"):
                if member.get("role") == "principal_investigator":
                    name = _clean(member.findtext("personalName/fullName"))
                    if name:
                        investigators.append(name)
        if not parts and keywords:  # no outline: the keywords still say what the project is about
            parts = ["; ".join(keywords)]
        if not parts:
            return self.reject(GRANT_URL.format(id=grant_id), "grant award without outline or keywords")
        if title_en and title_en != title:
            parts.append(title_en)  # the English title helps cross-lingual matching
        return Document.make(
            kind=self.kind,
            source=self.source,
            source_id=grant_id,
            url=GRANT_URL.format(id=grant_id),
            title=title,
            text=" ".join(parts),
            language=language,
            organizations=institutions,
            published=published,
            meta={
                "award_number": award.get("awardNumber"),
                "title_en": title_en or None,
                "period": {"start": start_date or start_year or None, "end": end_date or end_year or None},
                "category": _clean(main.findtext("category")) if main is not None else None,
                "principal_investigators": investigators,
                "keywords": keywords,
                "modified": _clean(award.findtext("modified")) or None,
                "has_abstract": bool(paragraphs),
            },
        )
