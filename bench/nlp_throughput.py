"""Throughput of the nlp stage (issue 4), printed as figures measured in one run:

  1. raw `SentenceTransformer.encode` on title + abstract (one string per document, truncated by the model)
     vs the whole stage (`Enricher.enrich`: language, entities, passages without truncation, embeddings;
     cache off) on the same English documents -> ratio (target >= 0.8);
  2. entity extraction alone (language + spaCy components) vs embedding alone, English and Japanese
     -> ratio (target >= 5).

English: the demo corpus (arXiv abstracts). Japanese: documents built from consecutive paragraphs of the two
government documents in ../shared/seeds (their own sentences, so real Japanese text).

Usage: PYTHONPATH=. python bench/nlp_throughput.py [--docs 300]
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.shared_data import ARXIV_SAMPLES, SEEDS, existing  # noqa: E402

from nlp.base import SparseVector  # noqa: E402
from nlp.embedder import SentenceTransformerEmbedder  # noqa: E402
from nlp.passages import analysed_text  # noqa: E402
from nlp.pipeline import Enricher  # noqa: E402
from domain.models import Document  # noqa: E402
from domain.settings import NlpSettings  # noqa: E402


class NoSparse:
    def encode_document(self, text: str, language: str) -> SparseVector:
        return SparseVector()

    def encode_query(self, text: str, language: str) -> SparseVector:
        return SparseVector()

    def encode_title(self, text: str, language: str) -> SparseVector:
        return SparseVector()


def english_docs(path: Path, n: int) -> list[Document]:
    with path.open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))[:n]
    return [Document.make(kind="research", source="arxiv-sample", url=f"sample:{i}", title=r["titles"],
                          text=r["summaries"]) for i, r in enumerate(rows)]


def japanese_docs(seeds: Path, n: int) -> list[Document]:
    paragraphs = []
    for f in sorted(seeds.glob("*.txt")):
        paragraphs += [p.strip() for p in f.read_text(encoding="utf-8").split("\n") if len(p.strip()) >= 40]
    docs = []
    i = 0
    while len(docs) < n:
        window = [paragraphs[(i + k) % len(paragraphs)] for k in range(2)]
        docs.append(Document.make(kind="research", source="seeds", url=f"seed:{i}", title=window[0][:30],
                                  text="\n".join(window)))
        i += 1
    return docs


def rate(n: int, seconds: float) -> float:
    return n / seconds if seconds > 0 else float("inf")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--docs", type=int, default=300)
    parser.add_argument("--csv", type=existing, default=str(ARXIV_SAMPLES))
    parser.add_argument("--seeds", type=existing, default=str(SEEDS))
    parser.add_argument("--rounds", type=int, default=2, help="raw and stage runs alternate this many times")
    parser.add_argument("--onnx-int8", action="store_true", help="also time the stage on the ONNX int8 backend")
    args = parser.parse_args()

    settings = NlpSettings(cache=False, backend="torch")
    embedder = SentenceTransformerEmbedder(settings)
    model = embedder.model
    sparse = NoSparse()
    try:  # the real lexical encoder when it is there: it is part of the stage
        from nlp.lexical import LexicalEncoder

        sparse = LexicalEncoder()
        sparse_name = "nlp.lexical.LexicalEncoder"
    except ImportError:
        sparse_name = "none (nlp.lexical not present)"
    enricher = Enricher(settings, embedder=embedder, sparse=sparse)
    en = english_docs(args.csv, args.docs)
    ja = japanese_docs(args.seeds, min(args.docs, 150))
    en_texts = [analysed_text(d.title, d.text) for d in en]

    # Warm up every part once (model load, spaCy pipelines, tokenizer, JMdict).
    enricher.enrich(en[:4] + ja[:4])
    model.encode(en_texts[:8], batch_size=settings.batch_size)

    def raw() -> tuple[float, float]:
        t, c = time.perf_counter(), time.process_time()
        model.encode(en_texts, batch_size=settings.batch_size, normalize_embeddings=True)
        return time.perf_counter() - t, time.process_time() - c

    stages = {"torch": enricher}
    if args.onnx_int8:
        onnx_settings = NlpSettings(cache=False, backend="onnx", onnx_int8=True)
        onnx_embedder = SentenceTransformerEmbedder(onnx_settings)
        onnx_embedder._model = model  # exported from the same weights
        stages["onnx int8"] = Enricher(onnx_settings, embedder=onnx_embedder, sparse=sparse)
        stages["onnx int8"].enrich(en[:4])  # export + session start outside the timing

    # Alternate raw and stage runs so that load from other processes hits both alike.
    # Wall time and process CPU time (all threads): other processes on a shared machine inflate wall time of
    # whichever run they hit; CPU time measures the work itself.
    raw_times: list[float] = []
    raw_cpu: list[float] = []
    stage_times: dict[str, list[float]] = {k: [] for k in stages}
    stage_cpu: dict[str, list[float]] = {k: [] for k in stages}
    out: list = []
    rejects: list = []
    for _ in range(args.rounds):
        wall, cpu = raw()
        raw_times.append(wall)
        raw_cpu.append(cpu)
        for name, stage in stages.items():
            t, c = time.perf_counter(), time.process_time()
            out, rejects = stage.enrich(en)
            stage_times[name].append(time.perf_counter() - t)
            stage_cpu[name].append(time.process_time() - c)
    raw_s = sum(raw_times) / len(raw_times)
    raw_c = sum(raw_cpu) / len(raw_cpu)
    passages = sum(len(e.analysis.passages) for e in out)
    print(f"sparse encoder: {sparse_name}; batch size {settings.batch_size}; torch threads "
          f"{__import__('torch').get_num_threads()}; {args.rounds} alternating rounds")
    print(f"English, {len(en)} docs ({passages} passages, {len(rejects)} rejects)")
    print(f"  raw model.encode (truncating)  {rate(len(en), raw_s):7.1f} docs/s  (runs: "
          f"{', '.join(f'{x:.1f}s' for x in raw_times)})")
    for name, times in stage_times.items():
        st = sum(times) / len(times)
        sc = sum(stage_cpu[name]) / len(stage_cpu[name])
        print(f"  whole nlp stage ({name:9s})   {rate(len(en), st):7.1f} docs/s  -> stage/raw = {raw_s / st:.2f} wall, "
              f"{raw_c / sc:.2f} CPU time (target >= 0.8; runs: {', '.join(f'{x:.1f}s' for x in times)})")

    for name, docs in (("English", en), ("Japanese", ja)):
        t = time.perf_counter()
        for d in docs:
            text = analysed_text(d.title, d.text)
            enricher.analyse_text(text, "ja" if name == "Japanese" else "en")
        entities = time.perf_counter() - t
        texts = [p.text for d in docs for p in enricher._passages(analysed_text(d.title, d.text))[0]]
        if name == "Japanese":
            renders = [r for d in docs for _, r in enricher._renderings(
                enricher._passages(analysed_text(d.title, d.text))[0], "ja")]
            texts += renders
        t = time.perf_counter()
        embedder.encode(texts)
        embedding = time.perf_counter() - t
        print(f"{name}, {len(docs)} docs: entities alone {rate(len(docs), entities):7.1f} docs/s, embedding alone "
              f"{rate(len(docs), embedding):6.1f} docs/s ({len(texts)} passages) -> {embedding / entities:.1f}x (target >= 5)")


if __name__ == "__main__":
    main()
