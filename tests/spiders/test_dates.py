"""The spiders' one date parser, on date strings as sources publish them.

The strings are quoted from published bodies: the feeds of feedparser's corpus and the arXiv API
answers recorded by arxiv.py (tests/fixtures/spiders), the two Japanese seed documents in
/work/shared/seeds (経団連・ATLA exchange, 防衛白書), PR TIMES' RSS `dc:date`, SBIR.gov and DIU pages.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from spiders.dates import JST, parse_date, western_year

UTC = timezone.utc


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # RSS 2.0 pubDate / lastBuildDate (pocketsoap rss2.0NSwithModules.xml), HTTP Last-Modified
        ("Sat, 28 Sep 2002 21:00:02 GMT", datetime(2002, 9, 28, 21, 0, 2, tzinfo=UTC)),
        ("Fri, 20 Nov 2026 08:30:00 +0900", datetime(2026, 11, 20, 8, 30, tzinfo=JST)),
        ("Thu, 01 Jan 2004 19:48:21 -0000", datetime(2004, 1, 1, 19, 48, 21, tzinfo=UTC)),
        # Atom / arXiv API (arxiv.py's recorded answer): zone kept, whatever it is
        ("2006-03-02T02:22:45Z", datetime(2006, 3, 2, 2, 22, 45, tzinfo=UTC)),
        ("2016-10-09T00:00:00-04:00", datetime(2016, 10, 9, tzinfo=timezone(timedelta(hours=-4)))),
        ("20261120T100000Z", datetime(2026, 11, 20, 10, tzinfo=UTC)),  # ISO 8601 basic (iCalendar)
        # RSS pubDate with a zone name email.utils does not know
        ("Fri, 20 Nov 2026 10:00:00 JST", datetime(2026, 11, 20, 10, tzinfo=JST)),
        ("Thu, 5 Mar 2026 9:05:00 PST", datetime(2026, 3, 5, 9, 5, tzinfo=timezone(timedelta(hours=-8)))),
        # PR TIMES RSS 1.0 dc:date
        ("2026-08-19T10:00:00+09:00", datetime(2026, 8, 19, 10, tzinfo=JST)),
        # OpenAlex / KAKEN dates, J-STAGE publication_date, year-only
        ("2024-03-15", datetime(2024, 3, 15, tzinfo=UTC)),
        ("2024/03/15", datetime(2024, 3, 15, tzinfo=UTC)),
        ("2024-03", datetime(2024, 3, 1, tzinfo=UTC)),
        ("2024", datetime(2024, 1, 1, tzinfo=UTC)),
        # SBIR.gov (US, month first) and DIU notice pages
        ("05/01/2025", datetime(2025, 5, 1, tzinfo=UTC)),
        ("March 4, 2025", datetime(2025, 3, 4, tzinfo=UTC)),
        ("Sept. 5, 2025", datetime(2025, 9, 5, tzinfo=UTC)),
        # Japanese: Western and era years, full-width digits, 元年, 年度, times in Japan time
        ("2024年9月", datetime(2024, 9, 1, tzinfo=UTC)),
        ("令和元年４月", datetime(2019, 4, 1, tzinfo=UTC)),
        ("令和元年１０月", datetime(2019, 10, 1, tzinfo=UTC)),
        ("令和7年度", datetime(2025, 4, 1, tzinfo=UTC)),
        ("平成２４年度", datetime(2012, 4, 1, tzinfo=UTC)),
        ("平成31年4月30日", datetime(2019, 4, 30, tzinfo=UTC)),
        ("令和7年4月1日（火）", datetime(2025, 4, 1, tzinfo=UTC)),
        ("2026年11月20日 10時00分", datetime(2026, 11, 20, 10, 0, tzinfo=JST)),
        ("令和7年5月30日(金)12:00", datetime(2025, 5, 30, 12, 0, tzinfo=JST)),
        ("R7.4.1", datetime(2025, 4, 1, tzinfo=UTC)),
    ],
)
def test_published_dates(text, expected):
    parsed = parse_date(text)
    assert parsed == expected and parsed.utcoffset() == expected.utcoffset()


@pytest.mark.parametrize("text", [None, "", "  ", "Tuesday", "10", "TBD", "2026-02-30", "令和7年13月1日", "soon 2025 x"])
def test_not_dates_are_none(text):
    assert parse_date(text) is None


def test_era_years():
    assert western_year("令和", "元") == 2019 and western_year("平成", "31") == 2019 and western_year("昭和", "64") == 1989


def test_time_without_zone_takes_the_callers_zone():
    assert parse_date("2025-04-01 10:00", default_tz=JST) == datetime(2025, 4, 1, 10, tzinfo=JST)
    assert parse_date("2025-04-01 10:00").tzinfo == UTC
