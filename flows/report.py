"""Weekly report flow: build the report from the ledger, then write it to the outbox and send it."""

from __future__ import annotations

from prefect import flow, task
from prefect.artifacts import create_markdown_artifact

from service import operations


@task
def build_weekly_report(week: str | None, profile: str | None, recipients: list[str] | None):
    """Compute task (no retries): a failure here is a bug or bad data, not a flaky network."""
    return operations.build_weekly_report(week=week, profile=profile, recipients=recipients)


@task(tags=["network"])
def send_weekly_report(built) -> dict:
    """Network task (SMTP). `deliver` owns the retry policy (backoff, no retry of a refused login), so Prefect
    adds none on top. The report is kept in the outbox whether or not sending succeeds."""
    from service.report.send import DeliveryError

    report, profile, settings = built
    try:
        delivery = operations.deliver_weekly_report(report, profile, settings)
    except DeliveryError as exc:
        raise RuntimeError(str(exc)) from None
    return {"status": delivery.status, "eml": str(delivery.eml_path), "html": str(delivery.html_path),
            "recipients": delivery.recipients}


@flow(name="weekly-report")
def weekly_report(recipients: list[str] | None = None, week: str | None = None, profile: str | None = None) -> dict:
    result = send_weekly_report(build_weekly_report(week, profile, recipients))
    create_markdown_artifact(
        f"# Weekly report\n\n- status: {result['status']}\n- file: `{result['eml']}`\n"
        f"- recipients: {', '.join(result['recipients']) or '(outbox only)'}\n", key="weekly-report")
    return result
