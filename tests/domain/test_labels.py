"""One readable name per source, for every face (domain.labels.source_label)."""

from __future__ import annotations

import ast
from pathlib import Path

from domain.labels import SOURCE_LABELS, source_label

ROOT = Path(__file__).resolve().parents[2]


def test_each_source_reads_as_its_readers_know_it():
    assert [source_label(n) for n in ("needs_file", "sbir_topics", "feeds", "kaken", "jstage", "arxiv", "openalex",
                                      "atla", "diu", "nato_diana")] == [
        "needs file", "SBIR topics", "news feeds", "KAKEN", "J-STAGE", "arXiv", "OpenAlex", "ATLA", "DIU",
        "NATO DIANA"]


def test_an_unknown_source_reads_as_itself_with_spaces_for_underscores():
    assert source_label("my_team_needs") == "my team needs"
    assert source_label("prtimes") == "prtimes"
    assert source_label("") == "" and source_label(None) == ""


def test_a_crawl_planned_from_the_needs_keeps_its_query():
    assert source_label("arxiv[quantum sensing]") == "arXiv[quantum sensing]"
    assert source_label("jstage[電波_吸収]") == "J-STAGE[電波_吸収]"


def test_every_spider_has_a_label():
    """A new spider gets its readable name here, or every face shows its machine name."""
    spiders = set()
    for path in (ROOT / "spiders" / "sources").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef):
                spiders |= {s.value.value for s in node.body if isinstance(s, ast.Assign)
                            and isinstance(s.value, ast.Constant) and isinstance(s.value.value, str)
                            and any(isinstance(t, ast.Name) and t.id == "name" for t in s.targets)}
    assert spiders and spiders == set(SOURCE_LABELS), spiders ^ set(SOURCE_LABELS)
