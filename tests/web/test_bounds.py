"""Every door of the web app bounds what a person sends: a too-long query, note, name or id is a 413, text that
is not text (a lone surrogate, a NUL) a 422, a body past MAX_BODY_BYTES a 413 before any route reads it; and
nothing of a refused request is stored. Real SQLite store, in-memory library."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from domain.limits import MAX_BODY_BYTES, MAX_QUERY_CHARS
from domain.settings import WebSettings
from scout.web.app import create_app

FORM = {"content-type": "application/x-www-form-urlencoded"}


@pytest.fixture
def client(library, store):
    return TestClient(create_app(library, WebSettings(token=None), store), base_url="http://127.0.0.1",
                      follow_redirects=False)


@pytest.fixture
def match(library):
    need = library.needs()[0]
    return need.id, library.match(need.id).matches[0].doc_id


def test_a_lone_surrogate_in_a_note_is_a_clear_422_and_nothing_is_stored(client, store, match):
    need_id, doc_id = match
    for body in ('{"state": "relevant", "note": "\\ud800"}', '{"state": "relevant", "note": "a\\u0000b"}'):
        answer = client.put(f"/api/needs/{need_id}/judgements/document/{doc_id}", content=body,
                            headers={"content-type": "application/json"})
        assert answer.status_code == 422, answer.text
        detail = json.dumps(answer.json()["detail"])
        assert "note" in detail and any(word in detail for word in ("unicode", "surrogate", "NUL")), detail
    assert store.history() == [] and store.audit() == []


def test_queries_past_the_bound_are_413_at_the_api_and_the_pages(client):
    big = "radar " * (MAX_QUERY_CHARS // 6 + 1)
    api = client.get("/api/search", params={"q": big})
    assert api.status_code == 413 and "the limit is 4,000" in api.json()["detail"]
    page = client.get("/", params={"q": big})
    assert page.status_code == 413 and "the limit is 4,000" in page.text and "<html" in page.text.lower()
    assert client.get("/api/search", params={"q": "radar " * 100}).status_code == 200  # within the bound
    assert client.get("/api/documents/" + "x" * 2000).status_code == 413


def test_a_watchlist_with_a_huge_query_is_refused_and_not_stored(client, store):
    for size in (300_000, 1_200_000):
        answer = client.post("/api/watchlists", json={"name": "big", "query": "r" * size})
        assert answer.status_code in (413, 422), answer.text
    form = client.post("/watchlists", content="q=" + "r" * 200_000, headers=FORM)
    assert form.status_code == 413
    surrogate = client.post("/api/watchlists", content='{"name": "n\\ud800", "query": "radar"}',
                            headers={"content-type": "application/json"})
    assert surrogate.status_code == 422
    assert store.watchlists() == []


def test_a_body_past_the_bound_is_refused_before_any_route_reads_it(client, store, match):
    need_id, doc_id = match
    url = f"/api/needs/{need_id}/judgements/document/{doc_id}"
    huge = json.dumps({"state": "relevant", "note": "x" * (MAX_BODY_BYTES + 1)})
    assert client.put(url, content=huge, headers={"content-type": "application/json"}).status_code == 413

    def chunked():  # no Content-Length: the middleware counts as it reads
        for _ in range(MAX_BODY_BYTES // 1024 + 2):
            yield b"x" * 1024

    assert client.put(url, content=chunked(), headers={"content-type": "application/json"}).status_code == 413
    small = client.put(url, content=(piece for piece in [b'{"state": ', b'"relevant"}']),
                       headers={"content-type": "application/json"})
    assert small.status_code == 200, small.text  # a small chunked body is replayed whole
    assert [j.state.value for j in store.history()] == ["relevant"]
