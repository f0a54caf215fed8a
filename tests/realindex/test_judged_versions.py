"""A document judged not relevant is never folded into another result as one of its versions.

Versions of one technology (one firm's Phase I and Phase II awards under one title) fold into one result at
query time, the best version leading. A not-relevant judgement moves the judged document down, so before this
rule it could fall below its sibling version and be listed, unjudged, among that sibling's versions (or, leading
its group, carry the unjudged sibling down with it). Its own small index: two versions of one technology among
other answers to one need.
"""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from domain.models import Document
from domain.settings import IndexSettings, NlpSettings
from index.store import Index
from nlp.fake import HashingEmbedder
from nlp.pipeline import Enricher
from service.analyst import AnalystStore
from index.ranking.feedback import Feedback
from service.index_library import IndexLibrary, JudgementFeedback

TEXT = ("A compact sensor fuses inertial measurements with a cold-atom interferometer for navigation where "
        "satellite signals are denied. {extra}")


def _doc(kind: str, sid: str, title: str, text: str, orgs: list[str], published: str) -> Document:
    return Document.make(kind=kind, source="sbir", source_id=sid, url=f"https://example.org/sbir/{sid}",
                         title=title, text=text, language="en", organizations=orgs,
                         published=datetime.fromisoformat(published).replace(tzinfo=timezone.utc),
                         first_seen=datetime(2026, 10, 1, tzinfo=timezone.utc))


@pytest.fixture()
def library(tmp_path, scout_home):
    docs = [
        _doc("need", "N-1", "Quantum navigation in GNSS-denied environments",
             "Seeking atom interferometer inertial sensors for navigation without satellite signals.",
             ["U.S. Navy"], "2025-01-10"),
        _doc("startup", "A-1", "Cold-atom inertial navigation unit", TEXT.format(extra="Phase I feasibility."),
             ["Atomic Nav Inc."], "2023-03-01"),
        _doc("startup", "A-2", "Cold-atom inertial navigation unit", TEXT.format(extra="Phase II prototype."),
             ["Atomic Nav Inc."], "2025-03-01"),
        _doc("research", "R-1", "Atom interferometry for inertial sensing",
             "Atom interferometers measure acceleration and rotation for navigation.", ["Example University"],
             "2024-05-01"),
        _doc("research", "R-2", "GNSS-free positioning with quantum sensors",
             "Quantum sensors give positioning without satellite navigation signals.", ["Other Institute"],
             "2024-06-01"),
    ]
    enricher = Enricher(NlpSettings(cache=False), embedder=HashingEmbedder())
    enriched, rejects = enricher.enrich(docs)
    assert not rejects, rejects
    index = Index(IndexSettings(backend="edge", path=tmp_path / "index"), dim=enricher.embedder.dim,
                  command="pytest judged versions")
    lib = IndexLibrary(index, enricher, feedback=JudgementFeedback())
    try:
        index.upsert(enriched)
        yield lib, docs[0].id
    finally:
        lib.close()


def _versions(matches) -> dict[str, str]:
    return {v.doc_id: m.doc_id for m in matches for v in m.versions if v.doc_id != m.doc_id}


def _the_pair(results, judged: str):
    """(the result leading the two versions, the version to judge, the other one): `judged` is "lead" or not."""
    grouped = [r for r in results if r.versions]
    assert len(grouped) == 1, "the fixture's two versions fold into one result"
    head = grouped[0]
    sibling = next(v.doc_id for v in head.versions if v.doc_id != head.doc_id)
    return (head, head.doc_id, sibling) if judged == "lead" else (head, sibling, head.doc_id)


@pytest.mark.parametrize("judged", ["lead", "other version"])
def test_a_version_judged_not_relevant_stands_alone_judged_and_its_sibling_stays_a_result(library, judged):
    lib, need_id = library
    before = lib.match(need_id, limit=10).matches
    head, target, other = _the_pair(before, judged)

    with AnalystStore() as store:
        store.judge(need_id, target, "not_relevant", user="ann")
    after = lib.match(need_id, limit=10).matches

    listed = {m.doc_id: m for m in after}
    assert target not in _versions(after), "the judged document is listed as another result's version"
    assert target in listed and listed[target].judgement == "not_relevant", "the judgement is not shown"
    assert listed[target].versions == [], "the judged result carries other documents down with it"
    assert all(m.rank < listed[target].rank for m in after if m.judgement != "not_relevant")
    assert other in listed and listed[other].judgement is None, "its sibling version vanished from the list"
    assert listed[target].score <= head.score + 1e-9


@pytest.mark.parametrize("judged", ["lead", "other version"])
def test_a_watchlist_hit_judged_not_relevant_stands_alone_and_its_sibling_stays_a_hit(library, judged):
    """The same for a search with a watchlist's judgements (`feedback`), as `service.watch.refresh` runs it."""
    lib, _ = library
    query = "cold-atom inertial navigation"
    _, target, other = _the_pair(lib.search(query, limit=10).hits, judged)

    after = lib.search(query, limit=10, feedback=Feedback(relevant=(), not_relevant=(target,))).hits
    listed = {h.doc_id: h for h in after}
    assert target not in _versions(after), "the judged document is listed as another hit's version"
    assert target in listed and listed[target].versions == [], "the judged hit is not a hit of its own"
    assert other in listed, "its sibling version vanished from the hits"
