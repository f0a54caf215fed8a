"""Enrich flow: NLP + embeddings + index, only for new or changed documents."""

from __future__ import annotations

from prefect import flow, task
from prefect.artifacts import create_markdown_artifact

from domain.models import IngestStats
from service import operations


@task
def ingest_pending_batches() -> list[IngestStats]:
    """Compute task (no retries): a failure here is a bug or bad data, not a flaky network."""
    return operations.ingest_pending()


@flow(name="enrich")
def enrich() -> list[IngestStats]:
    results = ingest_pending_batches()
    rows = ["| batch | documents | new | updated | unchanged | rejected | passages embedded |",
            "|---|---:|---:|---:|---:|---:|---:|"]
    rows += [f"| {s.batch} | {s.documents} | {s.new} | {s.updated} | {s.unchanged} | {s.rejected} | "
             f"{s.passages_embedded} |" for s in results]
    rows += [f"\n**{s.batch} quarantined** (inbox/quarantine/): {s.quarantined}" for s in results if s.quarantined]
    create_markdown_artifact("# Enrich summary\n\n" + "\n".join(rows), key="enrich-summary")
    return results
