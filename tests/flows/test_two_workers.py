"""Two Prefect process workers on the project's pool, for real: a Prefect server, `prefect deploy --all`, two
`prefect worker start` processes, the daily deployment run against the loopback demo site. Each source is a
`crawl-source` flow run; both workers crawl, at the same time, and every source's state and figures are
recorded once."""

from __future__ import annotations

import asyncio
import re
import shutil
import sqlite3
import threading
import time
from pathlib import Path
from urllib.parse import urlparse

import pytest

from scout.demo.run import demo_sources
from scout.demo.site import DATA_DIR, DemoSite
from scout.scheduler import PROJECT_DIR, deploy_all, local_server, start_worker, stop_processes
from tests.ports import free_port

pytestmark = pytest.mark.slow

# a busy 2-core machine starts the server, deploys and runs a scrapy process per source slowly: wait long,
# stop as soon as the run ends
RUN_TIMEOUT = 900.0


def read_runs(api_url: str):
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL, temporary_settings

    async def read():
        async with get_client() as client:
            return await client.read_flow_runs()

    with temporary_settings(updates={PREFECT_API_URL: api_url}):
        return asyncio.run(read())


def start_daily(api_url: str, parameters: dict):
    from prefect.deployments import run_deployment
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings(updates={PREFECT_API_URL: api_url}):
        return run_deployment("pipeline/daily", parameters=parameters, timeout=0, as_subflow=False)


# Each source's first request, by its entry point. feeds' second feed (/prtimes/) is left out: one crawl, one key.
ENTRY_POINTS = {"/api/query", "/feeds/announcements.rss", "/searchapi/do", "/opensearch", "/public/api/solicitations"}


class RendezvousSite(DemoSite):
    """The demo site, holding each source's entry request until three sources have asked (at most `wait` s).
    The worker running the pipeline has one slot left for crawls and the other worker two, so three crawls
    under way at once are on both workers: on an idle machine the demo's crawls end within a second or two,
    and two workers could otherwise take turns without ever crawling at the same time."""

    def __init__(self, wait: float = 20.0) -> None:
        super().__init__()
        self.asked: set[str] = set()
        self.wait = wait
        self.condition = threading.Condition()
        site = self

        class Handler(self.RequestHandlerClass):
            def do_GET(self) -> None:  # noqa: N802
                path = urlparse(self.path).path.rstrip("/")
                if path in ENTRY_POINTS:
                    with site.condition:
                        site.asked.add(path)
                        site.condition.notify_all()
                        site.condition.wait_for(lambda: len(site.asked) >= 3, timeout=site.wait)
                super().do_GET()

        self.RequestHandlerClass = Handler


def test_two_workers_crawl_the_daily_sources_in_parallel_and_record_each_once(tmp_path, monkeypatch):
    home = tmp_path / "home"
    home.mkdir()
    shutil.copyfile(DATA_DIR / "needs.yaml", home / "needs.yaml")
    port = free_port()
    logs = {name: tmp_path / f"{name}.log" for name in ("worker-a", "worker-b")}
    with RendezvousSite() as site, local_server(port, tmp_path / "prefect-server") as env:
        env.update(
            SCOUT_HOME=str(home), SCOUT_NLP_MODEL="hashing", PYTHONPATH=str(PROJECT_DIR),
            SCOUT_CRAWL_ALLOWED_DOMAINS='["127.0.0.1"]', SCOUT_CRAWL_DOWNLOAD_DELAY="0",
            SCOUT_CRAWL_AUTOTHROTTLE="false", SCOUT_CRAWL_KAKEN_APPID="dualscout-demo",
            SCOUT_INDEX_KNOWN_SUPPLIERS_PATH=str(DATA_DIR / "known_suppliers.yaml"),
            # workers look for new runs every second (default 10 s): a free worker takes a source soon
            PREFECT_WORKER_QUERY_SECONDS="1", PREFECT_WORKER_PREFETCH_SECONDS="5",
            PREFECT_LOCAL_STORAGE_PATH=str(tmp_path / "results"),  # where this test reads the pipeline's result
        )
        deploy_all(env)
        # two runs at once each: the daily pipeline holds one slot of one worker while its sources are crawled
        workers = [start_worker(env, logs[name], name=name, limit=2) for name in logs]
        try:
            sources = demo_sources(site.base_url, home)
            daily = start_daily(env["PREFECT_API_URL"], {
                "sources": [s.model_dump(mode="json") for s in sources], "match_limit": 5})
            deadline = time.monotonic() + RUN_TIMEOUT
            while time.monotonic() < deadline:
                state = next(r for r in read_runs(env["PREFECT_API_URL"]) if r.id == daily.id).state
                if state.is_final():
                    break
                for worker in workers:
                    assert worker.poll() is None, f"a worker exited: {logs}"
                time.sleep(2)
            runs = read_runs(env["PREFECT_API_URL"])
        finally:
            stop_processes(workers)
    pipeline_run = next(r for r in runs if r.id == daily.id)
    assert pipeline_run.state.is_completed(), pipeline_run.state.message

    # one crawl-source run per source, each completed
    crawls = [r for r in runs if r.name.startswith("crawl-") and r.deployment_id is not None]
    assert sorted(r.name for r in crawls) == sorted(f"crawl-{s.name}" for s in sources)
    assert all(r.state.is_completed() for r in crawls), [(r.name, r.state.name) for r in crawls]

    # which worker ran which: a worker's log names each flow run it started ("... submitted to infrastructure";
    # a run two workers reached for at once is "Aborted submission" on one of them)
    ran_by = {}
    for name, path in logs.items():
        text = path.read_text(encoding="utf-8", errors="replace")
        for run_name in re.findall(r"Flow run '(crawl-[^']+)' submitted to infrastructure", text):
            assert run_name not in ran_by, f"{run_name} ran on two workers"
            ran_by[run_name] = name
    ran_by = {r.id: ran_by.get(r.name) for r in crawls}
    assert None not in ran_by.values(), f"every crawl ran on a worker: {ran_by}"
    assert set(ran_by.values()) == set(logs), f"both workers crawled: {ran_by}"
    # in parallel: a crawl on one worker overlapped a crawl on the other
    overlaps = [(a.name, b.name) for a in crawls for b in crawls
                if ran_by[a.id] == "worker-a" and ran_by[b.id] == "worker-b"
                and a.start_time < b.end_time and b.start_time < a.end_time]
    assert overlaps, [(r.name, ran_by[r.id], r.start_time, r.end_time) for r in crawls]

    # every source's figures recorded once, under the pipeline's run, as the pipeline reports them
    with sqlite3.connect(home / "ledger.sqlite") as db:
        rows = db.execute("SELECT run_id, source, fetched, new FROM crawls").fetchall()
    from prefect.settings import PREFECT_LOCAL_STORAGE_PATH, temporary_settings

    with temporary_settings(updates={PREFECT_LOCAL_STORAGE_PATH: tmp_path / "results"}):
        summary = pipeline_run.state.result()
    assert len(rows) == len(sources) and {r[0] for r in rows} == {summary["run_id"]}
    assert sorted(r[1] for r in rows) == sorted(s["source"] for s in summary["crawled"])
    assert {r[1]: (r[2], r[3]) for r in rows} == {s["source"]: (s["fetched"], s["new"]) for s in summary["crawled"]}
    assert set(summary["status"].values()) == {"ok"} and sum(r[3] for r in rows) > 0
    assert sum(s["new"] for s in summary["ingested"]) > 0 and summary["needs"] > 0
