"""Every page names a source as a reader knows it ("SBIR topics", "J-STAGE", "news feeds"), never by the
spider's name; links, facet keys, the form's hidden fields and the JSON API keep the raw name, and a source
filter still works."""

from __future__ import annotations

import re
from urllib.parse import quote

from fastapi.testclient import TestClient

from domain.settings import WebSettings
from scout.web.app import create_app
from scout.web.brief_html import render_brief_html
from service.brief import build_brief
from tests.web.fakes import MemoryLibrary, _doc, fixture_documents

FORM = {"content-type": "application/x-www-form-urlencoded"}
RAW = ("sbir_topics", "needs_file", "jstage", "arxiv", "kaken", "openalex", "feeds")

SBIR = _doc("need", "sbir_topics", "AF263-0017", "Broadband radar absorbing metamaterial coatings for small UAS",
            "Develop thin radar absorbing metamaterial coatings for small UAS.", "en", [], "2026-06-01",
            ["radar-absorbing-material", "metamaterial"])
FEED = _doc("startup", "feeds", "absorb-1", "Absorb Inc. ships a radar absorbing metamaterial sheet",
            "Absorb Inc. ships a thin radar absorbing metamaterial sheet.", "en", ["Absorb Inc."], "2026-06-02",
            ["radar-absorbing-material", "metamaterial"], new=True)


def _shown(html: str) -> str:
    """What a reader sees of the page's main part: no tags, no attributes (links and form values are machines')."""
    main = html.split("<main", 1)[-1]
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", main))


def _raw(text: str) -> list[str]:
    text = text.replace("news feeds", "")
    return [n for n in RAW if re.search(rf"(?<![\w/.-]){n}(?![\w/.-])", text)]


def test_pages_name_sources_as_readers_know_them(store):
    library = MemoryLibrary([*fixture_documents(), SBIR, FEED])
    store.add_user("ann", "analyst")
    token = store.add_user("amy", "analyst")[1]
    web = TestClient(create_app(library, WebSettings(token=None), store), follow_redirects=False,
                     headers={"Authorization": f"Bearer {token}"}, base_url="http://127.0.0.1")
    jstage = next(d for d in library.docs.values() if d.source == "jstage")

    pages = {
        "needs": web.get("/needs").text,
        "need": web.get(f"/needs/{SBIR.id}").text,
        "document": web.get(f"/documents/{jstage.id}").text,
        "search": web.get("/?q=" + quote("radar absorbing metamaterial")).text,
        "org": web.get("/orgs/" + quote("Absorb Inc.")).text,
    }
    shown = {name: _shown(html) for name, html in pages.items()}
    assert "SBIR topics" in shown["needs"]
    assert "Need · SBIR topics" in shown["need"] and "arXiv" in shown["need"] and "news feeds" in shown["need"]
    assert "J-STAGE" in shown["document"]
    assert "arXiv" in shown["search"] and "J-STAGE" in shown["search"] and "news feeds" in shown["search"]
    assert "news feeds" in shown["org"]
    assert {name: _raw(text) for name, text in shown.items()} == {name: [] for name in shown}

    # the source facet shows the label and links with the raw name; the filter works and its chip reads
    assert re.search(r'href="[^"]*source=jstage[^"]*">J-STAGE</a>', pages["search"])
    filtered = web.get("/?q=" + quote("radar absorbing metamaterial") + "&source=jstage").text
    assert "source: J-STAGE ×" in _shown(filtered) and '<input type="hidden" name="source" value="jstage">' in filtered
    assert 'data-doc-id="' + jstage.id + '"' in filtered and "arXiv" not in _shown(filtered).split("source: J-STAGE")[1]
    assert {h["source"] for h in web.get("/api/search", params={"q": "radar absorbing metamaterial"}).json()["hits"]} \
        >= {"arxiv", "jstage", "feeds"}  # the API keeps the raw name

    # a watchlist on a source: its chip and its hits
    assert web.post("/watchlists", content="name=RAM&q=radar+absorbing&source=feeds", headers=FORM).status_code == 303
    watch = _shown(web.get("/watchlists").text)
    assert "source: news feeds" in watch and _raw(watch) == []
    wl = store.watchlists()[0]
    atom = web.get(f"/feeds/watchlists/{wl.id}.atom").text  # a feed reader shows the label; the term filters
    assert 'term="feeds"' in atom and 'label="news feeds"' in atom and "· source: news feeds</subtitle>" in atom

    # the brief, on the page and in the printed file
    brief = _shown(web.get(f"/needs/{SBIR.id}/brief").text)
    printed = _shown(render_brief_html(build_brief(library, store, SBIR.id)))
    for text in (brief, printed):
        assert "Need SBIR topics · 2026-06-01" in text and _raw(text) == [], text[:300]
