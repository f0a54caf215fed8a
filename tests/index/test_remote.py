"""The index contract through the owner endpoint: a second opener of an embedded shard that `scout serve` owns
talks to it over loopback HTTP (`index.owner`, `index.backends.remote`) and sees exactly what the owner sees."""

from __future__ import annotations

import threading
import time

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from domain.settings import IndexSettings
from index.backends.base import Where
from index.backends.owner_routes import owner_router
from index.backends.remote import RemoteBackend
from index.lock import IndexLockedError
from index.owner import MAX_CALL_BYTES, MAX_COMMAND_BYTES, Owner, OwnerError, find_owner
from index.store import Index
from tests.index.conftest import corpus
from tests.index.test_contract import IndexContract
from tests.ports import free_port


@pytest.fixture
def owner_and_client(tmp_path):
    settings = IndexSettings(backend="edge", path=tmp_path / "index")
    owner = Index(settings, dim=32)
    port = free_port()
    app = FastAPI()
    endpoint = f"http://127.0.0.1:{port}"
    app.include_router(owner_router(owner.backend, owner.share(endpoint)))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    client = Index(settings, dim=32)  # the folder is owned: this one goes through the endpoint
    try:
        yield owner, client
    finally:
        client.close()
        server.should_exit = True
        thread.join(timeout=10)
        owner.close()


class TestThroughTheOwner(IndexContract):
    """Every check of the Index front, on an index another process owns (here: another thread's server)."""

    @pytest.fixture
    def index(self, owner_and_client):
        client = owner_and_client[1]
        assert isinstance(client.backend, RemoteBackend)
        return client


def test_client_writes_are_visible_to_the_owner(owner_and_client, enricher):
    owner, client = owner_and_client
    docs = corpus()
    client.upsert(enricher.enrich(docs)[0])
    assert owner.count() == len(docs)
    assert {d.id for d in owner.documents()} == {d.id for d in docs}


def test_a_wrong_token_is_refused(owner_and_client):
    owner, client = owner_and_client
    real = find_owner(owner.settings.resolved_path)
    stranger = RemoteBackend(Owner(endpoint=real.endpoint, token="not-the-token", pid=real.pid, backend="edge",
                                   settings=None))
    with pytest.raises(OwnerError, match="401"):
        stranger.count(Where())
    stranger.close()


def test_bodies_are_bounded_at_the_owner(owner_and_client):
    """Issue 25.3: the owner endpoint refuses an oversized request with 413 and one line, before reading it."""
    owner, _ = owner_and_client
    real = find_owner(owner.settings.resolved_path)
    headers = {"Authorization": f"Bearer {real.token}", "Content-Type": "application/json"}
    big = b'{"argv": ["search", "' + b"x" * MAX_COMMAND_BYTES + b'"]}'
    answer = httpx.post(real.endpoint + "/internal/index/command", content=big, headers=headers, timeout=60)
    assert answer.status_code == 413 and "at most" in answer.json()["detail"]
    huge = b'{"where": null, "pad": "' + b"x" * MAX_CALL_BYTES + b'"}'
    answer = httpx.post(real.endpoint + "/internal/index/count", content=huge, headers=headers, timeout=60)
    assert answer.status_code == 413
    assert httpx.post(real.endpoint + "/internal/index/count", json={"where": None}, headers=headers).json() == 0


def test_a_large_write_is_split_into_bounded_requests(owner_and_client, enricher, monkeypatch):
    import index.backends.remote as remote

    owner, client = owner_and_client
    monkeypatch.setattr(remote, "UPSERT_BYTES", 2000)  # a few points per request
    sent = []
    post = client.backend._client.post
    monkeypatch.setattr(client.backend._client, "post",
                        lambda op, body: (sent.append(len(body)) if op == "upsert" else None) or post(op, body))
    client.upsert(enricher.enrich(corpus())[0])
    assert len(sent) > 3 and owner.count() == len(corpus())
    assert max(sent) < 2000 + 1000  # one point may pass the bound alone; a request never gathers more


def test_an_owner_that_does_not_share_still_refuses_a_second_opener(tmp_path):
    settings = IndexSettings(backend="edge", path=tmp_path / "index")
    with Index(settings, dim=32):
        with pytest.raises(IndexLockedError):
            Index(settings, dim=32)


def test_a_client_that_cannot_use_the_served_index_is_refused_in_one_line(owner_and_client):
    """Another backend or another vector size (another model) would fail on the first call, obscurely: refused
    when the index opens, saying why and what to do."""
    owner, _ = owner_and_client
    with pytest.raises(RuntimeError, match="SCOUT_INDEX_BACKEND=edge, but this process asks for local"):
        Index(IndexSettings(backend="local", path=owner.settings.resolved_path), dim=32)
    with pytest.raises(RuntimeError, match="vectors of size 32, but this process' model makes 384: use the server's"):
        Index(owner.settings, dim=384)
