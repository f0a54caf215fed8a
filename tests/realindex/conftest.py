"""One real index for the whole session: the fixture documents through the real nlp `Enricher` (with the
deterministic `HashingEmbedder` for speed; the real model is exercised in tests/nlp and tests/demo), written to
a real Qdrant Edge shard by `index.store.Index`, ranked by the real `Ranker`, behind `IndexLibrary`.

An embedded index folder has one owner process: it is opened once here and closed at the end of the session.
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from index.store import Index
from nlp.fake import HashingEmbedder
from nlp.pipeline import Enricher
from service.index_library import IndexLibrary, JudgementFeedback
from domain.models import Document
from domain.settings import IndexSettings, NlpSettings, WebSettings
from scout.web.app import create_app
from tests.realindex.documents import realindex_documents


@pytest.fixture(scope="session")
def documents() -> list[Document]:
    return realindex_documents()


@pytest.fixture(scope="session")
def index_path(tmp_path_factory):
    return tmp_path_factory.mktemp("realindex") / "index"


@pytest.fixture(scope="session")
def real_library(documents, index_path) -> IndexLibrary:
    enricher = Enricher(NlpSettings(cache=False), embedder=HashingEmbedder())
    enriched, rejects = enricher.enrich(documents)
    assert not rejects, rejects
    index = Index(IndexSettings(backend="edge", path=index_path), dim=enricher.embedder.dim, command="pytest realindex")
    library = IndexLibrary(index, enricher, feedback=JudgementFeedback())  # as open_library() builds it
    try:
        index.upsert(enriched)
        yield library
    finally:
        library.close()


@pytest.fixture(scope="session")
def real_client(real_library) -> TestClient:
    with TestClient(create_app(real_library, WebSettings(token=None)), base_url="http://127.0.0.1") as client:
        yield client


@pytest.fixture(scope="session")
def stored(real_library, documents) -> dict[str, Document]:
    """The documents as the index holds them (nlp fills in what the source left out), by source id."""
    return {d.source_id: real_library.document(d.id) for d in documents}
