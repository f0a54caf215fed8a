"""Weekly report flow: build the report from the ledger and send it (or write it to the outbox)."""

from __future__ import annotations

from prefect import flow, task


@task(retries=2, retry_delay_seconds=[60, 300], tags=["network"])
def send_weekly_report(recipients: list[str] | None, week: str | None, profile: str | None) -> str:
    from scout.report import run_report

    return str(run_report(week=week, profile=profile, recipients=recipients or None))


@flow(name="weekly-report")
def weekly_report(recipients: list[str] | None = None, week: str | None = None, profile: str | None = None) -> str:
    return send_weekly_report(recipients, week, profile)
