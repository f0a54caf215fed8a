"""The JSON API over the in-memory library, through FastAPI's TestClient."""

from __future__ import annotations

from urllib.parse import quote

from service.library import OrgProfile, SearchResult
from domain.models import Document, NeedMatches


def test_search_returns_the_library_result(client, library):
    response = client.get("/api/search", params={"q": "quantum sensor navigation", "limit": 5})
    assert response.status_code == 200
    assert response.json() == library.search("quantum sensor navigation", limit=5).model_dump(mode="json")
    result = SearchResult.model_validate(response.json())
    assert 0 < len(result.hits) <= 5
    assert set(result.facets) >= {"kind", "source", "language", "year"}


def test_search_filters(client):
    data = client.get("/api/search", params={"q": "radar absorbing", "kind": "startup", "lang": "en"}).json()
    assert data["hits"] and all(h["kind"] == "startup" and h["language"] == "en" for h in data["hits"])
    assert data["facets"]["kind"] == {"startup": len(data["hits"])}
    data = client.get("/api/search", params={"q": "radar absorbing", "area": "jp-materials", "since": "2026-04"}).json()
    assert data["hits"] and all(h["published"] >= "2026-04-01" for h in data["hits"])


def test_search_bad_filters_are_400_with_a_reason(client):
    response = client.get("/api/search", params={"q": "radar", "since": "yesterday"})
    assert response.status_code == 400
    assert "not a date" in response.json()["detail"]
    assert client.get("/api/search", params={"q": "radar", "kind": "patent"}).status_code == 400
    assert client.get("/api/search", params={"q": "radar", "limit": 0}).status_code == 422
    assert client.get("/api/search").status_code == 422  # q is required


def test_needs_and_matches(client, library, atla_need):
    needs = [Document.model_validate(d) for d in client.get("/api/needs").json()]
    assert [n.id for n in needs] == [n.id for n in library.needs()]
    response = client.get(f"/api/needs/{atla_need.id}/matches", params={"limit": 3})
    assert response.status_code == 200
    matches = NeedMatches.model_validate(response.json())
    assert matches.need.id == atla_need.id and len(matches.matches) == 3
    assert response.json() == library.match(atla_need.id, limit=3).model_dump(mode="json")


def test_unknown_ids_are_404(client, payload_doc):
    assert client.get("/api/needs/nope/matches").status_code == 404
    assert client.get(f"/api/needs/{payload_doc.id}/matches").status_code == 404  # a document, not a need
    assert client.get("/api/documents/nope").json() == {"detail": "unknown document id 'nope'"}
    assert client.get("/api/orgs/Nobody").status_code == 404


def test_document_and_org(client, payload_doc):
    assert client.get(f"/api/documents/{payload_doc.id}").json() == payload_doc.model_dump(mode="json")
    # Organization names can contain slashes (and markup): the path keeps them.
    response = client.get("/api/orgs/" + quote(payload_doc.organizations[0]))
    assert response.status_code == 200
    assert OrgProfile.model_validate(response.json()).name == payload_doc.organizations[0]


def test_a_documents_needs_are_the_document_pages(client, library):
    need = library.needs()[0]
    doc_id = library.match(need.id).matches[0].doc_id
    answered = client.get(f"/api/documents/{doc_id}/needs").json()
    assert answered == [a.model_dump(mode="json") for a in library.needs_answered(doc_id)]
    assert need.id in {a["key"] for a in answered}
    assert client.get(f"/api/documents/{need.id}/needs").json() == []
    assert client.get("/api/documents/nope/needs").status_code == 404


def test_openapi_and_offline_docs(client):
    schema = client.get("/openapi.json").json()
    assert {"/api/search", "/api/needs", "/api/needs/{need_id}/matches", "/api/documents/{doc_id}",
            "/api/orgs/{name}"} <= set(schema["paths"])
    docs = client.get("/docs")
    assert docs.status_code == 200
    html = docs.text
    assert "/api/needs/{need_id}/matches" in html and "SearchResult" in html
    assert "cdn" not in html.lower() and "<script src=\"http" not in html  # nothing loads from the internet
    assert client.get("/redoc").status_code == 404


def test_docs_page_names_nested_types(client):
    html = client.get("/docs").text
    assert "Evidence | null" in html  # Match.need_evidence
    assert "list of Match" in html
    assert "&#39;research&#39; | &#39;startup&#39; | &#39;need&#39;" in html  # DocKind


def test_library_calls_are_serialized_unless_thread_safe(library):
    import threading
    import time
    from concurrent.futures import ThreadPoolExecutor

    from fastapi.testclient import TestClient

    from scout.web.app import create_app
    from tests.web.fakes import MemoryLibrary

    class Recording(MemoryLibrary):
        def __init__(self):
            super().__init__()
            self.active = self.most = 0
            self.guard = threading.Lock()

        def search(self, query, filters=None, limit=20):
            with self.guard:
                self.active += 1
                self.most = max(self.most, self.active)
            time.sleep(0.02)
            with self.guard:
                self.active -= 1
            return super().search(query, filters, limit)

    def peak(lib) -> int:
        client = TestClient(create_app(lib), base_url="http://127.0.0.1")
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda _: client.get("/api/search", params={"q": "radar"}).raise_for_status(), range(16)))
        return lib.most

    assert peak(Recording()) == 1
    safe = Recording()
    safe.thread_safe = True
    assert peak(safe) > 1


def test_the_needs_route_says_the_order_it_gives(client, library):
    """/docs said "List the needs, newest first" over a list by source, then title (as `scout needs` and /needs)."""
    listed = client.get("/api/needs").json()
    assert [(n["source"], n["title"]) for n in listed] == sorted((n["source"], n["title"]) for n in listed)
    summary = client.get("/openapi.json").json()["paths"]["/api/needs"]["get"]["summary"]
    assert summary == "List the needs, by source, then title"
