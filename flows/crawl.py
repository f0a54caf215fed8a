"""Crawl flow: one subflow per source, each crawl in its own process (Scrapy's reactor cannot restart).

With `SCOUT_CRAWL_DEPLOYMENT` set (the daily deployment sets it), each source is a flow run of the `crawl-source`
deployment instead, so the workers of the pool crawl different sources at the same time, on one machine or many.

A source that cannot be crawled (no credentials, every request failed) fails its own subflow; the others
still run, and the crawl flow ends Failed naming it, with every source's counts in its summary. An optional
source without credentials is skipped (state "Skipped", a warning in the log) and fails nothing.
"""

from __future__ import annotations

import uuid

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.states import Completed, Failed

from domain.models import CrawlStats, SourceSpec
from service import operations


def _worth_retrying(task, task_run, state) -> bool:
    """A site that is down may come back; missing credentials or a bad argument will not."""
    from spiders.runner import SourceUnavailable, UnknownSpiderError

    exc = state.result(raise_on_failure=False)
    if isinstance(exc, SourceUnavailable):
        return not exc.not_configured
    return not isinstance(exc, (UnknownSpiderError, ValueError))


@task(retries=2, retry_delay_seconds=[30, 120], retry_condition_fn=_worth_retrying, tags=["network"])
def fetch_source(source: SourceSpec) -> CrawlStats:
    """Network task: runs the spider in a subprocess; a site that is down is retried with backoff."""
    from spiders.runner import run_crawl

    return run_crawl(source.spider, **source.args)


@task
def record_crawl(stats: CrawlStats, run_id: str) -> None:
    operations.record_crawl(stats, run_id)


# These flows return a State carrying their figures (Failed, Skipped): Prefect reads such a flow's result from
# its state, and when a busy server answers a state proposal late, that state comes back from the API without
# its data (MissingResult). Persisted (a few KB, in Prefect's local storage), the data is read back from there.
@flow(name="crawl-source", flow_run_name="crawl-{source.spider}", persist_result=True)
def crawl_source(source: SourceSpec, run_id: str = ""):
    from spiders.runner import SourceUnavailable

    try:
        stats = fetch_source(source)
    except SourceUnavailable as exc:
        record_crawl(exc.stats, run_id)
        if exc.not_configured and source.optional:
            get_run_logger().warning("skipped optional source %s: %s", source.name, exc)
            return Completed(name="Skipped", message=f"skipped: {exc}", data=exc.stats)
        return Failed(message=str(exc), data=exc.stats)
    record_crawl(stats, run_id)
    return stats


def crawl_summary_markdown(results: list[CrawlStats], status: dict[str, str] | None = None,
                           names: list[str] | None = None) -> str:
    status = status or {}
    names = names or [s.source for s in results]
    rows = ["| source | status | fetched | new | updated | unchanged | rejected |",
            "|---|---|---:|---:|---:|---:|---:|"]
    for name, s in zip(names, results):
        rows.append(f"| {name} | {status.get(name, 'ok')} | {s.fetched} | {s.new} | {s.updated} | "
                    f"{s.unchanged} | {s.rejected} |")
    return "# Crawl summary\n\n" + "\n".join(rows)


def source_outcome(source: SourceSpec, state) -> tuple[CrawlStats, str]:
    """(stats, status) of one crawl-source run: status is ok, skipped or "failed: <reason>"."""
    data = state.result(raise_on_failure=False)
    if isinstance(data, BaseException):  # the crawl broke before it could count anything
        return CrawlStats(source=source.name, errors=[str(data)]), f"failed: {data}"
    stats = data if isinstance(data, CrawlStats) else CrawlStats(source=source.name)
    if state.is_failed():
        return stats, f"failed: {state.message or 'the source could not be crawled'}"
    return stats, "skipped" if state.name == "Skipped" else "ok"


# A crawl run still waiting for a worker after this long is said in the log, with the likely cause.
WAITING_WARNING_AFTER = 600.0


def waiting_for_a_worker(states: dict, started: float, now: float, after: float = WAITING_WARNING_AFTER) -> str | None:
    """The warning to log when, `after` seconds since the crawl runs were scheduled, none of them has been taken
    by a worker (every one still Scheduled or Late): the usual cause is a pool whose only worker runs this very
    pipeline with `--limit 1`, so it has no free slot for the crawls the pipeline waits for. None otherwise."""
    if now - started < after or not states:
        return None
    if any(state is None or not state.is_scheduled() for state in states.values()):
        return None
    return (f"none of the {len(states)} crawl runs has started after {int(now - started)} s: no worker of the "
            "pool is free to take them. A worker started with `--limit 1` that runs this pipeline cannot also run "
            "its crawls: start the pool's workers with `--limit 2` or more, or start another worker.")


def crawl_on_workers(sources: list[SourceSpec], run_id: str, deployment: str, poll: float = 2.0) -> list:
    """Each source as a flow run of the `crawl-source` deployment, all scheduled at once, so every free worker
    of the pool takes some; returns their final states in the sources' order once all have ended."""
    import time

    from prefect import get_client
    from prefect.deployments import run_deployment

    runs = [run_deployment(deployment, parameters={"source": source.model_dump(mode="json"), "run_id": run_id},
                           timeout=0, flow_run_name=f"crawl-{source.name}") for source in sources]
    states: dict = {}
    started, warned = time.monotonic(), False
    with get_client(sync_client=True) as client:
        while len(states) < len(runs):
            current = {}
            for run in runs:
                if run.id not in states:
                    state = current[run.id] = client.read_flow_run(run.id).state
                    if state is not None and state.is_final():
                        states[run.id] = state
            warning = None if warned or states else waiting_for_a_worker(current, started, time.monotonic())
            if warning:
                get_run_logger().warning(warning)
                warned = True
            operations.report_progress("sources", len(states), len(sources))
            if len(states) < len(runs):
                time.sleep(poll)
    return [states[run.id] for run in runs]


@flow(name="crawl", persist_result=True)
def crawl(sources: list[SourceSpec], run_id: str = ""):
    from domain.settings import CrawlSettings

    # The ledger keys crawl figures by (run, source): a crawl run on its own (`scout run crawl`, a schedule)
    # gets its own run id, or every such run would overwrite the previous one's figures.
    run_id = run_id or uuid.uuid4().hex
    results: list[CrawlStats] = []
    status: dict[str, str] = {}
    deployment = CrawlSettings().deployment
    if deployment:
        states = crawl_on_workers(sources, run_id, deployment)
    else:
        states = []
        for number, source in enumerate(sources):
            operations.report_progress("sources", number, len(sources))
            states.append(crawl_source(source, run_id, return_state=True))
    for source, state in zip(sources, states):
        stats, outcome = source_outcome(source, state)
        results.append(stats)
        status[source.name] = outcome  # the label: one spider may run once per query (`jstage[量子ビット]`)
    operations.report_progress("sources", len(sources), len(sources))
    names = [source.name for source in sources]
    create_markdown_artifact(crawl_summary_markdown(results, status, names), key="crawl-summary",
                             description="Crawl summary")
    failed = [name for name, outcome in status.items() if outcome.startswith("failed")]
    summary = {"results": results, "status": status, "names": names}
    if failed:
        return Failed(message=f"{len(failed)} of {len(sources)} sources failed: {', '.join(failed)}", data=summary)
    return summary
