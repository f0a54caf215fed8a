"""The whole data path for real, on a small slice of the demo bundle: Scrapy over loopback HTTP, spaCy,
the packaged sentence-transformers model, Qdrant Edge, the ranker, the Prefect flows and the report."""

from __future__ import annotations

import email
import json
import shutil
from email import policy

import pytest
import yaml
from rich.console import Console

from scout.demo.site import DATA_DIR


def slice_bundle(dest, arxiv=25, announcements=30):
    dest.mkdir()
    for name, n in (("arxiv.jsonl", arxiv), ("announcements.jsonl", announcements)):
        lines = (DATA_DIR / name).read_text(encoding="utf-8").splitlines()[:n]
        (dest / name).write_text("\n".join(lines) + "\n", encoding="utf-8")
    solicitations = json.loads((DATA_DIR / "sbir_topics.json").read_text(encoding="utf-8"))[:2]
    (dest / "sbir_topics.json").write_text(json.dumps(solicitations), encoding="utf-8")
    needs = yaml.safe_load((DATA_DIR / "needs.yaml").read_text(encoding="utf-8"))
    needs["needs"] = needs["needs"][:1]
    (dest / "needs.yaml").write_text(yaml.safe_dump(needs, allow_unicode=True), encoding="utf-8")
    shutil.copyfile(DATA_DIR / "known_suppliers.yaml", dest / "known_suppliers.yaml")
    shutil.copyfile(DATA_DIR / "japanese.json", dest / "japanese.json")
    topics = sum(len(s["solicitation_topics"]) for s in solicitations)
    return topics + 1


@pytest.mark.slow
def test_demo_pipeline_end_to_end(tmp_path, scout_home, prefect_harness):
    from scout.demo.run import run_demo
    from service.index_library import open_library

    n_needs = slice_bundle(tmp_path / "bundle")
    console = Console(record=True, width=160)
    summary = run_demo(console, needs_shown=n_needs, top=3, data_dir=tmp_path / "bundle")

    printed = console.export_text()
    crawled = {s["source"]: s for s in summary["crawled"]}
    japanese = json.loads((DATA_DIR / "japanese.json").read_text(encoding="utf-8"))
    assert crawled["arxiv"]["new"] > 0 and crawled["feeds"]["new"] == 30 + len(japanese["prtimes"])
    assert crawled["jstage"]["new"] == len(japanese["jstage"]) and crawled["kaken"]["new"] == len(japanese["kaken"])
    assert crawled["needs_file"]["new"] == 1
    assert "Matches across languages" in printed and summary["crosslingual_matches"] > 0
    with open_library() as library:
        needs = library.needs()
        assert len(needs) == n_needs
        assert {n.language for n in needs} == {"en", "ja"}
        for need in needs:
            result = library.match(need.id, limit=3)
            assert result.matches, f"no match for {need.title}"
            assert need.title in printed  # the demo printed a table for every need
            top = result.matches[0]
            assert top.doc_evidence is not None and top.doc_evidence.text
            assert top.breakdown.total == pytest.approx(top.score)
        # the Japanese need finds English technology through the same index, and English needs Japanese technology
        ja_need = next(n for n in needs if n.language == "ja")
        assert all(m.kind != "need" for m in library.match(ja_need.id).matches)
        assert any(library.document(m.doc_id).language == "en" for m in library.match(ja_need.id, limit=5).matches)
        assert any(library.document(m.doc_id).language == "ja" for n in needs if n.language == "en"
                   for m in library.match(n.id, limit=5).matches)
        hits = library.search("radar absorbing metamaterial", limit=5).hits
        assert hits
    report = email.message_from_bytes(open(summary["report"], "rb").read(), policy=policy.default)
    assert report.get_body(("html",)) is not None and report.get_body(("plain",)) is not None
