"""The settled heap against the interpreter's own collector, alternated in one process.

`scout serve` settles its heap once the query models are loaded (domain/heap.py: what is alive frozen out of the
cycle collector's reach, the young generation collected after 50,000 net allocations instead of 700). This runs
the Library's search (what `scout search`, the search page and the API run) over a synthetic index in blocks of
`--block` searches, the heap settled and the interpreter's default (`gc.unfreeze`, CPython's thresholds) in
turn, settled-default-default-settled so that neither always follows the other, every query new text and the
four filters in turn, and prints each setting's p50 / p95 / max, the full collections each saw (not those of
the switch itself) and their time, and the ratios, from this one run.

    PYTHONPATH=$PWD python bench/heap_settle.py [--index DIR/ix-N] [--size 10000] [--blocks 6] [--block 25]

`--index` opens an index that `bench/index_latency.py --keep DIR --sentences 0` built (its `ix-N` folder); without
it a synthetic index of `--size` documents (the same generator, channel off) is built in a temporary folder.
"""

from __future__ import annotations

import argparse
import gc
import itertools
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import bench.index_latency as latency  # noqa: E402
from domain.heap import settle_heap  # noqa: E402
from domain.models import SearchFilters  # noqa: E402
from domain.settings import IndexSettings, NlpSettings  # noqa: E402
from index.ranking import Ranker  # noqa: E402
from index.store import Index  # noqa: E402
from index.suppliers import KnownSuppliers  # noqa: E402
from nlp.pipeline import Enricher  # noqa: E402
from service.index_library import IndexLibrary  # noqa: E402

FILTERS = list(latency.FILTERS.values())
DEFAULT_THRESHOLD = (700, 10, 10)  # CPython 3.11's


class FullCollections:
    """The time of each full (generation 2) collection, credited to the setting in force (None: to none)."""

    def __init__(self) -> None:
        self.setting: str | None = "default"
        self.seen: dict[str, list[float]] = {"settled": [], "default": []}
        self._start = 0.0
        gc.callbacks.append(self)

    def __call__(self, phase: str, info: dict) -> None:
        if info.get("generation") != 2 or self.setting is None:
            return
        if phase == "start":
            self._start = time.perf_counter()
        else:
            self.seen[self.setting].append((time.perf_counter() - self._start) * 1000)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--index", type=Path, help="an ix-N folder of bench/index_latency.py --keep DIR --sentences 0")
    ap.add_argument("--size", type=int, default=10_000, help="documents of the index built without --index")
    ap.add_argument("--blocks", type=int, default=6, help="blocks of each setting (they alternate)")
    ap.add_argument("--block", type=int, default=25, help="searches per block")
    ap.add_argument("--warmup", type=int, default=30, help="searches after opening, not counted")
    args = ap.parse_args()

    latency.SENTENCES_PER_DOC = 0  # the channel off, as the 1M index is built and `--sentences 0` reads it
    enricher = Enricher(NlpSettings(cache=False, multilingual="off"))
    tmp = None
    path = args.index
    if path is None:
        tmp = Path(tempfile.mkdtemp(prefix="scout-heap-"))
        path = tmp / "ix"
        print(f"building {args.size} synthetic documents ... ({latency.load()})", flush=True)
        latency.build(path, args.size, enricher.embedder.encode(latency.topic_phrases()))
    elif not path.is_dir():
        sys.exit(f"error: {path} is not an index folder (bench/index_latency.py --keep DIR makes DIR/ix-N)")
    serial = itertools.count(1)

    def query() -> tuple[str, SearchFilters | None]:
        i = next(serial)
        return f"{latency.QUERIES[i % len(latency.QUERIES)]} ({i})", FILTERS[(i // len(latency.QUERIES)) % len(FILTERS)]

    try:
        with Index(IndexSettings(backend="edge", path=path), dim=384, command="bench/heap_settle.py",
                   sentences=False) as index:
            table = getattr(index.backend, "point_docs", None)
            if table is not None:
                table(wait=True)
            library = IndexLibrary(index, enricher, Ranker(index, enricher, KnownSuppliers()))
            for _ in range(args.warmup):
                library.search(*query())
            collections = FullCollections()
            spent: dict[str, list[float]] = {"settled": [], "default": []}
            for block in range(2 * args.blocks):
                # settled, default, default, settled, ...: neither setting always goes first after a switch
                setting = "settled" if block % 4 in (0, 3) else "default"
                collections.setting = None  # the switch's own collection is no search's
                if setting == "settled":
                    settle_heap()
                else:
                    gc.unfreeze()
                    gc.set_threshold(*DEFAULT_THRESHOLD)
                collections.setting = setting
                for _ in range(args.block):
                    text, flt = query()
                    t = time.perf_counter()
                    library.search(text, flt)
                    spent[setting].append((time.perf_counter() - t) * 1000)
                print(f"  block {block + 1:>2}/{2 * args.blocks} {setting:<8} p50 "
                      f"{statistics.median(spent[setting][-args.block:]):6.1f} ms ({latency.load()})", flush=True)
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)

    print(f"\nthe Library's search, {args.blocks} blocks of {args.block} per setting, alternated "
          f"({'the index at ' + path.name if args.index else f'{args.size} synthetic documents'}):")
    print(f"{'heap':<10}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}{'full collections':>18}{'their ms, mean':>16}")
    figures = {}
    for setting in ("default", "settled"):
        lat, full = spent[setting], collections.seen[setting]
        figures[setting] = (statistics.median(lat), latency.percentile(lat, 95))
        print(f"{setting:<10}{figures[setting][0]:>9.1f}{figures[setting][1]:>9.1f}{max(lat):>9.1f}{len(full):>18}"
              f"{(statistics.mean(full) if full else 0.0):>16.1f}")
    print(f"settled / default: p50 {figures['settled'][0] / figures['default'][0]:.2f}x, "
          f"p95 {figures['settled'][1] / figures['default'][1]:.2f}x ({latency.load()})")


if __name__ == "__main__":
    main()
