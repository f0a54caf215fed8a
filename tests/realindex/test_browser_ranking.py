"""After a judgement the need page's ranking reads at once as a reload reads it, in Chromium, over the real
index (its relevance feedback moves the order and closes up the places behind a match judged not relevant).

The page had hidden a match judged not relevant in place and left the others as they were: places 1, 3, 4 ...
where a reload said 1, 2, 3 ..., the order and the notes on what the judgements moved (need.html) those of
before the judgement, until a reload.
"""

from __future__ import annotations

import pytest

from domain.settings import WebSettings
from scout.web.app import create_app
from service.analyst import AnalystStore
from tests.web.test_browser import CHROMIUM, LiveServer, browser  # noqa: F401 - the browser fixture

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium is missing (apt-get install chromium)"),
]


def _ranking(page) -> list[list[str]]:
    """The ranked technologies as a reader sees them: each visible match's document, its place and the note
    on what the judgements did to it."""
    return page.evaluate("""() => Array.from(document.querySelectorAll("li.match"))
        .filter((li) => !li.hidden)
        .map((li) => [li.dataset.docId, li.querySelector(".rank").textContent,
                      (li.querySelector(".feedback-note") || {textContent: ""}).textContent])""")


def _judge(page, doc_id: str, button: str, n: int) -> None:
    page.locator(f"li.match[data-doc-id='{doc_id}'] button.{button}").click()
    for _ in range(400):  # the page's CSP refuses wait_for_function's eval: ask until the page says it is done
        if page.evaluate("window.judged") == n:
            return
        page.wait_for_timeout(50)
    raise AssertionError("the page never finished the judgement")


def test_after_a_judgement_the_ranking_reads_as_a_reload_reads_it(real_library, scout_home, browser):
    need = next(n for n in real_library.needs() if n.source == "sbir")
    matches = real_library.match(need.id, limit=20).matches
    with AnalystStore() as store:  # the store JudgementFeedback reads: the one the page writes
        with LiveServer(create_app(real_library, WebSettings(token=None), store)) as live:
            context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-US")
            page = context.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(f"{live.url}/needs/{need.id}")
            for n, (doc_id, button) in enumerate([(matches[1].doc_id, "not-relevant"),
                                                  (matches[4].doc_id, "relevant")], 1):
                page.evaluate(f"window.judged = {n - 1}; document.addEventListener('judged', () => "
                              "{ window.judged += 1; }, { once: true })")
                _judge(page, doc_id, button, n)
                at_once = _ranking(page)
                assert [rank for _, rank, _ in at_once] == [str(i) for i in range(1, len(at_once) + 1)], at_once
                page.reload()
                assert _ranking(page) == at_once
            assert any(note for _, _, note in at_once), "the judgements moved some match, and the page says so"
            assert errors == []
            context.close()
