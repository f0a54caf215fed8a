"""An analyst's walk in Chromium over the real index, asserting what the user reads: search (a filter keeps
every score), a need (judged three ways and undone: no score moves, the rejected match is hidden), its brief
(the real strength, not 1.000), a watchlist saved from the search (ranked, best first) and its feed (the best
hits, each with its evidence sentence). Screenshots at 1280 and 390 px go to test-artifacts/."""

from __future__ import annotations

import feedparser
import pytest

from domain.settings import WebSettings
from scout.web.app import create_app
from service.analyst import AnalystStore
from tests.web.test_browser import ARTIFACTS, CHROMIUM, LiveServer, browser  # noqa: F401 - the browser fixture

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium is missing (apt-get install chromium)"),
]

QUERY = "radar absorbing metamaterial"
WIDTHS = (1280, 390)


@pytest.fixture
def site(real_library, scout_home):
    with AnalystStore() as store:  # the default database: the library's ranking reads the same judgements
        token = store.add_user("ann", "analyst")[1]
        with LiveServer(create_app(real_library, WebSettings(token=None), store)) as live:
            live.library, live.store, live.token = real_library, store, token
            yield live


def _shot(context_page, name: str) -> None:
    context_page.screenshot(path=str(ARTIFACTS / f"walk-{name}.png"), full_page=True)
    context_page.screenshot(path=str(ARTIFACTS / f"walk-{name}-top.png"))  # what the first screen shows


def _card_score(page, doc_id: str) -> str:
    return page.locator(f"li.match[data-doc-id='{doc_id}'] .total .num").inner_text()


def test_an_analyst_walk_reads_true_scores(site, browser):
    errors: list[str] = []
    pages = {}
    for width in WIDTHS:
        context = browser.new_context(viewport={"width": width, "height": 900}, locale="en-US")
        page = context.new_page()
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(f"{site.url}/?token={site.token}")
        pages[width] = page
    page = pages[1280]

    # Search: each hit shows its score and label; a filter shows the same figures for the same documents.
    hits = site.library.search(QUERY, limit=20).hits
    page.goto(f"{site.url}/?q={QUERY}")
    first = page.locator("li.hit").first
    assert first.get_attribute("data-doc-id") == hits[0].doc_id
    assert first.locator(".num").inner_text() == f"{hits[0].score:.3f}"
    assert first.locator(".score-label").inner_text() == hits[0].label
    shown = {li.get_attribute("data-doc-id"): li.locator(".num").inner_text() for li in page.locator("li.hit").all()}
    for width in WIDTHS:
        pages[width].goto(f"{site.url}/?q={QUERY}")
        _shot(pages[width], f"search-{width}")
    page.goto(f"{site.url}/?q={QUERY}&kind=startup")
    filtered = {li.get_attribute("data-doc-id"): li.locator(".num").inner_text() for li in page.locator("li.hit").all()}
    assert filtered and all(shown[d] == s for d, s in filtered.items() if d in shown), (shown, filtered)
    for width in WIDTHS:
        pages[width].goto(f"{site.url}/?q={QUERY}&kind=startup")
        _shot(pages[width], f"search-startup-{width}")

    # A need: judge three ways; no card's score moves, the rejected one is hidden, undo shows the same score.
    need = next(n for n in site.library.needs() if n.source == "atla")
    matches = site.library.match(need.id, limit=20).matches
    page.goto(f"{site.url}/needs/{need.id[:8]}")
    before = {m.doc_id: _card_score(page, m.doc_id) for m in matches[:6]}
    assert before == {m.doc_id: f"{m.score:.3f}" for m in matches[:6]}
    shortlisted, relevant, rejected = matches[2], matches[1], matches[0]
    li = page.locator(f"li.match[data-doc-id='{shortlisted.doc_id}']")
    li.locator("input.judge-note").fill("会って話を聞きたい")
    li.locator("button.shortlist").click()
    page.wait_for_selector(f"li.match[data-doc-id='{shortlisted.doc_id}'][data-state=shortlisted]")
    page.locator(f"li.match[data-doc-id='{relevant.doc_id}'] button.relevant").click()
    page.wait_for_selector(f"li.match[data-doc-id='{relevant.doc_id}'][data-state=relevant]")
    page.locator(f"li.match[data-doc-id='{rejected.doc_id}'] button.not-relevant").click()
    page.wait_for_selector(f"li.match[data-doc-id='{rejected.doc_id}'][data-state=not_relevant]", state="attached")
    page.reload()
    assert page.locator(f"li.match[data-doc-id='{rejected.doc_id}']").is_hidden()
    assert page.locator("li.match").first.get_attribute("data-doc-id") == shortlisted.doc_id  # pinned
    after = {d: _card_score(page, d) for d in before if d != rejected.doc_id}
    assert after == {d: s for d, s in before.items() if d != rejected.doc_id}, "a judgement moved a score"
    for width in WIDTHS:
        pages[width].goto(f"{site.url}/needs/{need.id}")
        _shot(pages[width], f"need-judged-{width}")
    page.locator(f"li.match[data-doc-id='{shortlisted.doc_id}'] button.undo").click()
    page.wait_for_selector(f"li.match[data-doc-id='{shortlisted.doc_id}'][data-state='']")
    assert _card_score(page, shortlisted.doc_id) == before[shortlisted.doc_id]  # at once, without a reload
    page.reload()
    assert _card_score(page, shortlisted.doc_id) == before[shortlisted.doc_id]

    # The brief: shortlist two; each shows the strength the need page shows, best first.
    for m in (matches[3], matches[4]):
        page.locator(f"li.match[data-doc-id='{m.doc_id}'] button.shortlist").click()
        page.wait_for_selector(f"li.match[data-doc-id='{m.doc_id}'][data-state=shortlisted]")
    page.goto(f"{site.url}/needs/{need.id[:8]}/brief")
    figures = [t.inner_text() for t in page.locator("h3 .num").all()]
    assert figures == [f"{s:.3f}" for s in sorted((matches[3].score, matches[4].score), reverse=True)]
    assert "1.000" not in figures or max(matches[3].score, matches[4].score) >= 0.9995
    for width in WIDTHS:
        pages[width].goto(f"{site.url}/needs/{need.id}/brief")
        _shot(pages[width], f"brief-{width}")

    # A watchlist saved from the search: ranked best first, the best hit shown first with its score.
    page.goto(f"{site.url}/?q={QUERY}")
    page.locator("form.watch-form input[name=name]").fill("absorbers")
    page.locator("form.watch-form button.watch").click()
    page.wait_for_url(f"{site.url}/watchlists*")
    rows = page.locator("li.watch-hit")
    assert rows.count() == min(10, len(site.library.search(QUERY, limit=50).hits))
    assert rows.first.get_attribute("data-doc-id") == hits[0].doc_id
    scores = [float(r.locator(".num").inner_text()) for r in rows.all()]
    assert scores == sorted(scores, reverse=True) and scores[0] == pytest.approx(hits[0].score, abs=5e-4)
    assert rows.first.locator("p.summary").inner_text().strip()
    for width in WIDTHS:
        pages[width].goto(f"{site.url}/watchlists")
        _shot(pages[width], f"watchlists-{width}")

    # Its feed: the best hits, ranked, each summarised by its evidence sentence.
    wl = site.store.watchlists()[0]
    feed = feedparser.parse(page.request.get(f"{site.url}/feeds/watchlists/{wl.id}.atom").body())
    assert 0 < len(feed.entries) <= 20
    assert feed.entries[0].title == hits[0].title
    assert feed.entries[0].summary and not feed.entries[0].summary.startswith(("startup from", "research from"))
    assert errors == []


def test_the_organizations_beside_a_need_follow_its_judgements_without_a_reload(site, browser):
    """Judging a match not relevant on the need page hid the match at once but left its organization's row
    (scored over it alone) standing beside it until a reload; undone, the row comes back."""
    need = next(n for n in site.library.needs() if n.source == "atla")
    result = site.library.match(need.id, limit=20)
    org = next(o for o in result.organizations if len(o.doc_ids) == 1)
    doc_id = org.doc_ids[0]
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-US")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{site.url}/?token={site.token}")
    page.goto(f"{site.url}/needs/{need.id}")
    row = f"tr.org-row[data-org-key='{org.key}']"
    assert page.locator(row).count() == 1
    page.evaluate("window.notReloaded = true")
    page.locator(f"li.match[data-doc-id='{doc_id}'] button.not-relevant").click()
    page.wait_for_selector(row, state="detached")  # its one document no longer vouches for it
    page.locator("a.toggle-rejected").click()
    page.wait_for_url("**rejected=show**")
    page.evaluate("window.notReloaded = true")
    page.locator(f"li.match[data-doc-id='{doc_id}'] button.undo").click()
    page.wait_for_selector(row)
    assert page.locator(f"{row} .num").inner_text() == f"{org.score:.3f}"
    assert page.evaluate("window.notReloaded") is True and errors == []
    context.close()
