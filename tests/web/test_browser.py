"""The web app in a real browser: Debian's Chromium driven by Playwright against uvicorn on loopback.

Screenshots go to test-artifacts/. Skipped (with the reason) only when /usr/bin/chromium is missing.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from urllib.parse import quote

import pytest

from domain.settings import WebSettings
from scout.web.app import create_app
from tests.web.fakes import PAYLOAD_ORG, MemoryLibrary
from tests.ports import free_port

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
TOKEN = "browser-test-token"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium is missing (apt-get install chromium)"),
]


class LiveServer:
    """uvicorn serving the app in a thread, on a free loopback port."""

    def __init__(self, app) -> None:
        import uvicorn

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.app = app
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> "LiveServer":
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=5)


@pytest.fixture(scope="module")
def library():
    return MemoryLibrary()


@pytest.fixture(scope="module")
def server(library):
    with LiveServer(create_app(library, WebSettings(token=None))) as live:
        yield live


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-US")
    page = context.new_page()
    dialogs: list[str] = []
    errors: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    # CSP violations, failed loads of our own CSS/JS and script errors all show up here.
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.dialogs = dialogs
    yield page
    context.close()
    assert errors == [], f"browser console errors: {errors}"


def test_search_filter_open_need_and_see_evidence(server, page, library):
    page.goto(server.url + "/")
    page.fill("input[name=q]", "radar absorbing metamaterial")
    page.click("form.search button[type=submit]")
    page.wait_for_selector("li.hit")
    expected = [h.doc_id for h in library.search("radar absorbing metamaterial").hits]
    assert page.locator("li.hit").evaluate_all("els => els.map(e => e.dataset.docId)") == expected
    assert page.locator("section.facet[data-facet=kind] li").count() >= 2
    page.screenshot(path=str(ARTIFACTS / "search.png"), full_page=True)

    # Filter with the select: the progressive-enhancement script submits on change.
    with page.expect_navigation():
        page.select_option("select[name=kind]", "research")
    assert "kind=research" in page.url
    kinds = page.locator("li.hit .badge").all_inner_texts()
    assert kinds and set(kinds) == {"research"}
    # A facet link narrows further (language: Japanese).
    page.click("section.facet[data-facet=language] a:has-text('日本語')")
    page.wait_for_url("**lang=ja**")
    titles = page.locator("li.hit a.title").all_inner_texts()
    assert titles == ["メタサーフェスを用いた広帯域電波吸収体の設計"]
    assert page.locator("li.hit a.title").get_attribute("lang") == "ja"

    # Open a need from the needs list and read its matches and evidence.
    page.click("header nav a:has-text('Needs')")
    need = next(n for n in library.needs() if n.source == "atla")
    page.click(f"a.need-link[href='/needs/{need.id}']")
    page.wait_for_selector("li.match")
    assert page.locator("h1").inner_text() == need.title
    matches = library.match(need.id).matches
    assert page.locator("li.match").count() == len(matches)
    first = page.locator("li.match").first
    assert first.locator("a.title").inner_text() == matches[0].title
    assert first.locator(".need-side mark").count() > 0 and first.locator(".doc-side mark").count() > 0
    assert first.locator(".breakdown .bar").count() == 5
    width = first.locator(".total .bar .fill").evaluate("e => e.getBoundingClientRect().width")
    assert width > 0, "the score bar is drawn"
    assert page.locator("aside.orgs .badge.entrant").count() > 0
    page.screenshot(path=str(ARTIFACTS / "need-page.png"), full_page=True)
    page.screenshot(path=str(ARTIFACTS / "need-page-top.png"))  # one screen, for the README
    assert page.dialogs == []


def test_hostile_text_is_shown_not_run(server, page, library):
    payload = next(d for d in library.docs.values() if d.source_id == "payload-1")
    need = next(n for n in library.needs() if n.source == "atla")
    for path in (f"/documents/{payload.id}", f"/needs/{need.id}", "/?q=" + quote("radar absorbing paint"),
                 "/orgs/" + quote(PAYLOAD_ORG), "/?q=" + quote("<img src=x onerror=alert(7)>")):
        page.goto(server.url + path)
        page.wait_for_load_state("load")
        # no element was injected by crawled text
        assert page.locator("img, svg, main script, main b, main i").count() == 0, path
    page.goto(server.url + f"/documents/{payload.id}")
    assert page.locator("h1").inner_text().startswith("<script>alert(1)</script> Radar absorbing <b>paint</b>")
    assert 'onerror="alert(2)"' in page.locator(".doc-text").inner_text()
    assert page.locator("a[href^='javascript:']").count() == 0
    page.screenshot(path=str(ARTIFACTS / "hostile-document.png"), full_page=True)
    assert page.dialogs == [], f"an alert fired: {page.dialogs}"


def test_offline_api_docs_render(server, page):
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(server.url + "/docs")
    operations = sum(len(methods) for methods in server.app.openapi()["paths"].values())
    assert operations >= 5 and page.locator("section.endpoint").count() == operations
    assert page.locator("#model-NeedMatches").count() == 1
    assert all(url.startswith(server.url) for url in requests), "the docs page loads nothing from elsewhere"
    page.screenshot(path=str(ARTIFACTS / "api-docs.png"), full_page=True)


def test_token_link_logs_the_browser_in(library, browser):
    with LiveServer(create_app(library, WebSettings(token=TOKEN))) as live:
        context = browser.new_context()
        page = context.new_page()
        denied = page.goto(live.url + "/needs")
        assert denied.status == 401 and "Token needed" in page.content()
        page.goto(live.url + f"/needs?token={TOKEN}")
        assert page.url == live.url + "/needs"  # redirected, token gone from the address bar
        assert page.locator("a.need-link").count() == len(library.needs())
        cookie = next(c for c in context.cookies() if c["name"] == "scout_token")
        assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
        assert page.evaluate("document.cookie") == ""  # scripts cannot read it
        page.click("a.need-link >> nth=0")
        page.wait_for_selector("h1")
        assert page.locator("li.match").count() > 0
        context.close()


OVERFLOW = "() => document.documentElement.scrollWidth - window.innerWidth"


@pytest.mark.parametrize("width", [1280, 390])
def test_search_need_and_org_pages_fit_the_screen(server, browser, library, width):
    """Screenshots at desktop and phone widths (test-artifacts/), and nothing wider than the screen."""
    context = browser.new_context(viewport={"width": width, "height": 900}, locale="en-US")
    page = context.new_page()
    need = next(n for n in library.needs() if n.source == "atla")
    org = next(o for m in library.match(need.id).matches for o in m.organizations)
    pages = {"search": "/?q=" + quote("radar absorbing metamaterial"), "need": f"/needs/{need.id}",
             "org": "/orgs/" + quote(org)}
    try:
        for name, path in pages.items():
            page.goto(server.url + path)
            page.wait_for_load_state("load")
            page.screenshot(path=str(ARTIFACTS / f"{name}-{width}.png"), full_page=True)
            assert page.evaluate(OVERFLOW) <= 0, f"{name} page scrolls sideways at {width} px"
    finally:
        context.close()
