"""Undo over the real index, on every face a user reads: judging a match and pressing Undo reads as never having
judged it, on the need page (its label, place and score), the brief (page and CSV), the API's JSON, the weekly
mail and `scout judgements list`. The lead saw a document shortlisted, then judged not relevant, then undone,
leave the shortlist and the brief: Undo had cleared the judgement instead of putting the shortlist back."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from fastapi.testclient import TestClient
from typer.testing import CliRunner

from domain.settings import ReportSettings, WebSettings
from index.ledger import Ledger
from scout.web.app import create_app
from service.analyst import AnalystStore
from service.report import build_report
from service.report.render import render_text

NOW = datetime(2026, 11, 20, 3, 0, tzinfo=timezone.utc)


def test_judge_then_undo_reads_as_before_on_every_face(real_library, scout_home, tmp_path):
    from scout.cli import app as cli_app
    from scout.commands._library import use_library

    need = next(n for n in real_library.needs() if n.source == "atla")
    doc = real_library.match(need.id, limit=5).matches[1].doc_id
    ledger = Ledger(tmp_path / "ledger.sqlite")
    ledger.record_matches(ledger.start_match_run(at=NOW - timedelta(hours=1)), real_library.all_matches(limit_per_need=8))
    settings = ReportSettings(outbox=tmp_path / "outbox", base_url="http://127.0.0.1:8700", smtp_host="")

    with AnalystStore() as store:  # $SCOUT_HOME's, which the library's ranking and the CLI read too
        ann = store.add_user("ann", "analyst")[1]
        client = TestClient(create_app(real_library, WebSettings(token=None), store), base_url="http://127.0.0.1",
                            headers={"Authorization": f"Bearer {ann}"})
        api = f"/api/needs/{need.id}/judgements/document/{doc}"

        def seen() -> dict:
            with use_library(real_library):
                listed = CliRunner().invoke(cli_app, ["judgements", "list", need.id], env={"COLUMNS": "200"})
            assert listed.exit_code == 0, listed.output
            report = build_report(ledger, real_library, settings=settings, now=NOW)
            return {
                "need page": client.get(f"/needs/{need.id}").text,
                "need page, not relevant shown": client.get(f"/needs/{need.id}", params={"rejected": "show"}).text,
                "matches JSON": client.get(f"/api/needs/{need.id}/matches").json(),
                "judgements JSON": client.get(f"/api/needs/{need.id}/judgements").json(),
                "brief": client.get(f"/needs/{need.id}/brief").text,
                "brief CSV": client.get(f"/needs/{need.id}/brief.csv").content,
                "mail": render_text(report, settings),
                "mail's judged count": report.overview.judged_not_relevant,
                "scout judgements list": listed.stdout,
            }

        never = seen()
        assert client.put(api, json={"state": "not_relevant"}).status_code == 200
        assert seen()["mail's judged count"] == never["mail's judged count"] + 1  # the mail reads judgements
        assert client.delete(api).status_code == 200
        assert seen() == never  # judged once, then undone: as never judged

        assert client.put(api, json={"state": "shortlisted", "note": "met them at DSEI"}).status_code == 200
        shortlisted = seen()
        assert "met them at DSEI" in shortlisted["brief"]
        assert client.put(api, json={"state": "not_relevant", "note": "wrong band"}).status_code == 200
        assert "met them at DSEI" not in seen()["brief"]
        undone = client.delete(api).json()
        assert seen() == shortlisted  # back on the brief, pinned on the need page, out of the mail's count
        assert undone["current"]["state"] == "shortlisted" and undone["current"]["note"] == "met them at DSEI"

        assert client.delete(api).json()["current"] is None  # a second Undo: the one before, none
        assert seen() == never
        nothing = client.delete(api).json()
        assert nothing["undone"] is False and nothing["message"].startswith("Nothing to undo")
