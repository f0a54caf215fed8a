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
    if later == "update":
        assert flushes[1] < order[("take", again[0].id)]


def test_a_run_stopped_by_failures_writes_nothing_of_the_batches_it_enriched_ahead(tmp_path):
    good, poison = docs(0, 3), [doc(10, "POISON"), doc(11, "POISON")]
    batches = [good, poison[:1], poison[1:], docs(100, 40), docs(200, 3)]
    with ThreadPoolExecutor(2) as pool, pytest.raises(BatchFailed, match="two batches in a row"):
        ingest(tmp_path, "ahead", batches, ShuffledEnricher(5), 8, pool)
    inbox = tmp_path / "ahead" / "inbox"
    assert sorted(p.name for p in inbox.glob("*.jsonl")) == ["b-2.jsonl", "b-3.jsonl", "b-4.jsonl"]
    assert [p.name for p in (inbox / "quarantine").glob("*.jsonl")] == ["b-1.jsonl"]
    assert [p.name for p in (inbox / "done").glob("*.jsonl")] == ["b-0.jsonl"]
