"""Move crawl batches into the index: read, skip what is unchanged, enrich, upsert, flush, then retire the batch.

A batch file is retired (moved to `inbox/done/`) only after the index has flushed it, so a run killed at any
point is finished by the next run: upserts are idempotent (deterministic ids) and unchanged documents are
skipped by content hash, so nothing is duplicated and nothing is lost.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Callable, Iterable, Sequence

from pydantic import ValidationError

from domain.limits import bound_document
from domain.models import Document, IngestStats, Reject

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
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as fh:
        for reject in rejects:
            fh.write(reject.model_dump_json() + "\n")
            n += 1
    return n


def ingest_documents(docs: Sequence[Document], enricher, index, *, batch: str = "") -> tuple[IngestStats, list[Reject]]:
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
    for doc in latest.values():
        stored = stored_docs.get(doc.id)
        if stored is None:
            is_new[doc.id] = True
            changed.append(doc)
        elif stored.content_hash != doc.content_hash:
            is_new[doc.id] = False
            changed.append(doc.model_copy(update={"first_seen": stored.first_seen}))
        else:
            stats.unchanged += 1
    enriched, rejects = enricher.enrich(changed) if changed else ([], [])
    stats.rejected = len(rejects)
    stats.new = sum(1 for e in enriched if is_new[e.document.id])
    stats.updated = len(enriched) - stats.new
    stats.passages_embedded = sum(len(e.analysis.passages) for e in enriched)
    if enriched:
        index.upsert(enriched)
    index.flush()
    return stats, rejects


def ingest_inbox(
    inbox_dir: Path,
    enricher,
    index,
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
