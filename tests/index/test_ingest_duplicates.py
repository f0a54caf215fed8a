"""Same-content documents under a new id (the same announcement from two URLs) are recorded, not indexed twice."""

from __future__ import annotations

from domain.models import Document, DocKind
from index.ingest import ingest_documents
from tests.index.conftest import make_doc


def _copy_from(doc: Document, url: str) -> Document:
    return Document.make(kind=doc.kind, source=doc.source, url=url, title=doc.title, text=doc.text,
                         organizations=doc.organizations, published=doc.published)


def test_a_copy_under_another_url_is_a_counted_duplicate_of_the_stored_one(index, enricher):
    original = make_doc("r1", "Diamond magnetometer", "A quantum sensing magnetometer with NV centers.")
    stats, rejects = ingest_documents([original], enricher, index)
    assert (stats.new, stats.duplicates) == (1, 0)

    copy = _copy_from(original, "https://mirror.example.net/r1")
    other = make_doc("r2", "Radar absorbing material", "A metamaterial lattice coating.")
    assert copy.id != original.id
    stats, rejects = ingest_documents([copy, other], enricher, index)

    assert (stats.new, stats.duplicates, stats.rejected) == (1, 1, 0)  # the neighbour is indexed as usual
    assert [r.reason for r in rejects] == ["duplicate content"]
    assert original.id in rejects[0].detail and rejects[0].url == copy.url
    assert index.get(copy.id) is None and index.get(original.id) is not None  # nothing stored is lost
    assert index.get(other.id) is not None


def test_two_copies_in_one_batch_keep_the_first(index, enricher):
    first = make_doc("a", "Swarm autonomy", "Decentralised swarm planning for drones.")
    second = _copy_from(first, "https://other.example.org/a")
    stats, rejects = ingest_documents([first, second], enricher, index)
    assert (stats.new, stats.duplicates) == (1, 1)
    assert index.get(first.id) is not None and index.get(second.id) is None
    assert index.count() == 1 and next(index.documents()).kind == DocKind.research


def test_an_updated_document_under_its_own_id_is_not_a_duplicate(index, enricher):
    doc = make_doc("u", "Lidar", "Solid-state lidar for vehicles.")
    ingest_documents([doc], enricher, index)
    stats, rejects = ingest_documents([doc], enricher, index)
    assert (stats.unchanged, stats.duplicates, rejects) == (1, 0, [])
