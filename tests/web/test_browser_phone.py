"""The pages on a 390 px phone and a 1280 px screen, in Chromium (issue 24): results before facets on the phone,
no page wider than the screen, badges and score-breakdown labels on one line. Screenshots go to test-artifacts/phone-*.png."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from tests.web.test_browser import ARGS, ARTIFACTS, CHROMIUM, LiveServer, browser  # noqa: F401 - fixtures
from tests.web.fakes import MemoryLibrary

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium is missing (apt-get install chromium)"),
]


class _CrossLingualLibrary(MemoryLibrary):
    """The fake library, with the language-agnostic channel's part in each need's first match (its longest
    breakdown label, "multilingual", which once wrapped to "multilingu / al")."""

    def match(self, need_id: str, limit: int = 20):
        result = super().match(need_id, limit)
        if result.matches:
            result.matches[0].breakdown.multilingual = 0.073
        return result


@pytest.fixture(scope="module")
def library():
    return _CrossLingualLibrary()


@pytest.fixture(scope="module")
def server(library, tmp_path_factory):
    from domain.settings import WebSettings
    from scout.web.app import create_app
    from service.analyst import AnalystStore

    store = AnalystStore(tmp_path_factory.mktemp("phone") / "analyst.sqlite")
    need = next(n for n in library.needs() if n.source == "atla")
    store.judge(need.id, library.match(need.id).matches[0].doc_id, "shortlisted", user="ann", note="fits")
    with LiveServer(create_app(library, WebSettings(token=None), store)) as live:
        yield live
    store.close()


def _pages(library) -> dict[str, str]:
    need = next(n for n in library.needs() if n.source == "atla")
    doc = library.match(need.id).matches[0].doc_id
    org = library.match(need.id).organizations[0].name
    return {"search": "/?q=radar+absorbing+metamaterial", "need": f"/needs/{need.id}", "document": f"/documents/{doc}", "docs": "/docs",
            "audit": "/audit", "watchlists": "/watchlists", "needs": "/needs", "org": "/orgs/" + quote(org)}


@pytest.mark.parametrize("width", [390, 1280])
def test_pages_fit_the_screen_and_badges_stay_whole(server, browser, library, width):  # noqa: F811
    context = browser.new_context(viewport={"width": width, "height": 900}, locale="en-US")
    page = context.new_page()
    try:
        for name, path in _pages(library).items():
            page.goto(server.url + path)
            page.wait_for_load_state("networkidle")
            overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
            assert overflow <= 0, f"{path} scrolls sideways by {overflow} px at {width} px"
            # (a judge button too: the organization page's "✗ Not relevant" broke in two in its need's cell)
            broken = page.evaluate("""[...document.querySelectorAll('.badge, .score-label, .chip, .breakdown dt, .judge-buttons button')]
                .filter(e => e.getClientRects().length > 1 || e.getBoundingClientRect().height > 2.2 * parseFloat(getComputedStyle(e).fontSize))
                .map(e => e.textContent)""")
            assert broken == [], f"{path}: badges broken across lines at {width} px: {broken}"
            # no table cell holds more than its width ("Department" and a date past the needs table's cells, an
            # organization's badge past its name's), and a row spans its table (the need page's organization
            # rows kept a hidden column's third of the width)
            spilled = page.evaluate("""[...document.querySelectorAll('td, th')]
                .filter(e => e.getClientRects().length && e.scrollWidth > e.clientWidth + 1)
                .map(e => e.textContent.trim().slice(0, 30))""")
            assert spilled == [], f"{path}: cells overflowing at {width} px: {spilled}"
            short_rows = page.evaluate("""[...document.querySelectorAll('tr.org-row')].filter(r => {
                const t = r.closest('table').getBoundingClientRect();
                const cells = [...r.cells].filter(c => c.getClientRects().length);
                return cells.length && Math.max(...cells.map(c => c.getBoundingClientRect().right)) < t.right - 8;
            }).length""")
            assert short_rows == 0, f"{path}: {short_rows} organization rows narrower than their table at {width} px"
            page.screenshot(path=str(ARTIFACTS / f"phone-{name}-{width}.png"))
        page.goto(server.url + "/?q=radar+absorbing+metamaterial")
        hit = page.locator("li.hit").first.bounding_box()
        facet = page.locator("section.facet").first.bounding_box()
        if width == 390:  # the results come first, the facets after them
            assert hit["y"] < facet["y"]
        else:  # the facets beside the results
            assert facet["x"] < hit["x"] and abs(facet["y"] - hit["y"]) < 200
    finally:
        context.close()


def test_a_term_longer_than_the_phone_wraps_inside_its_chip(server, browser):  # noqa: F811
    """A watchlist hit's term chip, "technology / method 電波吸収メタマテリアルシート", made the demo's /watchlists
    405 px wide on a 390 px phone. The chip is put into the page's own layout and measured."""
    context = browser.new_context(viewport={"width": 390, "height": 900}, locale="en-US")
    page = context.new_page()
    try:
        page.goto(server.url + "/watchlists")
        page.evaluate("""() => {
            const box = document.createElement('div'); box.className = 'chips shared-terms';
            box.innerHTML = '<span class="muted">Shared terms:</span> <a class="chip term term-method" href="#" id="long-term">'
              + '<span class="term-type">technology / method</span> 電波吸収メタマテリアルシート量子センシング慣性航法装置</a>'
              + ' <a class="chip term term-method" href="#" id="short-term"><span class="term-type">technology / method</span> 航法</a>';
            (document.querySelector('main section, main article, main') || document.body).appendChild(box); }""")
        overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, f"/watchlists scrolls sideways by {overflow} px with a long term chip"
        assert page.locator("#short-term").evaluate("e => e.getClientRects().length") == 1  # a chip that fits: one line
    finally:
        context.close()


def test_the_brief_reads_on_a_phone(browser, library, tmp_path):  # noqa: F811
    """The shortlist brief at 390 px: its organizations' table had four columns, the evidence 14 characters a
    line in the third; now each row stacks, its evidence as wide as the page, nothing wider than the screen."""
    from domain.settings import WebSettings
    from scout.web.app import create_app
    from service.analyst import AnalystStore

    need = next(n for n in library.needs() if n.source == "atla")
    result = library.match(need.id)
    with AnalystStore(tmp_path / "analyst.sqlite") as store:
        store.judge(need.id, result.organizations[0].key, "shortlisted", user="ann", target="organization",
                    note="meet at the industry day")
        store.judge(need.id, result.matches[0].doc_id, "shortlisted", user="ann")
        with LiveServer(create_app(library, WebSettings(token=None), store)) as live:
            context = browser.new_context(viewport={"width": 390, "height": 900}, locale="en-US")
            page = context.new_page()
            try:
                page.goto(f"{live.url}/needs/{need.id}/brief")
                page.wait_for_selector("tr.brief-org")
                assert page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth") <= 0
                quote = page.locator("tr.brief-org blockquote").first.bounding_box()
                assert quote["width"] > 300, f"the organization's evidence is {quote['width']:.0f} px wide at 390 px"
                note = page.locator("tr.brief-org td[data-label=Note]")
                assert "meet at the industry day" in note.inner_text()  # each cell says what it is (its ::before)
                page.screenshot(path=str(ARTIFACTS / "phone-brief-390.png"), full_page=True)
            finally:
                context.close()
