"""End-to-end ingest speed: the whole enrich stage against the raw encoder, per embedding backend, in one run.

The demo sources are crawled once (real spiders over the loopback demo site) into an inbox. Then, for each
backend, in the same process:

- raw encoder: the backend's `encode()` over one text per document (title + text), which is what a pipeline
  without NLP would embed; the model truncates long texts silently, so the raw encoder does less work;
- enrich stage: `index.ingest.ingest_inbox()`, what the enrich flow runs: NLP (language, entities, concepts,
  organizations, passages, Japanese renderings), embeddings of every passage and title, BM25 vectors, index
  writes (Qdrant Edge) and retiring the batches, into a fresh index, with the embedding cache off.

One-time loading (the model, its ONNX export, the spaCy pipelines) is done before either is timed.

Throughput is documents per second; the ratio stage / raw is the share of the raw encoder's speed the whole
stage keeps (goal >= 0.8 on the default backend). Wall and CPU time (this process, all threads) are both shown.

    PYTHONPATH=$PWD python bench/ingest_throughput.py [--backends torch onnx onnx-int8]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

BACKENDS = {"torch": {"SCOUT_NLP_BACKEND": "torch", "SCOUT_NLP_ONNX_INT8": "false"},
            "onnx": {"SCOUT_NLP_BACKEND": "onnx", "SCOUT_NLP_ONNX_INT8": "false"},
            "onnx-int8": {"SCOUT_NLP_BACKEND": "onnx", "SCOUT_NLP_ONNX_INT8": "true"}}


def crawl_demo(home: Path) -> Path:
    """The demo sources crawled once into home/inbox; returns the inbox."""
    from scout.demo.run import demo_sources, loopback_environment
    from scout.demo.site import DATA_DIR, DemoSite
    from spiders.runner import run_crawl

    shutil.copyfile(DATA_DIR / "needs.yaml", home / "needs.yaml")
    with loopback_environment(home), DemoSite() as site:
        for source in demo_sources(site.base_url, home):
            stats = run_crawl(source.spider, **source.args)
            print(f"  crawled {stats.source}: {stats.new} new", file=sys.stderr)
    return home / "inbox"


def documents(inbox: Path):
    from index.ingest import read_batch

    docs = []
    for path in sorted(inbox.glob("*.jsonl")):
        docs.extend(read_batch(path)[0])
    return docs


def clock():
    return time.perf_counter(), time.process_time()


def since(start) -> tuple[float, float]:
    wall, cpu = clock()
    return wall - start[0], cpu - start[1]


def run_backend(name: str, crawled: Path, work: Path) -> dict:
    os.environ.update(BACKENDS[name])
    os.environ["SCOUT_NLP_ONNX_DIR"] = str(work / "models")
    home = work / name
    shutil.copytree(crawled, home)
    os.environ["SCOUT_HOME"] = str(home)
    os.environ["SCOUT_NLP_CACHE"] = "false"
    from domain.settings import CrawlSettings, IndexSettings, NlpSettings
    from index.ingest import ingest_inbox
    from index.store import Index
    from nlp.embedder import SentenceTransformerEmbedder
    from nlp.pipeline import Enricher

    docs = documents(home / "inbox")
    texts = [f"{d.title}\n{d.text}" for d in docs]
    encoder = SentenceTransformerEmbedder(NlpSettings())
    encoder.encode(texts[:40])  # load (and, for ONNX, export) before timing
    encoder.prepare_query_encoder()  # what the stage makes once at its end
    start = clock()
    encoder.encode(texts)
    raw = since(start)
    enricher = Enricher(NlpSettings(), embedder=encoder)
    from nlp.language import detect_language

    japanese = [d for d in docs if detect_language(f"{d.title}\n{d.text}") == "ja"]
    enricher.enrich(japanese[:1] + docs[:1])  # load the spaCy pipelines, JMdict and the BM25 tokenizers
    crawl = CrawlSettings()
    with Index(IndexSettings(), dim=encoder.dim, command="bench ingest") as index:
        start = clock()
        stats = ingest_inbox(crawl.inbox_dir, enricher, index, rejects_path=crawl.rejects_path)
        stage = since(start)
    passages = sum(s.passages_embedded for s in stats)
    ingested = sum(s.documents for s in stats)
    return {"backend": name, "docs": len(docs), "ingested": ingested, "passages": passages,
            "raw_wall": raw[0], "raw_cpu": raw[1], "stage_wall": stage[0], "stage_cpu": stage[1]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", nargs="+", default=list(BACKENDS), choices=list(BACKENDS))
    opts = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="dualscout-ingest-"))
    crawled = work / "crawled"
    crawled.mkdir()
    os.environ["SCOUT_HOME"] = str(crawled)
    print("crawling the demo sources once…", file=sys.stderr)
    crawl_demo(crawled)
    rows = []
    for name in opts.backends:
        print(f"backend {name}…", file=sys.stderr)
        rows.append(run_backend(name, crawled, work))
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"Enrich stage vs raw encoder on the demo corpus ({rows[0]['docs']} documents)")
    for column in ("backend", "raw docs/s (wall)", "stage docs/s (wall)", "stage / raw (wall)", "stage / raw (CPU)",
                   "passages embedded"):
        table.add_column(column, justify="left" if column == "backend" else "right")
    for r in rows:
        table.add_row(r["backend"], f"{r['docs'] / r['raw_wall']:.1f}", f"{r['docs'] / r['stage_wall']:.1f}",
                      f"{r['raw_wall'] / r['stage_wall']:.2f}", f"{r['raw_cpu'] / r['stage_cpu']:.2f}",
                      str(r["passages"]))
    console = Console(width=140)
    console.print(table)
    base = next((r for r in rows if r["backend"] == "torch"), None)
    if base:
        for r in rows:
            if r is not base:
                console.print(f"{r['backend']}: stage {base['stage_wall'] / r['stage_wall']:.2f}x the torch stage's "
                              f"speed (wall), {base['stage_cpu'] / r['stage_cpu']:.2f}x (CPU)")
    load = os.getloadavg()[0]
    console.print(f"load average at the end: {load:.1f} on {os.cpu_count()} cores"
                  + (" (busy machine: wall figures inflated)" if load > 0.5 * (os.cpu_count() or 1) else ""))
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
