"""The e-mail as a reader sees it: the HTML part of a mail received over SMTP, rendered by headless Chromium
(the inline chart resolved from its cid: as a mail client does) to test-artifacts/weekly-report.png."""

from __future__ import annotations

import base64
import email
from email import policy
from pathlib import Path

import pytest

from service.report import build_report, deliver
from service.report.profiles import ReportProfile
from tests.report.conftest import configured
from tests.report.fakes import NOW, TAXONOMY, FakeLibrary

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]  # fmt: skip

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs /usr/bin/chromium (make browser)"),
]


def _as_the_client_shows_it(msg) -> str:
    """The HTML part with each cid: reference replaced by its inline part, as a mail client resolves it."""
    html_part = msg.get_body(("html",))
    html = html_part.get_content()
    related = next(p for p in msg.walk() if p.get_content_type() == "multipart/related")
    for part in related.iter_parts():
        cid = part["Content-ID"]
        if cid:
            data = base64.b64encode(part.get_content()).decode("ascii")
            html = html.replace(f"cid:{cid.strip('<>')}", f"data:{part.get_content_type()};base64,{data}")
    return html


def test_the_received_email_renders_in_chromium(ledger, settings, smtp_server):
    from playwright.sync_api import sync_playwright

    sink, port = smtp_server("plain")
    settings = configured(settings, smtp_host="127.0.0.1", smtp_port=port, smtp_security="none")
    report = build_report(ledger, FakeLibrary(), settings=settings, taxonomy=TAXONOMY, now=NOW)
    deliver(report, settings, ReportProfile(recipients=["scout@example.jp"]), ledger)
    (envelope,) = sink.messages
    html = _as_the_client_shows_it(email.message_from_bytes(envelope.content, policy=policy.default))
    assert "cid:" not in html

    ARTIFACTS.mkdir(exist_ok=True)
    page_path = ARTIFACTS / "weekly-report.html"
    page_path.write_text(html, encoding="utf-8")
    dialogs: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 860, "height": 900})
            page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
            page.goto(page_path.as_uri())
            page.wait_for_load_state("load")
            chart = page.locator("img").first
            assert chart.evaluate("img => img.complete && img.naturalWidth") > 500  # the inline chart loaded
            text = page.inner_text("body")
            assert "小型無人機搭載型の量子センサによる磁気異常検知技術" in text
            assert "<script>alert('pwned')</script>Meta-Radome" in text  # shown as text, not run
            assert page.locator("script").count() == 0
            assert page.locator("img").count() == 1  # the crawled <img onerror> is text, not an element
            titles = page.locator("h3").all_inner_texts()
            assert titles[0].startswith("小型無人機") and len(titles) == 3
            page.screenshot(path=str(ARTIFACTS / "weekly-report.png"), full_page=True)
            for width in (1280, 390):  # desktop and phone mail clients: nothing wider than the screen
                page.set_viewport_size({"width": width, "height": 900})
                page.screenshot(path=str(ARTIFACTS / f"report-{width}.png"), full_page=True)
                overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
                assert overflow <= 0, f"the report scrolls sideways at {width} px"
                # ... nor does any box of it (a table in a scrolling box had the page fit while it scrolled), and
                # no text spills out of its box
                boxes = page.evaluate("""() => [...document.body.querySelectorAll('*')]
                    .filter(e => e.scrollWidth > e.clientWidth + 1 && e.clientWidth > 0)
                    .map(e => e.tagName + ': ' + (e.textContent || '').trim().slice(0, 40))""")
                assert boxes == [], f"boxes wider than their room at {width} px: {boxes}"
                # the chart's legend is text at a reading size beside the image, each area on the screen (drawn
                # in the 720 px image it was about 5 px high at 390 px)
                legend = page.locator("ul.chart-legend li")
                assert legend.count() == len(report.chart_legend) > 0
                for i, entry in enumerate(report.chart_legend):
                    item = legend.nth(i)
                    assert entry.ja in item.inner_text()
                    assert float(item.evaluate("e => getComputedStyle(e).fontSize").removesuffix("px")) >= 12
                    assert item.evaluate("e => e.getBoundingClientRect().right") <= width
                table = page.locator("table").first  # the per-source table: within the screen
                assert table.evaluate("t => t.getBoundingClientRect().right") <= width
        finally:
            browser.close()
    assert dialogs == []  # no script of the crawled text ran
    assert (ARTIFACTS / "weekly-report.png").stat().st_size > 50_000
