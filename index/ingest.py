"""Move crawl batches into the index: read, skip what is unchanged, enrich, upsert, flush, then retire the batch.

A batch file is retired (moved to `inbox/done/`) only after the index has flushed it, so a run killed at any
point is finished by the next run: upserts are idempotent (deterministic ids) and unchanged documents are
skipped by content hash, so nothing is duplicated and nothing is lost.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable, Sequence

from pydantic import ValidationError

from domain.models import Document, IngestStats, Reject

if TYPE_CHECKING:
    from index.store import Index
    from nlp.base import Enricher

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
                docs.append(Document.model_validate(json.loads(line)))
            except (json.JSONDecodeError, ValidationError) as exc:
                rejects.append(Reject(source=path.name, stage="index", reason="invalid batch line",
                                      detail=f"line {lineno}: {str(exc)[:300]}"))
    return docs, rejects


def append_rejects(path: Path, rejects: Iterable[Reject]) -> int:
    n = 0
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as fh:
        for reject in rejects:
            fh.write(reject.model_dump_json() + "\n")
            n += 1
    return n


def ingest_documents(docs: Sequence[Document], enricher: Enricher, index: Index, *, batch: str = "") -> tuple[IngestStats, list[Reject]]:
    """Enrich and upsert the new and changed documents; count the unchanged ones."""
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
    enriched, rejects = enricher.enrich(changed) if changed else ([], [])
    stats.rejected = len(rejects)
    stats.duplicates = len(duplicates)
    rejects = [*duplicates, *rejects]
    stats.new = sum(1 for e in enriched if is_new[e.document.id])
    stats.updated = len(enriched) - stats.new
    stats.passages_embedded = sum(len(e.analysis.passages) for e in enriched)
    if enriched:
        index.upsert(enriched)
    index.flush()
    return stats, rejects


def ingest_inbox(
    inbox_dir: Path,
    enricher: Enricher,
    index: Index,
    *,
    rejects_path: Path,
    progress: Callable[[str], None] | None = None,
) -> list[IngestStats]:
    """Ingest every finished batch in the inbox, oldest first, retiring each once it is flushed."""
    done_dir = inbox_dir / "done"
    done_dir.mkdir(parents=True, exist_ok=True)
    results: list[IngestStats] = []
    for path in sorted(inbox_dir.glob("*.jsonl")):
        if progress:
            progress(path.name)
        docs, bad_lines = read_batch(path)
        stats, rejects = ingest_documents(docs, enricher, index, batch=path.name)
        stats.rejected += len(bad_lines)
        append_rejects(rejects_path, [*bad_lines, *rejects])
        path.replace(done_dir / path.name)  # only after index.flush(): see module docstring
        log.info("ingested %s: %s", path.name, stats.model_dump(exclude={"batch"}))
        results.append(stats)
    return results
