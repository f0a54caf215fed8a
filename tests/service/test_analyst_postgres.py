"""The analyst store on a PostgreSQL server through its SQLAlchemy URL (SCOUT_ANALYST_DATABASE_URL): the path
the README gives teams, run for real against a throwaway cluster."""

from __future__ import annotations

import pytest

from domain.settings import AnalystSettings
from service.analyst import AnalystStore, JudgementState, database_url
from service.watch import add_watchlist, refresh
from tests.service import postgres
from tests.web.fakes import MemoryLibrary, _doc

pytestmark = pytest.mark.skipif(postgres.available() is not None, reason=postgres.available() or "")


@pytest.fixture(scope="module")
def pg_url():
    with postgres.cluster() as url:
        yield url


PG_TAMPERING = [  # what tests/service/test_analyst.py tries on SQLite, in PostgreSQL's words
    "UPDATE audit SET \"user\" = 'eve'", "DELETE FROM audit", "DELETE FROM audit WHERE id = 1", "TRUNCATE audit",
    "UPDATE judgements SET state = 'relevant'", "DELETE FROM judgements", "TRUNCATE judgements",
    "INSERT INTO judgements(id, need_id, target, target_id, state, note, \"user\", at) "
    "VALUES (1, 'n1', 'document', 'd1', 'not_relevant', '', 'eve', 'x') "
    "ON CONFLICT(id) DO UPDATE SET state = excluded.state",
    "INSERT INTO audit(id, at, \"user\", action, subject, detail) VALUES (1, 'x', 'eve', 'a', 's', '{}') "
    "ON CONFLICT(id) DO UPDATE SET \"user\" = excluded.\"user\"",
]


def test_the_store_runs_on_postgresql(pg_url, monkeypatch):
    monkeypatch.setenv("SCOUT_ANALYST_DATABASE_URL", pg_url)
    assert database_url(AnalystSettings()) == pg_url
    with AnalystStore(database_url()) as store:
        assert store.engine.dialect.name == "postgresql"
        _, token = store.add_user("ann", "analyst")
        assert store.user_for_token(token).name == "ann" and store.has_users()
        store.judge("n1", "d1", "relevant", user="ann", note="日本語のメモ")
        store.judge("n1", "d2", "not_relevant", user="ann")
        store.judge("n1", "d1", "shortlisted", user="ann")
        store.judge("n1", "acme", "shortlisted", user="ann", target="organization")
        assert store.clear("n1", "d2", user="ann") is not None
        assert store.feedback("n1") == (["d1"], [])
        assert store.current("n1", "d1").state == JudgementState.shortlisted
        assert [j.state.value for j in store.history("n1")] == [
            "relevant", "not_relevant", "shortlisted", "shortlisted", "undone"]
        lines = list(store.export_jsonl())
        assert store.import_jsonl(lines, by="ann").skipped == len(lines)
        assert [e.action for e in store.audit(need_id="n1")][:1] == ["judgement.undo"]

        library = MemoryLibrary()
        wl = add_watchlist(store, library, "RAM", user="ann", query="radar absorbing")
        assert store.hits(wl.id) and store.hits(wl.id, news_only=True) == []
        library.add(_doc("startup", "rss", "pg-1", "Radar absorbing paint startup", "Radar absorbing paint.", "en",
                         ["PaintCo"], "2026-10-31", ["radar-absorbing-material"], new=True))
        assert [h.title for h in refresh(store, library, wl)] == ["Radar absorbing paint startup"]
        assert [h.title for h in store.hits(wl.id, news_only=True)] == ["Radar absorbing paint startup"]
        import sqlalchemy as sa

        for statement in PG_TAMPERING:
            with pytest.raises(sa.exc.DBAPIError, match="append-only"):
                with store.engine.begin() as db:
                    db.exec_driver_sql(statement)
    with AnalystStore(pg_url) as reopened:  # a second process (another `scout serve`) sees the same state
        assert reopened.feedback("n1") == (["d1"], [])
        assert [w.name for w in reopened.watchlists()] == ["RAM"]
