"""The report's chart: new matches per critical-technology area over the last weeks, as a PNG.

matplotlib with the Agg backend (no display). Area names are Japanese when a CJK font is installed
(e.g. Debian's fonts-noto-cjk), else English: a missing font would draw empty boxes.
"""

from __future__ import annotations

import io
import logging
from contextlib import contextmanager
from datetime import datetime, tzinfo
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Iterator

if TYPE_CHECKING:
    from index.ledger import Ledger
    from nlp.taxonomy import Taxonomy

CHART_SCHEME = "jp"  # Japan's 特定重要技術 areas; the US CET areas would count most matches twice
_CJK_FILE_HINTS = ("notosanscjk", "notoserifcjk", "sourcehansans", "ipaexg", "ipag", "takaogothic", "vl-gothic",
                   "notosansjp", "droidsansfallback")  # fmt: skip


@lru_cache(maxsize=1)
def cjk_font_family() -> str | None:
    """The family name of an installed CJK font, registered with matplotlib; None when there is none."""
    from matplotlib import font_manager

    for family in ("Noto Sans CJK JP", "IPAexGothic", "IPAGothic", "Source Han Sans JP", "TakaoGothic"):
        try:
            font_manager.findfont(family, fallback_to_default=False)
            return family
        except ValueError:
            pass
    # matplotlib's font cache may predate the font's installation: look at the files themselves. Every weight
    # is registered (a family known only in Black made matplotlib warn "Failed to find font weight normal"),
    # the regular one named first.
    found: str | None = None
    paths = sorted(font_manager.findSystemFonts(), key=lambda p: ("regular" not in Path(p).name.lower(), p))
    for path in paths:
        name = Path(path).name.lower().replace("_", "").replace(" ", "")
        if any(hint in name for hint in _CJK_FILE_HINTS):
            try:
                font_manager.fontManager.addfont(path)
                found = found or font_manager.FontProperties(fname=path).get_name()
            except (OSError, RuntimeError, ValueError):
                continue
    return found


@contextmanager
def quiet_fonts() -> Iterator[None]:
    """matplotlib's font lookups log warnings ("findfont: Font family ... not found") that a report's reader
    cannot act on: the chart already picks an installed font or English labels. Errors still show."""
    logger = logging.getLogger("matplotlib.font_manager")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


MAX_AREAS = 8  # areas drawn; the rest are summed under "other"
# Distinct at a glance (Okabe-Ito and Tableau hues, none two alike); grey is kept for "other".
PALETTE = ["#1f5fa8", "#e07b1a", "#2e9e57", "#b03a48", "#7a52a6", "#8c564b", "#d4a017", "#17becf"]
OTHER_COLOUR = "#9aa5b1"


def chart_areas(taxonomy: "Taxonomy", areas: Iterable[str] | None = None) -> set[str]:
    """The areas a chart may show: a profile's, else Japan's 特定重要技術 areas."""
    return set(areas) if areas else {a.id for a in taxonomy.areas if a.scheme == CHART_SCHEME}


def main_area(concepts: Iterable[str], taxonomy: "Taxonomy", wanted: set[str]) -> str:
    """The one area a match counts under: the wanted area most of its shared concepts belong to (ties: the
    first by id), or "other". One area per match, so that the bars add up to the number of new matches."""
    counts: dict[str, int] = {}
    for cid in concepts:
        for area in taxonomy.areas_of(cid):
            if area in wanted:
                counts[area] = counts.get(area, 0) + 1
    return min(counts, key=lambda a: (-counts[a], a)) if counts else "other"


def top_areas(counts: dict[str, list[int]], limit: int = MAX_AREAS) -> list[tuple[str, list[int]]]:
    """The `limit` biggest areas, biggest first, and "other" (the rest summed) last."""
    ranked = sorted(((a, c) for a, c in counts.items() if a != "other" and any(c)), key=lambda ac: (-sum(ac[1]), ac[0]))
    kept, rest = ranked[:limit], ranked[limit:]
    weeks = len(next(iter(counts.values()))) if counts else 0
    other = [sum(col) for col in zip(*([c for _, c in rest] + [counts.get("other", [0] * weeks)]))] if weeks else []
    return kept + ([("other", other)] if any(other) else [])


def draw_area_chart(weeks: list[str], counts: dict[str, list[int]], taxonomy: "Taxonomy") -> tuple[bytes, str]:
    """(PNG bytes, a one-line caption) of new matches per week, stacked by area (each match in one area)."""
    with quiet_fonts():
        return _draw_area_chart(weeks, counts, taxonomy)


def _draw_area_chart(weeks: list[str], counts: dict[str, list[int]], taxonomy: "Taxonomy") -> tuple[bytes, str]:
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    family = cjk_font_family()
    names = taxonomy.areas_by_id

    def label(area_id: str) -> str:
        if area_id == "other":
            return "その他 / other" if family else "other"
        area = names.get(area_id)
        if area is None:
            return area_id
        return area.ja if family else area.en

    series = top_areas(counts)
    fig = Figure(figsize=(7.6, 3.0), dpi=110, layout="constrained")
    ax = fig.add_subplot()
    legend_font = {"family": [family, "DejaVu Sans"], "size": 7} if family else {"size": 7}
    x = list(range(len(weeks)))
    bottom = [0] * len(x)
    for i, (area_id, values) in enumerate(series):
        colour = OTHER_COLOUR if area_id == "other" else PALETTE[i % len(PALETTE)]
        ax.bar(x, values, bottom=bottom, width=0.7, label=label(area_id), color=colour)
        bottom = [b + v for b, v in zip(bottom, values)]
    for xi, total in zip(x, bottom):  # each week's total over its bar: the figure the report's text gives
        if total:
            ax.text(xi, total, str(total), ha="center", va="bottom", fontsize=7)
    ax.set_xticks(x, [w.split("-")[1] for w in weeks], fontsize=8)
    ax.set_ylabel("new matches", fontsize=8)
    ax.tick_params(axis="y", labelsize=8)
    ax.yaxis.get_major_locator().set_params(integer=True)
    ax.set_ylim(0, max(max(bottom, default=0) * 1.15, 1))
    ax.spines[["top", "right"]].set_visible(False)
    ax.set_title(f"New matches per critical-technology area ({weeks[0]} to {weeks[-1]})", fontsize=9)
    if series:
        fig.legend(frameon=False, loc="outside right upper", prop=legend_font)
    else:
        ax.text(0.5, 0.5, "no new matches in these weeks", ha="center", va="center", transform=ax.transAxes)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    caption = (f"New matches per week, {weeks[0]} to {weeks[-1]}, each counted once under its main area "
               f"(at most {MAX_AREAS} areas; the rest under other).")
    return buffer.getvalue(), caption


def render_area_chart(
    ledger: "Ledger",
    taxonomy: "Taxonomy",
    *,
    until: datetime,
    weeks: int,
    tz: tzinfo,
    areas: Iterable[str] | None = None,
) -> tuple[bytes, str]:
    """The chart straight from the ledger (every new pair, no profile): `areas` limits the areas shown."""
    wanted = chart_areas(taxonomy, areas)
    concept_areas = {c.id: [main_area([c.id], taxonomy, wanted)] for c in taxonomy.concepts}
    counts = ledger.matches_per_area(weeks, until, concept_areas, tz=tz)
    return draw_area_chart(counts.weeks, counts.counts, taxonomy)
