from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest

from index.store import Index
from domain.models import Document
from domain.settings import IndexSettings
from tests.index.fakes import FakeEnricher

BACKENDS = ["edge", "local"]


@pytest.fixture(scope="session")
def enricher() -> FakeEnricher:
    return FakeEnricher(dim=32)


@pytest.fixture(params=BACKENDS)
def backend(request) -> str:
    return request.param


@pytest.fixture
def settings(tmp_path: Path, backend: str) -> IndexSettings:
    return IndexSettings(backend=backend, path=tmp_path / "index")


@pytest.fixture
def index(settings: IndexSettings):
    with Index(settings, dim=32) as ix:
        yield ix


def make_doc(key: str, title: str, text: str, *, kind: str = "research", source: str = "arxiv",
             year: int = 2024, orgs: tuple[str, ...] = ()) -> Document:
    return Document.make(kind=kind, source=source, source_id=key, url=f"https://example.org/{key}", title=title,
                         text=text, organizations=list(orgs), published=datetime(year, 6, 1, tzinfo=timezone.utc))


def corpus() -> list[Document]:
    return [
        make_doc("n1", "Quantum sensing for navigation",
                 "We need quantum sensing of magnetic fields for GPS-denied navigation. "
                 "The sensor must be small and rugged. Low power operation is required.", kind="need", source="atla"),
        make_doc("r1", "Diamond magnetometer", "A quantum sensing magnetometer with nitrogen vacancy centers. "
                 "It enables navigation without GPS by magnetic anomaly maps.", orgs=("Acme Quantum Inc.",)),
        make_doc("r2", "Radar absorbing material", "A radar absorbing material from a metamaterial lattice. "
                 "The coating reduces radar cross section.", source="jstage", year=2019, orgs=("Lockheed Martin Corp.",)),
        make_doc("s1", "Startup ships rugged magnetometers", "Our startup builds rugged magnetic field sensors "
                 "for navigation in GPS-denied places.", kind="startup", source="prtimes", orgs=("Acme Quantum Inc.",)),
        make_doc("j1", "量子センシングによる磁場計測", "量子センシング技術を用いた小型の磁気センサーを開発した。",
                 source="kaken", year=2022),
    ]
