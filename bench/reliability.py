"""Reliability figures for the README (issue 19): inputs tried, survived, lost, from one run.

Faults tried, each counted as survived (the outcome the design promises) or lost (anything else):
- fuzz: every spider callback fed the seeded mutations of tests/spiders/test_fuzz.py plus its hand-made hostile
  bodies; survived = ended in documents, rejects or requests within the time and memory bounds;
- kill -9: an ingest of 120 documents (four batches) killed at a moment it announces (mid-upsert with half a
  step written and nothing flushed, a batch flushed but not retired, between batches), then re-run; survived =
  every batch retired and every document the ingest promises in the index, with its current content hash (a
  same-title, same-text copy is not indexed twice: it is a recorded "duplicate content" reject);
- disk full: an enrich on a disk with less than SCOUT_MIN_FREE_MB free; survived = a one-line error naming the
  disk, nothing written;
- corruption: a truncated embedding cache, cache rows of the wrong dimension / NaN, a damaged shard WAL, a
  folder named *.jsonl and a batch whose every document fails; survived = documents indexed (or the damage
  reported as what it is) and nothing else lost.

Usage: python bench/reliability.py [--kills 5] [--seed 19]   (uses SCOUT_NLP_MODEL=hashing: no model needed)
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")


class Tally:
    def __init__(self) -> None:
        self.rows: dict[str, list[int]] = {}
        self.notes: list[str] = []
        self.info: list[str] = []

    def add(self, fault: str, survived: bool, note: str = "") -> None:
        row = self.rows.setdefault(fault, [0, 0])
        row[0 if survived else 1] += 1
        if not survived and note:
            self.notes.append(f"{fault}: {note}")


def fuzz(tally: Tally) -> None:
    import scrapy

    from tests.spiders import test_fuzz as f

    os.environ.setdefault("SCOUT_CRAWL_OPENALEX_API_KEY", "sk-bench")
    os.environ.setdefault("SCOUT_CRAWL_KAKEN_APPID", "app-bench")
    hostile = [(t, b) for _, t, b, _ in f.HOSTILE]
    for target in f.TARGETS:
        rng = random.Random(f"dualscout-fuzz-{target.name}")
        seed = f.fixture_bytes(target.fixture)
        bodies = [seed] + [f.mutate(seed, rng)[1] for _ in range(f.FUZZ_CASES)] + [b for t, b in hostile if t is target]
        f.run_callback(target, seed)  # warm, uncounted: the time bound is on each input, not on first imports
        for body in bodies:
            try:
                items, elapsed, peak = f.run_callback(target, body)
                f.check_outcome(items, target.name)
                ok = elapsed < f.TIME_BOUND and peak < f.MEMORY_BOUND
                tally.add("fuzzed parse inputs", ok, f"{target.name}: {elapsed:.1f} s, {peak >> 20} MiB")
            except Exception as exc:  # noqa: BLE001 - counted, that is the point
                tally.add("fuzzed parse inputs", False, f"{target.name}: {type(exc).__name__}: {exc}"[:200])
            assert scrapy  # keep the import: callbacks yield scrapy Requests


def _env(home: Path, **extra: str) -> dict[str, str]:
    return {**os.environ, "SCOUT_HOME": str(home), "SCOUT_NLP_MODEL": "hashing", "PYTHONPATH": str(ROOT),
            "HF_HUB_OFFLINE": "1", **extra}


def _stored(home: Path) -> dict[str, str]:
    from domain.settings import IndexSettings
    from index.store import Index

    with Index(IndexSettings(path=home / "index"), dim=384) as index:
        return {d.id: d.content_hash for d in index.documents()}


# The ingest, stopped at a moment it announces: the real `ingest_pending_batches`, with `Index.upsert`,
# `Index.flush` and the "ingested" log line watched. At the chosen moment the process prints KILLPOINT and waits
# for its kill -9, so the kill lands where it says on any machine speed (a timer landed after the ingest had
# finished on a fast machine and never on a slow one).
KILLED_INGEST = """
import logging, os, sys
from index.store import Index

where, nth = os.environ["KILL_AT"].split(":")
nth, seen = int(nth), {"upsert": 0, "flush": 0, "retired": 0}

def stop(what):
    print("KILLPOINT", what, flush=True)
    sys.stdin.read()  # the bench's kill -9 ends it here
    raise SystemExit("not killed")

upsert, flush = Index.upsert, Index.flush

def watched_upsert(self, items, *, flush=True):
    seen["upsert"] += 1
    if where == "mid-upsert" and seen["upsert"] == nth and len(items) > 1:
        upsert(self, items[: len(items) // 2], flush=False)  # half the step written, nothing flushed
        stop(f"mid-upsert of step {nth}: {len(items) // 2} of {len(items)} documents written, not flushed")
    return upsert(self, items, flush=flush)

def watched_flush(self):
    flush(self)
    seen["flush"] += 1
    if where == "flushed" and seen["flush"] == nth:
        stop(f"batch {nth} flushed, not yet retired")

class Retired(logging.Handler):
    def emit(self, record):
        if record.getMessage().startswith("ingested "):
            seen["retired"] += 1
            if where == "retired" and seen["retired"] == nth:
                stop(f"batch {nth} retired, the next not started")

Index.upsert, Index.flush = watched_upsert, watched_flush
logging.getLogger("index.ingest").addHandler(Retired())
logging.getLogger("index.ingest").setLevel(logging.INFO)
from flows.enrich import ingest_pending_batches
ingest_pending_batches.fn()
"""
#: where the kills land, in turn: (KILL_AT, what it tests)
KILL_POINTS = ["mid-upsert:1", "flushed:2", "mid-upsert:3", "retired:1", "mid-upsert:4"]


def kills(tally: Tally, n: int, rng: random.Random) -> None:
    """Each run: the demo's 120 documents in four batches, an ingest killed at an announced moment, a re-run.
    Survived = the re-run succeeds, every batch is retired, the index holds every document the ingest promises
    (all but same-title, same-text copies) with its current content hash, and each copy is a recorded
    "duplicate content" reject."""
    from tests.flows.helpers import demo_documents, write_batches

    docs = demo_documents(120)
    first_of: dict[str, str] = {}
    for doc in docs:  # what the ingest promises: the first of each content, in batch order
        first_of.setdefault(doc.content_hash, doc.id)
    promised = {d.id: d.content_hash for d in docs if first_of[d.content_hash] == d.id}
    copies = {d.url for d in docs if first_of[d.content_hash] != d.id}
    landed = 0
    for i in range(n):
        point = KILL_POINTS[i % len(KILL_POINTS)]
        home = Path(tempfile.mkdtemp(prefix="dualscout-kill-"))
        try:
            write_batches(home / "inbox", docs, per_batch=30)
            proc = subprocess.Popen([sys.executable, "-c", KILLED_INGEST], env=_env(home, KILL_AT=point), cwd=ROOT,
                                    stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
            where = next((line.split(" ", 1)[1].strip() for line in proc.stdout if line.startswith("KILLPOINT")), None)
            landed += where is not None
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            rerun = subprocess.run(INGEST_COMMAND, env=_env(home), cwd=ROOT, capture_output=True, text=True, timeout=900)
            stored = _stored(home)
            rejected = _duplicate_rejects(home)
            pending = sorted(p.name for p in (home / "inbox").glob("*.jsonl"))
            ok = (where is not None and rerun.returncode == 0 and stored == promised and copies <= rejected
                  and not pending)
            tally.add("kill -9 during ingest, then re-run", ok,
                      f"run {i} ({point}): killed at {where or 'nothing (the ingest ended first)'}, "
                      f"rc={rerun.returncode}, {len(stored)}/{len(promised)} stored, "
                      f"{len(copies & rejected)}/{len(copies)} copies recorded, pending={pending}")
            tally.info.append(f"run {i}: killed at {where}")
        finally:
            shutil.rmtree(home, ignore_errors=True)
    tally.info.append(f"kill -9 landed at the announced moment in {landed} of {n} runs; {len(copies)} of the "
                      f"{len(docs)} documents are same-title, same-text copies, {len(promised)} are promised")


INGEST_COMMAND = [sys.executable, "-c", "from flows.enrich import ingest_pending_batches as t; t.fn()"]


def _duplicate_rejects(home: Path) -> set[str]:
    """URLs the crawl's reject log records as "duplicate content"."""
    path = home / "rejects.jsonl"
    if not path.exists():
        return set()
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return {r.get("url") for r in rows if r.get("reason") == "duplicate content"}


def disk_full(tally: Tally) -> None:
    from tests.flows.helpers import INGEST, demo_documents, write_batches

    home = Path(tempfile.mkdtemp(prefix="dualscout-full-"))
    try:
        write_batches(home / "inbox", demo_documents(10), per_batch=10)
        done = subprocess.run(INGEST, env=_env(home, SCOUT_MIN_FREE_MB=str(10**12)), cwd=ROOT, capture_output=True,
                              text=True, timeout=300)
        said = "DiskSpaceError: only" in done.stderr and "SCOUT_MIN_FREE_MB" in done.stderr
        untouched = not (home / "index").exists() and len(list((home / "inbox").glob("*.jsonl"))) == 1
        tally.add("disk full before enrich", done.returncode != 0 and said and untouched, done.stderr[-300:])
    finally:
        shutil.rmtree(home, ignore_errors=True)


def corruption(tally: Tally) -> None:
    import numpy as np

    from tests.flows.helpers import INGEST, demo_documents, write_batches

    docs = demo_documents(40)
    expected = {d.id: d.content_hash for d in docs}

    def ingest(home: Path) -> tuple[int, dict[str, str], str]:
        done = subprocess.run(INGEST, env=_env(home), cwd=ROOT, capture_output=True, text=True, timeout=600)
        return done.returncode, (_stored(home) if done.returncode == 0 else {}), done.stderr

    # 1. a truncated embedding cache, 2. rows of the wrong dimension and NaN rows
    for case in ("truncated cache", "bad cache rows"):
        home = Path(tempfile.mkdtemp(prefix="dualscout-corrupt-"))
        try:
            write_batches(home / "inbox", docs[:20], per_batch=20)
            ingest(home)
            cache = home / "embeddings.sqlite"
            if case == "truncated cache":
                for part in ("-wal", "-shm"):
                    Path(str(cache) + part).unlink(missing_ok=True)
                cache.write_bytes(cache.read_bytes()[: max(cache.stat().st_size // 3, 100)])
            else:
                import sqlite3

                with sqlite3.connect(cache) as db:
                    rows = db.execute("SELECT model, hash FROM embeddings").fetchall()
                    for j, (model, h) in enumerate(rows):
                        vec = np.full(384, np.nan, np.float32) if j % 2 else np.ones(7, np.float32) / np.sqrt(7)
                        db.execute("UPDATE embeddings SET dim = ?, vector = ? WHERE model = ? AND hash = ?",
                                   (vec.shape[0], vec.tobytes(), model, h))
            shutil.rmtree(home / "index")  # re-index everything through the damaged cache
            shutil.rmtree(home / "inbox")
            write_batches(home / "inbox", docs, per_batch=20)
            rc, stored, err = ingest(home)
            tally.add("corrupted files", rc == 0 and stored == expected, f"{case}: rc={rc} {err[-200:]}")
        finally:
            shutil.rmtree(home, ignore_errors=True)

    # 3. a damaged shard WAL: reported as such
    home = Path(tempfile.mkdtemp(prefix="dualscout-corrupt-"))
    try:
        write_batches(home / "inbox", docs[:10], per_batch=10)
        ingest(home)
        for part in (home / "index" / "shard" / "wal").glob("open-*"):
            part.write_bytes(b"\xff" * 64)
        write_batches(home / "inbox", docs[10:20], per_batch=10)
        rc, _, err = ingest(home)
        said = err.strip().splitlines()[-1] if err.strip() else ""  # the error itself, not the traceback's source
        tally.add("corrupted files", rc != 0 and "cannot be opened" in said and "incompatible" not in said.lower(),
                  f"damaged WAL: {said[-300:]}")
    finally:
        shutil.rmtree(home, ignore_errors=True)

    # 4. a folder named *.jsonl and a poisoned batch beside good ones
    home = Path(tempfile.mkdtemp(prefix="dualscout-corrupt-"))
    try:
        paths = write_batches(home / "inbox", docs[:30], per_batch=10)
        (home / "inbox" / "feeds-20261100T000000Z.jsonl").mkdir()
        paths[1].write_text('{"not": "a document"}\n' + "\ufffd" * 50 + "\n", encoding="utf-8")
        rc, stored, err = ingest(home)
        kept = {d.id: d.content_hash for d in docs[:10] + docs[20:30]}
        tally.add("corrupted files", rc == 0 and stored == kept, f"folder and junk batch: rc={rc} {err[-200:]}")
    finally:
        shutil.rmtree(home, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=5, help="kill -9 cycles, one kill point after another "
                        f"({', '.join(KILL_POINTS)}; each cycle about 20-60 s)")
    parser.add_argument("--seed", type=int, default=19)
    parser.add_argument("--only", choices=["fuzz", "disk", "corruption", "kills"], help="run one group of faults")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    tally = Tally()
    started = time.monotonic()
    for name, run in (("fuzz", lambda: fuzz(tally)), ("disk", lambda: disk_full(tally)),
                      ("corruption", lambda: corruption(tally)), ("kills", lambda: kills(tally, args.kills, rng))):
        if args.only in (None, name):
            run()
    width = max(len(k) for k in tally.rows)
    print(f"{'fault':<{width}}  tried  survived  lost")
    for fault, (ok, lost) in tally.rows.items():
        print(f"{fault:<{width}}  {ok + lost:>5}  {ok:>8}  {lost:>4}")
    total_ok = sum(r[0] for r in tally.rows.values())
    total = sum(sum(r) for r in tally.rows.values())
    print(f"{'all':<{width}}  {total:>5}  {total_ok:>8}  {total - total_ok:>4}   ({time.monotonic() - started:.0f} s)")
    for line in tally.info:
        print(" ", line)
    for note in tally.notes[:20]:
        print("  lost:", " ".join(note.split())[:400])
    print(json.dumps({k: {"tried": sum(v), "survived": v[0], "lost": v[1]} for k, v in tally.rows.items()}))


if __name__ == "__main__":
    main()
