"""evaluate() and `scout eval` on a tiny benchmark written in the sbir-bench layout."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from index.evaluate import evaluate, metrics

NEEDS = [
    {"id": "topic:Q1", "title": "Quantum magnetometer for navigation",
     "text": "OBJECTIVE: develop a quantum magnetometer for navigation without GPS. DESCRIPTION: diamond nitrogen "
             "vacancy sensors measure magnetic anomalies.", "source": "test"},
    {"id": "topic:B2", "title": "Lithium sulfur battery",
     "text": "OBJECTIVE: a safe lithium sulfur battery with long cycle life for soldiers.", "source": "test"},
    {"id": "topic:Z9", "title": "Unjudged need", "text": "No relevance judgements for this one.", "source": "test"},
]
DOCS = [
    {"id": "a1", "title": "Quantum magnetometer for navigation", "text": "We build a diamond magnetometer.",
     "source": "x; company Acme Quantum Inc.", "award_year": 2018},
    {"id": "a2", "title": "NV diamond magnetic anomaly navigation", "text": "Nitrogen vacancy quantum sensors "
     "for navigation by magnetic anomaly maps without GPS.", "source": "x", "award_year": 2019},
    {"id": "b1", "title": "Safe Li-S battery", "text": "A lithium sulfur battery with long cycle life and safe "
     "electrolyte for soldiers.", "source": "x", "award_year": 2019},
    {"id": "c1", "title": "Crop irrigation", "text": "Farm water savings by drip irrigation.", "source": "x"},
    {"id": "c2", "title": "Protein folding", "text": "Predicting protein structures from sequences.", "source": "x"},
]


def write_bench(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "needs.jsonl").write_text("\n".join(json.dumps(r) for r in NEEDS) + "\n")
    (root / "docs.jsonl").write_text("\n".join(json.dumps(r) for r in DOCS) + "\n")
    (root / "qrels.tsv").write_text("topic:Q1\ta1\t1\ntopic:Q1\ta2\t1\ntopic:B2\tb1\t1\n")
    (root / "qrels_strict.tsv").write_text("topic:Q1\ta2\t1\n")
    (root / "anchors.tsv").write_text("topic:Q1\ta1\n")
    return root


def test_metrics_by_hand():
    m = metrics(["x", "r1", "y", "r2"], {"r1", "r2", "r3"})
    assert m["mrr"] == 0.5
    assert m["recall@10"] == pytest.approx(2 / 3) and m["recall@100"] == pytest.approx(2 / 3)
    ideal = 1 + 1 / 1.584962500721156 + 0.5
    assert m["ndcg@10"] == pytest.approx((1 / 1.584962500721156 + 1 / 2.321928094887362) / ideal)
    assert metrics(["x"], {"r"}) == {"mrr": 0.0, "ndcg@10": 0.0, "recall@10": 0.0, "recall@100": 0.0}


def test_evaluate_scores_all_and_strict(tmp_path, enricher):
    seen = []
    result = evaluate(write_bench(tmp_path / "bench"), enricher, baselines=True,
                      progress=lambda stage, done, total: seen.append(stage))
    assert result["needs"] == 2 and result["docs"] == 5  # the unjudged need is not scored
    assert result["strict_needs"] == 1
    assert result["all"]["recall@10"] == 1.0 and result["all"]["mrr"] == 1.0
    # strict: the anchor a1 (title copied from the topic) is dropped, a2 must carry the result
    assert result["strict"]["mrr"] == 1.0
    assert set(result["baselines"]) == {"bm25", "dense"}
    assert set(result["baselines"]["bm25"]) == {"all", "strict"}
    assert {"index", "rank"} <= set(seen)


def test_evaluate_says_where_the_time_went(tmp_path):
    from tests.index.fakes import FakeEnricher

    enricher = FakeEnricher(dim=32)  # its own: the session's has every text of the bench embedded already
    result = evaluate(write_bench(tmp_path / "bench"), enricher)
    stages = result["stages"]
    assert list(stages) == ["parse", "nlp", "embedding", "indexing", "ranking", "scoring"]
    assert all(s["wall"] >= 0 and s["cpu"] >= 0 for s in stages.values())
    assert stages["embedding"]["wall"] > 0 and stages["indexing"]["wall"] > 0 and stages["ranking"]["wall"] > 0
    # the stages are disjoint parts of the run (embedding is taken out of nlp, not counted twice: counted twice,
    # the sum would pass the total by the embedding's time); the slack is for the rounding and a busy machine
    total = result["seconds"]["total"]
    assert sum(s["wall"] for s in stages.values()) <= total * 1.1 + 0.5
    # the embedder is the enricher's own again afterwards (the timing wrapper is gone)
    assert "encode" not in vars(enricher.embedder)


def test_evaluate_rejects_a_wrong_layout(tmp_path, enricher):
    (tmp_path / "needs.jsonl").write_text("")
    with pytest.raises(FileNotFoundError, match="docs.jsonl"):
        evaluate(tmp_path, enricher)


def test_scout_eval_json(tmp_path, enricher, monkeypatch):
    import typer

    import scout.commands.eval as eval_cmd

    app = typer.Typer()  # a group, as in `scout` once several command modules are registered
    app.callback()(lambda: None)
    eval_cmd.register(app)
    monkeypatch.setattr("nlp.pipeline.Enricher", lambda: enricher)  # the model-free enricher, for speed
    bench = write_bench(tmp_path / "bench")
    out = CliRunner().invoke(app, ["eval", str(bench), "--json", "--baselines"])
    assert out.exit_code == 0, out.output
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert set(result) >= {"all", "strict", "needs", "docs", "baselines"}
    assert set(result["all"]) == {"mrr", "ndcg@10", "recall@10", "recall@100"}
    table = CliRunner().invoke(app, ["eval", str(bench), "--limit-needs", "1"])
    assert table.exit_code == 0 and "full" in table.stdout and "1 needs" in table.stdout
    assert "where the time went" in table.stdout and "embedding" in table.stdout
