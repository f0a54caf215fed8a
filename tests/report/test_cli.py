"""`scout report` end to end: the real ledger, delivery and SMTP; the library is the fake (the Protocol)."""

from __future__ import annotations

import email
import json
import shutil
import sys
import types
from email import policy

import pytest
import typer
from typer.testing import CliRunner

from index.ledger import Ledger
from scout.commands import _library as library_module
from scout.commands import report as report_command
from tests.ports import free_port
from tests.report.fakes import FakeLibrary


@pytest.fixture
def cli(tmp_path, monkeypatch, populated_ledger_file):
    """A CLI app with the report command, SCOUT_HOME in tmp_path holding the populated ledger."""
    monkeypatch.setenv("SCOUT_HOME", str(tmp_path))
    for name in ("SCOUT_REPORT_SMTP_HOST", "SCOUT_REPORT_PROFILES", "SCOUT_REPORT_RECIPIENTS"):
        monkeypatch.delenv(name, raising=False)
    shutil.copyfile(populated_ledger_file, tmp_path / "ledger.sqlite")
    monkeypatch.setattr(library_module, "_override", FakeLibrary())  # what use_library() does, undone after
    app = typer.Typer()

    @app.callback()
    def main() -> None:
        """dualscout"""

    report_command.register(app)
    runner = CliRunner()

    def run(*args: str):
        return runner.invoke(app, ["report", *args])

    return run


def test_help_has_an_example(cli):
    result = cli("--help")
    assert result.exit_code == 0 and "Example" in result.output and "--week" in result.output


def test_without_smtp_the_report_lands_in_the_outbox(cli, tmp_path):
    result = cli()
    assert result.exit_code == 0, result.output
    assert "No SMTP host is configured" in result.output
    eml = next((tmp_path / "outbox").glob("*.eml"))
    assert str(eml) in result.output.replace("\n", "")
    msg = email.message_from_bytes(eml.read_bytes(), policy=policy.default)
    assert msg["Subject"].startswith("[dualscout] Weekly report")
    assert "量子センサ" in msg.get_body(("plain",)).get_content()
    assert Ledger(tmp_path / "ledger.sqlite").reports(1)[0].status == "written"


def test_a_rebuilt_week_without_smtp_says_it_is_in_the_outbox_not_sent(cli, tmp_path):
    result = cli("--week", "2026-W47")
    assert result.exit_code == 0, result.output
    assert "Sent" not in result.output and "No SMTP host is configured" in result.output
    eml = next((tmp_path / "outbox").glob("*.eml"))
    assert str(eml) in result.output.replace("\n", "")


def test_no_send_writes_a_preview(cli, tmp_path):
    result = cli("--week", "2026-W47", "--no-send")
    assert result.exit_code == 0, result.output
    assert "2026-W47" in result.output
    assert Ledger(tmp_path / "ledger.sqlite").reports(1)[0].status == "preview"


def test_sends_through_smtp(cli, smtp_server, monkeypatch):
    sink, port = smtp_server("plain")
    monkeypatch.setenv("SCOUT_REPORT_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("SCOUT_REPORT_SMTP_PORT", str(port))
    monkeypatch.setenv("SCOUT_REPORT_SMTP_SECURITY", "none")
    monkeypatch.setenv("SCOUT_REPORT_RECIPIENTS", json.dumps(["scout@example.jp"]))
    result = cli()
    assert result.exit_code == 0, result.output
    assert "Sent to scout@example.jp via 127.0.0.1" in result.output
    assert len(sink.messages) == 1


def test_a_profile_chooses_recipients(cli, smtp_server, monkeypatch):
    sink, port = smtp_server("plain")
    monkeypatch.setenv("SCOUT_REPORT_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("SCOUT_REPORT_SMTP_PORT", str(port))
    monkeypatch.setenv("SCOUT_REPORT_SMTP_SECURITY", "none")
    monkeypatch.setenv(
        "SCOUT_REPORT_PROFILES", json.dumps({"materials": {"recipients": ["m@example.jp"], "areas": ["jp-materials"]}})
    )
    result = cli("--profile", "materials")
    assert result.exit_code == 0, result.output
    (envelope,) = sink.messages
    assert envelope.rcpt_tos == ["m@example.jp"]
    assert "(materials)" in email.message_from_bytes(envelope.content, policy=policy.default)["Subject"]


def test_an_smtp_failure_is_a_clear_error(cli, monkeypatch, tmp_path):
    monkeypatch.setenv("SCOUT_REPORT_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("SCOUT_REPORT_SMTP_PORT", str(free_port()))
    monkeypatch.setenv("SCOUT_REPORT_SMTP_SECURITY", "none")
    monkeypatch.setenv("SCOUT_REPORT_RECIPIENTS", json.dumps(["scout@example.jp"]))
    monkeypatch.setenv("SCOUT_REPORT_SEND_RETRIES", "1")
    monkeypatch.setenv("SCOUT_REPORT_SEND_BACKOFF", "0.01")
    result = cli()
    assert result.exit_code == 1
    assert "could not send the report to 127.0.0.1" in result.output and "after 2 attempts" in result.output
    assert "Traceback" not in result.output
    assert len(list((tmp_path / "outbox").glob("*.eml"))) == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [(["--week", "2026-W60"], "not an ISO week"), (["--week", "next"], "not an ISO week"),
     (["--profile", "nobody"], "unknown report profile 'nobody'")],
)  # fmt: skip
def test_bad_input_is_a_clear_error(cli, args, message):
    result = cli(*args)
    assert result.exit_code == 2 and message in result.output and "Traceback" not in result.output


def test_a_missing_or_broken_index_is_a_clear_error(cli, monkeypatch):
    monkeypatch.setattr(library_module, "_override", None)
    monkeypatch.setitem(sys.modules, "service.index_library", None)  # not installed: import fails
    result = cli("--no-send")
    assert result.exit_code == 1 and "Build the index first" in result.output and "Traceback" not in result.output

    broken = types.ModuleType("service.index_library")

    def open_library(read_only: bool = True):
        raise RuntimeError("no collection 'dualscout' in /x/index\nlong details")

    broken.open_library = open_library
    monkeypatch.setitem(sys.modules, "service.index_library", broken)
    result = cli("--no-send")
    assert result.exit_code == 1
    assert "cannot open the index: no collection 'dualscout'" in result.output and "long details" not in result.output


def test_a_fresh_ledger_is_filled_from_the_index(cli, tmp_path):
    (tmp_path / "ledger.sqlite").unlink()  # an index built without the flows: the ledger never saw a match run
    result = cli("--no-send")
    assert result.exit_code == 0, result.output
    assert "Recorded the index's current matches in the ledger: 12 new." in result.output
    assert "12 new matches for 3 needs" in result.output
    again = cli("--no-send")  # a preview does not move the mark, and the ledger is not filled twice
    assert "Recorded" not in again.output and "12 new matches for 3 needs" in again.output


def test_the_summary_shows_scores_as_the_mail_does_and_says_what_judgements_left_out(cli, monkeypatch):
    """`scout report`'s table had shown a need's best score to two places (0.82 where the mail, the need page and
    `scout match` say 0.820), and its summary said nothing of the new matches an analyst had judged not relevant,
    which the mail says it leaves out."""
    from tests.report.fakes import DOC_XSS, NEED_RAM

    monkeypatch.setattr(FakeLibrary, "judgements", {NEED_RAM.id: {DOC_XSS.id: "not_relevant"}})
    result = cli("--no-send")
    assert result.exit_code == 0, result.output
    out = " ".join(result.output.split())
    assert "0.820" in out and "0.82 " not in out
    assert "1 new match judged not relevant by an analyst is left out of the report." in out
