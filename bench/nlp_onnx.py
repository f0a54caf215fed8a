"""ONNX (fp32, int8) vs PyTorch for the default model (issue 4): docs/s and the change in dense-retrieval
quality (nDCG@10, MRR) on a subset of sbir-bench, measured in one run.

The ONNX files are exported locally from the packaged weights into $SCOUT_HOME/models/ (nlp.embedder).
Retrieval: need title + text split into passages, documents' passages, score = max cosine; no cache.

Usage: SCOUT_HOME=var/bench PYTHONPATH=. python bench/nlp_onnx.py [--needs 60] [--docs 1500]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import sys
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.shared_data import SBIR_BENCH, existing  # noqa: E402

from nlp.embedder import SentenceTransformerEmbedder  # noqa: E402
from nlp.passages import analysed_text, split_passages  # noqa: E402
from domain.settings import NlpSettings  # noqa: E402


def load_jsonl(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bench", type=existing, default=str(SBIR_BENCH))
    parser.add_argument("--needs", type=int, default=60)
    parser.add_argument("--docs", type=int, default=1500, help="distractors besides the relevant documents")
    args = parser.parse_args()

    qrels: dict[str, set[str]] = {}
    for line in (args.bench / "qrels.tsv").read_text().splitlines():
        need, doc, *_ = line.split("\t")
        qrels.setdefault(need, set()).add(doc)
    needs = [n for n in load_jsonl(args.bench / "needs.jsonl") if n["id"] in qrels]
    random.Random(1).shuffle(needs)
    needs = needs[: args.needs]
    wanted = set().union(*(qrels[n["id"]] for n in needs))
    rows = load_jsonl(args.bench / "docs.jsonl")
    others = [r for r in rows if r["id"] not in wanted]
    random.Random(2).shuffle(others)
    docs = [r for r in rows if r["id"] in wanted] + others[: args.docs]
    doc_ids = [d["id"] for d in docs]

    variants = [("torch", NlpSettings(cache=False, backend="torch")),
                ("onnx fp32", NlpSettings(cache=False, backend="onnx", onnx_int8=False)),
                ("onnx int8 (per channel)", NlpSettings(cache=False, backend="onnx", onnx_int8=True))]
    base = SentenceTransformerEmbedder(variants[0][1])
    # Passages are split once (same tokenizer for every backend), so only the encoder differs.
    doc_passages, doc_owner = [], []
    for i, d in enumerate(docs):
        for p in split_passages(analysed_text(d["title"], d["text"]), base, overlap_tokens=32).passages:
            doc_passages.append(p.text)
            doc_owner.append(i)
    need_passages, need_owner = [], []
    for i, n in enumerate(needs):
        for p in split_passages(analysed_text(n["title"], n["text"]), base, overlap_tokens=32).passages:
            need_passages.append(p.text)
            need_owner.append(i)
    doc_owner_a, need_owner_a = np.array(doc_owner), np.array(need_owner)
    print(f"{len(needs)} needs ({len(need_passages)} passages), {len(docs)} docs ({len(doc_passages)} passages)")

    def evaluate(dv: np.ndarray, nv: np.ndarray) -> tuple[float, float]:
        sims = nv @ dv.T  # need passages x doc passages
        ndcg = rr = 0.0
        for i, n in enumerate(needs):
            rows_ = sims[need_owner_a == i].max(axis=0)
            score = np.full(len(docs), -1.0)
            np.maximum.at(score, doc_owner_a, rows_)
            ranking = [doc_ids[j] for j in np.argsort(-score, kind="stable")]
            rel = qrels[n["id"]]
            dcg = sum(1 / math.log2(r + 2) for r, d in enumerate(ranking[:10]) if d in rel)
            ideal = sum(1 / math.log2(r + 2) for r in range(min(10, len(rel))))
            ndcg += dcg / ideal
            rr += next((1 / (r + 1) for r, d in enumerate(ranking) if d in rel), 0.0)
        return ndcg / len(needs), rr / len(needs)

    results = []
    for name, settings in variants:
        embedder = SentenceTransformerEmbedder(settings)
        embedder._model = base.model  # one set of weights; the ONNX variants export from them
        embedder.encode(doc_passages[:16])  # export / session start / warm-up outside the timing
        t = time.perf_counter()
        dv = embedder.encode(doc_passages)
        seconds = time.perf_counter() - t
        nv = embedder.encode(need_passages)
        ndcg, mrr = evaluate(dv, nv)
        results.append((name, len(docs) / seconds, len(doc_passages) / seconds, ndcg, mrr))
    t0 = results[0]
    print(f"{'backend':10s} {'docs/s':>7s} {'pass/s':>7s} {'speed':>6s} {'nDCG@10':>8s} {'delta':>7s} {'MRR':>6s}")
    for name, dps, pps, ndcg, mrr in results:
        print(f"{name:10s} {dps:7.1f} {pps:7.1f} {dps / t0[1]:5.2f}x {ndcg:8.4f} {ndcg - t0[3]:+7.4f} {mrr:6.3f}")


if __name__ == "__main__":
    main()
