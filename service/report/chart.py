"""The report's chart: new matches per critical-technology area over the last weeks, as a PNG.

matplotlib with the Agg backend (no display). Area names are Japanese when a CJK font is installed
(e.g. Debian's fonts-noto-cjk), else English: a missing font would draw empty boxes.
"""

from __future__ import annotations

import io
from datetime import datetime, tzinfo
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Iterable

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
    # matplotlib's font cache may predate the font's installation: look at the files themselves.
    for path in sorted(font_manager.findSystemFonts()):
        name = Path(path).name.lower().replace("_", "").replace(" ", "")
        if any(hint in name for hint in _CJK_FILE_HINTS):
            try:
                font_manager.fontManager.addfont(path)
                return font_manager.FontProperties(fname=path).get_name()
            except (OSError, RuntimeError, ValueError):
                continue
    return None


def render_area_chart(
    ledger: "Ledger",
    taxonomy: "Taxonomy",
    *,
    until: datetime,
    weeks: int,
    tz: tzinfo,
    areas: Iterable[str] | None = None,
) -> tuple[bytes, str]:
    """(PNG bytes, a one-line caption). `areas`: chart these area ids only (a profile's filter)."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    wanted = set(areas) if areas else {a.id for a in taxonomy.areas if a.scheme == CHART_SCHEME}
    concept_areas = {c.id: [a for a in taxonomy.areas_of(c.id) if a in wanted] for c in taxonomy.concepts}
    counts = ledger.matches_per_area(weeks, until, concept_areas, tz=tz)

    family = cjk_font_family()
    names = taxonomy.areas_by_id

    def label(area_id: str) -> str:
        if area_id == "other":
            return "その他 / other" if family else "other"
        area = names.get(area_id)
        if area is None:
            return area_id
        return area.ja if family else area.en

    series = [(a, c) for a, c in counts.counts.items() if any(c)]
    series.sort(key=lambda ac: (ac[0] == "other", -sum(ac[1]), ac[0]))  # biggest first, "other" last

    fig = Figure(figsize=(7.2, 3.0), dpi=110)
    ax = fig.add_subplot()
    legend_font = {"family": [family, "DejaVu Sans"], "size": 7} if family else {"size": 7}
    x = list(range(len(counts.weeks)))
    bottom = [0] * len(x)
    palette = ["#1f5fa8", "#e07b1a", "#2e9e57", "#b03a48", "#7a52a6", "#8c8c8c"]
    for i, (area_id, values) in enumerate(series):
        ax.bar(x, values, bottom=bottom, width=0.7, label=label(area_id), color=palette[min(i, len(palette) - 1)])
        bottom = [b + v for b, v in zip(bottom, values)]
    ax.set_xticks(x, [w.split("-")[1] for w in counts.weeks], fontsize=8)
    ax.set_ylabel("new matches", fontsize=8)
    ax.tick_params(axis="y", labelsize=8)
    ax.yaxis.get_major_locator().set_params(integer=True)
    ax.spines[["top", "right"]].set_visible(False)
    ax.set_title(f"New matches per critical-technology area ({counts.weeks[0]} to {counts.weeks[-1]})", fontsize=9)
    if series:
        ax.legend(frameon=False, loc="upper left", prop=legend_font)
    else:
        ax.text(0.5, 0.5, "no new matches in these weeks", ha="center", va="center", transform=ax.transAxes)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    caption = (
        f"New matches per week and area, {counts.weeks[0]} to {counts.weeks[-1]}; "
        "a match in two areas counts in both."
    )
    return buffer.getvalue(), caption
