"""How the CLI gets its `Library`, and the query parsing that the CLI, the web pages and the API share.

`get_library()` opens the real library (`scout.library_impl.open_library`) the first time a command needs it;
`use_library(lib)` swaps in another one (tests use a deterministic in-memory fake) for the duration of a block.
Failures to open become `LibraryUnavailable` with a one-line reason, which commands print without a traceback.
"""

from __future__ import annotations

import calendar
import re
from contextlib import contextmanager
from datetime import date
from typing import Iterator

from scout.library import Library
from scout.models import DocKind, SearchFilters

_override: Library | None = None


class LibraryUnavailable(RuntimeError):
    """The index cannot be opened: not built yet, locked by another process, or broken."""


class BadQuery(ValueError):
    """A filter value that cannot be understood; the message names the option and the accepted forms."""


def get_library(read_only: bool = True) -> Library:
    if _override is not None:
        return _override
    try:
        from scout.library_impl import open_library
    except ImportError as exc:
        raise LibraryUnavailable(f"no index library is installed here ({exc})") from None
    try:
        return open_library(read_only=read_only)
    except Exception as exc:  # noqa: BLE001 - reported as one line; the index layer owns the details
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        if "lock" in type(exc).__name__.lower() or "lock" in reason.lower():
            raise LibraryUnavailable(
                f"the index is locked by another process ({reason}); wait for it to finish or stop it"
            ) from None
        raise LibraryUnavailable(f"cannot open the index: {reason}") from None


@contextmanager
def library_session(read_only: bool = True) -> Iterator[Library]:
    """`get_library()` for one command: a library opened here is closed (if it can be) at the end."""
    if _override is not None:
        yield _override
        return
    library = get_library(read_only=read_only)
    try:
        yield library
    finally:
        close = getattr(library, "close", None)
        if callable(close):
            close()


@contextmanager
def use_library(library: Library) -> Iterator[Library]:
    """Make `get_library()` return `library` inside the block (tests, embedding the CLI in other tools)."""
    global _override
    previous, _override = _override, library
    try:
        yield library
    finally:
        _override = previous


_DATE = re.compile(r"^(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?$")


def parse_date(value: str | None, *, end: bool = False, option: str = "date") -> date | None:
    """`YYYY`, `YYYY-MM` or `YYYY-MM-DD`; a partial date means the start of the period, or its end if `end`."""
    if value is None or not str(value).strip():
        return None
    m = _DATE.match(str(value).strip())
    try:
        if not m:
            raise ValueError
        year, month, day = int(m.group(1)), m.group(2), m.group(3)
        if month is None:
            return date(year, 12, 31) if end else date(year, 1, 1)
        month_i = int(month)
        if day is None:
            last = calendar.monthrange(year, month_i)[1]
            return date(year, month_i, last if end else 1)
        return date(year, month_i, int(day))
    except ValueError:
        raise BadQuery(f"{option}: {value!r} is not a date (use YYYY, YYYY-MM or YYYY-MM-DD)") from None


LANGUAGES = ("ja", "en", "other")


def build_filters(
    *,
    kind: str | None = None,
    language: str | None = None,
    since: str | None = None,
    until: str | None = None,
    concept: str | None = None,
    area: str | None = None,
    source: str | None = None,
    organization: str | None = None,
) -> SearchFilters:
    """Turn raw option/query-string values into `SearchFilters`; empty strings mean "no filter"."""

    def clean(v: str | None) -> str | None:
        return v.strip() if v and v.strip() else None

    kind, language = clean(kind), clean(language)
    if kind is not None and kind not in DocKind.__members__:
        raise BadQuery(f"kind: {kind!r} is not one of {', '.join(DocKind.__members__)}")
    if language is not None and language not in LANGUAGES:
        raise BadQuery(f"lang: {language!r} is not one of {', '.join(LANGUAGES)}")
    start = parse_date(since, option="since")
    stop = parse_date(until, end=True, option="until")
    if start and stop and start > stop:
        raise BadQuery(f"since {start} is after until {stop}")
    return SearchFilters(
        kind=DocKind(kind) if kind else None,
        language=language,
        since=start,
        until=stop,
        concept=clean(concept),
        area=clean(area),
        source=clean(source),
        organization=clean(organization),
    )


def is_unknown_need(library: Library, need_id: str) -> bool:
    doc = library.document(need_id)
    return doc is None or doc.kind != DocKind.need
