"""What a report contains: order, top-N, evidence, escaping, the overview, past weeks, profiles."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from domain.models import DocKind

from service.report import ReportError, build_report, parse_week, render_html, render_text, report_csv
from service.report.build import safe_url
from service.report.profiles import ProfileError, ReportProfile, load_profiles, resolve_profile
from tests.report.fakes import (
    DOC_NV,
    DOC_OLD,
    DOC_XSS,
    LAST_SENT,
    NEED_BATTERY,
    NEED_LASER,
    NEED_PNT,
    NEED_QMAG,
    NEED_RAM,
    NOW,
    TAXONOMY,
    XSS_ORG,
    FakeLibrary,
    _doc,
    _need,
    make_match,
)

DOC_ABSORBER_LATE = _doc(DocKind.research, "jstage", "late-1", "Chip-scale atomic clock holdover",
                         "A chip-scale atomic clock keeps time without GNSS.", ["Late Lab"], "en")


TOKYO = ZoneInfo("Asia/Tokyo")
WEEK47 = datetime(2026, 11, 16, tzinfo=TOKYO)  # Monday 00:00 of 2026-W47 in the report's time zone
WEEK48 = datetime(2026, 11, 23, tzinfo=TOKYO)


def _build(ledger, settings, **kwargs):
    kwargs.setdefault("chart", False)
    kwargs.setdefault("now", NOW)
    return build_report(ledger, FakeLibrary(), settings=settings, taxonomy=TAXONOMY, **kwargs)


def test_needs_are_ordered_by_their_strongest_new_match(ledger, settings):
    report = _build(ledger, settings)
    assert report.week == "2026-W47" and not report.rebuilt
    # A weekly report covers its week, up to now while the week runs.
    assert (report.since, report.until) == (WEEK47, NOW)
    # The last report (W46's, sent Monday 09:00) ended inside this week; everything listed came after it.
    assert report.delivered_until == LAST_SENT and not report.partly_delivered
    assert [s.need_id for s in report.sections] == [NEED_QMAG.id, NEED_RAM.id, NEED_PNT.id]
    qmag, ram, pnt = report.sections
    # DOC_OLD matched this need weeks ago: it is not news.
    assert [i.match.doc_id for i in qmag.items] == [DOC_NV.id, qmag.items[1].match.doc_id]
    assert DOC_OLD.id not in {i.match.doc_id for s in report.sections for i in s.items}
    # Seven new for the radar-absorber need, five shown (top_per_need), strongest first.
    assert ram.new_count == 7 and len(ram.items) == settings.top_per_need == 5
    assert [i.match.score for i in ram.items] == sorted((i.match.score for i in ram.items), reverse=True)
    assert {q.need_id for q in report.quiet_needs} == {NEED_BATTERY.id, NEED_LASER.id}
    assert qmag.link == f"https://scout.example.jp/needs/{NEED_QMAG.id}"
    # Shared concepts are shown by name in both languages.
    assert qmag.items[0].concepts == ["quantum sensing (量子センシング)"]
    # Organizations behind the new matches, best first, marked new when first named this week.
    assert [(o.name, o.new) for o in qmag.organizations][:2] == [("東京工業大学", True), ("産業技術総合研究所", True)]


def test_the_overview_counts_crawls_rejects_and_new_organizations(ledger, settings):
    ov = _build(ledger, settings).overview
    assert [(s.source, s.fetched, s.new) for s in ov.sources] == [
        ("atla", 12, 2), ("jstage", 120, 14), ("prtimes", 60, 22), ("sbir", 300, 31)
    ]  # fmt: skip
    assert ov.fetched == 492 and ov.new_documents == 69
    assert ov.rejected == 2 + 1 + 7 + 3  # crawl rejects plus the 3 rejected later by nlp
    names = {o.name for o in ov.new_organizations}
    assert {"東京工業大学", "Q-Mag Labs", XSS_ORG} <= names and "Example University" not in names
    assert (ov.new_matches, ov.needs_with_news) == (11, 3)


def test_duplicates_the_enrichment_found_are_counted_among_the_new_not_as_rejects(ledger, settings):
    """Two of prtimes' 22 new documents were content the index already held (recorded by the enrich, not
    indexed): the mail says so, in the overview and in prtimes' line, and the rejects stay the rejects."""
    from service.operations import record_ingest_figures
    from domain.models import IngestStats

    before = _build(ledger, settings).overview
    record_ingest_figures([IngestStats(batch="prtimes-20261118T000000000000Z.jsonl",
                                       by_source={"prtimes": {"rejected": 0, "duplicates": 2}})], ledger,
                          at=NOW - timedelta(days=2))
    report = _build(ledger, settings)
    ov = report.overview
    assert (ov.new_documents, ov.duplicates, ov.rejected) == (before.new_documents, 2, before.rejected)
    text, html = render_text(report, settings), render_html(report, settings)
    assert "69 new, of them 2 duplicates of indexed ones, 16 updated" in text
    assert "new 22 (of them 2 duplicates)" in text
    assert "of them 2 duplicates of indexed ones" in html and "(2 duplicates)" in html


def test_crawled_text_is_escaped_and_unsafe_links_dropped(ledger, settings):
    report = _build(ledger, settings)
    html = render_html(report, settings)
    assert "<script>" not in html and "&lt;script&gt;alert(&#39;pwned&#39;)&lt;/script&gt;" in html
    assert '<img src=x onerror="alert(1)">' not in html and "&lt;img src=x onerror=" in html
    assert "javascript:" not in html  # the document's own URL was javascript: and is not linked
    xss_item = next(i for s in report.sections for i in s.items if i.match.doc_id == DOC_XSS.id)
    assert xss_item.link is None
    assert "&lt;b&gt;tunable&lt;/b&gt;" in html
    assert '<html lang="ja">' in html and "Noto Sans CJK JP" in html  # Japanese glyph forms, a CJK font stack
    assert "ダイヤモンドNVセンター" in html


def test_plain_text_has_every_section(ledger, settings):
    text = render_text(_build(ledger, settings), settings)
    assert text.index("== 小型無人機搭載型") < text.index("== Broadband Radar") < text.index("== Resilient timing")
    assert "2 more in the attached CSV." in text
    assert "NEEDS WITH NOTHING NEW (2): 高出力レーザーの熱管理技術 · Energy-dense batteries" in text
    assert "New matches from 2026-11-16 00:00 up to 2026-11-20 12:00 (Asia/Tokyo)" in text


def test_the_csv_lists_every_new_match_and_opens_in_excel(ledger, settings):
    data = report_csv(_build(ledger, settings))
    assert data[:3] == b"\xef\xbb\xbf"
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    assert len(rows) == 11
    assert rows[0]["need_title"] == "小型無人機搭載型の量子センサによる磁気異常検知技術"
    assert rows[0]["organizations"] == "東京工業大学; 産業技術総合研究所"
    assert rows[0]["areas"] == "jp-quantum; jp-sensing; us-quantum"
    assert float(rows[0]["score"]) == pytest.approx(0.91)


def test_a_past_week_is_rebuilt_from_the_ledger(ledger, settings):
    # Three weeks before the last report (2026-W44 in Tokyo) the ledger saw three new matches.
    report = _build(ledger, settings, week="2026-W44")
    assert report.rebuilt and report.week == "2026-W44"
    assert report.since == datetime(2026, 10, 26, tzinfo=timezone(timedelta(hours=9)))
    assert report.overview.new_matches == 3 and [s.need_id for s in report.sections] == [NEED_RAM.id]
    assert [(s.source, s.fetched) for s in report.overview.sources] == [("jstage", 40)]
    # The current week rebuilt later says the same as the report built "since the last report".
    week47 = _build(ledger, settings, week="2026-W47")
    assert {i.match.doc_id for i in week47.new_matches} == {i.match.doc_id for i in _build(ledger, settings).new_matches}
    # A week with nothing is a valid, empty report.
    assert _build(ledger, settings, week="2025-W01").is_empty


@pytest.mark.parametrize("bad", ["2026-47", "W47", "2026-W54", "2026-W00", "last week", ""])
def test_a_bad_week_is_a_clear_error(bad):
    with pytest.raises(ReportError, match="ISO week"):
        parse_week(bad, timezone.utc)


def test_a_profile_filters_by_area_and_need_source(ledger, settings):
    materials = ReportProfile(name="materials", recipients=["m@example.jp"], areas=["jp-materials"])
    ledger.record_report("2026-W46", LAST_SENT, None, ["m@example.jp"], "sent", profile="materials")
    report = _build(ledger, settings, profile=materials)
    assert [s.need_id for s in report.sections] == [NEED_RAM.id]
    assert report.overview.new_matches == 7
    atla = ReportProfile(name="atla", recipients=["a@example.jp"], need_sources=["atla"])
    report = _build(ledger, settings, profile=atla)
    assert [s.need_id for s in report.sections] == [NEED_QMAG.id]
    assert [q.need_id for q in report.quiet_needs] == [NEED_LASER.id]
    # Each profile has its own "since": this one never received a report.
    assert report.since.year == 2000


def test_profiles_come_from_yaml_or_json(tmp_path, monkeypatch, settings):
    monkeypatch.setenv("SCOUT_HOME", str(tmp_path))
    monkeypatch.delenv("SCOUT_REPORT_PROFILES", raising=False)
    assert list(load_profiles(settings)) == ["default"]
    assert resolve_profile(None, settings).recipients == settings.recipients
    (tmp_path / "report_profiles.yaml").write_text(
        "materials:\n  recipients: [m@example.jp]\n  areas: [jp-materials]\n", encoding="utf-8"
    )
    assert resolve_profile("materials", settings).areas == ["jp-materials"]
    monkeypatch.setenv("SCOUT_REPORT_PROFILES", json.dumps({"diu": {"recipients": ["d@example.com"]}}))
    assert set(load_profiles(settings)) == {"default", "diu"}
    with pytest.raises(ProfileError, match="unknown report profile 'materials'; known: default, diu"):
        resolve_profile("materials", settings)
    monkeypatch.setenv("SCOUT_REPORT_PROFILES", json.dumps({"x": {"recipient": ["typo@example.com"]}}))
    with pytest.raises(ProfileError, match="profile 'x' is invalid"):
        load_profiles(settings)


def test_mail_evidence_is_the_documents_own_sentence_as_on_the_web(ledger, settings):
    """Issue 24: a Japanese document's evidence in the mail was its English dictionary rendering ("metamaterial
    use thin broadband radar absorbing material design ..."), where the need page shows the Japanese sentence."""
    from service.evidence import analysed, match_evidence

    library = FakeLibrary()
    doc = library.document(DOC_NV.id)
    rendering = "diamond NV center use quantum sensor magnetic field measure"  # what the ranker hands back
    matches = [m for m in ledger.new_matches(WEEK47, NOW) if m.doc_id == DOC_NV.id and m.need_id == NEED_QMAG.id]
    salad = matches[0].model_copy(update={"doc_evidence": matches[0].doc_evidence.model_copy(update={
        "text": rendering, "start": len(doc.title) + 1, "end": len(analysed(doc))})})
    with ledger._transaction() as db:  # the ledger holds the match as the match flow recorded it
        db.execute("UPDATE matches SET match_json = ? WHERE need_id = ? AND doc_id = ?",
                   (salad.model_dump_json(exclude={"is_new"}), NEED_QMAG.id, DOC_NV.id))
    report = _build(ledger, settings)
    item = next(i for i in report.new_matches if i.match.doc_id == DOC_NV.id)
    _, on_the_web = match_evidence(salad, library.document(NEED_QMAG.id), analysed(library.document(NEED_QMAG.id)),
                                   analysed(doc))
    assert item.evidence == on_the_web.text and item.evidence in doc.text
    assert any("\u3040" <= ch <= "\u30ff" or "\u4e00" <= ch <= "\u9fff" for ch in item.evidence)
    assert rendering not in render_text(report, settings) and item.evidence in render_text(report, settings)
    rows = list(csv.DictReader(io.StringIO(report_csv(report).decode("utf-8-sig"))))
    assert next(r["evidence"] for r in rows if r["doc_id"] == DOC_NV.id) == item.evidence


def test_only_http_links_are_kept():
    assert safe_url("https://example.org/a?b=1") == "https://example.org/a?b=1"
    assert safe_url("javascript:alert(1)") is None
    assert safe_url("data:text/html,<script>") is None
    assert safe_url("//example.org") is None


def test_the_chart_is_a_png_with_the_recent_weeks(ledger, settings):
    report = _build(ledger, settings, chart=True)
    assert report.chart_png.startswith(b"\x89PNG")
    assert "2026-W40 to 2026-W47" in report.chart_caption


def test_crawled_text_cannot_become_a_spreadsheet_formula(ledger, settings):
    from tests.report.fakes import DOC_META, make_match

    evil = make_match(NEED_RAM, DOC_META, 0.95, ["metamaterial"]).model_copy(
        update={"doc_id": "evil", "title": '=HYPERLINK("http://evil.example","click")', "organizations": ["@SUM(1+1)"]}
    )
    ledger.record_matches(ledger.start_match_run(at=NOW - timedelta(hours=1)), [evil])
    rows = list(csv.DictReader(io.StringIO(report_csv(_build(ledger, settings)).decode("utf-8-sig"))))
    assert rows[0]["doc_id"] == "evil"
    assert rows[0]["title"] == '\'=HYPERLINK("http://evil.example","click")'
    assert rows[0]["organizations"] == "'@SUM(1+1)"
    assert rows[0]["score"] == "0.9500"  # numbers stay numbers


@pytest.mark.filterwarnings("ignore:Glyph")  # the made-up family has no glyphs: not what is tested here
def test_drawing_the_chart_prints_no_font_warning(ledger, monkeypatch, capfd, caplog):
    """Issue 24: `scout report` printed a matplotlib findfont warning; a font lookup that fails (here a family
    the machine lacks, in the legend) says nothing the reader can act on."""
    import logging

    from service.report import chart

    monkeypatch.setattr(chart, "cjk_font_family", lambda: "Nonexistent Sans CJK JP")
    with caplog.at_level(logging.WARNING):
        png, _ = chart.render_area_chart(ledger, TAXONOMY, until=NOW, weeks=8, tz=timezone.utc)
    assert png.startswith(b"\x89PNG")
    assert not [r for r in caplog.records if r.name.startswith("matplotlib")]
    assert "findfont" not in capfd.readouterr().err


def test_chart_labels_never_lack_glyphs(ledger, settings, monkeypatch):
    """Japanese area names with a CJK font, English ones without: matplotlib never draws empty boxes."""
    import warnings

    from service.report import chart

    for family in (chart.cjk_font_family(), None):
        monkeypatch.setattr(chart, "cjk_font_family", lambda family=family: family)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            png, _ = chart.render_area_chart(ledger, TAXONOMY, until=NOW, weeks=8, tz=timezone.utc)
        assert png.startswith(b"\x89PNG")
        assert not [w for w in caught if "missing from font" in str(w.message)], family


def test_a_report_sent_on_monday_morning_is_named_after_last_week(ledger, settings):
    monday_morning = datetime(2026, 11, 23, 8, 0, tzinfo=timezone(timedelta(hours=9)))  # 2026-W48 in Tokyo
    report = build_report(ledger, FakeLibrary(), settings=settings, taxonomy=TAXONOMY, now=monday_morning, chart=False)
    assert report.week == "2026-W47" and (report.since, report.until) == (WEEK47, WEEK48)
    assert _build(ledger, settings).week == "2026-W47"  # built on Friday of the same week


def test_a_url_urllib_cannot_split_does_not_stop_the_report(ledger, settings):
    """Issue 19.1: one stored `http://[::1` made every later report fail with a raw ValueError."""
    from datetime import timedelta

    from domain.models import DocKind
    from tests.report.fakes import _doc, make_match

    doc = _doc(DocKind.research, "openalex", "W1", "Broken-link absorber", "A metamaterial absorber.", ["Lab"], "en",
               url="http://[::1")
    bad = make_match(NEED_RAM, doc, 0.99, ["metamaterial"])
    run = ledger.start_match_run(at=NOW - timedelta(minutes=30))
    ledger.record_matches(run, [bad])
    report = _build(ledger, settings)
    item = next(i for i in report.new_matches if i.match.url == "http://[::1")
    assert item.link is None
    assert "http://[::1" in report_csv(report).decode("utf-8-sig")
    assert 'href="http://[::1' not in render_html(report, settings) and render_text(report, settings)


def test_the_report_opens_with_the_top_three_and_a_view_in_browser_link(ledger, settings):
    report = _build(ledger, settings)
    assert [i.match.doc_id for i in report.summary] == [i.match.doc_id for i in report.new_matches[:3]]
    assert report.browser_link == "https://scout.example.jp/reports/2026-W47?built=20261120T030000Z"  # this one
    html, text = render_html(report, settings), render_text(report, settings)
    assert html.index("strongest new matches") < html.index("Overview")
    assert 'href="https://scout.example.jp/reports/2026-W47?built=20261120T030000Z"' in html and "View in browser" in html
    assert text.index("STRONGEST NEW MATCHES") < text.index("OVERVIEW")


def test_match_links_lead_to_the_evidence_with_the_original_one_click_on(ledger, settings):
    report = _build(ledger, settings)
    item = next(i for s in report.sections for i in s.items if i.match.doc_id == DOC_NV.id)
    assert item.evidence_link == f"https://scout.example.jp/needs/{NEED_QMAG.id}#m-{DOC_NV.id}"
    html = render_html(report, settings)
    assert f'href="{item.evidence_link}"' in html and f'href="{item.link}"' in html
    assert html.index(f'href="{item.evidence_link}"') < html.index(f'href="{item.link}"')


def test_the_overview_counts_documents_read_and_crawl_runs(ledger, settings):
    report = _build(ledger, settings)
    ov = report.overview
    assert ov.records == sum(s.new + s.updated + s.unchanged for s in ov.sources) == 14 + 3 + 101 + 22 + 37 + 2 + 1 + 9 + 31 + 12 + 250
    assert ov.runs == 4
    assert f"{ov.records}</b> documents read by 4 crawls" in render_html(report, settings)


def test_versions_of_one_technology_are_one_item(ledger, settings):
    from datetime import timezone

    from domain.models import DocKind, Document
    from tests.report.fakes import make_match

    phase = [Document.make(kind=DocKind.startup, source="sbir", source_id=f"p{i}", url=f"https://example.org/p{i}",
                           title=f"Compact quantum magnetometer (Phase {'I' * i})", text="A compact magnetometer.",
                           organizations=["Acme Quantum Inc."], published=datetime(2016 + 2 * i, 1, 1, tzinfo=timezone.utc))
             for i in (1, 2)]
    run = ledger.start_match_run(at=NOW - timedelta(hours=1))
    ledger.record_matches(run, [make_match(NEED_PNT, phase[0], 0.61, [], rank=1),
                                make_match(NEED_PNT, phase[1], 0.66, [], rank=2)])
    report = _build(ledger, settings)
    items = [i for i in report.new_matches if i.match.doc_id in {d.id for d in phase}]
    assert len(items) == 1 and items[0].match.doc_id == phase[1].id  # the stronger version leads
    assert [v.label for v in items[0].versions] == ["Phase I 2018", "Phase II 2020"]
    assert "Phase I 2018, Phase II 2020" in render_html(report, settings)
    # what the match runs counted as new (the demo's and the flows' summaries) is what the report accounts for:
    # its items plus the versions folded into them, and the text says so
    ov = report.overview
    counted = len(ledger.new_matches(report.since, report.until))
    assert ov.new_matches + ov.folded_versions == counted and ov.folded_versions >= 1
    assert f"(and {ov.folded_versions} more document" in render_text(report, settings)
    assert f"(and {ov.folded_versions} more document" in render_html(report, settings)


def test_needs_of_every_language_are_ordered_on_one_scale():
    from service.report.build import NeedSection, section_strength

    def section(need_id, language, best):
        return NeedSection(need_id, need_id, "src", language, "", 1, best, [], [])

    # Japanese needs meet English technology: their scores run lower for the same fit.
    sections = [section("en1", "en", 0.80), section("en2", "en", 0.70), section("en3", "en", 0.60),
                section("ja1", "ja", 0.50), section("ja2", "ja", 0.40), section("ja3", "ja", 0.30)]
    strength = section_strength(sections)
    order = sorted(sections, key=lambda s: -strength[s.need_id])
    assert {s.need_id for s in order[:2]} == {"en1", "ja1"}  # the best of each language leads, side by side
    few = section_strength([section("en1", "en", 0.8), section("ja1", "ja", 0.5)])
    assert few["en1"] > few["ja1"]  # too few to tell a language's scale: raw order


def test_the_chart_counts_each_match_once_like_the_text(ledger, settings):
    from service.report.build import _Needs, weekly_area_counts
    from service.report.chart import MAX_AREAS, top_areas

    report = build_report(ledger, FakeLibrary(), settings=settings, taxonomy=TAXONOMY, now=NOW, week="2026-W47",
                          chart=True)
    weeks, counts = weekly_area_counts(ledger, TAXONOMY, ReportProfile(), _Needs(FakeLibrary(), ReportProfile()),
                                       until=report.until, tz=timezone.utc)
    assert weeks[-1] == "2026-W47"
    assert sum(c[-1] for c in counts.values()) == report.overview.new_matches  # the bar is the text's figure
    assert report.chart_png.startswith(b"\x89PNG") and "counted once" in report.chart_caption
    many = {f"a{i}": [i + 1, 0] for i in range(11)} | {"other": [1, 1]}
    series = top_areas(many)
    assert len(series) == MAX_AREAS + 1 and series[-1][0] == "other"
    assert series[-1][1] == [1 + 2 + 3 + 1, 1]  # the three smallest areas and the old "other"
    assert sum(sum(c) for _, c in series) == sum(sum(c) for c in many.values())


def test_one_csv_cell_guard_for_every_csv():
    from service.csv_cells import csv_cell

    assert [csv_cell(v) for v in ("=1+1", "+1", "-1", "@x", "\tx", "plain", 0.123456, 3, True, None)] == [
        "'=1+1", "'+1", "'-1", "'@x", "'\tx", "plain", "0.1235", 3, True, ""]
    # the fullwidth forms a Japanese input method types, which spreadsheets read as formulas too
    assert [csv_cell(v) for v in ("＝1+1", "＋1", "－1", "＠SUM(A1)", "﹦1", "ＡＢＣ", "日本")] == [
        "'＝1+1", "'＋1", "'－1", "'＠SUM(A1)", "'﹦1", "ＡＢＣ", "日本"]


def test_a_match_below_the_first_page_links_to_a_page_that_shows_it():
    from service.report.build import evidence_link
    from tests.report.fakes import make_match

    deep = make_match(NEED_RAM, DOC_NV, 0.4, [], rank=27)
    assert evidence_link("https://s.example", deep) == f"https://s.example/needs/{NEED_RAM.id}?limit=37#m-{DOC_NV.id}"
    top = make_match(NEED_RAM, DOC_NV, 0.9, [], rank=2)
    assert evidence_link("https://s.example", top) == f"https://s.example/needs/{NEED_RAM.id}#m-{DOC_NV.id}"


def _chart_bar(report) -> int:
    """The chart's bar for the report's week: the new matches of every area that week."""
    return report.chart_totals[report.chart_weeks.index(report.week)]


def _text_total(text: str) -> int:
    import re

    return int(re.search(r"^(\d+) new matches for \d+ needs", text, re.MULTILINE).group(1))


def test_the_report_text_totals_equal_its_chart_bar_for_the_same_week(ledger, settings):
    """Issue 24: a second report in the same week said "0 new matches" over a one-minute window while its
    chart's bar for the week said 214, and attached an empty CSV."""
    from service.report.render import subject_of

    first = _build(ledger, settings, chart=True)
    assert _text_total(render_text(first, settings)) == first.overview.new_matches == _chart_bar(first) == 11
    ledger.record_report(first.week, NOW, None, ["scout@example.jp"], "sent", profile="default",
                         covers_until=first.until)

    # The same week again a minute later: the same week, the same figures, and what is new since the delivery.
    again = _build(ledger, settings, chart=True, now=NOW + timedelta(minutes=1))
    text = render_text(again, settings)
    assert again.week == first.week and again.since == WEEK47 and again.delivered_until == first.until
    assert _text_total(text) == again.overview.new_matches == _chart_bar(again) == 11
    assert again.overview.fresh_matches == 0
    assert "0 of these 11 new matches were first seen after 2026-11-20 12:00" in text
    rows = list(csv.DictReader(io.StringIO(report_csv(again).decode("utf-8-sig"))))
    assert len(rows) == 11 and {r["new_since_last_report"] for r in rows} == {"no"}
    assert "0 since the last report" in subject_of(again, settings)

    # A match first seen after the delivery is the one thing new since it; the totals still agree.
    run = ledger.start_match_run(at=NOW + timedelta(minutes=30))
    ledger.record_matches(run, [make_match(NEED_PNT, DOC_ABSORBER_LATE, 0.6, ["atomic-clock"])])
    later = _build(ledger, settings, chart=True, now=NOW + timedelta(hours=1))
    assert _text_total(render_text(later, settings)) == later.overview.new_matches == _chart_bar(later) == 12
    assert later.overview.fresh_matches == 1
    assert [i.match.doc_id for i in later.new_matches if i.fresh] == [DOC_ABSORBER_LATE.id]
    assert "new since the last report" in render_html(later, settings)


def test_a_report_after_a_gap_says_plainly_what_else_it_covers(ledger, settings):
    # Nothing was delivered to this profile since 2026-W44: the report starts where that one ended.
    gap_end = datetime(2026, 11, 2, tzinfo=TOKYO)
    materials = ReportProfile(name="materials", recipients=["m@example.jp"])
    ledger.record_report("2026-W44", gap_end, None, ["m@example.jp"], "sent", profile="materials")
    report = _build(ledger, settings, profile=materials, chart=True)
    assert (report.week, report.since, report.until) == ("2026-W47", gap_end, NOW)
    text = render_text(report, settings)
    assert "It also covers 2026-11-02 00:00 to 2026-11-16 00:00" in text
    weeks = report.chart_weeks
    covered = sum(report.chart_totals[weeks.index(w)] for w in ("2026-W45", "2026-W46", "2026-W47"))
    assert _text_total(text) == report.overview.new_matches == covered


def test_a_match_judged_not_relevant_is_left_out_of_text_chart_and_csv_and_the_report_says_so(ledger, settings):
    """Issue 24: a document judged not relevant never rises anywhere, the report included; the report's
    text, chart and CSV still agree, and it says what it left out."""
    before = _build(ledger, settings, chart=True)
    target = before.new_matches[0].match  # the week's strongest new match
    library = FakeLibrary()
    library.judgements = {target.need_id: {target.doc_id: "not_relevant"}}
    after = build_report(ledger, library, settings=settings, taxonomy=TAXONOMY, now=NOW, chart=True)
    shown = {(i.match.need_id, d) for i in after.new_matches for d in [i.match.doc_id, *(v.doc_id for v in i.versions)]}
    assert (target.need_id, target.doc_id) not in shown
    assert after.overview.judged_not_relevant == 1
    text = render_text(after, settings)
    assert _text_total(text) == after.overview.new_matches == _chart_bar(after) == before.overview.new_matches - 1
    assert "1 new match judged not relevant by an analyst is left out" in text
    rows = list(csv.DictReader(io.StringIO(report_csv(after).decode("utf-8-sig"))))
    assert len(rows) == after.overview.new_matches
    # another need's judgement of the same document leaves this need's match alone
    library.judgements = {"another-need": {target.doc_id: "not_relevant"}}
    again = build_report(ledger, library, settings=settings, taxonomy=TAXONOMY, now=NOW, chart=False)
    assert again.overview.new_matches == before.overview.new_matches and again.overview.judged_not_relevant == 0


def test_a_first_report_built_early_in_the_week_holds_what_was_just_found(tmp_path, settings):
    """Seen when the tests ran on a Monday in Tokyo: with no report ever delivered, one built Monday to Thursday
    was named after last week and ended at last week's end, so the matches just recorded (a first `scout demo`
    on a Tuesday) were in no report yet. The first report holds everything up to now."""
    from index.ledger import Ledger
    from tests.report.fakes import DOC_NV, NEED_QMAG, make_match

    ledger = Ledger(tmp_path / "fresh.sqlite")
    tuesday = datetime(2026, 11, 24, 3, 0, tzinfo=timezone.utc)  # 12:00 JST, Tuesday of 2026-W48
    run = ledger.start_match_run(at=tuesday - timedelta(hours=1))
    ledger.record_matches(run, [make_match(NEED_QMAG, DOC_NV, 0.9, ["quantum-sensing"])])
    report = build_report(ledger, FakeLibrary(), settings=settings, taxonomy=TAXONOMY, now=tuesday, chart=False)
    assert report.week == "2026-W48" and report.until == tuesday
    assert [i.match.doc_id for i in report.new_matches] == [DOC_NV.id]
    text = render_text(report, settings)
    # it has no start: "from" its week's Monday read as if it held that week's matches alone
    assert "New matches up to 2026-11-24 12:00 (Asia/Tokyo)" in text and "New matches from" not in text
    assert "New matches up to 2026-11-24 12:00" in render_html(report, settings)


def test_an_organization_in_the_report_scores_as_on_the_need_page():
    """Two new documents of one organization for one need: the report's organization figure is the need page's
    row (a noisy-OR over its documents, `organization_score`), not its best document's score."""
    from index.ranking.organizations import organization_score
    from index.ranking.weights import RankWeights
    from service.report.build import ReportItem, section_organizations
    from tests.report.fakes import make_match
    from tests.web.fakes import _doc

    need = _doc("need", "atla", "n-1", "電波吸収材", "電波吸収材を求める。", "ja", ["防衛装備庁"], "2026-06-15", [])
    docs = [_doc("research", "jstage", f"d-{i}", f"吸収体 {i}", "電波吸収体の設計。", "ja", ["東都工業大学"],
                 "2025-08-05", []) for i in range(2)]
    items = [ReportItem(make_match(need, d, s, []), [], "", None) for d, s in zip(docs, (0.95, 0.20))]
    (org,) = section_organizations(items, set(), top=5)
    assert org.documents == 2
    assert org.score == pytest.approx(organization_score([0.95, 0.20], RankWeights().org_decay))
    assert org.score > 0.95


def test_a_sources_line_says_its_fetched_figure_counts_pages(ledger, settings):
    """A crawl's `fetched` is HTTP pages, not records: the demo's mail had read "arxiv fetched 3, new 239", as if
    239 new documents came of 3 fetched. Each source's line (text) and column (HTML) says pages."""
    report = _build(ledger, settings)
    text, html = render_text(report, settings), render_html(report, settings)
    lines = {line.split()[0]: line for line in text.splitlines() if ", unchanged " in line}
    assert set(lines) == {s.source for s in report.overview.sources}
    for s in report.overview.sources:
        assert f" {s.fetched} page{'s' if s.fetched != 1 else ''} fetched, new {s.new}" in lines[s.source]
    assert ">pages fetched</th>" in html and ">fetched</th>" not in html


def test_a_week_of_one_reads_in_the_singular_in_both_parts(tmp_path, settings):
    """The plain-text part said "1 new matches for 1 needs · 1 documents read by 1 crawls (... 1 pages
    fetched) · 1 new organizations" where the HTML part said it in the singular."""
    from index.ledger import Ledger
    from domain.models import CrawlStats
    from tests.report.fakes import DOC_NV, NEED_QMAG, make_match

    ledger = Ledger(tmp_path / "one.sqlite")
    at = NOW - timedelta(days=1)
    ledger.record_crawl(CrawlStats(source="jstage", fetched=1, new=1, started=at, finished=at), run_id="crawl-1")
    run = ledger.start_match_run(at=at)
    match = make_match(NEED_QMAG, DOC_NV, 0.91, ["quantum-sensing"])
    ledger.record_matches(run, [match.model_copy(update={"organizations": match.organizations[:1]})])
    report = _build(ledger, settings)
    assert report.overview.new_matches == 1 and len(report.overview.new_organizations) == 1
    text, html = render_text(report, settings), " ".join(render_html(report, settings).split())
    for part in (text, html.replace("<b>", "").replace("</b>", "")):
        assert "1 new match for 1 need" in part and "1 new matches" not in part
        assert "1 document read by 1 crawl" in part and "1 page fetched" in part
        assert "1 new organization " in part and "1 new organizations" not in part


def test_the_charts_legend_is_text_in_the_mail(ledger, settings):
    """At 390 px a phone scales the 720 px chart to half: its drawn legend was about 5 px high. The legend is
    the mail's text (each area's names, its bar colour, its new matches); the image leaves it out."""
    from service.report.build import _Needs, weekly_area_counts
    from service.report.chart import PALETTE, top_areas
    from service.report.render import render_html

    report = build_report(ledger, FakeLibrary(), settings=settings, taxonomy=TAXONOMY, now=NOW, week="2026-W47",
                          chart=True)
    _, counts = weekly_area_counts(ledger, TAXONOMY, ReportProfile(), _Needs(FakeLibrary(), ReportProfile()),
                                   until=report.until, tz=timezone.utc)
    series = top_areas(counts)
    assert [e.count for e in report.chart_legend] == [sum(v) for _, v in series] and report.chart_legend
    assert sum(e.count for e in report.chart_legend) == sum(report.chart_totals)
    names = {a.id: a for a in TAXONOMY.areas}
    assert [e.ja for e in report.chart_legend] == [names[a].ja if a in names else "その他" for a, _ in series]
    areas = [e for e in report.chart_legend if e.en != "other"]
    assert [e.colour for e in areas] == PALETTE[: len(areas)]  # the colours the bars are drawn in
    assert int.from_bytes(report.chart_png[16:20], "big") == 660  # the image without its legend (836 px with)
    html = render_html(report, settings)
    legend = html.split('<ul class="chart-legend"', 1)[1].split("</ul>", 1)[0]
    for e in report.chart_legend:
        assert e.ja in legend and e.en in legend and f"color:{e.colour}" in legend and f"<b>{e.count}</b>" in legend
    # the plain-text part, which has no chart, gives the same counts
    from service.report.render import render_text

    text = render_text(report, settings)
    assert f"New matches per area, {report.chart_weeks[0]} to {report.chart_weeks[-1]}" in text
    for e in report.chart_legend:
        assert f"  {e.ja} ({e.en}): {e.count}\n" in text


def test_reports_read_the_configured_taxonomy_once_per_process(ledger, settings, scout_home, tmp_path, monkeypatch):
    """Without a taxonomy given, a report reads the one the index is analysed with (SCOUT_NLP_TAXONOMY_PATH),
    from the process' one cache (nlp.taxonomy.configured_taxonomy) that the pages and the CLI use: a second
    report in the process (the scheduled flow, the web app's preview) does not parse the file again."""
    import yaml

    import nlp.taxonomy as taxonomy_module

    path = tmp_path / "taxonomy.yaml"
    path.write_text(yaml.safe_dump(TAXONOMY.model_dump(mode="json"), allow_unicode=True), encoding="utf-8")
    monkeypatch.setenv("SCOUT_NLP_TAXONOMY_PATH", str(path))
    loads: list = []
    real = taxonomy_module.load_taxonomy

    def counted(*args, **kwargs):
        loads.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(taxonomy_module, "load_taxonomy", counted)
    first = build_report(ledger, FakeLibrary(), settings=settings, now=NOW, chart=False)
    second = build_report(ledger, FakeLibrary(), settings=settings, now=NOW, chart=False)
    with_given = build_report(ledger, FakeLibrary(), settings=settings, taxonomy=TAXONOMY, now=NOW, chart=False)
    assert len(loads) == 1
    assert [i.concepts for i in first.new_matches] == [i.concepts for i in second.new_matches] == \
        [i.concepts for i in with_given.new_matches] and any(i.concepts for i in first.new_matches)


def test_a_publication_day_is_the_one_the_pages_show(ledger, settings):
    """A document published at 17:00 UTC on 7 January is published on 8 January in Tokyo: the mail and its CSV
    name the day in the report's zone, as the pages and the CLI do (the mail had shown the UTC day, the pages
    the Tokyo one, for 71 of the demo's first 300 documents)."""
    report = _build(ledger, settings)
    item = report.sections[0].items[0]
    late = datetime(2025, 1, 7, 17, 0, tzinfo=timezone.utc)
    item.match.published = late
    assert report.timezone == "Asia/Tokyo"
    html = render_html(report, settings)
    assert "2025-01-08" in html and "2025-01-07" not in html
    rows = list(csv.DictReader(io.StringIO(report_csv(report).decode("utf-8-sig"))))
    assert [r["published"] for r in rows if (r["need_id"], r["doc_id"]) == (item.match.need_id, item.match.doc_id)] \
        == ["2025-01-08"]


def test_japanese_evidence_is_quoted_in_japanese_with_a_labelled_english_gist_beside_it(ledger, settings):
    """A stakeholder who reads English had a Japanese sentence and nothing else for a Japanese document (the
    demo's mail quoted 株式会社サイバーウォッチ(本社:大阪府大阪市...)は... for an English cyber need). The mail now
    keeps the Japanese quote and gives the dictionary rendering beside it, labelled as a word-by-word gist (not a
    translation), in the HTML, the plain text and the CSV; English evidence gets none."""
    from service.evidence import RENDERING_LABEL

    report = _build(ledger, settings)
    ja = next(i for i in report.new_matches if i.match.doc_id == DOC_NV.id)
    en = next(i for i in report.new_matches if i.evidence and i.evidence.isascii())
    assert any("\u3040" <= ch <= "\u30ff" for ch in ja.evidence)  # the quote stays the document's Japanese
    assert ja.evidence_en.isascii() and {"quantum", "sensor"} <= set(ja.evidence_en.split())
    assert en.evidence_en == ""
    html, text = render_html(report, settings), render_text(report, settings)
    assert f'<span lang="ja">“{ja.evidence}”</span>' in html
    assert f'lang="en"' in html and f"{RENDERING_LABEL}:</span> {ja.evidence_en}" in html
    assert f'"{ja.evidence}"\n        {RENDERING_LABEL}: {ja.evidence_en}\n' in text
    assert html.count(RENDERING_LABEL) == text.count(RENDERING_LABEL) == sum(1 for i in report.sections
                                                                                for j in i.items if j.evidence_en)
    rows = {(r["need_id"], r["doc_id"]): r for r in csv.DictReader(io.StringIO(report_csv(report).decode("utf-8-sig")))}
    assert rows[ja.match.need_id, DOC_NV.id]["evidence_english_gist"] == ja.evidence_en
    assert rows[en.match.need_id, en.match.doc_id]["evidence_english_gist"] == ""


def test_the_mails_footer_names_the_zone_of_its_time(ledger, settings):
    """The footer read "Generated by dualscout on 2026-11-20 12:00." with no zone, two lines under a period
    given "(Asia/Tokyo)": a reader abroad could not tell it from UTC."""
    report = _build(ledger, settings)
    assert "Generated by dualscout on 2026-11-20 12:00 (Asia/Tokyo)." in render_text(report, settings)
    assert "Generated by dualscout on 2026-11-20 12:00 (Asia/Tokyo)." in render_html(report, settings)


def test_a_rebuilt_week_lists_as_quiet_only_the_needs_indexed_by_its_end(ledger, settings):
    """A past week rebuilt from the ledger listed under "Needs with nothing new" every need in the index now,
    those first seen after the week too (the demo's 2026-W49, a week before its index existed: "11 needs")."""
    late = _need("atla", "2026-R-99", "遅れて公開された研究テーマ", "後から公開された研究テーマ。", "ja").model_copy(
        update={"first_seen": NOW + timedelta(days=30)})

    class WithALateNeed(FakeLibrary):
        def needs(self):
            return [*super().needs(), late]

    report = build_report(ledger, WithALateNeed(), settings=settings, taxonomy=TAXONOMY, now=NOW, chart=False,
                          week="2026-W47")
    quiet = {n.need_id for n in report.quiet_needs}
    assert NEED_LASER.id in quiet and late.id not in quiet
