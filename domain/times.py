"""Times: one convention for storing them and one for showing them.

Stored (the ledger's SQLite, the analyst store on SQLite or PostgreSQL): UTC text of a fixed width,
"2026-12-06T01:56:09.189575Z", so that comparing the text compares the instants (SQL `<`, `ORDER BY`) on any
database. `parse_stored` also reads the analyst store's older ISO form with an offset
("2026-12-06T01:56:09.189575+00:00"): both have the same fixed-width prefix, so old and new rows still sort and
compare together.

Shown (pages, the CLI, briefs): in one zone, the report's (`SCOUT_REPORT_TIMEZONE`, default Asia/Tokyo), with the
zone named ("2026-12-06 10:56 JST"); a day alone is that zone's day.
"""

from __future__ import annotations

import os
from datetime import datetime, timezone, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

STORED_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def stored(moment: datetime) -> str:
    """`moment` as stored text: UTC, fixed width, `Z`. A naive datetime is refused (its zone is unknown)."""
    if moment.tzinfo is None:
        raise ValueError(f"timestamps must be timezone-aware, got {moment!r}")
    return moment.astimezone(timezone.utc).strftime(STORED_FORMAT)


def parse_stored(text: str) -> datetime:
    """Stored text back to an aware UTC datetime; reads the `Z` form and ISO text with an offset alike."""
    value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    if value.tzinfo is None:  # never written so, but a hand-edited row must not become local time
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)


@lru_cache(maxsize=8)
def _zone(name: str) -> tzinfo:
    if not name:
        from domain.settings import ReportSettings

        name = ReportSettings().timezone
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return timezone.utc


def display_zone() -> tzinfo:
    """The zone times are shown in: SCOUT_REPORT_TIMEZONE (the report's), UTC when it names no zone."""
    return _zone(os.environ.get("SCOUT_REPORT_TIMEZONE", ""))


def in_display_zone(moment: datetime) -> datetime:
    """`moment` in the display zone (a naive time is UTC, as every stored time is)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(display_zone())


def shown(moment: datetime | None, *, seconds: bool = False) -> str:
    """"2026-12-06 10:56 JST": the display zone, named; empty for None."""
    if moment is None:
        return ""
    return in_display_zone(moment).strftime("%Y-%m-%d %H:%M:%S %Z" if seconds else "%Y-%m-%d %H:%M %Z")


def shown_day(moment: datetime | None) -> str:
    """The day of `moment` in the display zone ("2026-12-06"); empty for None."""
    if moment is None:
        return ""
    return in_display_zone(moment).date().isoformat()
