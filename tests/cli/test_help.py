"""Every command and command group has help text with an example."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from scout.cli import app


def _command_paths() -> list[list[str]]:
    paths: list[list[str]] = []
    for cmd in app.registered_commands:
        paths.append([cmd.name or cmd.callback.__name__.replace("_", "-")])
    for group in app.registered_groups:
        name = group.name or group.typer_instance.info.name
        paths.append([name])
        for cmd in group.typer_instance.registered_commands:
            paths.append([name, cmd.name or cmd.callback.__name__.replace("_", "-")])
    return paths


def test_commands_are_registered():
    names = {p[0] for p in _command_paths()}
    assert {"search", "needs", "match", "org", "export", "serve"} <= names


@pytest.mark.parametrize("path", _command_paths(), ids=lambda p: " ".join(p))
def test_help_has_an_example(path):
    result = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "Example" in result.output, f"`scout {' '.join(path)} --help` has no example"


def test_top_level_help_lists_commands():
    result = CliRunner().invoke(app, ["--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    for name in ("search", "match", "serve", "export"):
        assert name in result.output


def test_each_command_is_one_line_in_the_top_level_help():
    """`scout --help` lists each command by its docstring's first paragraph: `brief`'s, wrapped in the source,
    had printed across two lines there, the second starting mid-sentence."""
    result = CliRunner().invoke(app, ["--help"], env={"COLUMNS": "200"})
    commands = result.output[result.output.index("Commands"):]
    rows = [line.strip("│ ").strip() for line in commands.splitlines()[1:] if line.startswith("│")]
    names = {p[0] for p in _command_paths()}
    assert rows and all(row.split()[0] in names for row in rows), [r for r in rows if r.split()[0] not in names]


@pytest.mark.parametrize("path", [["search"], ["watch", "hits"], []], ids=lambda p: " ".join(p) or "scout")
def test_a_flag_shows_no_value_placeholder(path):
    """`--json <bool>` read as if the flag took a value ("scout search q --json true" fails on "true"): a flag
    shows none; an option that takes one still shows its type."""
    result = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0 and "--help" in result.output
    assert "<bool>" not in result.output
    if path == ["search"]:
        assert "<int range>" in result.output  # --limit takes a number


def test_the_run_summary_counts_documents_read_again():
    """The summary line of `scout demo`/`scout run`: documents read but not indexed again (unchanged, duplicates)
    are said, so that the crawls' count (what the weekly report quotes) and the enrich's add up."""
    from scout.commands._runs import totals_line

    summary = {"crawled": [{"fetched": 5, "rejected": 0}],
               "ingested": [{"new": 7, "updated": 1, "unchanged": 2, "rejected": 0, "passages_embedded": 12}],
               "new_matches": 4}
    line = totals_line(summary)
    assert "8 new or updated documents (2 unchanged)" in line and "4 new matches" in line
    summary["ingested"][0]["duplicates"] = 2
    assert "8 new or updated documents (2 unchanged, 2 duplicates of indexed ones)" in totals_line(summary)
    summary["ingested"][0].update(unchanged=0, duplicates=0)
    assert "8 new or updated documents ·" in totals_line(summary)


def test_help_says_what_the_commands_take():
    """Wording the help had wrong or unclear: `scout crawl` sent the user to `scrapy list` (a tool a scout never
    runs), `scout unjudge` said a document id where it takes a prefix too (as `scout judge` says), export's
    jsonl was "Match models", `scout match`'s example was a whole made-up id where tables print 8 characters."""
    def shown(*path: str) -> str:
        result = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": "200"})
        assert result.exit_code == 0, result.output
        return " ".join(result.output.replace("│", " ").split())

    assert "scrapy" not in shown("crawl") and "an unknown name lists them all" in shown("crawl")
    assert "unique prefix" in shown("unjudge") and "(name or key)" in shown("unjudge")
    assert "Match models" not in shown("export", "matches")
    match = shown("match")
    assert "Example: scout match 3f2a9c1e --limit 10" in match and "unique prefix" in match
    assert "(scout watch list)" in shown("watch", "hits")
