"""Score labels: documented thresholds, the same words on every model that carries a score."""

from __future__ import annotations

from pathlib import Path

from domain.models import MODERATE_SCORE, STRONG_SCORE, ScoreBreakdown, SearchHit, score_label

README = Path(__file__).resolve().parents[2] / "README.md"


def test_labels_follow_the_thresholds():
    assert score_label(1.0) == score_label(STRONG_SCORE) == "strong"
    # below a bound as the faces show the score (three places); a hair below it shows as the bound itself
    assert score_label(STRONG_SCORE - 6e-4) == score_label(MODERATE_SCORE) == "moderate"
    assert score_label(MODERATE_SCORE - 6e-4) == score_label(0.0) == "weak"


def test_readme_states_the_thresholds():
    text = README.read_text(encoding="utf-8")
    assert f"*strong* at {STRONG_SCORE:.2f} and above, *moderate*\nfrom {MODERATE_SCORE:.2f}, *weak* below" in text


def test_label_is_in_the_json_and_contributions_add_up():
    hit = SearchHit(doc_id="d", score=0.72, title="t", url="https://example.org", kind="research", source="s")
    assert hit.model_dump(mode="json")["label"] == "strong"
    assert SearchHit.model_validate(hit.model_dump(mode="json")) == hit  # the label is derived, not stored
    b = ScoreBreakdown(dense=0.4, sparse=0.3, generic=-0.05, concept=0.01, recency=0.02, total=0.68)
    assert sum(b.contributions().values()) == 0.4 + 0.3 - 0.05 + 0.01 + 0.02
    assert list(b.contributions())[:2] == ["dense", "sparse"] and "similarity" not in b.contributions()


def test_one_figure_never_shows_with_two_labels():
    """Every face shows a score to three places; a watchlist listed "0.550 moderate" above "0.550 weak" (a
    search hit held just under the moderate bound by its absolute ceiling, 0.5499...): the label is read off
    the figure shown."""
    from domain.models import MODERATE_SCORE, SCORE_DECIMALS, STRONG_SCORE, score_label

    assert SCORE_DECIMALS == 3
    for bound in (MODERATE_SCORE, STRONG_SCORE):
        for step in range(-20, 21):
            score = bound + step * 0.00005
            shown = f"{score:.3f}"
            assert score_label(score) == score_label(float(shown)), (score, shown)
    assert score_label(0.54996) == "moderate" and score_label(0.5494) == "weak"
