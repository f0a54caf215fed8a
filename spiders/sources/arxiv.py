"""arXiv: research abstracts from the arXiv API (Atom), by category and keywords, paged.

API: http://export.arxiv.org/api/query?search_query=...&start=N&max_results=M (arXiv API user manual).
The feed reports `opensearch:totalResults`; we page with `start` until that, `max_records` or an empty
page. arXiv asks for at most one call every 3 seconds, so the public endpoint gets a 3 s delay.

Spider arguments:
- `query`: a raw arXiv `search_query` (overrides the next two)
- `categories`: comma-separated arXiv categories (default: a dual-use selection, see DEFAULT_CATEGORIES)
- `keywords`: comma-separated keywords, any of which must appear (`all:` field)
- `page_size` (default 100), `max_records` (default 1000), `base_url`
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from domain.models import DocKind, Document
from spiders.base import ScoutSpider, error_body_text, int_arg, load_xml
from spiders.dates import parse_date
from spiders.records import one_record, page_number

ATOM = "http://www.w3.org/2005/Atom"
ARXIV = "http://arxiv.org/schemas/atom"
OPENSEARCH = "http://a9.com/-/spec/opensearch/1.1/"
NS = {"a": ATOM, "arxiv": ARXIV, "os": OPENSEARCH}

DEFAULT_CATEGORIES = ["cs.RO", "cs.CV", "eess.SP", "eess.SY", "physics.optics", "cond-mat.mtrl-sci"]
PUBLIC_BASE = "http://export.arxiv.org"
# "http://arxiv.org/abs/2401.01234v2" or old-style "http://arxiv.org/abs/hep-ex/0307015v1"
ABS_ID = re.compile(r"/abs/(?P<id>.+?)(?:v(?P<version>\d+))?$")
# The commonest English function words: arXiv metadata is written in English (help/prep: ASCII
# fields; other languages go in an added abstract), so their share tells English from the rare
# abstract written only in another language.
_EN_WORDS = frozenset("the of and to in a is for that on with as by are this we be from an which".split())
_WORD = re.compile(r"[A-Za-z]+")
_KANA = re.compile(r"[\u3040-\u30ff]")


def abstract_language(title: str, abstract: str) -> str:
    """"en" for an English title and abstract, "ja" for Japanese, "other" for the rest."""
    text = f"{title} {abstract}"
    if len(_KANA.findall(text)) >= 3:
        return "ja"
    words = [w.lower() for w in _WORD.findall(text)]
    letters = sum(ch.isalpha() for ch in text)
    if not words or sum(map(len, words)) < 0.6 * letters:
        return "other"  # mostly another script (Cyrillic, Han, ...)
    if len(words) < 15 or sum(w in _EN_WORDS for w in words) / len(words) >= 0.08:
        return "en"
    return "other"


def build_query(categories: list[str], keywords: list[str]) -> str:
    parts = []
    if categories:
        parts.append(" OR ".join(f"cat:{c}" for c in categories))
    if keywords:
        parts.append(" OR ".join(f'all:"{k}"' if " " in k else f"all:{k}" for k in keywords))
    if len(parts) == 2:
        return f"({parts[0]}) AND ({parts[1]})"
    return parts[0] if parts else "all:*"


def _split(value: str | None) -> list[str]:
    return [v.strip() for v in (value or "").split(",") if v.strip()]


def _text(element, path: str) -> str:
    found = element.find(path, NS)
    return " ".join((found.text or "").split()) if found is not None and found.text else ""


def canonical_abs_url(abs_url: str, arxiv_id: str) -> str:
    """arXiv's own ids become https://arxiv.org/abs/ID; a mirror (or the loopback demo) keeps its host."""
    host = urlsplit(abs_url).hostname or ""
    if host == "arxiv.org" or host.endswith(".arxiv.org"):
        return f"https://arxiv.org/abs/{arxiv_id}"
    return abs_url[: abs_url.rindex("/abs/") + len("/abs/")] + arxiv_id


class ArxivSpider(ScoutSpider):
    name = "arxiv"
    kind = DocKind.research
    base_url = PUBLIC_BASE
    allowed_domains = ["export.arxiv.org"]
    # The API answers a bad query with HTTP 400 and an Atom error feed that says what is wrong:
    # let it reach `parse` so the message lands in the reject instead of a bare "http 400".
    handle_httpstatus_list = [400]

    def __init__(
        self,
        query: str | None = None,
        categories: str | None = None,
        keywords: str | None = None,
        page_size: str | int = 100,
        max_records: str | int = 1000,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        self.search_query = query or build_query(_split(categories) or DEFAULT_CATEGORIES, _split(keywords))
        self.page_size = max(1, min(int_arg("page_size", page_size), 2000))
        self.max_records = max(1, int_arg("max_records", max_records))
        if self.base_url == PUBLIC_BASE:
            self.download_delay = max(3.0, self.crawl_settings.download_delay)

    def page_url(self, start: int) -> str:
        params = {
            "search_query": self.search_query,
            "start": start,
            "max_results": min(self.page_size, self.max_records - start),
            "sortBy": "submittedDate",
            "sortOrder": "descending",
        }
        return self.url("/api/query") + "?" + urlencode(params)

    async def start(self):
        yield self.request(self.page_url(0))

    def parse(self, response):
        """One page of the arXiv API Atom feed: a research document per entry, then the next page.

        @url http://export.arxiv.org/api/query?search_query=cat:cs.RO&start=0&max_results=2
        @returns items 1
        @scrapes id kind source source_id url title text published
        """
        root, reason = load_xml(response)
        if response.status == 400:
            yield self.api_error(response, root)
            return
        if root is None:
            yield self.reject(response.url, reason)
            return
        if root.tag != f"{{{ATOM}}}feed":
            yield self.reject(response.url, f"not an Atom feed (root element {root.tag})")
            return
        entries = root.findall("a:entry", NS)
        for entry in entries:  # one at a time (spiders/records.py): a bad entry is its own reject
            yield one_record(self, response.url, self.parse_entry, entry, response.url)
        query = parse_qs(urlsplit(response.url).query)
        asked = page_number(query.get("start", ["0"])[0], 0)
        start = page_number(_text(root, "os:startIndex"), asked)
        total = page_number(_text(root, "os:totalResults"), -1)
        if total < 0:  # unreadable ("many"): a full page means there may be more
            full = page_number(query.get("max_results", [str(self.page_size)])[0], self.page_size)
            total = start + len(entries) + 1 if len(entries) >= full else 0
        following = start + len(entries)
        if entries and following < min(total, self.max_records):
            yield self.request(self.page_url(following))

    def api_error(self, response, root) -> Any:
        """The reject of an HTTP 400 answer, with the API's own message (its error entry's summary)."""
        entries = root.findall("a:entry", NS) if root is not None else []
        messages = [_text(e, "a:summary") for e in entries if "/api/errors" in _text(e, "a:id")]
        message = "; ".join(m for m in messages if m) or error_body_text(response, 200)
        return self.reject(response.url, f"arXiv API error (HTTP 400): {message}"[:300],
                           detail=error_body_text(response))

    def parse_entry(self, entry, page_url: str) -> Document | Any:
        abs_url = _text(entry, "a:id")
        if "/api/errors" in abs_url:  # the API reports bad queries as an entry titled "Error"
            return self.reject(page_url, f"arXiv API error: {_text(entry, 'a:summary')[:200]}")
        match = ABS_ID.search(abs_url)
        if not match:
            return self.reject(page_url, f"entry without an arXiv id: {abs_url[:100]!r}")
        arxiv_id = match["id"]
        authors, affiliations = [], []
        for author in entry.findall("a:author", NS):
            authors.append(_text(author, "a:name"))
            for aff in author.findall("arxiv:affiliation", NS):
                name = " ".join((aff.text or "").split())
                if name and name not in affiliations:
                    affiliations.append(name)
        pdf = next((l.get("href") for l in entry.findall("a:link", NS) if l.get("title") == "pdf"), None)
        primary = entry.find("arxiv:primary_category", NS)
        title, abstract = _text(entry, "a:title"), _text(entry, "a:summary")
        return Document.make(
            kind=self.kind,
            source=self.source,
            source_id=arxiv_id,
            url=canonical_abs_url(abs_url, arxiv_id),
            title=title,
            text=abstract,
            language=abstract_language(title, abstract),
            organizations=affiliations,
            published=parse_date(_text(entry, "a:published")),
            meta={
                "authors": [a for a in authors if a],
                "categories": [c.get("term") for c in entry.findall("a:category", NS) if c.get("term")],
                "primary_category": primary.get("term") if primary is not None else None,
                "version": int(match["version"]) if match["version"] else None,
                "updated": _text(entry, "a:updated") or None,
                "doi": _text(entry, "arxiv:doi") or None,
                "journal_ref": _text(entry, "arxiv:journal_ref") or None,
                "comment": _text(entry, "arxiv:comment") or None,
                "pdf_url": pdf,
            },
        )

