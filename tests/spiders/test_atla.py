from __future__ import annotations

from datetime import datetime, timezone

import pytest
from scrapy import Request

from domain.models import Document, Reject
from spiders.sources.atla import AtlaSpider, PdfError, fiscal_year, pdf_text, split_themes

from .pdfgen import ATLA_THEME_LINES, build_pdf
from tests.spiders.responses import HtmlResponse, Response, fixture_bytes, response, run

FUNDING = "https://www.mod.go.jp/atla/funding.html"
KOUBO = "https://www.mod.go.jp/atla/funding/koubo/r07koubo.html"
THEMES_PDF = "https://www.mod.go.jp/atla/funding/koubo/r07/r07_kenkyutheme.pdf"


def pdf_response(body: bytes, headers: dict | None = None) -> Response:
    return response(THEMES_PDF, body, cls=Response, headers=headers or {"Content-Type": "application/pdf"})


def test_split_themes_keeps_the_body_over_the_table_of_contents() -> None:
    themes = split_themes("\n".join(ATLA_THEME_LINES))
    assert [t.number for t in themes] == [1, 2, 3]
    assert themes[0].title == "極限環境下で動作する高出力半導体デバイスに関する基礎研究"
    assert themes[0].description.startswith("高温、高放射線などの極限環境において")
    assert "ワイドギャップ半導体デバイス" in themes[0].description  # wrapped lines joined without spaces
    assert "(概要)" not in themes[0].description
    assert themes[2].title == "水中音響通信の高速化に関する基礎研究"  # title on the line after "研究テーマ(3)"


def test_split_themes_accepts_fullwidth_and_bracketed_numbering() -> None:
    text = "【研究テーマ１】　耐熱材料\n概要の本文です。\n研究テーマ（２）：センサ\nセンサの本文。\n関係のない行"
    themes = split_themes(text)
    assert [(t.number, t.title) for t in themes] == [(1, "耐熱材料"), (2, "センサ")]
    assert themes[1].description == "センサの本文。関係のない行"
    assert split_themes("公募要領\n1. 応募資格\n2. 提出書類") == []


def test_split_themes_reads_parenthesised_items_in_a_theme_section() -> None:
    text = "公募要領\n(1) 応募資格は別に定める\n別紙 研究テーマ\n(1) 耐熱材料に関する基礎研究\n高温で使える材料。\n" \
           "(2) センサに関する基礎研究\n小型のセンサ。"
    themes = split_themes(text)
    assert [(t.number, t.title, t.description) for t in themes] == [
        (1, "耐熱材料に関する基礎研究", "高温で使える材料。"), (2, "センサに関する基礎研究", "小型のセンサ。")]
    # Numbered items that do not run 1, 2, ... are not taken for themes.
    assert split_themes("研究テーマ\n(2) 何か\n(5) 別の何か") == []


def test_fiscal_year() -> None:
    assert fiscal_year("令和7年度 安全保障技術研究推進制度") == 2025
    assert fiscal_year("令和元年度") == 2019
    assert fiscal_year("令和７年度") == 2025
    assert fiscal_year("平成30年度") is None


def test_programme_page_follows_call_pages_only() -> None:
    spider = AtlaSpider()
    out = run(spider.parse(response(FUNDING, fixture_bytes("atla_funding.html"), cls=HtmlResponse), depth=0))
    assert [r.url for r in out] == [KOUBO]
    assert out[0].cb_kwargs == {"depth": 1}


def test_call_page_follows_theme_pdfs_once_and_skips_forms() -> None:
    spider = AtlaSpider()
    out = run(spider.parse(response(KOUBO, fixture_bytes("atla_koubo.html"), cls=HtmlResponse), depth=1))
    assert all(isinstance(r, Request) and r.callback == spider.parse_pdf for r in out)
    assert [r.url for r in out] == [THEMES_PDF, "https://www.mod.go.jp/atla/funding/koubo/r07/r07_youryou_truncated.pdf"]
    assert out[0].cb_kwargs["label"] == "別紙1 研究テーマ(PDF:3KB)"


def test_depth_limit_stops_following_pages() -> None:
    spider = AtlaSpider(max_depth=0)
    [said] = run(spider.parse(response(FUNDING, fixture_bytes("atla_funding.html"), cls=HtmlResponse), depth=0))
    assert said.reason.startswith("no call pages")  # nothing followed, and it says so (never a silent end)


def test_theme_pdf_becomes_one_need_per_theme() -> None:
    spider = AtlaSpider()
    docs = run(spider.parse_pdf(pdf_response(fixture_bytes("atla_r07_themes.pdf")), label="別紙1 研究テーマ"))
    assert len(docs) == 3 and all(isinstance(d, Document) for d in docs)
    first = docs[0]
    assert first.kind == "need" and first.language == "ja" and first.organizations == ["防衛装備庁"]
    assert first.title == "極限環境下で動作する高出力半導体デバイスに関する基礎研究"
    assert first.url == THEMES_PDF + "#theme-1"
    assert first.source_id == "/atla/funding/koubo/r07/r07_kenkyutheme.pdf#theme-1"
    assert first.meta["fiscal_year"] == 2025 and first.meta["theme_number"] == 1
    assert first.published == datetime(2025, 4, 1, tzinfo=timezone.utc)
    assert len({d.id for d in docs}) == 3


def test_committed_fixture_matches_the_generator() -> None:
    assert fixture_bytes("atla_r07_themes.pdf") == build_pdf(ATLA_THEME_LINES)


def test_last_modified_header_dates_the_needs() -> None:
    headers = {"Content-Type": "application/pdf", "Last-Modified": "Mon, 03 Mar 2025 01:00:00 GMT"}
    docs = run(AtlaSpider().parse_pdf(pdf_response(fixture_bytes("atla_r07_themes.pdf"), headers)))
    assert docs[0].published == datetime(2025, 3, 3, 1, 0, tzinfo=timezone.utc)


def test_ascii_pdf_round_trip() -> None:
    body = build_pdf(["Theme 1 ignored", "研究テーマ4 Radar", "Detect small drones."])
    assert "Detect small drones." in pdf_text(body)
    (doc,) = run(AtlaSpider().parse_pdf(pdf_response(body)))
    assert doc.title == "Radar" and doc.text == "Detect small drones."


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (None, "truncated PDF"),
        (b"", "not a PDF"),
        (b"<html><body>404 Not Found</body></html>", "not a PDF"),
        (b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog /Pages 9 0 R >>\nendobj\ngarbage\n%%EOF\n", "unreadable PDF"),
        (build_pdf(["公募要領", "1. 応募資格", "2. 提出書類"]), "no numbered research themes"),
    ],
)
def test_bad_pdfs_become_rejects(body: bytes | None, reason: str) -> None:
    if body is None:
        whole = fixture_bytes("atla_r07_themes.pdf")
        body = whole[: len(whole) // 2]
    out = run(AtlaSpider().parse_pdf(pdf_response(body)))
    assert len(out) == 1 and isinstance(out[0], Reject), out
    assert reason in out[0].reason and out[0].url == THEMES_PDF


def test_pdf_text_raises_pdf_error_not_library_errors() -> None:
    with pytest.raises(PdfError):
        pdf_text(b"%PDF-1.4\n" + b"\x00" * 100 + b"%%EOF")


def test_html_page_bad_inputs() -> None:
    spider = AtlaSpider()
    (empty,) = run(spider.parse(response(FUNDING, b"", cls=HtmlResponse)))
    assert "empty body" in empty.reason
    (binary,) = run(spider.parse(response(FUNDING, b"\x00\x01\x02", cls=Response)))
    assert "not an HTML page" in binary.reason
    # A page in Shift_JIS that says so is read; links still found.
    sjis = fixture_bytes("atla_funding.html").decode().replace('charset="UTF-8"', 'charset="Shift_JIS"').encode("shift_jis")
    assert [r.url for r in run(spider.parse(response(FUNDING, sjis, cls=HtmlResponse), depth=0))] == [KOUBO]
    # Broken markup: whatever links survive are followed, nothing raises.
    broken = b"<html><body><a href='/atla/funding/koubo/x.html'>\x8e\x9f\x8a\xfa \xe5\x85\xac\xe5\x8b\x9f</a><div><p>"
    assert [r.url for r in run(spider.parse(response(FUNDING, broken, cls=HtmlResponse, encoding="utf-8"), depth=0))] == [
        "https://www.mod.go.jp/atla/funding/koubo/x.html"
    ]
