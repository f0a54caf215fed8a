"""Organization page cost: `IndexLibrary.organization` read from the match ledger against ranking every need.

An organization page lists the needs the organization's documents answer. It reads each need's matches from
the ledger (as the last match run stored them); before, it ranked every need on each request (its best 50).
Both ways run here in one process on the same index, for the organizations the last match run named most,
and the ratio is printed (wall time, median over the runs; the first call of each warms the caches and is
left out). The ranking is timed at the old depth (50); the answers are compared at the run's depth (20,
`ORGANIZATION_DEPTH`), where both ways must list the same needs and documents.

Runs on a SCOUT_HOME that has an index and a ledger with a match run (`make demo` makes one).

    PYTHONPATH=$PWD python bench/org_page.py [--home var] [--orgs 5] [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--home", type=Path, default=None, help="SCOUT_HOME (default: the environment's, or ./var)")
    ap.add_argument("--orgs", type=int, default=5)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    if args.home:
        os.environ["SCOUT_HOME"] = str(args.home)
    sys.path.insert(0, str(ROOT))
    import service.index_library as index_library
    from index.ledger import Ledger
    from service.index_library import open_library

    with open_library(read_only=True, command="bench/org_page.py") as lib:
        if lib.ledger_path is None or not lib.ledger_path.exists():
            sys.exit(f"no ledger at {lib.ledger_path}: run `scout demo` (or `scout run match`) first")
        stored = Ledger(lib.ledger_path).latest_matches()
        if not stored:
            sys.exit("the ledger holds no match run: run `scout run match` first")
        names = Counter(o for m in lib.index.get_many(list({m.doc_id for m in stored}), ["organizations"]).values()
                        for o in m.get("organizations") or [])
        orgs = [name for name, _ in names.most_common(args.orgs)]
        ledger_path = lib.ledger_path
        needs = len(lib.needs())
        times: dict[str, list[float]] = {"ledger": [], "ranking": []}
        same = True
        depth = index_library.ORGANIZATION_DEPTH
        for name in orgs:
            answers = {}
            for way in ("ledger", "ranking"):
                lib.ledger_path = ledger_path if way == "ledger" else None
                lib.organization(name)  # warm: the organization's status and records are cached per index
                runs = []
                index_library.ORGANIZATION_DEPTH = 50  # the old page's depth
                for _ in range(args.runs):
                    started = time.perf_counter()
                    profile = lib.organization(name)
                    runs.append(time.perf_counter() - started)
                index_library.ORGANIZATION_DEPTH = depth
                times[way].append(statistics.median(runs))
                answers[way] = [(o.key, o.doc_ids) for o in lib.organization(name).needs]
            same &= answers["ledger"] == answers["ranking"]
            print(f"{name[:40]:40}  ledger {times['ledger'][-1]:7.3f} s   ranking {times['ranking'][-1]:7.3f} s   "
                  f"needs {len(answers['ledger'])}")
        lib.ledger_path = ledger_path
    led, rank = statistics.median(times["ledger"]), statistics.median(times["ranking"])
    print(f"\n{len(orgs)} organizations, {needs} needs: median {led:.3f} s from the ledger, {rank:.3f} s ranking "
          f"every need: {rank / led:.1f}x; the same needs and documents both ways (depth {depth}): {same}")


if __name__ == "__main__":
    main()
