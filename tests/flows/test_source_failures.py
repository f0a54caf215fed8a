"""A source that cannot be crawled fails its own Prefect run and the pipeline, while the other sources still run;
an optional source without credentials is skipped. Real flows on a real Prefect API server (started the way
`scout run` starts it), real spiders in subprocesses, the hashing embedder."""

from __future__ import annotations

import asyncio
import shutil

import pytest

from domain.models import SourceSpec
from scout.demo.site import DATA_DIR
from tests.ports import free_port

pytestmark = pytest.mark.slow


@pytest.fixture
def flows_home(scout_home, monkeypatch):
    monkeypatch.setenv("SCOUT_NLP_MODEL", "hashing")
    # empty, not unset: the demo's loopback environment would fill in its own app id
    monkeypatch.setenv("SCOUT_CRAWL_KAKEN_APPID", "")
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    shutil.copyfile(DATA_DIR / "needs.yaml", scout_home / "needs.yaml")
    import flows.crawl
    from prefect.settings import PREFECT_API_URL, temporary_settings

    # Scrapy retries inside the crawl already; Prefect's 30 s / 120 s source retries would only slow the test
    monkeypatch.setattr(flows.crawl, "fetch_source", flows.crawl.fetch_source.with_options(retries=0))
    # These tests start their own server (flow_server); the session's Prefect test harness, once another test
    # has opened it, sets PREFECT_API_URL in Prefect's settings, and flow_server would then use that instead.
    with temporary_settings(restore_defaults={PREFECT_API_URL}):
        yield scout_home


def _flow_runs() -> dict[str, tuple[str, str]]:
    from prefect.client.orchestration import get_client

    async def read():
        async with get_client() as client:
            return await client.read_flow_runs()

    return {run.name: (run.state.type.value, run.state.name) for run in asyncio.run(read())}


def test_a_dead_source_fails_the_pipeline_but_not_the_others(flows_home):
    from flows.pipeline import pipeline
    from scout.demo.run import loopback_environment
    from scout.scheduler import flow_server

    dead = f"http://127.0.0.1:{free_port()}/feed.rss"  # nothing listens there
    sources = [SourceSpec(spider="feeds", args={"feeds": dead}),
               SourceSpec(spider="kaken", optional=True),
               SourceSpec(spider="needs_file", args={"path": str(flows_home / "needs.yaml")})]
    with loopback_environment(flows_home), flow_server(flows_home) as api_url:
        assert api_url
        state = pipeline(sources=sources, return_state=True)
        runs = _flow_runs()
    assert state.is_failed()
    assert "1 of 3 sources failed: feeds" in state.message
    summary = state.result(raise_on_failure=False)
    assert summary["status"]["feeds"].startswith("failed: feeds: every request failed")
    assert summary["status"]["kaken"] == "skipped"
    assert summary["status"]["needs_file"] == "ok"
    # the other sources' documents were still enriched and ranked
    assert sum(s["new"] for s in summary["ingested"]) == summary["needs"] > 0
    assert runs["crawl-feeds"][0] == "FAILED"
    assert runs["crawl-kaken"] == ("COMPLETED", "Skipped")
    assert runs["crawl-needs_file"][0] == "COMPLETED"


def test_a_required_source_without_credentials_fails_its_run(flows_home):
    from flows.crawl import crawl
    from scout.scheduler import flow_server

    with flow_server(flows_home):
        state = crawl([SourceSpec(spider="kaken")], return_state=True)
        runs = _flow_runs()
    assert state.is_failed() and "kaken" in state.message
    result = state.result(raise_on_failure=False)
    assert "SCOUT_CRAWL_KAKEN_APPID" in result["status"]["kaken"]
    assert runs["crawl-kaken"][0] == "FAILED"
