"""First run vs re-run of the daily pipeline over the demo sources (real spiders, model, Qdrant Edge).

Prints wall time, documents ingested and passages embedded for each run, and their ratio. A re-run over
unchanged sources should embed nothing and take a small fraction of the first run.
Usage: python bench/flows_rerun.py
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("HF_HUB_OFFLINE", "1")


def main() -> None:
    home = Path(tempfile.mkdtemp(prefix="dualscout-bench-"))
    os.environ["SCOUT_HOME"] = str(home)
    from prefect.testing.utilities import prefect_test_harness
    from rich.console import Console
    from rich.table import Table

    from flows.pipeline import pipeline
    from scout.demo.run import demo_sources, loopback_environment
    from scout.demo.site import DATA_DIR, DemoSite

    shutil.copyfile(DATA_DIR / "needs.yaml", home / "needs.yaml")
    rows = []
    with prefect_test_harness(server_startup_timeout=120), loopback_environment(home), DemoSite() as site:
        for label in ("first run", "re-run (unchanged sources)"):
            started = time.perf_counter()
            summary = pipeline(sources=demo_sources(site.base_url, home))
            elapsed = time.perf_counter() - started
            ingested = summary["ingested"]
            rows.append((label, elapsed, sum(s["fetched"] for s in summary["crawled"]),
                         sum(s["new"] + s["updated"] for s in summary["crawled"]),
                         sum(s["passages_embedded"] for s in ingested), summary["new_matches"]))
    table = Table(title="Daily pipeline over the demo sources")
    for col in ("run", "seconds", "pages fetched", "new+updated docs", "passages embedded", "new matches"):
        table.add_column(col, justify="right")
    for label, secs, fetched, changed, embedded, new in rows:
        table.add_row(label, f"{secs:.1f}", str(fetched), str(changed), str(embedded), str(new))
    console = Console()
    console.print(table)
    console.print(f"re-run / first run time: {rows[1][1] / rows[0][1]:.2f}x; "
                  f"passages embedded on re-run: {rows[1][4]}")
    shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
