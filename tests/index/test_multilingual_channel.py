"""The language-agnostic channel in ranking (issue 27): a Japanese document meets an English need by meaning
(and the other way round), the breakdown names what it added, and without its vectors (the channel off, its
encoder missing, an index built before them) the ranking is exactly the one without it."""

from __future__ import annotations

import dataclasses
import re

import numpy as np
import pytest

from domain.settings import IndexSettings
from index.ranking import Ranker, RankWeights
from index.store import Index
from index.suppliers import KnownSuppliers
from nlp.fake import HashingEmbedder
from tests.index.conftest import make_doc
from tests.index.fakes import FakeEnricher

# What a multilingual encoder does, in miniature: words of either language land on the same point.
GLOSSARY = {"量子": "quantum", "磁力計": "magnetometer", "航法": "navigation", "衛星": "satellite",
            "電池": "battery", "固体": "solid", "電解質": "electrolyte"}


class Glossed(HashingEmbedder):
    """Hashes the English words of a text, Japanese ones read through GLOSSARY (512-d, normalised)."""

    def __init__(self) -> None:
        super().__init__(dim=512, name="glossed-multilingual")

    def encode(self, texts):
        pattern = "|".join(sorted(GLOSSARY, key=len, reverse=True))
        english = [re.sub(pattern, lambda m: f" {GLOSSARY[m.group()]} ", t) for t in texts]
        return super().encode([re.sub(r"[^\x00-\x7f]", " ", t) for t in english])


def corpus():
    need = make_doc("n1", "Quantum magnetometer navigation", "Navigation without satellites. A quantum magnetometer "
                    "is wanted.", kind="need", source="sbir")
    ja = make_doc("j1", "量子磁力計による航法", "衛星に頼らない航法。量子磁力計を用いる。", source="jstage")
    en_answer = make_doc("e1", "Solid electrolyte battery", "A solid electrolyte battery for soldiers.")
    others = [make_doc(f"x{i}", f"Unrelated work {i}", f"Crop irrigation study number {i} on water saving")
              for i in range(4)]
    ja_battery = make_doc("j2", "固体電解質電池", "固体電解質の電池。", source="kaken")
    return need, ja, en_answer, ja_battery, others


def _ranking(ranker: Ranker, need_id: str):
    return [(m.doc_id, round(m.score, 9), m.breakdown.model_dump()) for m in ranker.match(need_id).matches]


@pytest.fixture
def indexed(tmp_path):
    need, ja, en_answer, ja_battery, others = corpus()
    enricher = FakeEnricher(dim=384, multilingual=Glossed())
    with Index(IndexSettings(backend="edge", path=tmp_path / "ix"), dim=384) as ix:
        ix.upsert(enricher.enrich([need, ja, en_answer, ja_battery, *others])[0])
        yield ix, enricher, (need, ja, en_answer, ja_battery)


def test_an_english_need_meets_a_japanese_document_by_meaning(indexed):
    ix, enricher, (need, ja, _, ja_battery) = indexed
    assert RankWeights().multilingual > 0  # on by default
    matches = Ranker(ix, enricher, KnownSuppliers()).match(need.id).matches
    ranked = [m.doc_id for m in matches]
    unrelated = [d.id for d in corpus()[4]]
    # above every unrelated document (whose tiny hash collisions the dense channels' min-max scaling inflates)
    assert all(ranked.index(ja.id) < ranked.index(d) for d in unrelated if d in ranked)
    found = matches[ranked.index(ja.id)].breakdown
    assert found.multilingual > 0 and found.dense == 0  # the breakdown names the channel's share: all of it
    assert sum(found.contributions().values()) == pytest.approx(found.total, abs=1e-9)
    assert all(m.breakdown.multilingual < found.multilingual for m in matches if m.doc_id != ja.id)
    without = Ranker(ix, enricher, KnownSuppliers(), weights=RankWeights(multilingual=0)).match(need.id).matches
    assert all(m.breakdown.multilingual == 0 for m in without)
    # the dictionary-less fake gives the other channels nothing to go on: no channel share at all, no more
    # than an unrelated document
    off = {m.doc_id: m for m in without}
    assert off[ja.id].breakdown.dense == off[ja.id].breakdown.sparse == 0
    assert all(off[ja.id].score <= off[d].score + 1e-12 for d in unrelated if d in off)
    # so it rises with the channel: a higher score, and no lower a place (here, among ties at 0 before)
    assert found.total > off[ja.id].breakdown.total + 0.05
    assert ranked.index(ja.id) <= [m.doc_id for m in without].index(ja.id)
    # an unrelated Japanese document does not rise with it
    assert ja_battery.id not in ranked or ranked.index(ja_battery.id) > ranked.index(ja.id)


def test_a_japanese_query_finds_the_english_document(indexed):
    ix, enricher, (_, ja, en_answer, ja_battery) = indexed
    hits = Ranker(ix, enricher, KnownSuppliers()).search("固体電解質電池", limit=5)
    assert {h.doc_id for h in hits[:2]} == {en_answer.id, ja_battery.id}


def test_without_multilingual_vectors_the_ranking_is_the_one_without_the_channel(tmp_path, monkeypatch):
    need, ja, en_answer, ja_battery, others = corpus()
    docs = [need, ja, en_answer, ja_battery, *others]
    plain = FakeEnricher(dim=384)  # the channel off, or its encoder not installed: no vectors anywhere
    with Index(IndexSettings(backend="edge", path=tmp_path / "plain"), dim=384) as ix:
        ix.upsert(plain.enrich(docs)[0])
        off = _ranking(Ranker(ix, plain, KnownSuppliers(), weights=RankWeights(multilingual=0)), need.id)
        assert _ranking(Ranker(ix, plain, KnownSuppliers()), need.id) == off
    # an index built before the sentence vectors, queried by an enricher that has them: the same ranking
    import index.backends.edge as edge_mod
    from index.backends.base import TITLED_VECTORS

    glossed = FakeEnricher(dim=384, multilingual=Glossed())
    with monkeypatch.context() as m:
        m.setattr(edge_mod, "ALL_VECTORS", TITLED_VECTORS)
        with Index(IndexSettings(backend="edge", path=tmp_path / "old"), dim=384) as ix:
            ix.upsert(glossed.enrich(docs)[0])
    with Index(IndexSettings(backend="edge", path=tmp_path / "old"), dim=384) as ix:
        assert not ix.has_sentences()
        # (another index: documents of equal score may come in another order)
        assert sorted(_ranking(Ranker(ix, glossed, KnownSuppliers()), need.id), key=repr) == sorted(off, key=repr)


def test_multilingual_hubness_lowers_a_document_close_to_every_need(tmp_path):
    """With enough needs, a Japanese document whose sentences resemble every English need's title loses part
    of the channel's score (shown under `generic`, with the dense channels' correction)."""
    topics = [f"topic{i}" for i in range(24)]
    needs = [make_doc(f"n{i}", f"Quantum {t}", f"Quantum {t} is wanted.", kind="need", source="sbir")
             for i, t in enumerate(topics)]
    hub = make_doc("hub", "量子研究計画", "量子 量子 量子 研究。", source="kaken")
    answer = make_doc("a0", "量子 topic0 研究", "量子 topic0 の結果。", source="kaken")
    enricher = FakeEnricher(dim=384, multilingual=Glossed())
    with Index(IndexSettings(backend="edge", path=tmp_path / "ix"), dim=384) as ix:
        ix.upsert(enricher.enrich([*needs, hub, answer])[0])
        on = {m.doc_id: m for m in Ranker(ix, enricher, KnownSuppliers()).match(needs[0].id).matches}
        off = {m.doc_id: m for m in Ranker(ix, enricher, KnownSuppliers(), weights=RankWeights(multilingual=0))
               .match(needs[0].id).matches}
    assert on[hub.id].breakdown.multilingual > 0
    assert on[hub.id].breakdown.generic < off[hub.id].breakdown.generic <= 0  # the channel's correction added
    assert on[answer.id].score > on[hub.id].score
    assert np.isfinite([m.score for m in on.values()]).all()
    for m in on.values():
        assert sum(m.breakdown.contributions().values()) == pytest.approx(m.breakdown.total, abs=1e-9)


def _english_corpus():
    need = make_doc("n1", "Quantum magnetometer navigation", "Navigation without satellites. A quantum magnetometer "
                    "is wanted. It must be small.", kind="need", source="sbir")
    docs = [make_doc("e1", "Quantum magnetometer", "A quantum magnetometer for navigation without satellites."),
            make_doc("e2", "Satellite navigation receiver", "A navigation receiver for satellite signals."),
            make_doc("e3", "Solid electrolyte battery", "A solid electrolyte battery for soldiers."),
            make_doc("e4", "Magnetic anomaly maps", "Maps of magnetic anomalies for navigation."),
            *[make_doc(f"x{i}", f"Unrelated work {i}", f"Crop irrigation study number {i} on water saving")
              for i in range(4)]]
    return need, docs


@pytest.mark.parametrize("pairs,taken_from", [("cross", "dense"), ("japanese", "dense"), ("cross", "all")])
def test_an_english_need_ranks_english_documents_as_without_the_channel(tmp_path, pairs, taken_from):
    """Same-language pairs are the dense channels' own: an English need's ranking of English documents, and
    every score and breakdown part, are those without the channel, although the channel finds them all (so
    `scout eval` on English documents is what it was without the channel). An English free-text query's
    hits among English documents, and their scores, are the same too."""
    need, docs = _english_corpus()
    ja = make_doc("j1", "量子磁力計による航法", "衛星に頼らない航法。量子磁力計を用いる。", source="jstage")
    enricher = FakeEnricher(dim=384, multilingual=Glossed())
    with Index(IndexSettings(backend="edge", path=tmp_path / "ix"), dim=384) as ix:
        ix.upsert(enricher.enrich([need, *docs, ja])[0])
        weights = RankWeights(multilingual_pairs=pairs, multilingual_from=taken_from)
        on = Ranker(ix, enricher, KnownSuppliers(), weights=weights)
        off = Ranker(ix, enricher, KnownSuppliers(), weights=dataclasses.replace(weights, multilingual=0))
        _, q = on.need_input(need.id)
        assert on.channel_results(q)["multilingual"]  # the channel runs and finds documents
        english = {d.id for d in docs}
        with_channel = [r for r in _ranking(on, need.id) if r[0] in english]
        without = [r for r in _ranking(off, need.id) if r[0] in english]
        assert with_channel == without and len(without) >= 5
        assert all(parts["multilingual"] == 0 for _, _, parts in with_channel)
        searched = [(h.doc_id, h.score) for h in on.search("quantum magnetometer navigation") if h.doc_id in english]
        assert searched == [(h.doc_id, h.score) for h in off.search("quantum magnetometer navigation")
                            if h.doc_id in english]


def test_multilingual_hubness_counts_the_needs_of_the_query_language(tmp_path):
    """CSLS's neighbourhood is the query side: the channel scores an English need against Japanese documents,
    so a Japanese document's hubness for it is its closeness to the other English needs' titles. Japanese
    needs like it (same-language similarities run higher) take no part: they would over-correct it for every
    English need. The other way round, a Japanese need's neighbourhood is the Japanese needs."""
    en_needs = [make_doc(f"n{i}", f"Battery topic{i}", f"Battery topic{i} is wanted.", kind="need", source="sbir")
                for i in range(12)]
    ja_needs = [make_doc(f"m{i}", f"固体電解質電池 課題{i}", f"固体電解質電池 課題{i}。", kind="need", source="atla")
                for i in range(12)]
    doc = make_doc("j1", "固体電解質電池", "固体電解質の電池。", source="kaken")
    en_doc = make_doc("e1", "Battery topic0 cells", "Battery topic0 cells for soldiers.")
    enricher = FakeEnricher(dim=384, multilingual=Glossed())
    k = RankWeights().hubness_k
    with Index(IndexSettings(backend="edge", path=tmp_path / "ix"), dim=384) as ix:
        ix.upsert(enricher.enrich([*en_needs, *ja_needs, doc, en_doc])[0])
        ranker = Ranker(ix, enricher, KnownSuppliers())
        titles = {n: v[0] for n, v in ix.sentence_vectors([d.id for d in [*en_needs, *ja_needs]]).items()}
        sentences = ix.sentence_vectors([doc.id, en_doc.id])

        def expected(d: str, need: str, among: list) -> float:
            sims = sorted((float((sentences[d] @ titles[n.id]).max()) for n in among if n.id != need), reverse=True)
            return sum(sims[:k]) / len(sims[:k])

        for need, own, other_side, served in ((en_needs[0], en_needs, ja_needs, doc), (ja_needs[0], ja_needs,
                                                                                     en_needs, en_doc)):
            hub = ranker.hubness.multilingual([served.id], need.id)[served.id]
            assert hub == pytest.approx(expected(served.id, need.id, own), abs=2e-3)
            everyone = expected(served.id, need.id, [*own, *other_side])
            assert abs(hub - everyone) > 0.05  # the other language's needs would have moved it
            # and that is the correction the channel takes in the ranking
            _, q = ranker.need_input(need.id)
            hits = {h.doc_id: h for h in ranker.channel_results(q)["multilingual"]}
            assert hits[served.id].hubness == pytest.approx(hub, abs=1e-9)
