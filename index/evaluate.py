"""Evaluate need -> technology ranking on a benchmark directory (the `sbir-bench` format).

`evaluate()` builds a fresh temporary index through the same enrich + `Index.upsert` + `Ranker` code the
product uses and scores every need that has relevance judgements:

- `all`: against `qrels.tsv`;
- `strict` (when `qrels_strict.tsv` is present): against `qrels_strict.tsv`, with the need's `anchors.tsv`
  documents (awards whose title copies the topic title) removed from its ranking first.

Metrics: MRR (first relevant document within the top 100), nDCG@10 (binary gain), Recall@10, Recall@100.

`result["stages"]` says where the time went, as this (the main) thread spent it, one stage after the other: wall
seconds, CPU seconds (every thread of the process during the stage; `own_cpu`: this thread's alone) and the
seconds of the wall time the thread waited for a CPU (a busy machine's share, which an idle one would not spend). `parse` (reading the benchmark),
`nlp` (analysis, passages, BM25), `embedding` (the multilingual channel's sentences, and the wait for the passage
embedder's call), `indexing` (upserts and the optimize), `ranking` (every need's ranking), `scoring` (the
metrics). The build runs as the ingest does (`index.ingest.enrich_in_process`): the passage embedder works on a
helper thread beside the next batch's analysis and the last one's upsert, so its work shows as CPU in those
stages and as `embedding` wall only where the build waited for it. Rankings run on two threads
(`Ranker.in_threads`), the needs' queries on this one.

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

from index.ingest import enrich_in_process
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


def _cpu_wait() -> float:
    """Seconds this thread has waited for a CPU while ready to run (the scheduler's run delay; 0 where the
    kernel does not say): on a busy machine, the part of a stage's wall time an idle machine would not spend."""
    try:
        with open("/proc/thread-self/schedstat", "rb") as fh:
            return int(fh.read().split()[1]) / 1e9
    except (OSError, IndexError, ValueError):
        return 0.0


@dataclass
class StageClock:
    """Wall and CPU seconds spent in each stage, and how long of the wall time the stage's thread waited for a
    CPU (`waited`); `within` moves a nested stage's time out of its parent's."""

    wall: dict[str, float] = field(default_factory=lambda: dict.fromkeys(STAGES, 0.0))
    cpu: dict[str, float] = field(default_factory=lambda: dict.fromkeys(STAGES, 0.0))
    waited: dict[str, float] = field(default_factory=lambda: dict.fromkeys(STAGES, 0.0))
    own_cpu: dict[str, float] = field(default_factory=lambda: dict.fromkeys(STAGES, 0.0))  # this thread's

    @contextmanager
    def stage(self, name: str, within: str | None = None):
        w, c, q, t = time.perf_counter(), time.process_time(), _cpu_wait(), time.thread_time()
        try:
            yield
        finally:
            dw, dc, dq = time.perf_counter() - w, time.process_time() - c, _cpu_wait() - q
            dt = time.thread_time() - t
            self.wall[name] += dw
            self.cpu[name] += dc
            self.waited[name] += dq
            self.own_cpu[name] += dt
            if within is not None:
                self.wall[within] -= dw
                self.cpu[within] -= dc
                self.waited[within] -= dq
                self.own_cpu[within] -= dt

    def seconds(self) -> dict[str, dict[str, float]]:
        return {n: {"wall": round(self.wall[n], 3), "cpu": round(self.cpu[n], 3), "waited": round(self.waited[n], 3),
                    "own_cpu": round(self.own_cpu[n], 3)} for n in self.wall}


@contextmanager
def _timed_embedding(enricher: Enricher, clock: StageClock):
    """Count the build's wait for the encoders (`nlp.pipeline.Enricher.embeddings`: the multilingual sentences
    encoded on this thread while the passage embedder finishes on its helper thread) as `embedding`, out of `nlp`
    which encloses it. The passage embedder's work beside the other stages is theirs: the stages are this
    thread's time, one after the other. An enricher without `embeddings` (a test's fake) has its encoders'
    `encode` calls counted instead."""
    name = "embeddings" if hasattr(enricher, "embeddings") else "encode"
    targets = [enricher] if name == "embeddings" else [
        e for e in (getattr(enricher, "embedder", None), getattr(enricher, "multilingual", None))
        if e is not None and hasattr(e, "encode")]
    for target in targets:
        inner = getattr(target, name)

        def timed(*args, _inner=inner, **kwargs):
            with clock.stage("embedding", within="nlp"):
                return _inner(*args, **kwargs)

        setattr(target, name, timed)  # an instance attribute over the class's method, removed again below
    try:
        yield
    finally:
        for target in targets:
            delattr(target, name)


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
    batches = [everything[i : i + batch_size] for i in range(0, len(everything), batch_size)]
    # as the ingest enriches: the next batch is analysed (and this one's passages embedded) while one is written
    outcomes = iter(enrich_in_process(enricher)(iter(batches)))
    done = 0
    with _timed_embedding(enricher, clock):
        for batch in batches:
            with clock.stage("nlp"):
                outcome = next(outcomes)
            rejected += len(batch) if outcome.failure is not None else len(outcome.rejects)
            with clock.stage("indexing"):
                index.upsert(outcome.enriched, flush=False)
            done += len(batch)
            progress("index", done, len(everything))
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

    def inputs():  # on this thread: a need's query is analysed and embedded here (Ranker.in_threads)
        for need in bench.needs:
            nid = bench.bench_id[need.id]
            _, q = ranker.need_input(need.id)
            yield nid, q, DEPTH + len(bench.anchors.get(nid, ())) + (feedback_k or 0)

    def rank(item):  # on a ranking thread: a need's rankings, and its residual pair with feedback
        nid, q, depth = item
        ranked = {mode: [r.doc_id for r in ranker.rank(q, None, depth, mode=mode)] for mode in modes}
        pair = None
        if bench.has_strict and bench.strict.get(nid) and feedback_k and "full" in ranked:
            pair = _residual_pair(ranker, bench, q, nid, ranked["full"], feedback_k, depth)
        return nid, ranked, pair

    rankings = ranker.in_threads(rank, inputs())
    for n in range(1, len(bench.needs) + 1):
        with clock.stage("ranking"):
            nid, ranked_by_mode, pair = next(rankings)
        with clock.stage("scoring"):
            for mode in modes:
                ranking = [bench.bench_id.get(d, d) for d in ranked_by_mode[mode]]
                per_mode[mode]["all"].append(metrics(ranking, bench.qrels[nid]))
                if bench.has_strict and bench.strict.get(nid):
                    drop = bench.anchors.get(nid, set())
                    per_mode[mode]["strict"].append(metrics([d for d in ranking if d not in drop], bench.strict[nid]))
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
