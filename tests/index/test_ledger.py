"""The ledger: "new since the last delivered report", idempotent recording, rebuilding a past week, several
processes writing at once."""

from __future__ import annotations

import multiprocessing
import sqlite3
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from index.ledger import SCHEMA_VERSION, Ledger
from domain.models import CrawlStats
from tests.report.fakes import (
    DOC_CLOCK,
    DOC_META,
    DOC_NV,
    DOC_OLD,
    LAST_SENT,
    NEED_PNT,
    NEED_QMAG,
    NEED_RAM,
    NOW,
    make_match,
    populate,
    this_week_matches,
)

CONCEPT_AREAS = {"quantum-sensing": ["jp-quantum", "jp-sensing"], "metamaterial": ["jp-materials"],
                 "radar-absorbing-material": ["jp-materials"], "atomic-clock": ["jp-sensing"]}  # fmt: skip


@pytest.fixture
def ledger(tmp_path):
    return Ledger(tmp_path / "ledger.sqlite")


def _pairs(matches):
    return {(m.need_id, m.doc_id) for m in matches}


def test_new_means_first_seen_since_the_last_delivered_report(ledger):
    populate(ledger)
    assert ledger.last_sent_report() == ("2026-W46", LAST_SENT)

    new = ledger.new_matches(LAST_SENT, NOW)
    expected = {(m.need_id, m.doc_id) for m in this_week_matches()} - {(NEED_QMAG.id, DOC_OLD.id)}
    assert _pairs(new) == expected  # the old magnetometer pair was seen weeks ago: not new
    assert all(m.is_new for m in new)
    assert [m.score for m in new] == sorted((m.score for m in new), reverse=True)

    # Previews and failed sends do not move the mark; a delivery (sent, or written to the outbox) does.
    ledger.record_report("2026-W47", NOW, None, ["a@example.jp"], "preview", profile="default")
    ledger.record_report("2026-W47", NOW, None, ["a@example.jp"], "failed", profile="default")
    assert ledger.last_sent_report() == ("2026-W46", LAST_SENT)
    ledger.record_report("2026-W47", NOW, "/x.eml", ["a@example.jp"], "written", profile="default")
    assert ledger.last_sent_report() == ("2026-W47", NOW)
    # Profiles keep their own marks.
    assert ledger.last_sent_report(profile="materials") is None


def test_recording_the_same_run_twice_adds_nothing(ledger):
    run = ledger.start_match_run(at=NOW)
    matches = this_week_matches()
    first = ledger.record_matches(run, matches)
    assert _pairs(first) == _pairs(matches)

    def snapshot():
        with sqlite3.connect(ledger.path) as db:
            return [db.execute(f"SELECT * FROM {t} ORDER BY 1, 2").fetchall() for t in ("matches", "organizations")]

    before = snapshot()
    again = ledger.record_matches(run, matches)  # a retried task
    assert snapshot() == before
    assert _pairs(again) == _pairs(first)  # the same answer for the same run

    stats = CrawlStats(source="jstage", fetched=10, new=3, unchanged=7, finished=NOW)
    ledger.record_crawl(stats, "crawl-1")
    ledger.record_crawl(stats, "crawl-1")
    ledger.record_rejects_count("crawl-1", "jstage", 2, at=NOW)
    ledger.record_rejects_count("crawl-1", "jstage", 2, at=NOW)
    (summary,) = ledger.crawl_summary(NOW - timedelta(hours=1), NOW + timedelta(hours=1))
    assert (summary.fetched, summary.new, summary.unchanged, summary.rejected, summary.runs) == (10, 3, 7, 2, 1)


def test_a_later_run_keeps_the_first_sighting_and_the_best_score(ledger):
    run1 = ledger.start_match_run(at=NOW - timedelta(days=7))
    ledger.record_matches(run1, [make_match(NEED_RAM, DOC_META, 0.60, ["metamaterial"])])
    run2 = ledger.start_match_run(at=NOW)
    new = ledger.record_matches(
        run2, [make_match(NEED_RAM, DOC_META, 0.80, ["metamaterial"]), make_match(NEED_PNT, DOC_CLOCK, 0.7, [])]
    )
    assert _pairs(new) == {(NEED_PNT.id, DOC_CLOCK.id)}
    (old,) = ledger.new_matches(NOW - timedelta(days=8), NOW - timedelta(days=6))
    assert old.score == pytest.approx(0.60)  # as reported that week
    with sqlite3.connect(ledger.path) as db:
        best, last_run = db.execute("SELECT best_score, last_run FROM matches WHERE doc_id = ?", (DOC_META.id,)).fetchone()
    assert (best, last_run) == (pytest.approx(0.80), run2)


def test_a_past_week_can_be_rebuilt_after_later_runs(ledger):
    runs = populate(ledger)
    week_start = LAST_SENT - timedelta(weeks=3)  # the run three weeks before the last report
    in_week = ledger.new_matches(week_start, week_start + timedelta(weeks=1))
    assert len(in_week) == 3 and all(m.need_id == NEED_RAM.id for m in in_week)
    summary = ledger.crawl_summary(week_start, week_start + timedelta(weeks=1))
    assert [(s.source, s.fetched, s.new) for s in summary] == [("jstage", 40, 5)]
    # Later runs that see the same pairs again do not change what that week reported.
    later = ledger.start_match_run(at=NOW + timedelta(days=1))
    ledger.record_matches(later, [m.model_copy(update={"score": 0.99}) for m in in_week])
    assert ledger.new_matches(week_start, week_start + timedelta(weeks=1)) == in_week
    assert runs["-3w"] != later


def test_new_organizations_are_counted_once(ledger):
    populate(ledger)
    names = [o.name for o in ledger.new_organizations(LAST_SENT, NOW)]
    assert "東京工業大学" in names and "Q-Mag Labs" in names
    assert "Example University" not in names  # named by a match weeks ago
    assert len(names) == len(set(names))  # 東京工業大学 appears in two matches this week


def test_matches_per_area_by_week(ledger):
    populate(ledger)
    counts = ledger.matches_per_area(8, NOW, CONCEPT_AREAS, tz=ZoneInfo("Asia/Tokyo"))
    assert counts.weeks == [f"2026-W{w}" for w in range(40, 48)]
    # This week: NV(x2 needs), Q-Mag -> quantum; 7 RAM -> materials; clock + NV -> sensing.
    assert counts.counts["jp-quantum"][-1] == 3
    assert counts.counts["jp-materials"][-1] == 7
    assert counts.counts["jp-sensing"][-1] == 4
    assert sum(counts.counts["jp-materials"][:-1]) == 6 + 4 + 3 + 1  # the filler of older runs
    # A window that ends exactly on a Monday does not open an empty next week.
    monday = datetime(2026, 11, 23, tzinfo=ZoneInfo("Asia/Tokyo"))
    assert ledger.matches_per_area(2, monday, CONCEPT_AREAS, tz=ZoneInfo("Asia/Tokyo")).weeks == ["2026-W46", "2026-W47"]


def test_bad_input_is_refused(ledger):
    with pytest.raises(KeyError, match="start_match_run"):
        ledger.record_matches("no-such-run", [make_match(NEED_QMAG, DOC_NV, 0.5, [])])
    with pytest.raises(ValueError, match="timezone-aware"):
        ledger.new_matches(datetime(2026, 1, 1), NOW)
    with pytest.raises(ValueError):
        ledger.record_rejects_count("r", "s", -1)


def _writer(path: str, worker: int, runs: int) -> None:
    ledger = Ledger(path)
    for r in range(runs):
        run = ledger.start_match_run(at=NOW + timedelta(minutes=worker * 100 + r))
        matches = [make_match(NEED_RAM, DOC_META, 0.5, []).model_copy(update={"doc_id": f"w{worker}-r{r}-{i}"})
                   for i in range(10)]  # fmt: skip
        ledger.record_matches(run, matches)
        ledger.record_crawl(CrawlStats(source=f"s{worker}", fetched=1, finished=NOW), f"crawl-{worker}-{r}")


def test_several_processes_write_at_once(tmp_path):
    path = tmp_path / "ledger.sqlite"
    Ledger(path)
    ctx = multiprocessing.get_context("spawn")
    workers = [ctx.Process(target=_writer, args=(str(path), w, 15)) for w in range(3)]
    for p in workers:
        p.start()
    for p in workers:
        p.join(60)
    assert [p.exitcode for p in workers] == [0, 0, 0]
    ledger = Ledger(path)
    assert len(ledger.new_matches(NOW - timedelta(days=1), NOW + timedelta(days=1))) == 3 * 15 * 10
    assert [s.runs for s in ledger.crawl_summary(NOW, NOW + timedelta(seconds=1))] == [15, 15, 15]
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_timestamps_in_other_zones_compare_correctly(ledger):
    run = ledger.start_match_run(at=datetime(2026, 11, 20, 9, 0, tzinfo=ZoneInfo("Asia/Tokyo")))  # 00:00 UTC
    ledger.record_matches(run, [make_match(NEED_QMAG, DOC_NV, 0.9, [])])
    utc_midnight = datetime(2026, 11, 20, tzinfo=timezone.utc)
    assert len(ledger.new_matches(utc_midnight, utc_midnight + timedelta(seconds=1))) == 1
    assert ledger.new_matches(utc_midnight - timedelta(hours=1), utc_midnight) == []


def test_a_run_recorded_late_but_started_earlier_is_the_first_sighting(ledger):
    later = ledger.start_match_run(at=NOW)
    earlier = ledger.start_match_run(at=NOW - timedelta(days=3))  # a resumed flow finishing after the next run
    ledger.record_matches(later, [make_match(NEED_QMAG, DOC_NV, 0.9, ["quantum-sensing"])])
    ledger.record_matches(earlier, [make_match(NEED_QMAG, DOC_NV, 0.7, ["quantum-sensing"])])
    (first,) = ledger.new_matches(NOW - timedelta(days=4), NOW + timedelta(days=1))
    assert first.score == pytest.approx(0.7)  # the match as first seen
    assert ledger.new_matches(NOW - timedelta(hours=1), NOW + timedelta(days=1)) == []
    (org, _other) = ledger.new_organizations(NOW - timedelta(days=4), NOW - timedelta(days=2))
    assert org.first_seen == NOW - timedelta(days=3)


def test_one_organization_key_and_old_ledgers_are_rekeyed(tmp_path):
    import sqlite3

    from domain.orgs import normalize_org
    from index.ledger import Ledger

    assert normalize_org("ACME, Inc.") == normalize_org("Acme Inc") == normalize_org("acme inc.")
    path = tmp_path / "old.sqlite"
    Ledger(path)  # a schema-1 ledger keyed organizations by the display name, case-folded
    with sqlite3.connect(path) as db:
        db.execute("UPDATE meta SET value = '1' WHERE key = 'schema_version'")
        db.executemany("INSERT INTO organizations VALUES (?,?,?,?)", [
            ("acme inc.", "Acme Inc.", "2026-01-05T00:00:00.000000Z", "r2"),
            ("acme, inc.", "ACME, INC.", "2026-01-01T00:00:00.000000Z", "r1"),
            ("tohoku university", "Tohoku University", "2026-01-03T00:00:00.000000Z", "r1"),
        ])
    Ledger(path)
    with sqlite3.connect(path) as db:
        rows = db.execute("SELECT key, name, first_run FROM organizations ORDER BY key").fetchall()
        version = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0]
    assert rows == [("acme", "ACME, INC.", "r1"), ("tohokuuniversity", "Tohoku University", "r1")]
    assert version == str(SCHEMA_VERSION)


def test_latest_matches_are_each_needs_matches_in_its_last_run(ledger):
    first = ledger.start_match_run(NOW - timedelta(days=7))
    ledger.record_matches(first, [make_match(NEED_QMAG, DOC_NV, 0.8, []), make_match(NEED_QMAG, DOC_OLD, 0.6, []),
                                  make_match(NEED_RAM, DOC_META, 0.5, [])])
    second = ledger.start_match_run(NOW)
    # the second run ranks NEED_QMAG only: DOC_OLD has dropped out, DOC_NV scores lower, DOC_CLOCK is new
    ledger.record_matches(second, [make_match(NEED_QMAG, DOC_NV, 0.7, []), make_match(NEED_QMAG, DOC_CLOCK, 0.75, [])])
    got = [(m.need_id, m.doc_id, m.score) for m in ledger.latest_matches()]
    assert sorted(got) == sorted([(NEED_QMAG.id, DOC_CLOCK.id, 0.75), (NEED_QMAG.id, DOC_NV.id, 0.7),
                                  (NEED_RAM.id, DOC_META.id, 0.5)])  # NEED_RAM: as its own last run had it
    qmag = [m.doc_id for m in ledger.latest_matches() if m.need_id == NEED_QMAG.id]
    assert qmag == [DOC_CLOCK.id, DOC_NV.id]  # best first


def test_a_ledger_of_schema_2_gains_the_last_score(tmp_path):
    path = tmp_path / "old.sqlite"
    ledger = Ledger(path)
    run = ledger.start_match_run(NOW)
    ledger.record_matches(run, [make_match(NEED_QMAG, DOC_NV, 0.8, [])])
    with sqlite3.connect(path) as db:  # as schema 2 left it: no last_score column
        db.execute("ALTER TABLE matches DROP COLUMN last_score")
        db.execute("UPDATE meta SET value = '2' WHERE key = 'schema_version'")
    reopened = Ledger(path)
    assert [(m.doc_id, m.score) for m in reopened.latest_matches()] == [(DOC_NV.id, 0.8)]  # the best score stands in
    later = reopened.start_match_run(NOW + timedelta(days=1))
    reopened.record_matches(later, [make_match(NEED_QMAG, DOC_NV, 0.4, [])])
    assert [(m.doc_id, m.score) for m in reopened.latest_matches()] == [(DOC_NV.id, 0.4)]
