"""The need page shows the real ranker's evidence and breakdowns; `scout export matches` is the same ranking."""

from __future__ import annotations

import csv
import html as htmllib
import io
import json
import re

from typer.testing import CliRunner

from scout.cli import app as cli_app
from scout.commands._library import use_library


def _text(html_fragment: str) -> str:
    return htmllib.unescape(re.sub(r"<[^>]+>", "", html_fragment))  # markup is ours: crawled text is escaped


def test_need_page_shows_evidence_from_the_index(real_library, real_client):
    need = next(n for n in real_library.needs() if n.source == "atla" and "電波吸収" in n.title)
    result = real_library.match(need.id, limit=5)
    html = real_client.get(f"/needs/{need.id}", params={"limit": 5}).text
    assert html.count('<dl class="breakdown">') == len(result.matches) == 5
    quotes = [_text(q) for q in re.findall(r"<blockquote[^>]*>(.*?)</blockquote>", html, re.S)]
    for m in result.matches:
        assert m.need_evidence is not None and m.doc_evidence is not None  # the real ranker always has a pair
        assert any(q == m.doc_evidence.text for q in quotes), m.title
        assert any(q == m.need_evidence.text for q in quotes)
    assert re.search(r"<blockquote lang=\"ja\">[^<]*<mark>", html), "shared words are highlighted in Japanese"
    assert 'lang="ja"' in html and need.title in html


def test_export_matches_is_the_libraries_ranking(real_library):
    with use_library(real_library):
        csv_out = CliRunner().invoke(cli_app, ["export", "matches", "--format", "csv", "--limit-per-need", "4"])
        jsonl_out = CliRunner().invoke(cli_app, ["export", "matches", "--format", "jsonl", "--limit-per-need", "4"])
    assert csv_out.exit_code == 0 and jsonl_out.exit_code == 0, csv_out.output + jsonl_out.output
    assert csv_out.stdout.startswith("\ufeff")
    rows = list(csv.DictReader(io.StringIO(csv_out.stdout.removeprefix("\ufeff"))))
    lines = [json.loads(line) for line in jsonl_out.stdout.splitlines()]
    expected = [(m.need_id, m.doc_id) for m in real_library.all_matches(limit_per_need=4)]
    assert len(expected) == 4 * len(real_library.needs())
    assert [(r["need_id"], r["doc_id"]) for r in rows] == expected
    assert [(d["need_id"], d["doc_id"]) for d in lines] == expected
    titles = {n.id: n.title for n in real_library.needs()}
    assert all(r["need_title"] == titles[r["need_id"]] for r in rows)
    assert any("株式会社" in r["organizations"] for r in rows), "Japanese organizations survive the CSV"


def test_evidence_is_in_the_documents_own_words(real_library, documents):
    """Every evidence passage the screens show is a span of what the source wrote (title, newline, text), never
    the English dictionary rendering that a Japanese passage is also indexed under."""
    by_id = {d.id: d for d in documents}

    def check(evidence, doc_id):
        doc = by_id[doc_id]
        analysed = f"{doc.title}\n{doc.text}"
        assert evidence.text == analysed[evidence.start : evidence.end], (doc.title, evidence.text)

    japanese_need_seen = False
    for need in real_library.needs():
        for m in real_library.match(need.id, limit=8).matches:
            check(m.need_evidence, need.id)
            check(m.doc_evidence, m.doc_id)
            japanese_need_seen |= need.language == "ja"
    assert japanese_need_seen
    for query in ("電波吸収材", "radar absorbing metamaterial", "群制御ドローン"):
        for hit in real_library.search(query, limit=10).hits:
            check(hit.evidence, hit.doc_id)


def test_need_page_pages_sorts_and_takes_an_id_prefix(real_client, real_library):
    import re

    need = real_library.needs()[0]
    ranked = [m.doc_id for m in real_library.match(need.id, limit=4).matches]
    first = real_client.get(f"/needs/{need.id[:8]}", params={"limit": 2})
    assert first.status_code == 200  # a prefix works as in `scout match`
    second = real_client.get(f"/needs/{need.id}", params={"limit": 2, "page": 2})
    ids = lambda html: re.findall(r'<li class="match" data-doc-id="([^"]+)"', html)  # noqa: E731
    assert ids(first.text) + ids(second.text) == ranked[:4]
    assert 'rel="next"' in first.text and 'rel="prev"' in second.text
    by_date = real_client.get(f"/needs/{need.id}", params={"sort": "date", "limit": 50})
    dates = [m.published for m in real_library.match(need.id, limit=200).matches]
    shown = ids(by_date.text)
    assert len(shown) == min(50, len(dates))
    stamps = [real_library.document(d).published for d in shown]
    known = [s for s in stamps if s is not None]
    assert known == sorted(known, reverse=True)
    assert real_client.get("/needs/zzzzzzzz").status_code == 404

