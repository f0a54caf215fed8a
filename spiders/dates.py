"""The one date parser of every spider: the dates sources publish, read into aware datetimes.

`parse_date(text)` reads what feeds, APIs and pages write:

- RFC 822 / HTTP dates (RSS `pubDate`, `Last-Modified`): "Fri, 20 Nov 2026 08:30:00 +0000"
- ISO 8601 and its partial forms (Atom, `dc:date`, JSON-LD, APIs): "2026-11-20T10:00:00+09:00",
  "2024-03-15", "2024/03/15", "2024-03", "2024"
- Japanese dates, Western or era years (令和/平成/昭和, 元年 = year 1, 年度 = fiscal year starting
  in April), with full-width digits, a weekday in brackets and a time: "令和7年4月1日（火）10時30分",
  "2025年4月1日 10:00", "R7.4.1", "平成31年度"
- the English forms of notice pages, read by python-dateutil: "March 5, 2025", "5 Mar 2025 14:00 EST"

Time and zone are kept when the source gives them. A time without a zone is taken in `default_tz`
(UTC unless the caller knows better), except in Japanese-format dates, which are Japan time.
A date without a time is midnight UTC of that date, so the day is the one the source wrote.
Anything else (no four-digit year, an impossible day) is None, never a guess.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime, timedelta, timezone, tzinfo
from email.utils import parsedate_to_datetime

JST = timezone(timedelta(hours=9), "JST")

#: first Western year of each era, less one: 令和1 = 2019
ERAS = {"令和": 2018, "平成": 1988, "昭和": 1925, "大正": 1911, "明治": 1867, "R": 2018, "H": 1988, "S": 1925}

_ERA_NAMES = "|".join(sorted(ERAS, key=len, reverse=True))
_JA_TIME = r"(?:\s*(?P<hour>\d{1,2})\s*(?:[:時])\s*(?P<minute>\d{1,2})?\s*(?:分)?(?:\s*(?P<second>\d{1,2})\s*秒?)?)?"
_JA_DATE = re.compile(
    rf"(?:(?P<era>{_ERA_NAMES})\s*(?P<era_year>\d{{1,2}}|元)|(?P<year>\d{{4}}))\s*年(?P<fiscal>度)?"
    rf"(?:\s*(?P<month>\d{{1,2}})\s*月(?:\s*(?P<day>\d{{1,2}})\s*日)?)?"
    rf"(?:\s*[(（][^)）]{{1,3}}[)）])?" + _JA_TIME
)
# "R7.4.1", "H31.4.30": the abbreviated era form of Japanese forms and tables
_ERA_DOTTED = re.compile(r"\b(?P<era>[RHS])\s*(?P<era_year>\d{1,2}|元)[./](?P<month>\d{1,2})[./](?P<day>\d{1,2})\b")
_PARTIAL = re.compile(r"^(?P<year>\d{4})(?:[/.-](?P<month>\d{1,2})(?:[/.-](?P<day>\d{1,2}))?)?$")
_YEAR = re.compile(r"(?<!\d)\d{4}(?!\d)")


def western_year(era: str, year: str) -> int:
    """令和7 -> 2025; 元 (the first year of an era) is 1."""
    return ERAS[era] + (1 if year == "元" else int(year))


def parse_date(value: str | None, *, default_tz: tzinfo = timezone.utc) -> datetime | None:
    """An aware datetime for a published date, or None when `value` is not one (see module doc)."""
    if value is None:
        return None
    text = " ".join(unicodedata.normalize("NFKC", str(value)).split())
    if not text:
        return None
    for parse in (_japanese, _rfc822, _iso, _partial, _dateutil):
        try:
            parsed = parse(text, default_tz)
        except (ValueError, TypeError, OverflowError, IndexError):
            parsed = None
        if parsed is not None:
            return parsed
    return None


def _aware(parsed: datetime, default_tz: tzinfo) -> datetime:
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=default_tz)


def _japanese(text: str, default_tz: tzinfo) -> datetime | None:
    match = _JA_DATE.search(text) or _ERA_DOTTED.search(text)
    if match is None:
        return None
    groups = match.groupdict()
    year = western_year(groups["era"], groups["era_year"]) if groups.get("era") else int(groups["year"])
    if groups.get("fiscal") and not groups.get("month"):
        return datetime(year, 4, 1, tzinfo=timezone.utc)  # 年度: the fiscal year starts on 1 April
    month, day = int(groups.get("month") or 1), int(groups.get("day") or 1)
    if groups.get("hour") is None:
        return datetime(year, month, day, tzinfo=timezone.utc)
    return datetime(year, month, day, int(groups["hour"]), int(groups.get("minute") or 0),
                    int(groups.get("second") or 0), tzinfo=JST)


def _rfc822(text: str, default_tz: tzinfo) -> datetime | None:
    if not re.match(r"^(?:[A-Za-z]{3},\s*)?\d{1,2}\s+[A-Za-z]{3}\s+\d{2,4}\b", text):
        return None
    parsed = parsedate_to_datetime(text)
    if parsed is not None and parsed.tzinfo is None and re.search(r"\b(?!GMT\b|UTC?\b)[A-Z]{2,4}$", text):
        return None  # a zone name email.utils does not know ("JST"): dateutil reads it below
    return _aware(parsed, default_tz) if parsed else None


def _iso(text: str, default_tz: tzinfo) -> datetime | None:
    if re.match(r"^\d{8}T\d{4,6}(?:Z|[+-]\d{2}:?\d{2})?$", text):  # ISO 8601 basic format
        from dateutil.parser import isoparse

        return _aware(isoparse(text), default_tz)
    if not re.match(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}", text) and not re.match(r"^\d{4}-\d{2}-\d{2}$", text):
        return None
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    if len(text) == 10:
        return parsed.replace(tzinfo=timezone.utc)
    return _aware(parsed, default_tz)


def _partial(text: str, default_tz: tzinfo) -> datetime | None:
    match = _PARTIAL.match(text)
    if match is None:
        return None
    year, month, day = (int(g) if g else 1 for g in match.groups())
    return datetime(year, month, day, tzinfo=timezone.utc)


def _dateutil(text: str, default_tz: tzinfo) -> datetime | None:
    if not _YEAR.search(text):  # a bare "10" or "Tuesday" is not a date; dateutil would make one
        return None
    from dateutil import parser, tz

    # US zone abbreviations of DoD pages; dateutil knows only UTC/GMT by itself
    zones = {"EST": tz.gettz("America/New_York"), "EDT": tz.gettz("America/New_York"),
             "CST": tz.gettz("America/Chicago"), "CDT": tz.gettz("America/Chicago"),
             "PST": tz.gettz("America/Los_Angeles"), "PDT": tz.gettz("America/Los_Angeles"),
             "ET": tz.gettz("America/New_York"), "JST": JST, "CET": tz.gettz("Europe/Brussels"),
             "CEST": tz.gettz("Europe/Brussels")}
    default = datetime(1900, 1, 1)
    parsed = parser.parse(text, default=default, tzinfos=zones)
    if parsed.tzinfo is None and (parsed.hour, parsed.minute, parsed.second) == (0, 0, 0):
        return parsed.replace(tzinfo=timezone.utc)
    return _aware(parsed, default_tz)
