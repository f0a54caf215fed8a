"""What a judged need's page says of the judgements beside each match: "Judgements moved it up (order only)"
only where they moved it, in the direction they moved it.

Relevance feedback adds a centred Rocchio term to each document's place in the order: nearly every document
has one, of either sign, and a positive term can still leave a document below where it stood (others gained
more). The page and `scout match` had said "Judgements moved it up (+0.097, order only)" beside every match
whose term rounded above zero: on the demo, after one relevant judgement, beside all ten of a need's best,
the first (still first) and the judged one (still second) included, and "up" beside a match that fell two
places. `ScoreBreakdown.moved` is the places the judgements moved it; the note follows it.
"""

from __future__ import annotations

import re

from index.ranking.feedback import Feedback
from service.analyst import AnalystStore


def _needs(library):
    return [next(n for n in library.needs() if n.source == source) for source in ("atla", "sbir")]


def _places_moved(ranker, need_id: str, feedback: Feedback) -> dict[str, int]:
    """Each document's place in the need's ranking without the judgements, less its place with them (documents
    judged not relevant aside): what the judgements did to the order, read off the two rankings."""
    _, q = ranker.need_input(need_id)
    after = [r.doc_id for r in ranker.rank(q, limit=200, feedback=feedback) if r.doc_id not in feedback.not_relevant]
    before = [r.doc_id for r in ranker.rank(q, limit=200) if r.doc_id in set(after)]
    assert sorted(before) == sorted(after), "the same documents ranked with and without the judgements"
    return {d: before.index(d) - after.index(d) for d in after}


def test_moved_is_the_places_the_judgements_moved_each_document(real_library):
    ranker = real_library.ranker
    moved_somewhere = still = 0
    for need in _needs(real_library):
        _, q = ranker.need_input(need.id)
        plain = [r.doc_id for r in ranker.rank(q, limit=200)]
        for feedback in (Feedback(relevant=(plain[3],)), Feedback(relevant=(plain[0],), not_relevant=(plain[1],))):
            places = _places_moved(ranker, need.id, feedback)
            for r in ranker.rank(q, limit=200, feedback=feedback):
                if r.doc_id in feedback.not_relevant:
                    continue
                assert r.breakdown.moved == places[r.doc_id], (r.payload.get("title"), r.breakdown.moved)
                moved_somewhere += r.breakdown.moved != 0
                still += r.breakdown.moved == 0 and round(r.breakdown.feedback, 3) != 0
    assert moved_somewhere and still, "the fixture has documents the judgements moved and ones they left in place"


def test_the_need_page_says_judgements_moved_a_match_only_where_they_did(real_library, real_client, scout_home):
    need = _needs(real_library)[1]
    judged = real_library.match(need.id, limit=20).matches[3].doc_id
    with AnalystStore() as store:
        store.judge(need.id, judged, "relevant", user="ann")
    places = _places_moved(real_library.ranker, need.id, Feedback(relevant=(judged,)))
    page = real_client.get(f"/needs/{need.id}").text
    blocks = re.findall(r'<li class="match" data-doc-id="([^"]+)"(.*?)</li>', page, flags=re.S)
    assert blocks
    notes = 0
    for doc_id, block in blocks:
        said = re.search(r"Judgements moved it (up|down)", block)
        if places[doc_id]:
            assert said and said.group(1) == ("up" if places[doc_id] > 0 else "down"), (doc_id, places[doc_id])
            notes += 1
        else:
            assert said is None, f"{doc_id[:8]} kept its place, yet the page says {said.group(0)!r}"
    assert notes < len(blocks), "not every match moved"
