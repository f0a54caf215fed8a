"""The demo's tables as `make demo` prints them into a pipe (80 columns): every header and organization name
whole. The bar had a column of its own and the organization and concept columns 7 characters: "organi…",
"conce…", "TECHNO… RESEAR… LLC"."""

from __future__ import annotations

from rich.console import Console

from domain.models import Document, Match, NeedMatches, ScoreBreakdown
from scout.demo.run import crosslingual_table, matches_table, overview_table

ORG = "INNOVATIVE DEFENSE TECHNOLOGIES LLC"


def _result() -> NeedMatches:
    need = Document.make(kind="need", source="sbir_topics", source_id="AF162D001", url="https://example.org/t",
                         title="Mitigation of Small Unmanned Aircraft Systems (sUAS) Threats", text="sUAS threats.",
                         language="en", organizations=["Department of Defense", "Air Force"])
    matches = [Match(need_id=need.id, doc_id=f"doc-{i}", rank=i, score=0.95 - 0.2 * i, breakdown=ScoreBreakdown(),
                     title="Advanced Persistent Cyber Threat Anomaly Detection", kind="startup", source="feeds",
                     organizations=[ORG], shared_concepts=["communications-technology", "counter-uas", "radar"])
               for i in (1, 2)]
    return NeedMatches(need=need, matches=matches, organizations=[])


def _printed(table) -> str:
    console = Console(width=80, record=True, color_system=None)
    console.print(table)
    return console.export_text()


def test_the_demo_tables_fit_80_columns_with_whole_names():
    for table in (matches_table(_result(), 5), overview_table([_result()])):
        text = _printed(table)
        assert "…" not in text, text
        words = text.replace("│", " ").split()
        for word in ("organization", *ORG.split()):
            assert word in words, (word, text)
    assert "shared concepts" in _printed(matches_table(_result(), 5))


def test_the_demo_names_shared_concepts_by_their_labels():
    """As the need page and `scout match` do: 'communication and networking technology', not the id
    'communications-technology'."""
    words = _printed(matches_table(_result(), 5)).replace("│", " ").replace(",", " ").split()
    assert "communications-technology" not in words and {"communication", "networking"} <= set(words)


def test_the_cross_language_table_says_how_strong_each_match_is():
    """The best Japanese document among an English need's top 5 may be a weak match (the demo's GNSS need's
    best English one scored 0.387): the table says so beside it, as every other table does."""
    result = _result()
    result.matches[1] = result.matches[1].model_copy(update={"title": "量子センサによる測位", "score": 0.387})
    text = _printed(crosslingual_table([result], {"doc-1": "en", "doc-2": "ja"}, 5))
    row = text[text.index("量子センサ"):]
    assert "0.387" in row and "weak" in row, text
