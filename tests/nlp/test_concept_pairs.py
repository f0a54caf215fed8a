"""The same concept id from a Japanese and an English sentence (issue 4: at least 20 concept pairs).

Pairs come from tests/nlp/concept_pairs.yaml (SCOUT_TEST_PAIRS points at another file); the taxonomy is the
configured one (SCOUT_NLP_TAXONOMY_PATH) or the bundled nlp/taxonomy.yaml.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from nlp.pipeline import Enricher
from domain.settings import NlpSettings

ROOT = Path(__file__).resolve().parents[2]


def _pairs() -> list[dict]:
    override = os.environ.get("SCOUT_TEST_PAIRS")
    candidates = [Path(override)] if override else []
    for path in (*candidates, ROOT / "tests/nlp/concept_pairs.yaml"):
        if path.exists():
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
            rows = data.get("pairs", data) if isinstance(data, dict) else data
            rows = [{**r, "concept": r.get("concept") or r.get("concept_id")} for r in rows]
            return [r for r in rows if r.get("ja") and r.get("en") and r.get("concept")]
    return []


@pytest.mark.slow
def test_same_concept_from_japanese_and_english():
    enricher = Enricher(NlpSettings(cache=False))
    if len(enricher.taxonomy.concepts) < 200:  # the seed taxonomy of a branch without the taxonomy work
        pytest.skip(f"taxonomy has {len(enricher.taxonomy.concepts)} concepts; issue 4 needs the 200+ taxonomy")
    pairs = _pairs()
    assert len(pairs) >= 20
    agreeing, failures = set(), []
    for pair in pairs:
        ja = enricher.analyse_text(pair["ja"], "ja").concepts
        en = enricher.analyse_text(pair["en"], "en").concepts
        if pair["concept"] in ja and pair["concept"] in en:
            agreeing.add(pair["concept"])
        else:
            failures.append((pair["concept"], ja, en))
    assert len(agreeing) >= 20, failures
    assert len(failures) <= len(pairs) // 10, failures
