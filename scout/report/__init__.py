"""The weekly report: `build_report()` gathers what is new, `build_message()` makes the e-mail,
`deliver()` writes it to the outbox and sends it."""

from scout.report.build import Report, ReportError, build_report, parse_week
from scout.report.profiles import ProfileError, ReportProfile, load_profiles, resolve_profile
from scout.report.render import build_message, render_html, render_text, report_csv
from scout.report.send import DeliveryError, DeliveryResult, deliver, run_report

__all__ = [
    "DeliveryError", "DeliveryResult", "ProfileError", "Report", "ReportError", "ReportProfile", "build_message",
    "build_report", "deliver", "load_profiles", "parse_week", "render_html", "render_text", "report_csv",
    "resolve_profile", "run_report",
]  # fmt: skip
