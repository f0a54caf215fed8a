"""The README stays true: its configuration table is the settings' own, and it shows the two commands."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from scout.cli import app
from scout.commands.config import markdown_table

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_configuration_table_matches_the_settings():
    assert markdown_table() in README.read_text(encoding="utf-8"), (
        "README's configuration table is stale: paste `scout config --markdown` into it")


def test_readme_shows_the_two_setup_commands():
    text = README.read_text(encoding="utf-8")
    assert "make demo" in text and "make test" in text


def test_config_never_prints_secrets(monkeypatch):
    monkeypatch.setenv("SCOUT_REPORT_SMTP_PASSWORD", "hunter2-secret")
    monkeypatch.setenv("SCOUT_WEB_TOKEN", "tok-secret-123")
    result = CliRunner().invoke(app, ["config"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "hunter2-secret" not in result.output and "tok-secret-123" not in result.output
    assert "***" in result.output


def test_config_never_splits_a_variable_name_on_a_narrow_terminal():
    """Issue 24: at 100 columns `scout config` folded names ("SCOUT_CRAWL_ROBOTSTXT_" / "OBEY")."""
    from scout.commands.config import settings_rows

    for columns in ("100", "80", "200"):
        result = CliRunner().invoke(app, ["config"], env={"COLUMNS": columns})
        assert result.exit_code == 0, result.output
        lines = result.output.splitlines()
        for _, env, *_ in settings_rows(current=False):
            assert any(env in line for line in lines), (columns, env)
