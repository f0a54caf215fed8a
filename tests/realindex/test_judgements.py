"""Judgements over the real index: they key on stable ids, so a re-crawled, changed document keeps its
judgement, and the need page, the feedback and the brief still show it."""

from __future__ import annotations

from fastapi.testclient import TestClient

from domain.models import Document
from domain.settings import WebSettings
from scout.web.app import create_app
from service.analyst import AnalystStore
from service.brief import build_brief


def test_a_changed_document_keeps_its_judgement(real_library, tmp_path):
    need = next(n for n in real_library.needs() if n.source == "atla")
    match = real_library.match(need.id, limit=5).matches[1]
    with AnalystStore(tmp_path / "analyst.sqlite") as store:
        client = TestClient(create_app(real_library, WebSettings(token=None), store), base_url="http://127.0.0.1")
        put = client.put(f"/api/needs/{need.id}/judgements/document/{match.doc_id}",
                         json={"state": "shortlisted", "note": "keep"})
        assert put.status_code == 200, put.text
        original = real_library.document(match.doc_id)
        changed = Document.make(kind=original.kind, source=original.source, source_id=original.source_id,
                                url=original.url, title=original.title + " (revised)",
                                text=original.text + " Revised with new results.", language=original.language,
                                organizations=original.organizations, published=original.published)
        assert changed.id == original.id and changed.content_hash != original.content_hash
        enriched, _ = real_library.enricher.enrich([changed])
        real_library.index.upsert(enriched)  # a re-crawl of the changed page
        try:
            assert real_library.document(match.doc_id).title.endswith("(revised)")
            assert store.feedback(need.id) == ([match.doc_id], [])
            html = client.get(f"/needs/{need.id}").text
            first = html.index('<li class="match"')
            assert f'data-doc-id="{match.doc_id}" id="m-{match.doc_id}" data-state="shortlisted"' in html[first:first + 300]
            brief = build_brief(real_library, store, need.id)
            assert [t.name for t in brief.technologies] == [original.title + " (revised)"]
            assert brief.technologies[0].judgement.note == "keep" and brief.technologies[0].doc_evidence
        finally:
            restored, _ = real_library.enricher.enrich([original])
            real_library.index.upsert(restored)
        assert real_library.document(match.doc_id) == original  # the other real-index tests see it unchanged


def test_judgements_move_the_ranking_through_the_library(real_library, scout_home):
    """The library hands a need's judgements (in $SCOUT_HOME's analyst database) to its ranking: the judged
    not-relevant match keeps its score, goes last and shows a negative feedback indicator; undone, the ranking
    is today's again."""
    need = next(n for n in real_library.needs() if n.source == "atla")
    before = real_library.match(need.id, limit=10).matches
    assert all(m.breakdown.feedback == 0 for m in before)  # no analyst database: no feedback
    rejected = before[0]
    with AnalystStore() as store:  # the default database, as `scout judge` and the web app use
        store.judge(need.id, rejected.doc_id, "not_relevant", user="analyst")
        after = real_library.match(need.id, limit=10).matches
        moved = next(m for m in after if m.doc_id == rejected.doc_id)
        assert moved is after[-1] and moved.judgement == "not_relevant"
        assert moved.score == rejected.score and moved.breakdown.feedback < 0
        store.judge(need.id, rejected.doc_id, "cleared", user="analyst")
        undone = real_library.match(need.id, limit=10).matches
    assert [(m.doc_id, m.score) for m in undone] == [(m.doc_id, m.score) for m in before]


def test_scout_match_counts_the_matches_asked_for_apart_from_the_rejected(real_library, scout_home):
    """`scout match --limit 3` with a match judged not relevant titled its table "4 matches": the three asked
    for, then the rejected one listed last, counted apart; the organization table says what it is scored over."""
    from typer.testing import CliRunner

    from scout.cli import app as cli_app
    from scout.commands._library import use_library

    need = next(n for n in real_library.needs() if n.source == "atla")
    rejected = real_library.match(need.id, limit=3).matches[0]
    with AnalystStore() as store:
        store.judge(need.id, rejected.doc_id, "not_relevant", user="analyst")
        try:
            with use_library(real_library):
                shown = CliRunner().invoke(cli_app, ["match", need.id, "--limit", "3"], env={"COLUMNS": "200"})
            orgs = real_library.match(need.id, limit=3).organizations
        finally:
            store.judge(need.id, rejected.doc_id, "cleared", user="analyst")
    assert shown.exit_code == 0, shown.output
    assert "3 matches (and 1 judged not relevant, listed last)" in shown.stdout and "4 matches" not in shown.stdout
    assert f"{len(orgs)} organizations behind the best 20 matches" in shown.stdout


def test_every_needs_judgements_in_one_read_are_each_needs(real_library, scout_home):
    """JudgementFeedback.document_states (the organization and document pages' one query for every need)
    gives what `states` gives need by need: current judgements only, an undo gone."""
    from service.index_library import JudgementFeedback

    feedback = JudgementFeedback()
    assert feedback.document_states() == {}  # no analyst database yet
    needs = [n for n in real_library.needs()][:2]
    with AnalystStore() as store:
        a = real_library.match(needs[0].id, limit=3).matches
        b = real_library.match(needs[1].id, limit=3).matches
        store.judge(needs[0].id, a[0].doc_id, "shortlisted", user="analyst")
        store.judge(needs[0].id, a[1].doc_id, "not_relevant", user="analyst")
        store.judge(needs[1].id, b[0].doc_id, "relevant", user="analyst")
        store.judge(needs[1].id, b[0].doc_id, "cleared", user="analyst")
        every = feedback.document_states()
        assert every == {needs[0].id: {a[0].doc_id: "shortlisted", a[1].doc_id: "not_relevant"}}
        assert all(every.get(n.id, {}) == feedback.states(n.id) for n in needs)
    feedback.close()
