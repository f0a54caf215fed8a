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


def add_users(*names: str) -> None:
    with open_analyst_store() as store:
        for name in names:
            store.add_user(name, "analyst")


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
    add_users("ann", "bob")
    matches = library.match(need.id).matches
    org = library.match(need.id).organizations[0]
    done = cli("judge", need.id, matches[0].doc_id, "shortlisted", "--note", "会いたい", "--user", "ann")
    assert done.exit_code == 0 and "shortlisted (by ann)" in done.output
    assert cli("judge", need.id, matches[1].doc_id, "not-relevant", "--user", "bob").exit_code == 0
    by_name = cli("judge", need.id, org.name, "relevant", "--org", "--user", "ann")
    assert by_name.exit_code == 0 and f"{org.name} (organization) for {need.title[:20]}" in by_name.output
    current = json.loads(cli("judgements", "list", need.id, "--json").stdout)
    assert {(j["target_id"], j["state"], j["user"]) for j in current} == {
        (matches[0].doc_id, "shortlisted", "ann"), (matches[1].doc_id, "not_relevant", "bob"), (org.key, "relevant", "ann")}
    assert cli("unjudge", need.id, matches[1].doc_id, "--user", "bob").exit_code == 0
    nothing = cli("unjudge", need.id, matches[1].doc_id)
    assert nothing.exit_code == 1 and "nothing to undo" in nothing.output and "has no judgement" in nothing.output
    history = json.loads(cli("judgements", "list", need.id, "--history", "--json").stdout)
    assert [h["state"] for h in history] == ["shortlisted", "not_relevant", "relevant", "undone"]
    with open_analyst_store() as store:
        assert store.feedback(need.id) == ([matches[0].doc_id], [])
    table = cli("judgements", "list", need.id).stdout
    assert "shortlisted" in table and "ann" in table
    # what was judged, by its title (issue 24: the history showed raw ids and no titles)
    assert matches[0].title[:20] in table and need.title[:20] in table
    # an organization by its name, as the need page shows it (it had read "metasurfacelabs (organization)"),
    # and ids as the screens show them, 8 characters
    assert org.name != org.key and f"{org.name} (organization)" in table
    assert need.id[:8] in table and need.id[:9] not in table
    audit = cli("audit").stdout
    assert f"{org.name} (organization)" in audit and matches[0].title[:15] in audit
    assert "not relevant" in audit and "not_relevant" not in audit


def test_a_document_is_judged_and_unjudged_by_the_id_prefix_scout_match_shows(cli, library, need):
    """`scout match` prints a match's id cut to 8 characters; judge and unjudge take that prefix (as they take
    a need's), an ambiguous or unknown one is one clean line, and a prefix shorter than 4 never matches."""
    matches = library.match(need.id).matches
    shown = cli("match", need.id).stdout
    assert all(m.doc_id[:8] in shown for m in matches)
    done = cli("judge", need.id, matches[0].doc_id[:8], "shortlisted")
    assert done.exit_code == 0, done.output
    # named as the other commands name it: its title and 8-character id, for the need's title (it had echoed
    # "document <the whole id>")
    said = " ".join(done.output.split())
    assert f"{matches[0].title[:30]}" in said and f"({matches[0].doc_id[:8]}) for " in said
    assert need.title[:20] in said and "shortlisted" in said and matches[0].doc_id not in done.output
    too_short = cli("judge", need.id, matches[0].doc_id[:3], "relevant")
    assert too_short.exit_code == 1 and "unknown document id" in too_short.output
    undone = cli("unjudge", need.id, matches[0].doc_id[:8])
    assert undone.exit_code == 0
    assert f"({need.id[:8]}): undid shortlisted, no judgement now" in " ".join(undone.output.split())
    assert matches[0].title[:30] in " ".join(undone.output.split()) and matches[0].doc_id not in undone.output
    again = cli("unjudge", need.id, matches[0].doc_id[:8])
    assert again.exit_code == 1 and "has no judgement" in again.output and "Traceback" not in again.output


def test_unjudge_puts_the_judgement_before_back_and_again_the_one_before(cli, library, need):
    """`scout unjudge` after shortlisted, then not relevant: the match was left with no judgement (out of the
    brief and the shortlist); now it is shortlisted again, as `scout judgements list` and `scout brief` showed
    before the second judgement, and a second unjudge goes back to none, as never judged."""
    add_users("ann", "bob")
    doc = library.match(need.id).matches[1]

    def seen() -> tuple[str, str, str]:
        listed = cli("judgements", "list", need.id)
        brief = cli("brief", need.id)
        shown = cli("match", need.id)
        assert listed.exit_code == brief.exit_code == shown.exit_code == 0, (listed.output, brief.output)
        return listed.stdout, brief.stdout, shown.stdout

    never = seen()
    assert cli("judge", need.id, doc.doc_id[:8], "shortlisted", "--note", "met them at DSEI", "--user", "ann").exit_code == 0
    shortlisted = seen()
    assert "met them at DSEI" in shortlisted[1]
    assert cli("judge", need.id, doc.doc_id[:8], "not-relevant", "--user", "bob").exit_code == 0
    assert "met them at DSEI" not in seen()[1]
    undone = cli("unjudge", need.id, doc.doc_id[:8], "--user", "bob")
    assert undone.exit_code == 0 and seen() == shortlisted
    said = " ".join(undone.output.split())
    assert "undid not relevant, back to shortlisted (as ann judged it" in said and "met them at DSEI" in said, said
    again = cli("unjudge", need.id, doc.doc_id[:8], "--user", "bob")
    assert again.exit_code == 0 and "undid shortlisted, no judgement now" in " ".join(again.output.split())
    assert seen() == never
    nothing = cli("unjudge", need.id, doc.doc_id[:8], "--user", "bob")
    assert nothing.exit_code == 1 and "Traceback" not in nothing.output
    assert " ".join(nothing.output.split()).startswith(f"error: nothing to undo: {doc.doc_id[:8]} has no judgement")
    history = " ".join(cli("judgements", "list", need.id, "--history").stdout.split())
    assert "undid not relevant, back to shortlisted" in history and "undid shortlisted, no judgement now" in history


def test_an_ambiguous_document_prefix_is_one_clean_line(capsys):
    import typer

    from scout.commands.analyst import _one_prefixed

    ids = ["abcd1234-0000", "abcd5678-0000", "ffff0000-0000"]
    assert _one_prefixed("abcd1", ids, "unknown") == "abcd1234-0000"
    for prefix, message in (("abcd", "ambiguous document id 'abcd': 2 documents start with it"),
                            ("abc", "unknown"), ("0000", "unknown")):
        with pytest.raises(typer.Exit):
            _one_prefixed(prefix, ids, "unknown")
        assert message in capsys.readouterr().err


def test_judging_unknown_ids_is_one_clean_line(cli, need, payload_doc):
    for args, message in ((["nope", payload_doc.id, "relevant"], "unknown need id 'nope'"),
                          ([need.id, "nope", "relevant"], "unknown document id 'nope'"),
                          ([need.id, "Nobody Inc", "relevant", "--org"], "no organization called 'Nobody Inc'")):
        result = cli("judge", *args)
        assert result.exit_code == 1 and message in result.output and "Traceback" not in result.output
    assert cli("judge", need.id, payload_doc.id, "maybe").exit_code == 2


def test_export_import_round_trip(cli, library, need, tmp_path, monkeypatch):
    add_users("ann")
    doc = library.match(need.id).matches[0].doc_id
    cli("judge", need.id, doc, "relevant", "--note", "メモ", "--user", "ann")
    cli("judge", need.id, doc, "shortlisted", "--user", "ann")
    exported = cli("judgements", "export")
    lines = exported.stdout.splitlines()
    assert exported.exit_code == 0 and len(lines) == 2 and json.loads(lines[0])["note"] == "メモ"
    path = tmp_path / "j.jsonl"
    assert cli("judgements", "export", "-o", str(path)).exit_code == 0
    assert path.read_text(encoding="utf-8").splitlines() == lines
    assert oct(path.stat().st_mode & 0o777) == "0o600"  # notes and names stay private

    monkeypatch.setenv("SCOUT_HOME", str(tmp_path / "elsewhere"))  # a second installation
    good = path.read_text(encoding="utf-8")
    path.write_text(good + "{broken\n", encoding="utf-8")
    refused = cli("judgements", "import", str(path))
    assert refused.exit_code == 1 and "line 3" in refused.output and "nothing imported" in refused.output
    assert cli("judgements", "export").stdout == ""  # not half of it
    path.write_text(good, encoding="utf-8")
    unknown_user = cli("judgements", "import", str(path))
    assert unknown_user.exit_code == 1 and "user 'ann' is not a user here" in unknown_user.output
    add_users("ann")
    imported = cli("judgements", "import", str(path))
    assert imported.exit_code == 0 and "2 added, 0 already here" in imported.output
    assert cli("judgements", "export").stdout.splitlines() == lines
    assert "0 added, 2 already here" in cli("judgements", "import", str(path)).output
    missing = cli("judgements", "import", str(tmp_path / "none.jsonl"))
    assert missing.exit_code == 1 and "cannot read" in missing.output


def test_watch_add_list_hits_remove(cli, library):
    add_users("ann")
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
    # the table lists them best first, each with the score and label the page and the API show
    table = cli("watch", "hits", "1").stdout
    shown = [f"{h['score']:.3f} {h['label']}" for h in hits]
    assert shown and all(s in table for s in shown)
    assert [table.index(h["doc_id"][:8]) for h in hits] == sorted(table.index(h["doc_id"][:8]) for h in hits)
    assert not any(h["doc_id"][:9] in table for h in hits)  # ids as every table shows them: 8 characters
    assert [h["score"] for h in hits] == sorted((h["score"] for h in hits), reverse=True)
    assert cli("watch", "remove", "1").exit_code == 0
    assert cli("watch", "remove", "1").exit_code == 1
    actions = [e["action"] for e in json.loads(cli("audit", "--json").stdout)]
    assert actions[:3] == ["watchlist.remove", "watchlist.add", "watchlist.add"]


def test_brief_csv_and_html(cli, library, need, tmp_path):
    doc = library.match(need.id).matches[2]
    empty = cli("brief", need.id)
    assert empty.exit_code == 0 and "Nothing is shortlisted" in empty.output
    add_users("ann")
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


def _good_row(library, need, **changes) -> str:
    doc = library.match(need.id).matches[0].doc_id
    row = {"need_id": need.id, "target": "document", "target_id": doc, "state": "not_relevant", "note": "",
           "user": "ann", "at": "2026-01-02T03:04:05+00:00", **changes}
    return json.dumps(row)  # a note "\ud800" stays the JSON escape it is in a crafted file


def test_an_import_obeys_every_rule_of_a_live_judgement_or_stores_nothing(cli, library, need, payload_doc, tmp_path):
    add_users("ann")
    good = _good_row(library, need)
    bad = {
        "in the future": _good_row(library, need, at="2999-01-01T00:00:00+00:00"),
        "4,000": _good_row(library, need, note="x" * 1_000_000),
        "NUL": _good_row(library, need, note="a\x00b"),
        "unknown need id": _good_row(library, need, need_id="nope"),
        "unknown document id": _good_row(library, need, target_id="nope"),
        "no organization called": _good_row(library, need, target="organization", target_id="Nobody Inc"),
        "not a user here": _good_row(library, need, user="mallory"),
        "user name": _good_row(library, need, user="<script>"),
        "Invalid JSON": _good_row(library, need, note="\ud800"),  # pydantic refuses a lone surrogate itself
    }
    path = tmp_path / "in.jsonl"
    for reason, row in bad.items():
        path.write_text(f"{good}\n{row}\n{good.replace('not_relevant', 'relevant')}\n", encoding="utf-8")
        result = cli("judgements", "import", str(path))
        assert result.exit_code == 1 and "Traceback" not in result.output, (reason, result.output)
        assert "line 2:" in result.output and reason in result.output, (reason, result.output)
        with open_analyst_store() as store:
            assert store.history() == [], reason  # nothing stored half-way
    # the pinned-match case from the issue: a later live judgement wins over an imported one
    path.write_text(good + "\n", encoding="utf-8")
    assert cli("judgements", "import", str(path)).exit_code == 0
    assert cli("judge", need.id, json.loads(good)["target_id"], "shortlisted", "--user", "ann").exit_code == 0
    with open_analyst_store() as store:
        assert store.current(need.id, json.loads(good)["target_id"]).state.value == "shortlisted"


def test_lone_surrogates_and_oversized_args_are_one_clean_line(cli, library, need):
    doc = library.match(need.id).matches[0].doc_id
    # what the shell's $'\xed\xa0\x80' becomes in sys.argv (surrogateescape), and an unpaired escape
    for note in ("\udced\udca0\udc80", "ok \ud800", "x" * 5000):
        result = cli("judge", need.id, doc, "relevant", "--note", note)
        assert result.exit_code == 1 and "Traceback" not in result.output, result.output
        assert len(result.output.strip().splitlines()) == 1, result.output
        assert "lone surrogate" in result.output or "the limit is 4,000" in result.output
    big = cli("watch", "add", "big", "--query", "radar " * 200_000)
    assert big.exit_code == 1 and "the limit is 4,000" in big.output and len(big.output.splitlines()) == 1
    with open_analyst_store() as store:
        assert store.history() == [] and store.watchlists() == []


def test_user_names_are_unique_whatever_their_case_and_the_actor_must_exist(cli, library, need):
    import getpass

    assert cli("users", "add", "ann").exit_code == 0
    upper = cli("users", "add", "ANN")
    assert upper.exit_code == 1 and "exists" in upper.output
    doc = library.match(need.id).matches[0].doc_id
    stranger = cli("judge", need.id, doc, "relevant", "--user", "the-boss")
    assert stranger.exit_code == 1 and "'the-boss' is not a user here" in stranger.output
    assert cli("judge", need.id, doc, "relevant", "--user", "ANN").exit_code == 0  # the same user, any case
    assert cli("judge", need.id, doc, "shortlisted").exit_code == 0  # no --user: the login name
    with open_analyst_store() as store:
        assert [j.user for j in store.history()] == ["ann", getpass.getuser()]
        assert [u.name for u in store.users()] == ["ann"]


def test_usage_errors_are_one_line(cli):
    for args in (["judge", "--bogus"], ["users", "add", "x", "--role", "admin"], ["search"], ["nosuch"]):
        result = cli(*args)
        assert result.exit_code == 2, (args, result.output)
        lines = result.output.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error:") and "--help" in lines[0], (args, result.output)


def test_a_search_past_the_query_bound_is_one_line_naming_the_bound(cli):
    result = cli("search", "radar " * 200_000)  # 1.2 MB
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert result.output.strip() == "error: the query has 1,200,000 characters; the limit is 4,000"


def test_a_login_name_outside_the_user_name_characters_still_judges(cli, library, need, monkeypatch):
    import getpass

    monkeypatch.setattr(getpass, "getuser", lambda: "CORP\\jane doe$")
    doc = library.match(need.id).matches[0].doc_id
    assert cli("judge", need.id, doc, "relevant").exit_code == 0
    with open_analyst_store() as store:
        assert [j.user for j in store.history()] == ["CORP_jane_doe_"]


def test_the_audit_log_says_what_was_done_in_words(cli, library, need):
    """`scout audit` had printed "judgement.clear" and "state: cleared" for an undo (and "judgement.set",
    "state: shortlisted" for a judgement): each row says what the person did, in words, as /audit does; the
    JSON keeps the stored action."""
    add_users("ann")
    doc = library.match(need.id).matches[0].doc_id
    assert cli("judge", need.id, doc, "not-relevant", "--note", "wrong band", "--user", "ann").exit_code == 0
    assert cli("unjudge", need.id, doc, "--user", "ann").exit_code == 0
    assert cli("watch", "add", "RAM", "--query", "radar absorbing", "--user", "ann").exit_code == 0
    shown = " ".join(cli("audit").stdout.split())
    for code in ("judgement.set", "judgement.undo", "watchlist.add", "cleared", "state:", "undid:", "back_to"):
        assert code not in shown, (code, shown)
    assert "judged not relevant" in shown and "note: wrong band" in shown
    assert "undid not relevant, no judgement now" in shown and "saved a watchlist" in shown
    assert [e["action"] for e in json.loads(cli("audit", "--json").stdout)][:3] == [
        "watchlist.add", "judgement.undo", "judgement.set"]
    history = " ".join(cli("judgements", "list", need.id, "--history").stdout.split())
    assert "cleared" not in history and "undid not relevant, no judgement now" in history


def test_watch_add_takes_concepts_and_areas_by_the_labels_the_pages_show(cli):
    """`scout search`'s facets and the pages name a concept or an area by its label: `scout watch add` takes
    that label (or the id) and stores the id; an unknown one is a one-line error and saves nothing."""
    added = cli("watch", "add", "Q", "--concept", "Quantum sensing", "--area", "Hypersonics (Japan)")
    assert added.exit_code == 0, added.output
    assert cli("watch", "add", "M", "--area", "jp-materials").exit_code == 0
    lists = json.loads(cli("watch", "list", "--json").stdout)
    assert [w["filters"] for w in lists] == [{"concept": "quantum-sensing", "area": "jp-hypersonics"},
                                             {"area": "jp-materials"}]
    for option, value, says in (("--concept", "warp drive", "no concept is named 'warp drive'"),
                                ("--area", "hypersonics", "choose Hypersonics (Japan) or Hypersonics (US)")):
        bad = cli("watch", "add", "bad", option, value)
        assert bad.exit_code == 1 and says in bad.output and "Traceback" not in bad.output
        assert len(bad.output.strip().splitlines()) == 1, bad.output
    assert len(json.loads(cli("watch", "list", "--json").stdout)) == 2


def test_the_audit_log_shows_a_watchlists_filters_as_text_not_a_dict(cli):
    """`scout audit` and /audit had shown "filters={'kind': 'startup'}": the filters read as kind=startup."""
    from service.analyst import AuditEntry

    add_users("ann")
    assert cli("watch", "add", "RAM", "--query", "radar absorbing", "--kind", "startup", "--since", "2025",
               "--user", "ann").exit_code == 0
    entry = AuditEntry.model_validate(json.loads(cli("audit", "--json").stdout)[0])
    assert entry.detail["filters"] == {"kind": "startup", "since": "2025"}
    assert dict(entry.shown_detail())["filters"] == "kind=startup, since=2025"
    shown = cli("audit").stdout
    assert "{" not in shown and "'kind'" not in shown, shown


def test_watch_list_and_the_audit_log_name_filters_as_the_pages_do(cli, library):
    """`scout watch list` and `scout audit` had shown a watchlist's filters as it stores them
    ("org=lockheedmartin", "area=jp-quantum"): they show the organization's name and the concept's and the
    area's labels; --json keeps the stored key and ids, and a key or an id is still accepted as input."""
    from nlp.taxonomy import configured_taxonomy

    add_users("ann")
    profile = library.organization("Lockheed Martin")
    assert profile.name != profile.key
    assert cli("watch", "add", "L", "--org", profile.key, "--user", "ann").exit_code == 0
    assert cli("watch", "add", "Q", "--concept", "quantum-sensing", "--area", "jp-quantum",
               "--user", "ann").exit_code == 0
    assert [w["filters"] for w in json.loads(cli("watch", "list", "--json").stdout)] == [
        {"org": profile.key}, {"concept": "quantum-sensing", "area": "jp-quantum"}]
    area = configured_taxonomy().area_labels["jp-quantum"]
    listed = " ".join(cli("watch", "list").stdout.split())
    for says in (f"org: {profile.name}", "concept: quantum sensing", f"area: {' '.join(area.split())}"):
        assert says in listed, listed
    assert profile.key not in listed and "jp-quantum" not in listed and "quantum-sensing" not in listed
    audit = " ".join(cli("audit").stdout.split())
    assert f"org={profile.name}" in audit and f"concept=quantum sensing, area={area}" in audit, audit
    assert profile.key not in audit and "jp-quantum" not in audit
    stored = [e["detail"]["filters"] for e in json.loads(cli("audit", "--json").stdout) if e["action"] == "watchlist.add"]
    assert stored == [{"concept": "quantum-sensing", "area": "jp-quantum"}, {"org": profile.key}]


def test_the_audit_log_names_a_watchlist_whose_hit_was_judged(cli):
    """`scout audit` had shown "watchlist:1" where a watchlist's hit was judged: it shows the watchlist's name."""
    add_users("ann")
    assert cli("watch", "add", "Absorber watch", "--query", "radar absorbing", "--user", "ann").exit_code == 0
    from service.analyst import watchlist_key

    with open_analyst_store() as store:  # as /watchlists' judge form records it (the CLI has no such command)
        wl = store.watchlists()[0]
        store.judge(watchlist_key(wl.id), store.hits(wl.id)[0].doc_id, "relevant", user="ann")
    shown = " ".join(cli("audit").stdout.split())
    assert "watchlist Absorber watch" in shown and f"watchlist:{wl.id}" not in shown, shown


def test_tables_show_brackets_as_written_and_mark_what_they_cut(cli, library, need):
    """A note or a title in brackets lost them in every analyst table ("check the [draft] terms" read "check
    the  terms": rich read them as markup), a "[/x]" stopped the command, and a title cut to the column read as
    a whole title ("... on Call Detail Records by"): brackets now show as written, and a cut ends in "…"."""
    add_users("ann")
    doc = next(m for m in library.match(need.id, limit=50).matches if len(m.title) > 60)  # the lists cut at 60
    note = "check the [draft] terms [/x] first"
    assert cli("judge", need.id, doc.doc_id, "shortlisted", "--note", note, "--user", "ann").exit_code == 0
    for args in (("judgements", "list", need.id), ("judgements", "list", need.id, "--history"), ("audit",),
                 ("brief", need.id)):
        result = cli(*args)
        assert result.exit_code == 0, (args, result.output)
        flat = "".join(result.stdout.split())
        assert "checkthe[draft]terms[/x]first" in flat, args
        if len(doc.title) > (70 if args[0] == "brief" else 60):  # the brief's name column is 70 wide
            assert doc.title.replace(" ", "") not in flat and "…" in result.stdout, args  # cut, and marked so
