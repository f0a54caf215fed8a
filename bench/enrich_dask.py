"""Enrichment throughput on Dask: 2 worker processes against 1, on the demo corpus (real model, ONNX int8).

The demo sources are crawled once from the loopback demo site into a template inbox; then for each set-up
the same inbox is copied into a fresh SCOUT_HOME (a cold embedding cache, the ONNX export shared) and the
enrich flow runs: in the flow's own process, on a local Dask cluster of 1 worker process, of 2. Printed: the
flow's wall time, documents and passages per second, the ratio of 2 workers to 1, and the cluster's own start-up
(an enrich of an empty inbox), which a longer enrich pays once.

    PYTHONPATH=$PWD python bench/enrich_dask.py [--runs 1] [--setups 0 1 2] [--threads-per-worker 0]

By default each Dask worker computes on its share of the cores, as the product runs it: one worker then uses
every core (as the flow's own process does), so on one machine a second worker can add little; with
`--threads-per-worker 1` each worker is one core and the ratio says what adding a worker (a core, a machine) adds.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("HF_HUB_OFFLINE", "1")


def load() -> str:
    return f"{os.getloadavg()[0]:.1f}"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--setups", type=int, nargs="+", default=[0, 1, 2], help="Dask worker processes (0: in-process)")
    ap.add_argument("--runs", type=int, default=1, help="runs per set-up (the best is kept)")
    ap.add_argument("--one-batch", action="store_true",
                    help="the crawled documents as one inbox batch (a large crawl's shape) instead of one per source")
    ap.add_argument("--threads-per-worker", type=int, default=0,
                    help="threads of each Dask worker's models (SCOUT_ENRICH_THREADS); 0: the product's default, "
                         "the cores shared out among the workers (one worker then computes on every core)")
    args = ap.parse_args()
    root = Path(tempfile.mkdtemp(prefix="dualscout-enrich-dask-"))
    template = root / "template"
    template.mkdir()
    os.environ["SCOUT_NLP_ONNX_DIR"] = str(root / "models")  # exported once, shared by every run and worker
    os.environ["SCOUT_ENRICH_THREADS"] = str(args.threads_per_worker)
    from rich.console import Console
    from rich.table import Table

    from flows.crawl import crawl
    from flows.enrich import enrich
    from scout.demo.run import demo_sources, loopback_environment
    from scout.demo.site import DATA_DIR, DemoSite
    from scout.scheduler import flow_server

    console = Console()
    shutil.copyfile(DATA_DIR / "needs.yaml", template / "needs.yaml")
    os.environ["SCOUT_HOME"] = str(template)
    with loopback_environment(template), flow_server(root / "prefect", status=console.log):
        with DemoSite() as site:
            crawl(demo_sources(site.base_url, template))
        inbox = sorted((template / "inbox").glob("*.jsonl"))
        if args.one_batch:  # the steps of one batch run side by side; each batch ends with every step written
            merged = "".join(p.read_text(encoding="utf-8") for p in inbox)
            for p in inbox:
                p.unlink()
            (template / "inbox" / "all-sources.jsonl").write_text(merged, encoding="utf-8")
            inbox = [template / "inbox" / "all-sources.jsonl"]
        documents = sum(1 for p in inbox for line in p.read_text(encoding="utf-8").splitlines() if line.strip())
        console.log(f"demo corpus: {documents} documents in {len(inbox)} crawl batches")
        # the model's ONNX export, made once before timing (every set-up then loads it)
        from nlp.pipeline import Enricher

        Enricher().embedder.encode(["warm up the export"])

        rows = []
        for workers in args.setups:
            best = None
            for run in range(args.runs):
                home = root / f"w{workers}-{run}"
                shutil.copytree(template / "inbox", home / "inbox", ignore=shutil.ignore_patterns("done"))
                os.environ.update(SCOUT_HOME=str(home), SCOUT_ENRICH_WORKERS=str(workers))
                before = load()
                started = time.perf_counter()
                stats = enrich()
                elapsed = time.perf_counter() - started
                passages = sum(s.passages_embedded for s in stats)
                enriched = sum(s.new + s.updated for s in stats)
                startup = 0.0
                if workers:  # the cluster's start-up and the workers' model loading, on an empty inbox
                    os.environ["SCOUT_HOME"] = str(root / f"empty-{workers}-{run}")
                    t = time.perf_counter()
                    enrich()
                    startup = time.perf_counter() - t
                if best is None or elapsed < best[1]:
                    best = (workers, elapsed, enriched, passages, startup, f"{before} / {load()}")
                console.log(f"{workers} workers, run {run + 1}: {elapsed:.1f} s, {enriched} documents")
            rows.append(best)
    threads = f"{args.threads_per_worker} thread(s) per worker" if args.threads_per_worker else "cores shared out"
    shape = "one batch" if args.one_batch else f"{len(inbox)} batches"
    table = Table(title=f"Enrich of the demo corpus ({documents} documents, {shape}), ONNX int8, Dask: {threads}")
    for col in ("set-up", "seconds", "documents", "passages", "docs/s", "passages/s", "empty enrich s",
                "load before / after"):
        table.add_column(col, justify="right")
    for workers, elapsed, enriched, passages, startup, loads in rows:
        label = "in the flow's process" if workers == 0 else f"Dask, {workers} worker process{'es' * (workers > 1)}"
        table.add_row(label, f"{elapsed:.1f}", str(enriched), str(passages), f"{enriched / elapsed:.1f}",
                      f"{passages / elapsed:.1f}", f"{startup:.1f}" if workers else "", loads)
    console.print(table)
    by = {r[0]: r for r in rows}
    if 1 in by and 2 in by:
        ratio = by[1][1] / by[2][1]
        steady = (by[1][1] - by[1][4]) / max(1e-9, by[2][1] - by[2][4])
        console.print(f"throughput, 2 worker processes / 1: {ratio:.2f}x "
                      f"({steady:.2f}x without each set-up's empty-enrich start-up); {os.cpu_count()} CPUs, "
                      f"load average {load()} (other jobs on the machine count)")
    shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
