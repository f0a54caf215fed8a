"""Ranker on a small corpus through the real Index (Qdrant Edge) and a deterministic enricher."""

from __future__ import annotations

import threading
from datetime import date

import pytest

from index.ranking import Ranker
from index.store import Index
from index.suppliers import KnownSuppliers
from domain.models import DocKind, SearchFilters
from domain.settings import IndexSettings
from tests.index.conftest import corpus, make_doc


@pytest.fixture
def ranker(tmp_path, enricher):
    docs = corpus() + [
        make_doc("n2", "Radar absorbing coatings", "Coatings that absorb radar. A metamaterial is welcome.",
                 kind="need", source="sbir"),
        make_doc("r3", "Agricultural drones", "Drones spray crops. Farmers save water.", orgs=("Farm Air",)),
    ]
    with Index(IndexSettings(backend="edge", path=tmp_path / "ix"), dim=32) as ix:
        ix.upsert(enricher.enrich(docs)[0])
        yield Ranker(ix, enricher, KnownSuppliers(["Lockheed Martin Corporation"])), docs


def test_match_ranks_answers_with_explanations(ranker):
    r, docs = ranker
    need = docs[0]
    result = r.match(need.id, limit=10)
    assert result.need.id == need.id
    ids = [m.doc_id for m in result.matches]
    assert need.id not in ids and docs[5].id not in ids  # needs never match needs
    assert ids[0] == docs[1].id  # the quantum magnetometer answers the quantum sensing need
    assert ids.index(docs[1].id) < ids.index(docs[6].id)  # ... far above agricultural drones
    assert [m.rank for m in result.matches] == list(range(1, len(ids) + 1))
    assert all(a.score >= b.score for a, b in zip(result.matches, result.matches[1:]))
    top = result.matches[0]
    b = top.breakdown
    assert top.score == b.total == pytest.approx(sum(b.contributions().values()))  # the parts add up
    assert all(0.0 <= m.score <= 1.0 for m in result.matches)
    assert b.dense > 0 and b.sparse > 0 and b.concept > 0 and b.clipped == 0.0
    assert 0 < b.similarity <= 1.0 and b.bm25 > 0  # the raw similarities, beside the contributions
    assert top.shared_concepts == ["quantum-sensing"]
    need_text = f"{need.title}\n{need.text}"
    doc_text = f"{docs[1].title}\n{docs[1].text}"
    assert need_text[top.need_evidence.start : top.need_evidence.end] == top.need_evidence.text
    assert doc_text[top.doc_evidence.start : top.doc_evidence.end] == top.doc_evidence.text
    assert top.title == docs[1].title and top.url == docs[1].url and top.kind == DocKind.research


def test_organizations_aggregate_and_flag_known_suppliers(ranker):
    r, docs = ranker
    orgs = {o.key: o for o in r.match(docs[0].id, limit=10).organizations}
    acme = orgs["acmequantum"]
    assert set(acme.doc_ids) == {docs[1].id, docs[3].id} and not acme.known_supplier
    assert list(orgs)[0] == "acmequantum"  # two answering documents: first
    radar = r.match(docs[5].id, limit=10)
    lm = {o.key: o for o in radar.organizations}["lockheedmartin"]
    assert lm.known_supplier and lm.doc_ids[0] == docs[2].id
    assert radar.matches[0].doc_id == docs[2].id


def test_match_filters(ranker):
    r, docs = ranker
    startups = r.match(docs[0].id, filters=SearchFilters(kind=DocKind.startup)).matches
    assert [m.doc_id for m in startups] == [docs[3].id]
    recent = r.match(docs[0].id, filters=SearchFilters(since=date(2021, 1, 1))).matches
    assert docs[2].id not in {m.doc_id for m in recent}  # 2019
    assert r.match(docs[0].id, filters=SearchFilters(concept="metamaterial")).matches[0].doc_id == docs[2].id
    with pytest.raises(ValueError):
        r.match(docs[0].id, filters=SearchFilters(kind=DocKind.need))
    with pytest.raises(ValueError):
        r.match(docs[1].id)  # not a need
    with pytest.raises(KeyError):
        r.match("missing")


def test_search_free_text(ranker):
    r, docs = ranker
    hits = r.search("radar absorbing metamaterial coating", limit=5)
    assert {h.doc_id for h in hits[:2]} == {docs[2].id, docs[5].id}  # search covers needs too
    hits = r.search("radar absorbing metamaterial coating", SearchFilters(kind=DocKind.research), limit=5)
    assert hits[0].doc_id == docs[2].id and all(h.kind == DocKind.research for h in hits)
    assert hits[0].evidence is not None and "radar" in hits[0].evidence.text.lower()
    needs_only = r.search("radar absorbing coating", SearchFilters(kind=DocKind.need), limit=5)
    assert [h.doc_id for h in needs_only][0] == docs[5].id and all(h.kind == DocKind.need for h in needs_only)
    ja = r.search("量子センシング 磁気センサー", SearchFilters(language="ja"))
    assert [h.doc_id for h in ja] == [docs[4].id]


def test_need_query_weighs_terms_by_rarity_among_needs(ranker):
    """A word many needs use (solicitation boilerplate) weighs less in a need's BM25 query than its subject."""
    from index.ranking import RankWeights
    from index.ranking.query import subject_weighted
    from nlp.base import SparseVector

    r, docs = ranker
    extra = [make_doc("n3", "Prototype sensors", "A prototype of rugged sensors is sought.", kind="need"),
             make_doc("n4", "Prototype radar", "A prototype radar is sought.", kind="need")]
    r.index.upsert(r.enricher.enrich(extra)[0])
    term = {w: r.enricher.sparse.encode_query(w, "en").indices[0] for w in ("prototype", "metamaterial", "farmers")}
    query = SparseVector(indices=list(term.values()), values=[2.0, 2.0, 2.0])
    assert subject_weighted(query, r.stats, r.weights) == query  # 4 needs: too few to tell boilerplate from subject
    r.weights = RankWeights(need_idf_min_needs=4)
    weighted = subject_weighted(query, r.stats, r.weights)
    got = dict(zip(weighted.indices, weighted.values))
    assert got[term["farmers"]] == pytest.approx(2.0)  # no need says it
    assert got[term["prototype"]] < got[term["metamaterial"]] < got[term["farmers"]]  # 2 needs < 1 need < none
    # the full ranking's query for a need: its title terms boosted on top
    _, q = r.need_input(docs[5].id)
    focused = dict(zip(q.focused_sparse.indices, q.focused_sparse.values))
    subject = dict(zip(q.subject_sparse.indices, q.subject_sparse.values))
    radar = r.enricher.sparse.encode_query("radar", "en").indices[0]
    welcome = r.enricher.sparse.encode_query("welcome", "en").indices[0]
    assert focused[radar] == pytest.approx(2 * subject[radar]) and focused[welcome] == pytest.approx(subject[welcome])
    assert r.rank(q, limit=3)[0].doc_id == docs[2].id  # radar absorbing material still answers first


def test_documents_close_to_every_need_are_corrected_for_hubness(tmp_path):
    """CSLS: a document that resembles every need (programme prose) loses its dense lead to a specific one."""
    from index.ranking import RankWeights
    from tests.index.fakes import FakeEnricher

    enricher = FakeEnricher(dim=384)  # wide enough that hashed words rarely collide

    boilerplate = "The Army seeks innovative prototypes for soldiers in the field."
    subjects = ["Quantum magnetometers detect hidden submarines.", "Lithium sulfur cells power radios.",
                "Ceramic tiles shield hypersonic gliders.", "Lasers dazzle hostile drone cameras.",
                "Acoustic modems link underwater vehicles."]
    needs = [make_doc(f"h{i}", f"Need {i}", f"{boilerplate} {subject}", kind="need") for i, subject in enumerate(subjects)]
    generic = make_doc("g", "Programme", boilerplate)
    specific = make_doc("s", "Magnetometers", "Quantum magnetometers detect submarines at sea.")
    with Index(IndexSettings(backend="edge", path=tmp_path / "ix"), dim=enricher.embedder.dim) as ix:
        ix.upsert(enricher.enrich([*needs, generic, specific])[0])

        def dense_order(weights: RankWeights) -> tuple[list[str], dict]:
            ranker = Ranker(ix, enricher, KnownSuppliers(), weights=weights)
            _, q = ranker.need_input(needs[0].id)
            hits = ranker.channel_results(q)["dense"]  # best first
            return [h.doc_id for h in hits], {h.doc_id: h for h in hits}

        plain, _ = dense_order(RankWeights(hubness=0.0, need_idf_min_needs=4))
        assert plain.index(generic.id) < plain.index(specific.id)  # the copied boilerplate is the best pair
        corrected, cands = dense_order(RankWeights(need_idf_min_needs=4))
        assert corrected.index(specific.id) < corrected.index(generic.id)
        assert cands[generic.id].hubness == pytest.approx(1.0, abs=1e-5)  # identical to a passage of every need
        assert cands[specific.id].hubness < 0.5
        assert cands[generic.id].raw == pytest.approx(1.0, abs=1e-5)  # the breakdown keeps the similarity
        for hit in cands.values():  # the correction taken is the one recorded
            assert hit.score == pytest.approx(hit.raw - hit.correction) and hit.correction == 0.5 * hit.hubness
        # the ranking shows it: the generic document's breakdown says how generic it is
        ranker = Ranker(ix, enricher, KnownSuppliers(), weights=RankWeights(need_idf_min_needs=4))
        by_id = {m.doc_id: m for m in ranker.match(needs[0].id).matches}
        assert by_id[specific.id].rank < by_id[generic.id].rank
        g, s = by_id[generic.id].breakdown, by_id[specific.id].breakdown
        assert g.generic < s.generic <= 0.0  # a negative contribution, the larger the more generic
        assert g.similarity == pytest.approx(1.0, abs=1e-5)  # beside the raw similarity it corrects
        # BM25 too: every need's query ranks the boilerplate document; only need 0's ranks the specific one
        assert g.generic_lexical < 0.0 == s.generic_lexical
        for m in by_id.values():  # corrections included, the contributions add up to the score
            assert m.score == pytest.approx(sum(m.breakdown.contributions().values()))
        plain_sparse = Ranker(ix, enricher, KnownSuppliers(), weights=RankWeights(hubness=0.0, need_idf_min_needs=4))
        unscaled = {m.doc_id: m.breakdown.bm25 for m in plain_sparse.match(needs[0].id).matches}
        assert s.bm25 == pytest.approx(unscaled[specific.id])  # the BM25 score itself
        # too few needs to tell a hub from an answer: no correction
        few, cands = dense_order(RankWeights())
        assert few == plain and cands[generic.id].hubness is None and cands[generic.id].correction is None


def test_corpus_statistics_follow_the_index(ranker):
    """Kept between rankings, taken anew after a write: at once after one made through the same `Index`, at the
    next check (every `check_every` seconds) after one its backend made for someone else (the owner endpoint
    writes through the backend for another process)."""
    from index.backends.base import Cond, Where

    r, docs = ranker
    stats = r.stats
    stats.check_every = 3600.0
    needs = stats.need_count()
    new = make_doc("n9", "Prototype radar", "A prototype radar is sought.", kind="need")
    r.index.upsert(r.enricher.enrich([new])[0])
    assert stats.need_count() == needs + 1  # through this Index: at once
    r.index.backend.delete_where(Where(must=(Cond("doc_id", value=new.id),)))
    assert stats.need_count() == needs + 1  # through the backend: not before the next check ...
    stats.check_every = 0.0
    assert stats.need_count() == needs  # ... which sees it
    r.index.delete([docs[0].id])
    assert stats.need_count() == needs - 1


def test_corpus_statistics_check_the_index_size_without_counting_documents(ranker):
    # the check runs on a search every `check_every` seconds: the shard's point count (0.05 ms at a million
    # documents), never an exact count of the documents (71 ms there)
    r, _ = ranker
    stats = r.stats
    stats.check_every = 0.0
    needs = stats.need_count()
    counted = []
    count = r.index.count
    r.index.count = lambda *a, **kw: (counted.append(a), count(*a, **kw))[1]
    try:
        for _ in range(3):
            assert stats.need_count() == needs
        assert counted == [], "the size check counted documents"
        r.index.upsert(r.enricher.enrich([make_doc("n8", "Sonar array", "A towed sonar array is sought.",
                                                   kind="need")])[0])
        assert stats.need_count() == needs + 1  # the point count moved: the figure taken again
    finally:
        del r.index.count


def test_a_write_through_the_index_drops_the_corpus_figures_at_once(ranker):
    # a document replaced in place (an edited abstract, as many passages: no count moves) and searched again at
    # once must not rank on the figures, lists and scales of its old text, however long the check's interval
    r, docs = ranker
    stats = r.stats
    stats.check_every = 3600.0
    computed = iter(range(100))
    first = stats.cached("probe", lambda: next(computed))
    assert stats.cached("probe", lambda: next(computed)) == first  # kept while nothing is written
    points = r.index.point_count()
    old = docs[2]  # r2: "Radar absorbing material"
    edited = make_doc("r2", old.title, old.text.replace("lattice", "grid"), source="jstage", year=2019,
                      orgs=("Lockheed Martin Corp.",))
    r.index.upsert(r.enricher.enrich([edited])[0])
    assert r.index.point_count() == points  # no count moved ...
    assert stats.cached("probe", lambda: next(computed)) == first + 1  # ... and the figures were dropped


def test_a_corpus_figure_is_computed_once_however_many_threads_ask_for_it(ranker):
    # a need page opened while `scout serve` computes the needs' figures (Ranker.warm_up_needs: 31 s at a
    # million documents) waits for them rather than computing them again beside it
    r, _ = ranker
    stats = r.stats
    calls, entered, release = [], threading.Event(), threading.Event()

    def slow():
        calls.append(threading.current_thread().name)
        entered.set()
        release.wait(30)
        return len(calls)

    got: dict[str, int] = {}
    first = threading.Thread(target=lambda: got.update(first=stats.cached("slow figure", slow)))
    first.start()
    assert entered.wait(30)
    second = threading.Thread(target=lambda: got.update(second=stats.cached("slow figure", slow)))
    second.start()
    second.join(0.3)  # it asks while the first computes
    release.set()
    first.join(30), second.join(30)
    assert len(calls) == 1 and got == {"first": 1, "second": 1}
    assert stats.cached("slow figure", slow) == 1 and len(calls) == 1  # kept


def test_the_needs_warm_up_computes_their_figures_keeps_no_ranking_and_changes_none(ranker):
    # what `scout serve` runs as it starts, beside the searches (IndexLibrary.warm_up): one need ranked on what
    # the index holds of it, no encoder (nothing stored), keyless (no list or scale kept), so that the first need
    # page finds the needs' figures computed; every need's ranking after it is a cold ranker's
    from index.ranking import RankWeights

    r, _ = ranker
    weights = RankWeights(need_idf_min_needs=2)  # the hubness correction on, with this corpus's few needs
    needs = [d.id for d in r.index.documents(kind=DocKind.need)]
    cold = Ranker(r.index, r.enricher, r.known_suppliers, weights=weights)
    expected = {n: [(m.doc_id, m.score, m.breakdown) for m in cold.matches(n)[1]] for n in needs}
    warm = Ranker(r.index, r.enricher, r.known_suppliers, weights=weights)
    encoded = []
    query = warm.enricher.query
    warm.enricher = type("Spy", (), {"query": lambda self, text: encoded.append(text) or query(text)})()
    warm.warm_up_needs()
    assert encoded == [], "the warm-up used the encoder"
    assert warm.stats.cached("reference_scales", dict) == {} and warm.stats.cached("reference_lists", dict) == {}
    kept = {"reference_scales", "reference_lists", "hubness/10"}  # per query; per document, as rankings ask
    figures = set(warm.stats._values) - kept
    assert set(cold.stats._values) - kept <= figures, "a need's first ranking still computes a figure"
    assert any(f.startswith("lexical_neighbours/") for f in figures)  # the one search a need
    warm.enricher = r.enricher
    for n in needs:
        assert [(m.doc_id, m.score, m.breakdown) for m in warm.matches(n)[1]] == expected[n], n


def test_hubness_weighs_documents_of_the_other_language_apart(tmp_path):
    """A Japanese document gets `hubness_other_language` for an English need (and an English one for a Japanese
    need); same-language documents and documents of no known language keep `hubness`."""
    from index.ranking import RankWeights
    from tests.index.fakes import FakeEnricher

    enricher = FakeEnricher(dim=64)
    need_en = make_doc("ne", "Radar absorbers", "Thin radar absorbing coatings.", kind="need")
    need_ja = make_doc("nj", "電波吸収体", "薄型の電波吸収体を求める。", kind="need")
    docs = [make_doc("e", "Radar coating", "A thin coating absorbs radar."),
            make_doc("j", "電波吸収シート", "薄い電波吸収シートを開発した。"),
            make_doc("o", "12345", "67890 12345")]
    with Index(IndexSettings(backend="edge", path=tmp_path / "ix"), dim=enricher.embedder.dim) as ix:
        ix.upsert(enricher.enrich([need_en, need_ja, *docs])[0])
        languages = {d.id: ix.get(d.id).language for d in [need_en, need_ja, *docs]}
        assert languages[need_ja.id] == languages[docs[1].id] == "ja" and languages[docs[0].id] == "en"
        ranker = Ranker(ix, enricher, KnownSuppliers(), weights=RankWeights(hubness=0.5, hubness_other_language=0.2))
        ids = [d.id for d in docs]
        expected_other = 0.5 if languages[docs[2].id] not in ("ja", "en") else None
        for_en = ranker.hubness.weights_for(ids, need_en.id)
        assert for_en[docs[0].id] == 0.5 and for_en[docs[1].id] == 0.2
        for_ja = ranker.hubness.weights_for(ids, need_ja.id)
        assert for_ja[docs[0].id] == 0.2 and for_ja[docs[1].id] == 0.5
        if expected_other is not None:
            assert for_en[docs[2].id] == for_ja[docs[2].id] == 0.5
        same = Ranker(ix, enricher, KnownSuppliers(), weights=RankWeights(hubness=0.5, hubness_other_language=None))
        assert set(same.hubness.weights_for(ids, need_en.id).values()) == {0.5}


def test_the_concept_weight_of_a_document_in_the_other_language_is_its_own(tmp_path):
    """For an English query a Japanese document's concept overlap weighs `concept_other_language`, an English
    one's `concept`; the score keeps the same-language scale (the excess is clipped, never above 1)."""
    from index.ranking import RankWeights
    from tests.index.fakes import FakeEnricher

    enricher = FakeEnricher(dim=64)
    need = make_doc("n", "Quantum sensing", "We need quantum sensing for navigation.", kind="need")
    docs = [make_doc("e", "Quantum sensing magnetometer", "A quantum sensing magnetometer."),
            make_doc("j", "量子センシング磁力計", "量子センシングによる磁力計を開発した。")]
    with Index(IndexSettings(backend="edge", path=tmp_path / "ix"), dim=enricher.embedder.dim) as ix:
        ix.upsert(enricher.enrich([need, *docs])[0])
        _, q = Ranker(ix, enricher, KnownSuppliers()).need_input(need.id)
        assert q.language == "en"

        def concept_parts(weights):
            ranked = Ranker(ix, enricher, KnownSuppliers(), weights=weights).rank(q)
            assert all(0.0 <= r.score <= 1.0 for r in ranked)
            return {r.doc_id: r.breakdown.concept * weights.score_scale for r in ranked}

        apart = concept_parts(RankWeights(concept=0.01, concept_other_language=0.2))
        same = concept_parts(RankWeights(concept=0.01, concept_other_language=None))
        assert apart[docs[0].id] == pytest.approx(same[docs[0].id]) and same[docs[0].id] > 0
        assert apart[docs[1].id] == pytest.approx(20 * same[docs[1].id]) and same[docs[1].id] > 0
        assert RankWeights(concept_other_language=0.2).score_scale == RankWeights(concept_other_language=None).score_scale


def test_organization_score_is_a_noisy_or_in_the_unit_interval():
    from index.ranking import organization_score

    assert organization_score([0.8], 0.5) == pytest.approx(0.8)  # one document: its own score
    assert organization_score([0.6, 0.8], 0.5) == pytest.approx(1 - (1 - 0.8) * (1 - 0.3))  # best first
    assert organization_score([0.8, 0.6], 0.5) > organization_score([0.8], 0.5)  # a second answer raises it
    assert organization_score([1.0, 1.0, 1.0], 0.5) == 1.0 and organization_score([], 0.5) == 0.0
    assert organization_score([0.99] * 20, 0.9) <= 1.0


def test_the_breakdown_records_the_hubness_correction_that_was_taken(tmp_path):
    """With `hubness_other_language` set, a document in the other language is corrected with that weight, and
    its breakdown shows that correction: an English need over Japanese documents only ranks exactly as with
    `hubness` set to the other-language weight, breakdowns included, and the parts add up to the score."""
    from index.ranking import RankWeights
    from tests.index.fakes import FakeEnricher

    enricher = FakeEnricher(dim=64)
    needs = [make_doc(f"n{i}", f"Radar need {i}", f"Thin radar absorbing coatings {i}. Stealth radar skins.",
                      kind="need") for i in range(3)]
    docs = [make_doc("j1", "電波吸収シート radar", "薄い radar 電波吸収シートを開発した。"),
            make_doc("j2", "レーダー塗料 radar coatings", "radar coatings の塗料。ステルス skins。"),
            make_doc("j3", "量子センサ", "量子センシングによる磁力計 radar。")]
    with Index(IndexSettings(backend="edge", path=tmp_path / "ix"), dim=enricher.embedder.dim) as ix:
        ix.upsert(enricher.enrich([*needs, *docs])[0])
        assert {ix.get(d.id).language for d in docs} == {"ja"} and ix.get(needs[0].id).language == "en"

        def ranked(weights: RankWeights) -> list:
            return Ranker(ix, enricher, KnownSuppliers(), weights=weights).match(needs[0].id).matches

        apart = ranked(RankWeights(hubness=0.5, hubness_other_language=0.2, need_idf_min_needs=2))
        same = ranked(RankWeights(hubness=0.2, need_idf_min_needs=2))
        assert [m.doc_id for m in apart] == [m.doc_id for m in same] and len(apart) == 3
        assert any(m.breakdown.generic < 0 for m in apart) and any(m.breakdown.generic_lexical < 0 for m in apart)
        for a, s in zip(apart, same):
            assert a.breakdown.model_dump() == pytest.approx(s.breakdown.model_dump())
            assert a.score == pytest.approx(sum(a.breakdown.contributions().values()))


def test_rankings_in_threads_are_the_rankings_one_after_the_other(ranker):
    ranker, _ = ranker
    needs = list(ranker.index.documents(kind=DocKind.need))
    assert len(needs) >= 2
    callers = set()

    def inputs():
        for need in needs:
            callers.add(threading.current_thread().name)  # the queries are made on the caller's thread
            yield ranker.need_input(need.id)[1]

    def rank(q):
        return threading.current_thread().name, [(r.doc_id, r.score) for r in ranker.rank(q, None, 50)]

    alone = [rank(ranker.need_input(need.id)[1])[1] for need in needs]
    got = list(Ranker.in_threads(rank, inputs(), threads=2))
    assert [ranking for _, ranking in got] == alone  # the same rankings, in the needs' order
    assert callers == {threading.current_thread().name}
    assert {thread for thread, _ in got} <= {f"rank_{i}" for i in range(2)}
    assert list(Ranker.in_threads(lambda x: x * 2, iter(range(7)), threads=1)) == list(range(0, 14, 2))


def test_a_match_run_ranks_every_need_as_match_does_and_records_them_in_order(ranker, tmp_path):
    from index.ledger import Ledger
    from index.matching import match_all_needs

    ranker, _ = ranker
    needs = [n.id for n in ranker.index.documents(kind=DocKind.need)]
    alone = [ranker.match(need_id, limit=5) for need_id in needs]
    seen = []
    _, results = match_all_needs(ranker, ranker.index, Ledger(tmp_path / "ledger.sqlite"), limit=5,
                                 progress=lambda stage, done, total: seen.append((done, total)))
    assert [r.need.id for r in results] == needs
    for got, want in zip(results, alone):
        assert [(m.doc_id, m.score, m.rank) for m in got.matches] == [(m.doc_id, m.score, m.rank) for m in want.matches]
        assert [o.key for o in got.organizations] == [o.key for o in want.organizations]
        assert all(m.is_new for m in got.matches)  # the ledger's first run: everything is new
    assert seen[0] == (0, len(needs)) and seen[-1] == (len(needs), len(needs))


def test_a_free_text_ranking_rescores_its_page_and_a_margin_and_a_need_ranking_is_untouched(tmp_path, enricher):
    """`RankWeights.search_rescore_margin`: free text re-scores the best `limit` + margin (at least 60) of its
    fused candidates, not 3 x `limit`; a need's ranking re-scores 3 x `limit` whatever the margin."""
    from index.ranking import RankWeights
    from index.ranking.ranker import RANK_FIELDS

    docs = corpus() + [make_doc(f"m{i}", f"Magnetometer design {i}", f"A magnetometer for navigation, variant {i}. "
                                f"It senses magnetic fields {i}.") for i in range(120)]
    with Index(IndexSettings(backend="edge", path=tmp_path / "ix"), dim=32) as ix:
        ix.upsert(enricher.enrich(docs)[0])
        read: list[int] = []
        get_many = ix.get_many
        ix.get_many = lambda ids, fields=None: (read.append(len(ids)) if fields == RANK_FIELDS else None) or get_many(
            ids, fields)
        rankers = {m: Ranker(ix, enricher, KnownSuppliers(), weights=RankWeights(search_rescore_margin=m))
                   for m in (None, 10, 40)}
        for margin, want in ((None, 90), (10, 60), (40, 70)):
            read.clear()
            rankers[margin].search("magnetometer for navigation", limit=30)
            assert read == [want], margin
        read.clear()
        need = [r.matches(docs[0].id, limit=30)[1] for r in rankers.values()]
        assert read == [90, 90, 90]
        assert [[(m.doc_id, m.score) for m in ms] for ms in need[1:]] == [[(m.doc_id, m.score) for m in need[0]]] * 2


def test_a_ranking_makes_the_score_breakdown_of_its_rescored_head_only(tmp_path, enricher, monkeypatch):
    """Fusion keeps each candidate's channel shares and sums them by breakdown part only for the documents
    re-scored (a 1M search fuses about a thousand and re-scores a head of 60-140), and every shown part is
    what summing them for every candidate gives."""
    import index.ranking.fusion as fusion
    import index.ranking.rescore as rescore

    docs = corpus() + [make_doc(f"m{i}", f"Magnetometer design {i}", f"A magnetometer for navigation, variant {i}. "
                                f"It senses magnetic fields {i}.") for i in range(120)]
    with Index(IndexSettings(backend="edge", path=tmp_path / "ix"), dim=32) as ix:
        ix.upsert(enricher.enrich(docs)[0])
        ranker = Ranker(ix, enricher, KnownSuppliers())
        made: list[str] = []
        real = fusion.breakdown_parts

        def counted(shares, corrections, parts):
            made.append("part")
            return real(shares, corrections, parts)

        monkeypatch.setattr(rescore, "breakdown_parts", counted)
        q = ranker.query_input("magnetometer for navigation")
        cands = ranker.fuse(ranker.channel_results(q, None, "full", None, 100, None, {}), "full", None, q)
        assert len(cands) > 60 and made == []  # fused: no breakdown made yet
        every = {d: real(c.shares, c.corrections, c.part_names) for d, c in cands.items()}
        ranked = ranker.rank(q, limit=10, exclude_kind=None)
        assert 0 < len(made) <= 60  # the re-scored head's (limit + margin, at least 60), not every candidate's
        for r in ranked:
            assert cands[r.doc_id].parts == every[r.doc_id]
            assert sum(every[r.doc_id].values()) == pytest.approx(cands[r.doc_id].fused)
            shown = r.breakdown.dense + r.breakdown.sparse + r.breakdown.generic + r.breakdown.generic_lexical
            assert shown > 0


def test_a_search_takes_its_bm25_list_searched_while_its_query_was_encoded(ranker, monkeypatch):
    """A free-text query's unfiltered BM25 list (its reference list) is started on the channel pool as soon as
    the query's BM25 vector is made, before the query is encoded, and the ranking takes it instead of
    searching: one BM25 search a query, filtered or not; every page the same as a ranker's that searches it in
    the ranking."""
    import index.ranking.ranker as rk

    r, docs = ranker
    events: list[str] = []
    real_search, real_later, real_encode = r.index.search_sparse, rk.search_later, r.enricher.embedder.encode
    monkeypatch.setattr(r.index, "search_sparse", lambda sparse, filters=None, limit=100, *, exclude_kind=None: (
        events.append(f"bm25 {limit}") or real_search(sparse, filters, limit, exclude_kind=exclude_kind)))
    monkeypatch.setattr(rk, "search_later", lambda *a: events.append("started") or real_later(*a))
    monkeypatch.setattr(r.enricher.embedder, "encode", lambda *a, **k: events.append("encoded") or real_encode(*a, **k))
    late = Ranker(r.index, r.enricher, r.known_suppliers)
    late._search_bm25_early = lambda key, sparse: None  # searched in the ranking, as before
    for i, (filters, limit) in enumerate(((None, 100), (None, 20), (SearchFilters(kind=DocKind.research), 100),
                                          (SearchFilters(language="en"), 20))):
        text = f"radar absorbing metamaterial coating {i}"
        events.clear()
        hits = r.search(text, filters, limit=limit)
        assert events[0] == "started" and "encoded" in events and events.count("bm25 500") == 1, events
        assert not [e for e in events if e.startswith("bm25") and e != "bm25 500"] and r._early == {}
        events.clear()
        assert [(h.doc_id, h.score) for h in late.search(text, filters, limit=limit)] == [
            (h.doc_id, h.score) for h in hits]
        assert "started" not in events and events.count("bm25 500") == 1, events
        events.clear()
        r.search(text, filters, limit=limit)  # asked again: its lists are kept, nothing is started or searched
        assert "started" not in events and not [e for e in events if e.startswith("bm25")] and r._early == {}


def test_free_text_rankings_in_threads_are_the_rankings_one_after_the_other(ranker, monkeypatch):
    """Free-text rankings on the rank threads (`Ranker.in_threads`; the queries made on the caller's thread, as
    the library's searches take turns with its query encoder): a narrow filter's searches started on the channel
    pool beside its unfiltered ones, and the lists kept per query, serve their own ranking only. New queries,
    then the same again (their lists kept): every ranking the one it gives alone."""
    import index.ranking.ranker as rk
    from index.ranking import RankWeights

    r, _ = ranker
    weights = RankWeights(search_scale_depth=50)  # rankings 50 deep are their own reference
    threaded = Ranker(r.index, r.enricher, r.known_suppliers, weights=weights)
    n, df = threaded.stats._concept_counts()
    rare = min(df, key=df.get)  # held by a document or two: narrow for any lists
    texts = ["radar absorbing metamaterial coating", "drones spray crops", "quantum magnetometer navigation",
             "量子センシング 磁気センサー"]
    # the narrow concept first: its ranking starts before its query's unfiltered lists are kept
    filters = [SearchFilters(concept=rare), None, SearchFilters(kind=DocKind.research), SearchFilters(language="en")]
    started = []
    real_later = rk.search_later
    monkeypatch.setattr(rk, "search_later", lambda *a: started.append(1) or real_later(*a))

    def ranked(ranker_, q, f):  # 100 hits: a head of 140, which a concept of this small corpus cannot fill
        return [(d.doc_id, round(d.breakdown.total, 9))
                for d in ranker_.rank(q, f, 100, exclude_kind=None, depth=50)]

    for round_ in range(2):
        fresh = Ranker(r.index, r.enricher, r.known_suppliers, weights=weights)
        alone = [ranked(fresh, fresh.query_input(t), f) for t in texts for f in filters]
        started.clear()
        inputs = [(threaded.query_input(t), f) for t in texts for f in filters]
        got = list(Ranker.in_threads(lambda qf: ranked(threaded, *qf), iter(inputs), threads=2))
        assert got == alone
        assert (len(started) > 0) == (round_ == 0)  # the narrow concept's searches started early, new queries only
