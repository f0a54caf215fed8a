"""The CLI's tables name each source as a reader knows it ("arXiv", "J-STAGE", "SBIR topics"), as the pages and
the mail do; `--json`, the CSV export and `--source` keep the raw name (machines read those)."""

from __future__ import annotations

import json
import re

from rich.console import Console

from scout.commands._runs import crawl_table
from scout.demo.run import crosslingual_table, matches_table
from tests.web.fakes import MemoryLibrary, _doc, fixture_documents


def _raw(text: str, *names: str) -> list[str]:
    return [n for n in names if re.search(rf"(?<![\w/.-]){n}(?![\w/.-])", text)]


def _printed(table) -> str:
    console = Console(record=True, width=160, color_system=None)
    console.print(table)
    return console.export_text()


def test_search_match_and_needs_tables_name_sources_readably(cli, library):
    found = cli("search", "radar absorbing metamaterial")
    assert found.exit_code == 0, found.output
    hits, facets = found.stdout.split("\nsource: ")[0], found.stdout.split("\nsource: ")[1].splitlines()[0]
    assert "arXiv" in hits and "J-STAGE" in hits and _raw(hits, "arxiv", "jstage") == []
    # the facet names each source, with the name --source takes where it differs
    assert "arXiv 1" in facets and "J-STAGE (jstage) 1" in facets and "ATLA 1" in facets

    need = next(d for d in library.needs() if d.source == "atla")
    matched = cli("match", need.id)
    assert matched.exit_code == 0, matched.output
    assert f"{need.title}  ATLA · ja" in matched.stdout and "arXiv" in matched.stdout
    assert _raw(matched.stdout, "atla", "arxiv", "jstage") == []

    sbir = _doc("need", "sbir_topics", "AF263-1", "Compact LIDAR for small UAS", "Compact LIDAR.", "en", [],
                "2026-06-01", [])
    needs = cli("needs", lib=MemoryLibrary([*fixture_documents(), sbir]))
    assert needs.exit_code == 0, needs.output
    assert "SBIR topics" in needs.stdout and "sbir_topics" not in needs.stdout

    # machines keep the raw name, and it still filters
    data = json.loads(cli("search", "radar absorbing metamaterial", "--json").stdout)
    assert {"arxiv", "jstage"} <= {h["source"] for h in data["hits"]}
    only = json.loads(cli("search", "radar absorbing metamaterial", "--source", "jstage", "--json").stdout)
    assert only["hits"] and {h["source"] for h in only["hits"]} == {"jstage"}


def test_the_demos_tables_name_sources_readably(library):
    crawled = [{"source": s, "fetched": 1, "new": 1, "updated": 0, "unchanged": 0, "rejected": 0}
               for s in ("arxiv", "feeds", "jstage", "kaken", "sbir_topics", "needs_file")]
    shown = _printed(crawl_table(crawled, {}))
    for label in ("arXiv", "news feeds", "J-STAGE", "KAKEN", "SBIR topics", "needs file"):
        assert label in shown, shown
    assert _raw(shown.replace("news feeds", ""), "arxiv", "feeds", "jstage", "kaken", "sbir_topics", "needs_file") == []

    need = next(d for d in library.needs() if d.source == "atla")
    result = library.match(need.id)
    shown = _printed(matches_table(result, 5)) + _printed(crosslingual_table([result], {}, 5))
    assert "(ATLA)" in shown and "arXiv" in shown and _raw(shown, "atla", "arxiv", "jstage") == []
