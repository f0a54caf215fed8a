"""The analysts' pages: judging from the need page, watchlists, their Atom feeds and the shortlist brief.

Forms post here and are answered with a redirect back (no script needed); `static/app.js` posts the same forms
with `Accept: application/json` and updates the page in place.
"""

from __future__ import annotations

from datetime import datetime, timezone
from urllib.parse import quote
from xml.etree import ElementTree as ET

from urllib.parse import parse_qsl

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from domain.labels import source_label
from domain.models import NeedMatches
from scout.web.analyst_api import UNDO, analyst, existing_watchlist, judge, judge_watch_hit, nothing_to_undo, store
from scout.web.queries import need_id_of
from scout.web.render import page
from service import watch
from domain.limits import MAX_NAME_CHARS
from domain.times import shown
from service.analyst import AnalystError, JudgementState, WatchHit, Watchlist, parse_state, watchlist_key
from service.brief import brief_csv, build_brief
from service.queries import Subjects, judged_subjects

router = APIRouter(include_in_schema=False)
ATOM = "http://www.w3.org/2005/Atom"


def need_context(request: Request, result: NeedMatches) -> dict:
    """The need page's judgement state: per match and organization, shortlisted pinned on top (in rank order),
    not-relevant ones hidden unless `?rejected=show`."""
    judged = store(request).judgements(result.need.id)
    docs = {j.target_id: j for j in judged if j.target == "document"}
    orgs = {j.target_id: j for j in judged if j.target == "organization"}

    def pinned(state) -> bool:
        return state is not None and state.state == JudgementState.shortlisted

    matches = sorted(result.matches, key=lambda m: not pinned(docs.get(m.doc_id)))
    organizations = sorted(result.organizations, key=lambda o: not pinned(orgs.get(o.key)))
    rejected = sum(1 for m in result.matches if docs.get(m.doc_id) and docs[m.doc_id].state == JudgementState.not_relevant)
    user = getattr(request.state, "user", None)
    return {"judged": docs, "org_judged": orgs, "ordered_matches": matches, "ordered_orgs": organizations,
            "show_rejected": request.query_params.get("rejected") == "show", "rejected_count": rejected,
            "can_write": bool(user and user.can_write)}


def org_context(request: Request, profile) -> dict:
    """The organization page's judgement state: this organization's judgement for each need it answers."""
    judged = {j.need_id: j for j in store(request).judgements(target="organization") if j.target_id == profile.key}
    user = getattr(request.state, "user", None)
    return {"org_judged": judged, "can_write": bool(user and user.can_write)}


def document_context(request: Request, doc) -> dict:
    """The document page's judgements: the needs it was judged not relevant for (they leave its list of needs,
    and the page says why)."""
    library = request.app.state.library
    rejected = []
    for j in store(request).judgements(target="document"):
        if j.target_id == doc.id and j.state == JudgementState.not_relevant:
            need = library.document(j.need_id)  # a watchlist's key names no document
            if need is not None:
                rejected.append(need)
    return {"rejected_for": rejected}


def _local_path(value: str) -> str | None:
    """A path on this site to go back to (never another host: `//evil`, `https://...`)."""
    return value if value.startswith("/") and not value.startswith("//") and "\\" not in value else None


MAX_FORM_BYTES = 64 * 1024


async def form_fields(request: Request) -> dict[str, str]:
    """An HTML form's fields (application/x-www-form-urlencoded, what forms and app.js send)."""
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype != "application/x-www-form-urlencoded":
        raise HTTPException(status_code=415, detail="send the form as application/x-www-form-urlencoded")
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        raise HTTPException(status_code=413, detail="form too large")
    return dict(parse_qsl(body.decode("utf-8", errors="replace"), keep_blank_values=True))


def _wants_json(request: Request) -> bool:
    return "application/json" in request.headers.get("accept", "")


@router.post("/needs/{need_id}/judge")
async def judge_form(request: Request, need_id: str):
    user = analyst(request)
    form = await form_fields(request)
    target, target_id = form.get("target", "document"), form.get("target_id", "")
    state, note = form.get("state", ""), form.get("note", "")
    if not target_id or not state:
        raise HTTPException(status_code=400, detail="the form needs target_id and state")
    need_id = await run_in_threadpool(need_id_of, request.app.state.library, need_id)
    expected = _expected(form)
    row = await run_in_threadpool(judge, request, need_id, target, target_id, state, note, user, expected)
    if _wants_json(request):
        current = await run_in_threadpool(store(request).current, need_id, target_id, target=target)
        return JSONResponse(_judged_json(target, target_id, current, user.name, row, state,
                                         nothing_to_undo(target, target_id, expected)))
    back = _local_path(form.get("back", ""))
    if back:  # the organization page judges too
        return RedirectResponse(back, status_code=303)
    anchor = ("m-" if target == "document" else "o-") + target_id
    return RedirectResponse(f"/needs/{quote(need_id, safe='')}#{quote(anchor, safe='')}", status_code=303)


def _expected(form: dict[str, str]) -> int | None:
    """The judgement an Undo form was showing (its hidden `judgement` field): only that one is undone."""
    value = form.get("judgement", "").strip()
    return int(value) if value.isdigit() else None


def _judged_json(target: str, target_id: str, current, user: str, row, state: str, nothing: str) -> dict:
    """What app.js needs to show a match as a reload would: the judgement standing now (after an Undo, the one
    before, with its own note, user and time), its id for the next Undo, and a message when nothing changed."""
    undo = parse_state(state) in UNDO  # judge() has read it
    return {"target": target, "target_id": target_id, "state": current.state.value if current else None,
            "note": current.note if current else "", "user": user, "by": _judged_by(current),
            "id": current.id if current else None, "changed": row is not None,
            "message": (nothing if row is None else "") if undo else ""}


def _judged_by(current) -> str:
    """Who judged and when, as the page writes it under a judged match ("ann · 2026-12-07 06:50 JST"), so that
    a judgement made without a reload reads as it will after one."""
    return f"{current.user} · {shown(current.at)}" if current else ""


WATCH_PAGE_HITS = 10  # per watchlist on the page, best first
FEED_ENTRIES = 20  # a feed's entries: the watchlist's best, ranked


@router.get("/watchlists", response_class=HTMLResponse)
def watchlists_page(request: Request) -> HTMLResponse:
    return _watchlists_page(request)


def _watchlists_page(request: Request, *, form_error: str = "", form: dict[str, str] | None = None,
                     status: int = 200) -> HTMLResponse:
    """The watchlists with their best hits, under the form that adds one (after a refused add: its one-line
    error and what was typed, kept)."""
    lists = store(request).watchlists()
    hits = {wl.id: store(request).hits(wl.id, limit=WATCH_PAGE_HITS) for wl in lists}
    judged = {wl.id: {j.target_id: j for j in store(request).judgements(watchlist_key(wl.id), target="document")}
              for wl in lists}
    user = getattr(request.state, "user", None)
    concepts, areas = _taxonomy_choices()
    names = Subjects(request.app.state.library)  # an organization filter holds its key ("sarcosgrouplc"): show its name
    filters = {wl.id: watch.shown_filters(wl.filters, names) for wl in lists}
    return page(request, "watchlists.html", status=status, watchlists=lists, hits=hits, judged=judged,
                can_write=bool(user and user.can_write), filter_keys=watch.FILTER_KEYS, shown_filters=filters,
                concept_choices=concepts, area_choices=areas, form_error=form_error, form=form or {})


def _taxonomy_choices() -> tuple[list[str], list[tuple[str, list[tuple[str, str]]]]]:
    """What the form offers: the concepts by the labels the search page's facet shows (the form takes a label
    or an id; `watch.concept_id` resolves it), and the areas by label, grouped by scheme, each with its id."""
    try:
        from nlp.taxonomy import AREA_SCHEMES, configured_taxonomy

        taxonomy = configured_taxonomy()
    except Exception:  # noqa: BLE001 - without the taxonomy the fields still take ids
        return [], []
    concepts = sorted({c.en for c in taxonomy.concepts}, key=str.casefold)
    areas = [(name, [(a.id, taxonomy.area_labels[a.id]) for a in taxonomy.areas if a.scheme == scheme])
             for scheme, name in AREA_SCHEMES.items()]
    return concepts, [(name, group) for name, group in areas if group]


@router.post("/watchlists")
async def add_watchlist_form(request: Request):
    user = analyst(request)
    form = await form_fields(request)
    query = form.get("q", "")
    filters = {k: form.get(k, "") for k in watch.FILTER_KEYS}
    name = form.get("name", "").strip() or _default_name(query, filters, Subjects(request.app.state.library))
    try:
        wl = await run_in_threadpool(watch.add_watchlist, store(request), request.app.state.library, name,
                                     user=user.name, query=query, filters=filters)
    except AnalystError as exc:
        if _wants_json(request):
            raise HTTPException(status_code=400, detail=str(exc)) from None
        return _watchlists_page(request, form_error=str(exc), form={"name": form.get("name", ""), "q": query,
                                **filters}, status=400)
    if _wants_json(request):
        return JSONResponse(wl.model_dump(mode="json"), status_code=201)
    return RedirectResponse(f"/watchlists#w-{wl.id}", status_code=303)


def _default_name(query: str, filters: dict[str, str], names: Subjects) -> str:
    parts = [f'"{query.strip()}"'] if query.strip() else []
    parts += [f"{k}: {label}" for k, label in watch.shown_filters(filters, names)]
    return (" · ".join(parts) or "watchlist")[:MAX_NAME_CHARS]


@router.post("/watchlists/{watchlist_id}/judge")
async def judge_watch_hit_form(request: Request, watchlist_id: int):
    """Judge one of a watchlist's hits (the need page's form, for a watchlist): the watchlist learns from it."""
    user = analyst(request)
    form = await form_fields(request)
    doc_id, state, note = form.get("target_id", ""), form.get("state", ""), form.get("note", "")
    if not doc_id or not state:
        raise HTTPException(status_code=400, detail="the form needs target_id and state")
    expected = _expected(form)
    row = await run_in_threadpool(judge_watch_hit, request, watchlist_id, doc_id, state, note, user, expected)
    if _wants_json(request):
        key = watchlist_key(watchlist_id)
        current = await run_in_threadpool(store(request).current, key, doc_id)
        return JSONResponse(_judged_json("document", doc_id, current, user.name, row, state,
                                         nothing_to_undo("document", doc_id, expected, "watchlist")))
    return RedirectResponse(f"/watchlists#w-{watchlist_id}", status_code=303)


@router.post("/watchlists/{watchlist_id}/remove")
def remove_watchlist_form(request: Request, watchlist_id: int):
    user = analyst(request)
    existing_watchlist(request, watchlist_id)
    store(request).remove_watchlist(watchlist_id, user=user.name)
    return RedirectResponse("/watchlists", status_code=303)


@router.get("/feeds/watchlists/{watchlist_id}.atom")
def watchlist_feed(request: Request, watchlist_id: int) -> Response:
    """Atom (RFC 4287) of a watchlist's best hits, ranked (FEED_ENTRIES), each summarised by its evidence
    sentence; run again at each fetch, so a reader polling it sees a new document as soon as the index has it."""
    wl = existing_watchlist(request, watchlist_id)
    watch.refresh(store(request), request.app.state.library, wl)
    hits = [h for h in store(request).hits(wl.id, limit=FEED_ENTRIES)
            if h.judgement != JudgementState.not_relevant.value]
    base = str(request.base_url).rstrip("/")
    subtitle = _default_name(wl.query, wl.filters, Subjects(request.app.state.library))
    return Response(atom_feed(wl, hits, base, subtitle), media_type="application/atom+xml; charset=utf-8")


def atom_feed(wl: Watchlist, hits: list[WatchHit], base: str, subtitle: str) -> bytes:
    ET.register_namespace("", ATOM)

    def sub(parent, tag, text=None, **attrs):
        el = ET.SubElement(parent, f"{{{ATOM}}}{tag}", {k: v for k, v in attrs.items() if v is not None})
        if text is not None:
            el.text = text
        return el

    def stamp(moment: datetime) -> str:
        return moment.astimezone(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")

    feed = ET.Element(f"{{{ATOM}}}feed")
    sub(feed, "id", f"{base}/feeds/watchlists/{wl.id}.atom")
    sub(feed, "title", f"dualscout watchlist: {wl.name}")
    sub(feed, "subtitle", subtitle)  # what it watches, by the names the pages use
    sub(feed, "updated", stamp(max([h.first_seen for h in hits], default=wl.refreshed_at or wl.created_at)))
    sub(feed, "link", rel="self", href=f"{base}/feeds/watchlists/{wl.id}.atom", type="application/atom+xml")
    sub(feed, "link", rel="alternate", href=f"{base}/watchlists#w-{wl.id}", type="text/html")
    sub(sub(feed, "author"), "name", wl.created_by)
    sub(feed, "generator", "dualscout")
    for hit in hits:
        entry = sub(feed, "entry")
        sub(entry, "id", f"{base}/documents/{quote(hit.doc_id, safe='')}#watchlist-{wl.id}")
        sub(entry, "title", hit.title or hit.doc_id)
        sub(entry, "updated", stamp(hit.first_seen))
        if hit.published:
            sub(entry, "published", stamp(hit.published))
        sub(entry, "link", rel="alternate", href=f"{base}/documents/{quote(hit.doc_id, safe='')}", type="text/html")
        if hit.url.startswith(("http://", "https://")):
            sub(entry, "link", rel="related", href=hit.url)
        for org in hit.organizations:
            sub(sub(entry, "author"), "name", org)
        if hit.kind:
            sub(entry, "category", term=hit.kind)
        if hit.source:
            # the term is the name `source=` filters by; the label what a feed reader shows ("news feeds")
            sub(entry, "category", term=hit.source, label=source_label(hit.source), scheme=f"{base}/sources")
        if hit.score is not None:
            sub(entry, "category", term=hit.label, label=f"{hit.score:.3f} {hit.label}", scheme=f"{base}/scores")
        summary = hit.summary
        if not summary:  # recorded before summaries were kept
            summary = f"{hit.kind or 'document'} from {source_label(hit.source) or 'an unknown source'}"
            if hit.organizations:
                summary += " · " + ", ".join(hit.organizations)
        sub(entry, "summary", summary)
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(feed, encoding="utf-8")


def _brief(request: Request, need_id: str):
    library = request.app.state.library
    return build_brief(library, store(request), need_id_of(library, need_id))


@router.get("/needs/{need_id}/brief", response_class=HTMLResponse)
def brief_page(request: Request, need_id: str) -> HTMLResponse:
    brief = _brief(request, need_id)
    return page(request, "brief.html", brief=brief, need=brief.need)


@router.get("/needs/{need_id}/brief.csv")
def brief_csv_download(request: Request, need_id: str) -> Response:
    brief = _brief(request, need_id)
    filename = f"brief-{brief.need.id}.csv"
    return Response(brief_csv(brief), media_type="text/csv; charset=utf-8",
                    headers={"content-disposition": f"attachment; filename=\"{filename}\""})


def watch_form_fields(q: str, params: dict) -> list[tuple[str, str]]:
    """Hidden fields of a "watch this" form: the current search's query and filters."""
    return [("q", q or "")] + [(k, v) for k, v in (params or {}).items() if v]



@router.get("/audit", response_class=HTMLResponse)
def audit_page(request: Request, user: str | None = None, need: str | None = None) -> HTMLResponse:
    """The audit log, newest first: the last 200 entries, or one user's, or one need's judgements."""
    library = request.app.state.library
    need = need_id_of(library, need) if need else None
    need_doc = library.document(need) if need else None
    entries = store(request).audit(200, user=user or None, need_id=need)
    names = Subjects(library)  # a watchlist's filters by the names the pages use; the JSON keeps the stored keys
    return page(request, "audit.html", entries=entries, user_filter=user or "", need_filter=need_doc,
                judged=judged_subjects(entries, library, {w.id: w.name for w in store(request).watchlists()}),
                filter_label=lambda key, value: watch.filter_label(key, value, names))

