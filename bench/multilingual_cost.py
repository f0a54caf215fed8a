"""What the multilingual channel (issue 27) costs at ingest and in the index, as ratios from one run.

  enrich CPU   process CPU seconds of `Enricher.enrich` per document, SCOUT_NLP_MULTILINGUAL=use-m against
               off (no embedding cache: every vector is computed; models loaded before timing; rounds
               alternate, the best of each counts)
  index bytes  bytes on disk per document of an optimized Qdrant Edge shard holding the same enriched
               documents, with the sentence vectors against the layout without them (an empty shard's bytes
               subtracted from both)

English: a fixed random sample of sbir-bench abstracts; Japanese: the sbir-bench-ja renderings. Small shards
are mostly fixed overhead: `--index FOLDER` measures the bytes on a built index instead (e.g. the one
bench/crosslingual_ranking.py keeps in its --work folder), every point copied into a shard of each layout.

    PYTHONPATH=$PWD nice -n 10 python bench/multilingual_cost.py [--docs 300] [--rounds 2] [--index FOLDER]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.shared_data import SBIR_BENCH, SBIR_BENCH_JA, existing  # noqa: E402

from domain.models import DocKind  # noqa: E402
from domain.settings import IndexSettings, NlpSettings  # noqa: E402
from index.evaluate import _read_jsonl, bench_document  # noqa: E402


def folder_bytes(path: Path) -> int:
    """Bytes allocated on disk (Qdrant preallocates files sparsely: their sizes are not what they hold),
    without the write-ahead log."""
    return sum(p.stat().st_blocks * 512 for p in path.rglob("*") if p.is_file() and "wal" not in p.parts)


def shard_bytes(items: list, work: Path, with_sentences: bool) -> int:
    import index.backends.edge as edge
    from index.backends.base import ALL_VECTORS, TITLED_VECTORS
    from index.store import Index

    edge.ALL_VECTORS = ALL_VECTORS if with_sentences else TITLED_VECTORS  # the layout a new shard gets
    try:
        path = work / ("with" if with_sentences else "without")
        shutil.rmtree(path, ignore_errors=True)
        with Index(IndexSettings(backend="edge", path=path), dim=384, command="bench") as ix:
            ix.upsert(items if with_sentences else [dataclasses.replace(i, sentence_vectors=None) for i in items])
            ix.optimize()
        return folder_bytes(path)
    finally:
        edge.ALL_VECTORS = ALL_VECTORS


def copied_bytes(source: Path, work: Path) -> tuple[int, int, int]:
    """(documents, bytes per document with the sentence vectors, without): every point of the index in
    `source` (an Index folder) copied into a fresh shard of each layout, optimized; empty shards' bytes
    subtracted. The write-ahead log is left out: it holds recent writes until Qdrant truncates it, not the
    index."""
    import qdrant_edge as qe

    from index.backends.base import ALL_VECTORS, SENTENCES, TITLED_VECTORS
    from index.backends.edge import _config

    try:
        src = qe.EdgeShard.load(str(source / "shard"), _config(384, ALL_VECTORS))
    except Exception:  # noqa: BLE001 - made with float16 sentence vectors
        src = qe.EdgeShard.load(str(source / "shard"), _config(384, ALL_VECTORS, "Float16"))
    points, offset = [], None
    while True:
        recs, offset = src.scroll(qe.ScrollRequest(offset=offset, limit=512, with_payload=True, with_vector=True))
        points.extend(recs)
        if offset is None:
            break
    src.close()
    docs = sum(1 for p in points if (p.payload or {}).get("point") == "doc")
    sizes = {}
    for names in (ALL_VECTORS, TITLED_VECTORS):
        for n in (0, len(points)):
            path = work / f"copy-{len(names)}-{n}"
            shutil.rmtree(path, ignore_errors=True)
            path.mkdir(parents=True)
            shard = qe.EdgeShard.create(str(path), _config(384, names))
            for i in range(0, n, 256):
                batch = [qe.Point(p.id, {k: v for k, v in p.vector.items() if k in names}, p.payload)
                         for p in points[i:i + 256]]
                shard.update(qe.UpdateOperation.upsert_points(batch))
            shard.optimize()
            shard.flush()
            shard.close()
            sizes[SENTENCES in names, n] = folder_bytes(path)
            shutil.rmtree(path, ignore_errors=True)
    n = len(points)
    return docs, (sizes[True, n] - sizes[True, 0]) // docs, (sizes[False, n] - sizes[False, 0]) // docs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bench", type=existing, default=str(SBIR_BENCH))
    ap.add_argument("--bench-ja", type=existing, default=str(SBIR_BENCH_JA))
    ap.add_argument("--docs", type=int, default=300, help="English documents (all 48 Japanese ones are used)")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--index", type=Path, help="measure index bytes on this built index folder (and skip the rest)")
    args = ap.parse_args()
    if args.index:
        work = Path(tempfile.mkdtemp(prefix="multilingual-cost-"))
        try:
            docs, with_b, without_b = copied_bytes(args.index, work)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        print(f"{docs} documents: {without_b} bytes per document without the sentence vectors, {with_b} with: "
              f"{with_b / without_b:.2f}x")
        return

    from nlp.pipeline import Enricher

    rows = _read_jsonl(args.bench / "docs.jsonl")
    random.Random(0).shuffle(rows)
    english = [bench_document(r, DocKind.research) for r in rows[: args.docs]]
    by_id = {r["id"]: r for r in rows}
    japanese = [bench_document({**by_id[r["id"]], "title": r["title"], "text": r["text"]}, DocKind.research)
                for r in _read_jsonl(args.bench_ja / "ja_docs.jsonl")]
    work = Path(tempfile.mkdtemp(prefix="multilingual-cost-"))
    try:
        base = NlpSettings(cache=False)
        enrichers = {mode: Enricher(base.model_copy(update={"multilingual": mode})) for mode in ("off", "use-m")}
        for e in enrichers.values():  # load every model before timing
            e.enrich(english[:3] + japanese[:3])
        cpu: dict[tuple[str, str], float] = {}
        enriched: dict[str, list] = {}
        for _ in range(args.rounds):
            for lang, docs in (("en", english), ("ja", japanese)):
                for mode, e in enrichers.items():
                    started = time.process_time()
                    out, _ = e.enrich(docs)
                    spent = (time.process_time() - started) / len(docs)
                    cpu[lang, mode] = min(spent, cpu.get((lang, mode), float("inf")))
                    if mode == "use-m":
                        enriched[lang] = out
        empty_with, empty_without = shard_bytes([], work, True), shard_bytes([], work, False)
        print(f"{'':<10} {'docs':>5} {'CPU ms/doc off':>15} {'use-m':>8} {'ratio':>6} "
              f"{'index B/doc off':>16} {'use-m':>8} {'ratio':>6}")
        figures = {}
        for lang, docs in (("en", english), ("ja", japanese), ("all", english + japanese)):
            items = enriched["en"] + enriched["ja"] if lang == "all" else enriched[lang]
            with_b = (shard_bytes(items, work, True) - empty_with) / len(items)
            without_b = (shard_bytes(items, work, False) - empty_without) / len(items)
            if lang == "all":
                n_en, n_ja = len(english), len(japanese)
                off = (cpu["en", "off"] * n_en + cpu["ja", "off"] * n_ja) / (n_en + n_ja)
                on = (cpu["en", "use-m"] * n_en + cpu["ja", "use-m"] * n_ja) / (n_en + n_ja)
            else:
                off, on = cpu[lang, "off"], cpu[lang, "use-m"]
            figures[lang] = {"docs": len(docs), "cpu_off": off, "cpu_on": on, "bytes_off": without_b,
                             "bytes_on": with_b}
            print(f"{lang:<10} {len(docs):>5} {off * 1000:>15.1f} {on * 1000:>8.1f} {on / off:>6.2f} "
                  f"{without_b:>16.0f} {with_b:>8.0f} {with_b / without_b:>6.2f}")
        sentences = [len(i.sentence_vectors) for i in enriched["en"] + enriched["ja"] if i.sentence_vectors is not None]
        print(f"sentence vectors per document: {sum(sentences) / max(1, len(sentences)):.1f}")
        print(json.dumps(figures))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
