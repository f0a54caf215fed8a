"""The weekly mail names each source as a reader knows it ("J-STAGE", "arXiv", "news feeds"), never by the
spider's name (jstage, arxiv, feeds), in its HTML and its text, the watchlist section included; the CSV keeps
the raw name in its `source` column (a machine's field)."""

from __future__ import annotations

import csv
import io
import re

from service.analyst import AnalystStore
from service.report import build_report, render_html, render_text
from service.report.render import report_csv
from service.watch import add_watchlist, attach_watchlist_news
from tests.report.fakes import NOW, TAXONOMY, FakeLibrary
from tests.web.fakes import MemoryLibrary, _doc

RAW = ("jstage", "arxiv", "openalex", "feeds", "sbir_topics", "needs_file", "kaken")


def _read(text: str) -> str:
    """What a reader sees: no tags, no link targets."""
    text = re.sub(r"<(style|head)\b.*?</\1>", " ", text, flags=re.S)
    text = re.sub(r"<[^>]+>", " ", text)
    return re.sub(r"\S+://\S+", " ", text)


def test_the_mail_names_sources_as_readers_know_them(ledger, settings, tmp_path):
    library = MemoryLibrary()
    with AnalystStore(tmp_path / "analyst.sqlite") as store:
        add_watchlist(store, library, "RAM startups", user="ann", query="radar absorbing", filters={"kind": "startup"})
        library.add(_doc("startup", "feeds", "ram-9", "Radar absorbing foam startup", "Radar absorbing foam.",
                         "en", ["FoamCo"], "2026-11-19", ["radar-absorbing-material"], new=True))
        report = build_report(ledger, FakeLibrary(), settings=settings, taxonomy=TAXONOMY, now=NOW, chart=False)
        attach_watchlist_news(report, library, store)
    html, text = _read(render_html(report, settings)), render_text(report, settings)
    text_read = _read(text)
    for shown in (html, text_read):
        # the match lines (J-STAGE, arXiv, OpenAlex documents), the crawl summary (jstage) and the watchlist hit
        assert "J-STAGE" in shown and "arXiv" in shown and "OpenAlex" in shown and "news feeds" in shown
        raw = [w for w in RAW if re.search(rf"(?<![\w/.-]){w}(?![\w/.-])", shown.replace("news feeds", ""))]
        assert raw == [], raw
    assert "J-STAGE      120 pages fetched" in text  # the crawl summary's column still lines up
    rows = list(csv.DictReader(io.StringIO(report_csv(report).decode("utf-8-sig"))))
    assert {r["source"] for r in rows} >= {"jstage", "arxiv", "openalex"}  # machine output: the raw name
