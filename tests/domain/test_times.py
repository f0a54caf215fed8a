"""One convention for stored times (UTC, fixed width, Z) that still reads the analyst store's older rows, and one
for shown times (one zone, named)."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta, timezone

import pytest

from domain.times import parse_stored, shown, shown_day, stored

JST = timezone(timedelta(hours=9))


def test_stored_text_is_utc_fixed_width_and_orders_like_time():
    moments = [datetime(2026, 12, 6, 9, 0, tzinfo=JST), datetime(2026, 12, 6, 0, 0, 0, 5, tzinfo=timezone.utc),
               datetime(2027, 1, 1, tzinfo=timezone.utc)]
    texts = [stored(m) for m in moments]
    assert texts[0] == "2026-12-06T00:00:00.000000Z" and len({len(t) for t in texts}) == 1
    assert sorted(texts) == texts and [parse_stored(t) for t in texts] == moments
    with pytest.raises(ValueError, match="timezone-aware"):
        stored(datetime(2026, 12, 6))


def test_older_iso_rows_still_read_and_compare_with_new_ones():
    old = "2026-12-06T00:00:00.000001+00:00"  # how the analyst store wrote times before
    new = stored(datetime(2026, 12, 6, 0, 0, 0, 2, tzinfo=timezone.utc))
    assert parse_stored(old) == datetime(2026, 12, 6, 0, 0, 0, 1, tzinfo=timezone.utc)
    assert old < new and stored(datetime(2026, 12, 5, 23, 59, tzinfo=timezone.utc)) < old


def test_an_analyst_store_with_old_rows_reads_them_in_order(tmp_path):
    from service.analyst import AnalystStore

    path = tmp_path / "analyst.sqlite"
    with AnalystStore(path) as store:
        store.judge("need-1", "doc-a", "relevant", user="ann", at=datetime(2026, 12, 6, 1, 0, tzinfo=timezone.utc))
    with sqlite3.connect(path) as db:  # a row as the store wrote it before the one convention
        db.execute("INSERT INTO judgements (need_id, target, target_id, state, note, user, at) VALUES "
                   "('need-1', 'document', 'doc-b', 'shortlisted', '', 'bob', '2026-12-06T00:30:00.000000+00:00')")
    with AnalystStore(path) as store:
        history = store.history("need-1")
        assert [(j.target_id, j.at) for j in history] == [
            ("doc-b", datetime(2026, 12, 6, 0, 30, tzinfo=timezone.utc)),
            ("doc-a", datetime(2026, 12, 6, 1, 0, tzinfo=timezone.utc))]
        store.judge("need-1", "doc-c", "relevant", user="ann", at=datetime(2026, 12, 6, 0, 45, tzinfo=timezone.utc))
        assert [j.target_id for j in store.history("need-1")] == ["doc-b", "doc-c", "doc-a"]


def test_times_are_shown_in_one_zone_and_name_it(monkeypatch):
    monkeypatch.setenv("SCOUT_REPORT_TIMEZONE", "Asia/Tokyo")
    moment = datetime(2026, 12, 5, 23, 30, tzinfo=timezone.utc)
    assert shown(moment) == "2026-12-06 08:30 JST" and shown_day(moment) == "2026-12-06"
    monkeypatch.setenv("SCOUT_REPORT_TIMEZONE", "UTC")
    assert shown(moment, seconds=True) == "2026-12-05 23:30:00 UTC" and shown_day(moment) == "2026-12-05"
    assert shown(None) == shown_day(None) == ""
