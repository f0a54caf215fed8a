"""The index contract through the owner's endpoint: a second opener of an embedded shard that `scout serve`
owns talks to it over loopback HTTP (index.backends.remote) and sees exactly what the owner sees."""

from __future__ import annotations

import threading
import time

import pytest
import uvicorn
from fastapi import FastAPI

from index.backends.base import Where
from index.backends.remote import RemoteBackend
from index.lock import IndexLockedError
from index.store import Index
from domain.settings import IndexSettings
from tests.index import test_contract as contract
from tests.ports import free_port


@pytest.fixture
def owner_and_client(tmp_path):
    settings = IndexSettings(backend="edge", path=tmp_path / "index")
    owner = Index(settings, dim=32)
    port = free_port()
    app = FastAPI()
    app.include_router(owner.share(f"http://127.0.0.1:{port}"))
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


@pytest.fixture
def index(owner_and_client):
    return owner_and_client[1]


@pytest.mark.parametrize("check", [
    contract.test_upsert_is_idempotent,
    contract.test_changed_content_replaces_old_version,
    contract.test_get_analysis_documents,
    contract.test_filters_and_facets,
    contract.test_search_channels_respect_filters,
    contract.test_delete,
], ids=lambda f: f.__name__.removeprefix("test_"))
def test_contract_through_the_owner(check, index, enricher):
    assert isinstance(index.backend, RemoteBackend)
    check(index, enricher)


def test_client_writes_are_visible_to_the_owner(owner_and_client, enricher):
    owner, client = owner_and_client
    docs = contract.corpus()
    client.upsert(enricher.enrich(docs)[0])
    assert owner.count() == len(docs)
    assert {d.id for d in owner.documents()} == {d.id for d in docs}


def test_a_wrong_token_is_refused(owner_and_client):
    owner, client = owner_and_client
    stranger = RemoteBackend(client.backend.url, "not-the-token")
    with pytest.raises(RuntimeError, match="401"):
        stranger.count(Where())
    stranger.close()


def test_an_owner_that_does_not_share_still_refuses_a_second_opener(tmp_path):
    settings = IndexSettings(backend="edge", path=tmp_path / "index")
    with Index(settings, dim=32):
        with pytest.raises(IndexLockedError):
            Index(settings, dim=32)
