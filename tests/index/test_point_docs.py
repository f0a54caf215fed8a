"""The embedded backend answers a hit's document and passage from its id (`PointDocs`) instead of its payload:
every answer must be what the payload says, after reopening, after writes and deletes, and for ids the table
does not hold."""

from __future__ import annotations
import uuid

import pytest

import index.backends.point_docs as point_docs
from index.backends.base import Cond, Where
from index.backends.point_docs import PointDocs
from index.store import Index, point_id, point_ids
from domain.models import DUALSCOUT_NAMESPACE
from domain.settings import IndexSettings
from tests.index.conftest import corpus, make_doc

FIELDS = ["doc_id", "passage_index"]


def test_point_ids_are_the_uuid5_ids_of_the_index():
    # the ids every index already written holds: uuid5 of "doc_id#part" in the project's namespace
    for doc_id in ("syn-0000001", "arxiv:2401.00001", "量子センシング", ""):
        expected = [str(uuid.uuid5(DUALSCOUT_NAMESPACE, f"{doc_id}#{part}")) for part in ("doc", *range(4))]
        assert [point_id(doc_id, "doc"), *(point_id(doc_id, i) for i in range(4))] == expected
        ids = point_ids(doc_id, 5)
        assert [str(uuid.UUID(bytes=ids[i:i + 16])) for i in range(0, len(ids), 16)] == expected


def test_table_lookup_learn_and_merge(monkeypatch):
    table = PointDocs.build([("a", 3), ("b", 1)], point_ids)
    assert table.lookup([point_id("a", 1), point_id("b", "doc"), point_id("a", "doc"), point_id("c", 0)]) == [
        ("a", 1), ("b", -1), ("a", -1), None]
    monkeypatch.setattr(point_docs, "_MERGE_AT", 2)
    table.learn([(point_id("c", 0), "c", 0)])
    assert table.lookup([point_id("c", 0)]) == [("c", 0)] and len(table._learnt) == 1
    table.learn([(point_id("c", "doc"), "c", -1)])  # the second one merges both into the sorted arrays
    assert len(table._learnt) == 0 and len(table) == 6
    assert table.lookup([point_id("c", 0), point_id("c", "doc"), point_id("a", 0), point_id("d", "doc")]) == [
        ("c", 0), ("c", -1), ("a", 0), None]


def test_a_lookup_answers_every_spelling_of_an_id_alike_and_in_the_order_asked():
    # the shard's canonical strings are parsed in one pass; UUID objects, other spellings and a mix of them one
    # at a time: the answers must not depend on which path ran, nor on the order of the ids (they are searched
    # sorted)
    docs = [(f"doc-{i}", 3) for i in range(200)] + [("量子センシング", 2)]
    table = PointDocs.build(docs, point_ids)
    asked = [point_id(d, p) for d, n in reversed(docs) for p in ("doc", *range(n - 1))] + [point_id("nowhere", 0)]
    expected = [(d, -1 if p == "doc" else p) for d, n in reversed(docs) for p in ("doc", *range(n - 1))] + [None]
    assert table.lookup(asked) == expected
    assert table.lookup([uuid.UUID(i) for i in asked]) == expected
    assert table.lookup([i.upper() for i in asked]) == expected
    assert table.lookup([i.replace("-", "") for i in asked]) == expected
    mixed = [uuid.UUID(i) if n % 3 == 0 else "{" + i + "}" if n % 3 == 1 else i for n, i in enumerate(asked)]
    assert table.lookup(mixed) == expected
    assert table.lookup([]) == [] and PointDocs().lookup(asked[:2]) == [None, None]
    with pytest.raises(ValueError):
        table.lookup(["not an id"])


def test_two_ids_sharing_their_first_half_are_never_answered():
    # two ids whose first 64 bits are equal: the table cannot tell them apart, so it answers neither
    first = (7 << 64) | 1
    second = (7 << 64) | 2

    def keys_of(doc_id: str, n: int) -> bytes:
        return (first if doc_id == "x" else second).to_bytes(16, "big")

    table = PointDocs.build([("x", 1), ("y", 1)], keys_of)
    assert table.lookup([uuid.UUID(int=first), uuid.UUID(int=second)]) == [None, None]
    # a third id with the same first half but another second half is not taken for either
    assert table.lookup([uuid.UUID(int=(7 << 64) | 3)]) == [None]


def _truth(ix: Index, hits) -> list[dict]:
    """What the payloads on disk say of the hits (the fields a table answers)."""
    recs = {r.id: r.payload for r in ix.backend.shard.retrieve([h.id for h in hits], with_payload=FIELDS, with_vector=False)}
    return [recs[uuid.UUID(h.id)] for h in hits]


def _reads(ix: Index, enricher) -> list[tuple[list, list[str]]]:
    """Every read that asks for a hit's document or passage (the hits, the fields asked): the searches of each
    vector, a scroll, a retrieve."""
    q = enricher.query("quantum magnetometer for navigation")
    vec = [list(map(float, q.passage_vectors[0]))]
    one = ["doc_id"]
    reads = [
        *((h, FIELDS) for h in ix.backend.search_dense(vec, Where(), 100, payload=FIELDS)),
        *((h, one) for h in ix.backend.search_dense(vec, Where(), 100, payload=one, using="title")),
        (ix.backend.search_sparse(q.sparse, Where(), 100, payload=one), one),
        (ix.backend.search_sparse(q.sparse, Where(), 100, payload=one, using="title_lexical"), one),
        *((h, FIELDS) for h in ix.search_dense(q.passage_vectors, limit=100)),
        (ix.backend.scroll(Where(), limit=1000, payload=FIELDS)[0], FIELDS),
        (ix.backend.scroll(Where((Cond("point", value="passage"),)), limit=1000, payload=one, vectors=True)[0], one),
        (ix.backend.retrieve([point_id(d.id, "doc") for d in corpus()] + [point_id(d.id, 0) for d in corpus()],
                             payload=FIELDS, vectors=True), FIELDS),
    ]
    return [(hits, fields) for hits, fields in reads if hits]


def _assert_reads_match_payloads(ix: Index, enricher) -> None:
    reads = _reads(ix, enricher)
    assert sum(len(hits) for hits, _ in reads) > 30
    for hits, fields in reads:
        assert [h.payload for h in hits] == [{k: v for k, v in t.items() if k in fields} for t in _truth(ix, hits)]


@pytest.fixture
def edge_index(tmp_path, enricher):
    settings = IndexSettings(backend="edge", path=tmp_path / "index")
    with Index(settings, dim=32) as ix:
        ix.upsert(enricher.enrich(corpus())[0])
    with Index(settings, dim=32) as ix:  # reopened: the table is built from the shard
        yield ix


def test_reads_answered_by_the_table_equal_the_payloads(edge_index, enricher):
    ix = edge_index
    _assert_reads_match_payloads(ix, enricher)
    table = ix.backend._docs
    assert table is not None
    points = ix.backend.count(Where())
    assert len(table) == points  # every point of the shard, from the doc_id index
    calls = []
    shard = ix.backend.shard

    class Spy:  # no payload read when the table knows every id
        def __getattr__(self, name):
            return getattr(shard, name)

        def retrieve(self, ids, with_payload=True, with_vector=False):
            calls.append(with_payload)
            return shard.retrieve(ids, with_payload=with_payload, with_vector=with_vector)

    ix.backend.shard = Spy()
    try:
        q = enricher.query("radar absorbing coating")
        hits = ix.search_dense(q.passage_vectors, limit=50)[0] + ix.search_sparse(q.sparse, limit=50)
        assert hits and all(h.payload.get("doc_id") for h in hits)
        assert calls == []
    finally:
        ix.backend.shard = shard


def test_the_table_follows_replacements_deletes_and_new_documents(edge_index, enricher):
    ix = edge_index
    docs = corpus()
    shorter = make_doc("r1", "Diamond magnetometer v2", "A shorter abstract.", orgs=("Acme Quantum Inc.",))
    ix.upsert(enricher.enrich([shorter, make_doc("r9", "Laser radar", "A lidar for drones. It maps at night.")])[0])
    ix.delete([docs[2].id])
    _assert_reads_match_payloads(ix, enricher)
    known = ix.backend._docs.lookup([point_id(make_doc("r9", "", "").id, "doc"), point_id(shorter.id, 1)])
    assert known == [(make_doc("r9", "", "").id, -1), (shorter.id, 1)]  # learnt from the writes
    assert docs[2].id not in {h.payload["doc_id"] for hits, _ in _reads(ix, enricher) for h in hits}


def test_ids_the_table_does_not_hold_are_read_from_their_payloads_and_learnt(edge_index, enricher):
    ix = edge_index
    ix.backend._docs = PointDocs()  # a table that knows nothing (as for points another version wrote)
    _assert_reads_match_payloads(ix, enricher)
    assert len(ix.backend._docs) == ix.backend.count(Where())
    _assert_reads_match_payloads(ix, enricher)


def test_a_large_shard_builds_its_table_aside_and_reads_payloads_meanwhile(edge_index, enricher, monkeypatch):
    import index.backends.edge as edge

    ix = edge_index
    backend = ix.backend
    backend._docs, backend._docs_thread = None, None
    monkeypatch.setattr(edge, "INLINE_TABLE_POINTS", 0)
    gate = __import__("threading").Event()
    build = PointDocs.build

    def slow_build(*a, **kw):
        gate.wait(30)
        return build(*a, **kw)

    monkeypatch.setattr(edge.PointDocs, "build", slow_build)
    _assert_reads_match_payloads(ix, enricher)  # answered from the payloads: the table is not built yet
    assert backend._docs is None and backend._docs_thread.is_alive()
    ix.upsert(enricher.enrich([make_doc("r8", "Acoustic modem", "Underwater acoustic communication.")])[0])
    gate.set()
    backend._docs_thread.join(30)
    assert backend._docs is not None
    assert backend._docs.lookup([point_id(make_doc("r8", "", "").id, 0)]) == [(make_doc("r8", "", "").id, 0)]
    _assert_reads_match_payloads(ix, enricher)



def test_the_index_warm_up_builds_the_table_without_holding_up_the_shared_backend(edge_index, monkeypatch):
    # `scout serve` warms the index up (Index.warm_up) on a shared backend (one call at a time: LockedBackend):
    # it waits for the table's build (seconds at a million documents) while other calls go on
    import time

    import index.backends.edge as edge
    from index.backends.remote import LockedBackend

    ix = edge_index
    backend = ix.backend
    backend._docs, backend._docs_thread = None, None
    monkeypatch.setattr(edge, "INLINE_TABLE_POINTS", 0)  # built aside, as at scale
    ix.backend = shared = LockedBackend(backend)
    others_went_on = []
    build = PointDocs.build

    def build_while_another_call_comes(*a, **kw):
        others_went_on.append(shared.lock.acquire(timeout=30))  # another thread's call to the shared backend
        if others_went_on[-1]:
            shared.lock.release()
        time.sleep(0.2)  # a build that takes a while: the warm-up must wait for it
        return build(*a, **kw)

    monkeypatch.setattr(edge.PointDocs, "build", build_while_another_call_comes)
    ix.warm_up()
    assert others_went_on == [True], "the warm-up held the shared backend's lock"
    assert backend._docs is not None and len(backend._docs) == backend.count(Where()), "it waited for the table"
