"""The ledger: a small SQLite history of crawls, match runs and sent reports.

It answers "what is new": a (need, document) pair is new in the run that first saw it, and the weekly report
shows the pairs first seen since the last report that was actually sent. Every match is stored as its JSON, so
any past week can be rebuilt without the index.

SQLite in WAL mode with a busy timeout, one short transaction per call: several processes (a scheduled flow,
`scout report`, `scout serve`) can open the same file. Every write is an upsert keyed by run, so recording the
same run twice adds nothing.
"""

from __future__ import annotations

import json
from bisect import bisect_right
import sqlite3
import uuid
from collections import defaultdict
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone, tzinfo
from pathlib import Path
from typing import Iterable, Iterator, Mapping

from domain.files import private_file
from domain.models import CrawlStats, Match, utcnow
from domain.orgs import answering_organizations, normalize_org
from domain.times import parse_stored, stored

# 2: organizations keyed by domain.orgs.normalize_org (legal forms stripped); 3: matches.last_score
SCHEMA_VERSION = 3
# The stage under which the rejects table keeps an enrichment's duplicates (documents recorded, not indexed, because
# their content was indexed under another id): counted apart from the rejects.
DUPLICATE_STAGE = "duplicate"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS crawls (
    run_id TEXT NOT NULL, source TEXT NOT NULL,
    fetched INTEGER NOT NULL, new INTEGER NOT NULL, updated INTEGER NOT NULL,
    unchanged INTEGER NOT NULL, rejected INTEGER NOT NULL,
    errors TEXT NOT NULL, started TEXT, finished TEXT NOT NULL,
    PRIMARY KEY (run_id, source));
CREATE TABLE IF NOT EXISTS rejects (
    run_id TEXT NOT NULL, source TEXT NOT NULL, stage TEXT NOT NULL, count INTEGER NOT NULL, at TEXT NOT NULL,
    PRIMARY KEY (run_id, source, stage));
CREATE TABLE IF NOT EXISTS match_runs (run_id TEXT PRIMARY KEY, started TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS matches (
    need_id TEXT NOT NULL, doc_id TEXT NOT NULL,
    first_seen TEXT NOT NULL, first_run TEXT NOT NULL,
    last_seen TEXT NOT NULL, last_run TEXT NOT NULL,
    first_score REAL NOT NULL, best_score REAL NOT NULL,
    match_json TEXT NOT NULL,  -- the match as first seen: what a report of that week showed
    last_score REAL,  -- the score in the last run that found the pair (NULL: recorded before schema 3)
    PRIMARY KEY (need_id, doc_id));
CREATE INDEX IF NOT EXISTS matches_first_seen ON matches (first_seen);
CREATE TABLE IF NOT EXISTS organizations (
    key TEXT PRIMARY KEY, name TEXT NOT NULL, first_seen TEXT NOT NULL, first_run TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS organizations_first_seen ON organizations (first_seen);
CREATE TABLE IF NOT EXISTS reports (
    id INTEGER PRIMARY KEY AUTOINCREMENT, week TEXT NOT NULL, sent_at TEXT NOT NULL, path TEXT,
    recipients TEXT NOT NULL, status TEXT NOT NULL, profile TEXT,
    covers_until TEXT);  -- the end of the period the report covered: where the next one starts
CREATE INDEX IF NOT EXISTS reports_sent ON reports (status, sent_at);
"""

# Report statuses. A delivered report ("sent" by SMTP, or "written" to the outbox when no SMTP host is
# configured, where the outbox is the delivery) moves the "new since" mark; a preview (--no-send), a failed
# send and a re-sent past week (--week) do not.
SENT, WRITTEN, PREVIEW, FAILED, RESENT = "sent", "written", "preview", "failed", "resent"
DELIVERED = (SENT, WRITTEN)


# Timestamps: domain.times's stored form (UTC, fixed width, "Z"): text order is time order in SQL.
_ts, _dt = stored, parse_stored


@dataclass(frozen=True)
class SourceSummary:
    source: str
    fetched: int = 0
    new: int = 0  # new to the crawl (a new id): of them, `duplicates` were content the index already held
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    runs: int = 0
    duplicates: int = 0


@dataclass(frozen=True)
class NewOrganization:
    key: str
    name: str
    first_seen: datetime


@dataclass(frozen=True)
class SentReport:
    week: str
    sent_at: datetime
    path: str | None
    recipients: list[str]
    status: str
    profile: str | None


@dataclass(frozen=True)
class StoredMatch:
    """A need's match as its latest match run recorded it."""

    need_id: str
    doc_id: str
    score: float
    run_at: datetime  # when that run started


@dataclass(frozen=True)
class AreaCounts:
    """New matches per area and week, oldest week first; `weeks` are ISO week labels like "2026-W47"."""

    weeks: list[str]
    counts: dict[str, list[int]]  # area id -> one count per week


class Ledger:
    """`Ledger(path)`: open (and create) the ledger at `path`. Cheap; open one per process or per call."""

    def __init__(self, path: Path | str, *, timeout: float = 30.0) -> None:
        self.path = Path(path)
        private_file(self.path)
        self._timeout = timeout
        with self._connect() as db:
            db.executescript(_SCHEMA)
            db.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', '1')")
        self._migrate()

    def _migrate(self) -> None:
        with self._transaction() as db:
            version = int(db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0])
            if version < 2:  # re-key organizations by normalize_org; one organization keeps its first sighting
                rows = db.execute("SELECT key, name, first_seen, first_run FROM organizations").fetchall()
                first: dict[str, tuple[str, str, str]] = {}
                for row in rows:
                    key = normalize_org(row["name"])
                    if key and (key not in first or row["first_seen"] < first[key][1]):
                        first[key] = (row["name"], row["first_seen"], row["first_run"])
                db.execute("DELETE FROM organizations")
                db.executemany("INSERT INTO organizations VALUES (?,?,?,?)",
                               [(k, *v) for k, v in first.items()])
            if version < 3 and "last_score" not in {r["name"] for r in db.execute("PRAGMA table_info(matches)")}:
                db.execute("ALTER TABLE matches ADD COLUMN last_score REAL")
            db.execute("INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        # A connection per call: safe across threads and processes, and nothing to close by the caller.
        db = sqlite3.connect(self.path, timeout=self._timeout, isolation_level=None)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute(f"PRAGMA busy_timeout={int(self._timeout * 1000)}")
            db.row_factory = sqlite3.Row
            yield db
        finally:
            db.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._connect() as db:
            db.execute("BEGIN IMMEDIATE")  # take the write lock up front: no upgrade deadlocks between processes
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    # -- crawls ------------------------------------------------------------------------------------------

    def record_crawl(self, stats: CrawlStats, run_id: str) -> None:
        """Store one source's crawl figures for a run (recording the same run and source again replaces them)."""
        finished = stats.finished or stats.started or utcnow()
        with self._transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO crawls VALUES (?,?,?,?,?,?,?,?,?,?)",
                (
                    run_id, stats.source, stats.fetched, stats.new, stats.updated, stats.unchanged,
                    stats.rejected, json.dumps(stats.errors, ensure_ascii=False),
                    _ts(stats.started) if stats.started else None, _ts(finished),
                ),
            )  # fmt: skip

    def record_rejects_count(
        self, run_id: str, source: str, count: int, *, stage: str = "nlp", at: datetime | None = None
    ) -> None:
        """Rejects found after the crawl (by nlp or index) for a run and source; crawl rejects come with
        `record_crawl`. Recording the same run, source and stage again replaces the count."""
        if count < 0:
            raise ValueError("a rejects count cannot be negative")
        with self._transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO rejects VALUES (?,?,?,?,?)", (run_id, source, stage, count, _ts(at or utcnow()))
            )

    def crawl_summary(self, since: datetime, until: datetime) -> list[SourceSummary]:
        """Per source, the sums over crawls finished in [since, until); rejects include later stages."""
        out: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        with self._connect() as db:
            for row in db.execute(
                "SELECT source, SUM(fetched) f, SUM(new) n, SUM(updated) u, SUM(unchanged) c, SUM(rejected) r,"
                " COUNT(*) runs FROM crawls WHERE finished >= ? AND finished < ? GROUP BY source",
                (_ts(since), _ts(until)),
            ):
                sums = out[row["source"]]
                for field, col in (("fetched", "f"), ("new", "n"), ("updated", "u"), ("unchanged", "c"),
                                   ("rejected", "r"), ("runs", "runs")):  # fmt: skip
                    sums[field] += row[col]
            for row in db.execute(
                "SELECT source, stage, SUM(count) r FROM rejects WHERE at >= ? AND at < ? GROUP BY source, stage",
                (_ts(since), _ts(until)),
            ):
                out[row["source"]]["duplicates" if row["stage"] == DUPLICATE_STAGE else "rejected"] += row["r"]
        return [SourceSummary(source=s, **sums) for s, sums in sorted(out.items())]

    # -- matches ---------------------------------------------------------------------------------------

    def start_match_run(self, at: datetime | None = None, run_id: str | None = None) -> str:
        """Open a match run; its start time is the "seen" time of every match recorded under it."""
        run_id = run_id or uuid.uuid4().hex
        with self._transaction() as db:
            db.execute("INSERT OR IGNORE INTO match_runs VALUES (?, ?)", (run_id, _ts(at or utcnow())))
        return run_id

    def last_match_run(self) -> tuple[str, datetime] | None:
        """(run_id, started) of the latest match run, or None when no run was ever recorded."""
        with self._connect() as db:
            row = db.execute("SELECT run_id, started FROM match_runs ORDER BY started DESC LIMIT 1").fetchone()
        return (row["run_id"], _dt(row["started"])) if row else None

    def _run_time(self, db: sqlite3.Connection, run_id: str) -> str:
        row = db.execute("SELECT started FROM match_runs WHERE run_id = ?", (run_id,)).fetchone()
        if row is None:
            raise KeyError(f"unknown match run {run_id!r}: call start_match_run() first")
        return row["started"]

    def record_matches(self, run_id: str, matches: Iterable[Match], issuers: Iterable[str] = ()) -> list[Match]:
        """Record a run's matches and return the ones first seen in this run (marked `is_new`).

        `issuers`: the organizations the needs name (their publishers). An organization under one of them
        (`domain.orgs.answering_organizations`: AFRL under "Air Force") is never sighted as a new organization,
        whichever need its document matched: the report's "new organizations" are the ones that answer needs.

        A pair's first sighting is kept (first_seen, first run, the match as shown then); later runs move
        last_seen and best_score. Recording the same run again changes nothing and returns the same list,
        so a retried task gets the same answer.
        """
        issuers = list(issuers)
        with self._transaction() as db:
            seen_at = self._run_time(db, run_id)
            for match in matches:
                db.execute(
                    # SQLite evaluates every SET expression on the old row; a run recorded late but started
                    # earlier (a resumed flow) still becomes the first sighting.
                    "INSERT INTO matches VALUES (?,?,?,?,?,?,?,?,?,?) ON CONFLICT (need_id, doc_id) DO UPDATE SET"
                    " first_seen = MIN(first_seen, excluded.first_seen),"
                    " first_run = CASE WHEN excluded.first_seen < first_seen THEN excluded.first_run ELSE first_run END,"
                    " first_score = CASE WHEN excluded.first_seen < first_seen THEN excluded.first_score"
                    " ELSE first_score END,"
                    " match_json = CASE WHEN excluded.first_seen < first_seen THEN excluded.match_json"
                    " ELSE match_json END,"
                    " best_score = MAX(best_score, excluded.best_score),"
                    " last_seen = MAX(last_seen, excluded.last_seen),"
                    " last_run = CASE WHEN excluded.last_seen >= last_seen THEN excluded.last_run ELSE last_run END,"
                    " last_score = CASE WHEN excluded.last_seen >= last_seen THEN excluded.last_score"
                    " ELSE last_score END",
                    (
                        match.need_id, match.doc_id, seen_at, run_id, seen_at, run_id, match.score, match.score,
                        match.model_dump_json(exclude={"is_new"}), match.score,
                    ),
                )  # fmt: skip
                for name in answering_organizations(match.organizations, issuers):
                    key = normalize_org(name)
                    if key:
                        db.execute(
                            "INSERT INTO organizations VALUES (?,?,?,?) ON CONFLICT (key) DO UPDATE SET"
                            " name = CASE WHEN excluded.first_seen < first_seen THEN excluded.name ELSE name END,"
                            " first_run = CASE WHEN excluded.first_seen < first_seen THEN excluded.first_run"
                            " ELSE first_run END,"
                            " first_seen = MIN(first_seen, excluded.first_seen)",
                            (key, name.strip(), seen_at, run_id),
                        )
            rows = db.execute(
                "SELECT match_json FROM matches WHERE first_run = ? ORDER BY need_id, first_score DESC", (run_id,)
            ).fetchall()
        return [self._match(row) for row in rows]

    @staticmethod
    def _match(row: sqlite3.Row) -> Match:
        match = Match.model_validate_json(row["match_json"])
        match.is_new = True
        return match

    def latest_matches(self) -> list[StoredMatch]:
        """Each need's matches as its latest match run found them (the pairs seen in that run, with that run's
        score), best first within a need. A need the ledger never saw has none."""
        with self._connect() as db:
            rows = db.execute(
                "SELECT m.need_id, m.doc_id, COALESCE(m.last_score, m.best_score) AS score, m.last_seen FROM matches m"
                " WHERE m.last_seen = (SELECT MAX(last_seen) FROM matches WHERE need_id = m.need_id)"
                " ORDER BY m.need_id, score DESC, m.doc_id"
            ).fetchall()
        return [StoredMatch(row["need_id"], row["doc_id"], row["score"], _dt(row["last_seen"])) for row in rows]

    def new_matches(self, since: datetime, until: datetime) -> list[Match]:
        """Matches whose pair was first seen in [since, until), each as it was first seen, best first."""
        with self._connect() as db:
            rows = db.execute(
                "SELECT match_json FROM matches WHERE first_seen >= ? AND first_seen < ?"
                " ORDER BY first_score DESC, need_id, doc_id",
                (_ts(since), _ts(until)),
            ).fetchall()
        return [self._match(row) for row in rows]

    def new_organizations(self, since: datetime, until: datetime) -> list[NewOrganization]:
        """Organizations named by a match for the first time in [since, until)."""
        with self._connect() as db:
            rows = db.execute(
                "SELECT key, name, first_seen FROM organizations WHERE first_seen >= ? AND first_seen < ?"
                " ORDER BY first_seen, key",
                (_ts(since), _ts(until)),
            ).fetchall()
        return [NewOrganization(row["key"], row["name"], _dt(row["first_seen"])) for row in rows]

    def matches_per_area(
        self,
        weeks: int,
        until: datetime,
        concept_areas: Mapping[str, Iterable[str]],
        *,
        tz: tzinfo = timezone.utc,
        other: str = "other",
    ) -> AreaCounts:
        """New matches per area for the `weeks` ISO weeks (in `tz`) up to `until` (exclusive, like everywhere here).

        A match counts once for every area of its shared concepts (`concept_areas`: concept id -> area ids,
        e.g. from the taxonomy; passed in so that a revised taxonomy also re-labels the past); a match with
        no area counts under `other`.
        """
        if weeks < 1:
            raise ValueError("weeks must be at least 1")
        end = until.astimezone(tz)
        last = end - timedelta(microseconds=1)  # the last instant counted decides the last week
        monday = (last - timedelta(days=last.weekday())).replace(hour=0, minute=0, second=0, microsecond=0)
        starts = [monday - timedelta(weeks=weeks - 1 - i) for i in range(weeks)]
        labels = [f"{s.isocalendar().year}-W{s.isocalendar().week:02d}" for s in starts]
        counts: dict[str, list[int]] = defaultdict(lambda: [0] * weeks)
        with self._connect() as db:
            rows = db.execute(
                "SELECT first_seen, match_json FROM matches WHERE first_seen >= ? AND first_seen < ?",
                (_ts(starts[0]), _ts(end)),
            ).fetchall()
        for row in rows:
            index = bisect_right(starts, _dt(row["first_seen"])) - 1  # by comparison: right across DST changes
            concepts = json.loads(row["match_json"]).get("shared_concepts") or []
            areas = sorted({a for c in concepts for a in concept_areas.get(c, ())}) or [other]
            for area in areas:
                counts[area][index] += 1
        return AreaCounts(weeks=labels, counts=dict(sorted(counts.items())))

    # -- reports ---------------------------------------------------------------------------------------

    def record_report(
        self,
        week: str,
        sent_at: datetime,
        path: Path | str | None,
        recipients: Iterable[str],
        status: str,
        *,
        profile: str | None = None,
        covers_until: datetime | None = None,
    ) -> None:
        """Remember a report and its status (see DELIVERED: only a delivery moves the "new since" mark).

        `covers_until`: the end of the period the report covered (default `sent_at`); the next report starts
        there, so that a match recorded while this one was being built or sent is not skipped.
        """
        with self._transaction() as db:
            db.execute(
                "INSERT INTO reports (week, sent_at, path, recipients, status, profile, covers_until)"
                " VALUES (?,?,?,?,?,?,?)",
                (week, _ts(sent_at), str(path) if path else None, json.dumps(list(recipients)), status, profile,
                 _ts(covers_until or sent_at)),
            )  # fmt: skip

    def last_sent_report(self, *, profile: str | None = None) -> tuple[str, datetime] | None:
        """(week, end of its period) of the last delivered report (for `profile` when given, any profile else),
        or None. The end of the period is where "new" starts for the next report (usually when it was sent)."""
        query = f"SELECT week, covers_until AS sent_at FROM reports WHERE status IN ({','.join('?' * len(DELIVERED))})"
        params: list[object] = list(DELIVERED)
        if profile is not None:
            query += " AND profile = ?"
            params.append(profile)
        with self._connect() as db:
            row = db.execute(query + " ORDER BY covers_until DESC, id DESC LIMIT 1", params).fetchone()
        return (row["week"], _dt(row["sent_at"])) if row else None

    def reports(self, limit: int = 20) -> list[SentReport]:
        """The latest reports of any status, newest first."""
        with self._connect() as db:
            rows = db.execute("SELECT * FROM reports ORDER BY sent_at DESC, id DESC LIMIT ?", (limit,)).fetchall()
        return [
            SentReport(r["week"], _dt(r["sent_at"]), r["path"], json.loads(r["recipients"]), r["status"], r["profile"])
            for r in rows
        ]
