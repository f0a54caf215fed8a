"""The analyst loop from the command line: `scout users`, `scout judge`/`unjudge`, `scout judgements`,
`scout watch`, `scout brief` and `scout audit`.

The CLI runs on the machine that holds the database, so it acts as the login user; `--user NAME` (or
`$SCOUT_USER`) acts as a named user, who must exist (`scout users list`): the audit log names only people it
knows. The web app and the API act as the user behind the token.
"""

from __future__ import annotations

import getpass
import os
import sys
from contextlib import contextmanager
from enum import Enum
from pathlib import Path
from typing import Iterator, Optional

import typer

from rich.markup import escape

from domain.times import shown, shown_day
from scout.commands._console import cell, console, counted, echo_json, fail, shortened
from scout.commands._library import command_library
from domain.labels import source_label
from service.queries import Subjects, judged_subjects

users_app = typer.Typer(help="Named users of the web app and API, each with a token and a role.\n\n[bold]Example[/bold]: scout users add ann --role analyst", no_args_is_help=True)
judgements_app = typer.Typer(help="List, export and import judgements.\n\n[bold]Example[/bold]: scout judgements export > judgements.jsonl", no_args_is_help=True)
watch_app = typer.Typer(help="Watchlists: saved searches, organizations, concepts or areas whose new hits are reported.\n\n[bold]Example[/bold]: scout watch add 'RAM startups' --query 'radar absorbing' --kind startup", no_args_is_help=True)


class RoleChoice(str, Enum):
    viewer = "viewer"
    analyst = "analyst"


class StateChoice(str, Enum):
    relevant = "relevant"
    not_relevant = "not-relevant"
    shortlisted = "shortlisted"


def login_name() -> str:
    """The login name, in the characters a user name may hold (a name with others has them as `_`)."""
    import re

    try:
        name = getpass.getuser()
    except Exception:  # noqa: BLE001 - no login name (a container without a passwd entry)
        return "cli"
    name = re.sub(r"[^A-Za-z0-9._@-]", "_", name).lstrip("._@-")[:64]
    return name or "cli"


def acting_user(store, given: str | None) -> str:
    """Who the audit log names: the user `--user` (or $SCOUT_USER) names, who must exist (any case: `ANN` is
    `ann`); without either, the login name, which the operating system vouches for."""
    name = given if given is not None else os.environ.get("SCOUT_USER")
    if not name:
        return login_name()
    user = store.user_named(name)
    if user is None:
        where = "--user" if given is not None else "$SCOUT_USER"
        fail(f"{where} {name!r} is not a user here (scout users list); leave it out to act as the login user "
             f"{login_name()!r}")
    return user.name


USER_OPTION = typer.Option(None, "--user", help="Act as this existing user (default $SCOUT_USER, else the login name).")


@contextmanager
def _store() -> Iterator:
    from domain.limits import InputRejected
    from service.analyst import AnalystError, ImportRefused, open_analyst_store

    try:
        store = open_analyst_store()
    except Exception as exc:  # noqa: BLE001 - a bad URL or an unreachable server: one line
        fail(f"cannot open the analyst database: {(str(exc).splitlines() or [type(exc).__name__])[0]}")
    try:
        yield store
    except ImportRefused as exc:
        for reason in exc.reasons:
            console.print(f"[yellow]refused[/yellow] {escape(reason)}", highlight=False, soft_wrap=True)
        fail(f"nothing imported: {len(exc.reasons)} bad line{'s' * (len(exc.reasons) != 1)}; fix or remove them "
             "and import again")
    except (AnalystError, InputRejected) as exc:
        fail(escape(str(exc)))
    finally:
        store.close()


def _table(title: str, *columns: str):
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    for column in columns:
        table.add_column(column)
    return table


def _checked_args(**values: str) -> None:
    """One clean line for an argument that is too long or not text (invalid UTF-8 from the terminal)."""
    from domain.limits import MAX_ID_CHARS, MAX_NOTE_CHARS, InputRejected, checked_text

    for what, value in values.items():
        try:
            checked_text(value, what.replace("_", " "), MAX_NOTE_CHARS if what == "note" else MAX_ID_CHARS)
        except InputRejected as exc:
            fail(escape(str(exc)))


# -- users -----------------------------------------------------------------------------------------------
@users_app.command("add")
def users_add(name: str = typer.Argument(..., help="User name (letters, digits, . _ @ -)."),
              role: RoleChoice = typer.Option(RoleChoice.analyst, "--role", help="viewer: read; analyst: read, judge, watch."),
              user: Optional[str] = USER_OPTION) -> None:
    """Add a user and print their token once (only its hash is kept).

    Example: scout users add ann --role analyst
    """
    from domain.settings import WebSettings

    with _store() as store:
        first = not store.has_users()
        added, token = store.add_user(name, role.value, by=acting_user(store, user))
    console.print(f"Added {added.name} ({added.role.value}). Their token, shown this once:", highlight=False)
    typer.echo(token)
    web = WebSettings()
    host = "127.0.0.1" if web.host in ("0.0.0.0", "::") else web.host
    console.print(f"Give it to them: the API takes `Authorization: Bearer <token>`; a browser opens "
                  f"http://{host}:{web.port}/?token=<token> once.", highlight=False, soft_wrap=True)
    if first:
        console.print("This is the first user: from now on `scout serve` asks every visitor for a token.",
                      highlight=False)


@users_app.command("list")
def users_list(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """List the users and their roles (never their tokens).

    Example: scout users list
    """
    with _store() as store:
        users = store.users()
    if as_json:
        return echo_json([u.model_dump(mode="json") for u in users])
    if not users:
        console.print("No users: the web app is open on loopback only. Add one with `scout users add NAME`.")
        return
    table = _table("Users", "name", "role", "since")
    for u in users:
        table.add_row(u.name, u.role.value, shown_day(u.created_at))
    console.print(table)


@users_app.command("remove")
def users_remove(name: str = typer.Argument(..., help="User name."), user: Optional[str] = USER_OPTION) -> None:
    """Remove a user; their token stops working at once. Their judgements stay.

    Example: scout users remove ann
    """
    with _store() as store:
        store.remove_user(name, by=acting_user(store, user))
    console.print(f"Removed {name}.", highlight=False)


# -- judgements ------------------------------------------------------------------------------------------
def _need(library, need_id: str) -> str:
    """The full id of the need NEED_ID names (an id or a unique prefix, as `scout match` takes), or one line."""
    from service.queries import BadQuery, UnknownNeed, resolve_need

    try:
        return resolve_need(library, need_id)
    except (UnknownNeed, BadQuery) as exc:
        fail(f"{exc} (scout needs lists them)")


def _target_key(library, need_id: str, target_id: str, org: bool) -> str:
    """The id a judgement keys on, once the document (or organization) is known to exist. Organizations are
    judged by key (what the need page and the API use); a name is accepted too."""
    if not org:
        if library.document(target_id) is not None:
            return target_id
        matches = library.match(need_id, limit=PREFIX_DEPTH).matches
        # a result and the versions folded into it (the need page lists them): each can be judged on its own
        ids = dict.fromkeys([i for m in matches for i in (m.doc_id, *(v.doc_id for v in m.versions))])
        return _one_prefixed(target_id, ids, f"unknown document id {target_id!r} (`scout match` shows a need's "
                                             "documents' ids)")
    profile = library.organization(target_id)
    if profile is None:
        fail(f"no organization called {target_id!r}")
    return profile.key


PREFIX_DEPTH = 200  # a document id prefix names one of the need's this many best matches (a scan of the index's
# every id would cost seconds on a large one; the ids an analyst copies are those `scout match` printed)


def _one_prefixed(prefix: str, ids, unknown: str) -> str:
    """The one document id among `ids` that starts with `prefix` (as need ids are taken: `one_with_prefix`), or
    one clean line: `unknown` when none does."""
    from service.queries import BadQuery, one_with_prefix

    try:
        found = one_with_prefix(prefix, ids, "document")
    except BadQuery as exc:
        fail(str(exc))
    if found is None:
        fail(unknown)
    return found


def judge(need_id: str = typer.Argument(..., help="Need id, or a unique prefix of it (4+ characters)."),
          target_id: str = typer.Argument(..., help="Document id or a unique prefix of it (as `scout match` shows it), or an organization with --org."),
          state: StateChoice = typer.Argument(..., help="relevant, not-relevant or shortlisted."),
          note: str = typer.Option("", "--note", help="Why (shown on the need page and in the brief)."),
          org: bool = typer.Option(False, "--org", help="Judge an organization (name or key) instead of a document."),
          user: Optional[str] = USER_OPTION) -> None:
    """Judge a match: relevant, not relevant, or shortlisted for the matching meeting.

    Example: scout judge NEED_ID DOC_ID shortlisted --note "met them at DSEI"
    """
    _checked_args(need_id=need_id, target_id=target_id, note=note)  # before any lookup uses them
    with command_library() as library:
        need_id = _need(library, need_id)
        key = _target_key(library, need_id, target_id, org)
        with _store() as store:
            row = store.judge(need_id, key, state.value, user=acting_user(store, user), note=note,
                              target="organization" if org else "document")
        said = _judged(Subjects(library), row.target, row.target_id, need_id)
    console.print(f"{said}: {row.state.shown} (by {escape(row.user)})", highlight=False)


def _judged(names: Subjects, target: str, target_id: str, need_id: str) -> str:
    """What a judgement is about as the other commands name it: the document's title and its 8-character id
    (or the organization's name), for the need's title (it had echoed the whole document id and the key)."""
    what = (f"{escape(shortened(names.organization(target_id), 60))} (organization)" if target == "organization"
            else f"{escape(shortened(names.title(target_id), 60))} ({target_id[:8]})")
    return f"{what} for {escape(shortened(names.title(need_id), 60))} ({need_id[:8]})"


def unjudge(need_id: str = typer.Argument(..., help="Need id, or a unique prefix of it (4+ characters)."),
            target_id: str = typer.Argument(..., help="Document id or a unique prefix of it (as `scout match` shows it), or an organization (name or key) with --org."),
            org: bool = typer.Option(False, "--org", help="An organization's judgement."),
            user: Optional[str] = USER_OPTION) -> None:
    """Undo a match's latest judgement: back to the one before it, or to none.

    The match is then as it was before that judgement (its note, who and when); run again, it undoes the one
    before too. The history keeps every judgement and every undo.

    Example: scout unjudge NEED_ID DOC_ID
    """
    from service.analyst import undo_words

    key = target_id
    with command_library() as library:
        need_id = _need(library, need_id)
        nothing = f"nothing to undo: {escape(target_id)} has no judgement for need {need_id[:8]}"
        if org:  # a name or a key, as `scout judge --org` takes
            profile = library.organization(target_id)
            key = profile.key if profile is not None else target_id
        with _store() as store:
            if not org:
                judged = {r.target_id for r in store.judgements(need_id) if r.target == "document"}
                if key not in judged:  # a prefix of a judged document's id
                    key = _one_prefixed(key, judged, nothing)
            done = store.undo(need_id, key, user=acting_user(store, user), target="organization" if org else "document")
        if done is None:
            fail(nothing)
        said = _judged(Subjects(library), done.undo.target, done.undo.target_id, need_id)
    now = done.current
    as_judged = ""
    if now is not None:  # the judgement standing again, as `scout judgements list` shows it
        as_judged = f" (as {escape(now.user)} judged it {shown(now.at)}" + (
            f": {escape(shortened(now.note, 60))}" if now.note else "") + ")"
    console.print(f"{said}: {undo_words(done.undid.state, now.state if now else None)}{as_judged}", highlight=False)


@judgements_app.command("list")
def judgements_list(need_id: Optional[str] = typer.Argument(None, help="Need id or a unique prefix of it (default: every need)."),
                    history: bool = typer.Option(False, "--history", help="Every change, undos included, oldest first."),
                    as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """A need's current judgements (or their full history).

    Example: scout judgements list NEED_ID --history
    """
    with command_library() as library:
        if need_id is not None:
            need_id = _need(library, need_id)
        with _store() as store:
            rows = store.history(need_id) if history else store.judgements(need_id)
        if as_json:
            return echo_json([r.model_dump(mode="json") for r in rows])
        if not rows:
            console.print("No judgements yet.")
            return
        names = Subjects(library)  # an organization by its name, as the pages show it, not its key
        table = _table("Judgement history" if history else "Judgements", "need", "judged", "state", "note", "by",
                       "when")
        for r in rows:
            judged = names.target(r.target, r.target_id) + (" (organization)" if r.target == "organization" else "")
            # ids as the screens show them (8 characters, which every command takes as a prefix); an
            # organization's key, which `scout unjudge --org` takes
            shown_id = r.target_id if r.target == "organization" else r.target_id[:8]
            table.add_row(f"{cell(names.title(r.need_id), 40)}\n[dim]{r.need_id[:8]}[/dim]",
                          f"{cell(judged, 60)}\n[dim]{cell(shown_id)}[/dim]", r.shown_state, cell(r.note, 50), cell(r.user),
                          shown(r.at))
    console.print(table)


@judgements_app.command("export")
def judgements_export(output: Optional[Path] = typer.Option(None, "--output", "-o", help="File to write (default: standard output).")) -> None:
    """Every judgement ever made, undos included, as JSONL (one per line, oldest first).

    Example: scout judgements export -o judgements.jsonl
    """
    with _store() as store:
        lines = list(store.export_jsonl())
    text = "".join(line + "\n" for line in lines)
    if output is None:
        sys.stdout.write(text)
        return
    from domain.files import write_secret

    write_secret(output, text)  # notes and names: private like the database they come from
    console.print(f"{counted(len(lines), 'judgement')} written to {output}", highlight=False)


@judgements_app.command("import")
def judgements_import(source: Path = typer.Argument(..., help="JSONL from `scout judgements export` ('-' reads standard input)."),
                      user: Optional[str] = USER_OPTION) -> None:
    """Add exported judgements, keeping who made them and when; ones already here are skipped.

    Every row obeys the rules of a live judgement (a known need, document or organization; a known user; a time
    not in the future; a note of real text within 4,000 characters), or nothing is imported and each bad line
    is listed with its reason.

    Example: scout judgements import judgements.jsonl
    """
    if str(source) == "-":
        lines = sys.stdin.read().splitlines()
    else:
        try:
            lines = source.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            fail(f"cannot read {source}: {exc}")
    from service.queries import target_problem

    with command_library() as library, _store() as store:
        result = store.import_jsonl(lines, by=acting_user(store, user),
                                    check_target=lambda *match: target_problem(library, *match))
    console.print(f"{result.added} added, {result.skipped} already here.", highlight=False)


# -- watchlists ------------------------------------------------------------------------------------------
@watch_app.command("add")
def watch_add(name: str = typer.Argument(..., help="A name for the watchlist."),
              query: str = typer.Option("", "--query", "-q", help="Search words, Japanese or English."),
              org: Optional[str] = typer.Option(None, "--org", help="Watch an organization (name or key)."),
              concept: Optional[str] = typer.Option(None, "--concept", help="Watch a taxonomy concept, by its label as the pages and the concept facet of `scout search` name it (e.g. 'radar absorbing material') or its id (radar-absorbing-material); the watchlist stores the id."),
              area: Optional[str] = typer.Option(None, "--area", help="Watch a critical-technology area, by its label as the pages name it (e.g. 'Hypersonics (Japan)') or its id (jp-hypersonics)."),
              kind: Optional[str] = typer.Option(None, "--kind", help="research, startup or need."),
              lang: Optional[str] = typer.Option(None, "--lang", help="ja, en or other."),
              source: Optional[str] = typer.Option(None, "--source", help="Source name, e.g. arxiv."),
              since: Optional[str] = typer.Option(None, "--since", help="Published on or after (YYYY[-MM[-DD]])."),
              until: Optional[str] = typer.Option(None, "--until", help="Published on or before (YYYY[-MM[-DD]])."),
              user: Optional[str] = USER_OPTION) -> None:
    """Save a search, an organization, a concept or an area as a watchlist; what it finds today is its baseline.

    Example: scout watch add "Quantum nav" --concept "quantum sensing" --kind startup
    """
    from service import watch

    filters = {"org": org, "concept": concept, "area": area, "kind": kind, "lang": lang, "source": source,
               "since": since, "until": until}
    with command_library() as library, _store() as store:
        wl = watch.add_watchlist(store, library, name, user=acting_user(store, user), query=query, filters=filters)
        found = len(store.hits(wl.id, limit=500))
    from domain.settings import ReportSettings

    base = ReportSettings().base_url.rstrip("/")  # where `scout serve` is reachable, as the report links
    console.print(f"Watchlist {wl.id} ({wl.kind}) saved: {found} documents found today; new ones will be reported. "
                  f"Feed: {base}/feeds/watchlists/{wl.id}.atom", highlight=False, soft_wrap=True)


@watch_app.command("list")
def watch_list(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """The saved watchlists.

    Example: scout watch list
    """
    from service import watch

    with _store() as store:
        lists = store.watchlists()
    if as_json:
        return echo_json([w.model_dump(mode="json") for w in lists])  # the stored keys and ids
    if not lists:
        console.print("No watchlists yet: `scout watch add NAME --query ...`.")
        return
    with _library_if(any(w.filters.get("org") for w in lists)) as library:
        names = Subjects(library) if library is not None else None
        shown = {w.id: watch.shown_filters(w.filters, names) for w in lists}
    table = _table("Watchlists", "id", "name", "kind", "query", "filters", "by")
    for w in lists:  # the filters by the names the pages use, one a line ("org: Charles River Analytics Inc.")
        table.add_row(str(w.id), w.name, w.kind, w.query, "\n".join(f"{k}: {v}" for k, v in shown[w.id]), w.created_by)
    console.print(table)


@contextmanager
def _library_if(needed: bool):
    """The library, opened only when a listing needs names from it (a title, or an organization's name for
    the key an organization filter stores); None otherwise."""
    if not needed:
        yield None
        return
    with command_library() as library:
        yield library


@watch_app.command("remove")
def watch_remove(watchlist_id: int = typer.Argument(..., help="Watchlist id (scout watch list)."),
                 user: Optional[str] = USER_OPTION) -> None:
    """Remove a watchlist.

    Example: scout watch remove 3
    """
    with _store() as store:
        wl = store.remove_watchlist(watchlist_id, user=acting_user(store, user))
    console.print(f"Removed watchlist {wl.id} ({wl.name}).", highlight=False)


@watch_app.command("hits")
def watch_hits(watchlist_id: int = typer.Argument(..., help="Watchlist id (scout watch list)."),
               news: bool = typer.Option(False, "--news", help="Only what was found after the watchlist was saved."),
               as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Run a watchlist now and list its hits, best first, each with its score (the search page's figure).

    Example: scout watch hits 3 --news
    """
    from service import watch

    with command_library() as library, _store() as store:
        wl = store.watchlist(watchlist_id)
        if wl is None:
            fail(f"no watchlist {watchlist_id}")
        watch.refresh(store, library, wl)
        hits = store.hits(wl.id, news_only=news)
    if as_json:
        return echo_json([h.model_dump(mode="json") for h in hits])
    # best first with the score the page, the API and the feed show (this table had no score and its help said
    # "newest first")
    table = _table(f"Watchlist {wl.id}: {wl.name}", "score", "found", "title", "kind", "source", "id")
    for h in hits:
        table.add_row(f"{h.score:.3f} {h.label}", shown_day(h.first_seen) + (" (baseline)" if h.baseline else ""),
                      h.title[:70], h.kind, source_label(h.source), h.doc_id[:8])  # 8 characters, as every table shows ids
    console.print(table)


# -- brief and audit -------------------------------------------------------------------------------------
def brief(need_id: str = typer.Argument(..., help="Need id, or a unique prefix of it (4+ characters)."),
          csv_path: Optional[Path] = typer.Option(None, "--csv", help="Write the brief as CSV (UTF-8 with BOM) here."),
          html_path: Optional[Path] = typer.Option(None, "--html", help="Write the printable brief (A4) here.")) -> None:
    """The shortlist brief for a matching meeting: shortlisted organizations and technologies, evidence, notes.

    Example: scout brief NEED_ID --csv brief.csv --html brief.html
    """
    from service.brief import brief_csv, build_brief

    with command_library() as library, _store() as store:
        built = build_brief(library, store, _need(library, need_id))
    table = _table(f"Shortlist brief: {escape(built.need.title)}", "type", "name", "score", "note", "by")
    for item in [*built.organizations, *built.technologies]:
        table.add_row(item.kind, cell(item.name), "no longer ranked" if item.score is None else f"{item.score:.3f} {item.label}",
                      cell(item.judgement.note, 50), cell(item.judgement.user))
    if built.is_empty:
        console.print("Nothing is shortlisted for this need yet (scout judge NEED_ID DOC_ID shortlisted).")
    else:
        console.print(table)
    if csv_path is not None:
        csv_path.write_bytes(brief_csv(built))
        console.print(f"CSV:  {csv_path}", highlight=False)
    if html_path is not None:
        from scout.web.brief_html import render_brief_html

        html_path.write_text(render_brief_html(built), encoding="utf-8")
        console.print(f"HTML: {html_path}", highlight=False)


def audit(limit: int = typer.Option(50, "--limit", min=1, help="Entries to show."),
          user: Optional[str] = typer.Option(None, "--user", help="Only this user's actions."),
          as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """The audit log: who judged, watched or managed users, and when (newest first).

    Example: scout audit --limit 20
    """
    with _store() as store:
        entries = store.audit(limit, user=user)
        watchlists = {w.id: w.name for w in store.watchlists()}  # a watchlist's judgements key on its id
    if as_json:
        return echo_json([e.model_dump(mode="json") for e in entries])
    from service import watch

    judged: dict = {}
    details: dict[int, list[tuple[str, str]]] = {}
    needs_library = any(e.action.startswith("judgement.") or (e.detail.get("filters") or {}).get("org")
                        for e in entries)
    with _library_if(needs_library) as library:
        names = Subjects(library) if library is not None else None
        if library is not None:  # the need and what was judged by their titles, as /audit shows them
            judged = judged_subjects(entries, library, watchlists)
        for e in entries:  # a watchlist's filters by the names the pages use ("org=Charles River Analytics Inc.")
            details[e.id] = e.shown_detail(lambda key, value: watch.filter_label(key, value, names))
    table = _table("Audit log", "when", "who", "action", "subject", "detail")
    for e in entries:
        detail = "; ".join(f"{k}: {v}" for k, v in details[e.id])
        j = judged.get(e.id)
        subject = (f"{cell(j['need_title'], 40)}: {cell(j['target_title'], 60)}"
                   + (" (organization)" if j["target"] == "organization" else "")) if j else cell(e.subject, 60)
        table.add_row(shown(e.at, seconds=True), cell(e.user), e.shown_action, subject, cell(detail, 120))
    console.print(table)


def register(app: typer.Typer) -> None:
    app.add_typer(users_app, name="users")
    app.command("judge")(judge)
    app.command("unjudge")(unjudge)
    app.add_typer(judgements_app, name="judgements")
    app.add_typer(watch_app, name="watch")
    app.command("brief")(brief)
    app.command("audit")(audit)
