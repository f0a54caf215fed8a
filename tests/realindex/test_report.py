"""The weekly report from the real library and a real ledger: two match runs a week apart, the first one
reported, so "new" is what the second run found beyond the first; the .eml is parsed back."""

from __future__ import annotations

import csv
import email
import io
from datetime import datetime, timedelta, timezone
from email import policy

import pytest

from index.ledger import SENT, Ledger
from domain.models import CrawlStats
from service.report import build_report, deliver
from service.report.profiles import ReportProfile
from domain.settings import ReportSettings

# A fixed Friday noon in Tokyo: with the clock's now, the runs a week apart fell in one ISO week of the report's
# time zone when the tests ran within an hour after Monday 00:00 there, and the "old" run counted as new.
NOW = datetime(2026, 11, 20, 3, 0, tzinfo=timezone.utc)
ATLA_TITLE = "電波吸収材を用いた艦艇の低被探知化技術"


@pytest.fixture(scope="module")
def reported(real_library, tmp_path_factory):
    folder = tmp_path_factory.mktemp("report")
    ledger = Ledger(folder / "ledger.sqlite")
    last_week = NOW - timedelta(days=7)
    first = ledger.start_match_run(at=last_week)
    old = ledger.record_matches(first, real_library.all_matches(limit_per_need=3))
    ledger.record_report("previous", last_week + timedelta(hours=1), None, [], SENT, profile="default")
    second = ledger.start_match_run(at=NOW - timedelta(hours=1))
    new = ledger.record_matches(second, real_library.all_matches(limit_per_need=8))
    ledger.record_crawl(CrawlStats(source="prtimes", fetched=40, new=6, rejected=1, started=NOW - timedelta(hours=2),
                                   finished=NOW - timedelta(hours=2)), run_id="crawl-1")
    settings = ReportSettings(outbox=folder / "outbox", base_url="http://127.0.0.1:8700", smtp_host="")
    report = build_report(ledger, real_library, settings=settings, now=NOW)
    result = deliver(report, settings, ReportProfile(recipients=[]), ledger, send=True)
    return old, new, report, result


def test_every_need_with_new_matches_is_listed(real_library, reported):
    old, new, report, _ = reported
    assert old and new
    old_pairs = {(m.need_id, m.doc_id) for m in old}
    assert not old_pairs & {(m.need_id, m.doc_id) for m in new}, "a pair seen last week is not new"
    needs_with_news = {m.need_id for m in new}
    assert {s.need_id for s in report.sections} == needs_with_news
    assert {q.need_id for q in report.quiet_needs} == {n.id for n in real_library.needs()} - needs_with_news
    titles = {n.id: n.title for n in real_library.needs()}
    for section in report.sections:
        mine = [m for m in new if m.need_id == section.need_id]
        assert section.title == titles[section.need_id]
        assert section.new_count == len(mine)
        assert {i.match.doc_id for i in section.items} <= {m.doc_id for m in mine}
        assert section.items[0].match.score == max(m.score for m in mine)
        assert section.link == f"http://127.0.0.1:8700/needs/{section.need_id}"
    from service.report.build import section_strength

    strength = section_strength(report.sections)
    best = [strength[s.need_id] for s in report.sections]
    assert best == sorted(best, reverse=True), "needs ordered by the strength of their new matches"
    assert sorted((i.match.need_id, i.match.doc_id) for i in report.new_matches) == sorted(
        (m.need_id, m.doc_id) for m in new)


def test_the_written_eml_parses_back(reported):
    _, new, report, result = reported
    assert result.status == "written" and result.eml_path.exists()
    msg = email.message_from_bytes(result.eml_path.read_bytes(), policy=policy.default)
    assert msg.get_content_type() == "multipart/mixed"
    alternative, attachment = msg.get_payload()
    assert alternative.get_content_type() == "multipart/alternative"
    plain_part, related = alternative.get_payload()
    assert plain_part.get_content_type() == "text/plain"
    html_part, image = related.get_payload()
    assert html_part.get_content_type() == "text/html"
    assert image.get_content_type() == "image/png" and image.get_content_disposition() == "inline"
    html, plain = html_part.get_content(), plain_part.get_content()
    assert f'src="cid:{image["Content-ID"].strip("<>")}"' in html
    assert image.get_content().startswith(b"\x89PNG\r\n\x1a\n")

    # Japanese survives every part (the ATLA need got new matches from Japanese documents)
    section = next(s for s in report.sections if s.title == ATLA_TITLE)
    assert ATLA_TITLE in plain and ATLA_TITLE in html
    assert any(any("\u3040" <= ch <= "\u30ff" for ch in item.match.title) for item in section.items)
    for item in section.items:
        assert item.match.title in plain

    assert attachment.get_content_type() == "text/csv" and attachment.get_content_disposition() == "attachment"
    rows = list(csv.DictReader(io.StringIO(attachment.get_payload(decode=True).decode("utf-8-sig"))))
    assert len(rows) == len(new)
    assert {(r["need_id"], r["doc_id"]) for r in rows} == {(m.need_id, m.doc_id) for m in new}
    assert any(ATLA_TITLE == r["need_title"] for r in rows)

    # crawled text stays text in the HTML part
    assert "<script>alert" not in html and 'href="javascript:' not in html


def test_the_next_report_has_nothing_new_since_the_delivery(real_library, reported, tmp_path):
    """Written to the outbox counts as delivered: a re-run of the week lists the week's matches (its chart's bar
    counts them too) and says that none is new since that delivery."""
    _, _, report, result = reported
    ledger = Ledger(result.eml_path.parent.parent / "ledger.sqlite")
    again = build_report(ledger, real_library, settings=ReportSettings(outbox=tmp_path), now=NOW + timedelta(days=1),
                         chart=False)
    assert again.overview.fresh_matches == 0 and not any(i.fresh for i in again.new_matches)
    assert again.is_empty or again.partly_delivered
    assert again.overview.new_matches == again.chart_totals[again.chart_weeks.index(again.week)] or again.since < (
        again.week_start)


def test_view_in_browser_serves_the_written_report(real_client, reported):
    _, _, report, result = reported
    from domain.settings import ReportSettings
    from service.report.send import written_report

    settings = ReportSettings(outbox=result.html_path.parent)
    assert written_report(settings, report.week) == result.html_path
    assert written_report(settings, "../../etc/passwd") is None
    assert report.browser_link.endswith(f"/reports/{report.week}?built={result.html_path.stem.rsplit('-', 1)[1]}")
    assert written_report(settings, report.week, built=result.html_path.stem.rsplit("-", 1)[1]) == result.html_path
    import shutil

    outbox = ReportSettings().outbox_dir  # this test's own SCOUT_HOME, as `scout serve` reads it
    outbox.mkdir(parents=True, exist_ok=True)
    shutil.copy(result.html_path, outbox / result.html_path.name)
    page = real_client.get(report.browser_link.removeprefix("http://127.0.0.1:8700"))  # the mail's own link
    assert page.status_code == 200 and f"weekly report {report.week}" in page.text
    assert "img-src data:" in page.headers["content-security-policy"]
    assert real_client.get("/reports/2001-W01").status_code == 404


def test_the_mail_shows_the_evidence_the_need_page_shows(real_library, reported):
    """Issue 24: the mail's evidence differed from the web page's (and was English for Japanese documents)."""
    _, _, report, _ = reported
    compared = 0
    for section in report.sections:
        on_page = {m.doc_id: m.doc_evidence.text for m in real_library.match(section.need_id, limit=50).matches
                   if m.doc_evidence}
        for item in section.items:
            if item.match.doc_id in on_page:
                assert item.evidence == on_page[item.match.doc_id], (section.title, item.match.title)
                compared += 1
                doc = real_library.document(item.match.doc_id)
                if doc.language == "ja":  # its own Japanese sentence, not the English rendering
                    assert any("\u3040" <= ch <= "\u30ff" or "\u4e00" <= ch <= "\u9fff" for ch in item.evidence)
    assert compared >= 5
