"""Errors any command can hit are one line naming what to fix, with a non-zero exit; `scout --version`.

These run the real `scout` entry point in a subprocess: the one-line rendering lives in `scout.cli.main`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from scout import __version__
from scout.cli import app

ROOT = Path(__file__).resolve().parents[2]


def scout(*args: str, env: dict[str, str] | None = None, timeout: float = 180) -> subprocess.CompletedProcess:
    full = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "200", **(env or {})}
    return subprocess.run([sys.executable, "-m", "scout", *args], cwd=ROOT, env=full, capture_output=True,
                          text=True, timeout=timeout)


def test_version():
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"dualscout {__version__}"


@pytest.mark.parametrize("command", [["config"], ["needs"], ["search", "radar"], ["run", "enrich"],
                                     ["crawl", "arxiv"]])
def test_a_bad_setting_is_one_line_naming_the_variable_value_and_expectation(command):
    result = scout(*command, env={"SCOUT_NLP_BACKEND": "tourch"})
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert lines == ["error: SCOUT_NLP_BACKEND='tourch' is not valid: expected 'torch' or 'onnx'"], result.stderr
    assert "Traceback" not in result.stdout + result.stderr


def test_bad_numbers_and_json_lists_name_their_variable():
    result = scout("config", env={"SCOUT_CRAWL_DOWNLOAD_DELAY": "fast", "SCOUT_WEB_PORT": "80x"})
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2
    assert len(lines) == 2, result.stderr  # one line per bad value
    assert lines[0].startswith("error: SCOUT_CRAWL_DOWNLOAD_DELAY='fast' is not valid: expected a valid number")
    assert lines[1].startswith("error: SCOUT_WEB_PORT='80x' is not valid: expected a valid integer")
    result = scout("needs", env={"SCOUT_CRAWL_ALLOWED_DOMAINS": "[127.0.0.1"})
    assert result.returncode == 2
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("error: SCOUT_CRAWL_ALLOWED_DOMAINS='[127.0.0.1' is not valid: expected a JSON value")


def test_out_of_range_values_and_secrets():
    from domain.settings import CrawlSettings, explain_settings_error
    from pydantic import ValidationError

    try:
        CrawlSettings(concurrent_requests_per_domain=80)
    except ValidationError as exc:
        (line,) = explain_settings_error(exc)
    assert line == "SCOUT_CRAWL_CONCURRENT_REQUESTS_PER_DOMAIN='80' is not valid: expected less than or equal to 8"
    from domain.settings import _shown_value

    assert _shown_value("SCOUT_WEB_TOKEN", "hunter2") == "(hidden)"


def test_an_unknown_spider_argument_lists_the_valid_ones():
    result = CliRunner().invoke(app, ["crawl", "arxiv", "-a", "qurey=radar"], env={"COLUMNS": "300"})
    assert result.exit_code == 2
    assert "spider 'arxiv' takes no argument 'qurey'" in result.output
    assert "query" in result.output and "categories" in result.output


def test_a_source_without_credentials_exits_non_zero_with_its_reason(monkeypatch):
    monkeypatch.delenv("SCOUT_CRAWL_KAKEN_APPID", raising=False)
    result = CliRunner().invoke(app, ["crawl", "kaken"], env={"COLUMNS": "300"})
    assert result.exit_code == 1, result.output
    assert "SCOUT_CRAWL_KAKEN_APPID" in result.output
    assert "fetched" in result.output  # the counts are still shown


def test_an_unknown_report_time_zone_is_refused_before_any_command_starts():
    """SCOUT_REPORT_TIMEZONE names the zone of every time shown: an unknown one had been shown as UTC by the
    pages and `scout judgements`, and refused only by `scout report`."""
    result = scout("needs", env={"SCOUT_REPORT_TIMEZONE": "Mars/Base"})
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip().splitlines() == [
        "error: SCOUT_REPORT_TIMEZONE='Mars/Base' is not valid: expected a time zone name the system knows, "
        "e.g. 'Asia/Tokyo' or 'UTC'"], result.stderr
    assert scout("config", env={"SCOUT_REPORT_TIMEZONE": "UTC"}).returncode == 0


def test_a_refused_choice_reads_without_pydantic_s_prefix(tmp_path):
    """`scout judge N D maybe` had said "Invalid value for 'state': Value error, 'maybe' is not one of ..."."""
    result = scout("judge", "need-id", "doc-id", "maybe", env={"SCOUT_HOME": str(tmp_path)})
    assert result.returncode == 2, result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("error: Invalid value for 'state': 'maybe' is not one of") and "Value error" not in line
