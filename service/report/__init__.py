"""The weekly report: `build_report()` gathers what is new, `build_message()` makes the e-mail,
`deliver()` writes it to the outbox and sends it."""

from service.report.build import Report, ReportError, build_report, parse_week
from service.report.profiles import ProfileError, ReportProfile, load_profiles, resolve_profile
from service.report.render import build_message, render_html, render_text, report_csv
from service.report.send import DeliveryError, DeliveryResult, deliver

__all__ = [
    "DeliveryError", "DeliveryResult", "ProfileError", "Report", "ReportError", "ReportProfile", "build_message",
    "build_report", "deliver", "load_profiles", "parse_week", "render_html", "render_text", "report_csv",
    "resolve_profile",
]  # fmt: skip
