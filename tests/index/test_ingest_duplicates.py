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


def test_the_weekly_reports_crawl_figures_count_a_duplicate_apart_and_the_enrich_rejects_in(index, enricher,
                                                                                            tmp_path):
    """The crawl read three documents it had not seen (new to it); the index took one, one was a copy of
    content already indexed and one line was not a document. The report's crawl figures, which come from the
    ledger, say 3 new, of them 1 duplicate, and 1 rejected, as the run's summary does; not 0 rejected."""
    from datetime import datetime, timedelta, timezone

    from domain.models import CrawlStats
    from index.ingest import ingest_inbox
    from index.ledger import Ledger
    from service.operations import record_ingest_figures

    original = make_doc("r1", "Diamond magnetometer", "A quantum sensing magnetometer with NV centers.")
    ingest_documents([original], enricher, index)
    copy = _copy_from(original, "https://mirror.example.net/r1")
    other = make_doc("r2", "Radar absorbing material", "A metamaterial lattice coating.")
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "arxiv-20261206T101010000000Z.jsonl").write_text(
        "\n".join([copy.model_dump_json(), '{"not": "a document"}', other.model_dump_json()]) + "\n",
        encoding="utf-8")
    [stats] = ingest_inbox(inbox, enricher, index, rejects_path=tmp_path / "rejects.jsonl")
    assert (stats.new, stats.duplicates, stats.rejected) == (1, 1, 1)
    assert stats.by_source == {"arxiv": {"rejected": 1, "duplicates": 1}}

    ledger = Ledger(tmp_path / "ledger.sqlite")
    now = datetime.now(timezone.utc)
    ledger.record_crawl(CrawlStats(source="arxiv", fetched=1, new=3, finished=now), "crawl-1")
    record_ingest_figures([stats], ledger)
    record_ingest_figures([stats], ledger)  # the same batch recorded again replaces its figures
    [arxiv] = ledger.crawl_summary(now - timedelta(hours=1), now + timedelta(hours=1))
    assert (arxiv.new, arxiv.duplicates, arxiv.rejected) == (3, 1, 1)
