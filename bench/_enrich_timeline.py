"""Dask worker preload for `bench/enrich_dask.py --timeline`: every enrich step a worker runs appends one line
to $SCOUT_BENCH_TIMELINE (JSON: pid, documents, wall start/end, process CPU before/after), so the bench can say
how busy each worker was across the enrich. Loaded by Dask (`distributed.worker.preload`), never by the product."""

from __future__ import annotations

import json
import os
import time


def dask_setup(worker) -> None:
    from service import operations

    inner = operations.enrich_step
    path = os.environ["SCOUT_BENCH_TIMELINE"]

    def timed(docs, *args, **kwargs):
        start, cpu = time.time(), time.process_time()
        try:
            return inner(docs, *args, **kwargs)
        finally:
            row = {"pid": os.getpid(), "documents": len(docs), "start": start, "end": time.time(),
                   "cpu": time.process_time() - cpu, "first": docs[0].id}
            with open(path, "a", encoding="utf-8") as fh:
                fh.write(json.dumps(row) + "\n")

    operations.enrich_step = timed
