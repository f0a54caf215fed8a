"""Move crawl batches into the index: read, skip what is unchanged, enrich, upsert, flush, then retire the batch.

A batch file is retired (moved to `inbox/done/`) only after the index has flushed it, so a run killed at any
point is finished by the next run: upserts are idempotent (deterministic ids) and unchanged documents are
skipped by content hash, so nothing is duplicated and nothing is lost.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable, Iterator, Sequence

from pydantic import ValidationError

from domain.files import private_dir, private_file
from domain.limits import bound_document
from domain.models import Document, IngestStats, Reject

# Documents enriched per step: progress is reported (and the index written) after each step, so a large batch
# shows its progress and never holds all its vectors in memory at once.
ENRICH_STEP = 32

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
    stats = IngestStats(batch=batch, documents=len(docs))
    latest: dict[str, Document] = {}
    for doc in docs:  # a batch may hold one record twice: the later version wins
        latest[doc.id] = doc
    changed: list[Document] = []
    is_new: dict[str, bool] = {}
    # one lookup for the whole batch (it may cross a process boundary: see index.backends.remote)
    stored_docs = {doc_id: Document.model_validate(payload["document"])
                   for doc_id, payload in index.get_many(list(latest), ["document"]).items()}
    duplicates: list[Reject] = []
    # The same announcement crawled from two URLs (or a feed read from another base URL) gets another id: a new
    # id whose content is already indexed is recorded as a duplicate of the stored one, not indexed twice.
    owners = index.content_hash_owners([d.content_hash for d in latest.values()
                                        if d.id not in stored_docs and d.content_hash])
    for doc in latest.values():
        stored = stored_docs.get(doc.id)
        if stored is None:
            original = owners.get(doc.content_hash) if doc.content_hash else None
            if original is not None and original != doc.id:
                duplicates.append(Reject(source=doc.source, url=doc.url, stage="index", reason="duplicate content",
                                         detail=f"same title and text as document {original}"))
                continue
            if doc.content_hash:
                owners[doc.content_hash] = doc.id  # a second copy later in this batch is a duplicate too
            is_new[doc.id] = True
            changed.append(doc)
        elif stored.content_hash != doc.content_hash:
            is_new[doc.id] = False
            changed.append(doc.model_copy(update={"first_seen": stored.first_seen}))
        else:
            stats.unchanged += 1
    rejects: list[Reject] = []
    done = len(docs) - len(changed)  # duplicates and unchanged documents are done already
    if progress:
        progress(done, 0)
    steps = [changed[i : i + ENRICH_STEP] for i in range(0, len(changed), ENRICH_STEP)]
    failed: list[str] = []
    outcomes = (enrich_steps or enrich_in_process(enricher))(steps)
    for step, outcome in zip(steps, outcomes, strict=True):
        enriched, step_rejects = outcome.enriched, outcome.rejects
        if outcome.failure is not None:  # every document of this step failed: rejects, unless every step fails
            failed.append(outcome.failure)
            step_rejects = [Reject(source=d.source, url=d.url or None, stage="nlp",
                                   reason=f"enrich failed: {outcome.failure}", detail=f"document {d.id}") for d in step]
        rejects.extend(step_rejects)
        stats.new += sum(1 for e in enriched if is_new[e.document.id])
        stats.updated += sum(1 for e in enriched if not is_new[e.document.id])
        stats.passages_embedded += sum(len(e.analysis.passages) for e in enriched)
        if enriched:
            # written now (searches see it), made durable once, below: a flush per step cost a sync each, and
            # the batch stays in the inbox until that flush, so a crash before it only repeats idempotent upserts
            index.upsert(enriched, flush=False)
        done += len(step)
        if progress:
            progress(done, stats.passages_embedded)
    if steps and len(failed) == len(steps):
        raise BatchFailed(failed[0])  # the whole batch failed: nothing was written
    stats.rejected = len(rejects)
    stats.duplicates = len(duplicates)
    rejects = [*duplicates, *rejects]
    index.flush()
    return stats, rejects


class BatchFailed(RuntimeError):
    """A batch whose enrichment failed as a whole (not one bad document: those are rejects)."""


@dataclass
class StepOutcome:
    """One step's enrichment, as it travels back from wherever it ran: the enriched documents and the rejects,
    or `failure` (why every document of the step failed, each alone too)."""

    enriched: list[EnrichedDocument] = field(default_factory=list)
    rejects: list[Reject] = field(default_factory=list)
    failure: str | None = None


# enrich_steps(steps) -> each step's outcome, in the steps' order (lazily: the writer takes them one by one)
EnrichSteps = Callable[[list[list[Document]]], Iterable[StepOutcome]]


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
        return lambda steps: (enrich_step(enricher, step) for step in steps)
    return lambda steps: _overlapped(enricher, list(steps))


def _overlapped(enricher, steps: list[list[Document]]) -> Iterator[StepOutcome]:
    """`enrich_step` of each step through the enricher's `enrich_batches`. A step whose stream raises (past the
    per-document guards: a bug or the machine) is enriched again by `enrich_step`, alone and then document by
    document, and the stream starts again after it."""
    i = 0
    while i < len(steps):
        try:
            for enriched, rejects in enricher.enrich_batches(steps[i:]):
                yield StepOutcome(enriched, rejects)
                i += 1
        except (MemoryError, KeyboardInterrupt, OSError):
            raise  # the machine, not the batch (as `_enrich`)
        except Exception as exc:  # noqa: BLE001 - the step is retried the way `enrich_step` retries it
            log.warning("overlapped enrich of step %d failed (%s); enriching it alone", i + 1, _describe(exc))
            yield enrich_step(enricher, steps[i])
            i += 1


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
    runs before each batch is written to the index: a disk too full stops the run before it writes, not midway.
    """
    done_dir = inbox_dir / "done"
    private_dir(done_dir)
    results: list[IngestStats] = []
    last_failure: str | None = None
    paths = pending_batches(inbox_dir)
    total = sum(_lines(p) for p in paths) if progress else 0
    finished = {"documents": 0, "passages": 0}
    for path in paths:
        step_progress = None
        if progress:
            progress("documents", finished["documents"], total)

            def step_progress(documents: int, passages: int) -> None:
                progress("documents", finished["documents"] + documents, total)
                progress("passages", finished["passages"] + passages, 0)

        if check_space is not None:
            check_space()
        try:
            docs, bad_lines = read_batch(path)
        except (UnicodeError, OSError) as exc:  # e.g. an unreadable file: not a batch we can ever ingest
            reason = f"unreadable batch: {_describe(exc)}"
            quarantine(path, reason)
            results.append(IngestStats(batch=path.name, quarantined=reason))
            continue
        try:
            stats, rejects = ingest_documents(docs, enricher, index, batch=path.name, progress=step_progress,
                                              enrich_steps=enrich_steps)
        except BatchFailed as exc:
            reason = f"enrich failed for every document: {exc}"
            if reason == last_failure:
                raise BatchFailed(f"{reason} (two batches in a row; {path.name} left in the inbox)") from exc
            quarantine(path, reason)
            last_failure = reason
            results.append(IngestStats(batch=path.name, quarantined=reason))
            continue
        last_failure = None
        finished["documents"] += len(docs) + len(bad_lines)
        finished["passages"] += stats.passages_embedded
        stats.rejected += len(bad_lines)
        append_rejects(rejects_path, [*bad_lines, *rejects])
        path.replace(done_dir / path.name)  # only after index.flush(): see module docstring
        log.info("ingested %s: %s", path.name, stats.model_dump(exclude={"batch"}))
        results.append(stats)
    return results
