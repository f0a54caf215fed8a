"""The analysts' state: users and roles, judgements of matches, watchlists and their hits, and the audit log.

One database, through SQLAlchemy Core: by default SQLite (WAL, `synchronous=FULL`) at `$SCOUT_HOME/analyst.sqlite`;
`SCOUT_ANALYST_DATABASE_URL` points a team at a server database instead (e.g.
`postgresql+psycopg://scout@db/dualscout`). Every write is its own transaction, committed before the call
returns, so a killed process loses nothing that was acknowledged.

Judgements are never updated in place: each change (and each undo, stored as state `undone`) is a new row, so
the full history stays. The current state of a match is read from its rows in order, as an editor's undo stack:
a judgement goes on top, an undo takes the top one off, so the match is back to the judgement it had before
(with its note, user and time), or to none; a second undo takes off the one before. A row `cleared` (what Undo
stored until 2026-12, which then left the match with no judgement whatever it had before) still empties the
stack, as it did when it was written. They key on the need id and the stable document id (or organization key),
which re-indexing and re-crawling keep.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import threading
from datetime import datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any, Callable, Iterable, Literal

import sqlalchemy as sa
from pydantic import BaseModel, Field, ValidationError, computed_field

from domain.files import private_file
from domain.limits import MAX_ID_CHARS, MAX_NAME_CHARS, MAX_NOTE_CHARS, MAX_QUERY_CHARS, checked_text
from domain.models import ScoreCeiling, TermRef, score_label, utcnow
from domain.settings import AnalystSettings
from domain.times import parse_stored, stored


class AnalystError(ValueError):
    """Bad input to the analyst store (unknown user, bad role or state); the message says which and why."""


class Role(StrEnum):
    viewer = "viewer"  # reads
    analyst = "analyst"  # reads, judges, watches


class JudgementState(StrEnum):
    relevant = "relevant"
    not_relevant = "not_relevant"
    shortlisted = "shortlisted"
    undone = "undone"  # an undo: the match is back to the judgement before the one it takes off, or to none
    cleared = "cleared"  # the match has no judgement from here (Undo stored this until 2026-12; nothing does now)

    @property
    def shown(self) -> str:
        """The state as the screens name it: "not relevant", "undone", "cleared"."""
        return self.value.replace("_", " ")

    @property
    def is_judgement(self) -> bool:
        """relevant, not relevant or shortlisted: a state a match can be in (an undo or a clear is not one)."""
        return self not in (JudgementState.undone, JudgementState.cleared)


Target = Literal["document", "organization"]
TARGETS = ("document", "organization")


def parse_state(value: str) -> JudgementState:
    """`relevant`, `not-relevant`/`not_relevant`, `shortlisted` (also `shortlist`), `undone` (also `undo`),
    `cleared`."""
    key = value.strip().lower().replace("-", "_").replace(" ", "_")
    key = {"shortlist": "shortlisted", "irrelevant": "not_relevant", "clear": "cleared", "undo": "undone"}.get(key, key)
    try:
        return JudgementState(key)
    except ValueError:
        raise AnalystError(f"{value!r} is not a judgement; use relevant, not-relevant or shortlisted") from None


class User(BaseModel):
    name: str
    role: Role
    created_at: datetime | None = None

    @property
    def can_write(self) -> bool:
        return self.role == Role.analyst


class Judgement(BaseModel):
    id: int | None = None
    need_id: str
    target: Target = "document"
    target_id: str
    state: JudgementState
    note: str = ""
    user: str
    at: datetime
    # An undo, as `history()` reads it (worked out from the rows before it, never stored): the judgement it took
    # off and the one the match went back to (None: no judgement)
    undid: JudgementState | None = None
    back_to: JudgementState | None = None

    @property
    def shown_state(self) -> str:
        """The row's state in words; an undo says what it undid and what the match went back to ("undid not
        relevant, back to shortlisted"; "undid relevant, no judgement now")."""
        if self.state == JudgementState.undone and self.undid is not None:
            return undo_words(self.undid, self.back_to)
        return self.state.shown


class Undo(BaseModel):
    """What an undo did: its own row, the judgement it took off, and the one now standing (None: none)."""
    undo: Judgement
    undid: Judgement
    current: Judgement | None = None


def undo_words(undid: JudgementState | str | None, back_to: JudgementState | str | None) -> str:
    """An undo in words, as the history, the audit log and `scout unjudge` write it."""
    undid, back_to = (JudgementState(s) if s else None for s in (undid, back_to))
    return (f"undid {undid.shown}" if undid else "undid a judgement") + ", " + (
        f"back to {back_to.shown}" if back_to else "no judgement now")


class Watchlist(BaseModel):
    id: int
    name: str
    kind: Literal["search", "organization", "concept", "area"]
    query: str = ""
    filters: dict[str, str] = Field(default_factory=dict)  # raw values as the API takes them (kind, lang, org...)
    created_by: str
    created_at: datetime
    refreshed_at: datetime | None = None


class WatchHit(BaseModel):
    watchlist_id: int
    doc_id: str
    title: str
    url: str = ""
    kind: str = ""
    source: str = ""
    organizations: list[str] = Field(default_factory=list)
    published: datetime | None = None
    first_seen: datetime
    baseline: bool = False  # already there when the watchlist was saved: not news
    score: float | None = None  # its match strength for the watchlist's query (None: a filter alone ranks nothing)
    held: ScoreCeiling | None = None  # its score is its ceiling: why (as a search hit's; None for older hits)
    rank: int | None = None  # its place in the watchlist's latest run (judgements move it); None: not found then
    summary: str = ""  # one line: the evidence sentence
    # its typed technology terms the watchlist names (its query's words or concepts, its concept or area), as a
    # match's shared_terms; [] for hits recorded before them
    terms: list[TermRef] = Field(default_factory=list)
    judgement: str | None = None  # relevant, not_relevant or shortlisted, as judged on the watchlist

    @computed_field  # type: ignore[prop-decorator]
    @property
    def label(self) -> str:
        """strong / moderate / weak, from `score` ("" without one)."""
        return "" if self.score is None else score_label(self.score)


class AuditEntry(BaseModel):
    id: int
    at: datetime
    user: str
    action: str
    subject: str
    detail: dict[str, Any] = Field(default_factory=dict)

    @property
    def shown_action(self) -> str:
        """What the person did, in words ("judged not relevant", "undid a judgement"), as `scout audit` and
        /audit show it; `action` keeps the stored code ("judgement.set", "judgement.clear")."""
        if self.action == "judgement.set":
            try:
                return f"judged {JudgementState(self.detail.get('state')).shown}"
            except ValueError:
                return "judged"
        if self.action == "judgement.undo":
            try:
                return undo_words(self.detail.get("undid"), self.detail.get("back_to"))
            except ValueError:
                return "undid a judgement"
        return ACTION_NAMES.get(self.action, self.action)

    def shown_detail(self, filter_label: Callable[[str, str], str] | None = None) -> list[tuple[str, str]]:
        """The detail as people read it, empty values left out: a watchlist's filters as "kind=startup,
        since=2025", never a Python dict ("{'kind': 'startup'}", as the log and `scout audit` had shown), each
        value through `filter_label(key, value)` when given (`service.watch.filter_label`: "org=Charles River
        Analytics Inc." for the stored key "charlesriveranalytics"). A judgement's state is in `shown_action`
        ("judged not relevant"), not here ("state: cleared" had stood for an undo)."""
        def text(value: Any, labelled: bool = False) -> str:
            if isinstance(value, dict):
                return ", ".join(f"{k}={filter_label(k, text(v)) if labelled and filter_label else text(v)}"
                                 for k, v in value.items() if v not in ("", None, {}, []))
            if isinstance(value, (list, tuple)):
                return ", ".join(text(v) for v in value)
            return str(value)

        judgement = self.action.startswith("judgement.")
        return [(key, text(value, labelled=key == "filters")) for key, value in self.detail.items()
                if value not in ("", None, {}, []) and not (judgement and key in ("state", "undid", "back_to"))]


# The audit log's actions in words (a judgement's own wording is AuditEntry.shown_action's)
ACTION_NAMES = {"judgement.clear": "cleared a judgement", "judgements.import": "imported judgements",
                "user.add": "added a user", "user.remove": "removed a user",
                "watchlist.add": "saved a watchlist", "watchlist.remove": "removed a watchlist"}


class ImportResult(BaseModel):
    added: int = 0
    skipped: int = 0  # already in the store (an import is idempotent)


class ImportRefused(AnalystError):
    """An import with bad rows: nothing was stored. `reasons`: one "line N: why" per bad row."""

    def __init__(self, reasons: list[str]) -> None:
        self.reasons = reasons
        super().__init__(f"import refused, nothing stored: {len(reasons)} bad line{'s' * (len(reasons) != 1)} "
                         f"({reasons[0]}{'; ...' if len(reasons) > 1 else ''})")


#: how far ahead of this machine's clock a judgement's time may be (another machine's clock skew)
CLOCK_SKEW = timedelta(minutes=5)


def watchlist_key(watchlist_id: int) -> str:
    """What a watchlist's judgements key on in place of a need id: it learns from them as a need does."""
    return f"watchlist:{watchlist_id}"


_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
TOKEN_PREFIX = "scout_"

metadata = sa.MetaData()
users_t = sa.Table(
    "users", metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("created_at", sa.String(40), nullable=False),
)  # fmt: skip
judgements_t = sa.Table(
    "judgements", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("need_id", sa.String(200), nullable=False),
    sa.Column("target", sa.String(16), nullable=False),
    sa.Column("target_id", sa.String(500), nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("note", sa.Text, nullable=False, default=""),
    sa.Column("user", sa.String(64), nullable=False),
    sa.Column("at", sa.String(40), nullable=False),
    sa.Index("judgements_match", "need_id", "target", "target_id"),
)  # fmt: skip
watchlists_t = sa.Table(
    "watchlists", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("query", sa.Text, nullable=False, default=""),
    sa.Column("filters", sa.Text, nullable=False, default="{}"),
    sa.Column("created_by", sa.String(64), nullable=False),
    sa.Column("created_at", sa.String(40), nullable=False),
    sa.Column("refreshed_at", sa.String(40)),
    sa.Column("removed_at", sa.String(40)),  # removal keeps the row: the audit log and old feeds still name it
)  # fmt: skip
watch_hits_t = sa.Table(
    "watch_hits", metadata,
    sa.Column("watchlist_id", sa.Integer, sa.ForeignKey("watchlists.id"), primary_key=True),
    sa.Column("doc_id", sa.String(200), primary_key=True),
    sa.Column("document", sa.Text, nullable=False),  # title, url, kind... as first seen (JSON)
    sa.Column("first_seen", sa.String(40), nullable=False),
    sa.Column("baseline", sa.Boolean, nullable=False, default=False),
)  # fmt: skip
audit_t = sa.Table(
    "audit", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", sa.String(40), nullable=False),
    sa.Column("user", sa.String(64), nullable=False),
    sa.Column("action", sa.String(40), nullable=False),
    sa.Column("subject", sa.Text, nullable=False),
    sa.Column("detail", sa.Text, nullable=False, default="{}"),
)  # fmt: skip

# The database itself refuses any change to a written audit or judgement row, on both databases alike: no
# UPDATE, no DELETE, no TRUNCATE, and no INSERT that reuses a written row's id. The last one is what stops
# SQLite's `INSERT OR REPLACE` / `REPLACE INTO`: REPLACE deletes the old row without firing delete triggers
# (unless a connection turns `recursive_triggers` on, which a stray `sqlite3` shell does not), so the guard is a
# BEFORE INSERT trigger, which fires first on every connection. An upsert (`ON CONFLICT DO UPDATE`) fires the
# update guard. On another server, grant the application INSERT and SELECT only on those two tables.
APPEND_ONLY_TABLES = {"audit": "the audit log is append-only",
                      "judgements": "judgements are history: add a row, never change one"}
_POSTGRES_APPEND_ONLY = [
    "CREATE OR REPLACE FUNCTION scout_append_only() RETURNS trigger LANGUAGE plpgsql AS "
    "$$ BEGIN RAISE EXCEPTION 'the %% table is append-only', TG_TABLE_NAME; END $$",  # %% is psycopg's %
    *(statement for table in APPEND_ONLY_TABLES for statement in (
        f"CREATE OR REPLACE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
        "FOR EACH ROW EXECUTE FUNCTION scout_append_only()",
        f"CREATE OR REPLACE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
        "FOR EACH STATEMENT EXECUTE FUNCTION scout_append_only()",
    )),
]
_SQLITE_APPEND_ONLY = [
    statement for table, why in APPEND_ONLY_TABLES.items() for statement in (
        f"CREATE TRIGGER IF NOT EXISTS {table}_no_update BEFORE UPDATE ON {table} "
        f"BEGIN SELECT RAISE(ABORT, '{why}'); END",
        f"CREATE TRIGGER IF NOT EXISTS {table}_no_delete BEFORE DELETE ON {table} "
        f"BEGIN SELECT RAISE(ABORT, '{why}'); END",
        f"CREATE TRIGGER IF NOT EXISTS {table}_no_replace BEFORE INSERT ON {table} "
        f"WHEN NEW.id IS NOT NULL AND EXISTS (SELECT 1 FROM {table} WHERE id = NEW.id) "
        f"BEGIN SELECT RAISE(ABORT, '{why}'); END",
    )
]


def _ts(moment: datetime) -> str:
    """domain.times's stored form, like the ledger's; rows written before in ISO form with an offset still read
    and still compare in order (the same fixed-width prefix)."""
    return stored(moment)


def _dt(text: str | None) -> datetime | None:
    return parse_stored(text) if text else None


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def check_name(name: str, what: str = "user name") -> str:
    name = (name or "").strip()
    if not _NAME.match(name):
        raise AnalystError(f"{what} {name!r}: use 1-64 letters, digits, '.', '_', '@' or '-'")
    return name


def database_url(settings: AnalystSettings | None = None) -> str:
    settings = settings or AnalystSettings()
    if settings.database_url:
        return settings.database_url.get_secret_value()
    return f"sqlite:///{settings.path}"


class AnalystStore:
    """Users, judgements, watchlists and the audit log in one database (see the module docstring)."""

    def __init__(self, url: str | Path | None = None, *, busy_timeout: float = 30.0) -> None:
        if url is None:
            url = database_url()
        elif isinstance(url, Path) or "://" not in str(url):
            url = f"sqlite:///{Path(url)}"
        self.url = str(url)
        self._undo_lock = threading.Lock()
        is_sqlite = self.url.startswith("sqlite")
        if is_sqlite and self.url.startswith("sqlite:///") and self.url != "sqlite:///:memory:":
            # Notes, user names and the audit log are for this user only, like the index: the folders it
            # creates 0700, the database 0600 before SQLite opens it (its -wal and -shm files take that mode).
            private_file(self.url[len("sqlite:///"):])
        self.engine = sa.create_engine(
            self.url, connect_args={"check_same_thread": False, "timeout": busy_timeout} if is_sqlite else {}
        )
        if is_sqlite:
            @sa.event.listens_for(self.engine, "connect")
            def _pragmas(dbapi_conn, _record):  # noqa: ANN001 - DB-API connection
                cur = dbapi_conn.cursor()
                cur.execute("PRAGMA journal_mode=WAL")
                cur.execute("PRAGMA synchronous=FULL")  # a commit survives power loss, not only a kill -9
                cur.execute(f"PRAGMA busy_timeout={int(busy_timeout * 1000)}")
                cur.execute("PRAGMA foreign_keys=ON")
                cur.close()

        with self.engine.begin() as db:
            metadata.create_all(db)
            guards = {"sqlite": _SQLITE_APPEND_ONLY, "postgresql": _POSTGRES_APPEND_ONLY}
            for statement in guards.get(self.engine.dialect.name, []):
                db.exec_driver_sql(statement)

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> "AnalystStore":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- audit -------------------------------------------------------------------------------------------
    @staticmethod
    def _audit(db, user: str, action: str, subject: str, at: datetime, **detail: Any) -> None:
        db.execute(audit_t.insert().values(at=_ts(at), user=user, action=action, subject=subject,
                                           detail=json.dumps(detail, ensure_ascii=False, default=str)))

    def audit(self, limit: int = 100, *, user: str | None = None, need_id: str | None = None) -> list[AuditEntry]:
        """Newest first; `need_id`: only the judgements of that need."""
        query = sa.select(audit_t).order_by(audit_t.c.id.desc()).limit(limit)
        if user:
            query = query.where(audit_t.c.user == user)
        if need_id:
            query = query.where(audit_t.c.action.startswith("judgement."),
                                audit_t.c.subject.startswith(need_id + " ", autoescape=True))
        with self.engine.connect() as db:
            return [AuditEntry(id=r.id, at=_dt(r.at), user=r.user, action=r.action, subject=r.subject,
                               detail=json.loads(r.detail or "{}")) for r in db.execute(query)]

    # -- users -------------------------------------------------------------------------------------------
    def add_user(self, name: str, role: Role | str = Role.analyst, *, by: str = "cli") -> tuple[User, str]:
        """A new user and their token, which is shown this once: only its sha256 is kept. Names are unique
        regardless of case: `ANN` beside `ann` would be two people in the audit log who read as one."""
        name = check_name(name)
        try:
            role = Role(role)
        except ValueError:
            raise AnalystError(f"role {role!r}: use viewer or analyst") from None
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        now = utcnow()
        with self.engine.begin() as db:
            same = db.execute(sa.select(users_t.c.name)
                              .where(sa.func.lower(users_t.c.name) == name.lower())).scalar()
            if same is not None:
                raise AnalystError(f"user {same!r} exists" + (f" (names ignore case: {name!r} is {same!r})"
                                                                if same != name else "")
                                   + "; remove it first to issue a new token")
            db.execute(users_t.insert().values(name=name, role=role.value, token_hash=hash_token(token),
                                               created_at=_ts(now)))
            self._audit(db, by, "user.add", name, now, role=role.value)
        return User(name=name, role=role, created_at=now), token

    def remove_user(self, name: str, *, by: str = "cli") -> None:
        with self.engine.begin() as db:
            if db.execute(users_t.delete().where(users_t.c.name == name)).rowcount == 0:
                raise AnalystError(f"no user called {name!r}")
            self._audit(db, by, "user.remove", name, utcnow())

    def users(self) -> list[User]:
        with self.engine.connect() as db:
            rows = db.execute(sa.select(users_t).order_by(users_t.c.name))
            return [User(name=r.name, role=Role(r.role), created_at=_dt(r.created_at)) for r in rows]

    def user_named(self, name: str) -> User | None:
        """The user called `name`, whatever its case (`ANN` finds `ann`); None when there is none."""
        with self.engine.connect() as db:
            r = db.execute(sa.select(users_t).where(sa.func.lower(users_t.c.name) == name.strip().lower())).first()
        return User(name=r.name, role=Role(r.role), created_at=_dt(r.created_at)) if r else None

    def has_users(self) -> bool:
        with self.engine.connect() as db:
            return db.execute(sa.select(users_t.c.name).limit(1)).first() is not None

    def user_for_token(self, token: str | None) -> User | None:
        if not token:
            return None
        digest = hash_token(token)
        with self.engine.connect() as db:
            row = db.execute(sa.select(users_t).where(users_t.c.token_hash == digest)).first()
        if row is None or not hmac.compare_digest(row.token_hash, digest):
            return None
        return User(name=row.name, role=Role(row.role), created_at=_dt(row.created_at))

    # -- judgements --------------------------------------------------------------------------------------
    def judge(self, need_id: str, target_id: str, state: JudgementState | str, *, user: str,
              target: Target = "document", note: str = "", at: datetime | None = None) -> Judgement:
        """Record a judgement (relevant, not relevant, shortlisted; or `cleared`: no judgement from here, which
        no screen offers any more); returns the stored row. An undo is `undo()`'s: it needs the rows before it."""
        state = state if isinstance(state, JudgementState) else parse_state(state)
        if state == JudgementState.undone:
            raise AnalystError("an undo takes off the latest judgement: use undo, not a judgement state")
        at = at or utcnow()
        note = (note or "").strip()
        self._check_judgement(need_id, target, target_id, note, user, at)
        with self.engine.begin() as db:
            row_id = db.execute(judgements_t.insert().values(
                need_id=need_id, target=target, target_id=target_id, state=state.value, note=note, user=user,
                at=_ts(at))).inserted_primary_key[0]
            action = "judgement.clear" if state == JudgementState.cleared else "judgement.set"
            self._audit(db, user, action, f"{need_id} {target} {target_id}", at, state=state.value, note=note)
        return Judgement(id=row_id, need_id=need_id, target=target, target_id=target_id, state=state, note=note,
                         user=user, at=at)

    @staticmethod
    def _check_judgement(need_id: str, target: str, target_id: str, note: str, user: str, at: datetime) -> None:
        """The rules every judgement obeys, made live or imported: InputRejected or AnalystError otherwise."""
        if target not in TARGETS:
            raise AnalystError(f"target {target!r}: use document or organization")
        if not need_id or not target_id or not user:
            raise AnalystError("a judgement needs a need id, a document id or organization key, and a user")
        checked_text(need_id, "the need id", MAX_ID_CHARS)
        checked_text(target_id, f"the {target} id", MAX_ID_CHARS)
        checked_text(note, "the note", MAX_NOTE_CHARS)
        check_name(user)
        if at.tzinfo is None:
            raise AnalystError("a judgement's time needs a time zone")
        if at > utcnow() + CLOCK_SKEW:
            raise AnalystError(f"a judgement's time {_ts(at)} is in the future")

    def undo(self, need_id: str, target_id: str, *, user: str, target: Target = "document",
             expected: int | None = None) -> Undo | None:
        """Take off the latest judgement of a match still standing: the match is back to the one before it (its
        state, note, user and time), or to none; a second undo takes off that one. The undo is a row of its own
        (nothing stored goes). None when there is nothing to undo: no judgement, or with `expected` (the id of the
        judgement the caller showed, as the need page's Undo sends it) when the standing one is another, so that
        a double click or a second tab never undoes two."""
        with self._undo_lock:  # one process' undos one at a time: two clicks are two undos only when meant
            rows = self._rows(need_id, target=target, target_id=target_id)
            stack = self._fold(rows).get((need_id, target, target_id), [])
            if not stack or (expected is not None and stack[-1].id != expected):
                return None
            undid, current = stack[-1], (stack[-2] if len(stack) > 1 else None)
            # after every row of the match, which the state is read in the order of: a row another machine
            # stamped ahead of this clock (CLOCK_SKEW) must not come after the undo that took it off
            at = max([utcnow(), *(r.at for r in rows)])
            self._check_judgement(need_id, target, target_id, "", user, utcnow())
            with self.engine.begin() as db:
                row_id = db.execute(judgements_t.insert().values(
                    need_id=need_id, target=target, target_id=target_id, state=JudgementState.undone.value, note="",
                    user=user, at=_ts(at))).inserted_primary_key[0]
                self._audit(db, user, "judgement.undo", f"{need_id} {target} {target_id}", at,
                            undid=undid.state.value, back_to=current.state.value if current else None)
        row = Judgement(id=row_id, need_id=need_id, target=target, target_id=target_id, state=JudgementState.undone,
                        user=user, at=at, undid=undid.state, back_to=current.state if current else None)
        return Undo(undo=row, undid=undid, current=current)

    def clear(self, need_id: str, target_id: str, *, user: str, target: Target = "document") -> Judgement | None:
        """`undo()`, returning the undo's row (None: nothing to undo); the name Undo had when it cleared."""
        done = self.undo(need_id, target_id, user=user, target=target)
        return done.undo if done else None

    @staticmethod
    def _judgement(r) -> Judgement:
        return Judgement(id=r.id, need_id=r.need_id, target=r.target, target_id=r.target_id,
                         state=JudgementState(r.state), note=r.note or "", user=r.user, at=_dt(r.at))

    def _rows(self, need_id: str | None = None, *, target: Target | None = None,
              target_id: str | None = None) -> list[Judgement]:
        """Judgement rows, undos included, in the order they count: by time, then as written."""
        t = judgements_t
        query = sa.select(t).order_by(t.c.at, t.c.id)
        if need_id is not None:
            query = query.where(t.c.need_id == need_id)
        if target is not None:
            query = query.where(t.c.target == target)
        if target_id is not None:
            query = query.where(t.c.target_id == target_id)
        with self.engine.connect() as db:
            return [self._judgement(r) for r in db.execute(query)]

    @staticmethod
    def _fold(rows: list[Judgement]) -> dict[tuple[str, str, str], list[Judgement]]:
        """Each match's undo stack from its rows in order (see the module docstring): the standing judgement is
        the top one. An undo row gets what it undid and what the match went back to (`undid`, `back_to`)."""
        stacks: dict[tuple[str, str, str], list[Judgement]] = {}
        for j in rows:
            stack = stacks.setdefault((j.need_id, j.target, j.target_id), [])
            if j.state == JudgementState.undone:
                if stack:
                    j.undid = stack.pop().state
                    j.back_to = stack[-1].state if stack else None
            elif j.state == JudgementState.cleared:
                stack.clear()
            else:
                stack.append(j)
        return stacks

    def judgements(self, need_id: str | None = None, *, target: Target | None = None) -> list[Judgement]:
        """Current judgements (the one standing for each match; a match with none left out), newest first."""
        standing = [stack[-1] for stack in self._fold(self._rows(need_id, target=target)).values() if stack]
        return sorted(standing, key=lambda j: (j.at, j.id or 0), reverse=True)

    def current(self, need_id: str, target_id: str, *, target: Target = "document") -> Judgement | None:
        stack = self._fold(self._rows(need_id, target=target, target_id=target_id)).get((need_id, target, target_id))
        return stack[-1] if stack else None

    def history(self, need_id: str | None = None) -> list[Judgement]:
        """Every judgement row, undos included (each with what it undid and what it went back to), oldest first."""
        rows = self._rows(need_id)
        self._fold(rows)
        return rows

    def feedback(self, need_id: str) -> tuple[list[str], list[str]]:
        """The ranking's input: (relevant and shortlisted doc ids, not-relevant doc ids), current state only."""
        relevant, rejected = [], []
        for j in self.judgements(need_id, target="document"):
            if j.state in (JudgementState.relevant, JudgementState.shortlisted):
                relevant.append(j.target_id)
            elif j.state == JudgementState.not_relevant:
                rejected.append(j.target_id)
        return relevant, rejected

    def export_jsonl(self) -> Iterable[str]:
        for j in self.history():
            yield json.dumps(j.model_dump(mode="json", exclude={"id", "undid", "back_to"}), ensure_ascii=False)

    def import_jsonl(self, lines: Iterable[str], *, by: str = "cli",
                     check_target: Callable[[str, str, str], str | None] | None = None) -> ImportResult:
        """Add exported judgements with their own user and time; rows already here are skipped.

        Every row obeys the rules of a live judgement (`_check_judgement`: ids, note, a time not in the future)
        and names a known user (one of `users()`, or `by`, who imports); `check_target(need_id, target,
        target_id)` says why a row's need or document is unknown (None: known). One bad row refuses the whole
        import (`ImportRefused`, every bad row's line number and reason): nothing is stored half-way."""
        result = ImportResult()
        rows: list[Judgement] = []
        reasons: list[str] = []
        known_users = {u.name for u in self.users()} | {by}
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                j = Judgement.model_validate_json(line)
                j = j.model_copy(update={"note": j.note.strip()})
                self._check_judgement(j.need_id, j.target, j.target_id, j.note, j.user, j.at)
                if j.user not in known_users:
                    raise AnalystError(f"user {j.user!r} is not a user here (scout users add {j.user})")
                problem = check_target(j.need_id, j.target, j.target_id) if check_target else None
                if problem:
                    raise AnalystError(problem)
                rows.append(j)
            except (ValidationError, ValueError) as exc:  # AnalystError and InputRejected are ValueErrors
                reason = exc.errors()[0] if isinstance(exc, ValidationError) else str(exc)
                if isinstance(reason, dict):
                    reason = f"{'.'.join(str(p) for p in reason.get('loc', ())) or 'line'}: {reason.get('msg')}"
                reasons.append(f"line {number}: {reason}")
        if reasons:
            raise ImportRefused(reasons)
        key = lambda j: (j.need_id, j.target, j.target_id, j.state.value, j.note, j.user, _ts(j.at))  # noqa: E731
        with self.engine.begin() as db:
            have = {key(self._judgement(r)) for r in db.execute(sa.select(judgements_t))}
            for j in rows:
                if key(j) in have:
                    result.skipped += 1
                    continue
                have.add(key(j))
                db.execute(judgements_t.insert().values(need_id=j.need_id, target=j.target, target_id=j.target_id,
                                                        state=j.state.value, note=j.note, user=j.user, at=_ts(j.at)))
                result.added += 1
            self._audit(db, by, "judgements.import", f"{result.added} judgements", utcnow(),
                        added=result.added, skipped=result.skipped)
        return result

    # -- watchlists --------------------------------------------------------------------------------------
    @staticmethod
    def _watchlist(r) -> Watchlist:
        return Watchlist(id=r.id, name=r.name, kind=r.kind, query=r.query or "", filters=json.loads(r.filters or "{}"),
                         created_by=r.created_by, created_at=_dt(r.created_at), refreshed_at=_dt(r.refreshed_at))

    def add_watchlist(self, name: str, *, kind: str, query: str = "", filters: dict[str, str] | None = None,
                      user: str) -> Watchlist:
        name = (name or "").strip()
        if not name:
            raise AnalystError(f"a watchlist needs a name of 1-{MAX_NAME_CHARS} characters")
        checked_text(name, "the watchlist name", MAX_NAME_CHARS)
        checked_text(query, "the query", MAX_QUERY_CHARS)
        filters = {k: str(v).strip() for k, v in (filters or {}).items() if v is not None and str(v).strip()}
        for key, value in filters.items():
            checked_text(value, f"the {key} filter", MAX_ID_CHARS)
        if not query.strip() and not filters:
            raise AnalystError("a watchlist needs a query, an organization, a concept or an area")
        now = utcnow()
        with self.engine.begin() as db:
            row_id = db.execute(watchlists_t.insert().values(
                name=name, kind=kind, query=query.strip(), filters=json.dumps(filters, ensure_ascii=False),
                created_by=user, created_at=_ts(now))).inserted_primary_key[0]
            self._audit(db, user, "watchlist.add", f"{row_id} {name}", now, kind=kind, query=query, filters=filters)
        return Watchlist(id=row_id, name=name, kind=kind, query=query.strip(), filters=filters, created_by=user,
                         created_at=now)

    def remove_watchlist(self, watchlist_id: int, *, user: str) -> Watchlist:
        wl = self.watchlist(watchlist_id)
        if wl is None:
            raise AnalystError(f"no watchlist {watchlist_id}")
        now = utcnow()
        with self.engine.begin() as db:
            db.execute(watchlists_t.update().where(watchlists_t.c.id == watchlist_id).values(removed_at=_ts(now)))
            self._audit(db, user, "watchlist.remove", f"{wl.id} {wl.name}", now)
        return wl

    def watchlists(self) -> list[Watchlist]:
        query = sa.select(watchlists_t).where(watchlists_t.c.removed_at.is_(None)).order_by(watchlists_t.c.id)
        with self.engine.connect() as db:
            return [self._watchlist(r) for r in db.execute(query)]

    def watchlist(self, watchlist_id: int) -> Watchlist | None:
        query = sa.select(watchlists_t).where(watchlists_t.c.id == watchlist_id, watchlists_t.c.removed_at.is_(None))
        with self.engine.connect() as db:
            row = db.execute(query).first()
        return self._watchlist(row) if row else None

    def record_hits(self, watchlist_id: int, hits: Iterable[dict[str, Any]], *, at: datetime | None = None) -> list[WatchHit]:
        """Remember the documents a watchlist finds now, in the order given (its ranking); returns those it had
        never found. The first call for a watchlist records its baseline: what was already there when it was
        saved is not news. Documents found before keep their first sighting; their rank, score and summary are
        those of this run (a document this run did not find keeps its score and loses its rank)."""
        at = at or utcnow()
        fresh: list[WatchHit] = []
        with self.engine.begin() as db:
            row = db.execute(sa.select(watchlists_t.c.refreshed_at).where(watchlists_t.c.id == watchlist_id)).first()
            if row is None:
                raise AnalystError(f"no watchlist {watchlist_id}")
            baseline = row.refreshed_at is None
            t = watch_hits_t
            known = {r.doc_id: json.loads(r.document) for r in db.execute(
                sa.select(t.c.doc_id, t.c.document).where(t.c.watchlist_id == watchlist_id))}
            seen: set[str] = set()
            for rank, hit in enumerate(hits, start=1):
                doc_id = hit["doc_id"]
                if doc_id in seen:
                    continue
                seen.add(doc_id)
                document = {k: v for k, v in hit.items() if k != "doc_id"}
                document["rank"] = rank
                text = json.dumps(document, ensure_ascii=False, default=str)
                if doc_id in known:
                    if known[doc_id] != json.loads(text):
                        db.execute(t.update().where(t.c.watchlist_id == watchlist_id, t.c.doc_id == doc_id)
                                   .values(document=text))
                    continue
                db.execute(t.insert().values(watchlist_id=watchlist_id, doc_id=doc_id, document=text,
                                             first_seen=_ts(at), baseline=baseline))
                fresh.append(self._hit(watchlist_id, doc_id, json.loads(text), at, baseline))
            for doc_id, document in known.items():
                if doc_id not in seen and document.get("rank") is not None:
                    document["rank"] = None
                    db.execute(t.update().where(t.c.watchlist_id == watchlist_id, t.c.doc_id == doc_id)
                               .values(document=json.dumps(document, ensure_ascii=False, default=str)))
            db.execute(watchlists_t.update().where(watchlists_t.c.id == watchlist_id).values(refreshed_at=_ts(at)))
        return fresh

    @staticmethod
    def _hit(watchlist_id: int, doc_id: str, document: dict, first_seen: datetime, baseline: bool) -> WatchHit:
        return WatchHit(watchlist_id=watchlist_id, doc_id=doc_id, first_seen=first_seen, baseline=bool(baseline),
                        **{k: v for k, v in document.items() if k in WatchHit.model_fields})

    def hits(self, watchlist_id: int, *, since: datetime | None = None, until: datetime | None = None,
             news_only: bool = False, limit: int = 100, order: Literal["ranked", "newest"] = "ranked") -> list[WatchHit]:
        """A watchlist's hits: `ranked`, in the order of its latest run (best first; a hit that run did not find
        after those, by score), or `newest` first. `news_only` leaves out the baseline."""
        t = watch_hits_t
        query = sa.select(t).where(t.c.watchlist_id == watchlist_id)
        if since is not None:
            query = query.where(t.c.first_seen >= _ts(since))
        if until is not None:
            query = query.where(t.c.first_seen < _ts(until))
        if news_only:
            query = query.where(t.c.baseline.is_(False))
        query = query.order_by(t.c.first_seen.desc(), t.c.doc_id)
        with self.engine.connect() as db:
            found = [self._hit(r.watchlist_id, r.doc_id, json.loads(r.document), _dt(r.first_seen), r.baseline)
                     for r in db.execute(query)]
        states = {j.target_id: j.state.value for j in self.judgements(watchlist_key(watchlist_id), target="document")}
        for h in found:
            h.judgement = states.get(h.doc_id)
        if order == "ranked":  # a hit judged not relevant after every other; stable: newest first on ties
            found.sort(key=lambda h: (h.judgement == JudgementState.not_relevant.value, h.rank is None, h.rank or 0,
                                      -(h.score or 0.0)))
        return found[:limit]


def open_analyst_store(settings: AnalystSettings | None = None) -> AnalystStore:
    return AnalystStore(database_url(settings))
