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
    monkeypatch.setattr("nlp.pipeline.Enricher", lambda **_: enricher)  # the model-free enricher, for speed
    bench = write_bench(tmp_path / "bench")
    out = CliRunner().invoke(app, ["eval", str(bench), "--json", "--baselines"])
    assert out.exit_code == 0, out.output
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert set(result) >= {"all", "strict", "needs", "docs", "baselines"}
    assert set(result["all"]) == {"mrr", "ndcg@10", "recall@10", "recall@100"}
    table = CliRunner().invoke(app, ["eval", str(bench), "--limit-needs", "1"])
    assert table.exit_code == 0 and "full" in table.stdout and "1 needs" in table.stdout
    assert "where the time went" in table.stdout and "embedding" in table.stdout


def test_scout_eval_reads_and_writes_nothing_in_the_homes_embedding_cache(tmp_path, monkeypatch, scout_home):
    """The same code and benchmark give the same figures whatever the home's embedding cache holds. The int8
    encoder's vectors depend on which texts share a run, so a vector cached by another command (a cross-lingual
    bench, an ingest) differs from the one an eval computes: on the dev split the same code scored strict nDCG@10
    0.9177 from scratch and 0.9162 on a cache another bench had filled. Here the home's cache holds other vectors
    for every text of the bench (random ones, which no run would compute)."""
    import sqlite3

    import numpy as np

    from nlp.cache import EmbeddingCache
    from service.operations import evaluate_bench

    monkeypatch.setenv("SCOUT_NLP_MODEL", "hashing")  # the real Enricher, with a model-free embedder
    monkeypatch.setenv("SCOUT_NLP_MULTILINGUAL", "off")
    monkeypatch.setenv("SCOUT_NLP_TYPED_ENTITIES", "false")
    bench = write_bench(tmp_path / "bench")
    cache_file = scout_home / "embeddings.sqlite"

    def dense_figures():
        result = evaluate_bench(bench, baselines=True)
        return result["baselines"]["dense"], result["all"], result["strict"]

    clean = dense_figures()
    # the texts an eval embeds, as any run that embeds them fills the home's cache: one run of the library
    # with the home's cache (before the fix, the eval itself), then every vector replaced by another
    from index.evaluate import evaluate
    from nlp.pipeline import Enricher

    evaluate(bench, Enricher(), baselines=True)
    with sqlite3.connect(cache_file) as db:
        rows = db.execute("SELECT model, hash, dim FROM embeddings").fetchall()
        assert rows, "the library's run stored its vectors in the home's cache"
        rng = np.random.default_rng(7)
        for model, key, dim in rows:
            other = rng.standard_normal(dim).astype(np.float32)
            db.execute("UPDATE embeddings SET vector = ? WHERE model = ? AND hash = ?",
                       ((other / np.linalg.norm(other)).tobytes(), model, key))
    EmbeddingCache(cache_file)  # still a readable cache with these vectors
    before = sqlite3.connect(cache_file).execute("SELECT count(*), sum(length(vector)) FROM embeddings").fetchone()

    assert dense_figures() == clean  # the home's vectors were not read
    after = sqlite3.connect(cache_file).execute("SELECT count(*), sum(length(vector)) FROM embeddings").fetchone()
    assert after == before  # nor written
