"""ATLA 安全保障技術研究推進制度: the research themes (研究テーマ) of the yearly call, as needs.

    scrapy crawl atla

Starts at the programme's HTML page, follows the call pages (公募) and the PDF call documents
(研究テーマ / 公募要領), and turns every numbered research theme in a PDF into one need
(kind=need, language=ja, organization 防衛装備庁). PDFs are read with pypdf; a truncated or
unreadable PDF becomes a Reject, never a crash.
"""

from __future__ import annotations

import io
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Iterator
from urllib.parse import urldefrag, urlparse

import scrapy
from pypdf import PdfReader
from pypdf.errors import PdfReadError

from domain.models import DocKind, Document, Reject
from spiders.base import EndpointSpider, int_arg
from spiders.dates import parse_date, western_year
from spiders.records import one_record

START_URL = "https://www.mod.go.jp/atla/funding.html"
ORGANIZATION = "防衛装備庁"
# Links worth following from the programme pages.
_PAGE_WORDS = ("公募", "研究テーマ", "募集")
_PDF_WORDS = ("研究テーマ", "公募要領", "theme")

# A theme heading after NFKC: "研究テーマ1", "研究テーマ(1)", "【研究テーマ 12】", "テーマ番号3:" ...
_THEME_HEADING = re.compile(
    r"^\s*[【\[]?\s*(?:研究)?テーマ\s*(?:番号|No\.?)?\s*\(?\s*(\d{1,3})\s*\)?\s*[】\]]?\s*[:.、]?\s*(.*)$"
)
_ITEM_HEADING = re.compile(r"^\((\d{1,2})\)\s*(\S.{2,100})$")
_FISCAL_YEAR = re.compile(r"令和\s*(\d{1,2}|元)\s*年度")
_PAGE_NUMBER = re.compile(r"^\s*[-‐ー]?\s*\d{1,3}\s*[-‐ー]?\s*$")


_LABEL = re.compile(r"^\([^()]{1,12}\)$")  # "(概要)": a section label, not content
_CJK = re.compile(r"[\u3000-\u30ff\u3400-\u9fff\uff00-\uffef]")


def _join_lines(lines: Any) -> str:
    """Join wrapped lines: no space between two Japanese characters, one space otherwise."""
    out = ""
    for line in lines:
        if out and not (_CJK.match(out[-1]) and _CJK.match(line[0])):
            out += " "
        out += line
    return out.strip()


@dataclass
class Theme:
    number: int
    title: str
    description: str


def split_themes(text: str) -> list[Theme]:
    """Cut the extracted text of a call document into its numbered research themes.

    Themes are headed "研究テーマ1" / "研究テーマ(1)" / "【テーマ番号1】" ...; documents that only number
    them "(1) ..." inside a 研究テーマ section are read too. A table of contents often lists the themes
    once more; when a number repeats, the occurrence with the longest description wins.
    """
    lines = [unicodedata.normalize("NFKC", line).strip() for line in text.splitlines()]
    lines = [line for line in lines if line and not _PAGE_NUMBER.match(line)]
    themes = _split(lines, lambda line: _THEME_HEADING.match(line))
    if themes:
        return themes
    # Fallback: "(1) title" items after the first line that names the 研究テーマ section.
    start = next((i for i, line in enumerate(lines) if "研究テーマ" in line), None)
    if start is None:
        return []
    themes = _split(lines[start + 1 :], lambda line: _ITEM_HEADING.match(line))
    numbers = [t.number for t in themes]
    return themes if len(themes) >= 2 and numbers == list(range(1, len(themes) + 1)) else []


def _split(lines: list[str], heading: Any) -> list[Theme]:
    found: dict[int, Theme] = {}
    current: tuple[int, str, list[str]] | None = None

    def close() -> None:
        if current is None:
            return
        number, title, body = current
        if not title and body:
            title, body = body[0], body[1:]
        description = _join_lines(b for b in body if not _LABEL.match(b))
        title = re.sub(r"[.・…\s]{3,}\d*$", "", title).strip()  # "……… 12" leaders of a TOC line
        if title and (number not in found or len(description) > len(found[number].description)):
            found[number] = Theme(number, title, description)

    for line in lines:
        match = heading(line)
        if match:
            close()
            current = (int(match.group(1)), match.group(2).strip(), [])
        elif current is not None:
            current[2].append(line)
    close()
    return [found[n] for n in sorted(found)]


def fiscal_year(text: str) -> int | None:
    """令和N年度 -> the Western fiscal year (令和元年 = 2019)."""
    match = _FISCAL_YEAR.search(unicodedata.normalize("NFKC", text))
    if not match:
        return None
    return western_year("令和", match.group(1))


class PdfError(ValueError):
    """The bytes are not a complete, readable PDF."""


def pdf_text(body: bytes) -> str:
    """All text of a PDF, page by page; raises PdfError for anything that is not a whole, readable PDF."""
    if not body.lstrip().startswith(b"%PDF-"):
        raise PdfError("not a PDF (no %PDF- header)")
    if b"%%EOF" not in body[-2048:]:
        raise PdfError("truncated PDF (no %%EOF marker at the end)")
    try:
        reader = PdfReader(io.BytesIO(body), strict=False)
        if reader.is_encrypted and not reader.decrypt(""):
            raise PdfError("encrypted PDF")
        return "\n".join((page.extract_text() or "") for page in reader.pages)
    except PdfError:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, IndexError, AttributeError, OSError) as exc:
        raise PdfError(f"unreadable PDF: {type(exc).__name__}: {exc}") from exc


class AtlaSpider(EndpointSpider):
    """ATLA research themes, one `Document(kind=need)` per numbered theme of a call PDF."""

    name = "atla"
    kind = DocKind.need
    base_url = START_URL  # the public endpoint; `-a base_url=...` points the spider elsewhere
    allowed_domains = ["www.mod.go.jp", "mod.go.jp"]

    def __init__(self, max_depth: int | str = 2, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.max_depth = int_arg("max_depth", max_depth)
        self.root_path = urlparse(self.base_url).path.rsplit("/", 1)[0] or "/"

    def parse(self, response: scrapy.http.Response, depth: int = 0, **kwargs: Any) -> Iterator[Reject | scrapy.Request]:
        """A programme or call page: follow the call pages and the theme PDFs.

        @url https://www.mod.go.jp/atla/funding.html
        @returns items 0 0
        @returns requests 1
        """
        if not isinstance(response, scrapy.http.TextResponse):
            if response.body.lstrip().startswith(b"%PDF-"):
                yield from self.parse_pdf(response)
                return
            yield self.reject(response.url, "not an HTML page")
            return
        if not response.body.strip():
            yield self.reject(response.url, "empty body")
            return
        seen: set[str] = set()
        followed_any = False
        for link in response.css("a[href]"):
            followed = one_record(self, response.url, self.follow_link, response, link, depth, seen)
            if followed is not None:
                followed_any = True
                yield followed
        if not followed_any:  # said, not silent: a changed layout would otherwise end the crawl with nothing
            yield self.reject(response.url, "no call pages (公募) or theme PDFs linked: page layout not recognised")

    def follow_link(self, response: scrapy.http.TextResponse, link: Any, depth: int, seen: set[str]) -> scrapy.Request | None:
        """The request for one link worth following (a call page or a theme PDF), else None."""
        href = link.attrib.get("href", "").strip()
        if not href or href.startswith(("mailto:", "javascript:", "#")):
            return None
        url = urldefrag(response.urljoin(href))[0]
        if url in seen:
            return None
        # The link's own text and its children's: not all descendants, which is quadratic when a broken page
        # nests thousands of unclosed <a> elements inside one another.
        label = " ".join(" ".join(link.xpath("./text() | ./*/text()").getall()).split())
        haystack = f"{label} {href}".lower()
        if url.lower().endswith(".pdf"):
            if any(word.lower() in haystack for word in _PDF_WORDS):
                seen.add(url)
                return self.request(url, callback=self.parse_pdf, cb_kwargs={"label": label})
        elif depth < self.max_depth and urlparse(url).path.startswith(self.root_path) and any(
            word in label for word in _PAGE_WORDS
        ):
            seen.add(url)
            return self.request(url, cb_kwargs={"depth": depth + 1})
        return None

    def parse_pdf(self, response: scrapy.http.Response, label: str = "", **kwargs: Any) -> Iterator[Document | Reject]:
        """A call document: each numbered research theme becomes one need.

        @url https://www.mod.go.jp/atla/funding/koubo/r07/r07_kenkyutheme.pdf
        @returns items 1
        """
        try:
            text = pdf_text(response.body)
        except PdfError as exc:
            yield self.reject(response.url, str(exc))
            return
        themes = split_themes(text)
        if not themes:
            yield self.reject(response.url, "no numbered research themes (研究テーマ) found in the PDF")
            return
        year = fiscal_year(text[:2000]) or fiscal_year(label)
        last_modified = response.headers.get("Last-Modified")
        published = parse_date(last_modified.decode("latin-1")) if last_modified else None
        if published is None and year:
            published = datetime(year, 4, 1, tzinfo=timezone.utc)
        path = urlparse(response.url).path
        for theme in themes:
            yield one_record(self, f"{response.url}#theme-{theme.number}", Document.make,
                kind=self.kind,
                source=self.source,
                source_id=f"{path}#theme-{theme.number}",
                url=f"{response.url}#theme-{theme.number}",
                title=theme.title,
                text=theme.description,
                language="ja",
                organizations=[ORGANIZATION],
                published=published,
                meta={
                    "theme_number": theme.number,
                    "call_document": response.url,
                    "call_label": label or None,
                    "fiscal_year": year,
                    "programme": "安全保障技術研究推進制度",
                },
            )
