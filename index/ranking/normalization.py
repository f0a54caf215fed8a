"""Score normalisation: pure functions over one channel's scores (ranx's `normalization/`)."""

from __future__ import annotations

from typing import Iterable


def min_max(scores: Iterable[float]) -> tuple[float, float]:
    """(floor, spread) of a result list's scores: `(s - floor) / spread` maps it onto [0, 1] (spread 1 when
    every score is the same, so each then scales to 0)."""
    values = list(scores)
    lo, hi = min(values), max(values)
    return lo, (hi - lo) or 1.0


def min_max_scaled(scores: Iterable[float]) -> list[float]:
    """The scores min-max scaled onto [0, 1]: the best 1, the worst 0."""
    values = list(scores)
    if not values:
        return []
    lo, spread = min_max(values)
    return [(s - lo) / spread for s in values]
