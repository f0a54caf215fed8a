"""Watchlists over the library: what each one finds now, which of that is new, and the report's section.

A watchlist is a saved search: free text and filters, or a filter alone (an organization, a concept, a
critical-technology area). `refresh()` runs it against the library, ranked by match strength and moved by
the watchlist's own judgements (relevance feedback, as a need's), and records what it finds
(`AnalystStore.record_hits`: first sightings are news; rank, score, the evidence sentence and the typed terms
the watchlist names in it are those of the latest run); the page, the Atom feed and the weekly report read those records.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from domain.limits import MAX_QUERY_CHARS
from domain.models import SearchHit
from index.ranking.feedback import Feedback
from nlp.taxonomy import configured_taxonomy
from service import labels
from service.analyst import AnalystError, AnalystStore, Watchlist, WatchHit, watchlist_key
from service.library import Library
from service.queries import BadQuery, Subjects, build_filters

FILTER_KEYS = ("kind", "lang", "since", "until", "concept", "area", "source", "org")
HITS_PER_REFRESH = 50
SUMMARY_CHARS = 300


def watch_kind(query: str, filters: dict[str, str]) -> str:
    """What the watchlist watches, for its label: a search, or the one filter it is."""
    if not query.strip() and len(filters) == 1:
        only = next(iter(filters))
        return {"org": "organization", "concept": "concept", "area": "area"}.get(only, "search")
    return "search"


def add_watchlist(store: AnalystStore, library: Library, name: str, *, user: str, query: str = "",
                  filters: dict[str, str | None] | None = None) -> Watchlist:
    """Save a watchlist (its filters checked as a search checks them) and record what it finds today as its
    baseline, so that its first report and feed show news, not the whole back catalogue."""
    filters = {k: str(v).strip() for k, v in (filters or {}).items() if v is not None and str(v).strip()}
    unknown = sorted(set(filters) - set(FILTER_KEYS))
    if unknown:
        raise AnalystError(f"unknown watchlist filter {', '.join(unknown)}; use {', '.join(FILTER_KEYS)}")
    for key, resolve in (("concept", concept_id), ("area", area_id)):
        if key in filters:
            filters[key] = resolve(filters[key])
    _filters(filters)
    watchlist = store.add_watchlist(name, kind=watch_kind(query, filters), query=query, filters=filters, user=user)
    refresh(store, library, watchlist)
    return watchlist


def concept_id(value: str) -> str:
    """A taxonomy concept named by its id or by a label the screens show (its English label, as the search
    page's concept facet names it, or its Japanese one; any case): its id, which a watchlist stores. A name the
    taxonomy does not know is an AnalystError saying so, rather than a watchlist that never finds anything."""
    taxonomy = configured_taxonomy()
    if value in taxonomy.by_id:
        return value
    wanted = value.casefold()
    for concept in taxonomy.concepts:
        if wanted in (concept.id.casefold(), concept.en.casefold(), concept.ja.casefold()):
            return concept.id
    raise AnalystError(f"concept: no concept is named {value!r}; use a label the search page's concept facet "
                       "shows (e.g. quantum sensing) or its id")


def area_id(value: str) -> str:
    """A critical-technology area named by its id or by its label as the screens show it
    (`Taxonomy.area_labels`: "Hypersonics (Japan)"; any case): its id. A bare label two schemes share
    ("Hypersonics") is ambiguous and an unknown one unknown: an AnalystError either way."""
    taxonomy = configured_taxonomy()
    if value in taxonomy.areas_by_id:
        return value
    wanted = value.casefold()
    labelled = [aid for aid, label in taxonomy.area_labels.items() if wanted in (aid.casefold(), label.casefold())]
    if len(labelled) == 1:
        return labelled[0]
    same_name = [aid for aid in taxonomy.areas_by_id if taxonomy.areas_by_id[aid].en.casefold() == wanted]
    if len(same_name) == 1:
        return same_name[0]
    if same_name:
        choices = " or ".join(taxonomy.area_labels[aid] for aid in same_name)
        raise AnalystError(f"area: {value!r} names {len(same_name)} areas; choose {choices}")
    raise AnalystError(f"area: no critical-technology area is named {value!r}; use a label the search page's "
                       "area facet shows (e.g. Advanced materials science) or its id")


def filter_label(key: str, value: str, names: Subjects | None = None) -> str:
    """One stored filter value as the pages name it: an organization by its name (`names`; the organization
    page's button stores its key, "charlesriveranalytics"), a concept or an area as every screen names it
    (`service.labels`: "quantum sensing", "Quantum information science (Japan)"), a source by `source_label`
    ("SBIR topics", as the search page's source facet names it). Anything else, an
    organization without `names`, an id the taxonomy no longer knows, or any value where the taxonomy does
    not load, reads as stored."""
    if key == "org":
        return names.organization(value) if names is not None else value
    if key == "source":
        return labels.source_label(value)
    if key in ("concept", "area") and labels.taxonomy() is not None:
        try:  # a stored label (any case) names its concept or area too
            found = concept_id(value) if key == "concept" else area_id(value)
        except AnalystError:
            return value
        return labels.concept_label(found) if key == "concept" else labels.area_label(found)
    return value


def shown_filters(filters: dict[str, str], names: Subjects | None = None) -> list[tuple[str, str]]:
    """A watchlist's filters as the pages name them, in stored order, empty ones left out (`filter_label`)."""
    return [(k, filter_label(k, str(v).strip(), names)) for k, v in filters.items() if str(v or "").strip()]


def _filters(raw: dict[str, str]):
    try:
        return build_filters(kind=raw.get("kind"), language=raw.get("lang"), since=raw.get("since"),
                             until=raw.get("until"), concept=raw.get("concept"), area=raw.get("area"),
                             source=raw.get("source"), organization=raw.get("org"))
    except BadQuery as exc:
        raise AnalystError(str(exc)) from None


def feedback_of(store: AnalystStore, watchlist: Watchlist) -> Feedback | None:
    """The watchlist's judgements as relevance feedback for its query, as a need's are for its ranking."""
    relevant, rejected = store.feedback(watchlist_key(watchlist.id))
    return Feedback(tuple(relevant), tuple(rejected)) if relevant or rejected else None


def _summary(hit: SearchHit, library: Library) -> str:
    """One line for a feed reader: the evidence sentence, else the document's first sentence."""
    text = hit.evidence.text if hit.evidence is not None else ""
    if not text.strip():
        doc = library.document(hit.doc_id)
        text = (doc.text if doc is not None else "") or ""
        text = re.split(r"(?<=[.!?。！？])\s*", text.strip(), maxsplit=1)[0]
    text = " ".join(text.split())
    return text if len(text) <= SUMMARY_CHARS else text[: SUMMARY_CHARS - 1].rstrip() + "…"


def refresh(store: AnalystStore, library: Library, watchlist: Watchlist, *, at: datetime | None = None) -> list[WatchHit]:
    """Run the watchlist now, ranked (its judgements move the ranking; a document judged not relevant goes
    below every other), and record what it finds; returns the documents it finds for the first time. A
    watchlist saved before its query was bounded (longer than MAX_QUERY_CHARS) finds nothing rather than stall
    every feed and report."""
    if len(watchlist.query) > MAX_QUERY_CHARS:
        return []
    feedback = feedback_of(store, watchlist)
    filters = _filters(watchlist.filters)
    if feedback is not None and watchlist.query.strip():
        result = library.search(watchlist.query, filters, limit=HITS_PER_REFRESH, feedback=feedback)
    else:
        result = library.search(watchlist.query, filters, limit=HITS_PER_REFRESH)
    rejected = set(feedback.not_relevant) if feedback is not None else set()
    hits = [h for h in result.hits if h.doc_id not in rejected] + [h for h in result.hits if h.doc_id in rejected]
    ranked = bool(watchlist.query.strip())  # a filter alone browses, newest first: no strength to show
    return store.record_hits(watchlist.id, (
        {"doc_id": h.doc_id, "title": h.title, "url": h.url, "kind": str(h.kind.value if h.kind else ""),
         "source": h.source, "organizations": list(h.organizations),
         "published": h.published.isoformat() if h.published else None,
         "score": round(h.score, 6) if ranked else None, "summary": _summary(h, library),
         "held": h.held.model_dump(mode="json") if ranked and h.held is not None else None,
         "terms": [t.model_dump(mode="json") for t in h.shared_terms]}
        for h in hits), at=at)


@dataclass
class WatchlistNews:
    watchlist: Watchlist
    hits: list[WatchHit]  # new in the report's period, newest first


def watchlist_news(store: AnalystStore, library: Library | None, since: datetime, until: datetime, *,
                   names: list[str] | None = None, refresh_first: bool = True) -> list[WatchlistNews]:
    """The report's watchlist section: per watchlist (all, or those named), the documents it first found in
    [since, until), baseline left out. Watchlists are refreshed first when a library is given."""
    out = []
    for wl in store.watchlists():
        if names and wl.name not in names:
            continue
        if refresh_first and library is not None:
            refresh(store, library, wl)
        hits = store.hits(wl.id, since=since, until=until, news_only=True)
        out.append(WatchlistNews(wl, hits))
    return out


def attach_watchlist_news(report, library: Library | None, store: AnalystStore | None = None, *,
                          watchlists: list[str] | None = None) -> None:
    """Fill the report's watchlist section (`Report.watchlists`): new hits in the report's period. A report of
    "since the last one" first runs each watchlist, as of its end; a rebuilt past week reads what was recorded."""
    from service.analyst import open_analyst_store

    own = store is None
    store = store or open_analyst_store()
    try:
        if not report.rebuilt and library is not None:
            # Stamped just inside the period [since, until): the next report starts at `until` and must not
            # report these hits again.
            stamp = report.until - timedelta(microseconds=1)
            for wl in store.watchlists():
                if not watchlists or wl.name in watchlists:
                    refresh(store, library, wl, at=stamp)
        report.watchlists = [
            WatchlistNews(wl, store.hits(wl.id, since=report.since, until=report.until, news_only=True))
            for wl in store.watchlists() if not watchlists or wl.name in watchlists
        ]
    finally:
        if own:
            store.close()
