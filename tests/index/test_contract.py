"""The Index contract: one test class each backend subclasses (Haystack's `testing/document_store.py` pattern).

`IndexContract` holds every check of the `Index` front over an `index` fixture; `EmbeddedIndexContract` adds the
checks about the folder itself (reopening, the owner lock, a killed writer). Qdrant Edge and qdrant-client's local
mode run both here; an index reached through the process that owns it runs `IndexContract`
(tests/index/test_remote.py)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from datetime import date
from pathlib import Path

import pytest

from index.lock import IndexLockedError
from index.store import Index
from domain.models import DocKind, SearchFilters
from domain.settings import IndexSettings
from tests.index.conftest import corpus, make_doc

ROOT = Path(__file__).resolve().parents[2]


def _all_points(ix: Index) -> set[tuple[str, str]]:
    from index.backends.base import Where

    out, offset = set(), None
    while True:
        hits, offset = ix.backend.scroll(Where(), limit=256, offset=offset, payload=["content_hash"])
        out.update((h.id, h.payload["content_hash"]) for h in hits)
        if offset is None:
            return out

_HOLDER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from index.store import Index
    from domain.settings import IndexSettings
    ix = Index(IndexSettings(backend=sys.argv[1], path=Path(sys.argv[2])), dim=32, command="holder-test")
    print("ready", flush=True)
    time.sleep(60)
""")

def _spawn_holder(settings) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", _HOLDER, settings.backend, str(settings.path)],
                            stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.stdout.readline().strip() == "ready"
    return proc

_INGEST = textwrap.dedent("""
    import sys
    from pathlib import Path
    from index.store import Index
    from domain.settings import IndexSettings
    from tests.index.fakes import FakeEnricher
    from tests.index.conftest import make_doc
    docs = [make_doc(f"d{i}", f"Document {i}", f"Sentence one of {i}. Sentence two about topic {i % 7}.")
            for i in range(int(sys.argv[3]))]
    enricher = FakeEnricher(dim=32)
    with Index(IndexSettings(backend=sys.argv[1], path=Path(sys.argv[2])), dim=32) as ix:
        for i in range(0, len(docs), 10):
            ix.upsert(enricher.enrich(docs[i:i + 10])[0])
            print(i, flush=True)
""")


def _with_sentences(items):
    """FakeEnricher's documents with multilingual sentence vectors (hashing, 512-d), one per passage text."""
    import dataclasses

    from nlp.fake import HashingEmbedder

    fake = HashingEmbedder(dim=512, name="hashing-multilingual")
    return [dataclasses.replace(i, sentence_vectors=fake.encode([p.text for p in i.analysis.passages]))
            for i in items]


class IndexContract:
    """Every check of the `Index` front; a subclass provides the `index` fixture (an empty index, dim 32)."""

    def test_upsert_is_idempotent(self, index, enricher):
        items, _ = enricher.enrich(corpus())
        index.upsert(items)
        first = _all_points(index)
        index.upsert(items)
        assert _all_points(index) == first
        assert index.count() == 5
        n_passages = sum(len(i.analysis.passages) for i in items)
        assert len(first) == 5 + n_passages  # one document point + one point per passage

    def test_changed_content_replaces_old_version(self, index, enricher):
        docs = corpus()
        index.upsert(enricher.enrich(docs)[0])
        old = docs[1]
        assert len(index.analysis(old.id).passages) == 3
        new = make_doc("r1", "Diamond magnetometer v2", "A shorter abstract.", orgs=("Acme Quantum Inc.",))
        assert new.id == old.id and new.content_hash != old.content_hash
        index.upsert(enricher.enrich([new])[0])
        assert index.get(old.id).title == "Diamond magnetometer v2"
        passages = index.analysis(old.id).passages
        assert [p.text for p in passages] == ["Diamond magnetometer v2", "A shorter abstract."]
        assert index.count() == 5
        # no point of the old version survives
        hashes = {h for _, h in _all_points(index)}
        assert old.content_hash not in hashes

    def test_get_analysis_documents(self, index, enricher):
        docs = corpus()
        index.upsert(enricher.enrich(docs)[0])
        got = index.get(docs[1].id)
        assert got == docs[1].model_copy(update={"language": "en"})  # the language nlp found is kept
        analysis = index.analysis(docs[1].id)
        assert analysis.concepts == ["quantum-sensing"]
        full = f"{docs[1].title}\n{docs[1].text}"
        assert all(full[p.start : p.end] == p.text for p in analysis.passages)
        assert index.get("no-such-doc") is None and index.analysis("no-such-doc") is None
        assert {d.id for d in index.documents(kind="need")} == {docs[0].id}
        assert len(list(index.documents())) == 5

    def test_filters_and_facets(self, index, enricher):
        index.upsert(enricher.enrich(corpus())[0])
        assert index.count(SearchFilters(kind=DocKind.startup)) == 1
        assert index.count(SearchFilters(source="jstage")) == 1
        assert index.count(SearchFilters(language="ja")) == 1
        assert index.count(SearchFilters(since=date(2020, 1, 1))) == 4
        assert index.count(SearchFilters(until=date(2019, 12, 31))) == 1
        assert index.count(SearchFilters(since=date(2022, 1, 1), until=date(2022, 12, 31))) == 1
        assert index.count(SearchFilters(concept="quantum-sensing")) == 3
        assert index.count(SearchFilters(area="jp-materials")) == 1
        assert index.count(SearchFilters(organization="acmequantum")) == 2
        facets = index.facets(keys=["kind", "language", "concept", "organization", "year"])
        assert facets["year"] == {"2024": 3, "2019": 1, "2022": 1}
        assert facets["organization"] == {"acmequantum": 2, "lockheedmartin": 1}
        assert facets["kind"] == {"research": 3, "need": 1, "startup": 1}
        assert facets["language"] == {"en": 4, "ja": 1}
        assert facets["concept"]["quantum-sensing"] == 3
        assert index.facets(SearchFilters(kind=DocKind.research), keys=["source"])["source"] == {
            "arxiv": 1, "jstage": 1, "kaken": 1}
        with pytest.raises(ValueError):
            index.facets(keys=["colour"])

    def test_search_channels_respect_filters(self, index, enricher):
        items, _ = enricher.enrich(corpus())
        index.upsert(items)
        q = enricher.query("quantum sensing magnetometer navigation")
        sparse = index.search_sparse(q.sparse, limit=10)
        assert sparse and sparse[0].payload["doc_id"] == corpus()[1].id
        only_startups = index.search_sparse(q.sparse, SearchFilters(kind=DocKind.startup), limit=10)
        assert {h.payload["doc_id"] for h in only_startups} == {corpus()[3].id}
        dense = index.search_dense(q.passage_vectors, SearchFilters(language="en"), limit=50, exclude_kind="need")
        kinds = {index.get(h.payload["doc_id"]).kind for h in dense[0]}
        assert kinds and DocKind.need not in kinds
        assert all(index.get(h.payload["doc_id"]).language == "en" for h in dense[0])

    def test_delete(self, index, enricher):
        docs = corpus()
        index.upsert(enricher.enrich(docs)[0])
        index.delete([docs[1].id, docs[2].id])
        assert index.count() == 3
        assert index.get(docs[1].id) is None
        assert not any(h.payload["doc_id"] in {docs[1].id, docs[2].id}
                       for h in index.search_dense(enricher.query("magnetometer").passage_vectors, limit=50)[0])

    def test_the_point_count_follows_every_write(self, index, enricher):
        # what the organizations' figures are kept under (IndexLibrary._org_state): any write that adds or
        # removes a document (or a passage) must change it, and it must be every point, as an exact count says
        from index.backends.base import Where

        def points() -> int:
            assert index.point_count() == index.backend.count(Where())
            return index.point_count()

        assert points() == 0
        docs = corpus()
        index.upsert(enricher.enrich(docs)[0])
        full = points()
        assert full > len(docs)  # documents and their passages
        shorter = make_doc("r1", "Diamond magnetometer v2", "A shorter abstract.", orgs=("Acme Quantum Inc.",))
        index.upsert(enricher.enrich([shorter])[0])
        assert points() < full  # a replacement with fewer passages
        index.delete([docs[2].id])
        assert 0 < points() < full - 1

    def test_the_version_follows_a_document_replaced_in_place(self, index, enricher):
        # what the ranking's corpus figures and kept lists are kept under (CorpusStatistics): a document
        # replaced by one of as many passages changes no point count, and must change the version
        docs = corpus()
        index.upsert(enricher.enrich(docs)[0])
        before = index.version()
        assert index.version() == before  # reading changes nothing
        edited = make_doc("r1", "Diamond magnetometer", "A quantum sensing magnetometer with nitrogen vacancy centres. "
                          "It enables navigation without GPS by magnetic anomaly maps.", orgs=("Acme Quantum Inc.",))
        index.upsert(enricher.enrich([edited])[0])
        assert index.point_count() == before[0]  # the same points ...
        assert index.version() != before  # ... and another version

    def test_title_fields_are_searchable_and_filtered(self, index, enricher):
        items, _ = enricher.enrich(corpus())
        index.upsert(items)
        assert index.has_titles()
        q = enricher.query("Radar absorbing material")
        by_title = index.search_titles(q.passage_vectors, limit=3, exclude_kind="need")[0]
        assert by_title[0].payload["doc_id"] == corpus()[2].id
        lexical = index.search_title_sparse(enricher.sparse.encode_query("magnetometer", "en"), limit=10)
        assert {h.payload["doc_id"] for h in lexical} == {corpus()[1].id, corpus()[3].id}  # their titles only
        startups = index.search_title_sparse(enricher.sparse.encode_query("magnetometer", "en"),
                                             SearchFilters(kind=DocKind.startup), limit=10)
        assert [h.payload["doc_id"] for h in startups] == [corpus()[3].id]

    def test_passage_vectors_of_documents_and_of_a_kind(self, index, enricher):
        import numpy as np

        items, _ = enricher.enrich(corpus())
        index.upsert(items)
        by_id = {i.document.id: i for i in items}
        needs = [i.document.id for i in items if i.document.kind == DocKind.need]
        owners, matrix = index.passage_vectors(kind=DocKind.need)
        assert set(owners) == set(needs) and matrix.shape == (len(owners), index.dim)
        assert len(owners) == sum(len(by_id[n].passage_vectors) for n in needs)
        some = [i.document.id for i in items if i.document.kind != DocKind.need][:2]
        owners, matrix = index.passage_vectors(doc_ids=some)
        assert sorted(owners) == sorted(d for d in some for _ in by_id[d].passage_vectors)
        for d in some:  # the stored vectors are the document's own (in some order)
            stored = matrix[[i for i, o in enumerate(owners) if o == d]]
            np.testing.assert_allclose(np.sort(stored @ by_id[d].passage_vectors.T, axis=None)[-len(stored):],
                                       np.ones(len(stored)), atol=1e-5)
        assert index.passage_vectors(doc_ids=["missing"])[1].shape == (0, index.dim)

    def test_sentence_vectors_score_a_document_by_its_best_sentence(self, index, enricher):
        import numpy as np

        items = _with_sentences(enricher.enrich(corpus())[0])
        index.upsert(items)
        assert index.has_sentences()
        target = next(i for i in items if len(i.sentence_vectors) >= 2)
        query = target.sentence_vectors[1]  # its second sentence, not its first
        hits = index.search_sentences(query, limit=10)
        assert hits[0].payload["doc_id"] == target.document.id
        assert hits[0].score == pytest.approx(1.0, abs=2e-3)  # stored as float16
        for h in hits:  # every score is that document's best sentence
            own = next(i for i in items if i.document.id == h.payload["doc_id"])
            assert h.score == pytest.approx(float((own.sentence_vectors @ query).max()), abs=2e-3)
        stored = index.sentence_vectors([target.document.id, "missing"])
        assert list(stored) == [target.document.id]
        np.testing.assert_allclose(stored[target.document.id], target.sentence_vectors, atol=2e-3)
        # filters apply: research documents only
        research = index.search_sentences(query, SearchFilters(kind=DocKind.research), limit=10)
        assert research and all(i.document.kind == DocKind.research
                                for h in research for i in items if i.document.id == h.payload["doc_id"])

    def test_sentence_vectors_of_another_size_are_refused(self, index, enricher):
        import dataclasses

        import numpy as np

        item = enricher.enrich(corpus()[:1])[0][0]
        wrong = dataclasses.replace(item, sentence_vectors=np.ones((2, 384), dtype=np.float32) / np.sqrt(384))
        with pytest.raises(ValueError, match="512-dimensional"):
            index.upsert([wrong])
        assert index.count() == 0


class EmbeddedIndexContract(IndexContract):
    """The checks about an embedded index's folder; a subclass names its `backend`."""

    backend: str

    @pytest.fixture
    def settings(self, tmp_path) -> IndexSettings:
        return IndexSettings(backend=self.backend, path=tmp_path / "index")

    @pytest.fixture
    def index(self, settings):
        with Index(settings, dim=32) as ix:
            yield ix

    def test_reopen_keeps_everything(self, settings, enricher):
        docs = corpus()
        with Index(settings, dim=32) as ix:
            ix.upsert(enricher.enrich(docs)[0])
            before = _all_points(ix)
        with Index(settings, dim=32) as ix:
            assert _all_points(ix) == before
            assert ix.get(docs[4].id).text == docs[4].text
            assert ix.search_sparse(enricher.query("radar metamaterial").sparse, limit=3)[0].payload["doc_id"] == docs[2].id

    def test_wrong_dimension_is_refused(self, settings, enricher):
        with Index(settings, dim=32) as ix:
            ix.upsert(enricher.enrich(corpus()[:1])[0])
        with pytest.raises(Exception):
            Index(settings, dim=64)
        with Index(settings, dim=32) as ix:  # the refused opener released its lock
            assert ix.count() == 1

    def test_second_opener_gets_a_clear_error(self, settings):
        proc = _spawn_holder(settings)
        try:
            with pytest.raises(IndexLockedError) as err:
                Index(settings, dim=32)
            assert f"pid {proc.pid}" in str(err.value) and "holder-test" in str(err.value)
            assert err.value.owner["pid"] == proc.pid
        finally:
            proc.kill()
            proc.wait()
        # the holder was killed (no clean close): its lock is stale and is recovered
        with Index(settings, dim=32) as ix:
            assert ix.count() == 0
            owner = json.loads((settings.path / ".owner.json").read_text())
            assert owner["pid"] == os.getpid()

    def test_second_opener_in_same_process_is_refused(self, settings):
        with Index(settings, dim=32):
            with pytest.raises(IndexLockedError):
                Index(settings, dim=32)

    def test_killed_ingest_rerun_yields_the_same_index(self, tmp_path):
        backend = self.backend
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        killed = IndexSettings(backend=backend, path=tmp_path / "killed")
        clean = IndexSettings(backend=backend, path=tmp_path / "clean")
        proc = subprocess.Popen([sys.executable, "-c", _INGEST, backend, str(killed.path), "60"],
                                stdout=subprocess.PIPE, text=True, env=env)
        for _ in range(2):  # let it write a few batches, then kill it mid-ingest
            proc.stdout.readline()
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        for settings in (killed, clean):
            subprocess.run([sys.executable, "-c", _INGEST, backend, str(settings.path), "60"], check=True,
                           env=env, stdout=subprocess.DEVNULL)
        with Index(killed, dim=32) as a:
            pts_a, n_a = _all_points(a), a.count()
        with Index(clean, dim=32) as b:
            pts_b = _all_points(b)
        assert n_a == 60
        assert pts_a == pts_b  # point for point: same ids, same content
        assert len(pts_b) == 60 * 4  # a document point and three passage points each

    def test_index_built_before_title_vectors_keeps_working(self, tmp_path, enricher, monkeypatch):
        """An index made by an older version (no title vectors) opens, takes writes, and says it has no titles."""
        import index.backends.client as client_mod
        import index.backends.edge as edge_mod
        from index.backends.base import LEGACY_VECTORS

        settings = IndexSettings(backend=self.backend, path=tmp_path / "index")
        with monkeypatch.context() as m:  # the backends create what ALL_VECTORS names: make the old layout
            m.setattr(edge_mod, "ALL_VECTORS", LEGACY_VECTORS)
            m.setattr(client_mod, "ALL_VECTORS", LEGACY_VECTORS)
            with Index(settings, dim=32) as ix:
                ix.upsert(enricher.enrich(corpus()[:2])[0])
        with Index(settings, dim=32) as ix:
            assert not ix.has_titles()
            ix.upsert(enricher.enrich(corpus()[2:])[0])
            assert ix.count() == 5
            q = enricher.query("radar metamaterial")
            assert ix.search_sparse(q.sparse, limit=3)[0].payload["doc_id"] == corpus()[2].id

    def test_index_built_before_sentence_vectors_keeps_working(self, tmp_path, enricher, monkeypatch):
        """An index made before the multilingual sentence vectors opens, takes writes (their sentence vectors
        are left out) and says it has none."""
        import index.backends.client as client_mod
        import index.backends.edge as edge_mod
        from index.backends.base import TITLED_VECTORS

        settings = IndexSettings(backend=self.backend, path=tmp_path / "index")
        with monkeypatch.context() as m:
            m.setattr(edge_mod, "ALL_VECTORS", TITLED_VECTORS)
            m.setattr(client_mod, "ALL_VECTORS", TITLED_VECTORS)
            with Index(settings, dim=32) as ix:
                ix.upsert(enricher.enrich(corpus()[:2])[0])
        with Index(settings, dim=32) as ix:
            assert ix.has_titles() and not ix.has_sentences()
            ix.upsert(_with_sentences(enricher.enrich(corpus()[2:])[0]))
            assert ix.count() == 5
            assert ix.sentence_vectors([d.id for d in corpus()]) == {}


    def test_an_index_created_with_the_channel_off_has_no_sentence_storage(self, settings, enricher):
        """`SCOUT_NLP_MULTILINGUAL=off` creates the index without the `sentences` vector. Opened later with the
        channel on, it stays without it (it cannot gain one) and loses nothing: every point kept, writes taken
        (their sentence vectors left out); opened with the channel off again, the same."""
        with Index(settings, dim=32, sentences=False) as ix:
            assert ix.has_titles() and not ix.has_sentences()
            ix.upsert(_with_sentences(enricher.enrich(corpus()[:3])[0]))
            before = _all_points(ix)
        with Index(settings, dim=32, sentences=True) as ix:
            assert not ix.has_sentences()
            assert _all_points(ix) == before
            ix.upsert(_with_sentences(enricher.enrich(corpus()[3:])[0]))
            assert ix.count() == 5 and ix.sentence_vectors([d.id for d in corpus()]) == {}
            q = enricher.query("radar metamaterial")
            assert ix.search_sparse(q.sparse, limit=3)[0].payload["doc_id"] == corpus()[2].id
            assert ix.search_titles(q.passage_vectors[:1], limit=5)[0]
            after = _all_points(ix)
        with Index(settings, dim=32, sentences=False) as ix:
            assert not ix.has_sentences() and _all_points(ix) == after

    def test_an_index_with_sentence_vectors_opened_with_the_channel_off_keeps_them(self, settings, enricher):
        """An index created with the channel on, opened with it off, works as before: its sentence vectors kept
        and searchable, new documents written without them."""
        items = _with_sentences(enricher.enrich(corpus()[:3])[0])
        with Index(settings, dim=32) as ix:
            ix.upsert(items)
        with Index(settings, dim=32, sentences=False) as ix:
            assert ix.has_sentences()
            kept = ix.sentence_vectors([i.document.id for i in items])
            assert set(kept) == {i.document.id for i in items}
            assert ix.search_sentences(items[1].sentence_vectors[0], limit=3)[0].payload["doc_id"] == items[1].document.id
            ix.upsert(enricher.enrich(corpus()[3:])[0])
            assert ix.count() == 5
            assert set(ix.sentence_vectors([d.id for d in corpus()])) == {i.document.id for i in items}


class TestEdge(EmbeddedIndexContract):
    backend = "edge"


class TestLocalMode(EmbeddedIndexContract):
    backend = "local"


def test_edge_shard_with_float16_sentence_vectors_keeps_its_channel(tmp_path, enricher):
    """A shard made while sentence vectors were stored as float16 opens with the channel (not as an older
    layout without it)."""
    import qdrant_edge as qe

    from index.backends.base import ALL_VECTORS
    from index.backends.edge import _config

    shard = tmp_path / "index" / "shard"
    shard.mkdir(parents=True)
    qe.EdgeShard.create(str(shard), _config(32, ALL_VECTORS, "Float16")).close()
    with Index(IndexSettings(backend="edge", path=tmp_path / "index"), dim=32) as ix:
        assert ix.has_sentences()
        items = _with_sentences(enricher.enrich(corpus())[0])
        ix.upsert(items)
        hits = ix.search_sentences(items[1].sentence_vectors[0], limit=3)
        assert hits[0].payload["doc_id"] == items[1].document.id
