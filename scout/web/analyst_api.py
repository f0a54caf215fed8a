"""The analysts' JSON API: judgements, watchlists, the audit log and who you are.

Reads are open to every user; writes need the analyst role (403 for a viewer; the token gate already answered
401 without a token). Each write is committed, with its audit row, before the response goes out.
"""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from pydantic import BaseModel, Field

from domain.limits import MAX_ID_CHARS, MAX_NAME_CHARS, MAX_NOTE_CHARS, MAX_QUERY_CHARS, checked_text
from domain.orgs import normalize_org
from scout.web import queries
from service.analyst import (AnalystError, AnalystStore, AuditEntry, Judgement, JudgementState, Role, Undo, User,
                             Watchlist, WatchHit, parse_state, watchlist_key)
from service import watch
from service.library import Library
from service.queries import target_problem

router = APIRouter(prefix="/api", tags=["analyst"])


def store(request: Request) -> AnalystStore:
    return request.app.state.analyst


def current_user(request: Request) -> User:
    user = getattr(request.state, "user", None)
    if user is None:  # the security middleware always sets one; an app without it must not let writes through
        raise HTTPException(status_code=401, detail="no user behind this request")
    return user


def analyst(request: Request) -> User:
    """The user behind the token, when they may write."""
    user = current_user(request)
    if user.role != Role.analyst:
        raise HTTPException(status_code=403, detail=f"{user.name} is a viewer: judging and watching need the analyst role")
    return user


class JudgementIn(BaseModel):
    state: Literal["relevant", "not_relevant", "not-relevant", "shortlisted"]
    note: str = Field("", max_length=MAX_NOTE_CHARS)


class WatchlistIn(BaseModel):
    name: str = Field(..., min_length=1, max_length=MAX_NAME_CHARS)
    query: str = Field("", max_length=MAX_QUERY_CHARS)
    kind: str | None = None
    lang: str | None = None
    since: str | None = None
    until: str | None = None
    concept: str | None = None
    area: str | None = None
    source: str | None = None
    org: str | None = None

    def filters(self) -> dict[str, str | None]:
        return {k: getattr(self, k) for k in watch.FILTER_KEYS}


class Undone(BaseModel):
    """What an Undo did: `undone` false with `message` when there was nothing to undo."""
    undone: bool
    judgement: Judgement | None = None  # the undo's own row (state `undone`), as the history lists it
    undid: Judgement | None = None  # the judgement it took off
    current: Judgement | None = None  # the judgement standing now: the one before (None: no judgement)
    message: str = ""

    @classmethod
    def of(cls, done: Undo | None, message: str) -> "Undone":
        if done is None:
            return cls(undone=False, message=message)
        return cls(undone=True, judgement=done.undo, undid=done.undid, current=done.current,
                   message=done.undo.shown_state)


UNDO = (JudgementState.undone, JudgementState.cleared)  # the Undo button posts `undo` (`cleared` before 2026-12)


def nothing_to_undo(target: str, target_id: str, expected: int | None, of: str = "need") -> str:
    """Why an Undo did nothing, in one line."""
    if expected is not None:
        return (f"Nothing undone: the judgement shown for this {target} had already been changed or undone; "
                "the page now shows the one standing")
    return f"Nothing to undo: {target} {target_id} has no judgement for this {of}"


def check_target(library: Library, need_id: str, target: str, target_id: str) -> None:
    """404 for a need, document or organization that is not in the library: a judgement must name a match."""
    checked_text(need_id, "the need id", MAX_ID_CHARS)  # before any lookup (413/422 via the app's handler)
    checked_text(target_id, f"the {target} id", MAX_ID_CHARS)
    problem = target_problem(library, need_id, target, target_id)
    if problem:
        raise HTTPException(status_code=404, detail=problem)


def judge(request: Request, need_id: str, target: str, target_id: str, state: str, note: str, user: User,
          expected: int | None = None) -> Judgement | Undo | None:
    """Judge a match, or with state `undo` (`cleared`) undo its latest judgement (`Undo`, or None when there was
    nothing to undo; `expected`: only if the judgement standing is that one); shared by the API and the need
    page's forms. `need_id` may be a prefix: the judgement keys on the full id."""
    if target not in ("document", "organization"):
        raise HTTPException(status_code=404, detail=f"judgements are of a document or an organization, not {target!r}")
    need_id = queries.need_id_of(request.app.state.library, need_id)
    check_target(request.app.state.library, need_id, target, target_id)
    try:
        parsed = parse_state(state)
        if target == "organization":
            # An organization is found by its name or its key; the judgement keys on the key, as the need page's
            # rows and `scout judge --org` do (a name had been stored as given: "TECHNOLOGY RESEARCH LLC" was
            # accepted and then shown nowhere). A row stored under a name before is still undone by that name.
            given = target_id
            target_id = normalize_org(given) or given
            if parsed in UNDO and store(request).current(need_id, given, target=target):
                target_id = given
        if parsed in UNDO:
            return store(request).undo(need_id, target_id, user=user.name, target=target, expected=expected)
        return store(request).judge(need_id, target_id, parsed, user=user.name, target=target, note=note)
    except AnalystError as exc:
        raise HTTPException(status_code=400, detail=str(exc)) from None


def judge_watch_hit(request: Request, watchlist_id: int, doc_id: str, state: str, note: str,
                    user: User, expected: int | None = None) -> Judgement | Undo | None:
    """Judge one of a watchlist's hits, or undo its latest judgement (as `judge`); its next run learns from it."""
    existing_watchlist(request, watchlist_id)
    if request.app.state.library.document(doc_id) is None:
        raise HTTPException(status_code=404, detail=f"unknown document id {doc_id!r}")
    key = watchlist_key(watchlist_id)
    try:
        parsed = parse_state(state)
        if parsed in UNDO:
            return store(request).undo(key, doc_id, user=user.name, expected=expected)
        return store(request).judge(key, doc_id, parsed, user=user.name, note=note)
    except AnalystError as exc:
        raise HTTPException(status_code=400, detail=str(exc)) from None


EXPECTED = Query(None, description="Undo only if this judgement (its id) is still the one standing: a second "
                                   "request for the same Undo then undoes nothing")


@router.get("/me", response_model=User, summary="The user behind the token, and their role")
def api_me(user: User = Depends(current_user)) -> User:
    return user


@router.get("/needs/{need_id}/judgements", response_model=list[Judgement], summary="A need's current judgements")
def api_judgements(request: Request, need_id: str) -> list[Judgement]:
    return store(request).judgements(queries.need_id_of(request.app.state.library, need_id))


@router.get("/needs/{need_id}/judgements/history", response_model=list[Judgement],
            summary="Every judgement of a need, undos included, oldest first")
def api_judgement_history(request: Request, need_id: str) -> list[Judgement]:
    return store(request).history(queries.need_id_of(request.app.state.library, need_id))


@router.put("/needs/{need_id}/judgements/{target}/{target_id:path}", response_model=Judgement,
            summary="Judge a match: relevant, not_relevant or shortlisted, with a note")
def api_judge(request: Request, need_id: str, target: str, target_id: str, body: JudgementIn,
              user: User = Depends(analyst)) -> Judgement:
    return judge(request, need_id, target, target_id, body.state, body.note, user)


@router.delete("/needs/{need_id}/judgements/{target}/{target_id:path}", response_model=Undone,
               summary="Undo a match's latest judgement: back to the one before it, or to none (the history "
                       "keeps both); again, the one before that")
def api_unjudge(request: Request, need_id: str, target: str, target_id: str, judgement: int | None = EXPECTED,
                user: User = Depends(analyst)) -> Undone:
    done = judge(request, need_id, target, target_id, "undo", "", user, expected=judgement)
    return Undone.of(done, nothing_to_undo(target, target_id, judgement))


@router.get("/watchlists", response_model=list[Watchlist], summary="The saved watchlists")
def api_watchlists(request: Request) -> list[Watchlist]:
    return store(request).watchlists()


@router.post("/watchlists", response_model=Watchlist, status_code=201,
             summary="Save a search, an organization (org), a concept or an area as a watchlist")
def api_add_watchlist(request: Request, body: WatchlistIn, user: User = Depends(analyst)) -> Watchlist:
    try:
        return watch.add_watchlist(store(request), request.app.state.library, body.name, user=user.name,
                                   query=body.query, filters=body.filters())
    except AnalystError as exc:
        raise HTTPException(status_code=400, detail=str(exc)) from None


def existing_watchlist(request: Request, watchlist_id: int) -> Watchlist:
    wl = store(request).watchlist(watchlist_id)
    if wl is None:
        raise HTTPException(status_code=404, detail=f"no watchlist {watchlist_id}")
    return wl


@router.delete("/watchlists/{watchlist_id}", response_model=Watchlist, summary="Remove a watchlist")
def api_remove_watchlist(request: Request, watchlist_id: int, user: User = Depends(analyst)) -> Watchlist:
    existing_watchlist(request, watchlist_id)
    return store(request).remove_watchlist(watchlist_id, user=user.name)


@router.get("/watchlists/{watchlist_id}/hits", response_model=list[WatchHit],
            summary="A watchlist's hits, best first (run again now; judgements move the order)")
def api_watch_hits(request: Request, watchlist_id: int, news_only: bool = False,
                   limit: int = Query(50, ge=1, le=500)) -> list[WatchHit]:
    wl = existing_watchlist(request, watchlist_id)
    watch.refresh(store(request), request.app.state.library, wl)
    return store(request).hits(wl.id, news_only=news_only, limit=limit)


@router.get("/watchlists/{watchlist_id}/judgements", response_model=list[Judgement],
            summary="A watchlist's current judgements of its hits")
def api_watch_judgements(request: Request, watchlist_id: int) -> list[Judgement]:
    existing_watchlist(request, watchlist_id)
    return store(request).judgements(watchlist_key(watchlist_id))


@router.put("/watchlists/{watchlist_id}/judgements/document/{doc_id:path}", response_model=Judgement,
            summary="Judge a watchlist's hit: relevant, not_relevant or shortlisted; the watchlist learns from it")
def api_judge_watch_hit(request: Request, watchlist_id: int, doc_id: str, body: JudgementIn,
                        user: User = Depends(analyst)) -> Judgement:
    return judge_watch_hit(request, watchlist_id, doc_id, body.state, body.note, user)


@router.delete("/watchlists/{watchlist_id}/judgements/document/{doc_id:path}", response_model=Undone,
               summary="Undo a watchlist hit's latest judgement: back to the one before it, or to none")
def api_unjudge_watch_hit(request: Request, watchlist_id: int, doc_id: str, judgement: int | None = EXPECTED,
                          user: User = Depends(analyst)) -> Undone:
    done = judge_watch_hit(request, watchlist_id, doc_id, "undo", "", user, expected=judgement)
    return Undone.of(done, nothing_to_undo("document", doc_id, judgement, "watchlist"))


@router.get("/audit", response_model=list[AuditEntry], summary="The audit log of judgements, watchlists and users, newest first")
def api_audit(request: Request, limit: int = Query(100, ge=1, le=1000), user: str | None = None,
              need: str | None = Query(None, description="Only the judgements of this need")) -> list[AuditEntry]:
    return store(request).audit(limit, user=user, need_id=need)
