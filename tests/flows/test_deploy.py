"""prefect.yaml deploys against a real local Prefect server with the documented schedules."""

from __future__ import annotations

import asyncio

import pytest
import yaml

from scout.scheduler import PROJECT_DIR, WORK_POOL, deploy_all, local_server
from tests.ports import free_port


def test_prefect_yaml_declares_daily_and_weekly_deployments():
    spec = yaml.safe_load((PROJECT_DIR / "prefect.yaml").read_text())
    by_name = {d["name"]: d for d in spec["deployments"]}
    assert by_name["daily"]["schedules"] == [{"cron": "0 6 * * *", "timezone": "Asia/Tokyo"}]
    assert by_name["weekly-report"]["schedules"] == [{"cron": "0 8 * * 1", "timezone": "Asia/Tokyo"}]
    for d in by_name.values():
        assert d["work_pool"]["name"] == WORK_POOL
    for name in ("daily", "weekly-report"):
        assert by_name[name]["concurrency_limit"] == {"limit": 1, "collision_strategy": "CANCEL_NEW"}
    # the daily crawl runs each source as a `crawl-source` run, which many workers may run at once
    env = by_name["daily"]["work_pool"]["job_variables"]["env"]
    assert env["SCOUT_CRAWL_DEPLOYMENT"] == "crawl-source/" + by_name["crawl-source"]["name"]
    assert "concurrency_limit" not in by_name["crawl-source"] and "schedules" not in by_name["crawl-source"]


@pytest.mark.slow
def test_deploy_all_against_a_local_server(tmp_path):
    port = free_port()
    with local_server(port, tmp_path) as env:
        deploy_all(env)

        async def read():
            from prefect.client.orchestration import get_client

            async with get_client() as client:
                pool = await client.read_work_pool(WORK_POOL)
                return pool, await client.read_deployments()

        # Prefect's settings, not os.environ: settings read from the environment are kept for the process, and
        # a stopped server's URL left there would capture every later flow in this test session.
        from prefect.settings import PREFECT_API_URL, temporary_settings

        with temporary_settings(updates={PREFECT_API_URL: env["PREFECT_API_URL"]}):
            pool, deployments = asyncio.run(read())
    assert pool.type == "process"
    by_name = {d.name: d for d in deployments}
    assert set(by_name) == {"daily", "crawl-source", "weekly-report"}
    assert by_name["crawl-source"].entrypoint == "flows/crawl.py:crawl_source" and not by_name["crawl-source"].schedules
    assert by_name["daily"].job_variables["env"]["SCOUT_CRAWL_DEPLOYMENT"] == "crawl-source/crawl-source"
    daily = by_name["daily"]
    assert [(s.schedule.cron, s.schedule.timezone) for s in daily.schedules] == [("0 6 * * *", "Asia/Tokyo")]
    assert daily.entrypoint == "flows/pipeline.py:pipeline"
    assert daily.parameters["sources"][0]["spider"] == "arxiv"
    weekly = by_name["weekly-report"]
    assert [(s.schedule.cron, s.schedule.timezone) for s in weekly.schedules] == [("0 8 * * 1", "Asia/Tokyo")]
    assert all(d.work_pool_name == WORK_POOL for d in deployments)
