"""domain.orgs: the one set of organization-name rules, and that no other layer keeps its own."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from domain.orgs import EN_ORG_NAME, JA_ORG_NAME, answering_organizations, issued_by, normalize_org, same_organization

ROOT = Path(__file__).resolve().parents[2]


def test_a_name_never_spans_a_line_break():
    # A title ending in a capitalized word, then a body opening with the company (a real SBIR award record).
    text = ("Scalable Microwave Driven Jet Based Test Bed for Simulating Hypersonic Reentry Effects on Materials\n"
            "Physical Sciences Inc. (PSI) proposes to implement the design.")
    found = [m.group(0) for m in EN_ORG_NAME.finditer(text)]
    assert found == ["Physical Sciences Inc."]
    assert same_organization(found[0], "PHYSICAL SCIENCES, INC.")


def test_a_name_with_an_apostrophe_is_one_name_and_a_possessive_is_not_part_of_one():
    # A real SBIR awardee: the declared company "D'Angelo Technologies, LLC", written "DAngelo" in its abstract;
    # cut at the apostrophe it became a second organization, "Angelo Technologies LLC", on the pages.
    for text in ("D'Angelo Technologies, LLC (D5T) completed Phase I.", "D\u2019Angelo Technologies LLC completed it."):
        [found] = [m.group(0) for m in EN_ORG_NAME.finditer(text)]
        assert found.startswith("D") and same_organization(found, "DAngelo Technologies, LLC")
    found = [m.group(0) for m in EN_ORG_NAME.finditer("Boeing's partner Helix Photonics Corp. ships it.")]
    assert found == ["Helix Photonics Corp."]


def test_japanese_names_in_text():
    found = [m.group(0) for m in JA_ORG_NAME.finditer("株式会社アクセルスペースは三菱重工業(株)と東京大学と連携する。")]
    assert [normalize_org(f) for f in found] == ["アクセルスペース", "三菱重工業", "東京大学"]


def test_same_organization_needs_a_name():
    assert same_organization("Acme Inc.", "ACME, INC")
    assert not same_organization("Inc.", "Ltd.")  # nothing but legal forms: no organization


def test_no_other_layer_keeps_a_legal_form_list():
    """The legal forms are written once, in domain/orgs.py: a second list elsewhere drifts (issue 23)."""
    form_list = re.compile(r"株式会社\|有限会社|株式会社\|合同会社|inc\|incorporated\|corp|Inc\|Corp\|", re.IGNORECASE)
    offenders = [str(p.relative_to(ROOT)) for folder in ("domain", "spiders", "nlp", "index", "service", "scout", "flows")
                 for p in (ROOT / folder).rglob("*.py")
                 if p.name != "orgs.py" and form_list.search(p.read_text(encoding="utf-8"))]
    assert offenders == []


def test_a_found_name_that_is_a_declared_one_with_words_before_it_is_that_one():
    """Issue 24: "Materials Physical Sciences Inc." appeared as its own new entrant beside Physical Sciences
    Inc.: the feed's text joins the title ("... Effects on Materials") and the byline on one line."""
    from domain.orgs import record_organizations

    found = {normalize_org(n): n for n in ["Materials Physical Sciences Inc.", "Purdue University", "Sciences Inc."]}
    merged = record_organizations(found, ["Physical Sciences Inc."])
    assert merged == {"physicalsciences": "Physical Sciences Inc.", "purdueuniversity": "Purdue University",
                      "sciences": "Sciences Inc."}  # a declared name's own tail is another name
    assert record_organizations({"acme": "ACME"}, ["Acme, Inc."]) == {"acme": "Acme, Inc."}  # the source's spelling
    assert record_organizations(found, []) == found


# -- a need's issuer ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name, issuers", [
    ("Air Force Research Laboratory", ["Department of Defense", "Air Force"]),  # under the need's service
    ("AFRL", ["Department of Defense", "Army"]),  # under the Department, which issued the Army's topic
    ("Office of Naval Research", ["U.S. Navy"]),  # "U.S. Navy" and "Navy" are one
    ("U.S. Army Research Laboratory", ["Army"]),  # by its name's opening words
    ("防衛装備庁 航空装備研究所", ["防衛装備庁"]),  # a Japanese name that opens with the issuer's
    ("ATLA", ["防衛装備庁"]),
    ("Department of Defense", ["Department of Defense", "Navy"]),
])
def test_an_issuer_and_what_lies_under_it_issue_the_need(name, issuers):
    assert issued_by(name, issuers)


@pytest.mark.parametrize("name, issuers", [
    ("CYAN SYSTEMS INC", ["Department of Defense", "Air Force"]),  # the firm answering the topic
    ("ArmyWorks Inc.", ["Army"]),  # a key that merely starts with the issuer's, not its words
    ("Air Force Research Laboratory", ["防衛装備庁"]),  # another country's laboratory
    ("Naval Research Laboratory", ["Air Force"]),  # a sibling, not under it
    ("Air Force Research Laboratory", []),  # a need that names no issuer
])
def test_other_organizations_are_no_issuer(name, issuers):
    assert not issued_by(name, issuers)


def test_answering_organizations_keep_the_documents_order_less_the_issuer():
    names = ["Air Force Research Laboratory", "CYAN SYSTEMS INC", "AFRL"]
    assert answering_organizations(names, ["Department of Defense", "Air Force"]) == ["CYAN SYSTEMS INC"]
    assert answering_organizations(names, ["防衛装備庁"]) == names
