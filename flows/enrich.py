"""Enrich flow: NLP + embeddings + index, only for new or changed documents.

By default one process enriches and writes. With `SCOUT_ENRICH_WORKERS=N` (a local Dask cluster of N worker
processes) or `SCOUT_ENRICH_SCHEDULER=tcp://...` (an existing Dask cluster), the steps of the batches are enriched
on Dask workers through Prefect's Dask task runner, a few steps ahead of the writer and across batches, and this
flow's process alone writes the index, step by step in the order the documents arrived (`index.ingest.run_ahead`).
A worker never opens the index; a step whose worker dies is run again elsewhere (Dask reschedules it), so nothing
is lost and nothing is written twice.
"""

from __future__ import annotations

from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from prefect.artifacts import create_markdown_artifact

from domain.models import Document, IngestStats
from domain.settings import EnrichSettings
from index.ingest import EnrichSteps, run_ahead
from service import operations


@task
def ingest_pending_batches() -> list[IngestStats]:
    """Compute task (no retries): a failure here is a bug or bad data, not a flaky network."""
    return operations.ingest_pending()


# A step that raised on its worker (out of memory, a broken file) is tried once more; a worker that died is
# Dask's to reschedule, a document that fails is a reject inside the step's outcome, not a task failure. No cache:
# a step is enriched once per run and its outcome goes straight to the writer (and hashing its inputs costs time).
@task(retries=1, retry_delay_seconds=2, cache_policy=NO_CACHE, persist_result=False)
def enrich_step(docs: list[Document]):
    """Compute task, run on a Dask worker: nlp and embeddings of one step (`index.ingest.StepOutcome`)."""
    return operations.enrich_step(docs)


def steps_on_workers(window: int) -> EnrichSteps:
    """`index.ingest.EnrichSteps` on the flow's Dask task runner: up to `window` steps in flight, across batches
    (the workers enrich the next steps while this process writes the last ones), written in the steps' order."""
    return run_ahead(enrich_step.submit, window, cancel=lambda future: future.wrapped_future.cancel())


@flow(name="enrich-on-dask")
def enrich_on_dask() -> list[IngestStats]:
    from prefect.context import FlowRunContext

    # three steps in flight per worker: each has its next one ready when it finishes, even while the oldest step
    # (the next to be written) is still running elsewhere; memory stays bounded
    workers = len(FlowRunContext.get().task_runner.client.scheduler_info(n_workers=-1)["workers"])
    return operations.ingest_pending(enrich_steps=steps_on_workers(3 * max(1, workers)))


def dask_task_runner(settings: EnrichSettings):
    """Prefect's Dask task runner for `settings`: the scheduler's cluster, or a local one of `workers` processes
    with one thread each and their share of the cores (or `threads`) for the models. The workers report their task
    runs to this flow's Prefect API (a local cluster gets its address; remote workers need PREFECT_API_URL)."""
    from prefect import get_client
    from prefect_dask import DaskTaskRunner

    if settings.scheduler:
        return DaskTaskRunner(address=settings.scheduler)
    from nlp.embedder import physical_cores

    env = {"PREFECT_API_URL": str(get_client(sync_client=True).api_url),
           "SCOUT_NLP_THREADS": str(settings.threads or max(1, physical_cores() // settings.workers))}
    return DaskTaskRunner(cluster_class="distributed.LocalCluster", cluster_kwargs={
        "n_workers": settings.workers, "threads_per_worker": 1, "processes": True, "dashboard_address": None,
        "env": env})


@flow(name="enrich")
def enrich() -> list[IngestStats]:
    settings = EnrichSettings()
    if settings.fans_out:
        results = enrich_on_dask.with_options(task_runner=dask_task_runner(settings))()
    else:
        results = ingest_pending_batches()
    rows = ["| batch | documents | new | updated | unchanged | rejected | passages embedded |",
            "|---|---:|---:|---:|---:|---:|---:|"]
    rows += [f"| {s.batch} | {s.documents} | {s.new} | {s.updated} | {s.unchanged} | {s.rejected} | "
             f"{s.passages_embedded} |" for s in results]
    rows += [f"\n**{s.batch} quarantined** (inbox/quarantine/): {s.quarantined}" for s in results if s.quarantined]
    create_markdown_artifact("# Enrich summary\n\n" + "\n".join(rows), key="enrich-summary")
    return results
