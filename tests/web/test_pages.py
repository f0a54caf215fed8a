"""Server-rendered pages: content, facets, highlighting, escaping of hostile crawled text, the token gate."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, quote, urlsplit

import pytest
from fastapi.testclient import TestClient
from markupsafe import escape

from domain.models import SearchFilters
from domain.settings import WebSettings
from scout.web.app import create_app
from scout.web.text import bar_class, guess_lang, highlight, is_loopback, safe_url
from tests.web.fakes import PAYLOAD_ORG, PAYLOAD_TEXT, PAYLOAD_TITLE

EXECUTABLE = [
    re.compile(r"<script>alert", re.I),
    re.compile(r"<img[^>]*onerror", re.I),
    re.compile(r"<svg[^>]*onload", re.I),
    re.compile(r"href=\"javascript:", re.I),
    re.compile(r"<i>Evil</i>"),
    re.compile(r"<b>paint</b>"),
]


def assert_inert(html: str) -> None:
    for pattern in EXECUTABLE:
        assert not pattern.search(html), f"unescaped crawled markup {pattern.pattern!r} in page"
    # the only scripts on any page are our own file
    assert re.findall(r"<script[^>]*>", html) == ['<script src="/static/app.js" defer>']


def test_highlight_escapes_and_marks():
    out = str(highlight('radar <b>absorbing</b> & "quoted"', "absorbing radar"))
    assert out == '<mark>radar</mark> &lt;b&gt;<mark>absorbing</mark>&lt;/b&gt; &amp; &#34;quoted&#34;'
    ja = str(highlight("広帯域の電波吸収体を設計した", "電波吸収材"))
    assert "<mark>電波吸収</mark>" in ja and "設計" in ja and "<mark>設計" not in ja
    assert str(highlight("<script>alert(1)</script>", "script alert")).count("<script>") == 0
    assert str(highlight("sensors", "sensor")) == "<mark>sensors</mark>"


def test_japanese_highlighting_follows_sudachi_words_not_character_pairs():
    out = str(highlight("研究センターで小型センサを開発した", "センサの研究"))
    assert "<mark>センサ</mark>" in out and "<mark>研究</mark>" in out
    assert "<mark>セン</mark>" not in out and "センター" in out.replace("<mark>", "").replace("</mark>", "")
    assert "<mark>センター" not in out  # a bigram highlighter marked "セン" inside センター


def test_a_match_marks_no_generic_word_as_shared():
    """The need page's evidence pairs (generic=False) mark the technology words both sides share, never a word
    that stands in every abstract ("system", "data", 技術, システム); a search marks every word typed."""
    need = "The system will integrate affordable sensors and data links to track the drone threat."
    doc = "Our system fuses radar data from passive sensors to track each drone."
    out = str(highlight(doc, need, generic=False))
    assert "<mark>sensors</mark>" in out and "<mark>drone</mark>" in out and "<mark>track</mark>" in out
    assert "<mark>system</mark>" not in out.lower() and "<mark>data</mark>" not in out
    assert "<mark>system</mark>" in str(highlight(doc, need)).lower()  # the default (a search) still marks it
    ja = str(highlight("本システムは小型レーダーと赤外線カメラの情報を統合する技術である。",
                       "レーダーや赤外線カメラの情報から探知する技術とシステム", generic=False))
    assert "<mark>レーダー</mark>" in ja and "<mark>赤外線カメラ</mark>" in ja
    for word in ("システム", "情報", "技術"):
        assert f"<mark>{word}</mark>" not in ja and word in ja


def test_guess_lang():
    assert guess_lang("株式会社メタテック") == "ja" and guess_lang("東北大学") == "ja"
    assert guess_lang("ダイヤモンドNV中心を用いた量子センサ") == "ja"
    assert guess_lang("Tohoku University") == "en"
    assert guess_lang("北京 Institute") is None and guess_lang("") is None


def test_bad_page_parameters_are_an_html_400(client):
    response = client.get("/", params={"q": "radar", "limit": "many"})
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("text/html") and "limit" in response.text


def test_safe_url_and_bars_and_loopback():
    assert safe_url("https://example.org/a") == "https://example.org/a"
    for bad in ("javascript:alert(1)", " JavaScript:alert(1)", "data:text/html,x", "//evil", "", None):
        assert safe_url(bad) is None
    assert bar_class(0.5, 1.0) == "w50" and bar_class(3, 2) == "w100" and bar_class(-1) == "w0"
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.5") and not is_loopback("example.org")


def test_landing_page_lists_needs(client, library):
    html = client.get("/").text
    assert '<html lang="en">' in html and '<meta charset="utf-8">' in html
    for need in library.needs()[:3]:
        assert f'href="/needs/{need.id}"' in html


def test_search_page_hits_and_facets(client, library):
    response = client.get("/", params={"q": "radar absorbing metamaterial"})
    assert response.status_code == 200
    html = response.text
    result = library.search("radar absorbing metamaterial")
    assert re.findall(r'data-doc-id="([^"]+)"', html) == [h.doc_id for h in result.hits]
    # facet counts as the library computed them, each a link that narrows the search
    for value, count in result.facets["kind"].items():
        assert re.search(rf'kind={value}">{value}</a> <span class="count">{count}</span>', html)
    assert 'lang="ja">メタサーフェスを用いた広帯域電波吸収体の設計' in html
    assert "<mark>" in html


def test_a_capped_hit_says_why_beside_its_score(client, library, monkeypatch):
    """A hit whose score its ceiling holds (hits tied at one score) says how many of the query's words it holds
    and its best passage's similarity, beside its label; the others say nothing of a cap."""
    from domain.models import ScoreCeiling

    query = "radar absorbing metamaterial"
    result = library.search(query)
    held = result.hits[1].model_copy(update={"score": 0.417, "held": ScoreCeiling(
        value=0.417, similarity=0.14, words_held=1, words=3)})
    capped = result.model_copy(update={"hits": [result.hits[0], held, *result.hits[2:]]})
    monkeypatch.setattr(library, "search", lambda *a, **k: capped)
    html = client.get("/", params={"q": query}).text
    cards = re.findall(r'<li class="hit" data-doc-id="([^"]+)">(.*?)</li>', html, re.S)
    notes = {doc_id: re.findall(r'class="muted held"[^>]*>([^<]*)<', card) for doc_id, card in cards}
    assert notes[held.doc_id] == ["capped: 1 of 3 query words, similarity 0.14"]
    assert not any(n for d, n in notes.items() if d != held.doc_id)


def test_search_page_filter_and_year_facet(client, library):
    html = client.get("/", params={"q": "radar absorbing", "kind": "research"}).text
    kinds = re.findall(r'<span class="badge kind-(\w+)">', html)
    assert kinds and set(kinds) == {"research"}
    assert "kind: research ×" in html  # removable filter chip
    year_link = re.search(r'href="(/\?[^"]*since=(\d{4})[^"]*)"', html)
    assert year_link
    query = parse_qs(urlsplit(year_link.group(1).replace("&amp;", "&")).query)
    assert query["since"] == query["until"]


def test_a_browse_shows_no_match_strength(client, library):
    """Filters without a query list documents newest first: no score, bar or strength label is shown (a 0.000
    'weak' on every one would read as a judgement); a query's hits keep theirs."""
    html = client.get("/", params={"kind": "research"}).text
    assert library.search("", SearchFilters(kind="research")).hits
    assert re.findall(r'data-doc-id="([^"]+)"', html)
    assert 'class="score-label' not in html and '<span class="num">' not in html and "newest first" in html
    ranked = client.get("/", params={"q": "radar absorbing", "kind": "research"}).text
    assert 'class="score-label' in ranked and '<span class="num">' in ranked


def test_search_page_bad_filter_shows_the_reason(client):
    response = client.get("/", params={"q": "radar", "since": "soon"})
    assert response.status_code == 400
    assert "not a date" in response.text


def test_need_page_shows_matches_breakdown_and_evidence(client, library, atla_need):
    response = client.get(f"/needs/{atla_need.id}")
    assert response.status_code == 200
    html = response.text
    result = library.match(atla_need.id)
    assert re.findall(r'<li class="match" data-doc-id="([^"]+)"', html) == [m.doc_id for m in result.matches]
    assert html.count('<dl class="breakdown">') == len(result.matches)
    assert 'class="evidence need-side"' in html and 'class="evidence doc-side"' in html
    assert re.search(r'<blockquote lang="ja">[^<]*<mark>', html), "need-side evidence is highlighted"
    assert "new entrant" in html
    assert f'<h1 lang="ja">{atla_need.title}</h1>' in html
    assert_inert(html)  # the hostile document is among the matches
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_payload_is_escaped_on_every_page(client, payload_doc, atla_need):
    pages = {
        "document": f"/documents/{payload_doc.id}",
        "search": "/?q=" + quote("radar absorbing paint"),
        "need": f"/needs/{atla_need.id}",
        "org": "/orgs/" + quote(PAYLOAD_ORG),
        "reflected query": "/?q=" + quote("<script>alert(9)</script>"),
        "reflected 404": "/documents/" + quote("<script>alert(8)</script>"),
    }
    for name, url in pages.items():
        response = client.get(url)
        assert response.status_code in (200, 404), name
        assert_inert(response.text)
        assert "<script>alert(" not in response.text, name
    doc_html = client.get(pages["document"]).text
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Radar absorbing &lt;b&gt;paint&lt;/b&gt;" in doc_html
    assert "&lt;img src=x onerror=&#34;alert(2)&#34;&gt;" in doc_html
    assert "&lt;i&gt;Evil&lt;/i&gt; Corp" in doc_html
    # the javascript: URL is shown as text, never as a link
    assert '<span class="ext unsafe" title="not an http(s) link">javascript:alert(4)</span>' in doc_html
    # the whole hostile title and text appear, escaped, exactly once as the page's heading and body
    assert f'<h1 lang="en">{escape(PAYLOAD_TITLE)}</h1>' in doc_html
    assert str(escape(PAYLOAD_TEXT)) in doc_html


def test_security_headers(client):
    response = client.get("/needs")
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"


def test_unknown_pages_are_404_pages(client):
    response = client.get("/needs/nope")
    assert response.status_code == 404 and "unknown need id" in response.text
    assert client.get("/orgs/Nobody").status_code == 404


def test_document_and_org_pages(client, library):
    doc = next(d for d in library.docs.values() if d.source == "jstage")
    html = client.get(f"/documents/{doc.id}").text
    assert f'<h1 lang="ja">{doc.title}</h1>' in html and doc.text in html
    html = client.get("/orgs/" + quote("Lockheed Martin")).text
    assert "known supplier" in html and "new entrant" not in html
    html = client.get("/orgs/" + quote("東北大学")).text
    assert "new entrant" in html


def test_the_org_page_names_its_sources_not_its_internal_key(client, library):
    """A reader places an organization by its names and where its documents come from; the key the index
    files it under ("lockheedmartin") is the API's business, not the page's."""
    profile = library.organization("Lockheed Martin")
    sources = sorted({h.source for h in profile.documents})
    assert profile.key and sources
    html = client.get("/orgs/" + quote("Lockheed Martin")).text
    shown = re.sub(r"<[^>]+>", " ", html.split("<main", 1)[-1])  # what the page shows, not its attributes
    assert profile.key not in shown
    eyebrow = re.search(r'<p class="eyebrow org-sources">(.*?)</p>', html).group(1)
    assert all(s in eyebrow for s in sources), eyebrow


def test_the_document_page_says_when_it_was_first_seen_in_a_named_zone_and_keeps_its_hash_to_itself(client, library):
    """A reader sees the moment the document was first seen, zone named as everywhere ("2026-10-01 09:00
    JST"), not a bare day; the content hash is bookkeeping (the JSON API keeps it), not the user's."""
    from domain.times import shown

    doc = next(d for d in library.docs.values() if d.source == "jstage")
    html = client.get(f"/documents/{doc.id}").text
    facts = html[html.index('<dl class="facts">'):]
    assert f"<dt>first seen</dt><dd>{shown(doc.first_seen)}</dd>" in facts
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d [A-Z]{2,5}<", facts)
    assert "content hash" not in html and doc.content_hash[:16] not in html
    assert client.get(f"/api/documents/{doc.id}").json()["content_hash"] == doc.content_hash


def test_pages_that_read_the_match_ledger_say_from_which_run(library):
    """The organization and document pages list needs as the last match run scored them: they say so, with
    the run's time, so a reader who just judged on a need page knows what the figures are."""
    from datetime import datetime, timezone

    from domain.times import shown
    from tests.web.fakes import MemoryLibrary

    ran = datetime(2026, 12, 6, 12, 30, tzinfo=timezone.utc)

    class AfterARun(MemoryLibrary):
        def match_run_time(self):
            return ran

    after = AfterARun()
    client = TestClient(create_app(after, WebSettings(token=None)), base_url="http://127.0.0.1")
    answered = next(d for d in after.docs.values() if after.needs_answered(d.id))
    html = client.get(f"/documents/{answered.id}").text
    assert f"Scores from the last match run, {shown(ran)}" in html
    html = client.get("/orgs/" + quote("Lockheed Martin")).text
    assert f"Scores from the last match run, {shown(ran)}" in html
    # no run: the page ranked the needs itself, and says nothing of a run
    assert "last match run" not in TestClient(create_app(MemoryLibrary(), WebSettings(token=None)),
                                              base_url="http://127.0.0.1").get(f"/documents/{answered.id}").text


def test_sentences_the_source_glued_read_apart_on_the_document_and_need_pages():
    """The demo's SBIR award read "an integrating sphere for RF applications is feasible.This will be shown" on
    its page (the evidence beside it had been spaced already); a need's text too."""
    from tests.web.fakes import MemoryLibrary, _doc, fixture_documents

    doc = _doc("startup", "rss", "glued-1", "Integrating Sphere at Microwave Frequencies",
               "An integrating sphere for RF applications is feasible.This will be shown on a planar array. "
               "The U.S. Army uses it.", "en", ["Sciperio Inc."], "2025-05-21", [])
    need = _doc("need", "sbir", "glued-n", "RF integrating spheres", "We need RF test spheres.They must be small.",
                "en", ["U.S. Air Force"], "2025-05-01", [])
    app = create_app(MemoryLibrary([*fixture_documents(), doc, need]), WebSettings(token=None))
    client = TestClient(app, base_url="http://127.0.0.1")
    html = client.get(f"/documents/{doc.id}").text
    assert "is feasible. This will be shown" in html and "feasible.This" not in html
    assert "The U.S. Army uses it." in html  # an abbreviation is not a glued sentence
    html = client.get(f"/needs/{need.id}").text
    assert "spheres. They must be small." in html and "spheres.They" not in html


def test_an_issuers_page_lists_each_of_its_needs_once(client, library):
    """防衛装備庁's page listed its needs under "Needs it publishes" and again under "Documents"."""
    need = next(n for n in library.needs() if n.organizations == ["防衛装備庁"])
    html = client.get("/orgs/" + quote("防衛装備庁")).text
    assert "Needs it publishes" in html and html.count(f'href="/needs/{need.id}"') == 1


def test_the_home_pages_latest_needs_are_the_newest(client, library):
    """"Latest needs" listed the first needs by source and title (a DIANA challenge of January above a SBIR
    topic of March): they are the newest, by publication (or, undated, by when they were first seen)."""
    html = client.get("/").text
    block = html[html.index("Latest needs"):html.index("All needs")]
    shown = re.findall(r'<a href="/needs/([^"]+)"', block)
    newest = sorted(library.needs(), key=lambda n: n.published or n.first_seen, reverse=True)
    assert shown == [n.id for n in newest][:len(shown)] and len(shown) == min(8, len(newest))


TOKEN = "s3cret-token-for-tests"


@pytest.fixture(scope="module")
def gated(library) -> TestClient:
    return TestClient(create_app(library, WebSettings(token=TOKEN)), follow_redirects=False, base_url="http://127.0.0.1")


def _routes(routes):
    """Every route, the included routers' own ones too (FastAPI keeps those behind one entry per router)."""
    for route in routes:
        if hasattr(route, "original_router"):
            yield from _routes(route.original_router.routes)
        else:
            yield route


def _concrete_paths(app, need_id: str, doc_id: str, watchlist_id: int = 0) -> list[str]:
    """Every readable path (GET routes and mounts; the write routes have tests of their own)."""
    paths = []
    for route in _routes(app.routes):
        if getattr(route, "methods", None) and "GET" not in route.methods:
            continue
        path = getattr(route, "path", "")
        path = path.replace("{need_id}", need_id).replace("{doc_id}", doc_id).replace("{name:path}", "QuantNav")
        path = path.replace("{name}", "QuantNav").replace("{path:path}", "style.css")
        path = path.replace("{watchlist_id}", str(watchlist_id)).replace("{week}", "2026-W47")
        paths.append(path + ("?q=radar" if path in ("/api/search",) else ""))
    return paths


def test_token_is_required_on_every_route(gated, atla_need, payload_doc):
    watched = gated.app.state.analyst.add_watchlist("radar", kind="search", query="radar", user="test")
    paths = _concrete_paths(gated.app, atla_need.id, payload_doc.id, watched.id)
    assert "/static" in paths and "/docs" in paths and "/openapi.json" in paths
    paths = [p if p != "/static" else "/static/style.css" for p in paths]
    from domain.settings import ReportSettings

    outbox = ReportSettings().outbox_dir  # a written report for /reports/<week>
    outbox.mkdir(parents=True, exist_ok=True)
    (outbox / "dualscout-2026-W47-20261123T000000Z.html").write_text("<p>report</p>", encoding="utf-8")
    for path in paths:
        if path == "/healthz":
            continue
        assert gated.get(path).status_code == 401, path
        assert gated.get(path, headers={"Authorization": "Bearer wrong"}).status_code == 401, path
        ok = gated.get(path, headers={"Authorization": f"Bearer {TOKEN}"})
        assert ok.status_code == 200, path
    assert gated.get("/healthz").status_code == 200
    assert gated.get("/api/needs").json() == {"detail": "missing or wrong token"}


def test_browser_token_becomes_an_httponly_cookie(library):
    browser = TestClient(create_app(library, WebSettings(token=TOKEN)), follow_redirects=False, base_url="http://127.0.0.1")
    first = browser.get(f"/needs?token={TOKEN}&x=1")
    assert first.status_code == 303
    assert first.headers["location"] == "/needs?x=1"  # the token leaves the address bar
    cookie = first.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    assert browser.get("/needs").status_code == 200  # the cookie carries on
    assert browser.get(f"/needs?token=wrong").status_code == 200  # cookie still valid
    stranger = TestClient(create_app(library, WebSettings(token=TOKEN)), follow_redirects=False, base_url="http://127.0.0.1")
    assert stranger.get("/needs?token=wrong").status_code == 401
    assert stranger.get(f"/api/needs?token={TOKEN}").status_code == 200  # API clients may use the query too


def test_shared_concepts_are_highlighted_across_languages(client, library, atla_need):
    """A Japanese need and an English paper share no words; the shared concept still lights up on both sides."""
    html = client.get(f"/needs/{atla_need.id}").text
    english = next(m for m in library.match(atla_need.id).matches if m.source == "arxiv")
    card = html.split(f'data-doc-id="{english.doc_id}"', 1)[1].split("</li>", 1)[0]
    need_side = card.split('class="evidence need-side"', 1)[1].split("</figure>", 1)[0]
    doc_side = card.split('class="evidence doc-side"', 1)[1].split("</figure>", 1)[0]
    assert "<mark>電波吸収" in need_side
    assert "<mark>radar</mark>" in doc_side


def test_library_failure_is_a_clean_500():
    from tests.cli.test_search_cli import BrokenLibrary

    client = TestClient(create_app(BrokenLibrary(), WebSettings(token=None)), raise_server_exceptions=False, base_url="http://127.0.0.1")
    page = client.get("/", params={"q": "radar"})
    assert page.status_code == 500 and "The index failed to answer" in page.text and "corrupted" not in page.text
    api = client.get("/api/search", params={"q": "radar"})
    assert api.status_code == 500 and api.json() == {"detail": "internal error in the index; see the server log"}


def test_more_results_and_json_links(client, library):
    html = client.get("/", params={"q": "radar absorbing metamaterial", "limit": 2}).text
    assert len(re.findall(r'<li class="hit"', html)) == 2
    more = re.search(r'<a class="more" href="([^"]+)"', html).group(1).replace("&amp;", "&")
    assert parse_qs(urlsplit(more).query)["limit"] == ["22"]
    json_link = re.search(r'href="(/api/search\?[^"]+)">JSON', html).group(1).replace("&amp;", "&")
    assert client.get(json_link).json() == library.search("radar absorbing metamaterial", limit=2).model_dump(mode="json")
    assert "More results" not in client.get("/", params={"q": "radar absorbing metamaterial"}).text


def test_need_page_shows_how_generic_a_match_is(client, library, atla_need, monkeypatch):
    """A match whose score was corrected for hubness says so; the others show no such row."""
    result = library.match(atla_need.id)
    assert len(result.matches) >= 2
    result.matches[0].breakdown.generic = -0.042  # a contribution: what the correction took off the score
    monkeypatch.setattr(library, "match", lambda *args, **kwargs: result)
    html = client.get(f"/needs/{atla_need.id}").text
    assert html.count("<dt>generic</dt>") == 1
    first = html.split('<li class="match"')[1]
    assert "<dt>generic</dt>" in first and "-0.042" in first


def test_need_page_shows_score_label_and_contributions(client, library, atla_need):
    """Each match: its score on the absolute scale with its label, and every non-zero part, signed."""
    result = library.match(atla_need.id)
    html = client.get(f"/needs/{atla_need.id}").text
    cards = html.split('<li class="match"')[1:]
    assert len(cards) == len(result.matches)
    for m, card in zip(result.matches, cards):
        assert f'<span class="num">{m.score:.3f}</span> <span class="score-label score-{m.label}">{m.label}</span>' in card
        for part, value in m.breakdown.contributions().items():
            if value:
                assert f"<dt>{part.replace('_', ' ')}</dt>" in card and f"{value:+.3f}" in card


@pytest.mark.parametrize("path", ["//evil.example/", "/\\evil.example/", "/\\/evil.example", "///evil.example/x",
                                  "/%5Cevil.example/", "/needs/\u30ec\u30fc\u30c0"])
def test_the_redirect_after_a_token_never_leaves_the_site(library, path):
    """Issue 19.6: `//evil.example/?token=...` redirected the browser, with its new cookie, off-site."""
    from urllib.parse import urlsplit

    browser = TestClient(create_app(library, WebSettings(token=TOKEN)), follow_redirects=False, base_url="http://127.0.0.1")
    answer = browser.get(f"http://127.0.0.1{path}?token={TOKEN}")
    assert answer.status_code == 303
    location = answer.headers["location"]
    assert location.startswith("/") and not location.startswith(("//", "/\\"))
    assert urlsplit(location).netloc == "" and "\\" not in location


def test_an_undated_need_without_organizations_has_no_empty_header_fields():
    """A needs-file entry may carry no date, no organization and no link: its header shows what it has."""
    from domain.models import DocKind, Document
    from tests.web.fakes import MemoryLibrary

    need = Document.make(kind=DocKind.need, source="needs_file", source_id="n-1", url="",
                         title="Quantum sensors for navigation without GNSS", text="Navigation without GNSS.",
                         language="en", organizations=[])
    library = MemoryLibrary()
    library.add(need)
    html = TestClient(create_app(library, WebSettings(token=None)), base_url="http://127.0.0.1").get(f"/needs/{need.id}").text
    header = re.search(r'<p class="eyebrow">(.*?)</p>', html, re.S).group(1)
    assert header.strip() == "Need · needs file"


def test_a_document_page_names_the_needs_it_answers_with_the_need_pages_scores(client, library):
    """An analyst who opens a document from a search sees which needs it is a match of, each with the score and
    label the need page shows and a link to the match on that page; a document no need ranks says so; a need's
    own page (a need document) has no such list."""
    answering = {}
    for need in library.needs():
        for m in library.match(need.id).matches:
            answering.setdefault(m.doc_id, []).append((need, m))
    doc_id, pairs = max(answering.items(), key=lambda kv: len(kv[1]))
    html = client.get(f"/documents/{doc_id}").text
    assert "<h2>Needs it answers</h2>" in html
    rows = re.findall(r'<tr class="doc-need" data-need-id="([^"]+)">(.*?)</tr>', html, re.S)
    assert {r[0] for r in rows} == {need.id for need, _ in pairs}
    scores = [float(re.search(r'<span class="num">([\d.]+)</span>', r[1]).group(1)) for r in rows]
    assert scores == sorted(scores, reverse=True)
    for need, m in pairs:
        row = next(r[1] for r in rows if r[0] == need.id)
        assert f'href="/needs/{need.id}#m-{doc_id}"' in row
        assert f'<span class="num">{m.score:.3f}</span>' in row and f"score-{m.label}" in row
    from tests.web.fakes import MemoryLibrary, fixture_documents

    no_needs = MemoryLibrary([d for d in fixture_documents() if d.kind.value != "need"])
    alone = TestClient(create_app(no_needs, WebSettings(token=None)), base_url="http://127.0.0.1")
    assert "Not among any need's best matches yet." in alone.get(f"/documents/{doc_id}").text
    need = library.needs()[0]
    assert "Needs it answers" not in client.get(f"/documents/{need.id}").text


def test_a_document_page_names_the_source_id_a_reader_can_use(client, library):
    """A feed item's page showed its crawl key ('source id  feed title|guid'); a document's page names the
    identifier its source gives it where a reader can cite or look it up (an arXiv id, a KAKEN project), and
    shows none for a feed item (the 'original' link is its identity)."""
    from domain.models import DocKind, Document
    from scout.web.text import source_reference

    feed_item = next(d for d in library.docs.values() if d.source_id == "payload-1")
    fed = Document.make(kind=DocKind.startup, source="feeds", source_id="Demo news|sbir-civ-1",
                        url="https://example.org/news/1", title="A feed item", text="Radar absorbing paint.")
    shown = client.get(f"/documents/{feed_item.id}").text
    assert "source id" not in shown and ">payload-1<" not in shown
    assert source_reference(fed.source, fed.source_id) is None
    arxiv = next(d for d in library.docs.values() if d.source == "arxiv")
    assert f"<dt>arXiv id</dt><dd><code>{arxiv.source_id}</code></dd>" in client.get(f"/documents/{arxiv.id}").text
    kaken = next(d for d in library.docs.values() if d.source == "kaken")
    assert f"<dt>KAKEN project</dt><dd><code>{kaken.source_id}</code></dd>" in client.get(f"/documents/{kaken.id}").text
    assert source_reference("jstage", "https://www.jstage.jst.go.jp/article/x/1/_article") is None
    assert source_reference("jstage", "10.1234/abc") == ("DOI", "10.1234/abc")


def test_view_in_browser_serves_the_report_the_mail_is_not_the_newest_of_its_week(client):
    """A reader's "View in browser" had answered with the newest report written for the week: after an analyst's
    `scout report --no-send` preview it showed "212 new matches" under a mail that said 213. The mail's link
    names its build time (`?built=`), and that report is served; without it, the newest, as before."""
    import os

    from domain.settings import ReportSettings

    outbox = ReportSettings().outbox_dir
    outbox.mkdir(parents=True, exist_ok=True)
    sent = outbox / "dualscout-2026-W50-20261207T005438Z.html"
    preview = outbox / "dualscout-2026-W50-20261207T010211Z.html"
    sent.write_text("<p>213 new matches</p>", encoding="utf-8")
    preview.write_text("<p>212 new matches</p>", encoding="utf-8")
    os.utime(sent, (1, 1))  # written first
    assert "213 new matches" in client.get("/reports/2026-W50?built=20261207T005438Z").text
    assert "212 new matches" in client.get("/reports/2026-W50").text
    assert client.get("/reports/2026-W50?built=20261207T000000Z").status_code == 404  # not in the outbox
    assert client.get("/reports/2026-W50?built=../../x").status_code == 404
