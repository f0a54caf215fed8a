"""Cross-lingual development check (issue 4): Japanese need titles vs the same English titles, ranked over
the English sbir-bench documents with the English-only default model.

Levers, each printed as MRR (Japanese / English) and their ratio (target: Japanese keeps >= 0.5x):
  dense                 the title's own vector (max cosine over a document's passage vectors)
  + translation         the Japanese title's English rendering (nlp.translate: taxonomy labels, then JMdict)
  + concept overlap     score += w * shared taxonomy concepts / query concepts

Usage:
  SCOUT_HOME=var/bench PYTHONPATH=. python bench/nlp_crosslingual.py [--bench DIR] [--docs N] [--weight W]
Document vectors are cached in $SCOUT_HOME/embeddings.sqlite, so a second run embeds nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.shared_data import SBIR_BENCH, existing  # noqa: E402

from nlp.base import SparseVector  # noqa: E402
from nlp.pipeline import Enricher  # noqa: E402
from domain.models import Document  # noqa: E402
from domain.settings import NlpSettings  # noqa: E402

HERE = Path(__file__).resolve().parent


class NoSparse:
    """This check measures the dense and concept channels only."""

    def encode_document(self, text: str, language: str) -> SparseVector:
        return SparseVector()

    def encode_query(self, text: str, language: str) -> SparseVector:
        return SparseVector()

    def encode_title(self, text: str, language: str) -> SparseVector:
        return SparseVector()


def load_jsonl(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def mrr(rankings: dict[str, list[int]], relevant: dict[str, set[int]]) -> float:
    if not rankings:
        return 0.0
    total = 0.0
    for need, ranking in rankings.items():
        for rank, doc in enumerate(ranking[:1000], 1):
            if doc in relevant[need]:
                total += 1 / rank
                break
    return total / len(rankings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bench", type=existing, default=str(SBIR_BENCH))
    parser.add_argument("--titles", type=Path, default=HERE / "data/needs_ja_titles.jsonl")
    parser.add_argument("--docs", type=int, default=0, help="distractor sample size (0: all documents)")
    parser.add_argument("--weight", type=float, default=0.1, help="concept-overlap weight")
    args = parser.parse_args()

    titles = load_jsonl(args.titles)
    qrels: dict[str, set[str]] = {}
    for line in (args.bench / "qrels.tsv").read_text().splitlines():
        need, doc, *_ = line.split("\t")
        qrels.setdefault(need, set()).add(doc)
    strict: dict[str, set[str]] = {}
    for line in (args.bench / "qrels_strict.tsv").read_text().splitlines():
        need, doc, *_ = line.split("\t")
        strict.setdefault(need, set()).add(doc)
    anchors: dict[str, set[str]] = {}
    for line in (args.bench / "anchors.tsv").read_text().splitlines():
        need, doc, *_ = line.split("\t")
        anchors.setdefault(need, set()).add(doc)
    rows = load_jsonl(args.bench / "docs.jsonl")
    if args.docs:
        wanted = set().union(*(qrels[t["id"]] for t in titles))
        others = [r for r in rows if r["id"] not in wanted]
        random.Random(0).shuffle(others)
        rows = [r for r in rows if r["id"] in wanted] + others[: args.docs]
    docs = [
        Document.make(kind="research", source="sbir-bench", source_id=r["id"], url=f"bench:{r['id']}",
                      title=r["title"], text=r["text"], language="en")
        for r in rows
    ]
    settings = NlpSettings()
    enricher = Enricher(settings, sparse=NoSparse())
    started = time.perf_counter()
    enriched, rejects = [], []
    for i in range(0, len(docs), 256):
        out, rej = enricher.enrich(docs[i : i + 256])
        enriched += out
        rejects += rej
        print(f"\renriched {len(enriched)}/{len(docs)} docs", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    print(f"documents: {len(enriched)} ({len(rejects)} rejected), enrich {time.perf_counter() - started:.0f}s, "
          f"taxonomy: {settings.taxonomy_path or 'bundled'} ({len(enricher.taxonomy.concepts)} concepts)")
    doc_index = {e.document.source_id: i for i, e in enumerate(enriched)}
    owner = np.concatenate([np.full(len(e.passage_vectors), i) for i, e in enumerate(enriched)])
    matrix = np.concatenate([e.passage_vectors for e in enriched])
    doc_concepts = [set(e.analysis.concepts) for e in enriched]
    relevant = {t["id"]: {doc_index[d] for d in qrels[t["id"]] if d in doc_index} for t in titles}
    # Strict: a copied title cannot carry the result (anchor docs dropped, strict qrels).
    relevant_strict = {
        t["id"]: {doc_index[d] for d in strict.get(t["id"], ()) if d in doc_index}
        for t in titles if strict.get(t["id"])
    }
    anchor_rows = {t["id"]: {doc_index[d] for d in anchors.get(t["id"], ()) if d in doc_index} for t in titles}

    def doc_scores(vectors: np.ndarray) -> np.ndarray:
        sims = (matrix @ vectors.T).max(axis=1)
        best = np.full(len(enriched), -1.0, dtype=np.float32)
        np.maximum.at(best, owner, sims)
        return best

    def rank(scores: np.ndarray) -> list[int]:
        return list(np.argsort(-scores, kind="stable"))

    def concept_bonus(concepts: list[str]) -> np.ndarray:
        if not concepts:
            return np.zeros(len(enriched), dtype=np.float32)
        q = set(concepts)
        return np.array([len(q & c) / len(q) for c in doc_concepts], dtype=np.float32)

    translating = Enricher(NlpSettings(translate=True), embedder=enricher.embedder, sparse=NoSparse())
    plain = Enricher(NlpSettings(translate=False), embedder=enricher.embedder, sparse=NoSparse())
    results: dict[str, dict[str, list[int]]] = {}
    concept_hits = {"en": 0, "ja": 0}
    started = time.perf_counter()
    for t in titles:
        q_en = plain.query(t["title_en"])
        q_ja = plain.query(t["title_ja"])
        q_tr = translating.query(t["title_ja"])
        concept_hits["en"] += bool(q_en.concepts)
        concept_hits["ja"] += bool(q_ja.concepts)
        s_en, s_ja = doc_scores(q_en.passage_vectors), doc_scores(q_ja.passage_vectors)
        s_tr_max = doc_scores(q_tr.passage_vectors)
        s_tr_only = doc_scores(q_tr.passage_vectors[1:]) if len(q_tr.passage_vectors) > 1 else s_ja
        b_en, b_ja = concept_bonus(q_en.concepts), concept_bonus(q_ja.concepts)
        w = args.weight
        for name, en_scores, ja_scores in [
            ("dense", s_en, s_ja),
            ("dense + translation (max of ja, rendering)", s_en, s_tr_max),
            ("dense + translation (rendering only)", s_en, s_tr_only),
            ("dense + concept overlap", s_en + w * b_en, s_ja + w * b_ja),
            ("dense + translation + concept overlap", s_en + w * b_en, s_tr_only + w * b_ja),
        ]:
            results.setdefault(name, {"en": {}, "ja": {}})
            results[name]["en"][t["id"]] = rank(en_scores)
            results[name]["ja"][t["id"]] = rank(ja_scores)
    print(f"queries: {len(titles)} needs x 3 renderings in {time.perf_counter() - started:.1f}s; "
          f"titles with a taxonomy concept: en {concept_hits['en']}, ja {concept_hits['ja']}")
    example = translating.query(titles[0]["title_ja"])
    print(f"example rendering: {titles[0]['title_ja']} -> {example.rendering!r}")
    def strict_runs(runs: dict[str, list[int]]) -> dict[str, list[int]]:
        return {n: [d for d in r if d not in anchor_rows[n]] for n, r in runs.items() if n in relevant_strict}

    print(f"{'lever':46s} {'MRR en':>8s} {'MRR ja':>8s} {'ja/en':>6s} | strict ({len(relevant_strict)} needs):"
          f" {'en':>6s} {'ja':>6s} {'ja/en':>6s}")
    for name, runs in results.items():
        m_en, m_ja = mrr(runs["en"], relevant), mrr(runs["ja"], relevant)
        s_en, s_ja = mrr(strict_runs(runs["en"]), relevant_strict), mrr(strict_runs(runs["ja"]), relevant_strict)
        print(f"{name:46s} {m_en:8.3f} {m_ja:8.3f} {m_ja / m_en if m_en else 0:6.2f} | {'':19s}"
              f" {s_en:6.3f} {s_ja:6.3f} {s_ja / s_en if s_en else 0:6.2f}")


if __name__ == "__main__":
    main()
