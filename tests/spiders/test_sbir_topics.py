"""SBIR.gov public solicitations API JSON: one need per topic, paging, bad records."""

from __future__ import annotations

import json

import pytest
from scrapy import Request

from domain.models import DocKind, Document, Reject
from spiders.sources.sbir_topics import SbirTopicsSpider
from tests.spiders.responses import fixture_bytes, response

API = "https://api.www.sbir.gov/public/api/solicitations?agency=DOD&open=1&rows=2&start=0"


def run(body, url=API, **args):
    out = list(SbirTopicsSpider(rows=2, **args).parse(response(url, body)))
    return (
        [o for o in out if isinstance(o, Document)],
        [o for o in out if isinstance(o, Reject)],
        [o for o in out if isinstance(o, Request)],
    )


def test_topics_become_needs_and_next_page_is_requested():
    docs, rejects, requests = run(fixture_bytes("sbir_solicitations_page1.json"))
    assert rejects == []
    assert [d.source_id for d in docs] == ["A12083", "A14015", "AF141040"]
    first = docs[0]
    assert first.kind is DocKind.need and first.source == "sbir_topics" and first.language == "en"
    assert first.title == "Residual Property Prediction for Damage Composite Structures"
    assert first.text.startswith("OBJECTIVE: Develop a novel modeling approach")
    assert first.url == "https://www.sbir.gov/topics/A12083"
    assert first.organizations == ["DOD", "ARMY"]
    assert first.published.date().isoformat() == "2026-01-08"
    assert first.meta["solicitation_number"] == "W51701-26-S-0001" and first.meta["close_date"] == "2026-12-31"
    # subtopics are part of the need's text, as plain text
    assert "1 High-yield expression hosts: Microbial hosts that secrete structural proteins" in docs[1].text
    assert "<b>" not in docs[1].text
    assert docs[2].organizations == ["DOD", "USAF"]
    [next_page] = requests
    assert "start=2" in next_page.url and "rows=2" in next_page.url and "agency=DOD" in next_page.url


def test_empty_page_ends_paging():
    docs, rejects, requests = run(fixture_bytes("sbir_solicitations_empty.json"), API.replace("start=0", "start=4"))
    assert docs == rejects == requests == []


def test_max_pages_ends_paging():
    _, _, requests = run(fixture_bytes("sbir_solicitations_page1.json"), max_pages=1)
    assert requests == []


def test_bad_topics_are_rejected_one_by_one():
    docs, rejects, _ = run(fixture_bytes("sbir_solicitations_bad.json"))
    reasons = [r.reason for r in rejects]
    assert reasons == ["topic without topic_number: 'Topic with no number'", "topic is not a JSON object"]
    # the topic with an empty description is yielded; the validate pipeline rejects it ("empty text")
    assert [d.source_id for d in docs] == ["N261-042", "N261-043"] and docs[0].text == ""


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"", "empty body"),
        (b'[{"solicitation_title": "cut', "malformed JSON"),
        (b'{"error": "Too many requests"}', "SBIR API error: Too many requests"),
        (b'{"items": []}', "unexpected JSON: expected a list of solicitations, got dict"),
        (json.dumps([{"solicitation_topics": "n/a"}]).encode(), "solicitation_topics is not a list"),
    ],
)
def test_bad_pages_are_rejected(body, reason):
    docs, rejects, requests = run(body)
    assert docs == [] and rejects[0].reason.startswith(reason)


def test_a_branch_that_is_the_agencys_initials_is_one_issuer():
    page = json.loads(fixture_bytes("sbir_solicitations_page1.json"))
    page[0]["agency"], page[0]["branch"] = "Department of Defense", "DoD"
    for topic in page[0]["solicitation_topics"]:
        topic["branch"] = "DoD"
    docs, rejects, _ = run(json.dumps(page).encode())
    assert rejects == [] and docs[0].organizations == ["Department of Defense"]
    assert docs[0].meta["branch"] == "DoD"  # the record keeps what the API said
