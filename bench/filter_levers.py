"""The filtered search's levers (issue 28), on and off in one process: the Library's search (what `scout search`,
the search page and the API run), query by query alternated between the product and the same code with its
filter levers off, on a synthetic index kept by `bench/index_latency.py --keep DIR`. Alternating in one process
cancels the drift of a shared machine's load: read the ratios. Without an index it builds a 10,000-document one
in a temporary folder first (about a minute; `make bench` runs it so).

The levers: a narrow filter's passage and title searches scan its points (`index.backends.edge.
EXACT_SEARCH_POINTS`; off: 0, every filtered search walks the graph), and a filtered search ranks from its
query's unfiltered lists cut to the filter where they serve (`Ranker.filtered_reference`, with the lists kept,
`KEPT_REFERENCE_LISTS`; off: the filtered lists are searched). Every query is new text (a filter on a new
query, from a link or a typed query with the filter kept: the case that pays for the unfiltered lists).

    PYTHONPATH=$PWD python bench/filter_levers.py [DIR/ix-100000] [--queries 100] [--warmup 40]
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import bench.index_latency as synthetic  # noqa: E402
import index.backends.edge as edge  # noqa: E402
import index.ranking.ranker as ranker_module  # noqa: E402
from bench.index_latency import FILTERS, QUERIES, percentile  # noqa: E402
from domain.settings import IndexSettings, NlpSettings  # noqa: E402
from index.ranking import Ranker  # noqa: E402
from index.store import Index  # noqa: E402
from index.suppliers import KnownSuppliers  # noqa: E402
from nlp.pipeline import Enricher  # noqa: E402
from service.index_library import IndexLibrary  # noqa: E402

PRODUCT = (edge.EXACT_SEARCH_POINTS, ranker_module.KEPT_REFERENCE_LISTS, Ranker.filtered_reference)


def levers(on: bool) -> None:
    scan, kept, cut = PRODUCT
    edge.EXACT_SEARCH_POINTS = scan if on else 0
    ranker_module.KEPT_REFERENCE_LISTS = kept if on else 0
    Ranker.filtered_reference = cut if on else (lambda *a, **k: None)


def load() -> str:
    return f"load {os.getloadavg()[0]:.1f}"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("index", type=Path, nargs="?",
                    help="a kept synthetic index: DIR/ix-N of bench/index_latency.py --keep DIR (default: build 10k)")
    ap.add_argument("--queries", type=int, default=100, help="new queries per filter and side")
    ap.add_argument("--warmup", type=int, default=40)
    ap.add_argument("--limit", type=int, default=20)
    args = ap.parse_args()
    built = None
    if args.index is None:  # a small one of its own, channel off (as the million is built)
        synthetic.SENTENCES_PER_DOC = 0
        enricher = Enricher(NlpSettings(cache=False, multilingual="off"))
        built = Path(tempfile.mkdtemp(prefix="scout-filter-levers-"))
        args.index = built / "ix-10000"
        phrases = [f"{t} {s}" for t in synthetic.TOPICS for s in ("research", "system", "sensor", "material")]
        print(f"building 10,000 synthetic documents in {args.index} ({load()})", flush=True)
        try:
            synthetic.build(args.index, 10_000, enricher.embedder.encode(phrases))
        except BaseException:
            shutil.rmtree(built, ignore_errors=True)
            raise
        (args.index / ".complete").write_text("10000 documents, 0 sentence vectors")
    if not (args.index / ".complete").exists():
        sys.exit(f"{args.index} is not a finished index of bench/index_latency.py --keep DIR")
    sentences = "0 sentence vectors" not in (args.index / ".complete").read_text()
    enricher = Enricher(NlpSettings(cache=False, **({} if sentences else {"multilingual": "off"})))
    index = Index(IndexSettings(backend="edge", path=args.index), dim=384, command="bench/filter_levers.py",
                  sentences=sentences)
    try:
        index.backend.point_docs(wait=True)
        library = IndexLibrary(index, enricher, Ranker(index, enricher, KnownSuppliers()))
        serial = 0
        for i in range(args.warmup):
            levers(i % 2 == 0)
            serial += 1
            library.search(f"{QUERIES[i % len(QUERIES)]} ({serial})", list(FILTERS.values())[i % len(FILTERS)],
                           limit=args.limit)
        print(f"{args.index}: the Library's search, {args.limit} shown, {args.queries} new queries per filter "
              f"and side, alternated ({load()})")
        print(f"{'filter':<11} {'on p50':>8} {'p95':>7} {'off p50':>8} {'p95':>7} {'p50 on/off':>11} "
              f"{'p95 on/off':>11}")
        for name, flt in FILTERS.items():
            times: dict[bool, list[float]] = {True: [], False: []}
            for i in range(args.queries):
                for on in ((True, False) if i % 2 else (False, True)):
                    levers(on)
                    serial += 1
                    t = time.perf_counter()
                    library.search(f"{QUERIES[i % len(QUERIES)]} ({serial})", flt, limit=args.limit)
                    times[on].append((time.perf_counter() - t) * 1000)
            on50, off50 = statistics.median(times[True]), statistics.median(times[False])
            on95, off95 = percentile(times[True], 95), percentile(times[False], 95)
            print(f"{name:<11} {on50:8.1f} {on95:7.1f} {off50:8.1f} {off95:7.1f} {on50 / off50:11.2f} "
                  f"{on95 / off95:11.2f}  ({load()})", flush=True)
    finally:
        levers(True)
        index.close()
        if built is not None:
            shutil.rmtree(built, ignore_errors=True)


if __name__ == "__main__":
    main()
