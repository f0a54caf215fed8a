"""`scout users`, `judge`/`unjudge`, `judgements`, `watch`, `brief` and `audit` through CliRunner, against the
in-memory library and the real SQLite store in this test's SCOUT_HOME."""

from __future__ import annotations

import csv
import io
import json

import pytest

from service.analyst import open_analyst_store


@pytest.fixture
def payload_doc(library):
    return next(d for d in library.docs.values() if d.source_id == "payload-1")


@pytest.fixture
def need(library):
    return next(n for n in library.needs() if n.source == "atla")


def test_users_add_list_remove(cli):
    added = cli("users", "add", "ann", "--role", "viewer")
    assert added.exit_code == 0, added.output
    token = next(line for line in added.stdout.splitlines() if line.startswith("scout_"))
    assert "first user" in added.stdout and "http://127.0.0.1:8700/?token=" in added.stdout
    assert "first user" not in cli("users", "add", "bob").stdout
    with open_analyst_store() as store:
        assert store.user_for_token(token).role.value == "viewer"
    listed = json.loads(cli("users", "list", "--json").stdout)
    assert [(u["name"], u["role"]) for u in listed] == [("ann", "viewer"), ("bob", "analyst")]
    assert token not in cli("users", "list").stdout
    again = cli("users", "add", "ann")
    assert again.exit_code == 1 and "exists" in again.output and "Traceback" not in again.output
    bad = cli("users", "add", "ann", "--role", "admin")
    assert bad.exit_code == 2
    assert cli("users", "remove", "ann").exit_code == 0
    gone = cli("users", "remove", "ann")
    assert gone.exit_code == 1 and "no user called 'ann'" in gone.output


def test_judge_list_unjudge_and_history(cli, library, need):
    matches = library.match(need.id).matches
    org = library.match(need.id).organizations[0]
    done = cli("judge", need.id, matches[0].doc_id, "shortlisted", "--note", "会いたい", "--user", "ann")
    assert done.exit_code == 0 and "shortlisted (by ann)" in done.output
    assert cli("judge", need.id, matches[1].doc_id, "not-relevant", "--user", "bob").exit_code == 0
    by_name = cli("judge", need.id, org.name, "relevant", "--org", "--user", "ann")
    assert by_name.exit_code == 0 and f"organization {org.key}" in by_name.output  # a name becomes the key
    current = json.loads(cli("judgements", "list", need.id, "--json").stdout)
    assert {(j["target_id"], j["state"], j["user"]) for j in current} == {
        (matches[0].doc_id, "shortlisted", "ann"), (matches[1].doc_id, "not_relevant", "bob"), (org.key, "relevant", "ann")}
    assert cli("unjudge", need.id, matches[1].doc_id, "--user", "bob").exit_code == 0
    nothing = cli("unjudge", need.id, matches[1].doc_id)
    assert nothing.exit_code == 1 and "has no judgement" in nothing.output
    history = json.loads(cli("judgements", "list", need.id, "--history", "--json").stdout)
    assert [h["state"] for h in history] == ["shortlisted", "not_relevant", "relevant", "cleared"]
    with open_analyst_store() as store:
        assert store.feedback(need.id) == ([matches[0].doc_id], [])
    table = cli("judgements", "list", need.id).stdout
    assert "shortlisted" in table and "ann" in table


def test_judging_unknown_ids_is_one_clean_line(cli, need, payload_doc):
    for args, message in ((["nope", payload_doc.id, "relevant"], "unknown need id 'nope'"),
                          ([need.id, "nope", "relevant"], "unknown document id 'nope'"),
                          ([need.id, "Nobody Inc", "relevant", "--org"], "no organization called 'Nobody Inc'")):
        result = cli("judge", *args)
        assert result.exit_code == 1 and message in result.output and "Traceback" not in result.output
    assert cli("judge", need.id, payload_doc.id, "maybe").exit_code == 2


def test_export_import_round_trip(cli, library, need, tmp_path, monkeypatch):
    doc = library.match(need.id).matches[0].doc_id
    cli("judge", need.id, doc, "relevant", "--note", "メモ", "--user", "ann")
    cli("judge", need.id, doc, "shortlisted", "--user", "ann")
    exported = cli("judgements", "export")
    lines = exported.stdout.splitlines()
    assert exported.exit_code == 0 and len(lines) == 2 and json.loads(lines[0])["note"] == "メモ"
    path = tmp_path / "j.jsonl"
    assert cli("judgements", "export", "-o", str(path)).exit_code == 0
    assert path.read_text(encoding="utf-8").splitlines() == lines

    monkeypatch.setenv("SCOUT_HOME", str(tmp_path / "elsewhere"))  # a second installation
    path.write_text(path.read_text(encoding="utf-8") + "{broken\n", encoding="utf-8")
    imported = cli("judgements", "import", str(path))
    assert imported.exit_code == 0 and "2 added, 0 already here, 1 rejected" in imported.output
    assert "line 3" in imported.output
    assert cli("judgements", "export").stdout.splitlines() == lines
    assert "0 added, 2 already here" in cli("judgements", "import", str(path)).output
    missing = cli("judgements", "import", str(tmp_path / "none.jsonl"))
    assert missing.exit_code == 1 and "cannot read" in missing.output


def test_watch_add_list_hits_remove(cli, library):
    added = cli("watch", "add", "RAM", "--query", "radar absorbing", "--kind", "startup", "--user", "ann")
    assert added.exit_code == 0, added.output
    assert "/feeds/watchlists/1.atom" in added.output
    assert cli("watch", "add", "Q", "--concept", "quantum-sensing").exit_code == 0
    bad = cli("watch", "add", "bad", "--query", "x", "--since", "soon")
    assert bad.exit_code == 1 and "not a date" in bad.output
    lists = json.loads(cli("watch", "list", "--json").stdout)
    assert [(w["name"], w["kind"]) for w in lists] == [("RAM", "search"), ("Q", "concept")]
    hits = json.loads(cli("watch", "hits", "1", "--json").stdout)
    expected = [h.doc_id for h in library.search("radar absorbing", limit=50).hits if h.kind.value == "startup"]
    assert sorted(h["doc_id"] for h in hits) == sorted(expected) and all(h["baseline"] for h in hits)
    assert json.loads(cli("watch", "hits", "1", "--news", "--json").stdout) == []
    assert cli("watch", "remove", "1").exit_code == 0
    assert cli("watch", "remove", "1").exit_code == 1
    actions = [e["action"] for e in json.loads(cli("audit", "--json").stdout)]
    assert actions == ["watchlist.remove", "watchlist.add", "watchlist.add"]


def test_brief_csv_and_html(cli, library, need, tmp_path):
    doc = library.match(need.id).matches[2]
    empty = cli("brief", need.id)
    assert empty.exit_code == 0 and "Nothing is shortlisted" in empty.output
    cli("judge", need.id, doc.doc_id, "shortlisted", "--note", "industry day", "--user", "ann")
    out_csv, out_html = tmp_path / "b.csv", tmp_path / "b.html"
    result = cli("brief", need.id, "--csv", str(out_csv), "--html", str(out_html))
    assert result.exit_code == 0, result.output
    data = out_csv.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    assert [(r["name"], r["note"], r["judged_by"]) for r in rows] == [(doc.title, "industry day", "ann")]
    html = out_html.read_text(encoding="utf-8")
    assert "@page { size: A4" in html and "industry day" in html and need.title in html
    assert "/static/" not in html  # stands alone
    unknown = cli("brief", "nope")
    assert unknown.exit_code == 1 and "unknown need id" in unknown.output
