from __future__ import annotations

from datetime import datetime, timezone

import pytest

from domain.models import Document, Reject
from spiders.sources.diu import DiuSpider, parse_date
from spiders.sources.nato_diana import NatoDianaSpider

from tests.spiders.responses import HtmlResponse, Response, fixture_bytes, response, run

DIU = "https://www.diu.mil/work-with-us/open-solicitations"
DIANA = "https://www.diana.nato.int/challenge-programme.html"


def test_diu_solicitations_become_needs() -> None:
    out = run(DiuSpider().parse(response(DIU, fixture_bytes("diu_open_solicitations.html"), cls=HtmlResponse)))
    docs = [o for o in out if isinstance(o, Document)]
    rejects = [o for o in out if isinstance(o, Reject)]
    assert len(docs) == 2 and len(rejects) == 1 and "#3 without title" in rejects[0].reason

    csuas, pnt = docs
    assert csuas.title == "Counter-Small Unmanned Aircraft Systems (C-sUAS) Detection at the Tactical Edge"
    assert csuas.kind == "need" and csuas.language == "en" and csuas.organizations == ["Defense Innovation Unit"]
    assert csuas.source_id == "PROJ00588"
    assert csuas.url == "https://www.diu.mil/work-with-us/submit-solution/PROJ00588"
    assert csuas.text.startswith("The Department of Defense seeks low size, weight and power sensors")
    assert "battery power" in csuas.text and "Responses Due" not in csuas.text and "Posted" not in csuas.text
    assert csuas.published == datetime(2025, 3, 4, tzinfo=timezone.utc)
    assert csuas.meta["responses_due"] == "2025-03-25"

    assert pnt.source_id == "PROJ00591" and pnt.published is None
    assert pnt.meta["responses_due"] == "2025-04-11"
    assert "GNSS signals are degraded or denied" in pnt.text


def test_parse_date_formats() -> None:
    assert parse_date("Sept. 5, 2025") == datetime(2025, 9, 5, tzinfo=timezone.utc)  # AP style, as DoD pages write it
    assert parse_date("Responses due soon") is None  # no date at all: unknown, no crash
    assert parse_date("Sep. 5, 2025") == datetime(2025, 9, 5, tzinfo=timezone.utc)
    assert parse_date("2025-09-05") == datetime(2025, 9, 5, tzinfo=timezone.utc)


def test_diu_truncated_page_keeps_complete_items() -> None:
    whole = fixture_bytes("diu_open_solicitations.html")
    cut = whole[: whole.index(b"Resilient Position")]
    out = run(DiuSpider().parse(response(DIU, cut, cls=HtmlResponse)))
    assert [d.source_id for d in out if isinstance(d, Document)] == ["PROJ00588"]


def test_diu_mis_declared_encoding_does_not_crash() -> None:
    body = fixture_bytes("diu_open_solicitations.html").replace(b"Tactical Edge", "Tactical Edge \u2013 Phase II".encode("cp1252"))
    out = run(DiuSpider().parse(response(DIU, body, cls=HtmlResponse)))
    first = next(o for o in out if isinstance(o, Document))
    assert first.title.startswith("Counter-Small Unmanned Aircraft Systems") and "Phase II" in first.title


@pytest.mark.parametrize(
    ("body", "cls", "expect"),
    [
        (b"", HtmlResponse, "empty body"),
        (b"%PDF-1.4 binary", Response, "not an HTML page"),
        (b"<html><body><h1>Open Solicitations</h1><div class='card'>Something new</div></body></html>", HtmlResponse,
         "layout not recognised"),
    ],
)
def test_diu_bad_pages_become_rejects(body: bytes, cls: type, expect: str) -> None:
    (reject,) = run(DiuSpider().parse(response(DIU, body, cls=cls)))
    assert isinstance(reject, Reject) and expect in reject.reason


def test_diu_empty_list_is_not_an_error() -> None:
    body = b"<html><body><h1>Open Solicitations</h1><p>There are no open solicitations at this time.</p></body></html>"
    assert run(DiuSpider().parse(response(DIU, body, cls=HtmlResponse))) == []


def test_diana_cards_become_needs() -> None:
    out = run(NatoDianaSpider().parse(response(DIANA, fixture_bytes("nato_diana_challenges.html"), cls=HtmlResponse)))
    docs = [o for o in out if isinstance(o, Document)]
    rejects = [o for o in out if isinstance(o, Reject)]
    assert [d.title for d in docs] == ["Energy and Power", "Contested Electromagnetic Environments", "Maritime Operations"]
    assert len(rejects) == 1 and "Data Assisted Decision Making" in rejects[0].reason
    energy, ew, maritime = docs
    assert energy.url == "https://www.diana.nato.int/challenges/energy-and-power.html"
    assert energy.kind == "need" and energy.organizations == ["NATO DIANA"] and energy.language == "en"
    assert energy.source_id == "energy-and-power" and energy.meta["programme_year"] == 2026
    assert "Resilient positioning, navigation and timing" in ew.text
    assert maritime.url == DIANA + "#maritime-operations"


def test_diana_plain_sections_are_read_too() -> None:
    out = run(NatoDianaSpider().parse(response(DIANA, fixture_bytes("nato_diana_sections.html"), cls=HtmlResponse)))
    assert [(d.title, d.text[:30]) for d in out] == [
        ("Resilient Space Operations", "Capabilities that protect spac"),
        ("Human Resilience and Biotechnologies", "Technologies that sustain huma"),
    ]


@pytest.mark.parametrize(
    ("body", "cls", "expect"),
    [
        (b"", HtmlResponse, "empty body"),
        (b"\x89PNG\r\n", Response, "not an HTML page"),
        (b"<html><body><h1>About DIANA</h1><p>Text</p></body></html>", HtmlResponse, "layout not recognised"),
        (b"<html><body><div class='challenge-card'><h3>Energy</h3><p>Power for", HtmlResponse, None),
    ],
)
def test_diana_bad_pages(body: bytes, cls: type, expect: str | None) -> None:
    out = run(NatoDianaSpider().parse(response(DIANA, body, cls=cls)))
    if expect is None:  # truncated markup: the complete part still counts
        assert [d.title for d in out] == ["Energy"] and out[0].text == "Power for"
    else:
        assert len(out) == 1 and isinstance(out[0], Reject) and expect in out[0].reason
