"""Evaluate need -> technology ranking on a benchmark directory (the `sbir-bench` format).

`evaluate()` builds a fresh temporary index through the same enrich + `Index.upsert` + `Ranker` code the
product uses and scores every need that has relevance judgements:

- `all`: against `qrels.tsv`;
- `strict` (when `qrels_strict.tsv` is present): against `qrels_strict.tsv`, with the need's `anchors.tsv`
  documents (awards whose title copies the topic title) removed from its ranking first.

Metrics: MRR (first relevant document within the top 100), nDCG@10 (binary gain), Recall@10, Recall@100.

`result["stages"]` says where the time went, wall and CPU seconds (CPU: every thread of this process, the
embedding session's included): `parse` (reading the benchmark), `nlp` (analysis, passages, BM25: enrich
without its embedding calls), `embedding` (the encoders' calls during the build: passages and titles, and the multilingual channel's sentences), `indexing` (upserts and the
optimize), `ranking` (every need's ranking), `scoring` (the metrics).

With `feedback_k` (`scout eval --feedback K`), an analyst is simulated: for every need with strict judgements
they judge the top K of its strict ranking (relevant iff in `qrels_strict.tsv`), the need is re-ranked with
those judgements (relevance feedback, index/ranking/feedback.py), and the *residual* ranking is scored: the K judged
documents left out of the ranking and of the relevant set (the residual-collection method of feedback
evaluation, so that finding again what the analyst already judged earns nothing). `before` scores the residual
of the ranking without the judgements, `after` the one with them; a need with no relevant document left
after judging is left out of both.
"""

from __future__ import annotations

import csv
import json
import math
import re
import tempfile
import time
from collections import defaultdict
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterable

from index.ranking.feedback import Feedback
from index.ranking import QueryInput, Ranker, RankWeights
from index.store import Index
from index.suppliers import KnownSuppliers
from domain.models import Document, DocKind
from domain.settings import IndexSettings
from nlp.base import Enricher

Progress = Callable[[str, int, int], None]  # (stage, done, total)
DEPTH = 100
STAGES = ("parse", "nlp", "embedding", "indexing", "ranking", "scoring")


@dataclass
class StageClock:
    """Wall and CPU seconds spent in each stage; `within` moves a nested stage's time out of its parent's."""

    wall: dict[str, float] = field(default_factory=lambda: dict.fromkeys(STAGES, 0.0))
    cpu: dict[str, float] = field(default_factory=lambda: dict.fromkeys(STAGES, 0.0))

    @contextmanager
    def stage(self, name: str, within: str | None = None):
        w, c = time.perf_counter(), time.process_time()
        try:
            yield
        finally:
            dw, dc = time.perf_counter() - w, time.process_time() - c
            self.wall[name] += dw
            self.cpu[name] += dc
            if within is not None:
                self.wall[within] -= dw
                self.cpu[within] -= dc

    def seconds(self) -> dict[str, dict[str, float]]:
        return {n: {"wall": round(self.wall[n], 3), "cpu": round(self.cpu[n], 3)} for n in self.wall}


@contextmanager
def _timed_embedding(enricher: Enricher, clock: StageClock):
    """Count the encoders' calls (the passage embedder's and, when the channel is on, the multilingual sentence
    encoder's) as `embedding`, out of `nlp` which encloses them, while the index is built."""
    encoders = [e for e in (getattr(enricher, "embedder", None), getattr(enricher, "multilingual", None))
                if e is not None and hasattr(e, "encode")]
    for embedder in encoders:
        inner = embedder.encode

        def encode(*args, _inner=inner, **kwargs):
            with clock.stage("embedding", within="nlp"):
                return _inner(*args, **kwargs)

        embedder.encode = encode  # an instance attribute over the class's method, removed again below
    try:
        yield
    finally:
        for embedder in encoders:
            del embedder.encode


_COMPANY = re.compile(r"company ([^;]+)$")


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    out = []
    with path.open(encoding="utf-8") as fh:
        for n, line in enumerate(fh, start=1):
            if line.strip():
                try:
                    out.append(json.loads(line))
                except ValueError as exc:
                    raise ValueError(f"{path}:{n}: not JSON ({exc})") from None
    return out


def _read_pairs(path: Path) -> dict[str, set[str]]:
    out: dict[str, set[str]] = defaultdict(set)
    if not path.exists():
        return out
    with path.open(encoding="utf-8") as fh:
        for row in csv.reader(fh, delimiter="\t"):
            if len(row) >= 2 and row[0] and not row[0].startswith("#"):
                if len(row) >= 3 and row[2].strip() in ("0", ""):
                    continue
                out[row[0]].add(row[1])
    return out


def bench_document(row: dict[str, Any], kind: DocKind) -> Document:
    """A benchmark row as a Document (bench id kept in meta)."""
    for key in ("id", "title", "text"):
        if not isinstance(row.get(key), str):
            raise ValueError(f"benchmark row without a string {key!r}: {str(row)[:120]}")
    source = str(row.get("source") or "bench")
    orgs = [m.group(1).strip()] if (m := _COMPANY.search(source)) else []
    year = row.get("award_year")
    published = datetime(int(year), 1, 1, tzinfo=timezone.utc) if isinstance(year, int) else None
    return Document.make(
        kind=kind, source=f"bench-{kind.value}", source_id=row["id"], url=f"bench:{row['id']}",
        title=row["title"], text=row["text"], organizations=orgs, published=published,
        meta={"bench_id": row["id"]},
    )


def metrics(ranking: list[str], relevant: set[str]) -> dict[str, float]:
    rr = 0.0
    for i, d in enumerate(ranking[:DEPTH], start=1):
        if d in relevant:
            rr = 1.0 / i
            break
    dcg = sum(1.0 / math.log2(i + 1) for i, d in enumerate(ranking[:10], start=1) if d in relevant)
    idcg = sum(1.0 / math.log2(i + 1) for i in range(1, min(10, len(relevant)) + 1))
    return {
        "mrr": rr,
        "ndcg@10": dcg / idcg if idcg else 0.0,
        "recall@10": len(relevant & set(ranking[:10])) / len(relevant),
        "recall@100": len(relevant & set(ranking[:100])) / len(relevant),
    }


def _mean(rows: Iterable[dict[str, float]]) -> dict[str, float]:
    rows = list(rows)
    if not rows:
        return {"mrr": 0.0, "ndcg@10": 0.0, "recall@10": 0.0, "recall@100": 0.0}
    return {k: round(sum(r[k] for r in rows) / len(rows), 4) for k in rows[0]}


@dataclass
class Bench:
    needs: list[Document]
    docs: list[Document]
    bench_id: dict[str, str]  # Document.id -> benchmark id
    qrels: dict[str, set[str]]
    strict: dict[str, set[str]]
    anchors: dict[str, set[str]]
    has_strict: bool


def load_bench(bench_dir: Path, limit_needs: int | None = None) -> Bench:
    bench_dir = Path(bench_dir)
    for name in ("needs.jsonl", "docs.jsonl", "qrels.tsv"):
        if not (bench_dir / name).exists():
            raise FileNotFoundError(f"{bench_dir}: missing {name} (expected the sbir-bench layout)")
    qrels = _read_pairs(bench_dir / "qrels.tsv")
    need_rows = [r for r in _read_jsonl(bench_dir / "needs.jsonl") if qrels.get(r.get("id"))]
    if limit_needs:
        need_rows = need_rows[:limit_needs]
    needs = [bench_document(r, DocKind.need) for r in need_rows]
    docs = [bench_document(r, DocKind.research) for r in _read_jsonl(bench_dir / "docs.jsonl")]
    return Bench(
        needs=needs, docs=docs, bench_id={d.id: d.meta["bench_id"] for d in [*needs, *docs]}, qrels=qrels,
        strict=_read_pairs(bench_dir / "qrels_strict.tsv"), anchors=_read_pairs(bench_dir / "anchors.tsv"),
        has_strict=(bench_dir / "qrels_strict.tsv").exists(),
    )


def build_index(index: Index, bench: Bench, enricher: Enricher, progress: Progress, batch_size: int = 256,
                clock: StageClock | None = None) -> int:
    """Enrich and index the benchmark's needs and documents; returns the number of rejects."""
    clock = clock or StageClock()
    rejected = 0
    everything = [*bench.needs, *bench.docs]
    with _timed_embedding(enricher, clock):
        for i in range(0, len(everything), batch_size):
            with clock.stage("nlp"):
                enriched, rejects = enricher.enrich(everything[i : i + batch_size])
            rejected += len(rejects)
            with clock.stage("indexing"):
                index.upsert(enriched, flush=False)
            progress("index", min(i + batch_size, len(everything)), len(everything))
    with clock.stage("indexing"):
        index.optimize()
    return rejected


def score(ranker: Ranker, bench: Bench, modes: Iterable[str] = ("full",), progress: Progress | None = None,
          feedback_k: int | None = None, clock: StageClock | None = None) -> dict[str, dict[str, Any]]:
    """mode -> {"all": metrics, "strict": metrics} over the benchmark's needs; with `feedback_k`, also
    "feedback" -> {"k", "needs", "before": {"strict": metrics}, "after": {"strict": metrics}} (see the module
    docstring)."""
    progress = progress or (lambda stage, done, total: None)
    clock = clock or StageClock()
    modes = list(modes)
    per_mode: dict[str, dict[str, list[dict[str, float]]]] = {m: {"all": [], "strict": []} for m in modes}
    residual: dict[str, list[dict[str, float]]] = {"before": [], "after": []}
    for n, need in enumerate(bench.needs, start=1):
        nid = bench.bench_id[need.id]
        with clock.stage("ranking"):
            _, q = ranker.need_input(need.id)
        depth = DEPTH + len(bench.anchors.get(nid, ())) + (feedback_k or 0)
        for mode in modes:
            with clock.stage("ranking"):
                ranked = [r.doc_id for r in ranker.rank(q, None, depth, mode=mode)]
            with clock.stage("scoring"):
                ranking = [bench.bench_id.get(d, d) for d in ranked]
                per_mode[mode]["all"].append(metrics(ranking, bench.qrels[nid]))
                if bench.has_strict and bench.strict.get(nid):
                    drop = bench.anchors.get(nid, set())
                    per_mode[mode]["strict"].append(metrics([d for d in ranking if d not in drop], bench.strict[nid]))
            if bench.has_strict and bench.strict.get(nid) and feedback_k and mode == "full":
                with clock.stage("ranking"):
                    pair = _residual_pair(ranker, bench, q, nid, ranked, feedback_k, depth)
                    if pair is not None:
                        residual["before"].append(pair[0])
                        residual["after"].append(pair[1])
        progress("rank", n, len(bench.needs))
    out: dict[str, dict[str, Any]] = {}
    for mode in modes:
        out[mode] = {"all": _mean(per_mode[mode]["all"])}
        if bench.has_strict:
            out[mode]["strict"] = _mean(per_mode[mode]["strict"])
            out[mode]["strict_needs"] = len(per_mode[mode]["strict"])
    if feedback_k:
        out["feedback"] = {"k": feedback_k, "needs": len(residual["after"]),
                           "before": {"strict": _mean(residual["before"])},
                           "after": {"strict": _mean(residual["after"])}}
    return out


def _residual_pair(ranker: Ranker, bench: Bench, q: QueryInput, nid: str, ranked: list[str], k: int, depth: int,
                   ) -> tuple[dict[str, float], dict[str, float]] | None:
    """Strict metrics of the residual ranking without and with the judgements of its top `k` (None: no
    relevant document left to find once those are judged)."""
    drop = bench.anchors.get(nid, set())
    strict = [d for d in ranked if bench.bench_id.get(d, d) not in drop]
    judged = strict[:k]
    relevant = tuple(d for d in judged if bench.bench_id.get(d, d) in bench.strict[nid])
    left = bench.strict[nid] - {bench.bench_id.get(d, d) for d in relevant}
    if not left:
        return None
    feedback = Feedback(relevant=relevant, not_relevant=tuple(d for d in judged if d not in relevant))
    seen = set(judged)

    def residual(ids: Iterable[str]) -> list[str]:
        return [b for d in ids if d not in seen and (b := bench.bench_id.get(d, d)) not in drop]

    after = [r.doc_id for r in ranker.rank(q, None, depth, feedback=feedback)]
    return metrics(residual(strict), left), metrics(residual(after), left)


def evaluate(bench_dir: Path, enricher: Enricher, *, settings: IndexSettings | None = None, baselines: bool = False,
             progress: Progress | None = None, limit_needs: int | None = None,
             weights: RankWeights | None = None, feedback_k: int | None = None) -> dict[str, Any]:
    """Score the benchmark in `bench_dir` through a fresh temporary index; see the module docstring."""
    started = time.time()
    progress = progress or (lambda stage, done, total: None)
    clock = StageClock()
    with clock.stage("parse"):
        bench = load_bench(bench_dir, limit_needs)
    settings = settings or IndexSettings()
    backend = settings.backend if settings.backend in ("edge", "local") else "edge"
    dim = int(enricher.embedder.dim) if hasattr(enricher, "embedder") else 384
    with tempfile.TemporaryDirectory(prefix="scout-eval-") as tmp:
        ix_settings = IndexSettings(backend=backend, path=Path(tmp) / "index",
                                    known_suppliers_path=settings.known_suppliers_path)
        with Index(ix_settings, dim=dim, command="scout eval") as index:
            rejected = build_index(index, bench, enricher, progress, clock=clock)
            index_seconds = time.time() - started
            ranker = Ranker(index, enricher, KnownSuppliers(), weights=weights)
            scores = score(ranker, bench, ["full", "bm25", "dense"] if baselines else ["full"], progress,
                           feedback_k=feedback_k, clock=clock)
    full = scores["full"]
    result: dict[str, Any] = {"all": full["all"]}
    if bench.has_strict:
        result["strict"] = full["strict"]
    result.update({"needs": len(bench.needs), "docs": len(bench.docs)})
    if bench.has_strict:
        result["strict_needs"] = full["strict_needs"]
    if baselines:
        result["baselines"] = {m: {k: v for k, v in scores[m].items() if k != "strict_needs"} for m in ("bm25", "dense")}
    if feedback_k:
        result["feedback"] = scores["feedback"]
    result["rejected"] = rejected
    result["seconds"] = {"index": round(index_seconds, 1), "total": round(time.time() - started, 1)}
    result["stages"] = clock.seconds()
    return result
