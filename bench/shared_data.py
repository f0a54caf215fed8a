"""Where the benches find the shared benchmark data: `$DUALSCOUT_SHARED`, else the `shared` folder beside the
checkout (`../shared`, as `scripts/` and the README's `scout eval ../shared/data/sbir-bench` have it)."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

SHARED = Path(os.environ.get("DUALSCOUT_SHARED") or Path(__file__).resolve().parents[2] / "shared")
SBIR_BENCH = SHARED / "data" / "sbir-bench"
SBIR_BENCH_JA = SHARED / "data" / "sbir-bench-ja"
ARXIV_SAMPLES = SHARED / "data" / "samples" / "arxiv_ml_cv_abstracts_1k.csv"
SEEDS = SHARED / "seeds"


def existing(value: str) -> Path:
    """An argparse type: a path that exists, else one clean line saying where the data was looked for."""
    path = Path(value)
    if not path.exists():
        raise argparse.ArgumentTypeError(
            f"{path} does not exist: pass the path, or set DUALSCOUT_SHARED to the shared data folder")
    return path
