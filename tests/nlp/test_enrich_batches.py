"""`Enricher.enrich_batches`: batches enriched overlapped (the passage embedder on a helper thread beside the
sentence encoder, the next batch's analysis and the caller's writing) give what `enrich` gives batch by batch,
with the same encoder calls (the int8 encoder's vectors depend on which texts share a call)."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from domain.models import Document
from index.ingest import StepOutcome, enrich_in_process
from nlp.fake import HashingEmbedder
from nlp.multilingual import DIM
from nlp.pipeline import Enricher

EN = "We developed a navigation system using quantum sensors that does not depend on satellites. It is small."
JA = "量子センサーを用いた衛星に依存しない航法システムを開発した。小型である。"


def _doc(n, title, text, kind="research"):
    return Document.make(kind=kind, source="test", url=f"http://example.org/{n}", title=title, text=text)


class Recording(HashingEmbedder):
    """The hashing embedder, recording each call's texts and the thread it ran on."""

    def __init__(self, *args, fail_on: str | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.calls: list[tuple[list[str], str]] = []
        self.fail_on = fail_on

    def encode(self, texts):
        self.calls.append((list(texts), threading.current_thread().name))
        if self.fail_on is not None and len(texts) > 1 and any(self.fail_on in t for t in texts):
            raise RuntimeError("the encoder broke on this batch")
        return super().encode(texts)


def _batches():
    return [
        [_doc(1, "Quantum navigation", EN, kind="need"), _doc(2, "", ""), _doc(3, "量子航法", JA)],
        [_doc(4, "Radar absorbing coatings", "Coatings that absorb radar waves. They are thin.")],
        [],
        [_doc(5, "Battery safety", "Solid electrolytes keep batteries from burning. Tested at scale."),
         _doc(6, "Swarm control", "Drones that coordinate without a leader. Field trials ran.")],
    ]


def _enricher(settings, sparse, threads=2, **kwargs):
    # every call reaches the encoder; two cores to compute on (the overlap), whatever this machine has
    on = settings.model_copy(update={"multilingual": "use-m", "cache": False, "threads": threads})
    return Enricher(on, embedder=Recording(**kwargs), sparse=sparse,
                    multilingual=HashingEmbedder(dim=DIM, name="hashing-multilingual"))


def _same(a, b):
    (enriched_a, rejects_a), (enriched_b, rejects_b) = a, b
    assert [r.reason for r in rejects_a] == [r.reason for r in rejects_b]
    assert [e.document.id for e in enriched_a] == [e.document.id for e in enriched_b]
    for x, y in zip(enriched_a, enriched_b):
        np.testing.assert_array_equal(x.passage_vectors, y.passage_vectors)
        np.testing.assert_array_equal(x.title_vector, y.title_vector)
        np.testing.assert_array_equal(x.sentence_vectors, y.sentence_vectors)
        assert x.sparse == y.sparse and x.title_sparse == y.title_sparse and x.analysis == y.analysis


def test_overlapped_batches_are_enrich_batch_by_batch(nlp_settings, sparse):
    one_by_one = _enricher(nlp_settings, sparse)
    expected = [one_by_one.enrich(batch) for batch in _batches()]
    overlapped = _enricher(nlp_settings, sparse)
    got = list(overlapped.enrich_batches(_batches()))
    assert len(got) == len(expected) == 4
    for a, b in zip(got, expected):
        _same(a, b)
    assert got[0][1][0].reason == "empty text"  # the empty document is a reject, its neighbours are kept
    # the same encoder calls (texts and their order), and on a helper thread, not the caller's
    assert [texts for texts, _ in overlapped.embedder.calls] == [texts for texts, _ in one_by_one.embedder.calls]
    assert {thread for _, thread in overlapped.embedder.calls} == {"passage-embedder"}


def test_one_core_enriches_on_one_thread_with_the_same_results(nlp_settings, sparse):
    # a Dask worker given one core (SCOUT_NLP_THREADS=1, its share) embeds on the calling thread, before the
    # sentence encoding and the next batch's analysis, instead of beside them: the same calls, the same results
    one_core = _enricher(nlp_settings, sparse, threads=1)
    two_cores = _enricher(nlp_settings, sparse, threads=2)
    assert not one_core.overlaps and two_cores.overlaps
    got, expected = list(one_core.enrich_batches(_batches())), list(two_cores.enrich_batches(_batches()))
    for a, b in zip(got, expected, strict=True):
        _same(a, b)
    assert [texts for texts, _ in one_core.embedder.calls] == [texts for texts, _ in two_cores.embedder.calls]
    assert {thread for _, thread in one_core.embedder.calls} == {threading.current_thread().name}
    assert {thread for _, thread in two_cores.embedder.calls} == {"passage-embedder"}


def test_a_failing_batch_embedding_falls_back_to_documents_alone(nlp_settings, sparse, caplog):
    enricher = _enricher(nlp_settings, sparse, fail_on="Solid electrolytes")
    got = list(enricher.enrich_batches(_batches()))
    assert [len(enriched) for enriched, _ in got] == [2, 1, 0, 2]  # every document of the failed call is kept
    assert "batch embedding failed" in caplog.text


def test_a_caller_stopping_early_leaves_no_embedding_running(nlp_settings, sparse):
    enricher = _enricher(nlp_settings, sparse)
    stream = enricher.enrich_batches(_batches())
    next(stream)
    stream.close()  # the second batch's passages were being embedded
    assert not [t for t in threading.enumerate() if t.name == "passage-embedder"]


class _BrokenStream:
    """An enricher whose overlapped stream raises while the second step is handed back."""

    def __init__(self, enricher):
        self.inner = enricher
        self.embedder = enricher.embedder
        self.streams = 0

    def enrich(self, docs):
        return self.inner.enrich(docs)

    def enrich_batches(self, batches):
        self.streams += 1
        for n, out in enumerate(self.inner.enrich_batches(batches)):
            if self.streams == 1 and n == 1:
                raise RuntimeError("a bug past the per-document guards")
            yield out


def test_ingest_retries_a_step_whose_stream_raised_and_goes_on(nlp_settings, sparse):
    steps = [batch for batch in _batches() if batch]
    expected = [_enricher(nlp_settings, sparse).enrich(step) for step in steps]
    broken = _BrokenStream(_enricher(nlp_settings, sparse))
    outcomes = list(enrich_in_process(broken)(iter(steps)))
    assert all(isinstance(o, StepOutcome) and o.failure is None for o in outcomes)
    for outcome, want in zip(outcomes, expected, strict=True):
        _same((outcome.enriched, outcome.rejects), want)
    assert broken.streams == 2  # the stream started again after the step it failed on


@pytest.mark.parametrize("batches", [[], [[]]])
def test_nothing_to_enrich(nlp_settings, sparse, batches):
    assert [out for out in _enricher(nlp_settings, sparse).enrich_batches(batches)] == [([], [])] * len(batches)


def test_overlapped_ingest_takes_no_step_past_a_barrier_before_the_earlier_ones_are_delivered(nlp_settings, sparse):
    from index.ingest import BARRIER

    steps = [batch for batch in _batches() if batch]
    events = []

    def source():
        for n, step in enumerate(steps):
            if n == 2:
                events.append("barrier")
                yield BARRIER
            events.append(("take", n))
            yield step

    outcomes = enrich_in_process(_enricher(nlp_settings, sparse))(source())
    for n, _ in enumerate(outcomes):
        events.append(("deliver", n))
    assert events.index(("take", 1)) < events.index(("deliver", 0))  # one step ahead, within a run of steps
    assert events.index(("deliver", 1)) < events.index(("take", 2))  # ... never past a barrier


def test_a_failing_step_source_is_raised_after_the_steps_it_gave_are_delivered(nlp_settings, sparse):
    steps = [batch for batch in _batches() if batch]

    def source():
        yield steps[0]
        yield steps[1]
        raise OSError("disk full")

    delivered = []
    with pytest.raises(OSError, match="disk full"):
        for outcome in enrich_in_process(_enricher(nlp_settings, sparse))(source()):
            delivered.append(outcome)
    assert len(delivered) == 2


def _warmed(tmp_path, monkeypatch, warm_up) -> Enricher:
    """A new enricher, in a home of its own, after `warm_up(enricher)`: both its encoders ran (their models
    load) and its embedding cache is empty."""
    from domain.settings import NlpSettings
    from nlp.cache import EmbeddingCache

    monkeypatch.setenv("SCOUT_HOME", str(tmp_path / "warm"))
    passages, sentences = Recording(), Recording(dim=DIM, name="hashing-multilingual")
    warm = Enricher(NlpSettings(model="hashing"), embedder=passages, multilingual=sentences)
    warm_up(warm)
    assert passages.calls and sentences.calls, "both encoders ran"
    assert len(EmbeddingCache(NlpSettings().cache_path)) == 0, "nothing stored"
    return warm


def test_warm_up_runs_both_encoders_stores_nothing_and_changes_no_result(tmp_path, monkeypatch):
    # what a Dask worker runs while the flow opens the index (flows.enrich.warm_worker): the encoders run (their
    # models load), the embedding cache stays empty, and the documents enriched afterwards are enriched as by a
    # cold enricher
    from domain.settings import NlpSettings

    docs = [_doc(1, "Quantum navigation", EN), _doc(2, "量子航法", JA)]
    monkeypatch.setenv("SCOUT_HOME", str(tmp_path / "cold"))
    expected, _ = Enricher(NlpSettings(model="hashing")).enrich(docs)
    warm = _warmed(tmp_path, monkeypatch, Enricher.warm_up)
    got, rejects = warm.enrich(docs)
    assert not rejects and [e.document for e in got] == [e.document for e in expected]
    # told to stop (the worker closes with no step to run), it loads nothing more
    stopped = Recording()
    Enricher(NlpSettings(model="hashing"), embedder=stopped).warm_up(stop=lambda: True)
    assert not stopped.calls
    for mine, theirs in zip(got, expected):
        assert mine.analysis == theirs.analysis and mine.sparse == theirs.sparse
        np.testing.assert_array_equal(mine.passage_vectors, theirs.passage_vectors)


def test_the_query_warm_up_runs_both_encoders_stores_nothing_and_changes_no_query(tmp_path, monkeypatch):
    # what `scout serve` runs as it starts (IndexLibrary.warm_up): a query of each language analysed and encoded
    # past the caches, so the models load; the cache stays empty, and queries afterwards are what a cold
    # enricher makes of them
    from domain.settings import NlpSettings

    queries = ["quantum navigation without GPS", "小型衛星による合成開口レーダー観測"]
    monkeypatch.setenv("SCOUT_HOME", str(tmp_path / "cold"))
    cold = Enricher(NlpSettings(model="hashing"))
    expected = [cold.query(q) for q in queries]
    warm = _warmed(tmp_path, monkeypatch, Enricher.warm_up_queries)
    # the queries it hands back (the library ranks them to warm the index up) are what `query` makes of them
    warm_ups = warm.warm_up_queries()
    assert [q.language for q in warm_ups] == ["en", "ja"]
    queries, expected = queries + [q.text for q in warm_ups], expected + [cold.query(q.text) for q in warm_ups]
    for query, theirs in zip(queries, expected):
        mine = warm.query(query)
        assert (mine.language, mine.concepts, mine.passages, mine.sparse, mine.readings) == (
            theirs.language, theirs.concepts, theirs.passages, theirs.sparse, theirs.readings)
        np.testing.assert_array_equal(mine.passage_vectors, theirs.passage_vectors)
