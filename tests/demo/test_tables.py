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


def _column(text: str, header: str) -> str:
    """The cells of one column, top to bottom, joined (a folded title reads whole again)."""
    lines = text.splitlines()
    heads = next(line for line in lines if line.startswith("┃")).split("┃")
    at = next(i for i, h in enumerate(heads) if h.strip() == header)
    return "".join(line.split("│")[at].strip() for line in lines if line.startswith("│"))


def test_a_japanese_title_is_printed_whole():
    """A Japanese title has no spaces to wrap at: it was cut to its first dozen characters with an ellipsis
    ("原子干渉計を用いた小型 …") while English titles wrapped whole."""
    title = "原子干渉計を用いた小型慣性航法装置の開発とGNSS非依存測位への応用"
    result = _result()
    result.need = result.need.model_copy(update={"title": "GNSSが使えない環境での量子センシングによる測位・航法"})
    result.matches[0] = result.matches[0].model_copy(update={"title": title})
    for table, column in ((matches_table(result, 5), "technology"), (overview_table([result]), "best technology"),
                          (crosslingual_table([result], {"doc-1": "ja", "doc-2": "en"}, 5),
                           "document in the other language")):
        text = _printed(table)
        assert "…" not in text, text
        assert title in _column(text, column), text
