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
LONG_ORG = "Charles River Analytics Incorporated"


@pytest.fixture(scope="module")
def server():
    docs = fixture_documents() + [
        _doc("research", "arxiv", "long-1", LONG_TITLE,
             "A radar absorbing metamaterial for thin broadband absorbers, modelled and measured.", "en",
             ["Department of Defense", "Army", "Physical Sciences Inc."], "2025-09-08", ["metamaterial"]),
        _doc("startup", "rss", "lumen-1", "Learning upgrades to mission planning environments",
             "An AI assistant for mission planning.", "en", [LONG_ORG], "2025-04-09", []),
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


# How far an input's text runs past its box (0: it shows whole).
CUT = "e => e.scrollWidth - e.clientWidth"


@pytest.mark.parametrize("width", [1280, 390])
def test_the_organization_pages_watchlist_name_shows_a_long_name_whole(server, browser, width):
    """The watch button's name box (prefilled with the organization's name) had cut "Charles River Analytics
    Ir" at 390 px: it shows the whole name, and the page does not widen past the screen."""
    context = browser.new_context(viewport={"width": width, "height": 900}, locale="en-US")
    page = context.new_page()
    try:
        page.goto(server.url + "/orgs/" + quote(LONG_ORG))
        box = page.locator("form.watch-form input[name=name]")
        assert box.input_value() == LONG_ORG
        assert box.evaluate(CUT) <= 0, f"the name box cuts {LONG_ORG!r} at {width} px"
        assert page.evaluate("document.documentElement.scrollWidth") <= width
    finally:
        context.close()


@pytest.mark.parametrize("width", [1280, 390])
def test_the_watchlist_form_keeps_its_button_beside_the_fields_on_a_wide_screen(server, browser, width):
    """At 1280 px the area dropdown had pushed "Add watchlist" to a line of its own: the form is one row there
    (on a phone it wraps, inside the screen), and every text field keeps room for its placeholder."""
    context = browser.new_context(viewport={"width": width, "height": 900}, locale="en-US")
    page = context.new_page()
    try:
        page.goto(server.url + "/watchlists")
        form = page.locator("form.watch-new")
        tops = form.evaluate("f => [...f.children].filter(c => c.offsetParent).map(c => Math.round(c.getBoundingClientRect().top))")
        if width >= 1280:
            assert len(set(tops)) == 1, f"the form takes {len(set(tops))} lines at {width} px: {tops}"
        right = form.evaluate("f => Math.max(...[...f.children].filter(c => c.offsetParent).map(c => c.getBoundingClientRect().right))")
        assert right <= width and page.evaluate("document.documentElement.scrollWidth") <= width
        for name in ("name", "q", "org", "concept"):  # every field keeps room for its placeholder
            field = form.locator(f"input[name={name}]")
            assert field.evaluate("e => e.getBoundingClientRect().width") >= 120, name
    finally:
        context.close()
