"""Ingest with enrichment run ahead of the writer (what the enrich flow does on Dask, `index.ingest.run_ahead`):
the next batches' steps are enriched while earlier ones are still being written. Whatever order the steps finish
in, the index is written in the order the documents arrived and ends as a one-by-one ingest leaves it; a batch
that reads what an earlier one writes (the same document updated, the same content under another id) waits for
it; a run that stops early writes nothing of the batches it had started ahead and leaves them in the inbox."""

from __future__ import annotations

import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from domain.models import Document
from index.ingest import BARRIER, BatchFailed, enrich_step, ingest_inbox, run_ahead
from tests.index.test_ingest import DictIndex, PickyEnricher, doc, write


class LoggingIndex(DictIndex):
    """A DictIndex that logs every write (the ids of each upsert, each flush) in `events`."""

    def __init__(self, events: list) -> None:
        super().__init__()
        self.events = events

    def upsert(self, enriched, *, flush: bool = True) -> None:
        self.events.append(("write", tuple(e.document.id for e in enriched)))
        super().upsert(enriched, flush=flush)

    def flush(self) -> None:
        self.events.append(("flush",))
        super().flush()


class ShuffledEnricher(PickyEnricher):
    """Takes a random short while per step, so steps run side by side on a thread pool finish in any order."""

    def __init__(self, seed: int):
        super().__init__()
        self.random, self.lock = random.Random(seed), threading.Lock()

    def enrich(self, docs):
        with self.lock:
            pause = self.random.random() / 50
        time.sleep(pause)
        return super().enrich(docs)


def ahead(enricher, pool: ThreadPoolExecutor, events: list, window: int = 4):
    """`run_ahead` on a thread pool, logging each step taken (its first document id) and each barrier."""

    def submit(step):
        events.append(("take", step[0].id))
        return pool.submit(enrich_step, enricher, step)

    inner = run_ahead(submit, window)

    def run(steps):
        def logged():
            for step in steps:
                if step is BARRIER:
                    events.append(("barrier",))
                yield step

        return inner(logged())

    return run


def docs(first: int, n: int, text: str = "A metamaterial absorber for radar.") -> list:
    return [doc(i, f"{text} Work {i}.") for i in range(first, first + n)]


def ingest(tmp_path, name, batches, enricher, window=None, pool=None):
    """Ingest `batches` (lists of documents, as inbox files in that order): one by one, or run ahead."""
    inbox, events = tmp_path / name / "inbox", []
    for n, batch in enumerate(batches):
        write(inbox, f"b-{n}.jsonl", batch)
    index = LoggingIndex(events)
    steps = ahead(enricher, pool, events, window) if window else None
    progress = index.progress = []
    results = ingest_inbox(inbox, enricher, index, rejects_path=tmp_path / name / "rejects.jsonl", enrich_steps=steps,
                           progress=lambda stage, done, total: progress.append((stage, done, total)))
    return results, index, events, inbox


def written(events) -> list[str]:
    return [i for e in events if e[0] == "write" for i in e[1]]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_batches_enriched_ahead_are_written_in_arrival_order(tmp_path, seed):
    batches = [docs(0, 70), docs(100, 10), docs(200, 40), docs(300, 1)]  # steps of 32: 3 + 1 + 2 + 1
    alone, one_index, one_events, _ = ingest(tmp_path, "alone", batches, PickyEnricher())
    with ThreadPoolExecutor(2) as pool:
        results, index, events, inbox = ingest(tmp_path, "ahead", batches, ShuffledEnricher(seed), 4, pool)
    assert written(events) == [d.id for b in batches for d in b] == written(one_events)
    assert [r.model_dump() for r in results] == [r.model_dump() for r in alone]
    assert index.docs == one_index.docs and not list(inbox.glob("*.jsonl"))
    # the runs did overlap: a later batch's first step was taken before the batch before it was flushed
    order = {e: n for n, e in enumerate(events)}
    flushes = [n for n, e in enumerate(events) if e == ("flush",)]
    assert order[("take", doc(100).id)] < flushes[0] and order[("take", doc(200).id)] < flushes[1]
    assert ("barrier",) not in events, "no batch reads what another writes: nothing waits"
    # progress counts what is written: it never goes back, and ends at every document
    documents = [done for stage, done, _ in index.progress if stage == "documents"]
    assert documents == sorted(documents) and documents[-1] == 121 and documents[0] == 0


@pytest.mark.parametrize("later", ["update", "copy"])
def test_a_batch_that_reads_what_an_earlier_batch_writes_waits_for_it(tmp_path, later):
    first = docs(0, 40)
    if later == "update":  # the same id, another text: an update, its first sighting kept
        again = [doc(5, "Revised: a metamaterial radar absorber.")]
    else:  # another id, the same content: a duplicate of the stored document
        again = [Document.make(kind="research", source="openalex", source_id="W999", url="https://example.org/999",
                               title=first[7].title, text=first[7].text)]
    batches = [first, docs(100, 5), again, docs(200, 5)]
    alone, one_index, _, _ = ingest(tmp_path, "alone", batches, PickyEnricher())
    with ThreadPoolExecutor(2) as pool:
        results, index, events, _ = ingest(tmp_path, "ahead", batches, ShuffledEnricher(4), 4, pool)
    assert [r.model_dump() for r in results] == [r.model_dump() for r in alone]
    assert (results[2].updated, results[2].duplicates) == ((1, 0) if later == "update" else (0, 1))
    assert index.docs == one_index.docs
    # the batch after the first did not wait; the one reading the first batch's documents waited for its flush
    order = {e: n for n, e in enumerate(events)}
    flushes = [n for n, e in enumerate(events) if e == ("flush",)]
    [barrier] = [n for n, e in enumerate(events) if e == ("barrier",)]
    assert order[("take", doc(100).id)] < flushes[0] and barrier < flushes[0] < order[("take", doc(200).id)]
    if later == "update":  # every batch before it was written and flushed (one flush may cover several) first
        before = max(f for f in flushes if f < order[("take", again[0].id)])
        assert set(written(events[:before])) == {d.id for b in batches[:2] for d in b}


def test_a_run_stopped_by_failures_writes_nothing_of_the_batches_it_enriched_ahead(tmp_path):
    good, poison = docs(0, 3), [doc(10, "POISON"), doc(11, "POISON")]
    batches = [good, poison[:1], poison[1:], docs(100, 40), docs(200, 3)]
    with ThreadPoolExecutor(2) as pool, pytest.raises(BatchFailed, match="two batches in a row"):
        ingest(tmp_path, "ahead", batches, ShuffledEnricher(5), 8, pool)
    inbox = tmp_path / "ahead" / "inbox"
    assert sorted(p.name for p in inbox.glob("*.jsonl")) == ["b-2.jsonl", "b-3.jsonl", "b-4.jsonl"]
    assert [p.name for p in (inbox / "quarantine").glob("*.jsonl")] == ["b-1.jsonl"]
    assert [p.name for p in (inbox / "done").glob("*.jsonl")] == ["b-0.jsonl"]


class StepLog(PickyEnricher):
    """Notes the documents of every step it enriches (a step is one `enrich` call), in `steps`."""

    def __init__(self):
        super().__init__()
        self.steps, self.lock = [], threading.Lock()

    def enrich(self, docs):
        with self.lock:
            self.steps.append(tuple(d.id for d in docs))
        return super().enrich(docs)


class Finished:
    """A future already finished (a runner whose steps are all done by the time the writer asks)."""

    def __init__(self, outcome):
        self.outcome = outcome

    def result(self):
        return self.outcome

    def done(self):
        return True

    def cancel(self):
        return False


def test_the_runs_last_batch_ends_in_short_steps_the_same_whatever_enriches_them(tmp_path):
    # the last batch's 40 documents: 20 + 10 + 5 + 3 + 2 (half of what is left, down to TAIL_STEP); the batches
    # before it keep steps of 32. One process and four threads enrich the very same steps (the int8 encoder's
    # vectors depend on which texts share a step), and the index is written in the documents' order.
    batches = [docs(0, 40), docs(100, 10), docs(200, 40)]
    alone_enricher, ahead_enricher = StepLog(), StepLog()
    alone, one_index, one_events, _ = ingest(tmp_path, "alone", batches, alone_enricher)
    with ThreadPoolExecutor(4) as pool:
        results, index, events, inbox = ingest(tmp_path, "ahead", batches, ahead_enricher, 6, pool)
    sizes = [len(step) for step in alone_enricher.steps]
    assert sizes == [32, 8, 10, 20, 10, 5, 3, 2]
    assert sorted(ahead_enricher.steps) == sorted(alone_enricher.steps)
    assert written(events) == [d.id for b in batches for d in b] == written(one_events)
    assert [r.model_dump() for r in results] == [r.model_dump() for r in alone]
    assert index.docs == one_index.docs and not list(inbox.glob("*.jsonl"))


def test_batches_finished_together_are_flushed_once_and_each_retired_after_its_flush(tmp_path, monkeypatch):
    # every step's outcome is in before the writer asks for it (as at the end of a run on Dask, where the last
    # small batches finish side by side): the completed batches share one flush, and a batch is retired (moved to
    # inbox/done/) only once every one of its documents is written and flushed
    from index import ingest as ingest_module

    batches = [docs(0, 40), docs(100, 3), docs(200, 3), docs(300, 3), docs(400, 2)]
    inbox, events = tmp_path / "inbox", []
    for n, batch in enumerate(batches):
        write(inbox, f"b-{n}.jsonl", batch)
    append = ingest_module.append_rejects
    monkeypatch.setattr(ingest_module, "append_rejects", lambda path, rejects: events.append(("retire",))
                        or append(path, rejects))  # what a batch's retirement does just before its move
    index, enricher = LoggingIndex(events), PickyEnricher()
    runner = run_ahead(lambda step: Finished(enrich_step(enricher, step)), window=8)
    results = ingest_inbox(inbox, enricher, index, rejects_path=tmp_path / "rejects.jsonl", enrich_steps=runner,
                           progress=lambda stage, done, total: events.append(("progress", done))
                           if stage == "documents" else None)
    assert [r.new for r in results] == [len(b) for b in batches] and not list(inbox.glob("*.jsonl"))
    assert written(events) == [d.id for b in batches for d in b]
    flushes = [n for n, e in enumerate(events) if e == ("flush",)]
    retires = [n for n, e in enumerate(events) if e == ("retire",)]
    assert len(retires) == len(batches) and 1 <= len(flushes) < len(batches)
    for batch, n in zip(batches, retires):
        last_flush = max(f for f in flushes if f < n)
        assert {d.id for d in batch} <= set(written(events[:last_flush])), "retired before written and flushed"
    # progress counts what is written: never more, never going back, ending at every document
    for n, event in enumerate(events):
        if event[0] == "progress":
            assert event[1] <= len(written(events[:n]))
    documents = [e[1] for e in events if e[0] == "progress"]
    assert documents == sorted(documents) and documents[-1] == sum(len(b) for b in batches)


def test_a_run_stopped_by_failures_writes_nothing_after_them_when_every_outcome_is_in(tmp_path):
    # as above, every outcome in before the writer asks: the batches after two whole failures are not written
    good, poison = docs(0, 3), [doc(10, "POISON"), doc(11, "POISON")]
    batches = [good, poison[:1], poison[1:], docs(100, 40), docs(200, 3)]
    inbox, events = tmp_path / "inbox", []
    for n, batch in enumerate(batches):
        write(inbox, f"b-{n}.jsonl", batch)
    enricher = PickyEnricher()
    runner = run_ahead(lambda step: Finished(enrich_step(enricher, step)), window=8)
    with pytest.raises(BatchFailed, match="two batches in a row"):
        ingest_inbox(inbox, enricher, LoggingIndex(events), rejects_path=tmp_path / "rejects.jsonl",
                     enrich_steps=runner)
    assert written(events) == [d.id for d in good]
    assert sorted(p.name for p in inbox.glob("*.jsonl")) == ["b-2.jsonl", "b-3.jsonl", "b-4.jsonl"]


def test_drained_is_heard_once_every_outcome_is_in_before_the_last_is_delivered():
    heard, delivered = [], []
    with ThreadPoolExecutor(2) as pool:
        runner = run_ahead(lambda step: pool.submit(lambda: step), window=3,
                           drained=lambda: heard.append(len(delivered)))
        for outcome in runner(iter([[doc(1)], [doc(2)], BARRIER, [doc(3)], [doc(4)], [doc(5)]])):
            delivered.append(outcome)
    assert [s[0].id for s in delivered] == [doc(n).id for n in (1, 2, 3, 4, 5)]
    assert heard == [4], "once, after four were delivered and the fifth was in"
