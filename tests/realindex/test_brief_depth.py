"""The shortlist brief ranks no deeper than it needs: the need page's first 20 when every shortlisted document is
among them (organization rows never depend on the depth), 200 only for one shortlisted below, nothing when
nothing is shortlisted; the scores and evidence are the need page's either way."""

from __future__ import annotations

from service.analyst import AnalystStore
from service.brief import RANKED, build_brief


class _Counting:
    """The real library, recording the depth of each ranking asked for."""

    def __init__(self, library):
        self._library, self.limits = library, []

    def match(self, need_id: str, limit: int = 20):
        self.limits.append(limit)
        return self._library.match(need_id, limit=limit)

    def __getattr__(self, name):
        return getattr(self._library, name)


def _r(score: float) -> float:
    """Scores carry a recency term computed from the clock at each call (see test_doors._rounded)."""
    return round(score, 6)


def _need(real_library):
    return next(n for n in real_library.needs() if n.source == "atla" and n.language == "ja")


def test_a_brief_ranks_as_deep_as_its_shortlist(real_library, tmp_path):
    need = _need(real_library)
    deep = real_library.match(need.id, limit=RANKED)
    assert len(deep.matches) > 22  # the premise: documents below the first page
    near, far = deep.matches[1], deep.matches[22]
    org = deep.organizations[0]
    with AnalystStore(tmp_path / "analyst.sqlite") as store:
        counting = _Counting(real_library)
        assert build_brief(counting, store, need.id).technologies == [] and counting.limits == []

        store.judge(need.id, near.doc_id, "shortlisted", user="local")
        store.judge(need.id, org.key, "shortlisted", user="local", target="organization")
        counting.limits.clear()
        brief = build_brief(counting, store, need.id)
        assert counting.limits == [20]
        (tech,) = brief.technologies
        assert (tech.id, _r(tech.score), tech.doc_evidence) == (near.doc_id, _r(near.score), near.doc_evidence.text)
        assert [(o.id, _r(o.score)) for o in brief.organizations] == [(org.key, _r(org.score))]

        store.judge(need.id, far.doc_id, "shortlisted", user="local")
        counting.limits.clear()
        brief = build_brief(counting, store, need.id)
        assert counting.limits == [20, RANKED]
        scores = {t.id: (_r(t.score), t.doc_evidence) for t in brief.technologies}
        assert scores[far.doc_id] == (_r(far.score), far.doc_evidence.text)
        assert scores[near.doc_id] == (_r(near.score), near.doc_evidence.text)
