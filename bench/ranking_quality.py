"""Ranking quality on sbir-bench: full hybrid ranking vs BM25-only vs dense-only (nDCG@10 strict etc.).

Builds the benchmark index once in var/bench-index (reused on later runs; --rebuild to redo it) through
the same enrich + Index + Ranker code as `scout eval`, then prints one table. Weight overrides
(`--set concept=0.2`) are for studying the ranking's sensitivity, not for fitting these rows.

    PYTHONPATH=$PWD python bench/ranking_quality.py [../shared/data/sbir-bench] [--set key=value ...]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.shared_data import SBIR_BENCH, existing  # noqa: E402

from index.evaluate import build_index, load_bench, score  # noqa: E402
from index.ranking import Ranker, RankWeights  # noqa: E402
from index.store import Index  # noqa: E402
from index.suppliers import KnownSuppliers  # noqa: E402
from domain.settings import IndexSettings  # noqa: E402


def make_enricher(cache: Path):
    """The product's enricher with an embedding cache of this bench's own (`--work`): the int8 encoder's vectors
    depend on which texts share a run, so a cache another command filled would change the kept index."""
    from nlp.pipeline import Enricher

    return Enricher(cache_path=cache)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("bench_dir", nargs="?", type=existing, default=str(SBIR_BENCH))
    ap.add_argument("--work", default="var")
    ap.add_argument("--rebuild", action="store_true")
    ap.add_argument("--limit-needs", type=int)
    ap.add_argument("--set", action="append", default=[], help="RankWeights override, e.g. concept=0.2")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--modes", nargs="+", default=["full", "bm25", "dense"], choices=["full", "bm25", "dense"])
    ap.add_argument("--feedback", type=int, nargs="*", default=[], metavar="K",
                    help="also simulate judging each need's top K (several K: one feedback run each)")
    args = ap.parse_args()

    work = Path(args.work)
    path = work / "bench-index"
    enricher = make_enricher(work / "bench-embeddings.sqlite")
    bench = load_bench(Path(args.bench_dir), args.limit_needs)
    fields = {f.name: f.type for f in dataclasses.fields(RankWeights)}
    overrides = {}
    for kv in args.set:
        k, v = kv.split("=", 1)
        if k not in fields:
            raise SystemExit(f"unknown weight {k!r}; one of {sorted(fields)}")
        default = getattr(RankWeights(), k)
        overrides[k] = v if isinstance(default, str) else type(default)(v)
    weights = RankWeights(**overrides)

    stamp = path / "built.json"
    if args.rebuild or not stamp.exists():
        shutil.rmtree(path, ignore_errors=True)
    t0 = time.time()
    with Index(IndexSettings(backend="edge", path=path), dim=384, command="bench/ranking_quality.py") as index:
        if not stamp.exists():
            build_index(index, bench, enricher, lambda s, d, t: print(f"\r{s} {d}/{t}", end="", file=sys.stderr))
            stamp.write_text(json.dumps({"docs": len(bench.docs), "needs": len(bench.needs)}))
            print(file=sys.stderr)
        t1 = time.time()
        ranker = Ranker(index, enricher, KnownSuppliers(), weights=weights)
        scores = score(ranker, bench, args.modes)
        t2 = time.time()
        for k in args.feedback:  # the same (cached) rankings again, each K re-ranked with its judgements
            scores[f"feedback@{k}"] = score(ranker, bench, ["full"], feedback_k=k)["feedback"]
        t3 = time.time()
    if args.json:
        print(json.dumps({"weights": overrides, "scores": scores}))
        return
    print(f"sbir-bench: {len(bench.needs)} needs, {len(bench.docs)} docs; index {t1 - t0:.0f} s, "
          f"ranking {len(args.modes)} modes {t2 - t1:.0f} s; weights {overrides or 'default'}")
    print(f"{'ranking':<8} {'scope':<7} {'MRR':>6} {'nDCG@10':>8} {'R@10':>6} {'R@100':>6}")
    for mode in args.modes:
        for scope in ("all", "strict"):
            m = scores[mode][scope]
            print(f"{mode:<8} {scope:<7} {m['mrr']:6.3f} {m['ndcg@10']:8.3f} {m['recall@10']:6.3f} {m['recall@100']:6.3f}")
    if "full" not in scores:
        return
    full = scores["full"]["strict"]["ndcg@10"]
    for base in (m for m in ("bm25", "dense") if m in scores):
        b = scores[base]["strict"]["ndcg@10"]
        print(f"full vs {base}: nDCG@10 strict {full:.3f} / {b:.3f} = {full / b - 1:+.1%}" if b else "")
    for k in args.feedback:
        fb = scores[f"feedback@{k}"]
        before, after = fb["before"]["strict"], fb["after"]["strict"]
        print(f"feedback K={k} ({fb['needs']} needs, residual, strict): nDCG@10 {before['ndcg@10']:.3f} -> "
              f"{after['ndcg@10']:.3f} = {after['ndcg@10'] / before['ndcg@10']:.2f}x; MRR {before['mrr']:.3f} -> "
              f"{after['mrr']:.3f}; R@100 {before['recall@100']:.3f} -> {after['recall@100']:.3f}"
              if before["ndcg@10"] else f"feedback K={k}: no residual relevant document")
    if args.feedback:
        print(f"feedback runs {t3 - t2:.0f} s")


if __name__ == "__main__":
    main()
