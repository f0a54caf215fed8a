"""Move crawl batches into the index: read, skip what is unchanged, enrich, upsert, flush, then retire the batch.

A batch file is retired (moved to `inbox/done/`) only after the index has flushed it, so a run killed at any
point is finished by the next run: upserts are idempotent (deterministic ids) and unchanged documents are
skipped by content hash, so nothing is duplicated and nothing is lost.
"""

from __future__ import annotations

import json
import logging
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, Sequence

from pydantic import ValidationError

from domain.files import private_dir, private_file
from domain.limits import bound_document
from domain.models import Document, IngestStats, Reject

# Documents enriched per step: progress is reported (and the index written) after each step, so a large batch
# shows its progress and never holds all its vectors in memory at once.
ENRICH_STEP = 32
# The run's last batch ends in shorter steps (half of what is left, down to this many documents): when its
# steps are enriched side by side (`run_ahead`), the workers then finish together instead of one enriching a
# last full step alone. Decided by the inbox alone, never by the runner, so an enrich fanned out makes the very
# steps one process makes (the int8 encoder's vectors depend on which texts share a step).
TAIL_STEP = 4
# The reason of a document recorded, not indexed, because its content is indexed under another id.
DUPLICATE = "duplicate content"

# progress(stage, done, total): stage "documents" (done of total documents of this run) or "passages"
# (passages embedded so far; total 0: not known in advance).
Progress = Callable[[str, int, int], None]

if TYPE_CHECKING:
    from index.store import Index
    from nlp.base import EnrichedDocument, Enricher

log = logging.getLogger(__name__)


def read_batch(path: Path) -> tuple[list[Document], list[Reject]]:
    """Parse a JSONL batch; a line that is not a valid document becomes a reject, not an exception."""
    docs: list[Document] = []
    rejects: list[Reject] = []
    with path.open(encoding="utf-8", errors="replace") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                docs.append(bound_document(Document.model_validate(json.loads(line))))
            except (json.JSONDecodeError, ValidationError, RecursionError) as exc:
                rejects.append(Reject(source=path.name, stage="index", reason="invalid batch line",
                                      detail=f"line {lineno}: {str(exc)[:300]}"))
    return docs, rejects


def batch_source(name: str) -> str:
    """The crawl source a batch file came from: the spiders name it `<source>-<UTC stamp>.jsonl`."""
    return name.rpartition("-")[0] or name


def per_source(batch_name: str, rejects: Iterable[Reject], duplicates: Iterable[Reject]) -> dict[str, dict[str, int]]:
    """{source: {"rejected": n, "duplicates": m}} for a batch; a line that was not a document is its batch's."""
    out: dict[str, dict[str, int]] = {}
    for kind, records in (("rejected", rejects), ("duplicates", duplicates)):
        for reject in records:
            source = batch_source(batch_name) if reject.source == batch_name else reject.source
            counts = out.setdefault(source, {"rejected": 0, "duplicates": 0})
            counts[kind] += 1
    return out


def append_rejects(path: Path, rejects: Iterable[Reject]) -> int:
    n = 0
    private_file(path)
    with path.open("a", encoding="utf-8") as fh:
        for reject in rejects:
            fh.write(reject.model_dump_json() + "\n")
            n += 1
    return n


def ingest_documents(docs: Sequence[Document], enricher: Enricher, index: Index, *, batch: str = "",
                     progress: Callable[[int, int], None] | None = None,
                     enrich_steps: EnrichSteps | None = None) -> tuple[IngestStats, list[Reject]]:
    """Enrich and upsert the new and changed documents, ENRICH_STEP at a time; count the unchanged ones.
    `progress(documents, passages)` hears how many of `docs` are done and the passages they embedded.
    `enrich_steps` enriches the steps elsewhere (other processes, other machines: `flows.enrich`); this
    function alone writes the index, step by step in the documents' order, whatever order the steps finish in."""
    work = _Batch(docs=list(docs))
    work.classify(index, batch)
    if progress:
        progress(work.done, 0)
    for outcome in (enrich_steps or enrich_in_process(enricher))(iter(work.steps)):
        work.write(outcome, index)
        if progress:
            progress(work.done, work.stats.passages_embedded)
    return work.finish(index)


class _Batch:
    """One batch on its way through ingest: its documents, which of them need enriching (split into steps), and
    what its written steps have added up to so far."""

    def __init__(self, docs: list[Document], path: Path | None = None, bad_lines: Sequence[Reject] = (),
                 unreadable: str | None = None):
        self.docs, self.path, self.bad_lines, self.unreadable = docs, path, list(bad_lines), unreadable
        self.steps: list[list[Document]] = []
        self.written = 0  # steps written so far
        self.done = 0  # documents done so far (written, rejected, unchanged or duplicates)
        self.rejects: list[Reject] = []
        self.failed: list[str] = []
        # what another batch's ingest reads of the index that this batch's writes may change
        self.keys = {f"id:{d.id}" for d in docs} | {f"hash:{d.content_hash}" for d in docs if d.content_hash}
        self.stats = IngestStats(batch=path.name if path else "")

    def classify(self, index: Index, name: str, last: bool = False) -> None:
        """Against the index as it is: which documents are new, changed (to enrich, in steps), duplicates of
        stored content, or unchanged. The run's `last` batch ends in shorter steps (`step_sizes`)."""
        self.stats = stats = IngestStats(batch=name, documents=len(self.docs))
        latest: dict[str, Document] = {}
        for doc in self.docs:  # a batch may hold one record twice: the later version wins
            latest[doc.id] = doc
        changed: list[Document] = []
        self.is_new: dict[str, bool] = {}
        # one lookup for the whole batch (it may cross a process boundary: see index.backends.remote)
        stored_docs = {doc_id: Document.model_validate(payload["document"])
                       for doc_id, payload in index.get_many(list(latest), ["document"]).items()}
        self.duplicates: list[Reject] = []
        # The same announcement crawled from two URLs (or a feed read from another base URL) gets another id: a
        # new id whose content is already indexed is recorded as a duplicate of the stored one, not indexed twice.
        owners = index.content_hash_owners([d.content_hash for d in latest.values()
                                            if d.id not in stored_docs and d.content_hash])
        for doc in latest.values():
            stored = stored_docs.get(doc.id)
            if stored is None:
                original = owners.get(doc.content_hash) if doc.content_hash else None
                if original is not None and original != doc.id:
                    self.duplicates.append(Reject(
                        source=doc.source, url=doc.url, stage="index", reason=DUPLICATE,
                        detail=f"same title and text as document {original}"))
                    continue
                if doc.content_hash:
                    owners[doc.content_hash] = doc.id  # a second copy later in this batch is a duplicate too
                self.is_new[doc.id] = True
                changed.append(doc)
            elif stored.content_hash != doc.content_hash:
                self.is_new[doc.id] = False
                changed.append(doc.model_copy(update={"first_seen": stored.first_seen}))
            else:
                stats.unchanged += 1
        self.done = len(self.docs) - len(changed)  # duplicates and unchanged documents are done already
        self.steps, start = [], 0
        for size in step_sizes(len(changed), last):
            self.steps.append(changed[start : start + size])
            start += size

    @property
    def complete(self) -> bool:
        return self.written == len(self.steps)

    def write(self, outcome: StepOutcome, index: Index) -> None:
        """Write the next step's outcome to the index (not yet flushed)."""
        step = self.steps[self.written]
        self.written += 1
        stats, enriched, step_rejects = self.stats, outcome.enriched, outcome.rejects
        if outcome.failure is not None:  # every document of this step failed: rejects, unless every step fails
            self.failed.append(outcome.failure)
            step_rejects = [Reject(source=d.source, url=d.url or None, stage="nlp",
                                   reason=f"enrich failed: {outcome.failure}", detail=f"document {d.id}") for d in step]
        self.rejects.extend(step_rejects)
        stats.new += sum(1 for e in enriched if self.is_new[e.document.id])
        stats.updated += sum(1 for e in enriched if not self.is_new[e.document.id])
        stats.passages_embedded += sum(len(e.analysis.passages) for e in enriched)
        if enriched:
            # written now (searches see it), made durable once, in finish(): a flush per step cost a sync each,
            # and the batch stays in the inbox until that flush, so a crash before it only repeats idempotent upserts
            index.upsert(enriched, flush=False)
        self.done += len(step)

    @property
    def failed_whole(self) -> bool:
        """Every step failed: `finish` raises BatchFailed."""
        return bool(self.steps) and len(self.failed) == len(self.steps)

    def finish(self, index: Index, flush: bool = True) -> tuple[IngestStats, list[Reject]]:
        """Every step written: flush (unless the caller has), and the batch's figures and rejects (BatchFailed if
        every step failed)."""
        if self.failed_whole:
            raise BatchFailed(self.failed[0])  # the whole batch failed: nothing was written
        self.stats.rejected = len(self.rejects)
        self.stats.duplicates = len(self.duplicates)
        if flush:
            index.flush()
        return self.stats, [*self.duplicates, *self.rejects]


def step_sizes(documents: int, last: bool = False) -> list[int]:
    """How many documents each step of a batch enriches: ENRICH_STEP; in the run's last batch, once less than
    two steps' worth is left, half of what is left until at most TAIL_STEP are, so the last steps are short."""
    sizes: list[int] = []
    left = documents
    while left > 0:
        size = min(ENRICH_STEP, -(-left // 2)) if last and left > TAIL_STEP else ENRICH_STEP
        sizes.append(min(size, left))
        left -= sizes[-1]
    return sizes


class BatchFailed(RuntimeError):
    """A batch whose enrichment failed as a whole (not one bad document: those are rejects)."""


@dataclass
class StepOutcome:
    """One step's enrichment, as it travels back from wherever it ran: the enriched documents and the rejects,
    or `failure` (why every document of the step failed, each alone too)."""

    enriched: list[EnrichedDocument] = field(default_factory=list)
    rejects: list[Reject] = field(default_factory=list)
    failure: str | None = None


# In the steps handed to `EnrichSteps`: every outcome of the steps before it must be delivered (and is written)
# before the next step is taken (a later batch reads what an earlier one writes).
BARRIER = None

# enrich_steps(steps) -> each step's outcome, in the steps' order, lazily: the writer takes them one by one, and
# `steps` (an iterator, possibly holding BARRIERs) is read only as far as the runner needs its next step. A runner
# may take steps ahead of the outcomes it has delivered (other processes enrich them meanwhile); when the writer
# stops early it closes the outcomes' generator, and the runner drops what it still has in flight.
EnrichSteps = Callable[[Iterator["list[Document] | None"]], Iterable[StepOutcome]]


def enrich_step(enricher: Enricher, docs: list[Document]) -> StepOutcome:
    """Enrich one step's documents (no index needed: what a worker process runs)."""
    try:
        enriched, rejects = _enrich(enricher, docs)
    except BatchFailed as exc:
        return StepOutcome(failure=str(exc))
    return StepOutcome(enriched, rejects)


def enrich_in_process(enricher: Enricher) -> EnrichSteps:
    """The steps enriched one after the other in this process: overlapped (`nlp.pipeline.Enricher.enrich_batches`:
    the next step is analysed and this one's passages embedded on both cores while the caller writes the last
    one) when the enricher can, with the same results."""
    if not hasattr(enricher, "enrich_batches"):
        return lambda steps: (enrich_step(enricher, step) for step in steps if step is not BARRIER)
    return lambda steps: _overlapped(enricher, iter(steps))


def _overlapped(enricher, steps: Iterator[list[Document] | None]) -> Iterator[StepOutcome]:
    """`enrich_step` of each step through the enricher's `enrich_batches`, which takes one step ahead of the
    outcome it delivers; at a BARRIER the stream ends (every step before it delivered) before the next step is
    taken. A stream that raises (past the per-document guards: a bug or the machine) has its undelivered steps
    enriched again by `enrich_step`, alone and then document by document, and a new stream goes on after them."""
    taken: deque = deque()  # steps handed to the stream whose outcomes are not delivered yet
    barrier = False
    source_failed: list[Exception] = []  # the steps' own iterator raised: re-raised once the taken are delivered

    def segment() -> Iterator[list[Document]]:
        nonlocal barrier
        while True:
            try:
                step = next(steps)
            except StopIteration:
                return
            except Exception as exc:  # noqa: BLE001 - not the enricher's: the writer sees it, as unoverlapped
                source_failed.append(exc)
                return
            if step is BARRIER:
                barrier = True
                return
            taken.append(step)
            yield step

    while True:
        barrier = False
        try:
            for enriched, rejects in enricher.enrich_batches(segment()):
                taken.popleft()
                yield StepOutcome(enriched, rejects)
        except (MemoryError, KeyboardInterrupt, OSError):
            raise  # the machine, not the batch (as `_enrich`)
        except Exception as exc:  # noqa: BLE001 - the steps are retried the way `enrich_step` retries them
            log.warning("overlapped enrich failed (%s); enriching its %d pending steps alone", _describe(exc),
                        len(taken))
            while taken:
                yield enrich_step(enricher, taken.popleft())
            if not source_failed:
                continue
        if source_failed:
            raise source_failed[0]
        if not barrier:
            return


def run_ahead(submit: Callable[[list[Document]], Any], window: int,
              cancel: Callable[[Any], object] = lambda future: future.cancel(),
              done: Callable[[Any], bool] = lambda future: future.done(),
              drained: Callable[[], object] | None = None) -> EnrichSteps:
    """Steps enriched elsewhere, ahead of the writer: `submit(step)` hands a step over and returns its future
    (`.result()` is its StepOutcome); up to `window` steps are in flight, across batches, while the writer writes
    the oldest. Outcomes are delivered in the steps' order whatever order they finish in; a BARRIER delivers every
    step before it before the next is submitted; a writer that stops early gets the rest cancelled. The outcomes
    can tell whether the next one is in already (`ready()`, from `done(future)`: the writer may then write it
    before it flushes); `drained()` is called once the last step's outcome is in, before it is delivered (the
    workers have nothing left to do)."""

    def run(steps: Iterator[list[Document] | None]) -> _RunAhead:
        return _RunAhead(steps, submit, window, cancel, done, drained)

    return run


class _RunAhead:
    """`run_ahead`'s outcomes: an iterator that also says whether the next outcome is in (`ready`)."""

    def __init__(self, steps, submit, window, cancel, done, drained) -> None:
        self.in_flight: deque = deque()
        self._done = done
        self._outcomes = self._run(steps, submit, window, cancel, drained)

    def __iter__(self) -> "_RunAhead":
        return self

    def __next__(self) -> StepOutcome:
        return next(self._outcomes)

    def close(self) -> None:
        self._outcomes.close()

    def ready(self) -> bool:
        return bool(self.in_flight) and bool(self._done(self.in_flight[0]))

    def _run(self, steps, submit, window, cancel, drained) -> Iterator[StepOutcome]:
        in_flight = self.in_flight
        try:
            for step in steps:
                if step is BARRIER:
                    while in_flight:
                        yield in_flight.popleft().result()
                    continue
                in_flight.append(submit(step))
                if len(in_flight) >= window:
                    yield in_flight.popleft().result()
            while in_flight:
                outcome = in_flight.popleft().result()
                if not in_flight and drained is not None:
                    drained()
                yield outcome
        finally:
            for future in in_flight:
                cancel(future)


def _enrich(enricher, docs: list[Document]) -> tuple[list, list[Reject]]:
    """Enrich `docs`; when the batch fails, each document is tried alone, so one bad document is a reject and
    its neighbours are kept. Raises BatchFailed only when every document fails alone too."""
    try:
        return enricher.enrich(docs)
    except (MemoryError, KeyboardInterrupt, OSError):
        raise  # the machine, not the batch: let it stop this run with the batch still in the inbox
    except Exception as batch_error:  # noqa: BLE001 - any failure of the batch is retried document by document
        if len(docs) == 1:
            raise BatchFailed(_describe(batch_error)) from batch_error
        log.warning("enrich of %d documents failed (%s); retrying one by one", len(docs), _describe(batch_error))
    enriched, rejects = [], []
    errors: list[str] = []
    for doc in docs:
        try:
            one, bad = enricher.enrich([doc])
        except (MemoryError, KeyboardInterrupt, OSError):
            raise
        except Exception as exc:  # noqa: BLE001
            errors.append(_describe(exc))
            rejects.append(Reject(source=doc.source, url=doc.url or None, stage="nlp",
                                  reason=f"enrich failed: {errors[-1]}", detail=f"document {doc.id}"))
            continue
        enriched += one
        rejects += bad
    if errors and len(errors) == len(docs):
        raise BatchFailed(errors[0])
    return enriched, rejects


def _describe(exc: BaseException) -> str:
    message = " ".join(str(exc).split()) or "no detail given"
    return f"{type(exc).__name__}: {message}"[:300]


def quarantine(path: Path, reason: str) -> Path:
    """Move a batch that cannot be ingested to `inbox/quarantine/`, its reason beside it; move it back to retry."""
    folder = path.parent / "quarantine"
    private_dir(folder)
    target = folder / path.name
    path.replace(target)
    target.with_name(target.name + ".reason.txt").write_text(reason + "\n", encoding="utf-8")
    log.error("batch %s quarantined in %s: %s", path.name, folder, reason)
    return target


def _lines(path: Path) -> int:
    try:
        with path.open("rb") as fh:
            return sum(1 for line in fh if line.strip())
    except OSError:
        return 0


def pending_batches(inbox_dir: Path) -> list[Path]:
    """Finished batch files, oldest first (a folder that happens to be named *.jsonl is not one)."""
    return sorted(p for p in inbox_dir.glob("*.jsonl") if p.is_file())


def ingest_inbox(
    inbox_dir: Path,
    enricher: Enricher,
    index: Index,
    *,
    rejects_path: Path,
    progress: Progress | None = None,
    check_space: Callable[[], object] | None = None,
    enrich_steps: EnrichSteps | None = None,
) -> list[IngestStats]:
    """Ingest every finished batch in the inbox, oldest first, retiring each once it is flushed.

    A batch that fails as a whole is quarantined with its reason and the next batches go on; when two batches
    in a row fail for the same reason the fault is not theirs (a broken model, say): the run stops with that
    reason and the rest of the inbox waits for the next run. `check_space` (e.g. `domain.files.check_free_space`)
    runs before each batch is read and written to the index: a disk too full stops the run before it writes.

    The index is written here alone, step by step and batch by batch in the order they arrived. `enrich_steps`
    may enrich ahead (the next batch's steps while this one's are still being written): a batch is classified
    (new, changed, unchanged, duplicate) ahead of its predecessors' writes only when it shares no document id
    and no content with any batch not yet retired; otherwise it waits for them (a BARRIER), as if read alone.
    """
    done_dir = inbox_dir / "done"
    private_dir(done_dir)
    results: list[IngestStats] = []
    paths = pending_batches(inbox_dir)
    total = sum(_lines(p) for p in paths) if progress else 0
    finished = {"documents": 0, "passages": 0, "last_failure": None}
    pending: deque[_Batch] = deque()  # read, not yet retired, in arrival order
    submitted: deque[_Batch] = deque()  # the batch of each step handed to the runner, in order

    def report(batch: _Batch | None = None) -> None:
        if progress:
            progress("documents", finished["documents"] + (batch.done if batch else 0), total)
            progress("passages", finished["passages"] + (batch.stats.passages_embedded if batch else 0), 0)

    def retire(batch: _Batch) -> None:
        """Retire (or quarantine) a batch whose steps are all written and flushed."""
        path = batch.path
        if batch.unreadable is not None:
            reason = f"unreadable batch: {batch.unreadable}"
            quarantine(path, reason)
            results.append(IngestStats(batch=path.name, quarantined=reason))
            return
        try:
            stats, rejects = batch.finish(index, flush=False)
        except BatchFailed as exc:
            reason = f"enrich failed for every document: {exc}"
            if reason == finished["last_failure"]:
                raise BatchFailed(f"{reason} (two batches in a row; {path.name} left in the inbox)") from exc
            quarantine(path, reason)
            finished["last_failure"] = reason
            results.append(IngestStats(batch=path.name, quarantined=reason))
            return
        finished["last_failure"] = None
        finished["documents"] += len(batch.docs) + len(batch.bad_lines)
        finished["passages"] += stats.passages_embedded
        stats.rejected += len(batch.bad_lines)
        stats.by_source = per_source(path.name, [*batch.bad_lines, *batch.rejects], batch.duplicates)
        append_rejects(rejects_path, [*batch.bad_lines, *rejects])
        path.replace(done_dir / path.name)  # only after index.flush(): see module docstring
        log.info("ingested %s: %s", path.name, stats.model_dump(exclude={"batch"}))
        results.append(stats)
        report()

    def retire_complete() -> None:
        """Flush once, then retire every batch whose steps are all written, in arrival order."""
        complete = []
        while pending and pending[0].complete:
            complete.append(pending.popleft())
        if any(b.unreadable is None and not b.failed_whole for b in complete):
            index.flush()
        for batch in complete:
            retire(batch)

    def steps() -> Iterator[list[Document] | None]:
        for number, path in enumerate(paths, 1):
            retire_complete()
            if check_space is not None:
                check_space()
            try:
                docs, bad_lines = read_batch(path)
                batch = _Batch(docs, path, bad_lines)
            except (UnicodeError, OSError) as exc:  # e.g. an unreadable file: not a batch we can ever ingest
                batch = _Batch([], path, unreadable=_describe(exc))
            if any(batch.keys & earlier.keys for earlier in pending):
                yield BARRIER  # every earlier step is written once the runner takes the next step
                retire_complete()
            if batch.unreadable is None:
                batch.classify(index, path.name, last=number == len(paths))
            pending.append(batch)
            for step in batch.steps:
                submitted.append(batch)
                yield step

    report()  # progress counts only what is written (or retired), so it never goes back
    outcomes = iter((enrich_steps or enrich_in_process(enricher))(steps()))
    # A runner that says its next outcome is in already (`run_ahead`): the batches completed meanwhile are
    # flushed and retired together after it is written (one flush for the run's last small batches, which
    # finish side by side), unless one of them failed as a whole (a run that stops for two such batches in a
    # row writes nothing after them).
    ready = getattr(outcomes, "ready", lambda: False)
    deferred = False
    try:
        for outcome in outcomes:
            batch = submitted.popleft()
            if not deferred:
                retire_complete()  # the batches before this one: all their steps are written
            batch.write(outcome, index)
            if batch is pending[0]:
                report(batch)
            deferred = ready() and not any(b.failed_whole for b in pending if b.complete)
            if not deferred:
                retire_complete()
        retire_complete()
        if pending:  # a runner that lost a step's outcome: its batch stays in the inbox for the next run
            raise RuntimeError(f"enrichment delivered no outcome for a step of {pending[0].path.name}")
    finally:
        close = getattr(outcomes, "close", None)
        if close:
            close()  # a run stopped early: the runner drops the steps it still has in flight
    return results
