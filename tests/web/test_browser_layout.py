"""Layout a reader sees, measured in Chromium: a hit's score stays one number beside a title that wraps, and the
commas between organization links sit against the name before them (found trying the demo, 2026-12-06)."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from domain.settings import WebSettings
from scout.web.app import create_app
from tests.web.fakes import MemoryLibrary, _doc, fixture_documents
from tests.web.test_browser import ARGS, CHROMIUM, LiveServer

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium is missing (apt-get install chromium)"),
]

LONG_TITLE = ("Optimizing radar absorbing metamaterial transport using predictive electronic structure code for "
              "carrier dynamics including Auger recombination in broadband thin absorbers")


@pytest.fixture(scope="module")
def server():
    docs = fixture_documents() + [
        _doc("research", "arxiv", "long-1", LONG_TITLE,
             "A radar absorbing metamaterial for thin broadband absorbers, modelled and measured.", "en",
             ["Department of Defense", "Army", "Physical Sciences Inc."], "2025-09-08", ["metamaterial"]),
    ]
    with LiveServer(create_app(MemoryLibrary(docs), WebSettings(token=None))) as live:
        yield live


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        yield chromium
        chromium.close()


# Lines a node's text takes: one rectangle per line box.
LINES = "e => { const r = document.createRange(); r.selectNodeContents(e); return r.getClientRects().length; }"
# For each organization link followed by a comma: the space between the link's right edge and the comma.
COMMA_GAPS = """() => [...document.querySelectorAll('a.org')].filter(a => a.nextSibling && a.nextSibling.nodeType === 3
    && a.nextSibling.textContent.startsWith(',')).map(a => {
      const r = document.createRange(); r.setStart(a.nextSibling, 0); r.setEnd(a.nextSibling, 1);
      return r.getBoundingClientRect().left - a.getBoundingClientRect().right; })"""


@pytest.mark.parametrize("width", [1280, 900])
def test_a_long_titled_hit_keeps_its_score_on_one_line_and_commas_after_names(server, browser, width):
    context = browser.new_context(viewport={"width": width, "height": 900}, locale="en-US")
    page = context.new_page()
    try:
        page.goto(server.url + "/?q=" + quote("radar absorbing metamaterial"))
        hit = page.locator("li.hit", has=page.locator("a.title", has_text="Auger recombination"))
        assert hit.locator("a.title").evaluate(LINES) >= 2, "the title wraps at this width (the case under test)"
        score = hit.locator(".hit-head .num")
        assert score.evaluate(LINES) == 1, f"the score {score.inner_text()!r} breaks across lines"
        gaps = page.evaluate(COMMA_GAPS)
        assert len(gaps) >= 2 and all(abs(g) < 2 for g in gaps), f"space before the commas: {gaps}"
    finally:
        context.close()
