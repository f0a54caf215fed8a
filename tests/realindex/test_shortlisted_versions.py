"""A document shortlisted while it is ranked as a version of another result (one technology's Phase I and
Phase II, folded into one result) is ranked: the brief gives it its own score, and `scout judge` finds it by
the id prefix the need page shows for it. On the demo, the second of two 'Warden' awards (a version of the first,
0.781) read "no longer ranked" in the brief, and `scout judge NEED 2beacdcd shortlisted` answered "unknown
document id". Its own small index: the two versions among other answers to one need (tests/realindex/
test_judged_versions.py's)."""

from __future__ import annotations

from typer.testing import CliRunner

from service.analyst import AnalystStore
from service.brief import build_brief
from tests.realindex.test_judged_versions import _the_pair, library  # noqa: F401 - the fixture


def test_both_versions_shortlisted_each_keep_their_own_score_in_the_brief(library):  # noqa: F811
    """An analyst shortlists both awards: one leads the result, the other is folded into it as its version."""
    lib, need_id = library
    head, lead, other = _the_pair(lib.match(need_id, limit=10).matches, "lead")
    with AnalystStore() as store:
        store.judge(need_id, lead, "shortlisted", user="ann", note="the Phase II award")
        store.judge(need_id, other, "shortlisted", user="ann", note="the Phase I award")
        after = lib.match(need_id, limit=10).matches
        brief = build_brief(lib, store, need_id)
    folded = {v.doc_id: (m, v) for m in after for v in m.versions if v.doc_id != m.doc_id}
    assert len(folded) == 1, "the two versions stay one result"
    (version, (result, shown)), = folded.items()
    items = {i.id: i for i in brief.technologies}
    assert set(items) == {lead, other}
    assert items[version].score is not None, "a ranked version read 'no longer ranked'"
    assert items[version].score == shown.score and items[version].label
    assert items[version].version_of == result.title
    assert items[version].doc_evidence and items[version].need_evidence
    assert items[result.doc_id].score == result.score and not items[result.doc_id].version_of
    from scout.web.brief_html import render_brief_html

    assert f"ranked as a version of “{result.title}”" in render_brief_html(brief)


def test_scout_judge_takes_a_folded_versions_id_prefix(library, monkeypatch):  # noqa: F811
    from scout.cli import app
    from scout.commands import _library as library_module

    lib, need_id = library
    _, version, _ = _the_pair(lib.match(need_id, limit=10).matches, "other version")
    monkeypatch.setattr(library_module, "_override", lib)  # the command runs on this index
    result = CliRunner().invoke(app, ["judge", need_id[:8], version[:8], "shortlisted"])
    assert result.exit_code == 0, result.output
    with AnalystStore() as store:
        assert [(j.target_id, j.state.value) for j in store.judgements(need_id)] == [(version, "shortlisted")]
