"""Weekly report flow: build the report from the ledger and send it (or write it to the outbox)."""

from __future__ import annotations

from prefect import flow, task
from prefect.artifacts import create_markdown_artifact


@task(retries=1, retry_delay_seconds=[300], tags=["network"])
def send_weekly_report(recipients: list[str] | None, week: str | None, profile: str | None) -> dict:
    """Network task (SMTP). The report is kept in the outbox whether or not sending succeeds."""
    from scout.library_impl import open_library
    from scout.report.send import run_report
    from scout.settings import ReportSettings

    settings = ReportSettings(recipients=recipients) if recipients else ReportSettings()
    with open_library(read_only=True) as library:
        report, delivery = run_report(library, week=week, profile=profile, settings=settings)
    if delivery.error:
        raise RuntimeError(f"report kept at {delivery.eml_path}, but sending failed: {delivery.error}")
    return {"status": delivery.status, "eml": str(delivery.eml_path), "html": str(delivery.html_path),
            "recipients": delivery.recipients}


@flow(name="weekly-report")
def weekly_report(recipients: list[str] | None = None, week: str | None = None, profile: str | None = None) -> dict:
    result = send_weekly_report(recipients, week, profile)
    create_markdown_artifact(
        f"# Weekly report\n\n- status: {result['status']}\n- file: `{result['eml']}`\n"
        f"- recipients: {', '.join(result['recipients']) or '(outbox only)'}\n", key="weekly-report")
    return result
