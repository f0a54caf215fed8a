"""Crawl flow: one subflow per source, each crawl in its own process (Scrapy's reactor cannot restart)."""

from __future__ import annotations

import uuid

from prefect import flow, task
from prefect.artifacts import create_markdown_artifact

from domain.models import CrawlStats, SourceSpec
from service import operations


@task(retries=2, retry_delay_seconds=[30, 120], tags=["network"])
def fetch_source(source: SourceSpec) -> CrawlStats:
    """Network task: runs the spider in a subprocess; a site that is down is retried with backoff."""
    from spiders.runner import run_crawl

    return run_crawl(source.spider, **source.args)


@task
def record_crawl(stats: CrawlStats, run_id: str) -> None:
    operations.record_crawl(stats, run_id)


@flow(name="crawl-source", flow_run_name="crawl-{source.spider}")
def crawl_source(source: SourceSpec, run_id: str = "") -> CrawlStats:
    stats = fetch_source(source)
    record_crawl(stats, run_id)
    return stats


def crawl_summary_markdown(results: list[CrawlStats]) -> str:
    rows = ["| source | fetched | new | updated | unchanged | rejected |", "|---|---:|---:|---:|---:|---:|"]
    for s in results:
        rows.append(f"| {s.source} | {s.fetched} | {s.new} | {s.updated} | {s.unchanged} | {s.rejected} |")
    return "# Crawl summary\n\n" + "\n".join(rows)


@flow(name="crawl")
def crawl(sources: list[SourceSpec], run_id: str = "") -> list[CrawlStats]:
    # The ledger keys crawl figures by (run, source): a crawl run on its own (`scout run crawl`, a schedule)
    # gets its own run id, or every such run would overwrite the previous one's figures.
    run_id = run_id or uuid.uuid4().hex
    results = [crawl_source(source, run_id) for source in sources]
    create_markdown_artifact(crawl_summary_markdown(results), key="crawl-summary", description="Crawl summary")
    return results
