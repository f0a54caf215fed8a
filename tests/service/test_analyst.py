"""The analyst store on real SQLite (WAL): judgements and their history, feedback, users, the audit log,
export/import, watchlists and their news, the brief; and a kill -9 in the middle of writing."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest

from domain.models import utcnow
from domain.limits import InputRejected, InputTooLarge
from service.analyst import AnalystError, AnalystStore, ImportRefused, JudgementState, hash_token
from service.brief import brief_csv, build_brief
from service.watch import add_watchlist, attach_watchlist_news, refresh
from tests.web.fakes import MemoryLibrary

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def store(tmp_path):
    with AnalystStore(tmp_path / "analyst.sqlite") as s:
        yield s


@pytest.fixture(scope="module")
def library():
    return MemoryLibrary()


def test_judgements_change_undo_and_keep_their_history(store):
    store.judge("n1", "d1", "relevant", user="ann")
    store.judge("n1", "d2", "not-relevant", user="ann", note="off topic")
    store.judge("n1", "d1", "shortlisted", user="bob", note="meet them")
    store.judge("n1", "d3", "relevant", user="ann")
    assert store.clear("n1", "d3", user="ann") is not None
    assert store.clear("n1", "d3", user="ann") is None  # nothing left to undo
    store.judge("n2", "d1", "not_relevant", user="ann")

    current = {j.target_id: j for j in store.judgements("n1")}
    assert set(current) == {"d1", "d2"}
    assert current["d1"].state == JudgementState.shortlisted and current["d1"].user == "bob"
    assert current["d1"].note == "meet them"
    assert [(j.target_id, j.state.value) for j in store.history("n1")] == [
        ("d1", "relevant"), ("d2", "not_relevant"), ("d1", "shortlisted"), ("d3", "relevant"), ("d3", "undone")]
    assert store.feedback("n1") == (["d1"], ["d2"])
    assert store.feedback("n2") == ([], ["d1"])
    assert store.feedback("unknown") == ([], [])


FIXED = utcnow()  # the brief's "prepared at", the same for every brief compared below


def _seen(store, library, need_id: str) -> dict:
    """Everything read from the store about a need: its judgements (each as stored: state, note, user, time),
    the ranking's feedback, the brief (its CSV, byte for byte) and every need's document states."""
    return {"judgements": [j.model_dump() for j in store.judgements(need_id)],
            "feedback": store.feedback(need_id),
            "brief": brief_csv(build_brief(library, store, need_id, now=FIXED)),
            "all": [j.model_dump() for j in store.judgements()]}


@pytest.mark.parametrize("before", [None, "relevant", "not_relevant", "shortlisted"])
@pytest.mark.parametrize("state", ["relevant", "not_relevant", "shortlisted"])
@pytest.mark.parametrize("target", ["document", "organization"])
def test_judging_then_undo_is_never_having_judged(store, library, before, state, target):
    """Judge X then Undo == never judged X, whatever stood before: Undo had cleared the match, so a document
    shortlisted, then judged not relevant, then undone left the shortlist and the brief."""
    need = next(n for n in library.needs() if n.source == "atla")
    found = library.match(need.id)
    subject = found.matches[1].doc_id if target == "document" else found.organizations[0].key
    store.judge(need.id, found.matches[0].doc_id, "shortlisted", user="bob", note="another match")
    if before:
        store.judge(need.id, subject, before, user="ann", target=target, note=f"first: {before}")
    seen = _seen(store, library, need.id)
    store.judge(need.id, subject, state, user="bob", target=target, note="second thoughts")
    done = store.undo(need.id, subject, user="bob", target=target)
    assert done is not None and done.undid.state == state
    assert _seen(store, library, need.id) == seen
    assert (done.current.model_dump() if done.current else None) == next(
        (j for j in seen["judgements"] if j["target_id"] == subject), None)


def test_shortlisted_then_not_relevant_then_undo_is_shortlisted_again(store, library):
    """The lead's case, and what a second and a third Undo do: an editor's undo stack."""
    need = next(n for n in library.needs() if n.source == "atla")
    doc = library.match(need.id).matches[1].doc_id
    shortlisted = store.judge(need.id, doc, "shortlisted", user="ann", note="met them at DSEI")
    store.judge(need.id, doc, "not_relevant", user="bob", note="wrong band")
    assert [t.id for t in build_brief(library, store, need.id).technologies] == []

    done = store.undo(need.id, doc, user="bob")
    assert done.current == shortlisted  # its state, note, user and time, as judged
    assert store.current(need.id, doc) == shortlisted and store.feedback(need.id) == ([doc], [])
    (item,) = build_brief(library, store, need.id).technologies
    assert (item.id, item.judgement) == (doc, shortlisted)

    second = store.undo(need.id, doc, user="bob")  # the one before: none
    assert second.undid == shortlisted and second.current is None
    assert store.current(need.id, doc) is None and store.feedback(need.id) == ([], [])
    assert store.undo(need.id, doc, user="bob") is None  # nothing to undo: nothing written
    assert [(j.state.value, j.shown_state) for j in store.history(need.id)] == [
        ("shortlisted", "shortlisted"), ("not_relevant", "not relevant"),
        ("undone", "undid not relevant, back to shortlisted"), ("undone", "undid shortlisted, no judgement now")]
    assert [e.shown_action for e in reversed(store.audit(need_id=need.id))] == [
        "judged shortlisted", "judged not relevant", "undid not relevant, back to shortlisted",
        "undid shortlisted, no judgement now"]


def test_a_judgement_after_an_undo_goes_on_top_and_undo_takes_it_off(store):
    store.judge("n1", "d1", "relevant", user="ann", note="a")
    store.judge("n1", "d1", "not_relevant", user="ann")
    store.undo("n1", "d1", user="ann")
    store.judge("n1", "d1", "shortlisted", user="ann", note="b")  # no redo: the undone one is history
    assert store.undo("n1", "d1", user="ann").current.note == "a"
    assert store.current("n1", "d1").state == JudgementState.relevant


def test_an_undo_of_a_judgement_no_longer_shown_undoes_nothing(store):
    """The need page's Undo sends the judgement it shows: a double click, or a second tab, undoes one, not two."""
    first = store.judge("n1", "d1", "shortlisted", user="ann")
    second = store.judge("n1", "d1", "not_relevant", user="ann")
    assert store.undo("n1", "d1", user="ann", expected=second.id).current == first
    rows = len(store.history())
    assert store.undo("n1", "d1", user="ann", expected=second.id) is None
    assert len(store.history()) == rows and store.current("n1", "d1") == first


def test_a_cleared_row_written_by_the_old_undo_still_means_no_judgement(store, tmp_path):
    """Undo stored `cleared` until 2026-12 (the match then had no judgement): such a row reads as it did."""
    store.judge("n1", "d1", "shortlisted", user="ann")
    store.judge("n1", "d1", "not_relevant", user="ann")
    store.judge("n1", "d1", "cleared", user="ann")
    assert store.current("n1", "d1") is None and store.undo("n1", "d1", user="ann") is None
    assert store.history()[-1].shown_state == "cleared"
    assert store.audit()[0].shown_action == "cleared a judgement"
    store.judge("n1", "d1", "relevant", user="ann")
    assert store.undo("n1", "d1", user="ann").current is None


def test_undos_export_and_import_to_the_same_state(store, tmp_path):
    store.judge("n1", "d1", "shortlisted", user="ann", note="keep")
    store.judge("n1", "d1", "not_relevant", user="ann")
    store.undo("n1", "d1", user="ann")
    lines = list(store.export_jsonl())
    assert [json.loads(line)["state"] for line in lines] == ["shortlisted", "not_relevant", "undone"]
    with AnalystStore(tmp_path / "other.sqlite") as other:
        assert other.import_jsonl(lines, by="ann").added == 3
        assert [j.model_dump(exclude={"id"}) for j in other.judgements()] == [
            j.model_dump(exclude={"id"}) for j in store.judgements()]
        assert other.current("n1", "d1").note == "keep"


def test_an_undo_is_not_a_judgement_to_record(store):
    with pytest.raises(AnalystError, match="use undo"):
        store.judge("n1", "d1", "undone", user="ann")


def test_organization_judgements_stay_out_of_the_document_feedback(store):
    store.judge("n1", "metasurface-labs", "shortlisted", user="ann", target="organization")
    store.judge("n1", "d1", "relevant", user="ann")
    assert store.feedback("n1") == (["d1"], [])
    assert [j.target for j in store.judgements("n1", target="organization")] == ["organization"]


def test_bad_judgements_are_refused_with_the_reason(store):
    with pytest.raises(AnalystError, match="not a judgement"):
        store.judge("n1", "d1", "maybe", user="ann")
    with pytest.raises(AnalystError, match="document or organization"):
        store.judge("n1", "d1", "relevant", user="ann", target="person")
    with pytest.raises(InputTooLarge, match="the limit is 4,000"):
        store.judge("n1", "d1", "relevant", user="ann", note="x" * 5000)
    for note in ("\ud800", "a\udced\udca0\udc80b"):  # an API's "\ud800", a terminal's invalid UTF-8
        with pytest.raises(InputRejected, match="lone surrogate"):
            store.judge("n1", "d1", "relevant", user="ann", note=note)
    with pytest.raises(InputRejected, match="NUL"):
        store.judge("n1", "d1", "relevant", user="ann", note="a\x00b")
    with pytest.raises(AnalystError, match="in the future"):
        store.judge("n1", "d1", "relevant", user="ann", at=utcnow() + timedelta(days=365))
    with pytest.raises(InputTooLarge):
        store.judge("n1", "d" * 600, "relevant", user="ann")
    with pytest.raises(InputTooLarge, match="query"):
        store.add_watchlist("big", kind="search", query="radar " * 200_000, user="ann")  # 1.2 MB
    with pytest.raises(InputRejected, match="name"):
        store.add_watchlist("a\ud800", kind="search", query="radar", user="ann")
    assert store.history() == [] and store.watchlists() == []
    assert [e.action for e in store.audit()] == []


def test_users_tokens_are_stored_hashed_and_named(store, tmp_path):
    ann, token = store.add_user("ann", "analyst")
    vic, vic_token = store.add_user("vic", "viewer")
    assert token != vic_token and token.startswith("scout_")
    assert store.user_for_token(token).name == "ann" and store.user_for_token(token).can_write
    assert not store.user_for_token(vic_token).can_write
    assert store.user_for_token("scout_wrong") is None and store.user_for_token("") is None
    with pytest.raises(AnalystError, match="exists"):
        store.add_user("ann", "viewer")
    with pytest.raises(AnalystError, match="role"):
        store.add_user("eve", "admin")
    raw = sqlite3.connect(tmp_path / "analyst.sqlite").execute("SELECT token_hash FROM users").fetchall()
    assert {r[0] for r in raw} == {hash_token(token), hash_token(vic_token)}  # never the token itself
    assert token not in (tmp_path / "analyst.sqlite").read_bytes().decode("latin-1")
    store.remove_user("ann")
    assert store.user_for_token(token) is None
    with pytest.raises(AnalystError, match="no user"):
        store.remove_user("ann")


def test_audit_log_records_every_change_and_refuses_edits(store, tmp_path):
    store.add_user("ann", "analyst", by="admin")
    store.judge("n1", "d1", "relevant", user="ann", note="why")
    store.clear("n1", "d1", user="ann")
    wl = store.add_watchlist("radar", kind="search", query="radar", user="ann")
    store.remove_watchlist(wl.id, user="ann")
    entries = list(reversed(store.audit()))
    assert [(e.user, e.action) for e in entries] == [
        ("admin", "user.add"), ("ann", "judgement.set"), ("ann", "judgement.undo"), ("ann", "watchlist.add"),
        ("ann", "watchlist.remove")]
    assert entries[1].detail == {"state": "relevant", "note": "why"} and entries[1].subject == "n1 document d1"
    db = sqlite3.connect(tmp_path / "analyst.sqlite")
    for statement in ("UPDATE audit SET user = 'eve'", "DELETE FROM audit", "UPDATE judgements SET state = 'relevant'"):
        with pytest.raises(sqlite3.IntegrityError, match="append-only|history"):
            db.execute(statement)
    assert len(store.audit()) == 5


TAMPERING = [  # every way a raw connection could rewrite or drop a written row
    "UPDATE audit SET user = 'eve'", "DELETE FROM audit", "DELETE FROM audit WHERE id = 1",
    "UPDATE judgements SET state = 'relevant'", "DELETE FROM judgements",
    "INSERT OR REPLACE INTO audit(id, at, user, action, subject, detail) VALUES (1, 'x', 'eve', 'a', 's', '{}')",
    "REPLACE INTO audit(id, at, user, action, subject, detail) VALUES (1, 'x', 'eve', 'a', 's', '{}')",
    "REPLACE INTO judgements(id, need_id, target, target_id, state, note, user, at) "
    "VALUES (1, 'n1', 'document', 'd1', 'not_relevant', '', 'eve', 'x')",
    "INSERT INTO judgements(id, need_id, target, target_id, state, note, user, at) "
    "VALUES (1, 'n1', 'document', 'd1', 'not_relevant', '', 'eve', 'x') "
    "ON CONFLICT(id) DO UPDATE SET state = excluded.state",
    "UPDATE OR REPLACE audit SET id = 2 WHERE id = 1",
]


@pytest.mark.parametrize("recursive_triggers", ["OFF", "ON"])
def test_sqlite_audit_and_judgements_cannot_be_rewritten_from_any_connection(store, tmp_path, recursive_triggers):
    store.add_user("ann", "analyst", by="admin")
    store.judge("n1", "d1", "relevant", user="ann", note="why")
    before = (store.audit(), store.history())
    db = sqlite3.connect(tmp_path / "analyst.sqlite", isolation_level=None)
    db.execute(f"PRAGMA recursive_triggers = {recursive_triggers}")
    for statement in TAMPERING:
        with pytest.raises(sqlite3.IntegrityError, match="append-only|history"):
            db.execute(statement)
    db.close()
    assert (store.audit(), store.history()) == before
    store.judge("n1", "d1", "shortlisted", user="ann")  # appending still works
    assert store.current("n1", "d1").state == JudgementState.shortlisted


def test_the_analyst_database_is_private_on_a_shared_machine(tmp_path):
    old = os.umask(0o022)
    try:
        home = tmp_path / "fresh" / "home"
        with AnalystStore(home / "analyst.sqlite") as store:
            store.judge("n1", "d1", "relevant", user="ann", note="private")
            files = sorted(home.iterdir())
            assert {f.name for f in files} >= {"analyst.sqlite", "analyst.sqlite-wal", "analyst.sqlite-shm"}
            assert {f.name: oct(f.stat().st_mode & 0o777) for f in files} == {f.name: "0o600" for f in files}
        assert oct(home.stat().st_mode & 0o777) == oct(tmp_path.joinpath("fresh").stat().st_mode & 0o777) == "0o700"
    finally:
        os.umask(old)


def test_export_import_round_trip_skips_duplicates_and_rejects_bad_lines(store, tmp_path):
    store.judge("n1", "d1", "relevant", user="ann", note="日本語のメモ")
    store.judge("n1", "d1", "shortlisted", user="bob")
    store.judge("n1", "acme", "not_relevant", user="ann", target="organization")
    store.clear("n1", "acme", user="ann", target="organization")
    lines = list(store.export_jsonl())
    assert len(lines) == 4 and json.loads(lines[0])["note"] == "日本語のメモ"

    with AnalystStore(tmp_path / "other.sqlite") as other:
        bad = ['{"need_id": "n1"}', "not json", json.dumps({**json.loads(lines[0]), "state": "maybe"}),
               json.dumps({**json.loads(lines[0]), "at": "2026-01-01T00:00:00"})]
        with pytest.raises(ImportRefused) as refused:
            other.import_jsonl([lines[0], *bad, *lines[1:], ""], by="ann")
        assert [r.split(":")[0] for r in refused.value.reasons] == ["line 2", "line 3", "line 4", "line 5", "line 6"]
        assert "time zone" in refused.value.reasons[3] and "'bob' is not a user here" in refused.value.reasons[4]
        assert other.history() == [] and other.audit() == []  # nothing stored half-way
        with pytest.raises(ImportRefused, match="'bob' is not a user here"):
            other.import_jsonl(lines, by="ann")
        other.add_user("bob")
        result = other.import_jsonl(["", *lines, ""], by="ann")
        assert result.added == 4 and result.skipped == 0
        assert [j.model_dump(exclude={"id"}) for j in other.history()] == [
            j.model_dump(exclude={"id"}) for j in store.history()]
        assert other.feedback("n1") == store.feedback("n1") == (["d1"], [])
        again = other.import_jsonl(lines, by="ann")
        assert (again.added, again.skipped) == (0, 4)


def test_current_state_follows_the_time_of_the_judgement_not_the_import_order(store):
    later = utcnow()
    store.judge("n1", "d1", "shortlisted", user="ann", at=later)
    old = store.history()[0].model_copy(update={"state": JudgementState.not_relevant, "at": later - timedelta(days=3)})
    store.import_jsonl([old.model_dump_json(exclude={"id"})], by="ann")
    assert store.current("n1", "d1").state == JudgementState.shortlisted


WRITER = """
import sys
from service.analyst import AnalystStore
store = AnalystStore(sys.argv[1])
i = 0
while True:
    row = store.judge("need-" + str(i % 7), "doc-" + str(i), "relevant" if i % 2 else "not_relevant", user="w", note="n" * (i % 50))
    print(row.id, flush=True)  # acknowledged only after the commit returned
    i += 1
"""


def test_kill_9_loses_no_committed_judgement(tmp_path):
    path = tmp_path / "analyst.sqlite"
    AnalystStore(path).close()  # schema first, so the writer starts writing at once
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(path)], stdout=subprocess.PIPE, text=True, env=env, cwd=ROOT)
    acknowledged: list[int] = []
    deadline = time.monotonic() + 60
    try:
        while len(acknowledged) < 150 and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            acknowledged.append(int(line))
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    assert len(acknowledged) >= 150, "the writer did not get going"
    with AnalystStore(path) as reopened:
        stored = {j.id for j in reopened.history()}
        audit = len(reopened.audit(limit=100_000))
    assert set(acknowledged) <= stored, f"lost: {sorted(set(acknowledged) - stored)[:5]}"
    assert audit >= len(acknowledged)  # each judgement's audit row is in the same transaction
    assert sqlite3.connect(path).execute("PRAGMA integrity_check").fetchone() == ("ok",)


def test_watchlist_baseline_news_and_report_section(store, library):
    wl = add_watchlist(store, library, "RAM", user="ann", query="radar absorbing")
    baseline = store.hits(wl.id)
    assert baseline and all(h.baseline for h in baseline)
    assert store.hits(wl.id, news_only=True) == []
    with pytest.raises(AnalystError, match="not a date"):
        add_watchlist(store, library, "bad", user="ann", query="radar", filters={"since": "yesterday"})
    with pytest.raises(AnalystError, match="unknown watchlist filter"):
        add_watchlist(store, library, "bad", user="ann", query="radar", filters={"colour": "red"})
    with pytest.raises(AnalystError, match="needs a query"):
        add_watchlist(store, library, "empty", user="ann")
    org = add_watchlist(store, library, "QuantNav", user="ann", filters={"org": "QuantNav"})
    assert org.kind == "organization" and store.hits(org.id)

    # A new document that the search finds becomes news, once.
    from tests.web.fakes import _doc

    grown = MemoryLibrary([*library.docs.values(),
                           _doc("startup", "rss", "new-ram", "New radar absorbing coating startup",
                                "A startup sells radar absorbing coatings for ships.", "en", ["Coatco"],
                                "2026-10-31", ["radar-absorbing-material"], new=True)])
    fresh = refresh(store, grown, wl)
    assert [h.title for h in fresh] == ["New radar absorbing coating startup"] and not fresh[0].baseline
    assert refresh(store, grown, wl) == []

    class Stub:  # only what attach_watchlist_news reads of a Report
        rebuilt = False
        since = utcnow() - timedelta(days=7)
        until = utcnow()
        watchlists: list = []

    report = Stub()
    attach_watchlist_news(report, grown, store)
    news = {w.watchlist.name: [h.title for h in w.hits] for w in report.watchlists}
    assert news == {"RAM": ["New radar absorbing coating startup"], "QuantNav": []}
    attach_watchlist_news(report, grown, store, watchlists=["QuantNav"])
    assert [w.watchlist.name for w in report.watchlists] == ["QuantNav"]


def test_brief_lists_shortlisted_with_evidence_notes_and_a_bom_csv(store, library):
    need = next(n for n in library.needs() if n.source == "atla")
    matches = library.match(need.id).matches
    org = library.match(need.id).organizations[0]
    store.judge(need.id, matches[1].doc_id, "shortlisted", user="ann", note="会う価値あり")
    store.judge(need.id, matches[0].doc_id, "relevant", user="ann")  # relevant is not shortlisted
    store.judge(need.id, org.key, "shortlisted", user="bob", target="organization", note="supplier visit")
    brief = build_brief(library, store, need.id)
    assert [t.id for t in brief.technologies] == [matches[1].doc_id]
    assert brief.technologies[0].doc_evidence and brief.technologies[0].score == pytest.approx(matches[1].score)
    assert [o.name for o in brief.organizations] == [org.name]
    data = brief_csv(brief)
    assert data.startswith(b"\xef\xbb\xbf")
    import csv, io

    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    assert [(r["type"], r["note"]) for r in rows] == [("organization", "supplier visit"), ("technology", "会う価値あり")]
    assert rows[1]["need_title"] == need.title and rows[1]["judged_by"] == "ann"
    store.judge(need.id, matches[1].doc_id, "shortlisted", user="ann", note='=HYPERLINK("http://evil","x")')
    rows = list(csv.DictReader(io.StringIO(brief_csv(build_brief(library, store, need.id)).decode("utf-8-sig"))))
    assert rows[1]["note"] == "'=HYPERLINK(\"http://evil\",\"x\")"  # text, not a formula


def test_the_brief_csv_gives_judgement_times_in_the_display_zone(store, library, monkeypatch):
    """The brief page and `scout brief` show "2026-12-07" and the need page "09:56 JST"; the CSV's judged_at
    had been UTC ("2026-12-07T00:56:49+00:00"), a different day for a judgement made before 09:00 in Tokyo."""
    import csv, io
    from datetime import datetime, timezone

    monkeypatch.setenv("SCOUT_REPORT_TIMEZONE", "Asia/Tokyo")
    need = next(n for n in library.needs() if n.source == "atla")
    doc = library.match(need.id).matches[0].doc_id
    store.judge(need.id, doc, "shortlisted", user="ann", at=datetime(2026, 12, 6, 23, 30, 5, tzinfo=timezone.utc))
    rows = list(csv.DictReader(io.StringIO(brief_csv(build_brief(library, store, need.id)).decode("utf-8-sig"))))
    assert rows[0]["judged_at"] == "2026-12-07T08:30:05+09:00"


def test_the_brief_quotes_japanese_evidence_in_japanese_with_a_labelled_english_gist(store, library):
    """The brief handed out at a matching meeting quoted a Japanese need's and a Japanese document's evidence in
    Japanese only. It keeps the Japanese (lang="ja") and gives the dictionary rendering beside each, labelled as
    a word-by-word gist; English evidence gets none. The CSV carries the gists in two columns of their own."""
    import csv, io
    from scout.web.brief_html import render_brief_html
    from service.evidence import RENDERING_LABEL

    need = next(n for n in library.needs() if n.source == "atla")  # a Japanese need
    matches = library.match(need.id).matches
    ja = next(m for m in matches if m.title.startswith("メタサーフェス"))
    en = next(m for m in matches if m.title.startswith("Broadband radar"))
    store.judge(need.id, ja.doc_id, "shortlisted", user="ann")
    store.judge(need.id, en.doc_id, "shortlisted", user="ann")
    brief = build_brief(library, store, need.id)
    items = {i.id: i for i in brief.technologies}
    ja_item, en_item = items[ja.doc_id], items[en.doc_id]
    assert ja_item.doc_evidence.startswith("本研究では") and ja_item.need_evidence_en and ja_item.doc_evidence_en
    assert ja_item.doc_evidence_en.isascii() and "design" in ja_item.doc_evidence_en
    assert en_item.doc_evidence_en == "" and en_item.need_evidence_en  # the need's side is Japanese
    html = render_brief_html(brief)
    assert f'<blockquote lang="ja">{ja_item.doc_evidence}</blockquote>' in html
    assert f'<p class="rendering" lang="en"><b>{RENDERING_LABEL}:</b> {ja_item.doc_evidence_en}</p>' in html
    assert html.count(RENDERING_LABEL) == 3  # two need sides and one document side: English has none
    rows = {r["id"]: r for r in csv.DictReader(io.StringIO(brief_csv(brief).decode("utf-8-sig")))}
    assert rows[ja.doc_id]["evidence_document_english_gist"] == ja_item.doc_evidence_en
    assert rows[en.doc_id]["evidence_document_english_gist"] == ""
    assert rows[en.doc_id]["evidence_need_english_gist"] == en_item.need_evidence_en


def test_a_shortlisted_organization_no_longer_among_the_needs_reads_by_its_name(store, library):
    """An organization shortlisted for a need and no longer among its organizations (a later crawl moved its
    documents down) was listed in the brief, the CLI's and the CSV's, by its key ("lockheed-martin"), the id a
    judgement keys on: it reads by its name, unscored ('no longer ranked')."""
    import csv, io

    need = next(n for n in library.needs() if n.source == "atla")
    assert "lockheed-martin" not in {o.key for o in library.match(need.id).organizations}
    store.judge(need.id, "lockheed-martin", "shortlisted", user="ann", target="organization")
    (item,) = build_brief(library, store, need.id).organizations
    assert (item.name, item.score) == ("Lockheed Martin", None)
    (row,) = csv.DictReader(io.StringIO(brief_csv(build_brief(library, store, need.id)).decode("utf-8-sig")))
    assert (row["name"], row["id"], row["score"]) == ("Lockheed Martin", "lockheed-martin", "")
    from scout.web.brief_html import render_brief_html

    assert "<td>Lockheed Martin</td><td class=\"num\" data-label=\"Score\">no longer ranked</td>" in render_brief_html(build_brief(library, store, need.id))


def test_a_shortlisted_document_no_longer_ranked_quotes_whole_sentences(store):
    """A document shortlisted for a need and no longer among its ranked matches showed, under "The document
    says", its text's first 300 characters, cut mid-word; it now shows whole sentences, chosen as a ranked
    match's evidence is (here it shares no word with the Japanese need: its first sentence)."""
    from domain.models import DocKind, Document
    from tests.web.fakes import fixture_documents

    sentence = "The company was founded in 2019 and keeps offices in three harbour cities across the region."
    far = Document.make(kind=DocKind.startup, source="prtimes", source_id="far-1", url="https://example.org/far-1",
                        title="Harbour logistics update", text=" ".join([sentence] * 5),
                        organizations=["Harbour Co."], language="en")
    library = MemoryLibrary([*fixture_documents(), far])
    need = next(n for n in library.needs() if n.source == "atla")
    assert far.id not in {m.doc_id for m in library.match(need.id, limit=200).matches}  # not ranked for it
    store.judge(need.id, far.id, "shortlisted", user="ann")
    (item,) = build_brief(library, store, need.id).technologies
    assert item.score is None and item.name == far.title
    assert item.doc_evidence == sentence
