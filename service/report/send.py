"""Deliver a report: always into the outbox (.eml, .html, .csv), then by SMTP when a host is configured.

SMTP uses STARTTLS or implicit TLS with the default SSL context (certificates verified) and logs in when a
user is set; the password is a `SecretStr` and never appears in a message or a log. A failed send is retried
with exponential backoff, then raised as `DeliveryError`; the ledger records every outcome, and only a
delivered report ("sent", or "written" when no SMTP host is configured) moves the "new since" mark.
"""

from __future__ import annotations

import logging
import re
import smtplib
import socket
import ssl
import time
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import parseaddr
from pathlib import Path
from typing import Callable

from domain.files import private_dir
from index.ledger import FAILED, PREVIEW, RESENT, SENT, WRITTEN, Ledger
from domain.models import utcnow
from service.report.build import Report, built_stamp
from service.report.profiles import ReportProfile
from service.report.render import build_message, parse_recipients, render_html, report_csv
from domain.settings import ReportSettings

log = logging.getLogger(__name__)


class DeliveryError(RuntimeError):
    """The report could not be sent; `result.eml_path` still holds it."""

    def __init__(self, message: str, result: "DeliveryResult") -> None:
        super().__init__(message)
        self.result = result


@dataclass
class DeliveryResult:
    status: str
    eml_path: Path
    html_path: Path
    csv_path: Path
    recipients: list[str]
    attempts: int = 0
    error: str | None = None
    messages: list[str] = field(default_factory=list)


def _profile_suffix(profile: str) -> str:
    return "" if profile == "default" else f"-{re.sub(r'[^A-Za-z0-9_.-]+', '_', profile)}"


_WEEK_NAME = re.compile(r"\d{4}-W\d{2}")
_BUILT = re.compile(r"\d{8}T\d{6}Z")


def written_report(settings: ReportSettings, week: str, profile: str = "default", built: str | None = None) -> Path | None:
    """The report written to the outbox for `week` ("2026-W47") and `profile` at `built` (its build time as
    its files are named, "20261207T005438Z": the mail's "View in browser" link names it), or without `built`
    the newest one, as HTML; None when there is none (or `week` or `built` is not of its form, so that no path
    can be smuggled in)."""
    if not _WEEK_NAME.fullmatch(week or ""):
        return None
    stem = f"dualscout-{week}{_profile_suffix(profile)}-"
    if built is not None:
        if not _BUILT.fullmatch(built):
            return None
        exact = settings.outbox_dir / f"{stem}{built}.html"
        return exact if exact.is_file() else None
    found = sorted(settings.outbox_dir.glob(f"{stem}*.html"), key=lambda p: p.stat().st_mtime)
    return found[-1] if found else None


def write_outbox(report: Report, msg: EmailMessage, settings: ReportSettings) -> tuple[Path, Path, Path]:
    """Write the .eml, a stand-alone .html (chart as a data: URI) and the .csv; return their paths."""
    outbox = settings.outbox_dir
    private_dir(outbox)
    stamp = built_stamp(report.generated_at)  # what the mail's "View in browser" link names
    profile = _profile_suffix(report.profile)
    stem = f"dualscout-{report.week}{profile}-{stamp}"
    n = 1
    while (outbox / f"{stem}.eml").exists():  # two reports in the same second: keep both
        n += 1
        stem = f"dualscout-{report.week}{profile}-{stamp}-{n}"
    eml, html, csv = (outbox / f"{stem}{ext}" for ext in (".eml", ".html", ".csv"))
    for path, data in ((eml, msg.as_bytes()), (html, render_html(report, settings).encode("utf-8")),
                       (csv, report_csv(report))):  # fmt: skip
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_bytes(data)
        tmp.replace(path)  # never a half-written report in the outbox
    return eml, html, csv


def smtp_send(msg: EmailMessage, settings: ReportSettings, recipients: list[str]) -> dict[str, tuple[int, bytes]]:
    """One attempt; returns the recipients the server refused (when it accepted others).
    Raises smtplib.SMTPException or OSError."""
    context = ssl.create_default_context()
    host, port, timeout = settings.smtp_host, settings.smtp_port, settings.smtp_timeout
    if settings.smtp_security == "ssl":
        client: smtplib.SMTP = smtplib.SMTP_SSL(host, port, timeout=timeout, context=context)
    else:
        client = smtplib.SMTP(host, port, timeout=timeout)
    with client:
        client.ehlo()
        if settings.smtp_security == "starttls":
            client.starttls(context=context)
            client.ehlo()
        if settings.smtp_user:
            password = settings.smtp_password.get_secret_value() if settings.smtp_password else ""
            client.login(settings.smtp_user, password)
        return client.send_message(msg, from_addr=parseaddr(settings.sender)[1], to_addrs=recipients)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return f"the SMTP server refused the login ({exc.smtp_code})"
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return f"the SMTP server refused every recipient: {', '.join(sorted(exc.recipients))}"
    if isinstance(exc, smtplib.SMTPResponseException):
        text = exc.smtp_error.decode("utf-8", "replace") if isinstance(exc.smtp_error, bytes) else exc.smtp_error
        return f"the SMTP server answered {exc.smtp_code} {text}"
    if isinstance(exc, ssl.SSLError):
        return f"TLS failed: {exc.reason or exc}"
    if isinstance(exc, (socket.timeout, TimeoutError)):
        return "the SMTP server did not answer in time"
    if isinstance(exc, ConnectionRefusedError):
        return "the connection was refused"
    return f"{type(exc).__name__}: {exc}"


def deliver(
    report: Report,
    settings: ReportSettings,
    profile: ReportProfile,
    ledger: Ledger,
    *,
    send: bool = True,
    backoff: float | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> DeliveryResult:
    """Write the report to the outbox, send it when `send` and an SMTP host is configured, record the outcome.

    Raises `DeliveryError` (after recording "failed") when every attempt failed, and ValueError for a bad
    recipient address or a configured host with no recipients.
    """
    addresses = parse_recipients(profile.recipients)
    recipients = [a.addr_spec for a in addresses]
    smtp = bool(settings.smtp_host) and send
    password = settings.smtp_password.get_secret_value() if settings.smtp_password else ""
    if smtp and settings.smtp_user and not password.isascii():
        raise ValueError("SCOUT_REPORT_SMTP_PASSWORD has non-ASCII characters, which SMTP login cannot send")
    if smtp and not recipients:
        raise ValueError(f"profile {profile.name!r} has no recipients (set SCOUT_REPORT_RECIPIENTS or a profile)")
    msg = build_message(report, settings, addresses)
    eml, html, csv = write_outbox(report, msg, settings)
    result = DeliveryResult(status=PREVIEW, eml_path=eml, html_path=html, csv_path=csv, recipients=recipients)

    def record(status: str) -> None:
        result.status = status
        ledger.record_report(
            report.week, utcnow(), eml, result.recipients, status, profile=profile.name, covers_until=report.until
        )

    if not smtp:
        # No SMTP host: the outbox is the delivery. --no-send: a preview that leaves the mark alone.
        record(PREVIEW if not send else (RESENT if report.rebuilt else WRITTEN))
        return result

    attempts = max(1, settings.send_retries + 1)
    backoff = settings.send_backoff if backoff is None else backoff
    for attempt in range(1, attempts + 1):
        result.attempts = attempt
        try:
            refused = smtp_send(msg, settings, recipients)
        except (smtplib.SMTPException, OSError) as exc:
            result.error = _describe(exc)
            result.messages.append(f"attempt {attempt}/{attempts} failed: {result.error}")
            log.warning("report %s: attempt %d/%d failed: %s", report.week, attempt, attempts, result.error)
            permanent = isinstance(exc, smtplib.SMTPAuthenticationError)  # retrying a wrong password only locks it
            if attempt < attempts and not permanent:
                sleep(backoff * 2 ** (attempt - 1))
                continue
            record(FAILED)
            raise DeliveryError(
                f"could not send the report to {settings.smtp_host}:{settings.smtp_port} after {attempt} "
                f"attempt{'s' if attempt != 1 else ''}: {result.error}. It is kept in {eml}",
                result,
            ) from exc
        result.error = None
        for address, (code, reason) in sorted(refused.items()):
            result.messages.append(f"{address} was refused: {code} {reason.decode('utf-8', 'replace')}")
            log.warning("report %s: %s was refused (%s)", report.week, address, code)
        result.recipients = [r for r in recipients if r not in refused]
        record(RESENT if report.rebuilt else SENT)
        return result
    raise AssertionError("unreachable")
