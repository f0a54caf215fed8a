"""Enrichment fanned out on Dask through Prefect's Dask task runner: the index it writes is the one a single
process writes, point for point; a worker killed in the middle of a step loses nothing and duplicates nothing."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from distributed import WorkerPlugin

from index.backends.base import Where
from index.store import Index
from domain.settings import IndexSettings
from tests.flows.helpers import demo_documents, write_batches

pytestmark = pytest.mark.slow  # spaCy's pipelines load in every worker process


def index_points(home: Path) -> dict[str, tuple[dict, dict[str, np.ndarray]]]:
    """point id -> (payload, named vectors) of every point of the embedded index under `home`."""
    points = {}
    with Index(IndexSettings(path=home / "index"), dim=384) as index:
        offset = None
        while True:
            hits, offset = index.backend.scroll(Where(), limit=256, offset=offset, vectors=True, payload=True)
            for hit in hits:
                vectors = {}
                if hit.dense is not None:
                    vectors["dense"] = np.asarray(hit.dense, dtype=np.float32)
                if hit.sparse is not None:
                    vectors["lexical"] = np.asarray([hit.sparse.indices, hit.sparse.values], dtype=np.float64)
                points[hit.id] = (hit.payload, vectors)
            if offset is None:
                return points


def assert_same_index(got: dict, expected: dict) -> None:
    assert set(got) == set(expected), "the same points, no more, no fewer"
    for pid, (payload, vectors) in expected.items():
        other_payload, other_vectors = got[pid]
        assert other_payload == payload, pid
        assert set(other_vectors) == set(vectors), pid
        for name, vec in vectors.items():
            np.testing.assert_allclose(other_vectors[name], vec, atol=1e-6, err_msg=f"{pid} {name}")


def enrich_in(home: Path, docs, monkeypatch, **env) -> list:
    """Run the enrich flow with SCOUT_HOME=home and `env` on `docs` as two crawl batches (two steps each)."""
    write_batches(home / "inbox", docs, per_batch=60)
    monkeypatch.setenv("SCOUT_HOME", str(home))
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    from flows.enrich import enrich

    return enrich()


def test_two_dask_workers_write_the_index_one_process_writes(tmp_path, monkeypatch, prefect_harness):
    docs, tmp = demo_documents(120), tmp_path
    monkeypatch.setenv("SCOUT_NLP_MODEL", "hashing")
    alone = enrich_in(tmp / "one-process", docs, monkeypatch, SCOUT_ENRICH_WORKERS="0")
    fanned = enrich_in(tmp / "two-workers", docs, monkeypatch, SCOUT_ENRICH_WORKERS="2")
    assert [s.model_dump() for s in fanned] == [s.model_dump() for s in alone]
    assert sum(s.new for s in alone) > 100 and not any(s.rejected for s in alone)
    # the demo's 60th and 65th documents are one announcement under two ids: the second batch reads what the first
    # writes, so it waited for it (not enriched ahead) and records the copy as a duplicate, as one process does
    assert [s.duplicates for s in fanned] == [0, 1]
    assert not list((tmp / "two-workers" / "inbox").glob("*.jsonl")), "every batch retired"
    assert_same_index(index_points(tmp / "two-workers"), index_points(tmp / "one-process"))


class SlowSteps(WorkerPlugin):
    """A Dask worker plugin: every enrich step on the workers notes its start in `log` (one line per attempt: the
    step's first document id and the worker's pid), then waits `seconds`, so a kill lands inside a step and its
    second attempt shows."""

    def __init__(self, seconds: float, log: str):
        self.seconds, self.log = seconds, log

    def setup(self, worker):
        from service import operations

        inner = operations.enrich_step
        seconds, log = self.seconds, self.log

        def slow(docs, multilingual=True):
            with open(log, "a", encoding="utf-8") as fh:
                fh.write(f"{docs[0].id} {os.getpid()}\n")
            time.sleep(seconds)
            return inner(docs, multilingual=multilingual)

        operations.enrich_step = slow


def test_a_worker_killed_mid_step_loses_nothing_and_duplicates_nothing(tmp_path, monkeypatch, prefect_harness):
    from distributed import Client, LocalCluster
    from prefect.settings import PREFECT_API_URL

    # 120 documents of distinct content (the demo's 60th and 65th are one announcement twice), so the second
    # batch reads nothing the first writes and is enriched ahead
    docs, tmp = [d for n, d in enumerate(demo_documents(121)) if n != 64], tmp_path
    monkeypatch.setenv("SCOUT_NLP_MODEL", "hashing")
    expected = enrich_in(tmp / "one-process", docs, monkeypatch, SCOUT_ENRICH_WORKERS="0")
    attempts = tmp / "attempts.log"
    # the flow's side: each step handed to Dask and each index write, in order
    import flows.enrich

    events: list[tuple[str, str]] = []
    submit, upsert = flows.enrich.submit_step, Index.upsert
    monkeypatch.setattr(flows.enrich, "submit_step",
                        lambda runner, step, *a: events.append(("submit", step[0].id)) or submit(runner, step, *a))

    def logged_upsert(index, enriched, **kw):
        events.extend(("write", e.document.id) for e in enriched)
        return upsert(index, enriched, **kw)

    monkeypatch.setattr(Index, "upsert", logged_upsert)
    # The cluster a scout would run elsewhere (`SCOUT_ENRICH_SCHEDULER`): its workers report to this Prefect API.
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                      env={"PREFECT_API_URL": str(PREFECT_API_URL.value()), "SCOUT_NLP_MODEL": "hashing",
                           "PYTHONPATH": str(Path(__file__).resolve().parents[2])}) as cluster, \
            Client(cluster) as client:
        client.register_plugin(SlowSteps(2.0, str(attempts)))
        killed: dict = {}
        worker_pids = set(client.run(os.getpid).values())

        def kill_a_busy_worker() -> None:
            deadline = time.monotonic() + 300
            while time.monotonic() < deadline:
                lines = attempts.read_text().splitlines() if attempts.exists() else []
                last = lines[-1].split() if lines else []
                if len(last) == 2:  # a step has just started on that worker, and sleeps 2 s before its real work
                    step, pid = last
                    if int(pid) in worker_pids:
                        os.kill(int(pid), signal.SIGKILL)
                        killed.update(step=step, pid=pid)
                        return
                time.sleep(0.05)

        killer = threading.Thread(target=kill_a_busy_worker, daemon=True)
        killer.start()
        fanned = enrich_in(tmp / "dask", docs, monkeypatch, SCOUT_ENRICH_SCHEDULER=cluster.scheduler_address)
        killer.join(timeout=5)
    assert killed, "a worker was killed while it enriched a step"
    attempt = [line.split() for line in attempts.read_text().splitlines()]
    steps = [step for step, _ in attempt]
    assert steps.count(killed["step"]) == 2, "the killed worker's step was run again, once, on a live worker"
    assert len(steps) == len(set(steps)) + 1, "every other step ran once"
    # the second batch (the run's last: its steps end short, 30 + 15 + 8 + 4 + 3 documents) was in flight with the
    # first (the workers enrich ahead of the writer); the index was still written in the documents' order, once each
    submitted = [i for kind, i in events if kind == "submit"]
    first_write = next(n for n, (kind, _) in enumerate(events) if kind == "write")
    assert submitted == [docs[i].id for i in (0, 32, 60, 90, 105, 113, 117)]
    assert events.index(("submit", docs[105].id)) < first_write and killed["step"] in submitted
    assert [i for kind, i in events if kind == "write"] == [d.id for d in docs]
    # nothing lost, nothing written twice: the same figures and the same points as one process
    assert [s.model_dump() for s in fanned] == [s.model_dump() for s in expected]
    assert_same_index(index_points(tmp / "dask"), index_points(tmp / "one-process"))
