"""Enrichment throughput on Dask: 2 worker processes against 1, on the demo corpus (real model, ONNX int8).

The demo sources are crawled once from the loopback demo site into a template inbox; then for each set-up
the same inbox is copied into a fresh SCOUT_HOME (a cold embedding cache, the ONNX export shared) and the
enrich flow runs: in the flow's own process, on a local Dask cluster of 1 worker process, of 2. Printed: the
flow's wall time, documents and passages per second, the ratio of 2 workers to 1, and the cluster's own start-up
(an enrich of an empty inbox), which a longer enrich pays once.

    PYTHONPATH=$PWD python bench/enrich_dask.py [--runs 1] [--setups 0 1 2] [--threads-per-worker 0] [--one-batch]
        [--timeline FILE]

With `--runs N` the set-ups alternate (1, 2, 1, 2, ...) and each keeps its best run. `--timeline FILE` also says
where each run's time went: every step the workers ran (a Dask worker preload, `bench/_enrich_timeline.py`), each
worker's busy share and the CPU its steps got (below 1 s a second: other jobs of the machine took the core), this
process's CPU (the flow, the index writer, the Prefect and Dask clients) and the Prefect server's; and the span from
the first step's start to the last step's end (the enrichment without the cluster's start-up and shutdown).

By default each Dask worker computes on its share of the cores, as the product runs it: one worker then uses
every core (as the flow's own process does), so on one machine a second worker can add little; with
`--threads-per-worker 1` each worker is one core and the ratio says what adding a worker (a core, a machine) adds.
"""

from __future__ import annotations

import argparse
import json
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


class Timeline:
    """Where an enrich's time goes: the Dask workers log each step (`bench/_enrich_timeline.py`, a Dask worker
    preload), this process times its index writes and its own CPU, and the Prefect server's CPU is read from it."""

    def __init__(self, path: Path, keep: Path):
        import resource

        from index.store import Index

        self.path, self.keep, self.resource, self.writes = path, keep, resource, []
        os.environ["SCOUT_BENCH_TIMELINE"] = str(path)
        preload = [str(Path(__file__).with_name("_enrich_timeline.py"))]
        os.environ["DASK_DISTRIBUTED__WORKER__PRELOAD"] = json.dumps(preload)
        import dask

        dask.config.set({"distributed.worker.preload": preload})  # dask's config may be read already
        for name in ("upsert", "flush", "get_many"):
            inner = getattr(Index, name)

            def timed(self_, *a, _inner=inner, _name=name, **kw):
                start = time.time()
                try:
                    return _inner(self_, *a, **kw)
                finally:
                    writes.append((_name, start, time.time()))

            setattr(Index, name, timed)
        writes = self.writes

    @staticmethod
    def server_cpu() -> float:
        import psutil

        for child in psutil.Process().children(recursive=True):
            if "uvicorn" in " ".join(child.cmdline()):
                t = child.cpu_times()
                return t.user + t.system
        return 0.0

    def begin(self) -> None:
        self.path.unlink(missing_ok=True)
        self.writes.clear()
        r = self.resource.getrusage(self.resource.RUSAGE_SELF)
        self.t0, self.cpu0, self.server0 = time.time(), r.ru_utime + r.ru_stime, self.server_cpu()

    def end(self, label: str, console) -> float:
        """Print where the run's time went; return the span from its first step's start to its last step's end
        (the enrichment proper, without the cluster's start-up and shutdown)."""
        t1 = time.time()
        r = self.resource.getrusage(self.resource.RUSAGE_SELF)
        flow_cpu, server_cpu = r.ru_utime + r.ru_stime - self.cpu0, self.server_cpu() - self.server0
        wall = t1 - self.t0
        steps = [json.loads(line) for line in self.path.read_text().splitlines()] if self.path.exists() else []
        writes = {name: sum(e - s for n, s, e in self.writes if n == name) for name in ("upsert", "flush", "get_many")}
        lines = [f"[{label}] wall {wall:.1f} s; this process (flow, writer, Prefect and Dask clients) CPU "
                 f"{flow_cpu:.1f} s, of it index upserts {writes['upsert']:.1f} s wall, flushes {writes['flush']:.1f} s, "
                 f"lookups {writes['get_many']:.1f} s; Prefect server CPU {server_cpu:.1f} s"]
        for pid in sorted({s["pid"] for s in steps}):
            mine = sorted((s for s in steps if s["pid"] == pid), key=lambda s: s["start"])
            busy = sum(s["end"] - s["start"] for s in mine)
            gaps = sum(max(0.0, b["start"] - a["end"]) for a, b in zip(mine, mine[1:]))
            lines.append(
                f"  worker {pid}: {len(mine)} steps, {sum(s['documents'] for s in mine)} documents; first step starts "
                f"at {mine[0]['start'] - self.t0:.1f} s (takes {mine[0]['end'] - mine[0]['start']:.1f} s, the models' "
                f"load in it), last ends {t1 - mine[-1]['end']:.1f} s before the end; busy {busy:.1f} s "
                f"({busy / wall:.0%} of the wall), CPU in steps {sum(s['cpu'] for s in mine):.1f} s; idle between "
                f"steps {gaps:.1f} s")
        span = max(s["end"] for s in steps) - min(s["start"] for s in steps) if steps else wall
        lines.append(f"  first step's start to last step's end: {span:.1f} s")
        console.print("\n".join(lines))
        with open(self.keep, "a", encoding="utf-8") as fh:
            fh.write(json.dumps({"label": label, "t0": self.t0, "t1": t1, "steps": steps, "writes": self.writes,
                                 "flow_cpu": flow_cpu, "server_cpu": server_cpu}) + "\n")
        return span


def draining(on: bool) -> None:
    """Every batch drained before the next is read (on), as before the workers ran ahead of the writer: each batch
    then reads, to ingest, a key every other batch writes, so it waits at a barrier for the batches before it."""
    from index import ingest

    init = getattr(ingest._Batch, "_undrained_init", ingest._Batch.__init__)
    ingest._Batch._undrained_init = init
    if not on:
        ingest._Batch.__init__ = init
        return

    def drained_init(self, *args, **kwargs):
        init(self, *args, **kwargs)
        self.keys.add("bench:drain")

    ingest._Batch.__init__ = drained_init


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--setups", nargs="+", default=["0", "1", "2"],
                    help="Dask worker processes (0: in-process); a trailing d (2d): each batch drained before the next "
                         "is read, as before the workers ran ahead of the writer")
    ap.add_argument("--runs", type=int, default=1, help="runs per set-up (the best is kept)")
    ap.add_argument("--one-batch", action="store_true",
                    help="the crawled documents as one inbox batch (a large crawl's shape) instead of one per source")
    ap.add_argument("--timeline", metavar="FILE", type=Path,
                    help="also print where the time went (each worker's busy share, the writer's and the server's CPU) "
                         "and append each run's steps and writes to FILE (JSON lines)")
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
        # the model's ONNX export and the multilingual encoder's fast-loading forms, made once before timing (every
        # set-up then loads them; before, the first set-up timed paid ~2.5 s for the multilingual encoder's forms)
        from domain.models import Document
        from nlp.pipeline import Enricher

        Enricher().enrich([Document.make(kind="research", source="warm-up", source_id=lang, url="https://example.org/",
                                         title=title, text=text) for lang, title, text in (
            ("en", "Radar absorbing metamaterials", "We study a metamaterial absorber for radar."),
            ("ja", "量子センシング", "高感度な磁気センサーを開発した。"))])

        timeline = Timeline(root / "steps.jsonl", args.timeline) if args.timeline else None
        best: dict[str, tuple] = {}
        spans: dict[str, float] = {}
        for run in range(args.runs):  # the set-ups alternate, so a busy spell of the machine hits them alike
            for setup in args.setups:
                workers, drained = int(setup.rstrip("d")), setup.endswith("d")
                draining(drained)
                home = root / f"w{setup}-{run}"
                shutil.copytree(template / "inbox", home / "inbox", ignore=shutil.ignore_patterns("done"))
                os.environ.update(SCOUT_HOME=str(home), SCOUT_ENRICH_WORKERS=str(workers))
                before = load()
                if timeline:
                    timeline.begin()
                started = time.perf_counter()
                stats = enrich()
                elapsed = time.perf_counter() - started
                if timeline:
                    span = timeline.end(f"{setup} workers, run {run + 1}", console)
                    spans[setup] = min(span, spans.get(setup, span))
                passages = sum(s.passages_embedded for s in stats)
                enriched = sum(s.new + s.updated for s in stats)
                startup = 0.0
                if workers:  # the cluster's start-up and the workers' model loading, on an empty inbox
                    os.environ["SCOUT_HOME"] = str(root / f"empty-{setup}-{run}")
                    t = time.perf_counter()
                    enrich()
                    startup = time.perf_counter() - t
                if setup not in best or elapsed < best[setup][1]:
                    best[setup] = (setup, elapsed, enriched, passages, startup, f"{before} / {load()}")
                console.log(f"{setup} workers, run {run + 1}: {elapsed:.1f} s, {enriched} documents")
        rows = [best[setup] for setup in args.setups]
    threads = f"{args.threads_per_worker} thread(s) per worker" if args.threads_per_worker else "cores shared out"
    shape = "one batch" if args.one_batch else f"{len(inbox)} batches"
    table = Table(title=f"Enrich of the demo corpus ({documents} documents, {shape}), ONNX int8, Dask: {threads}")
    for col in ("set-up", "seconds", "documents", "passages", "docs/s", "passages/s", "empty enrich s",
                "load before / after"):
        table.add_column(col, justify="right")
    for setup, elapsed, enriched, passages, startup, loads in rows:
        workers = int(setup.rstrip("d"))
        label = "in the flow's process" if workers == 0 else f"Dask, {workers} worker process{'es' * (workers > 1)}"
        label += ", each batch drained" if setup.endswith("d") else ""
        table.add_row(label, f"{elapsed:.1f}", str(enriched), str(passages), f"{enriched / elapsed:.1f}",
                      f"{passages / elapsed:.1f}", f"{startup:.1f}" if workers else "", loads)
    console.print(table)
    by = {r[0]: r for r in rows}
    for one, two in (("1", "2"), ("1d", "2d")):
        if one not in by or two not in by:
            continue
        ratio = by[one][1] / by[two][1]
        steady = (by[one][1] - by[one][4]) / max(1e-9, by[two][1] - by[two][4])
        drained = ", each batch drained" if one.endswith("d") else ""
        console.print(f"throughput, 2 worker processes / 1{drained}: {ratio:.2f}x "
                      f"({steady:.2f}x without each set-up's empty-enrich start-up); {os.cpu_count()} CPUs, "
                      f"load average {load()} (other jobs on the machine count)")
        if spans.get(one) and spans.get(two):
            console.print(f"first step's start to last step's end (the shortest of the runs), 1 worker / 2{drained}: "
                          f"{spans[one]:.1f} s / {spans[two]:.1f} s = {spans[one] / spans[two]:.2f}x")
    shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
