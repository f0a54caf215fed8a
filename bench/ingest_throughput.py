"""End-to-end ingest speed: the whole enrich stage against the raw encoder, per embedding backend, in one run.

The demo sources are crawled once (real spiders over the loopback demo site) into an inbox. Then, for each
backend, in the same process:

- enrich stage: `index.ingest.ingest_inbox()`, what the enrich flow runs: NLP (language, entities, concepts,
  organizations, passages, Japanese renderings), embeddings of every passage and title, BM25 vectors, index
  writes (Qdrant Edge) and retiring the batches, into a fresh index, with the embedding cache off. Every
  `encode()` call it makes is recorded (texts and time spent inside it);
- raw encoder, same texts: the backend's `encode()` replayed over exactly those calls (the same passages,
  renderings and titles, in the same groups), so stage / raw is what everything but encoding costs (NLP, BM25,
  index writes, bookkeeping): the fair ratio, goal >= 0.8 on the default backend;
- raw encoder, one text per document (title + text, the earlier comparison, kept for reference): what a
  pipeline without passages would embed; the model truncates long texts silently, and the stage embeds
  passages and titles besides, so this raw encoder does less work than the stage.

One-time loading (the model, its ONNX export, the spaCy pipelines) is done before anything is timed.
Throughput is shown in documents/s (stage), texts/s and model tokens/s (with [CLS]/[SEP], after truncation:
what the encoder computes on). Wall and CPU time (this process, all threads) are both shown; on a busy
machine only the CPU figures mean much.

    PYTHONPATH=$PWD python bench/ingest_throughput.py [--backends torch onnx onnx-int8] [--profile N]
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


class RecordingEncoder:
    """Passes `encode()` through to the encoder and keeps each call's texts and the time spent in it."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.calls: list[list[str]] = []
        self.wall = self.cpu = 0.0

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def encode(self, texts):
        start = clock()
        try:
            return self.inner.encode(texts)
        finally:
            wall, cpu = since(start)
            self.wall += wall
            self.cpu += cpu
            self.calls.append(list(texts))


def model_tokens(encoder, texts) -> int:
    """Tokens the model computes on: the text's tokens, [CLS] and [SEP], truncated at max_seq_length."""
    limit = encoder.max_seq_length
    return sum(min(n + 2, limit) for n in encoder.count_tokens(texts))


def run_backend(name: str, crawled: Path, work: Path, profile: int = 0) -> dict:
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
    from nlp.language import detect_language
    from nlp.pipeline import Enricher

    docs = documents(home / "inbox")
    per_doc = [f"{d.title}\n{d.text}" for d in docs]
    encoder = SentenceTransformerEmbedder(NlpSettings())
    encoder.encode(per_doc[:40])  # load (and, for ONNX, export) before timing
    encoder.prepare_query_encoder()  # what the stage makes once at its end
    recorder = RecordingEncoder(encoder)
    enricher = Enricher(NlpSettings(), embedder=recorder)
    japanese = [d for d in docs if detect_language(f"{d.title}\n{d.text}") == "ja"]
    enricher.enrich(japanese[:1] + docs[:1])  # load the spaCy pipelines, JMdict and the BM25 tokenizers
    recorder.calls.clear()
    recorder.wall = recorder.cpu = 0.0
    crawl = CrawlSettings()
    profiler = None
    if profile:
        import cProfile

        profiler = cProfile.Profile()
    with Index(IndexSettings(), dim=encoder.dim, command="bench ingest") as index:
        start = clock()
        if profiler:
            profiler.enable()
        stats = ingest_inbox(crawl.inbox_dir, enricher, index, rejects_path=crawl.rejects_path)
        if profiler:
            profiler.disable()
        stage = since(start)
    if profiler:
        import pstats

        print(f"-- {name}: enrich stage, top {profile} by own time (cProfile inflates Python-level work)",
              file=sys.stderr)
        pstats.Stats(profiler, stream=sys.stderr).sort_stats("tottime").print_stats(profile)
    calls = recorder.calls
    start = clock()
    for texts in calls:
        encoder.encode(texts)
    same = since(start)
    start = clock()
    encoder.encode(per_doc)
    one = since(start)
    embedded = [t for texts in calls for t in texts]
    return {"backend": name, "docs": len(docs), "ingested": sum(s.documents for s in stats),
            "passages": sum(s.passages_embedded for s in stats), "texts": len(embedded),
            "tokens": model_tokens(encoder, embedded), "one_texts": len(per_doc),
            "one_tokens": model_tokens(encoder, per_doc), "stage_wall": stage[0], "stage_cpu": stage[1],
            "in_stage_encode_wall": recorder.wall, "in_stage_encode_cpu": recorder.cpu,
            "same_wall": same[0], "same_cpu": same[1], "one_wall": one[0], "one_cpu": one[1]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", nargs="+", default=list(BACKENDS), choices=list(BACKENDS))
    parser.add_argument("--profile", type=int, default=0, metavar="N",
                        help="profile the stage (cProfile) and print its top N functions to stderr")
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
        rows.append(run_backend(name, crawled, work, opts.profile))
    from rich.console import Console
    from rich.table import Table

    r0 = rows[0]
    console = Console(width=160)
    console.print(f"demo corpus: {r0['docs']} documents; the stage embeds {r0['texts']} texts "
                  f"({r0['passages']} passages + renderings and titles; {r0['tokens']:,} model tokens); one text "
                  f"per document is {r0['one_texts']} texts ({r0['one_tokens']:,} tokens after truncation)")
    table = Table(title="Enrich stage vs raw encoder over the same texts (the fair ratio)")
    for column in ("backend", "stage docs/s", "stage tokens/s", "raw tokens/s", "stage ÷ raw (CPU)",
                   "stage ÷ raw (wall)", "encoding share of stage (CPU)"):
        table.add_column(column, justify="left" if column == "backend" else "right")
    for r in rows:
        table.add_row(r["backend"], f"{r['docs'] / r['stage_wall']:.2f}", f"{r['tokens'] / r['stage_wall']:,.0f}",
                      f"{r['tokens'] / r['same_wall']:,.0f}", f"{r['same_cpu'] / r['stage_cpu']:.2f}",
                      f"{r['same_wall'] / r['stage_wall']:.2f}", f"{r['in_stage_encode_cpu'] / r['stage_cpu']:.0%}")
    console.print(table)
    table = Table(title="For reference: raw encoder over one text per document (title + text, truncated)")
    for column in ("backend", "raw docs/s (wall)", "raw tokens/s (wall)", "stage ÷ raw (CPU)", "stage ÷ raw (wall)"):
        table.add_column(column, justify="left" if column == "backend" else "right")
    for r in rows:
        table.add_row(r["backend"], f"{r['one_texts'] / r['one_wall']:.2f}", f"{r['one_tokens'] / r['one_wall']:,.0f}",
                      f"{r['one_cpu'] / r['stage_cpu']:.2f}", f"{r['one_wall'] / r['stage_wall']:.2f}")
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
