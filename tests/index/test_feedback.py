"""Relevance feedback: a need's judgements move its ranking (Rocchio), and no judgements change nothing."""

from __future__ import annotations

import json

import numpy as np
import pytest

from index.ranking.feedback import Feedback, rocchio_term
from index.ranking import Ranker, RankWeights
from index.store import Index
from index.suppliers import KnownSuppliers
from domain.settings import IndexSettings
from tests.index.conftest import make_doc

NEED = make_doc("n1", "Quantum magnetometer for navigation",
                "We need a quantum magnetometer for navigation without GPS. The sensor maps magnetic anomalies.",
                kind="need", source="atla")
# Two families of answers: diamond (nitrogen vacancy) sensors, and atomic vapour cells; plus off-topic prose.
DIAMOND = [make_doc(f"d{i}", f"Diamond magnetometer {i}", f"A nitrogen vacancy diamond magnetometer for navigation. "
                    f"Diamond defects sense magnetic anomalies. Diamond sample {i} is grown by CVD.")
           for i in range(4)]
VAPOUR = [make_doc(f"v{i}", f"Vapour cell magnetometer {i}", f"An atomic vapour cell magnetometer for navigation. "
                   f"Rubidium vapour senses magnetic anomalies. Vapour cell {i} is heated by a laser.")
          for i in range(4)]
# the one vapour-cell document that says what the need says: it ranks first, its siblings below the diamonds
LEAD = make_doc("v9", "Quantum magnetometer for navigation without GPS", "A quantum magnetometer for navigation "
                "without GPS maps magnetic anomalies. An atomic vapour cell magnetometer: rubidium vapour is heated "
                "by a laser.")
OTHER = [make_doc("o1", "Crop irrigation", "Farm water savings by drip irrigation."),
         make_doc("o2", "GPS receivers", "Navigation receivers for GPS signals in cities.")]


@pytest.fixture(scope="module")
def ranker(tmp_path_factory):
    from tests.index.fakes import FakeEnricher

    enricher = FakeEnricher(dim=256)
    with Index(IndexSettings(backend="edge", path=tmp_path_factory.mktemp("fb") / "ix"), dim=256) as ix:
        ix.upsert(enricher.enrich([NEED, *DIAMOND, *VAPOUR, LEAD, *OTHER])[0])
        yield Ranker(ix, enricher, KnownSuppliers())


def _positions(ranker: Ranker, feedback: Feedback | None = None) -> dict[str, int]:
    return {m.doc_id: m.rank for m in ranker.match(NEED.id, limit=20, feedback=feedback).matches}


def _family_rank(pos: dict[str, int], family: list) -> float:
    return float(np.mean([pos[d.id] for d in family]))


def test_no_judgements_change_nothing(ranker):
    plain = ranker.match(NEED.id, limit=20)
    for feedback in (None, Feedback(), Feedback(relevant=(), not_relevant=())):
        again = ranker.match(NEED.id, limit=20, feedback=feedback)
        assert [(m.doc_id, m.score, m.breakdown) for m in again.matches] == \
               [(m.doc_id, m.score, m.breakdown) for m in plain.matches]
    assert all(m.breakdown.feedback == 0.0 and m.breakdown.clipped == 0.0 for m in plain.matches)


def test_relevant_judgements_lift_their_kind(ranker):
    before = _positions(ranker)
    after = _positions(ranker, Feedback(relevant=(VAPOUR[0].id,)))
    # the vapour-cell family rises, the diamond family falls behind it
    assert _family_rank(after, VAPOUR[1:]) < _family_rank(before, VAPOUR[1:])
    assert _family_rank(after, VAPOUR[1:]) < _family_rank(after, DIAMOND)
    result = ranker.match(NEED.id, limit=20, feedback=Feedback(relevant=(VAPOUR[0].id,)))
    by_id = {m.doc_id: m for m in result.matches}
    assert by_id[VAPOUR[1].id].breakdown.feedback > by_id[DIAMOND[1].id].breakdown.feedback
    plain = {m.doc_id: m.score for m in ranker.match(NEED.id, limit=20).matches}
    for m in result.matches:  # feedback moves the order, never a score; the contributions add up to it
        assert m.score == pytest.approx(sum(m.breakdown.contributions().values()))
        assert "feedback" not in m.breakdown.contributions()
        if m.doc_id in plain:
            assert m.score == plain[m.doc_id]
    keys = [m.score + m.breakdown.feedback for m in result.matches]
    assert keys == sorted(keys, reverse=True)  # the order: strength moved by the judgements


def test_rejected_judgements_sink_their_kind(ranker):
    before = _positions(ranker)
    after = _positions(ranker, Feedback(not_relevant=(DIAMOND[0].id,)))
    assert _family_rank(after, DIAMOND[1:]) > _family_rank(before, DIAMOND[1:])
    result = ranker.match(NEED.id, limit=20, feedback=Feedback(not_relevant=(DIAMOND[0].id,)))
    by_id = {m.doc_id: m for m in result.matches}
    assert by_id[DIAMOND[1].id].breakdown.feedback < by_id[VAPOUR[1].id].breakdown.feedback
    assert by_id[DIAMOND[1].id].breakdown.feedback < 0.0


def test_feedback_finds_documents_beyond_the_first_candidates(ranker):
    """A relevant judgement also queries the index (at the channels' depth): documents like it join the
    ranking even if the need's own channels did not offer them (here: one candidate per channel)."""
    _, q = ranker.need_input(NEED.id)
    offered = {h.doc_id for hits in ranker.channel_results(q, depth=1).values() for h in hits}
    found = {r.doc_id for r in ranker.rank(q, limit=60, depth=1, feedback=Feedback(relevant=(VAPOUR[0].id,)))}
    assert not {d.id for d in VAPOUR} <= offered
    assert {d.id for d in VAPOUR} <= found


def test_feedback_is_checked():
    with pytest.raises(ValueError, match="both"):
        Feedback(relevant=("a", "b"), not_relevant=("b",))
    fb = Feedback(relevant=["a", "a", "c"], not_relevant=["d"])  # lists (JSON) become tuples, each id once
    assert fb.relevant == ("a", "c") and fb.judged == ("a", "c", "d") and fb and not Feedback()


def test_rocchio_term_by_hand():
    """Centred: each judged document's similarities less their mean over the candidates."""
    rel = np.array([[0.8, 0.6], [0.2, 0.0]])
    rej = np.array([[0.1], [0.9]])
    got = rocchio_term(rel, rej, beta=0.75, gamma=0.15)
    assert got == pytest.approx([0.75 * 0.3 + 0.15 * 0.4, -0.75 * 0.3 - 0.15 * 0.4])
    assert rocchio_term(np.zeros((2, 0)), rej, 0.75, 0.15) == pytest.approx([0.06, -0.06])
    assert rocchio_term(rel, np.zeros((2, 0)), 0.75, 0.0) == pytest.approx([0.225, -0.225])


def test_an_unrelated_document_gains_nothing_and_the_order_is_rocchios():
    """Cosines are positive: uncentred, every candidate gained from a relevant judgement. Centred, one no more
    like the relevant document than the candidates at large gains nothing; the order is the uncentred one."""
    sims = np.array([[0.9], [0.5], [0.1], [0.5]])  # the third is unrelated, the second and fourth average
    got = rocchio_term(sims, np.zeros((4, 0)), 0.75, 0.15)
    assert got[1] == pytest.approx(0.0) and got[3] == pytest.approx(0.0) and got[2] < 0 < got[0]
    assert list(np.argsort(-got)) == list(np.argsort(-(0.75 * sims[:, 0])))


def test_scout_eval_feedback_block(tmp_path, monkeypatch):
    """`scout eval --feedback K` prints before/after strict metrics of the residual ranking."""
    from typer.testing import CliRunner
    import typer

    import scout.commands.eval as eval_cmd

    bench = tmp_path / "bench"
    bench.mkdir()
    needs = [{"id": "t:1", "title": NEED.title, "text": NEED.text, "source": "test"}]
    docs = [{"id": d.source_id, "title": d.title, "text": d.text, "source": "x"}
            for d in [*DIAMOND, *VAPOUR, LEAD, *OTHER]]
    (bench / "needs.jsonl").write_text("\n".join(json.dumps(r) for r in needs) + "\n")
    (bench / "docs.jsonl").write_text("\n".join(json.dumps(r) for r in docs) + "\n")
    relevant = [d.source_id for d in [LEAD, *VAPOUR]]
    (bench / "qrels.tsv").write_text("".join(f"t:1\t{d}\t1\n" for d in relevant))
    (bench / "qrels_strict.tsv").write_text("".join(f"t:1\t{d}\t1\n" for d in relevant))
    app = typer.Typer()
    app.callback()(lambda: None)
    eval_cmd.register(app)
    from tests.index.fakes import FakeEnricher

    monkeypatch.setattr("nlp.pipeline.Enricher", lambda **_: FakeEnricher(dim=256))  # what evaluate_bench builds
    out = CliRunner().invoke(app, ["eval", str(bench), "--json", "--feedback", "1"])
    assert out.exit_code == 0, out.output
    result = json.loads(out.stdout.strip().splitlines()[-1])
    fb = result["feedback"]
    assert fb["k"] == 1 and fb["needs"] == 1
    assert set(fb["before"]["strict"]) == set(fb["after"]["strict"]) == {"mrr", "ndcg@10", "recall@10", "recall@100"}
    # the lead judged relevant, its vapour-cell siblings rise above the diamonds
    assert fb["before"]["strict"]["ndcg@10"] < 0.9 and fb["after"]["strict"]["ndcg@10"] == pytest.approx(1.0)
    table = CliRunner().invoke(app, ["eval", str(bench), "--feedback", "1"])
    assert table.exit_code == 0 and "relevance feedback" in table.stdout and "after" in table.stdout


def _uncentred(relevant_sims, rejected_sims, beta, gamma):
    """Rocchio's term as it was before centring."""
    n = relevant_sims.shape[0] if relevant_sims.ndim == 2 else rejected_sims.shape[0]
    out = np.zeros(n)
    if relevant_sims.size:
        out += beta * relevant_sims.mean(axis=1)
    if rejected_sims.size:
        out -= gamma * rejected_sims.mean(axis=1)
    return out


def test_centring_keeps_rocchios_order_and_judgements_keep_every_score(ranker, monkeypatch):
    """`scout eval --feedback` measured the uncentred term added to the score; centred, and kept out of the
    score, it orders every unjudged document as before, and no score moves; the rejected one goes last."""
    import index.ranking.feedback as rank_module

    feedback = Feedback(relevant=(VAPOUR[0].id,), not_relevant=(DIAMOND[0].id,))
    plain = {m.doc_id: m.score for m in ranker.match(NEED.id, limit=20).matches}
    centred = ranker.match(NEED.id, limit=20, feedback=feedback).matches
    monkeypatch.setattr(rank_module, "rocchio_term", _uncentred)
    uncentred = ranker.match(NEED.id, limit=20, feedback=feedback).matches
    unjudged = lambda ms: [m.doc_id for m in ms if m.doc_id not in feedback.judged]  # noqa: E731
    assert unjudged(centred) == unjudged(uncentred)
    assert centred[-1].doc_id == DIAMOND[0].id
    assert all(m.score == plain[m.doc_id] for m in centred if m.doc_id in plain)
    # an off-topic document gains nothing from the relevant judgement
    off = {m.doc_id: m.breakdown.feedback for m in centred}
    assert all(off[d.id] <= 0.0 for d in OTHER if d.id in off)
