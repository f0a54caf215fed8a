"""What a change to the Japanese rendering (nlp/translate.py) costs at ingest, as a ratio from one run.

Enrich CPU per Japanese document (the 48 sbir-bench-ja renderings; no embedding cache, the multilingual
channel as configured) with this checkout's renderer against another checkout's `nlp/translate.py` (e.g. main's
worktree), both in one process on the same Enricher settings, rounds alternated, the best of each counting; and
the `render()` call alone with warm dictionary caches. The rest of the pipeline is this checkout's in both.

    PYTHONPATH=$PWD python bench/renderer_cost.py --baseline ../main/nlp/translate.py [--rounds 4]

(a timed run: alone on the machine, or with its process given priority over the others)
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.shared_data import SBIR_BENCH, SBIR_BENCH_JA, existing  # noqa: E402

from domain.models import DocKind  # noqa: E402
from domain.settings import NlpSettings  # noqa: E402
from index.evaluate import _read_jsonl, bench_document  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--baseline", type=Path, required=True, help="the other checkout's nlp/translate.py")
    ap.add_argument("--bench", type=existing, default=str(SBIR_BENCH))
    ap.add_argument("--bench-ja", type=existing, default=str(SBIR_BENCH_JA))
    ap.add_argument("--rounds", type=int, default=4)
    args = ap.parse_args()
    from nlp.pipeline import Enricher

    spec = importlib.util.spec_from_file_location("translate_baseline", args.baseline)
    baseline = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(baseline)
    by_id = {r["id"]: r for r in _read_jsonl(args.bench / "docs.jsonl")}
    japanese = [bench_document({**by_id[r["id"]], "title": r["title"], "text": r["text"]}, DocKind.research)
                for r in _read_jsonl(args.bench_ja / "ja_docs.jsonl")]
    enrichers = {"baseline": Enricher(NlpSettings(cache=False)), "this": Enricher(NlpSettings(cache=False))}
    enrichers["baseline"]._translator = baseline.TermTranslator(enrichers["baseline"].taxonomy)
    docs = [enrichers["this"].pipeline("ja").make_doc(d.text) for d in japanese]
    for e in enrichers.values():  # models loaded and dictionary caches warm before timing
        e.enrich(japanese[:3])
        for doc in docs:
            e.translator.render(doc)
    enrich: dict[str, float] = {}
    render: dict[str, float] = {}
    for _ in range(args.rounds):
        for name, e in enrichers.items():
            started = time.process_time()
            e.enrich(japanese)
            enrich[name] = min((time.process_time() - started) / len(japanese), enrich.get(name, float("inf")))
            started = time.process_time()
            for doc in docs:
                e.translator.render(doc)
            render[name] = min((time.process_time() - started) / len(docs), render.get(name, float("inf")))
    print(f"enrich CPU ms per Japanese document ({len(japanese)}): baseline {enrich['baseline'] * 1e3:.1f}, "
          f"this {enrich['this'] * 1e3:.1f}, ratio {enrich['this'] / enrich['baseline']:.3f}")
    print(f"render() CPU ms per document, warm caches: baseline {render['baseline'] * 1e3:.2f}, "
          f"this {render['this'] * 1e3:.2f}")


if __name__ == "__main__":
    main()
