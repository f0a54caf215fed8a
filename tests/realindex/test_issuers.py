"""A need's issuer is never an organization answering it, at any door: the U.S. Navy's hypersonic need is
answered by ThermaTile Inc., whose award record also names its sponsor, the Office of Naval Research (under the
Navy). The need page, `scout match`, the API, an organization's page, the ledger's new organizations and the
weekly report all read a need's organizations through `domain.orgs.answering_organizations`; an organization
under any need's publisher is an issuer (never a new entrant, never a "new organization" of the report)."""

from __future__ import annotations

import json
import re

import pytest
from typer.testing import CliRunner

from index.ledger import Ledger
from scout.cli import app as cli_app
from scout.commands._library import use_library
from service.report import build_report
from service.report.build import record_library_matches
from domain.settings import ReportSettings

SPONSOR, FIRM = "officeofnavalresearch", "thermatile"


@pytest.fixture(scope="module")
def navy_need(real_library, stored):
    need = next(n for n in real_library.needs() if n.title == "Hypersonic thermal protection materials")
    award = stored["thermatile-sbir"]
    # the premise: the award answers the need and names the sponsor as one of its organizations
    result = real_library.match(need.id, limit=20)
    match = next(m for m in result.matches if m.doc_id == award.id)
    assert "Office of Naval Research" in match.organizations
    return need


def test_the_issuer_is_no_organization_of_its_need_on_any_face(real_library, real_client, navy_need):
    keys = [o.key for o in real_library.match(navy_need.id, limit=20).organizations]
    assert FIRM in keys and SPONSOR not in keys
    api = real_client.get(f"/api/needs/{navy_need.id}/matches").json()
    assert [o["key"] for o in api["organizations"]] == keys
    with use_library(real_library):
        cli = CliRunner().invoke(cli_app, ["match", navy_need.id, "--json"])
    assert cli.exit_code == 0, cli.output
    assert [o["key"] for o in json.loads(cli.stdout)["organizations"]] == keys
    page = real_client.get(f"/needs/{navy_need.id}").text
    rows = re.findall(r'<tr class="org-row" id="o-[^"]*" data-org-key="([^"]+)"', page)
    assert FIRM in rows and SPONSOR not in rows
    assert "Office of Naval Research" in page  # still shown as one of the award's organizations, not scored


def test_the_issuers_page_lists_not_the_need_it_issued(real_library, real_client, navy_need):
    sponsor = real_client.get("/api/orgs/Office of Naval Research").json()
    assert navy_need.id not in [n["key"] for n in sponsor["needs"]]
    firm = real_client.get("/api/orgs/ThermaTile Inc.").json()
    assert navy_need.id in [n["key"] for n in firm["needs"]]


def test_the_report_counts_no_issuer_as_a_new_organization(real_library, navy_need, tmp_path):
    """The sponsor's award matches every need of the small index; ONR, under the Navy, which publishes a need
    here, is no new organization whichever need it matched; on the Navy's section it is no organization."""
    ledger = Ledger(tmp_path / "ledger.sqlite")
    record_library_matches(ledger, real_library)
    settings = ReportSettings(outbox=tmp_path / "outbox", smtp_host="", top_per_need=20)
    report = build_report(ledger, real_library, settings=settings)
    new_keys = {o.key for o in report.overview.new_organizations}
    assert FIRM in new_keys and SPONSOR not in new_keys
    section = next(s for s in report.sections if s.need_id == navy_need.id)
    assert FIRM in [o.key for o in section.organizations]
    assert SPONSOR not in [o.key for o in section.organizations]
    # on another publisher's need the sponsor keeps its row, marked an issuer as the need page marks it
    marked = [o for s in report.sections if s.need_id != navy_need.id for o in s.organizations if o.key == SPONSOR]
    assert marked and all(o.issuer for o in marked)
    assert not any(o.issuer for s in report.sections for o in s.organizations if o.key == FIRM)
    from service.report import render_text

    # "issuer" alone, beside a need's organizations, read as this need's issuer (the demo's mail had
    # "Air Force Research Laboratory (0.331, issuer)" under a need 防衛装備庁 issued): of other needs, as it is
    text = render_text(report, settings)
    assert re.search(r"Office of Naval Research \(\d\.\d{3}, issuer of other needs\)", text)
    from service.report import render_html

    assert re.search(r"Office of Naval Research \(\d\.\d{3}, <span[^>]*>issuer of other needs</span>\)",
                     render_html(report, settings))


def test_an_issuer_on_another_publishers_need_is_marked_as_one(real_library, navy_need):
    """On ATLA's need (not the Navy's) ONR's row stays, marked as an issuer (never a new entrant)."""
    atla = next(n for n in real_library.needs() if n.organizations == ["防衛装備庁"])
    rows = {o.key: o for o in real_library.match(atla.id, limit=20).organizations}
    assert rows[SPONSOR].issuer and not rows[SPONSOR].new_entrant
    sponsor = real_library.organization("Office of Naval Research")
    assert sponsor.issuer and not sponsor.new_entrant
