"""The analyst loop over HTTP: roles on every write route, judging through the API and the need page's forms,
watchlists and their Atom feeds, the brief, and the audit log. Real SQLite store, in-memory library."""

from __future__ import annotations

import csv
import io
import re
from urllib.parse import quote

import feedparser
import pytest
from fastapi.testclient import TestClient

from domain.settings import WebSettings
from scout.web.app import create_app
from tests.web.fakes import MemoryLibrary, _doc
from tests.web.test_pages import _routes

FORM = {"content-type": "application/x-www-form-urlencoded"}


@pytest.fixture
def tokens(store):
    return {"analyst": store.add_user("ann", "analyst")[1], "viewer": store.add_user("vic", "viewer")[1]}


@pytest.fixture
def app(library, store, tokens):
    return create_app(library, WebSettings(token=None), store)


@pytest.fixture
def as_ann(app, tokens):
    return TestClient(app, follow_redirects=False, headers={"Authorization": f"Bearer {tokens['analyst']}"}, base_url="http://127.0.0.1")


@pytest.fixture
def need(library):
    return next(n for n in library.needs() if n.source == "atla")


def other_need(library, need):
    return next(n for n in library.needs() if n.id != need.id)


def _write_requests(need_id: str, doc_id: str, new_watchlist) -> dict[tuple[str, str], dict]:
    """One valid request per write route, keyed by (method, route path); `new_watchlist()` makes one to remove."""
    judgement = f"/api/needs/{need_id}/judgements"
    watched = new_watchlist()  # one whose hits are judged (and the judgement undone)
    hit_judgement = f"/api/watchlists/{watched}/judgements/document/{doc_id}"
    return {
        ("PUT", "/api/watchlists/{watchlist_id}/judgements/document/{doc_id:path}"):
            {"url": hit_judgement, "json": {"state": "not_relevant"}},
        ("DELETE", "/api/watchlists/{watchlist_id}/judgements/document/{doc_id:path}"): {"url": hit_judgement},
        ("POST", "/watchlists/{watchlist_id}/judge"):
            {"url": f"/watchlists/{watched}/judge", "content": f"target_id={doc_id}&state=relevant", "headers": FORM},
        ("PUT", "/api/needs/{need_id}/judgements/{target}/{target_id:path}"):
            {"url": f"{judgement}/document/{doc_id}", "json": {"state": "relevant", "note": "n"}},
        ("DELETE", "/api/needs/{need_id}/judgements/{target}/{target_id:path}"):
            {"url": f"{judgement}/document/{doc_id}"},  # undoes the PUT above
        ("POST", "/api/watchlists"): {"url": "/api/watchlists", "json": {"name": "w", "query": "radar"}},
        ("DELETE", "/api/watchlists/{watchlist_id}"): {"url": f"/api/watchlists/{new_watchlist()}"},
        ("POST", "/needs/{need_id}/judge"):
            {"url": f"/needs/{need_id}/judge", "content": f"target_id={doc_id}&state=shortlisted", "headers": FORM},
        ("POST", "/watchlists"): {"url": "/watchlists", "content": "q=radar&name=x", "headers": FORM},
        ("POST", "/watchlists/{watchlist_id}/remove"): {"url": f"/watchlists/{new_watchlist()}/remove", "headers": FORM},
    }


@pytest.mark.parametrize("who", ["nobody", "wrong", "viewer", "analyst"])
def test_every_write_route_needs_an_analyst(app, library, store, tokens, need, who):
    match = library.match(need.id)
    writes = {(m, r.path) for r in _routes(app.routes) for m in getattr(r, "methods", ()) or ()
              if m not in ("GET", "HEAD")}
    requests = _write_requests(need.id, match.matches[0].doc_id,
                               lambda: store.add_watchlist("to remove", kind="search", query="radar", user="t").id)
    assert writes == set(requests), "every write route has a request here"
    headers = {"nobody": {}, "wrong": {"Authorization": "Bearer scout_nope"},
               "viewer": {"Authorization": f"Bearer {tokens['viewer']}"},
               "analyst": {"Authorization": f"Bearer {tokens['analyst']}"}}[who]
    client = TestClient(app, follow_redirects=False, base_url="http://127.0.0.1")
    before = len(store.audit(1000))
    for (method, path), spec in requests.items():
        response = client.request(method, spec["url"], json=spec.get("json"), content=spec.get("content"),
                                  headers={**spec.get("headers", {}), **headers})
        expected = {"nobody": 401, "wrong": 401, "viewer": 403}.get(who)
        if expected:
            assert response.status_code == expected, (method, path, response.text)
        else:
            assert response.status_code in (200, 201, 303), (method, path, response.text)
    written = [e for e in store.audit(1000)[: len(store.audit(1000)) - before] if e.user != "t"]
    if who == "analyst":  # one audit row per write, each naming the user behind the token
        assert len(written) == len(requests) and {e.user for e in written} == {"ann"}
    else:
        assert written == []


def test_viewer_reads_but_gets_a_clear_403(app, tokens, need):
    viewer = TestClient(app, headers={"Authorization": f"Bearer {tokens['viewer']}"}, base_url="http://127.0.0.1")
    assert viewer.get("/api/me").json() == {"name": "vic", "role": "viewer", "created_at": viewer.get("/api/me").json()["created_at"]}
    assert viewer.get(f"/needs/{need.id}").status_code == 200
    assert "judge-buttons" not in viewer.get(f"/needs/{need.id}").text  # no buttons a viewer cannot use
    response = viewer.put(f"/api/needs/{need.id}/judgements/document/x", json={"state": "relevant"})
    assert response.status_code == 403 and "viewer" in response.json()["detail"]
    page = viewer.post(f"/needs/{need.id}/judge", content="target_id=x&state=relevant", headers=FORM)
    assert page.status_code == 403 and "analyst role" in page.text and "Traceback" not in page.text


def test_judge_change_undo_through_the_api(as_ann, library, need, store):
    doc = library.match(need.id).matches[2].doc_id
    url = f"/api/needs/{need.id}/judgements/document/{doc}"
    first = as_ann.put(url, json={"state": "relevant", "note": "good fit"})
    assert first.status_code == 200 and first.json()["user"] == "ann" and first.json()["state"] == "relevant"
    assert as_ann.put(url, json={"state": "shortlisted"}).json()["state"] == "shortlisted"
    current = as_ann.get(f"/api/needs/{need.id}/judgements").json()
    assert [(j["target_id"], j["state"]) for j in current] == [(doc, "shortlisted")]
    undone = as_ann.delete(url).json()  # back to relevant, with its note: the judgement before
    assert undone["undone"] is True and undone["judgement"]["state"] == "undone"
    assert undone["undid"]["state"] == "shortlisted" and undone["current"] == first.json()
    assert undone["message"] == "undid shortlisted, back to relevant"
    assert as_ann.get(f"/api/needs/{need.id}/judgements").json() == [first.json()]
    assert store.feedback(need.id) == ([doc], [])
    assert as_ann.delete(url).json()["current"] is None  # and again: the one before, none
    assert as_ann.delete(url).json() == {"undone": False, "judgement": None, "undid": None, "current": None,
                                         "message": f"Nothing to undo: document {doc} has no judgement for this need"}
    assert as_ann.get(f"/api/needs/{need.id}/judgements").json() == []
    history = as_ann.get(f"/api/needs/{need.id}/judgements/history").json()
    assert [(h["state"], h["undid"], h["back_to"]) for h in history] == [
        ("relevant", None, None), ("shortlisted", None, None), ("undone", "shortlisted", "relevant"),
        ("undone", "relevant", None)]
    assert store.feedback(need.id) == ([], [])
    audit = as_ann.get("/api/audit", params={"user": "ann"}).json()
    assert [a["action"] for a in audit] == ["judgement.undo", "judgement.undo", "judgement.set", "judgement.set"]
    page = as_ann.get("/audit", params={"user": "ann"}).text
    assert page.count('<tr class="audit-entry">') == 4 and "note: good fit" in page
    assert "undid shortlisted, back to relevant" in page and "undid relevant, no judgement now" in page
    as_ann.put(f"/api/needs/{other_need(library, need).id}/judgements/document/{doc}", json={"state": "relevant"})
    assert len(as_ann.get("/api/audit", params={"need": need.id}).json()) == 4
    page = as_ann.get("/audit", params={"need": need.id}).text
    assert page.count('<tr class="audit-entry">') == 4 and need.title in page


def _faces(client, need_id: str, watchlist: int | None = None) -> dict:
    """What a user reads of a need's judgements over HTTP: the need page (judged matches shown and hidden), the
    brief and its CSV, the judgements' JSON, and a watchlist's page, hits and judgements."""
    faces = {"page": client.get(f"/needs/{need_id}").text,
             "page, not relevant shown": client.get(f"/needs/{need_id}", params={"rejected": "show"}).text,
             "brief": client.get(f"/needs/{need_id}/brief").text,
             "brief CSV": client.get(f"/needs/{need_id}/brief.csv").content,
             "judgements": client.get(f"/api/needs/{need_id}/judgements").json()}
    if watchlist is not None:
        faces |= {"watchlists page": client.get("/watchlists").text,
                  "watchlist judgements": client.get(f"/api/watchlists/{watchlist}/judgements").json(),
                  "watchlist hits": client.get(f"/api/watchlists/{watchlist}/hits").json()}
    return faces


@pytest.mark.parametrize("target", ["document", "organization"])
@pytest.mark.parametrize("before", [None, "relevant", "shortlisted"])
@pytest.mark.parametrize("state", ["relevant", "not_relevant", "shortlisted"])
def test_judging_and_undo_on_the_need_page_reads_as_before(as_ann, library, need, target, before, state):
    """The need page's Undo (its form, as app.js posts it) after a judgement: every page and the JSON read as
    before that judgement. Shortlisted, then not relevant, then Undo had left no judgement: the match was gone
    from the brief and no longer pinned."""
    found = library.match(need.id)
    subject = found.matches[2].doc_id if target == "document" else found.organizations[0].key
    post = lambda body: as_ann.post(f"/needs/{need.id}/judge", content=body,  # noqa: E731
                                    headers={**FORM, "Accept": "application/json"}).json()
    form = f"target={target}&target_id={quote(subject)}"
    if before:
        post(f"{form}&state={before}&note=first+look")
    shown = _faces(as_ann, need.id)
    post(f"{form}&state={state}&note=second+thoughts")
    judged = post(f"{form}&state=undo&note=typed+then+undone")
    assert judged["changed"] is True and judged["message"] == ""
    assert judged["state"] == before and judged["note"] == ("first look" if before else "")
    assert _faces(as_ann, need.id) == shown  # the hidden id Undo sends included


def test_the_page_undoes_the_judgement_it_shows_once_and_says_so_on_a_second_click(as_ann, library, need, store):
    """A double click on Undo (or a second tab) sends the judgement shown twice: the first takes it off, the
    second undoes nothing and says so, in one line; an Undo with nothing to undo says so too."""
    doc = library.match(need.id).matches[1].doc_id
    post = lambda body: as_ann.post(f"/needs/{need.id}/judge", content=body,  # noqa: E731
                                    headers={**FORM, "Accept": "application/json"})
    first = post(f"target_id={doc}&state=shortlisted&note=keep").json()
    second = post(f"target_id={doc}&state=not_relevant").json()
    assert f'name="judgement" value="{second["id"]}"' in as_ann.get(f"/needs/{need.id}", params={"rejected": "show"}).text
    click = f"target_id={doc}&judgement={second['id']}&state=undo"
    once = post(click).json()
    assert (once["state"], once["note"], once["id"], once["changed"]) == ("shortlisted", "keep", first["id"], True)
    twice = post(click)
    assert twice.status_code == 200 and twice.json()["changed"] is False
    assert twice.json()["state"] == "shortlisted" and twice.json()["message"].startswith("Nothing undone")
    assert store.current(need.id, doc).id == first["id"]
    assert post(f"target_id={doc}&judgement={first['id']}&state=undo").json()["state"] is None
    nothing = post(f"target_id={doc}&state=undo")
    assert nothing.status_code == 200 and nothing.json()["message"].startswith("Nothing to undo")
    assert "Traceback" not in nothing.text
    # a page loaded before this change posts `cleared` for Undo: it undoes, it does not clear
    post(f"target_id={doc}&state=shortlisted")
    post(f"target_id={doc}&state=relevant")
    assert post(f"target_id={doc}&state=cleared").json()["state"] == "shortlisted"
    # without JavaScript: the form's redirect, then the page shows the judgement before
    assert as_ann.post(f"/needs/{need.id}/judge", content=f"target_id={doc}&state=undo", headers=FORM).status_code == 303
    assert store.current(need.id, doc) is None


def test_a_watchlist_hits_undo_puts_its_judgement_back(as_ann, library, store, need):
    """Watchlists' hits have Undo too (their page's form and the API): back to the judgement before."""
    wl = as_ann.post("/api/watchlists", json={"name": "RAM", "query": "radar absorbing"}).json()["id"]
    hits = as_ann.get(f"/api/watchlists/{wl}/hits").json()
    doc = hits[1]["doc_id"]
    api = f"/api/watchlists/{wl}/judgements/document/{doc}"
    assert as_ann.put(api, json={"state": "shortlisted", "note": "keep"}).status_code == 200
    shown = _faces(as_ann, need.id, wl)
    assert as_ann.put(api, json={"state": "not_relevant"}).status_code == 200
    undone = as_ann.delete(api).json()
    assert undone["current"]["state"] == "shortlisted" and undone["current"]["note"] == "keep"
    assert _faces(as_ann, need.id, wl) == shown
    form = as_ann.post(f"/watchlists/{wl}/judge", content=f"target_id={doc}&state=undo",
                       headers={**FORM, "Accept": "application/json"}).json()
    assert form["state"] is None and form["changed"] is True
    nothing = as_ann.delete(api).json()
    assert nothing["undone"] is False and nothing["message"] == (
        f"Nothing to undo: document {doc} has no judgement for this watchlist")


def test_the_audit_page_names_a_judged_organization(as_ann, library, need):
    """An organization's judgement keys on its key; /audit showed the key ("metasurfacelabs"), not its name."""
    org = library.match(need.id).organizations[0]
    assert org.name != org.key
    assert as_ann.put(f"/api/needs/{need.id}/judgements/organization/{org.key}",
                      json={"state": "not_relevant"}).status_code == 200
    page = as_ann.get("/audit", params={"need": need.id}).text
    assert f">{org.name}</a>" in page and f">{org.key}</a>" not in page
    assert "judged not relevant" in page and "not_relevant" not in page and "judgement.set" not in page
    # an undo says so in words ("judgement.clear" and "state: cleared" had stood for it), and what it undid
    assert as_ann.delete(f"/api/needs/{need.id}/judgements/organization/{org.key}").status_code == 200
    page = as_ann.get("/audit", params={"need": need.id}).text
    assert "undid not relevant, no judgement now" in page and "cleared" not in page and "judgement.undo" not in page
    assert "back_to" not in page and "undid:" not in page


def test_bad_judgements_are_refused(as_ann, need, payload_doc):
    base = f"/api/needs/{need.id}/judgements"
    assert as_ann.put(f"{base}/document/nope", json={"state": "relevant"}).status_code == 404
    assert as_ann.put(f"/api/needs/nope/judgements/document/{payload_doc.id}", json={"state": "relevant"}).status_code == 404
    assert as_ann.put(f"/api/needs/{payload_doc.id}/judgements/document/{payload_doc.id}", json={"state": "relevant"}).status_code == 404
    assert as_ann.put(f"{base}/document/{payload_doc.id}", json={"state": "maybe"}).status_code == 422
    assert as_ann.put(f"{base}/person/{payload_doc.id}", json={"state": "relevant"}).status_code == 404
    assert as_ann.put(f"{base}/organization/Nobody", json={"state": "relevant"}).status_code == 404
    assert as_ann.post(f"/needs/{need.id}/judge", content="state=relevant", headers=FORM).status_code == 400
    assert as_ann.post(f"/needs/{need.id}/judge", json={"target_id": "x"}).status_code == 415


def test_need_page_pins_shortlisted_hides_not_relevant_and_toggles(as_ann, library, need):
    matches = library.match(need.id).matches
    org = library.match(need.id).organizations[-1]
    post = lambda target_id, state, target="document": as_ann.post(  # noqa: E731
        f"/needs/{need.id}/judge", content=f"target={target}&target_id={quote(target_id)}&state={state}&note=why+{state}",
        headers=FORM)
    response = post(matches[3].doc_id, "shortlisted")
    assert response.status_code == 303 and response.headers["location"] == f"/needs/{need.id}#m-{matches[3].doc_id}"
    post(matches[0].doc_id, "not_relevant")
    post(org.key, "shortlisted", "organization")
    html = as_ann.get(f"/needs/{need.id}").text
    order = re.findall(r'<li class="match" data-doc-id="([^"]+)"', html)
    assert order[0] == matches[3].doc_id and order[1:] == [m.doc_id for m in matches if m.doc_id != matches[3].doc_id]
    hidden = re.findall(r'<li class="match" data-doc-id="([^"]+)" id="[^"]+" data-state="not_relevant" hidden>', html)
    assert hidden == [matches[0].doc_id]
    assert "Show not relevant (<span class=\"rejected-count\">1</span>)" in html
    assert "why shortlisted" in html
    assert re.findall(r'<tr class="org-row" id="o-[^"]+" data-org-key="([^"]+)"', html)[0] == org.key
    shown = as_ann.get(f"/needs/{need.id}", params={"rejected": "show"}).text
    assert not re.findall(r'data-state="not_relevant" hidden', shown) and "Hide not relevant" in shown
    as_json = as_ann.post(f"/needs/{need.id}/judge", content=f"target_id={matches[0].doc_id}&state=undo",
                          headers={**FORM, "Accept": "application/json"}).json()
    assert as_json == {"target": "document", "target_id": matches[0].doc_id, "state": None, "note": "", "user": "ann", "by": "",
                       "id": None, "changed": True, "message": ""}
    assert "data-state=\"not_relevant\"" not in as_ann.get(f"/needs/{need.id}").text


def test_watchlists_feeds_and_their_news(library, store, tokens):
    library = MemoryLibrary(list(library.docs.values()))  # grows below
    app = create_app(library, WebSettings(token=None), store)
    ann = TestClient(app, follow_redirects=False, headers={"Authorization": f"Bearer {tokens['analyst']}"}, base_url="http://127.0.0.1")
    created = ann.post("/api/watchlists", json={"name": "RAM", "query": "radar absorbing", "kind": "startup"})
    assert created.status_code == 201 and created.json()["kind"] == "search"
    wl = created.json()["id"]
    assert ann.post("/api/watchlists", json={"name": "bad", "query": "x", "since": "soon"}).status_code == 400
    org = ann.post("/watchlists", content="name=&org=QuantNav", headers=FORM)
    assert org.status_code == 303
    assert [w["kind"] for w in ann.get("/api/watchlists").json()] == ["search", "organization"]

    feed_url = f"/feeds/watchlists/{wl}.atom"
    assert TestClient(app, base_url="http://127.0.0.1").get(feed_url).status_code == 401  # token-protected like every route
    first = ann.get(feed_url)
    assert first.headers["content-type"].startswith("application/atom+xml")
    parsed = feedparser.parse(first.content)
    assert not parsed.bozo, parsed.get("bozo_exception")
    baseline = [e.title for e in parsed.entries]
    assert baseline and parsed.feed.title == "dualscout watchlist: RAM"
    assert all(e.link.startswith("http://127.0.0.1/documents/") for e in parsed.entries)

    library.add(_doc("startup", "rss", "ram-2", "Radar absorbing tiles from a new startup",
                     "Radar absorbing tiles for drones, made by a startup.", "en", ["TileCo"], "2026-10-31",
                     ["radar-absorbing-material"], new=True))
    # feed readers cannot set headers: ?token= works on a feed and answers directly, no redirect
    again = TestClient(app, follow_redirects=False, base_url="http://127.0.0.1").get(feed_url, params={"token": tokens["viewer"]})
    assert again.status_code == 200
    entries = feedparser.parse(again.content).entries
    assert entries[0].title == "Radar absorbing tiles from a new startup"
    assert sorted(e.title for e in entries[1:]) == sorted(baseline)
    news = ann.get(f"/api/watchlists/{wl}/hits", params={"news_only": True}).json()
    assert [h["title"] for h in news] == ["Radar absorbing tiles from a new startup"]
    page = ann.get("/watchlists").text
    assert "Radar absorbing tiles from a new startup" in page and f'href="{feed_url}"' in page

    assert ann.delete(f"/api/watchlists/{wl}").status_code == 200
    assert ann.get(feed_url).status_code == 404
    assert ann.delete(f"/api/watchlists/{wl}").status_code == 404
    assert [a["action"] for a in ann.get("/api/audit").json()][:1] == ["watchlist.remove"]


def test_brief_page_and_csv(as_ann, library, need):
    doc = library.match(need.id).matches[1]
    as_ann.put(f"/api/needs/{need.id}/judgements/document/{doc.doc_id}", json={"state": "shortlisted", "note": "要面談"})
    page = as_ann.get(f"/needs/{need.id}/brief")
    assert page.status_code == 200 and "要面談" in page.text and doc.title in page.text
    assert '<link rel="stylesheet" href="/static/brief.css">' in page.text
    assert "@page { size: A4" in as_ann.get("/static/brief.css").text
    data = as_ann.get(f"/needs/{need.id}/brief.csv")
    assert data.headers["content-type"].startswith("text/csv") and "attachment" in data.headers["content-disposition"]
    assert data.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(data.content.decode("utf-8-sig"))))
    assert [(r["id"], r["note"]) for r in rows] == [(doc.doc_id, "要面談")]
    assert as_ann.get("/needs/nope/brief").status_code == 404


def test_open_loopback_mode_and_the_shared_token_still_work(library, store, need):
    doc = library.match(need.id).matches[0].doc_id
    open_app = TestClient(create_app(library, WebSettings(token=None), store), base_url="http://127.0.0.1")  # no users, no token
    assert open_app.get("/api/me").json()["name"] == "local"
    assert open_app.put(f"/api/needs/{need.id}/judgements/document/{doc}", json={"state": "relevant"}).json()["user"] == "local"
    shared = create_app(library, WebSettings(token="shared-secret"), store)
    assert TestClient(shared, base_url="http://127.0.0.1").get("/api/me").status_code == 401
    as_token = TestClient(shared, headers={"Authorization": "Bearer shared-secret"}, base_url="http://127.0.0.1")
    assert as_token.get("/api/me").json()["role"] == "analyst"
    assert as_token.delete(f"/api/needs/{need.id}/judgements/document/{doc}").json()["undone"] is True
    store.add_user("ann", "analyst")
    assert TestClient(create_app(library, WebSettings(token=None), store), base_url="http://127.0.0.1").get("/api/me").status_code == 401


def test_writes_from_another_site_are_refused(app, tokens, need):
    client = TestClient(app, headers={"Authorization": f"Bearer {tokens['analyst']}"}, base_url="http://127.0.0.1")
    evil = client.post("/watchlists", content="q=radar", headers={**FORM, "Origin": "https://evil.example"})
    assert evil.status_code == 403
    same = client.post("/watchlists", content="q=radar", headers={**FORM, "Origin": "http://127.0.0.1"},
                       follow_redirects=False)
    assert same.status_code == 303
    cross = client.post("/watchlists", content="q=radar", headers={**FORM, "Origin": "null", "Sec-Fetch-Site": "cross-site"})
    assert cross.status_code == 403
    own_form = client.post("/watchlists", content="q=radar", follow_redirects=False,
                           headers={**FORM, "Origin": "null", "Sec-Fetch-Site": "same-origin"})
    assert own_form.status_code == 303  # our no-referrer policy makes a browser's own form post say Origin: null


def test_the_organization_page_judges_need_by_need(as_ann, library, need):
    org = library.match(need.id).organizations[0]
    page = as_ann.get(f"/orgs/{quote(org.name)}").text
    assert f'<tr class="org-need" data-need-id="{need.id}" data-state="">' in page
    response = as_ann.post(f"/needs/{need.id}/judge", headers=FORM,
                           content=f"target=organization&target_id={quote(org.key)}&state=shortlisted&note=visit"
                                   f"&back={quote('/orgs/' + org.name)}")
    assert response.status_code == 303 and response.headers["location"] == "/orgs/" + quote(org.name)
    assert f'<tr class="org-need" data-need-id="{need.id}" data-state="shortlisted">' in as_ann.get(f"/orgs/{quote(org.name)}").text
    need_page = as_ann.get(f"/needs/{need.id}").text
    assert f'data-org-key="{org.key}" data-state="shortlisted"' in need_page
    for elsewhere in ("//evil.example/x", "https://evil.example/", "/\\\\evil.example"):
        sent = as_ann.post(f"/needs/{need.id}/judge", headers=FORM,
                           content=f"target=organization&target_id={quote(org.key)}&state=relevant&back={quote(elsewhere)}")
        assert sent.headers["location"].startswith(f"/needs/{need.id}#"), elsewhere  # never off-site


def test_an_organization_judged_by_its_name_is_keyed_as_the_need_page_shows_it(as_ann, library, need):
    """The API finds an organization by name or key; the judgement keys on the key, so the need page's row shows
    it and undoing by either works (a name had been stored as given: accepted, then shown nowhere)."""
    org = next(o for o in library.match(need.id).organizations if o.name != o.key)
    put = as_ann.put(f"/api/needs/{need.id}/judgements/organization/{quote(org.name)}", json={"state": "shortlisted"})
    assert put.status_code == 200 and put.json()["target_id"] == org.key
    assert f'data-org-key="{org.key}" data-state="shortlisted"' in as_ann.get(f"/needs/{need.id}").text
    undone = as_ann.delete(f"/api/needs/{need.id}/judgements/organization/{quote(org.name)}").json()
    assert undone["undone"] is True
    assert as_ann.get(f"/api/needs/{need.id}/judgements").json() == []


def test_the_audit_page_shows_a_watchlists_filters_as_text(as_ann):
    """/audit had shown a watchlist's filters as a Python dict ("filters: {'kind': 'startup'}")."""
    assert as_ann.post("/api/watchlists", json={"name": "RAM", "query": "radar absorbing", "kind": "startup"}).status_code == 201
    page = as_ann.get("/audit").text
    assert "filters: kind=startup" in page and "{&#39;kind&#39;" not in page and "{'kind'" not in page


def test_the_document_page_says_for_which_needs_it_was_judged_not_relevant(as_ann, library, need):
    """Judged not relevant, a document leaves its need's list on its own page; the page had then said "Not among
    any need's best matches yet" with no word of the judgement."""
    doc_id = library.match(need.id).matches[0].doc_id
    assert "Judged not relevant" not in as_ann.get(f"/documents/{doc_id}").text
    assert as_ann.put(f"/api/needs/{need.id}/judgements/document/{doc_id}",
                      json={"state": "not_relevant"}).status_code == 200
    html = as_ann.get(f"/documents/{doc_id}").text
    assert "Judged not relevant for" in html and f'href="/needs/{need.id}?rejected=show#m-{doc_id}"' in html
    assert need.title in html[html.index("Judged not relevant for"):]
    assert as_ann.delete(f"/api/needs/{need.id}/judgements/document/{doc_id}").status_code == 200
    assert "Judged not relevant" not in as_ann.get(f"/documents/{doc_id}").text


def test_the_watchlist_form_takes_concepts_and_areas_by_the_labels_the_pages_show(as_ann, store):
    """The analyst picks a concept and an area by the labels the search page's facets show; the watchlist
    stores their ids; a name the taxonomy does not know is a one-line error on the form, and nothing is saved."""
    from nlp.taxonomy import configured_taxonomy

    taxonomy = configured_taxonomy()
    page = as_ann.get("/watchlists").text
    assert '<option value="quantum sensing">' in page  # the concept field offers labels
    assert f'<option value="jp-hypersonics">{taxonomy.area_labels["jp-hypersonics"]}</option>' in page
    assert "concept id" not in page and "area id" not in page
    form = "name=Q&concept=Quantum+Sensing&area=" + quote(taxonomy.area_labels["us-hypersonics"])
    assert as_ann.post("/watchlists", content=form, headers=FORM).status_code == 303
    by_id = as_ann.post("/watchlists", content="name=M&area=jp-materials", headers=FORM)
    assert by_id.status_code == 303
    assert [(w.name, w.filters) for w in store.watchlists()] == [
        ("Q", {"concept": "quantum-sensing", "area": "us-hypersonics"}), ("M", {"area": "jp-materials"})]
    # the stored ids are shown by label, as the search page names them
    listed = as_ann.get("/watchlists").text
    assert '<span class="chip">concept: quantum sensing</span>' in listed
    for bad, says in (("concept=warp+drive", "no concept is named 'warp drive'"),
                      ("area=Hypersonics", "names 2 areas; choose Hypersonics (Japan) or Hypersonics (US)"),
                      ("area=jp-nowhere", "no critical-technology area is named 'jp-nowhere'")):
        refused = as_ann.post("/watchlists", content="name=bad&q=radar&" + bad, headers=FORM)
        assert refused.status_code == 400
        error = re.search(r'<p class="error form-error" role="alert">(.*?)</p>', refused.text).group(1)
        assert says in error.replace("&#39;", "'") and "\n" not in error
        assert 'name="q" placeholder="search words (optional)" aria-label="Search words" value="radar"' in refused.text
    api = as_ann.post("/api/watchlists", json={"name": "x", "concept": "warp drive"})
    assert api.status_code == 400 and "no concept is named" in api.json()["detail"]
    assert len(store.watchlists()) == 2


def test_the_watchlists_page_names_an_organization_and_an_area_as_the_pages_do(as_ann, library, store):
    """An organization watchlist stores the key the organization page's button sends ("lockheedmartin"), and
    the area select sends an id: /watchlists shows the organization's name and names a nameless watchlist by
    labels, not by the keys and ids it stores."""
    profile = library.organization("Lockheed Martin")
    org_page = as_ann.get("/orgs/" + quote("Lockheed Martin")).text
    assert f'<input type="hidden" name="org" value="{profile.key}">' in org_page  # what the button posts
    assert as_ann.post("/watchlists", content=f"org={profile.key}&name=", headers=FORM).status_code == 303
    assert as_ann.post("/watchlists", content="concept=quantum-sensing&area=jp-quantum&name=",
                       headers=FORM).status_code == 303
    assert [w.filters for w in store.watchlists()] == [{"org": profile.key},
                                                       {"concept": "quantum-sensing", "area": "jp-quantum"}]
    page = as_ann.get("/watchlists").text
    assert f'<span class="chip">org: {profile.name}</span>' in page
    shown = re.sub(r"<[^>]+>", " ", page.split("<main", 1)[-1])  # what the page shows, not its attributes
    assert profile.key not in shown and "jp-quantum" not in shown
    assert "concept: quantum sensing · area: Quantum information science" in shown
    org_wl = store.watchlists()[0].id  # its feed says what it watches by name too
    assert feedparser.parse(as_ann.get(f"/feeds/watchlists/{org_wl}.atom").content).feed.subtitle == f"org: {profile.name}"


def test_the_audit_page_names_a_watchlists_organization_concept_and_area_as_the_pages_do(as_ann, library):
    """/audit had shown "filters: org=lockheedmartin" and "concept=quantum-sensing, area=jp-quantum", the keys
    and ids a watchlist stores: it shows the organization's name and the labels; /api/audit keeps the ids."""
    from nlp.taxonomy import configured_taxonomy

    profile = library.organization("Lockheed Martin")
    assert as_ann.post("/watchlists", content=f"org={profile.key}&name=L", headers=FORM).status_code == 303
    assert as_ann.post("/watchlists", content="concept=quantum-sensing&area=jp-quantum&name=Q",
                       headers=FORM).status_code == 303
    page = as_ann.get("/audit").text
    shown = re.sub(r"<[^>]+>", " ", page.split("<main", 1)[-1])
    area = configured_taxonomy().area_labels["jp-quantum"]
    assert f"filters: org={profile.name}" in shown and f"concept=quantum sensing, area={area}" in shown
    assert profile.key not in shown and "jp-quantum" not in shown and "quantum-sensing" not in shown
    stored = [e["detail"]["filters"] for e in as_ann.get("/api/audit").json() if e["action"] == "watchlist.add"]
    assert stored == [{"concept": "quantum-sensing", "area": "jp-quantum"}, {"org": profile.key}]


def test_the_audit_log_names_a_watchlist_whose_hit_was_judged(as_ann, store):
    """A watchlist's hit is judged under "watchlist:ID" in place of a need: /audit had shown "watchlist:1" and
    linked it to /needs/watchlist:1 (a 404); it names the watchlist and links to it on /watchlists, and one
    removed since reads as removed, unlinked. `scout audit` reads the same (tests/cli)."""
    wl = as_ann.post("/api/watchlists", json={"name": "Absorber watch", "query": "radar absorbing"}).json()["id"]
    doc_id = as_ann.get(f"/api/watchlists/{wl}/hits").json()[0]["doc_id"]
    assert as_ann.put(f"/api/watchlists/{wl}/judgements/document/{doc_id}", json={"state": "relevant"}).status_code == 200
    page = as_ann.get("/audit").text
    assert f'href="/watchlists#w-{wl}"' in page and "watchlist Absorber watch" in page
    assert "/needs/watchlist:" not in page and f">watchlist:{wl}<" not in page
    assert as_ann.delete(f"/api/watchlists/{wl}").status_code in (200, 204)
    page = as_ann.get("/audit").text
    assert f"watchlist {wl} (removed)" in page and f'href="/watchlists#w-{wl}"' not in page
