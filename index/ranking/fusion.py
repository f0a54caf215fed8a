"""Fusion: pure functions that combine the channels' result lists into one score per document (ranx's
`fusion/`, qdrant-client's `hybrid/fusion.py`), and split it into the `ScoreBreakdown`'s parts.

Each function takes `results`: channel name -> its hits, best first (`ChannelHit`: a document once, its
score, and where the hubness correction applied, how much it took), and `weights`: channel name -> weight.
A channel without hits, or with weight 0, takes no part (and takes no share of the total weight). The
documents come out in the order they were first found (channels in the given order, each best first).

`pair_weights` (optional): document -> the weights its shares use instead of `weights` (a `mixture`: one
channel's weight taken from others', the total unchanged). The total weight, and so the fused scale, is
always that of `weights`; a document no channel of its weights found is no candidate.

`scales` (optional): each channel's (floor, spread) in the query's unfiltered lists. A channel that has them
takes part (and its share of the total weight) even where a filter left it no hits, so that a filter never
changes a score.
"""

from __future__ import annotations

from typing import Collection, Mapping, Sequence

from index.ranking.channels import ChannelHit
from index.ranking.normalization import min_max

Results = Mapping[str, Sequence[ChannelHit]]
Scales = Mapping[str, tuple[float, float]]  # channel -> (floor, spread)


def active_weights(results: Results, weights: Mapping[str, float], scales: Scales | None = None) -> dict[str, float]:
    """The weights of the channels that take part: a weight and at least one hit, or a scale from the unfiltered
    lists (in `weights`' order)."""
    return {ch: wt for ch, wt in weights.items() if wt and (results.get(ch) or (scales is not None and ch in scales))}


def channel_scales(results: Results, channels: Sequence[str]) -> dict[str, tuple[float, float]]:
    """Each channel's (floor, spread) over its own result list: the min-max scaling fusion applies (a channel
    without hits has none)."""
    return {ch: min_max(h.score for h in results[ch]) for ch in channels if results.get(ch)}


def mixture(results: Results, weights: Mapping[str, float], channel: str, take: float,
            donors: Sequence[str], scales: Scales | None = None) -> dict[str, float] | None:
    """The active weights with `channel` taking `take` of the `donors`' weight, in proportion to theirs (at most
    all of it): the total stays that of `weights`' active channels. None when the channel takes no part (no
    hits, no scale) or the donors no active weight (nothing to mix)."""
    active = active_weights(results, weights, scales)
    pool = sum(active.get(ch, 0.0) for ch in donors)
    if not take or not pool or not active_weights(results, {channel: take}, scales):
        return None
    take = min(take, pool)
    out = {ch: wt * (1.0 - take / pool) if ch in donors else wt for ch, wt in active.items()}
    out[channel] = take
    return out


def _weighting(results: Results, weights: Mapping[str, float],
               pair_weights: Mapping[str, Mapping[str, float]] | None, scales: Scales | None = None):
    """(the total weight, the active weights, each document's own active weights where `pair_weights` gives it
    some, the channels some document's shares use in `results`' order)."""
    base = active_weights(results, weights, scales)
    own = {d: active_weights(results, w, scales) for d, w in (pair_weights or {}).items()}
    used = set(base).union(*own.values())
    return sum(base.values()) or 1.0, base, own, [ch for ch in results if ch in used]


def documents(results: Results) -> list[str]:
    """Every document found, in the order first found."""
    return list(dict.fromkeys(h.doc_id for hits in results.values() for h in hits))


def score_fusion(results: Results, weights: Mapping[str, float], scales: Scales | None = None,
                 pair_weights: Mapping[str, Mapping[str, float]] | None = None) -> dict[str, dict[str, float]]:
    """Weighted score fusion: document -> channel -> its share, the channel's score min-max scaled over its own
    list (or by `scales`, a channel's (floor, spread) from elsewhere: the query's unfiltered list, so that a
    filter never changes a score; kept within [0, 1]) times the channel's share of the total weight. A document
    a channel did not find is at its floor (no share). A document's shares add up to its fused score, in
    [0, 1] (1: first in every channel). `pair_weights`: see the module's docstring."""
    total, base, own, channels = _weighting(results, weights, pair_weights, scales)
    scales = {**channel_scales(results, channels), **(scales or {})}
    scores = {ch: {h.doc_id: h.score for h in results[ch]} for ch in channels}
    out: dict[str, dict[str, float]] = {}
    for d in documents(results):
        shares = {ch: _share(scores[ch][d], scales[ch], wt, total)
                  for ch, wt in own.get(d, base).items() if d in scores[ch]}
        if shares:
            out[d] = shares
    return out


def own_list_fusion(results: Results, weights: Mapping[str, float],
                    only: Collection[str] | None = None) -> dict[str, float]:
    """Document -> its fused score with every channel scaled over its own list (what `score_fusion` without
    `scales` adds up), for the documents `only` (default: every one found): how the lists themselves rank a
    document, where the query's unfiltered scales give it nothing (a narrow filter's documents below every
    unfiltered floor). An order, never a score shown."""
    base = active_weights(results, weights)
    total = sum(base.values()) or 1.0
    scales = channel_scales(results, list(base))
    out: dict[str, float] = {}
    for ch, wt in base.items():
        for h in results[ch]:
            if only is None or h.doc_id in only:
                out[h.doc_id] = out.get(h.doc_id, 0.0) + _share(h.score, scales[ch], wt, total)
    return out


def _share(score: float, scale: tuple[float, float], weight: float, total: float) -> float:
    """A channel's share of a document's fused score: its score scaled by the channel's (floor, spread), kept
    within [0, 1], times the channel's share of the total weight."""
    return weight * min(1.0, max(0.0, (score - scale[0]) / scale[1])) / total


def reciprocal_rank_fusion(results: Results, weights: Mapping[str, float], k: float = 60.0,
                           pair_weights: Mapping[str, Mapping[str, float]] | None = None,
                           ) -> dict[str, dict[str, float]]:
    """Weighted reciprocal rank fusion (Cormack et al. 2009): document -> channel -> weight / (k + rank),
    divided by what first place in every channel earns, so a document's shares add up to at most 1.
    `pair_weights`: see the module's docstring."""
    total, base, own, channels = _weighting(results, weights, pair_weights)
    ranks = {ch: {h.doc_id: r for r, h in enumerate(results[ch], start=1)} for ch in channels}
    out: dict[str, dict[str, float]] = {}
    for d in documents(results):
        shares = {ch: wt / (k + ranks[ch][d]) / (total / (k + 1))
                  for ch, wt in own.get(d, base).items() if d in ranks[ch]}
        if shares:
            out[d] = shares
    return out


def correction_shares(results: Results, weights: Mapping[str, float], scales: Scales | None = None,
                      pair_weights: Mapping[str, Mapping[str, float]] | None = None) -> dict[str, dict[str, float]]:
    """Document -> channel -> the (negative) share of its fused score the channel's hubness correction took:
    the correction scaled as score fusion scales the channel's scores (with the document's own weights)."""
    total, base, own, channels = _weighting(results, weights, pair_weights, scales)
    scales = {**channel_scales(results, channels), **(scales or {})}
    out: dict[str, dict[str, float]] = {}
    for ch in channels:
        for h in results[ch]:
            wt = own.get(h.doc_id, base).get(ch)
            if h.correction is not None and wt:
                out.setdefault(h.doc_id, {})[ch] = -wt * h.correction / scales[ch][1] / total
    return out


def breakdown_parts(shares: Mapping[str, float], corrections: Mapping[str, float],
                    parts: Mapping[str, tuple[str, str]]) -> dict[str, float]:
    """A document's channel shares summed by `ScoreBreakdown` part. `parts`: channel -> (the part its share is
    shown under, the part its hubness correction is shown under); every part named there appears. A
    corrected channel's share is split in two: the similarity's part (the share less the correction) and
    the correction's (negative) part; the parts add up to the shares' sum."""
    out = dict.fromkeys((p for pair in parts.values() for p in pair), 0.0)
    for ch, value in shares.items():
        part, correction_part = parts[ch]
        correction = corrections.get(ch, 0.0)
        out[part] += value - correction
        out[correction_part] += correction
    return out
