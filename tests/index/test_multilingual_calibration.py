"""The language-agnostic channel's cross-lingual calibration (index/ranking/calibration.py): a cross-lingual
pair's similarity is read in the units of same-language similarity, measured on the corpus. What a user relies
on: a Japanese document relevant to an English need gets back more of the weight the channel takes from it,
an English need still ranks English documents exactly as without the channel, a filter never changes a
score, and the breakdown names the channel's part and adds up."""

from __future__ import annotations

import dataclasses
import hashlib
import random
import re

import numpy as np
import pytest

from domain.models import SearchFilters
from domain.settings import IndexSettings
from index.ranking import Ranker, RankWeights
from index.ranking.calibration import MIN_DOCUMENTS, TailMap, cross_lingual_maps, fit_tail
from index.store import Index
from index.suppliers import KnownSuppliers
from nlp.fake import HashingEmbedder
from tests.index.conftest import make_doc
from tests.index.fakes import FakeEnricher

WORDS = {"量子": "quantum", "磁力計": "magnetometer", "航法": "navigation", "衛星": "satellite", "電池": "battery",
         "固体": "solid", "電解質": "electrolyte", "レーダー": "radar", "吸収": "absorbing", "材料": "material",
         "無人機": "drone", "検知": "detection", "赤外線": "infrared", "画像": "imaging", "通信": "communication",
         "暗号": "encryption", "水中": "underwater", "音響": "acoustic", "燃料": "fuel", "電池膜": "membrane"}


class Translating(HashingEmbedder):
    """A multilingual encoder in miniature: a Japanese text lands near its English meaning, not on it (its
    vector is 0.8 of the meaning plus a text-specific remainder), as USE-multilingual's translations do."""

    def __init__(self) -> None:
        super().__init__(dim=512, name="translating-multilingual")

    def encode(self, texts):
        pattern = "|".join(sorted(WORDS, key=len, reverse=True))
        out = []
        for t in texts:
            japanese = bool(re.search(r"[\u3040-\u30ff\u4e00-\u9fff]", t))
            meaning = super().encode([re.sub(r"[^\x00-\x7f]", " ", re.sub(pattern, lambda m: f" {WORDS[m.group()]} ", t))])[0]
            if japanese:
                seed = int.from_bytes(hashlib.blake2b(t.encode(), digest_size=4).digest(), "little")
                rest = np.random.default_rng(seed).standard_normal(self.dim).astype(np.float32)
                meaning = 0.8 * meaning + 0.6 * rest / np.linalg.norm(rest)
            out.append(meaning / (np.linalg.norm(meaning) or 1.0))
        return np.asarray(out, dtype=np.float32)


def _documents(n: int = 60):
    """`n` English and `n` Japanese documents, each on a random few of the words; an English need."""
    rnd = random.Random(7)
    pairs = list(WORDS.items())
    en, ja = [], []
    for i in range(n):
        words = rnd.sample(pairs, 5)
        en.append(make_doc(f"e{i}", " ".join(w for _, w in words[:3]).title(), " ".join(w for _, w in words) + " work."))
        words = rnd.sample(pairs, 5)
        ja.append(make_doc(f"j{i}", "".join(j for j, _ in words[:3]), "".join(j for j, _ in words) + "の研究。",
                           source="kaken"))
    need = make_doc("n1", "Solid electrolyte battery", "A solid electrolyte battery is wanted. It must be safe.",
                    kind="need", source="sbir")
    answer = make_doc("ja-answer", "固体電解質電池", "固体電解質の電池。", source="jstage")
    # the need's own wording in English tops the channel's scale, which a translation never reaches
    en.append(make_doc("e-same", "Solid electrolyte battery", "A solid electrolyte battery. It is safe."))
    return need, answer, en, ja


@pytest.fixture(scope="module")
def indexed(tmp_path_factory):
    need, answer, en, ja = _documents()
    enricher = FakeEnricher(dim=384, multilingual=Translating())
    with Index(IndexSettings(backend="edge", path=tmp_path_factory.mktemp("calibration") / "ix"), dim=384) as ix:
        ix.upsert(enricher.enrich([need, answer, *en, *ja])[0])
        yield ix, enricher, need, answer, {d.id for d in en}


def test_fit_tail_recovers_how_far_cross_lingual_similarities_fall_short():
    rng = np.random.default_rng(0)
    same = rng.beta(2, 8, 20_000)
    cross = 0.8 * rng.beta(2, 8, 20_000) + 0.02  # the same distribution, compressed
    found = fit_tail(cross, same)
    assert found is not None and found.slope == pytest.approx(1.25, abs=0.05)
    assert found(0.8 * 0.6 + 0.02) == pytest.approx(0.6, abs=0.02)
    # too few pairs for a tail: no map (similarities as they are); nor for an implausible slope
    assert fit_tail(cross[:40], same[:40]) is None
    assert fit_tail(0.1 * cross, same) is None


def test_the_maps_are_measured_on_the_corpus(indexed):
    ix, *_ = indexed
    maps = cross_lingual_maps(ix)
    # the miniature encoder's Japanese texts fall short of their meaning by 0.8: read back up
    assert set(maps) == {("en", "ja"), ("ja", "en")}
    assert maps["en", "ja"].slope > 1.05
    assert maps["en", "ja"](0.5) > 0.5


def test_too_few_documents_of_a_language_no_map(tmp_path):
    need, answer, en, ja = _documents(MIN_DOCUMENTS - 2)
    enricher = FakeEnricher(dim=384, multilingual=Translating())
    with Index(IndexSettings(backend="edge", path=tmp_path / "ix"), dim=384) as ix:
        ix.upsert(enricher.enrich([need, answer, *en, *ja])[0])
        assert cross_lingual_maps(ix) == {}


def _channel(ranker: Ranker, need_id: str):
    _, q = ranker.need_input(need_id)
    return q, {h.doc_id: h for h in ranker.channel_results(q)["multilingual"]}


def test_a_cross_lingual_pair_is_read_in_same_language_units(indexed):
    ix, enricher, need, answer, english = indexed
    on = Ranker(ix, enricher, KnownSuppliers())
    off = Ranker(ix, enricher, KnownSuppliers(), weights=RankWeights(multilingual_calibration="off"))
    q, calibrated = _channel(on, need.id)
    _, plain = _channel(off, need.id)
    unit: TailMap = cross_lingual_maps(ix)["en", "ja"]
    hit, before = calibrated[answer.id], plain[answer.id]
    assert hit.raw == before.raw  # the similarity itself, as the encoder gave it
    weight = RankWeights().hubness
    if hit.hubness is not None:  # the correction in the same units
        assert hit.correction == pytest.approx(weight * unit(hit.hubness), abs=1e-9)
    assert hit.score == pytest.approx(unit(hit.raw) - (hit.correction or 0.0), abs=1e-9)
    assert hit.score > before.score
    for d in english:  # an English document's similarity to an English need is already in those units
        if d in plain:
            assert calibrated[d] == plain[d]
    # so the Japanese answer's share of the channel grows, and with it its score
    got = {m.doc_id: m for m in on.match(need.id, limit=100).matches}
    was = {m.doc_id: m for m in off.match(need.id, limit=100).matches}
    assert got[answer.id].breakdown.multilingual > was[answer.id].breakdown.multilingual
    assert got[answer.id].score > was[answer.id].score
    rank = [m.doc_id for m in on.match(need.id, limit=100).matches].index(answer.id)
    assert rank < [m.doc_id for m in off.match(need.id, limit=100).matches].index(answer.id)


def test_english_documents_rank_as_without_the_channel(indexed):
    ix, enricher, need, _, english = indexed

    def english_ranking(weights: RankWeights):
        matches = Ranker(ix, enricher, KnownSuppliers(), weights=weights).match(need.id, limit=200).matches
        return [(m.doc_id, round(m.score, 9), m.breakdown.model_dump()) for m in matches if m.doc_id in english]

    calibrated = english_ranking(RankWeights())
    assert len(calibrated) >= 10
    assert calibrated == english_ranking(RankWeights(multilingual_calibration="off"))
    assert calibrated == english_ranking(RankWeights(multilingual=0))
    assert all(parts["multilingual"] == 0 for _, _, parts in calibrated)


@pytest.mark.parametrize("filters", [SearchFilters(language="ja"), SearchFilters(source="kaken"),
                                     SearchFilters(language="en")])
def test_a_filter_never_changes_a_calibrated_score(indexed, filters):
    ix, enricher, need, answer, _ = indexed
    ranker = Ranker(ix, enricher, KnownSuppliers())
    every = {m.doc_id: m.score for m in ranker.match(need.id, limit=200).matches}
    fresh = Ranker(ix, enricher, KnownSuppliers())  # nothing kept from the unfiltered ranking
    filtered = fresh.match(need.id, limit=200, filters=filters).matches
    assert filtered
    for m in filtered:
        assert m.score == pytest.approx(every[m.doc_id], abs=1e-9)


def test_the_breakdown_names_the_channel_and_adds_up(indexed):
    ix, enricher, need, answer, _ = indexed
    for m in Ranker(ix, enricher, KnownSuppliers()).match(need.id, limit=200).matches:
        parts = m.breakdown.contributions()
        assert "multilingual" in m.breakdown.model_dump()
        assert sum(parts.values()) == pytest.approx(m.breakdown.total, abs=1e-9)
    found = {m.doc_id: m for m in Ranker(ix, enricher, KnownSuppliers()).match(need.id, limit=200).matches}
    assert found[answer.id].breakdown.multilingual > 0


def test_a_japanese_query_calibrates_english_documents(indexed):
    """Free text too: a Japanese query's English hits are read in Japanese units; its Japanese hits are not
    touched."""
    ix, enricher, need, answer, english = indexed
    english = english | {need.id}  # free text searches the needs too
    on = Ranker(ix, enricher, KnownSuppliers())
    off = Ranker(ix, enricher, KnownSuppliers(), weights=RankWeights(multilingual_calibration="off"))
    q = on.query_input("固体電解質電池")
    calibrated = {h.doc_id: h for h in on.channel_results(q, exclude_kind=None)["multilingual"]}
    plain = {h.doc_id: h for h in off.channel_results(q, exclude_kind=None)["multilingual"]}
    unit = cross_lingual_maps(ix)["ja", "en"]
    for d, h in calibrated.items():
        expected = unit(plain[d].raw) if d in english else plain[d].raw
        assert h.score == pytest.approx(expected, abs=1e-9)
    assert any(calibrated[d].score != plain[d].score for d in calibrated if d in english)
    with pytest.raises(ValueError):
        Ranker(ix, enricher, KnownSuppliers(), weights=dataclasses.replace(
            RankWeights(), multilingual_calibration="quantile")).search("固体電解質電池")
