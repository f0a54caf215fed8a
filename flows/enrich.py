"""Enrich flow: NLP + embeddings + index, only for new or changed documents.

By default one process enriches and writes. With `SCOUT_ENRICH_WORKERS=N` (a local Dask cluster of N worker
processes) or `SCOUT_ENRICH_SCHEDULER=tcp://...` (an existing Dask cluster), the steps of the batches are enriched
on Dask workers through Prefect's Dask task runner, a few steps ahead of the writer and across batches, and this
flow's process alone writes the index, step by step in the order the documents arrived (`index.ingest.run_ahead`).
A worker never opens the index; a step whose worker dies is run again elsewhere (Dask reschedules it), so nothing
is lost and nothing is written twice. The workers load their models while the flow opens the index, the longest
waiting step is handed out first, and the cluster closes while the last batch is flushed. Each step is told whether
the writer encodes multilingual sentence vectors for its index (not for an index created without their storage), so
the workers encode none the writer would drop. A local cluster's workers compute on their share of the cores each
(`SCOUT_ENRICH_THREADS`, default the cores shared out), one core's share on one thread.
"""

from __future__ import annotations

import logging
import threading

from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from prefect.artifacts import create_markdown_artifact

from domain.models import Document, IngestStats
from domain.settings import EnrichSettings
from index.ingest import run_ahead
from service import operations

log = logging.getLogger(__name__)


@task
def ingest_pending_batches() -> list[IngestStats]:
    """Compute task (no retries): a failure here is a bug or bad data, not a flaky network."""
    return operations.ingest_pending()


# A step that raised on its worker (out of memory, a broken file) is tried once more; a worker that died is
# Dask's to reschedule, a document that fails is a reject inside the step's outcome, not a task failure. No cache:
# a step is enriched once per run and its outcome goes straight to the writer (and hashing its inputs costs time).
@task(retries=1, retry_delay_seconds=2, cache_policy=NO_CACHE, persist_result=False)
def enrich_step(docs: list[Document], multilingual: bool = True):
    """Compute task, run on a Dask worker: nlp and embeddings of one step (`index.ingest.StepOutcome`);
    `multilingual`: whether the writer's enricher encodes the sentence vectors for its index."""
    return operations.enrich_step(docs, multilingual=multilingual)


def warm_worker() -> None:
    """Run on each Dask worker as an enrich starts (`Client.run`): the worker's models load on a thread of their
    own (`service.operations.worker_enricher`) while the flow opens the index and reads the inbox, so the first
    step finds them loaded; a worker that has them already (a cluster kept up) does nothing."""
    threading.Thread(target=operations.worker_enricher, kwargs={"warm": True}, name="enricher-warm-up",
                     daemon=True).start()


def _warm_workers(client) -> None:
    try:
        client.run(warm_worker)
    except Exception:  # noqa: BLE001 - a worker gone meanwhile: its steps load the models themselves
        log.debug("warming the Dask workers failed", exc_info=True)


def submit_step(runner, step: list[Document], multilingual: bool = True):
    """Hand one step to the Dask task runner. Its Dask priority is its length in characters: of the steps waiting
    for a worker the longest starts first, so the run ends on short steps and the workers finish together (the
    writer still takes the outcomes in the steps' order). `multilingual=False`: the worker encodes no sentence
    vectors (the index has no storage for them, or the writer's channel is off), as the writer's enricher does."""
    import dask

    with dask.annotate(priority=sum(len(d.title or "") + len(d.text or "") for d in step)):
        return runner.submit(enrich_step, {"docs": step, "multilingual": multilingual})


def enrich_on_dask(settings: EnrichSettings) -> list[IngestStats]:
    """The enrich with its steps on Dask workers, in this flow run (a subflow's start and end cost it a second:
    Prefect ends a flow run by joining its heartbeat thread, which sleeps in one-second naps). Three steps in
    flight per worker, across batches: each worker has its next one ready when it finishes, even while the
    oldest step (the next to be written) is still running elsewhere; memory stays bounded. Once the last step's
    outcome is in, the cluster (or this client) closes while this process writes, flushes and closes the index."""
    import dask

    from domain.settings import CrawlSettings
    from index.ingest import pending_batches

    runner = dask_task_runner(settings).__enter__()
    warming = threading.Thread(target=lambda: _warm_workers(runner.client), name="dask-warm-up", daemon=True)

    def close() -> None:
        if warming.ident is not None:
            warming.join(timeout=30)  # long done (it only starts the loading); a hung worker costs no more
            try:
                runner.client.run(operations.stop_warm_up)  # a warm-up still loading (no step came) stops
            except Exception:  # noqa: BLE001 - a worker gone meanwhile
                log.debug("waiting for the Dask workers' warm-up failed", exc_info=True)
        runner.__exit__(None, None, None)

    closing = threading.Thread(target=close, name="dask-close", daemon=True)
    try:
        # A local cluster starts here. Its scheduler hands a worker its next step only once it is free (Dask's
        # default lets each worker hold one more, in its own queue): the steps waiting run longest first on
        # whichever worker frees, and the run's last short steps spread over the workers instead of queuing
        # behind one. (A cluster of your own: set DASK_DISTRIBUTED__SCHEDULER__WORKER_SATURATION=1.0 on its
        # scheduler.)
        with dask.config.set({"distributed.scheduler.worker-saturation": 1.0}):
            client = runner.client
        if pending_batches(CrawlSettings().inbox_dir):  # else nothing to enrich: no models to load
            warming.start()  # the workers load their models while this process opens the index
        workers = len(client.scheduler_info(n_workers=-1)["workers"])

        def steps(multilingual: bool):  # once the index is open: whether its writer encodes sentence vectors
            return run_ahead(lambda step: submit_step(runner, step, multilingual), 3 * max(1, workers),
                             cancel=lambda future: future.wrapped_future.cancel(),
                             done=lambda future: future.wrapped_future.done(), drained=closing.start)

        return operations.ingest_pending(enrich_steps=steps)
    finally:
        if closing.ident is not None:  # started once the last outcome was in
            closing.join()
        else:  # no steps, or the run stopped early
            close()


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
        results = enrich_on_dask(settings)
    else:
        results = ingest_pending_batches()
    rows = ["| batch | documents | new | updated | unchanged | rejected | passages embedded |",
            "|---|---:|---:|---:|---:|---:|---:|"]
    rows += [f"| {s.batch} | {s.documents} | {s.new} | {s.updated} | {s.unchanged} | {s.rejected} | "
             f"{s.passages_embedded} |" for s in results]
    rows += [f"\n**{s.batch} quarantined** (inbox/quarantine/): {s.quarantined}" for s in results if s.quarantined]
    create_markdown_artifact("# Enrich summary\n\n" + "\n".join(rows), key="enrich-summary")
    return results
