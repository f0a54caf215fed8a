"""`scout search/needs/match/org/export` through typer's CliRunner over the in-memory library."""

from __future__ import annotations

import csv
import io
import json
import sys
import types
from datetime import date, datetime

import pytest

from service.library import OrgProfile, SearchResult
from domain.models import Document, Match, NeedMatches, SearchFilters
from tests.web.fakes import MemoryLibrary, fixture_documents


def _json(result):
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_search_json_is_the_library_result(cli, library):
    data = _json(cli("search", "radar absorbing metamaterial", "--json"))
    parsed = SearchResult.model_validate(data)
    assert parsed.hits, "a query that names fixture concepts finds something"
    assert data == library.search("radar absorbing metamaterial").model_dump(mode="json")
    assert set(data) == {"query", "hits", "facets", "facet_hits", "term_glosses"}
    assert {"doc_id", "score", "title", "url", "kind", "source", "language", "organizations", "concepts",
            "published", "evidence"} <= set(data["hits"][0])
    scores = [h["score"] for h in data["hits"]]
    assert scores == sorted(scores, reverse=True)


def test_search_filters_reach_the_library(cli):
    data = _json(cli("search", "radar absorbing metamaterial", "--kind", "research", "--lang", "ja", "--json"))
    assert data["hits"], "the Japanese research paper on radar absorbers is in the fixture"
    assert all(h["kind"] == "research" and h["language"] == "ja" for h in data["hits"])
    data = _json(cli("search", "quantum magnetometer navigation", "--since", "2026", "--until", "2026-06", "--json"))
    days = [datetime.fromisoformat(h["published"]).date() for h in data["hits"]]
    assert days and all(date(2026, 1, 1) <= d <= date(2026, 6, 30) for d in days)
    data = _json(cli("search", "radar", "--concept", "metamaterial", "--source", "rss", "--limit", "1", "--json"))
    assert len(data["hits"]) == 1
    assert data["hits"][0]["source"] == "rss" and "metamaterial" in data["hits"][0]["concepts"]


def test_search_table_shows_titles_and_score_bars(cli):
    result = cli("search", "電波吸収材")
    assert result.exit_code == 0, result.output
    assert "メタサーフェスを用いた広帯域電波吸収体の設計" in result.stdout
    assert "█" in result.stdout


def test_browsing_by_filters_shows_no_score(cli, library):
    """A blank query lists documents newest first, as the search page does: no "0.000 weak" beside each."""
    result = cli("search", "", "--kind", "research")
    assert result.exit_code == 0, result.output
    hits = library.search("", SearchFilters(kind="research")).hits
    assert hits and hits[0].title[:20] in result.stdout
    assert "newest first" in result.stdout
    assert "0.000" not in result.stdout and "weak" not in result.stdout and "█" not in result.stdout


def test_search_prints_rich_markup_in_crawled_text_literally(cli):
    doc = Document.make(kind="startup", source="rss", source_id="markup", url="https://example.org/m",
                        title="[bold red]Loud[/] radar absorbing film", text="radar absorbing film", language="en")
    result = cli("search", "radar absorbing film", lib=MemoryLibrary([*fixture_documents(), doc]))
    assert result.exit_code == 0, result.output
    assert "[bold red]Loud[/]" in result.stdout


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["--since", "last tuesday"], "not a date"),
        (["--until", "2026-13"], "not a date"),
        (["--since", "2026-05", "--until", "2025"], "is after"),
        (["--kind", "patent"], "patent"),
    ],
)
def test_search_bad_input_is_a_one_line_error(cli, args, fragment):
    result = cli("search", "radar", *args)
    assert result.exit_code == 2
    assert fragment in result.output
    assert "Traceback" not in result.output


def test_needs_lists_only_needs(cli, library):
    data = _json(cli("needs", "--json"))
    assert [Document.model_validate(d).id for d in data] == [d.id for d in library.needs()]
    assert data and all(d["kind"] == "need" for d in data)
    table = cli("needs")
    assert table.exit_code == 0 and "電波吸収材を用いた艦艇の低被探知化技術" in table.stdout
    # ids as every other table prints them, 8 characters (commands take the prefix)
    assert all(d["id"][:8] in table.stdout and d["id"][:9] not in table.stdout for d in data)
    # the help says the order the list has (it had said "newest first" of a list by source, then title)
    assert [(d["source"], d["title"]) for d in data] == sorted((d["source"], d["title"]) for d in data)
    assert "by source, then title" in " ".join(cli("needs", "--help").stdout.split())


def test_match_json_and_table(cli, library):
    need = next(d for d in library.needs() if d.source == "diu")
    data = _json(cli("match", need.id, "--limit", "3", "--json"))
    parsed = NeedMatches.model_validate(data)
    assert parsed.need.id == need.id
    assert 0 < len(parsed.matches) <= 3
    assert [m.rank for m in parsed.matches] == list(range(1, len(parsed.matches) + 1))
    table = cli("match", need.id)
    assert table.exit_code == 0, table.output
    assert "known supplier" in table.stdout  # Lockheed Martin answers the DIU need
    assert "new entrant" in table.stdout
    top = parsed.matches[0]  # its score with its label, and its parts, signed: the web page's figures
    assert f"{top.score:.3f} {top.label}" in table.stdout and data["matches"][0]["label"] == top.label
    assert f"dense {top.breakdown.dense:+.3f}" in table.stdout


def test_export_csv_carries_the_score_its_label_and_its_parts(cli, library):
    rows = list(csv.DictReader(io.StringIO(cli("export", "matches", "--format", "csv").stdout.lstrip("\ufeff"))))
    by_key = {(m.need_id, m.doc_id): m for m in library.all_matches(limit_per_need=20)}
    assert rows and len(rows) == len(by_key)
    for row in rows:
        m = by_key[(row["need_id"], row["doc_id"])]
        assert float(row["score"]) == pytest.approx(m.score) and row["label"] == m.label
        parts = ["dense", "sparse", "multilingual", "generic", "generic_lexical", "concept", "recency", "kind_score",
                 "feedback", "clipped"]
        assert sum(float(row[p]) for p in parts) == pytest.approx(m.score, abs=1e-3)


@pytest.mark.parametrize("need_id", ["no-such-need", None])
def test_match_unknown_need_is_a_clean_error(cli, library, need_id):
    # A document that is not a need is as unknown as a made-up id.
    need_id = need_id or next(d.id for d in library.docs.values() if d.kind != "need")
    result = cli("match", need_id)
    assert result.exit_code == 2
    assert "unknown need id" in result.output
    assert "Traceback" not in result.output


def test_org_profile(cli):
    data = _json(cli("org", "Lockheed Martin", "--json"))
    profile = OrgProfile.model_validate(data)
    assert profile.known_supplier and profile.documents and profile.needs
    result = cli("org", "株式会社メタテック")
    assert result.exit_code == 0 and "new entrant" in result.stdout
    # its needs by title and the 8-character id every table shows (the whole id squeezed the titles)
    table = cli("org", "Lockheed Martin").stdout
    assert all(n.key[:8] in table and n.key not in table for n in profile.needs)
    missing = cli("org", "Nobody Ltd")
    assert missing.exit_code == 1 and "no organization" in missing.output


def test_search_names_facet_values_as_the_search_page_does(cli):
    """Concepts and areas by their labels (the ids --concept and --area take beside them where they are not
    the label with hyphens), term facets under the page's names: the CLI had printed bare ids."""
    from nlp.taxonomy import configured_taxonomy

    class WithTerms(MemoryLibrary):
        def search(self, *args, **kwargs):
            result = super().search(*args, **kwargs)
            return result.model_copy(update={"facets": {**result.facets, "method": {"メタサーフェス": 2}}})

    out = " ".join(cli("search", "radar absorbing film", lib=WithTerms()).stdout.split())
    assert "concept: radar absorbing material 6 · metamaterial 5" in out, out
    assert "radar-absorbing-material" not in out
    label = configured_taxonomy().area_labels["jp-materials"]
    assert label != "jp-materials" and f"area: {label} (jp-materials) 6" in out, out
    assert "technology / method: メタサーフェス 2" in out and "method: メタサーフェス" not in out.replace(
        "technology / method: メタサーフェス", "")


def test_a_publication_day_is_the_one_the_pages_show(cli, monkeypatch):
    """A document published at 17:00 UTC on 7 January was published on 8 January in Tokyo: `scout search`,
    `match` and `org` name the day in the display zone (SCOUT_REPORT_TIMEZONE), as the pages and the mail do;
    they had shown the UTC day beside a page that showed the Tokyo one."""
    from datetime import datetime, timezone

    from domain.times import shown_day

    monkeypatch.setenv("SCOUT_REPORT_TIMEZONE", "Asia/Tokyo")
    lib = MemoryLibrary()
    doc = next(d for d in lib.docs.values() if d.kind != "need" and d.organizations)
    doc.published = datetime(2025, 1, 7, 17, 0, tzinfo=timezone.utc)
    assert shown_day(doc.published) == "2025-01-08"
    found = cli("search", doc.title, lib=lib).stdout
    assert "2025-01-08" in found and "2025-01-07" not in found
    shown = cli("org", doc.organizations[0], lib=lib).stdout
    assert "2025-01-08" in shown and "2025-01-07" not in shown


def test_org_says_its_needs_are_scored_as_the_last_match_run_found_them(cli):
    """`scout org` reads each need's matches from the match ledger, as the organization page does: it says from
    which run, zone named, as the page does."""
    from datetime import datetime, timezone

    from domain.times import shown

    ran = datetime(2026, 12, 6, 12, 30, tzinfo=timezone.utc)

    class AfterARun(MemoryLibrary):
        def match_run_time(self):
            return ran

    shown_run = cli("org", "Lockheed Martin", lib=AfterARun()).stdout
    assert f"scores from the last match run, {shown(ran)}" in " ".join(shown_run.split())
    assert "match run" not in cli("org", "Lockheed Martin").stdout  # ranked for the command: nothing to say


def test_export_jsonl_and_csv(cli, library, tmp_path):
    expected = list(library.all_matches(limit_per_need=20))
    jsonl = cli("export", "matches", "--format", "jsonl")
    assert jsonl.exit_code == 0, jsonl.output
    lines = jsonl.stdout.splitlines()
    assert [Match.model_validate_json(line) for line in lines] == expected

    out = tmp_path / "matches.csv"
    result = cli("export", "matches", "--format", "csv", "--output", str(out), "--limit-per-need", "2")
    assert result.exit_code == 0, result.output
    raw = out.read_text(encoding="utf-8")
    assert raw.startswith("\ufeff"), "a UTF-8 BOM, like the report's CSV, so that Excel reads Japanese"
    rows = list(csv.DictReader(io.StringIO(raw[1:])))
    assert all(len(r["score"].split(".")[1]) == 4 for r in rows), "numbers rounded"
    assert len(rows) == sum(min(2, len(library.match(n.id, 100).matches)) for n in library.needs())
    assert {r["need_id"] for r in rows} == {n.id for n in library.needs()}
    assert any(r["need_title"] == "電波吸収材を用いた艦艇の低被探知化技術" for r in rows)


def test_export_csv_neutralizes_formulas(cli):
    doc = Document.make(kind="startup", source="rss", source_id="formula", url="https://example.org/f",
                        title="=HYPERLINK(\"http://evil\") radar absorbing metamaterial coating",
                        text="radar absorbing metamaterial coating for ships", language="en",
                        meta={"concepts": ["metamaterial", "radar-absorbing-material"]})
    result = cli("export", "matches", "--format", "csv", lib=MemoryLibrary([*fixture_documents(), doc]))
    rows = list(csv.DictReader(io.StringIO(result.stdout.removeprefix("\ufeff"))))
    titles = [r["title"] for r in rows if "HYPERLINK" in r["title"]]
    assert titles and all(t.startswith("'=") for t in titles)


def test_export_needs_a_format(cli):
    result = cli("export", "matches")
    assert result.exit_code == 2 and "--format" in result.output


@pytest.fixture
def fake_library_impl(monkeypatch):
    """Install a stand-in `service.index_library` module whose open_library fails the way a real one can."""

    def install(exc: Exception | None):
        module = types.ModuleType("service.index_library")

        def open_library(read_only: bool = False):
            raise exc

        module.open_library = open_library
        monkeypatch.setitem(sys.modules, "service.index_library", module if exc else None)

    return install


def test_locked_index_is_a_one_line_error(fake_library_impl):
    from typer.testing import CliRunner

    from scout.cli import app

    from pathlib import Path

    from index.lock import IndexLockedError

    fake_library_impl(IndexLockedError(Path("/srv/var/index"), {"pid": 4242, "host": "h"}))
    result = CliRunner().invoke(app, ["search", "radar"], env={"SCOUT_INDEX_LOCK_WAIT": "0"})
    assert result.exit_code == 1
    assert "locked" in result.output and "4242" in result.output
    assert "Traceback" not in result.output


def test_missing_library_is_a_one_line_error(fake_library_impl):
    from typer.testing import CliRunner

    from scout.cli import app

    fake_library_impl(None)  # `import service.index_library` raises ImportError
    result = CliRunner().invoke(app, ["needs"])
    assert result.exit_code == 1
    assert "no index library" in result.output
    assert "Traceback" not in result.output


class BrokenLibrary(MemoryLibrary):
    def search(self, query, filters=None, limit=20):
        raise RuntimeError("segment 7 of the index is corrupted\nmore detail")


def test_library_failure_is_one_line(cli):
    result = cli("search", "radar", lib=BrokenLibrary())
    assert result.exit_code == 1
    assert "the index failed: segment 7 of the index is corrupted" in result.output
    assert "Traceback" not in result.output and "more detail" not in result.output


def test_search_table_lists_facets(cli):
    result = cli("search", "radar absorbing metamaterial")
    assert "language:" in result.stdout and "kind:" in result.stdout


def test_match_accepts_an_unambiguous_id_prefix(cli, library):
    need = library.needs()[0]
    data = _json(cli("match", need.id[:8], "--json", "--limit", "2"))
    assert data["need"]["id"] == need.id
    short = cli("match", need.id[:3])
    assert short.exit_code == 2 and "unknown need id" in short.output


def test_tables_stay_readable_at_80_columns(cli, library):
    from typer.testing import CliRunner

    from scout.cli import app
    from scout.commands._library import use_library

    need = next(n for n in library.needs() if n.source == "sbir")
    with use_library(library):
        result = CliRunner().invoke(app, ["match", need.id], env={"COLUMNS": "80"})
    assert result.exit_code == 0
    assert max(len(line) for line in result.stdout.splitlines()) <= 80
    assert "Atomic magnetometer" in result.stdout  # titles wrap instead of vanishing


def test_match_header_and_counts_read_as_sentences(cli, library):
    """The need's line names what is known about it and leaves out what is not (an undated need printed
    "(needs_file, )"); a single match is "1 match", not "1 matches"."""
    need = next(d for d in library.needs() if d.source == "diu")
    table = cli("match", need.id, "--limit", "1")
    assert table.exit_code == 0, table.output
    assert table.stdout.splitlines()[1].split() == ["1", "match"] and "1 matches" not in table.stdout
    assert f"{need.title}  DIU · {need.language}" in table.stdout
    undated = need.model_copy(update={"id": "need-undated", "published": None, "organizations": []})
    shown = cli("match", undated.id, "--limit", "2", lib=MemoryLibrary([*fixture_documents(), undated]))
    assert shown.exit_code == 0, shown.output
    assert shown.stdout.splitlines()[0].rstrip() == f"{need.title}  DIU · {need.language}"


def test_match_names_shared_concepts_by_their_labels(cli, library):
    """The need page shows a shared concept by its label ('radar absorbing material'); `scout match` had shown
    its id ('radar-absorbing-material'). The id stays what --concept takes."""
    need = next(d for d in library.needs() if d.source == "atla")
    result = cli("match", need.id, "--limit", "2")
    assert result.exit_code == 0, result.output
    assert "radar absorbing material" in result.stdout
    assert "radar-absorbing-material" not in result.stdout
    assert "concept by its id: radar-absorbing-material" in " ".join(cli("search", "--help").stdout.split())


def test_a_concept_the_taxonomy_does_not_know_shows_its_id():
    from scout.commands._console import concept_label

    assert concept_label("radar-absorbing-material") == "radar absorbing material"
    assert concept_label("no-such-concept") == "no-such-concept"
