from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from domain.settings import WebSettings
from scout.web.app import create_app
from tests.web.fakes import MemoryLibrary


@pytest.fixture(scope="session")
def library() -> MemoryLibrary:
    return MemoryLibrary()


@pytest.fixture(scope="session")
def client(library) -> TestClient:
    return TestClient(create_app(library, WebSettings(token=None)), base_url="http://127.0.0.1")


@pytest.fixture(scope="session")
def payload_doc(library):
    return next(d for d in library.docs.values() if d.source_id == "payload-1")


@pytest.fixture(scope="session")
def atla_need(library):
    return next(d for d in library.needs() if d.source == "atla")


@pytest.fixture
def store(tmp_path):
    """A fresh analyst store (judgements, users, watchlists) for one test."""
    from service.analyst import AnalystStore

    with AnalystStore(tmp_path / "analyst.sqlite") as s:
        yield s
