"""`scout eval` from scratch, stage by stage: how long the evaluation at full size takes, and where the time goes.

Runs `python -m scout eval BENCH --json` as a user would, in a fresh `SCOUT_HOME` (so the embedding cache is
empty: every passage is embedded), and prints the command's stages (parse, NLP, embedding, indexing,
ranking, scoring: `index.evaluate`'s `StageClock`, wall and CPU seconds, and the seconds each stage's thread
waited for a CPU) and the whole process's wall and CPU time (start-up and model loading included), with the
load average before and after. It then checks the
ranking quality against the figures the README quotes (`--expect-ndcg`, `--expect-mrr`: strict nDCG@10 and
MRR), and extrapolates the total to the full benchmark (`--full-needs` needs): the index is built from the
needs and documents, so the build grows with needs + documents, the ranking and scoring with the needs; once
as measured, once without the waits for a CPU (an estimate for an idle machine: on a busy one, most of the wall
time of a process that runs beside others is waiting for a core).

    PYTHONPATH=$PWD python bench/eval_stages.py [--bench ../shared/data/sbir-bench] [--limit-needs N]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench.shared_data import SBIR_BENCH, existing  # noqa: E402


def count_lines(path: Path) -> int:
    with path.open(encoding="utf-8") as fh:
        return sum(1 for line in fh if line.strip())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--bench", type=existing, default=str(SBIR_BENCH))
    ap.add_argument("--limit-needs", type=int, default=None)
    ap.add_argument("--full-needs", type=int, default=676, help="needs of the full benchmark (dev + held-out)")
    ap.add_argument("--expect-ndcg", type=float, default=0.9177, help="strict nDCG@10 the README quotes")
    ap.add_argument("--expect-mrr", type=float, default=0.9247, help="strict MRR the README quotes")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory(prefix="scout-eval-stages-") as home:
        env = {**os.environ, "SCOUT_HOME": home, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
               "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)}
        cmd = [sys.executable, "-m", "scout", "eval", str(args.bench), "--json"]
        if args.limit_needs:
            cmd += ["--limit-needs", str(args.limit_needs)]
        load_before = os.getloadavg()
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True)
        wall = time.perf_counter() - t0
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        load_after = os.getloadavg()
    if proc.returncode != 0:
        sys.exit(f"scout eval failed ({proc.returncode}): {proc.stderr.strip()[-2000:]}")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    stages = result["stages"]
    inside = result["seconds"]["total"]

    print(f"scout eval {args.bench} from scratch (fresh SCOUT_HOME, empty embedding cache): "
          f"{result['needs']} needs, {result['docs']} documents")
    print(f"load average before {load_before[0]:.1f} / {load_before[1]:.1f} / {load_before[2]:.1f}, "
          f"after {load_after[0]:.1f} / {load_after[1]:.1f} / {load_after[2]:.1f} (2 cores: above 2, the wall "
          f"times include waiting for a CPU)")
    print(f"\n{'stage':<22}{'wall s':>9}{'CPU s':>9}{'share of wall':>15}{'waited s':>10}{'wall-waited':>13}")
    for name, s in stages.items():
        waited = s.get("waited", 0.0)
        print(f"{name:<22}{s['wall']:9.1f}{s['cpu']:9.1f}{s['wall'] / wall:15.0%}{waited:10.1f}"
              f"{s['wall'] - waited:13.1f}")
    startup = wall - inside
    print(f"{'start-up, model load':<22}{startup:9.1f}{'':>9}{startup / wall:15.0%}")
    total_waited = sum(s.get("waited", 0.0) for s in stages.values())
    print(f"{'total (the process)':<22}{wall:9.1f}{cpu:9.1f}{'':>15}{total_waited:10.1f}{wall - total_waited:13.1f}")
    print("(waited: seconds the stages' thread was ready to run but waited for a CPU, the scheduler's run delay: "
          "what a busy machine adds; wall-waited: the rest, an estimate of the stage on an idle machine)")

    strict = result.get("strict", {})
    ndcg, mrr = strict.get("ndcg@10"), strict.get("mrr")
    print(f"\nstrict nDCG@10 {ndcg}, MRR {mrr} over {result.get('strict_needs')} needs", end="")
    if args.limit_needs:
        print(" (a subset: not comparable to the README's figures)")
    else:
        same = ndcg == args.expect_ndcg and mrr == args.expect_mrr
        print(f": {'the same as' if same else 'DIFFERENT from'} the README's {args.expect_ndcg} / {args.expect_mrr}")

    # Extrapolation to the full benchmark: the documents are the same, the needs grow (they are indexed too).
    docs, needs = result["docs"], result["needs"]
    grow_build = (docs + args.full_needs) / (docs + needs)
    grow_rank = args.full_needs / needs
    build = sum(stages[n]["wall"] for n in ("parse", "nlp", "embedding", "indexing"))
    rank = sum(stages[n]["wall"] for n in ("ranking", "scoring"))
    full = startup + build * grow_build + rank * grow_rank
    build_cpu = sum(stages[n]["cpu"] for n in ("parse", "nlp", "embedding", "indexing"))
    rank_cpu = sum(stages[n]["cpu"] for n in ("ranking", "scoring"))
    full_cpu = (cpu - build_cpu - rank_cpu) + build_cpu * grow_build + rank_cpu * grow_rank
    def waited(names):
        return sum(stages[n].get("waited", 0.0) for n in names)

    idle = (startup + (build - waited(("parse", "nlp", "embedding", "indexing"))) * grow_build
            + (rank - waited(("ranking", "scoring"))) * grow_rank)
    def floor(names):  # a stage can take no less than its CPU spread over 2 cores, nor than this thread's CPU
        return sum(max(stages[n]["cpu"] / 2, stages[n].get("own_cpu", 0.0)) for n in names)

    least = (startup + floor(("parse", "nlp", "embedding", "indexing")) * grow_build
             + floor(("ranking", "scoring")) * grow_rank)
    print(f"\nextrapolated, not measured: {args.full_needs} needs x {docs} documents: wall {full / 60:.1f} min at "
          f"this load, CPU {full_cpu / 60:.1f} min (build x{grow_build:.2f}, ranking x{grow_rank:.2f}); without the "
          f"main thread's waits for a CPU: {idle / 60:.1f} min (its helper threads' waits still in: an idle machine "
          f"takes less); at least {least / 60:.1f} min (each stage's CPU on 2 cores, or its main thread's CPU)")


if __name__ == "__main__":
    main()
