"""The report's chart: new matches per critical-technology area over the last weeks, as a PNG.

matplotlib with the Agg backend (no display). Area names are Japanese when a CJK font is installed
(e.g. Debian's fonts-noto-cjk), else English: a missing font would draw empty boxes.
"""

from __future__ import annotations

import io
import logging
from contextlib import contextmanager
from dataclasses import dataclass
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


@dataclass(frozen=True)
class LegendEntry:
    """One area of the chart as the mail lists it beside the image: its names, its colour, its new matches."""

    ja: str
    en: str
    colour: str
    count: int  # new matches in the chart's weeks


def _colour(i: int, area_id: str) -> str:
    return OTHER_COLOUR if area_id == "other" else PALETTE[i % len(PALETTE)]


def chart_legend(counts: dict[str, list[int]], taxonomy: "Taxonomy") -> list[LegendEntry]:
    """The chart's areas in the order their bars stack (the first at the bottom), with the colours the image
    draws them in. The mail writes this as text: a legend drawn in a 720 px image is about 5 px high once a
    phone scales the image to its 358 px column."""
    names = taxonomy.areas_by_id
    entries = []
    for i, (area_id, values) in enumerate(top_areas(counts)):
        area = names.get(area_id)
        ja, en = ("その他", "other") if area_id == "other" else (area.ja, area.en) if area else (area_id, area_id)
        entries.append(LegendEntry(ja=ja, en=en, colour=_colour(i, area_id), count=sum(values)))
    return entries


def draw_area_chart(weeks: list[str], counts: dict[str, list[int]], taxonomy: "Taxonomy",
                    legend: bool = True) -> tuple[bytes, str]:
    """(PNG bytes, a one-line caption) of new matches per week, stacked by area (each match in one area).
    legend=False leaves the legend out of the image, for a page that writes `chart_legend` beside it."""
    with quiet_fonts():
        return _draw_area_chart(weeks, counts, taxonomy, legend)


def _draw_area_chart(weeks: list[str], counts: dict[str, list[int]], taxonomy: "Taxonomy",
                     legend: bool) -> tuple[bytes, str]:
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
    # Without its legend (the mail's), the image is read scaled to a phone's column: larger type, fewer inches
    fig = Figure(figsize=(7.6, 3.0) if legend else (6.0, 3.2), dpi=110, layout="constrained")
    small, text = (7, 8) if legend else (10, 11)
    ax = fig.add_subplot()
    legend_font = {"family": [family, "DejaVu Sans"], "size": 7} if family else {"size": 7}
    x = list(range(len(weeks)))
    bottom = [0] * len(x)
    for i, (area_id, values) in enumerate(series):
        colour = _colour(i, area_id)
        ax.bar(x, values, bottom=bottom, width=0.7, label=label(area_id), color=colour)
        bottom = [b + v for b, v in zip(bottom, values)]
    for xi, total in zip(x, bottom):  # each week's total over its bar: the figure the report's text gives
        if total:
            ax.text(xi, total, str(total), ha="center", va="bottom", fontsize=small)
    ax.set_xticks(x, [w.split("-")[1] for w in weeks], fontsize=text)
    ax.set_ylabel("new matches", fontsize=text)
    ax.tick_params(axis="y", labelsize=text)
    ax.yaxis.get_major_locator().set_params(integer=True)
    ax.set_ylim(0, max(max(bottom, default=0) * 1.15, 1))
    ax.spines[["top", "right"]].set_visible(False)
    ax.set_title(f"New matches per area, {weeks[0]} to {weeks[-1]}" if not legend else
                 f"New matches per critical-technology area ({weeks[0]} to {weeks[-1]})", fontsize=text + 1)
    if series and legend:
        fig.legend(frameon=False, loc="outside right upper", prop=legend_font)
    elif not series:
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
