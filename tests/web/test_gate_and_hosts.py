"""The gate holds whatever happens to the user table (a server beyond loopback never opens), and every request
must name a host the server answers to (DNS rebinding). Real SQLite store, in-memory library."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from domain.settings import WebSettings
from scout.web.app import create_app
from scout.web.security import request_host, served_hosts

LOCAL = "http://127.0.0.1"


@pytest.mark.parametrize("bind", ["0.0.0.0", "192.168.1.5", "::"])
def test_removing_the_last_user_never_opens_a_server_beyond_loopback(library, store, bind):
    _, token = store.add_user("solo", "analyst")
    app = create_app(library, WebSettings(host=bind, token=None), store)
    client = TestClient(app, base_url=LOCAL)
    assert client.get("/api/me", headers={"Authorization": f"Bearer {token}"}).json()["name"] == "solo"
    store.remove_user("solo")
    need = library.needs()[0]
    doc = next(d for d in library.docs.values() if d.kind.value != "need")
    for _ in range(2):  # also once the "any users?" cache has expired
        assert client.get("/api/me").status_code == 401
        assert client.get("/api/search", params={"q": "radar"}).status_code == 401
        put = client.put(f"/api/needs/{need.id}/judgements/document/{doc.id}", json={"state": "relevant"})
        assert put.status_code == 401
        app.middleware_stack = None  # rebuilt on the next request: a fresh middleware, no cache
    assert store.judgements(need.id) == []


def test_loopback_with_no_users_stays_open_for_the_local_analyst(library, store):
    client = TestClient(create_app(library, WebSettings(token=None), store), base_url=LOCAL)
    assert client.get("/api/me").json() == {"name": "local", "role": "analyst", "created_at": None}


@pytest.mark.parametrize("host", ["evil.example", "evil.example:8700", "127.0.0.1.evil.example", "localhost.evil"])
def test_loopback_refuses_a_request_naming_another_host(library, store, host):
    """The DNS-rebinding pattern: a page on evil.example re-pointed at 127.0.0.1, same-origin in the browser's
    eyes. Nothing answers, neither reads nor writes, and no redirect ever names that host."""
    client = TestClient(create_app(library, WebSettings(token=None), store), base_url=LOCAL, follow_redirects=False)
    need = library.needs()[0]
    doc = next(d for d in library.docs.values() if d.kind.value != "need")
    browser = {"Host": host, "Origin": f"http://{host}", "Sec-Fetch-Site": "same-origin"}
    assert client.get("/api/needs", headers=browser).status_code == 400
    put = client.put(f"/api/needs/{need.id}/judgements/document/{doc.id}", json={"state": "relevant"},
                     headers=browser)
    assert put.status_code == 400
    assert client.post("/api/cli", json={"argv": ["needs"]}, headers=browser).status_code == 400
    redirect = client.get("/needs/", headers=browser)
    assert redirect.status_code == 400 and "evil" not in redirect.headers.get("location", "")
    assert store.judgements(need.id) == []


@pytest.mark.parametrize("host", ["127.0.0.1:8700", "localhost:8700", "LOCALHOST", "[::1]:8700", "127.0.0.1"])
def test_loopback_names_are_served(library, store, host):
    client = TestClient(create_app(library, WebSettings(token=None), store), base_url=LOCAL)
    assert client.get("/api/needs", headers={"Host": host}).status_code == 200


def test_configured_names_are_served_and_others_refused(library, store):
    settings = WebSettings(host="0.0.0.0", token="a-long-shared-token-for-tests", allowed_hosts=["scout.example.org"])
    client = TestClient(create_app(library, settings, store), base_url=LOCAL)
    auth = {"Authorization": "Bearer a-long-shared-token-for-tests"}
    assert client.get("/api/needs", headers={**auth, "Host": "scout.example.org"}).status_code == 200
    assert client.get("/api/needs", headers={**auth, "Host": "127.0.0.1:8700"}).status_code == 200
    assert client.get("/api/needs", headers={**auth, "Host": "evil.example"}).status_code == 400


def test_the_report_base_url_names_the_server_too(library, store, monkeypatch):
    monkeypatch.setenv("SCOUT_REPORT_BASE_URL", "https://scout.example.org/")  # behind a reverse proxy
    client = TestClient(create_app(library, WebSettings(token=None), store), base_url=LOCAL)
    assert client.get("/api/needs", headers={"Host": "scout.example.org"}).status_code == 200
    assert client.get("/api/needs", headers={"Host": "evil.example"}).status_code == 400


def test_host_parsing():
    assert request_host("Example.ORG:8700") == "example.org"
    assert request_host("[::1]:80") == "::1"
    assert request_host("localhost.") == "localhost"
    assert request_host("a:notaport") is None and request_host("u@evil.example") is None
    assert request_host("evil.example/x") is None
    assert served_hosts("0.0.0.0") is None  # any name, but such a server is always gated
    assert served_hosts("192.168.1.5") >= {"192.168.1.5", "localhost", "127.0.0.1", "::1"}
    assert "evil.example" not in served_hosts("127.0.0.1")
