"""A `Report` as an e-mail: multipart/alternative (plain text, HTML with the chart inline by cid:) plus the
CSV of all new matches, built with the standard `email` package and Jinja2 templates."""

from __future__ import annotations

import base64
import csv
import io
from datetime import datetime, timezone
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.errors import HeaderParseError
from email.utils import format_datetime, make_msgid, parseaddr
from functools import lru_cache
from pathlib import Path
from typing import Iterable
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from service.csv_cells import BOM, csv_cell
from service.evidence import RENDERING_LABEL
from service.report.build import EPOCH, Report, report_timezone
from domain.settings import ReportSettings

TEMPLATES = Path(__file__).with_name("templates")
# Latin text first, then Japanese fonts per platform (macOS, Windows, Linux), then the generic family.
FONT_STACK = (
    "-apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, 'Hiragino Sans', 'Hiragino Kaku Gothic ProN', "
    "'Yu Gothic', Meiryo, 'Noto Sans CJK JP', 'Noto Sans JP', 'IPAexGothic', sans-serif"
)
MAX_LISTED = 20  # names listed inline (new organizations, quiet needs) before "and N more"
CSV_COLUMNS = ["need_id", "need_title", "score", "label", "title", "kind", "source", "organizations",
               "shared_concepts", "areas", "evidence", "url", "doc_id", "published", "versions",
               "new_since_last_report", "evidence_english_gist"]  # fmt: skip


@lru_cache(maxsize=1)
def _environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(enabled_extensions=("html", "html.j2"), default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def subject_of(report: Report, settings: ReportSettings) -> str:
    n, m = report.overview.new_matches, report.overview.needs_with_news
    body = f"Weekly report {report.week}: {n} new match{'es' if n != 1 else ''} for {m} need{'s' if m != 1 else ''}"
    if report.partly_delivered:
        body += f", {report.overview.fresh_matches} since the last report"
    if report.profile != "default":
        body += f" ({report.profile})"
    return f"{settings.subject_prefix} {body}".strip()


def _context(report: Report, settings: ReportSettings, chart_src: str | None) -> dict:
    tz = report_timezone(settings)

    def local(moment: datetime) -> str:
        return moment.astimezone(tz).strftime("%Y-%m-%d %H:%M")

    return {
        "published_day": lambda moment: _day(moment, tz),
        "report": report,
        "subject": subject_of(report, settings),
        "chart_src": chart_src,
        "font_stack": FONT_STACK,
        "max_listed": MAX_LISTED,
        # the first report has no start: "from" its week's Monday read as if it held that week alone
        "period_text": (f"from {local(report.since)} " if report.since > EPOCH else "")
                       + f"up to {local(report.until)} ({report.timezone})",
        "coverage_text": coverage_text(report, local),
        "generated_text": f"{local(report.generated_at)} ({report.timezone})",  # its zone named, as the period's
        "rendering_label": RENDERING_LABEL,
    }


def coverage_text(report: Report, local) -> str:
    """What the period covers besides its week, and what a re-run of the week adds: one plain sentence each,
    empty for an ordinary week."""
    ov, parts = report.overview, []
    week_start = report.week_start or report.since
    if report.since <= EPOCH:
        parts.append("No report was delivered to this profile before: this one holds every match first seen up to "
                     f"{local(report.until)}; the chart shows the last {len(report.chart_weeks)} weeks of them.")
    elif report.since < week_start:
        parts.append(f"It also covers {local(report.since)} to {local(week_start)}, where the last report delivered "
                     "to this profile ended.")
    if report.partly_delivered:
        parts.append(f"{ov.fresh_matches} of these {ov.new_matches} new matches were first seen after "
                     f"{local(report.delivered_until)}, where the last report delivered to this profile ended; "
                     "the others were in it.")
    if ov.judged_not_relevant:
        n = ov.judged_not_relevant
        parts.append(f"{n} new match{'es' if n != 1 else ''} judged not relevant by an analyst "
                     f"{'are' if n != 1 else 'is'} left out of the text, the chart and the CSV.")
    return " ".join(parts)


def render_html(report: Report, settings: ReportSettings, *, chart_src: str | None = None) -> str:
    """The HTML part. `chart_src`: "cid:..." in the e-mail; by default a data: URI, for a stand-alone file."""
    if chart_src is None and report.chart_png:
        chart_src = "data:image/png;base64," + base64.b64encode(report.chart_png).decode("ascii")
    return _environment().get_template("report.html.j2").render(_context(report, settings, chart_src))


def render_text(report: Report, settings: ReportSettings) -> str:
    return _environment().get_template("report.txt.j2").render(_context(report, settings, None))


def _day(moment: datetime | None, tz) -> str:
    """A publication day in the report's zone, as the pages and the CLI show it (domain.times.shown_day)."""
    if moment is None:
        return ""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(tz).date().isoformat()


def report_csv(report: Report) -> bytes:
    """Every new match of the period, best first (the text's figures): UTF-8 with a BOM, so that Excel shows
    Japanese correctly; `new_since_last_report` says which a re-run of the week adds."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    tz = ZoneInfo(report.timezone)  # checked when the report was built
    for item in report.new_matches:
        m = item.match
        writer.writerow([csv_cell(v) for v in [
            m.need_id, report.need_titles.get(m.need_id, m.need_id), float(m.score), m.label, m.title,
            m.kind or "", m.source, "; ".join(m.organizations), "; ".join(item.concepts), "; ".join(item.areas),
            item.evidence, m.url, m.doc_id, _day(m.published, tz),
            "; ".join(f"{v.label} {v.doc_id}" for v in item.versions), "yes" if item.fresh else "no",
            item.evidence_en,
        ]])  # fmt: skip
    return (BOM + out.getvalue()).encode("utf-8")


def attachment_name(report: Report) -> str:
    suffix = "" if report.profile == "default" else f"-{report.profile}"
    return f"dualscout-new-matches-{report.week}{suffix}.csv"


def build_message(report: Report, settings: ReportSettings, recipients: Iterable[Address] = ()) -> EmailMessage:
    """The complete e-mail, ready for `smtplib.SMTP.send_message` or to be written as an .eml file."""
    msg = EmailMessage(policy=policy.default)
    msg["Subject"] = subject_of(report, settings)
    msg["From"] = settings.sender
    to = list(recipients)
    if to:
        msg["To"] = to
    msg["Date"] = format_datetime(report.generated_at)
    domain = settings.sender.rpartition("@")[2] or "localhost"
    msg["Message-ID"] = make_msgid("dualscout-report", domain=domain)
    msg["X-Dualscout-Week"] = report.week
    msg["X-Dualscout-Profile"] = report.profile

    msg.set_content(render_text(report, settings), subtype="plain", charset="utf-8")
    chart_cid = make_msgid("chart", domain=domain)  # "<...>"; the HTML refers to it without the brackets
    msg.add_alternative(
        render_html(report, settings, chart_src=f"cid:{chart_cid[1:-1]}" if report.chart_png else ""),
        subtype="html",
        charset="utf-8",
    )
    if report.chart_png:
        html_part = msg.get_payload()[1]
        html_part.add_related(
            report.chart_png, maintype="image", subtype="png", cid=chart_cid, disposition="inline",
            filename="matches-per-area.png",
        )  # fmt: skip
    msg.add_attachment(
        report_csv(report), maintype="text", subtype="csv", filename=attachment_name(report),
        params={"charset": "utf-8"},
    )  # fmt: skip
    return msg


def parse_recipients(values: Iterable[str]) -> list[Address]:
    """"a@example.jp" or "名前 <a@example.jp>" -> Address; a malformed one is a clear error, not an SMTP refusal."""
    out = []
    for value in values:
        name, addr = parseaddr(value)
        try:
            if "@" not in addr:
                raise ValueError("no domain")
            out.append(Address(display_name=name, addr_spec=addr))
        except (ValueError, IndexError, HeaderParseError) as exc:
            raise ValueError(f"{value!r} is not an e-mail address ({exc})") from None
    return out
