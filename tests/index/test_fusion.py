"""Fusion and normalisation: pure functions over result lists, tested without an index."""

from __future__ import annotations

import pytest

from index.ranking.channels import CHANNELS, ChannelHit
from index.ranking.fusion import (
    active_weights, breakdown_parts, channel_scales, correction_shares, documents, mixture, own_list_fusion,
    reciprocal_rank_fusion, score_fusion,
)
from index.ranking.normalization import min_max, min_max_scaled


def hits(*pairs, corrections=None) -> list[ChannelHit]:
    corrections = corrections or {}
    return [ChannelHit(d, s, s + corrections.get(d, 0.0), correction=corrections.get(d)) for d, s in pairs]


PARTS = {"dense": ("dense", "generic"), "sparse": ("sparse", "generic_lexical"), "title": ("dense", "generic")}


def test_min_max_maps_a_list_onto_the_unit_interval():
    assert min_max([0.2, 0.8, 0.5]) == (0.2, pytest.approx(0.6))
    assert min_max_scaled([0.2, 0.8, 0.5]) == pytest.approx([0.0, 1.0, 0.5])
    assert min_max([0.4, 0.4]) == (0.4, 1.0)  # no spread: every score scales to 0, nothing divides by 0
    assert min_max_scaled([0.4, 0.4]) == [0.0, 0.0] and min_max_scaled([]) == []
    assert min_max_scaled([-3.0, 5.0]) == [0.0, 1.0]  # negative scores (a corrected channel) too


def test_score_fusion_is_a_weighted_sum_of_scaled_scores():
    results = {"dense": hits(("a", 0.9), ("b", 0.5), ("c", 0.1)), "sparse": hits(("b", 30.0), ("d", 10.0))}
    fused = score_fusion(results, {"dense": 1.0, "sparse": 3.0})
    assert list(fused) == ["a", "b", "c", "d"]  # in the order first found
    assert fused["a"] == {"dense": pytest.approx(0.25)}  # first in dense (weight share 1/4), absent from sparse
    assert fused["b"] == {"dense": pytest.approx(0.125), "sparse": pytest.approx(0.75)}
    assert fused["c"] == {"dense": 0.0} and fused["d"] == {"sparse": 0.0}  # last in its list: its floor
    assert sum(fused["b"].values()) == pytest.approx(0.875)
    # first in every channel: 1; the scale of a channel's raw scores does not matter, only their order and gaps
    top = score_fusion({"dense": hits(("a", 0.9), ("b", 0.1)), "sparse": hits(("a", 900.0), ("b", 100.0))},
                       {"dense": 1.0, "sparse": 3.0})
    assert sum(top["a"].values()) == pytest.approx(1.0) and sum(top["b"].values()) == 0.0


def test_own_list_fusion_is_the_lists_own_scaling_whatever_scales_the_scores():
    # a narrow filter's lists ordered among documents the unfiltered scales give nothing (Ranker.head_order)
    results = {"dense": hits(("a", 0.9), ("b", 0.5), ("c", 0.1)), "sparse": hits(("b", 30.0), ("d", 10.0)),
               "title": []}
    weights = {"dense": 1.0, "sparse": 3.0, "title": 2.0}
    own = own_list_fusion(results, weights)
    assert own == pytest.approx({d: sum(s.values()) for d, s in score_fusion(results, weights).items()})
    assert own_list_fusion(results, weights, only={"b", "c"}) == pytest.approx({"b": own["b"], "c": own["c"]})
    # the unfiltered scales leave them nothing; their own lists still tell them apart
    below = {"dense": (0.95, 0.05), "sparse": (40.0, 10.0)}
    assert all(sum(s.values()) == 0.0 for s in score_fusion(results, weights, below).values())
    assert own["b"] > own["a"] > own["c"] == own["d"] == 0.0


def test_channels_without_weight_or_hits_take_no_share():
    results = {"dense": hits(("a", 0.9), ("b", 0.1)), "sparse": [], "title": hits(("c", 0.7), ("a", 0.3))}
    weights = {"dense": 1.0, "sparse": 1.5, "title": 0.0}
    assert active_weights(results, weights) == {"dense": 1.0}
    fused = score_fusion(results, weights)
    assert fused["a"] == {"dense": pytest.approx(1.0)}  # dense holds all the weight
    assert "c" not in fused  # found only by a channel of weight 0: no candidate
    assert documents(results) == ["a", "b", "c"]


def test_a_mixture_moves_weight_between_channels_for_some_documents_only():
    """The language-agnostic channel's way in (index/ranking/ranker.py pair_weights): for the documents given
    their own weights, one channel takes part of the donors' weight, the total (so the scale) unchanged;
    every other document's shares are exactly those without the channel."""
    results = {"dense": hits(("a", 0.9), ("b", 0.5), ("j", 0.1)), "sparse": hits(("a", 9.0), ("b", 1.0)),
               "title": hits(("b", 0.8), ("a", 0.2)), "multi": hits(("j", 0.9), ("e", 0.5), ("a", 0.1))}
    weights = {"dense": 1.0, "sparse": 1.5, "title": 0.5, "multi": 0.0}
    without = score_fusion({**results, "multi": []}, weights)
    mixed = mixture(results, weights, "multi", 0.75, ("dense", "title"))
    assert mixed == {"dense": pytest.approx(0.5), "sparse": 1.5, "title": pytest.approx(0.25), "multi": 0.75}
    assert sum(mixed.values()) == pytest.approx(sum(active_weights(results, weights).values()))
    fused = score_fusion(results, weights, pair_weights={"j": mixed})
    assert fused["a"] == without["a"] and fused["b"] == without["b"]  # not served: the same shares
    assert "e" not in fused  # found only by the mixed channel, in a pair it does not serve: no candidate
    total = 1.0 + 1.5 + 0.5
    assert fused["j"] == {"dense": 0.0, "multi": pytest.approx(0.75 / total)}  # first in the channel
    assert sum(fused["j"].values()) > sum(without["j"].values())
    # a mixture needs the channel's hits and a donor's weight; it takes at most all of the donors' weight
    assert mixture({**results, "multi": []}, weights, "multi", 0.75, ("dense",)) is None
    assert mixture(results, weights, "multi", 5.0, ("title",))["title"] == 0.0
    # the corrections and RRF follow the same weights
    corrected = {**results, "multi": hits(("j", 0.9), ("a", 0.1), corrections={"j": 0.2, "a": 0.3})}
    corrections = correction_shares(corrected, weights, pair_weights={"j": mixed})
    assert set(corrections) == {"j"} and corrections["j"]["multi"] < 0
    rrf = reciprocal_rank_fusion(results, weights, pair_weights={"j": mixed})
    assert set(rrf["j"]) == {"dense", "multi"} and set(rrf["a"]) == {"dense", "sparse", "title"}


def test_reciprocal_rank_fusion():
    results = {"dense": hits(("a", 0.9), ("b", 0.5)), "sparse": hits(("b", 30.0), ("a", 10.0), ("c", 1.0))}
    fused = reciprocal_rank_fusion(results, {"dense": 1.0, "sparse": 1.0}, k=60)
    norm = 2.0 / 61  # first place in both channels
    assert fused["a"]["dense"] == pytest.approx(1 / 61 / norm) and fused["a"]["sparse"] == pytest.approx(1 / 62 / norm)
    assert sum(fused["a"].values()) == pytest.approx(sum(fused["b"].values()))  # 1st + 2nd either way
    assert fused["c"] == {"sparse": pytest.approx(1 / 63 / norm)}
    assert sum(reciprocal_rank_fusion({"dense": hits(("a", 1.0))}, {"dense": 2.0})["a"].values()) == pytest.approx(1.0)


def test_a_corrected_channel_splits_its_share_and_the_parts_add_up():
    # "a" lost 0.4 to its hubness correction (raw 0.9, corrected 0.5)
    results = {"dense": hits(("a", 0.5), ("b", 0.3), ("c", 0.1), corrections={"a": 0.4, "b": 0.0, "c": 0.2}),
               "sparse": hits(("a", 12.0), ("c", 2.0))}
    weights = {"dense": 1.0, "sparse": 1.0}
    shares, corrections = score_fusion(results, weights), correction_shares(results, weights)
    lo, spread = channel_scales(results, ["dense"])["dense"]
    assert (lo, spread) == (0.1, pytest.approx(0.4))
    assert corrections["a"] == {"dense": pytest.approx(-0.5 * 0.4 / 0.4)}  # weight share x correction / spread
    assert corrections["b"] == {"dense": -0.0}
    parts = breakdown_parts(shares["a"], corrections["a"], PARTS)
    assert set(parts) == {"dense", "sparse", "generic", "generic_lexical"}
    assert parts["generic"] == pytest.approx(-0.5) and parts["generic_lexical"] == 0.0
    assert parts["dense"] == pytest.approx(shares["a"]["dense"] + 0.5)  # the similarity's own part
    assert parts["sparse"] == pytest.approx(0.5)
    for d in shares:
        assert sum(breakdown_parts(shares[d], corrections.get(d, {}), PARTS).values()) == \
               pytest.approx(sum(shares[d].values()))


def test_every_channel_names_its_weight_and_its_breakdown_parts():
    from domain.models import ScoreBreakdown
    from index.ranking import RankWeights

    names = [ch.name for ch in CHANNELS]
    assert len(set(names)) == len(names)
    for ch in CHANNELS:
        assert isinstance(getattr(RankWeights(), ch.name), float)
        assert {ch.part, ch.correction_part} <= set(ScoreBreakdown.CONTRIBUTIONS)


def test_a_channel_a_filter_left_without_hits_keeps_its_share_of_the_total():
    """With the unfiltered lists' scales, the weights are those of the unfiltered ranking: a channel with a
    scale takes part (its share of the total weight) even where a filter left it no hits, so a document's
    score is the one it has unfiltered; a mixture takes the same weight too."""
    unfiltered = {"dense": hits(("a", 0.9), ("j", 0.5), ("b", 0.1)), "sparse": hits(("a", 9.0), ("b", 1.0)),
                  "multi": hits(("j", 0.8), ("a", 0.2))}
    weights = {"dense": 1.0, "sparse": 1.5, "multi": 0.0}
    scales = channel_scales(unfiltered, ["dense", "sparse", "multi"])
    filtered = {"dense": hits(("j", 0.5)), "sparse": [], "multi": hits(("j", 0.8))}  # only "j" passes the filter
    assert active_weights(filtered, weights) == {"dense": 1.0}
    assert active_weights(filtered, weights, scales) == {"dense": 1.0, "sparse": 1.5}
    every = score_fusion(unfiltered, weights, scales)
    assert score_fusion(filtered, weights, scales) == {"j": every["j"]}
    mixed = mixture(unfiltered, weights, "multi", 0.75, ("dense",), scales)
    assert mixture(filtered, weights, "multi", 0.75, ("dense",), scales) == mixed
    assert (score_fusion(filtered, weights, scales, {"j": mixed})["j"]
            == score_fusion(unfiltered, weights, scales, {"j": mixed})["j"])
    # a channel with neither hits nor a scale takes no share: the others share the weight
    assert sum(score_fusion(filtered, weights, {"dense": scales["dense"]})["j"].values()) > sum(every["j"].values())
