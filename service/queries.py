"""The query options that the CLI, the web pages and the API share: dates, filters, need ids."""

from __future__ import annotations

import calendar
import re
from datetime import date
from typing import Iterable

from domain.models import DocKind, SearchFilters
from service.library import Library


class BadQuery(ValueError):
    """A filter value that cannot be understood; the message names the option and the accepted forms."""


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


class UnknownNeed(KeyError):
    """No need has this id (or starts with this prefix)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "unknown need"


def target_problem(library: Library, need_id: str, target: str, target_id: str) -> str | None:
    """Why a judgement of (need, document or organization) names no match in `library`, or None when it does.
    Organizations are looked up by the organization filter: one index scan (`library.organization()` would rank
    every need)."""
    if is_unknown_need(library, need_id):
        return f"unknown need id {need_id!r}"
    if target == "document" and library.document(target_id) is None:
        return f"unknown document id {target_id!r}"
    if target == "organization" and not library.search("", SearchFilters(organization=target_id), limit=1).hits:
        return f"no organization called {target_id!r}"
    return None


def is_unknown_need(library: Library, need_id: str) -> bool:
    doc = library.document(need_id)
    return doc is None or doc.kind != DocKind.need


MIN_PREFIX = 4  # screens show need ids cut to 8 characters; 4 is the shortest prefix taken


def resolve_need_id(library: Library, need_id: str) -> str:
    """A need id, or the need whose id starts with `need_id` (4+ characters: screens show ids cut to 8).
    An unknown id comes back unchanged (the caller says "unknown"); an ambiguous prefix is a `BadQuery`."""
    need_id = need_id.strip()
    if not is_unknown_need(library, need_id):
        return need_id
    return one_with_prefix(need_id, (d.id for d in library.needs()), "need") or need_id


def one_with_prefix(prefix: str, ids: Iterable[str], noun: str) -> str | None:
    """The one id among `ids` that starts with `prefix` (MIN_PREFIX characters or more), None when none does;
    a `BadQuery` naming `noun` ("need", "document") when several do."""
    if len(prefix) < MIN_PREFIX:
        return None
    found = sorted({i for i in ids if i.startswith(prefix)})
    if len(found) > 1:
        raise BadQuery(f"ambiguous {noun} id {prefix!r}: {len(found)} {noun}s start with it")
    return found[0] if found else None


def resolve_need(library: Library, need_id: str) -> str:
    """The one need resolver of every command, page and API route that takes a need: the full id of the need
    that `need_id` names (its id, or a unique prefix of 4+ characters). `UnknownNeed` when no need has it,
    `BadQuery` when the prefix is ambiguous."""
    full = resolve_need_id(library, need_id)
    if is_unknown_need(library, full):
        raise UnknownNeed(f"unknown need id {need_id.strip()!r}")
    return full


class Subjects:
    """The names people read for the ids a listing holds: a need's or a document's title, an organization's
    name (a judgement keys an organization on its key, "sarcosgrouplc"; the history showed the key), each
    looked up once. An id the index no longer holds reads as itself."""

    def __init__(self, library: Library) -> None:
        self._library = library
        self._titles: dict[str, str] = {}
        self._orgs: dict[str, str] = {}

    def title(self, doc_id: str) -> str:
        if doc_id not in self._titles:
            doc = self._library.document(doc_id)
            self._titles[doc_id] = doc.title if doc is not None else ""
        return self._titles[doc_id] or doc_id

    def organization(self, key: str) -> str:
        if key not in self._orgs:
            profile = self._library.organization(key)
            self._orgs[key] = profile.name if profile is not None else key
        return self._orgs[key]

    def target(self, target: str, target_id: str) -> str:
        return self.organization(target_id) if target == "organization" else self.title(target_id)


def judged_subjects(entries, library: Library, watchlists: dict[int, str] | None = None) -> dict[int, dict[str, str]]:
    """entry id -> the need and the judged document or organization of a judgement entry, with titles, so the
    history reads "Counter-sUAS need: Spider, a sUAS Mitigation System" rather than two UUIDs (the web's
    /audit and `scout audit`), and `need_href`, where the need's page is. A watchlist's hit is judged under
    "watchlist:ID" in place of a need id: it reads as the watchlist's name (`watchlists`: id -> name; one
    removed since, as "watchlist ID (removed)") and links to it on /watchlists (it had read "watchlist:1" and
    linked to /needs/watchlist:1, a 404)."""
    names = Subjects(library)
    out: dict[int, dict[str, str]] = {}
    for e in entries:
        parts = e.subject.split(" ", 2)
        if not e.action.startswith("judgement.") or len(parts) != 3:
            continue
        need_id, target, target_id = parts
        watched = need_id.removeprefix("watchlist:") if need_id.startswith("watchlist:") else None
        if watched is not None:
            name = (watchlists or {}).get(int(watched)) if watched.isdigit() else None
            need_title = f"watchlist {name}" if name else f"watchlist {watched} (removed)"
            need_href = f"/watchlists#w-{watched}" if name else ""
        else:
            need_title, need_href = names.title(need_id), f"/needs/{need_id}"
        out[e.id] = {"need_id": need_id, "need_title": need_title, "need_href": need_href, "target": target,
                     "target_id": target_id, "target_title": names.target(target, target_id)}
    return out
