"""The bundled bilingual taxonomy (nlp/taxonomy.yaml) and the cross-lingual sentence pairs (pairs.yaml).

The structural tests guard what the nlp matchers rely on: unique ids, a parent tree without cycles, areas that
resolve through inheritance, labels that never point at two concepts. The pair tests check, with the real
tokenizers (SudachiPy for Japanese, spaCy's English tokenizer), that each sentence carries a label of its concept
on token boundaries, so a phrase matcher can find the same concept id from either language."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest
import yaml

from nlp.taxonomy import Taxonomy, load_taxonomy

PAIRS_FILE = Path(__file__).with_name("concept_pairs.yaml")
KEBAB = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
JAPANESE_SCRIPT = re.compile(r"[\u3040-\u30ff\u3400-\u9fff]")

# The two schemes in full: Japan's 特定重要技術 study list (20 areas) and the US CET list, 2024 update (18 areas).
JP_AREAS = {
    "jp-bio", "jp-medical", "jp-ai", "jp-computing", "jp-semiconductors", "jp-data", "jp-manufacturing",
    "jp-robotics", "jp-quantum", "jp-sensing", "jp-bci", "jp-energy", "jp-communications", "jp-cyber",
    "jp-space", "jp-ocean", "jp-transport", "jp-hypersonics", "jp-cbrn", "jp-materials",
}
US_AREAS = {
    "us-computing", "us-materials", "us-gas-turbines", "us-sensing", "us-manufacturing", "us-ai", "us-bio",
    "us-energy", "us-cyber", "us-directed-energy", "us-autonomy", "us-hmi", "us-hypersonics",
    "us-communications", "us-pnt", "us-quantum", "us-semiconductors", "us-space",
}
SEED_IDS = {"quantum-technology", "quantum-sensing", "metamaterial", "radar-absorbing-material"}


@pytest.fixture(scope="module")
def taxonomy() -> Taxonomy:
    return load_taxonomy()


@pytest.fixture(scope="module")
def pairs() -> list[dict]:
    return yaml.safe_load(PAIRS_FILE.read_text(encoding="utf-8"))["pairs"]


# ------------------------------------------------------------------ structure


def test_bundled_taxonomy_loads_with_at_least_200_concepts(taxonomy):
    assert isinstance(taxonomy, Taxonomy)
    assert len(taxonomy.concepts) >= 200
    assert SEED_IDS <= set(taxonomy.by_id)


def test_concept_ids_are_unique_and_kebab_case(taxonomy):
    counts = Counter(c.id for c in taxonomy.concepts)
    assert [i for i, n in counts.items() if n > 1] == []
    assert [c.id for c in taxonomy.concepts if not KEBAB.match(c.id)] == []


def test_every_parent_exists_and_the_parents_form_a_forest(taxonomy):
    ids = set(taxonomy.by_id)
    assert [(c.id, c.parent) for c in taxonomy.concepts if c.parent is not None and c.parent not in ids] == []
    for concept in taxonomy.concepts:
        seen = [concept.id]
        node = concept.parent
        while node is not None:
            assert node not in seen, f"cycle through {seen + [node]}"
            seen.append(node)
            node = taxonomy.by_id[node].parent
        assert taxonomy.ancestors(concept.id) == seen[1:]


def test_every_concept_has_english_and_japanese_labels_and_an_area(taxonomy):
    problems = []
    for c in taxonomy.concepts:
        if not c.en.strip() or not c.ja.strip():
            problems.append((c.id, "empty label"))
        if not JAPANESE_SCRIPT.search(c.ja):
            problems.append((c.id, f"ja label {c.ja!r} has no Japanese script"))
        if not taxonomy.areas_of(c.id):
            problems.append((c.id, "no area after inheritance"))
    assert problems == []


def test_roots_name_their_areas_and_children_inherit_them(taxonomy):
    for c in taxonomy.concepts:
        if c.parent is None:
            assert c.areas, f"root {c.id} must name its areas: its subtree inherits them"
        elif not c.areas:
            assert taxonomy.areas_of(c.id) == taxonomy.areas_of(c.parent)
        else:
            assert taxonomy.areas_of(c.id) == c.areas


def test_area_schemes_are_complete_and_every_area_has_concepts(taxonomy):
    by_scheme = {"jp": set(), "us": set()}
    for area in taxonomy.areas:
        by_scheme[area.scheme].add(area.id)
        assert area.en.strip() and JAPANESE_SCRIPT.search(area.ja), area.id
    assert by_scheme["jp"] == JP_AREAS
    assert by_scheme["us"] == US_AREAS
    covered = Counter(a for c in taxonomy.concepts for a in taxonomy.areas_of(c.id))
    assert sorted(a for a in JP_AREAS | US_AREAS if covered[a] == 0) == []


def test_concepts_name_areas_from_both_schemes(taxonomy):
    # Every domain root files its subtree under at least one area of each scheme where one applies; overall most
    # concepts must resolve to both, or one scheme's area filter would miss them.
    both = [c.id for c in taxonomy.concepts if {a[:2] for a in taxonomy.areas_of(c.id)} == {"jp", "us"}]
    assert len(both) >= 0.9 * len(taxonomy.concepts)


# ------------------------------------------------------------------ labels


def test_no_label_maps_to_two_concepts(taxonomy):
    owner: dict[str, str] = {}
    clashes = []
    for c in taxonomy.concepts:
        for label in {*c.labels_en(), *c.labels_ja()}:
            key = label.casefold()
            if owner.setdefault(key, c.id) != c.id:
                clashes.append((label, owner[key], c.id))
    assert clashes == []


def test_abbreviations_are_distinct_and_at_least_two_characters(taxonomy):
    labels = {label.casefold(): c.id for c in taxonomy.concepts for label in [*c.labels_en(), *c.labels_ja()]}
    owner: dict[str, str] = {}
    problems = []
    for c in taxonomy.concepts:
        for abbr in c.abbreviations:
            if len(abbr) < 2 or abbr != abbr.strip() or " " in abbr:
                problems.append((c.id, abbr, "too short or has spaces"))
            if owner.setdefault(abbr, c.id) != c.id:
                problems.append((c.id, abbr, f"also an abbreviation of {owner[abbr]}"))
            if labels.get(abbr.casefold(), c.id) != c.id:
                problems.append((c.id, abbr, f"also a label of {labels[abbr.casefold()]}"))
    assert problems == []


def test_label_conventions_the_matchers_rely_on(taxonomy):
    problems = []
    for c in taxonomy.concepts:
        for label in c.labels_en():
            # English is matched on lower-cased tokens; case-sensitive forms belong in abbreviations.
            if label != label.lower() or JAPANESE_SCRIPT.search(label):
                problems.append((c.id, label))
        for label in [*c.labels_en(), *c.labels_ja(), *c.abbreviations]:
            if not label or label != label.strip() or "  " in label:
                problems.append((c.id, repr(label)))
        for group in (c.labels_en(), c.labels_ja(), c.abbreviations):
            if len(group) != len(set(group)):
                problems.append((c.id, f"duplicate in {group}"))
    assert problems == []


# ------------------------------------------------------------------ loader errors


def _write(tmp_path: Path, concepts: list[dict]) -> Path:
    data = {
        "areas": [{"id": "jp-quantum", "scheme": "jp", "en": "Quantum", "ja": "量子情報科学"}],
        "concepts": concepts,
    }
    path = tmp_path / "taxonomy.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("concepts", "message"),
    [
        (
            [
                {"id": "a", "en": "a", "ja": "甲", "parent": "b", "areas": ["jp-quantum"]},
                {"id": "b", "en": "b", "ja": "乙", "parent": "a"},
            ],
            "cycle",
        ),
        ([{"id": "a", "en": "a", "ja": "甲", "parent": "a"}], "cycle"),
        ([{"id": "a", "en": "a", "ja": "甲", "parent": "missing"}], "unknown parent"),
        ([{"id": "a", "en": "a", "ja": "甲", "areas": ["us-nowhere"]}], "unknown areas"),
        ([{"id": "a", "en": "a", "ja": "甲"}, {"id": "a", "en": "b", "ja": "乙"}], "duplicate concept id"),
    ],
)
def test_loader_rejects_broken_taxonomies(tmp_path, concepts, message):
    with pytest.raises(ValueError, match=message):
        load_taxonomy(_write(tmp_path, concepts))


def test_loader_accepts_a_small_valid_taxonomy(tmp_path):
    path = _write(
        tmp_path,
        [
            {"id": "root", "en": "root", "ja": "根", "areas": ["jp-quantum"]},
            {"id": "leaf", "en": "leaf", "ja": "葉", "parent": "root"},
        ],
    )
    small = load_taxonomy(path)
    assert small.ancestors("leaf") == ["root"]
    assert small.areas_of("leaf") == ["jp-quantum"]


# ------------------------------------------------------------------ cross-lingual sentence pairs


@pytest.fixture(scope="module")
def sudachi():
    from sudachipy import Dictionary, SplitMode

    tokenizer = Dictionary().create()
    return lambda text: [m.surface() for m in tokenizer.tokenize(text, SplitMode.C)]


@pytest.fixture(scope="module")
def english():
    import spacy

    nlp = spacy.blank("en")
    return lambda text: [t.text for t in nlp.make_doc(text)]


def _contains(tokens: list[str], sub: list[str]) -> bool:
    n = len(sub)
    return n > 0 and any(tokens[i : i + n] == sub for i in range(len(tokens) - n + 1))


def test_pairs_cover_at_least_40_distinct_concepts(taxonomy, pairs):
    assert len(pairs) >= 40
    ids = [p["concept_id"] for p in pairs]
    assert [i for i in ids if i not in taxonomy.by_id] == []
    assert len(set(ids)) >= 40
    for p in pairs:
        assert set(p) == {"concept_id", "ja", "en"}
        assert JAPANESE_SCRIPT.search(p["ja"]) and not JAPANESE_SCRIPT.search(p["en"])


def test_each_japanese_sentence_carries_a_japanese_label_on_token_boundaries(taxonomy, pairs, sudachi):
    missing = []
    for p in pairs:
        concept = taxonomy.get(p["concept_id"])
        tokens = sudachi(p["ja"])
        labels = [label for label in concept.labels_ja() if label in p["ja"]]
        if not any(_contains(tokens, sudachi(label)) for label in labels):
            missing.append((p["concept_id"], labels, tokens))
    assert missing == []


def test_each_english_sentence_carries_an_english_label_or_abbreviation(taxonomy, pairs, english):
    missing = []
    for p in pairs:
        concept = taxonomy.get(p["concept_id"])
        tokens = english(p["en"])
        lowered = [t.lower() for t in tokens]
        by_label = any(_contains(lowered, [t.lower() for t in english(label)]) for label in concept.labels_en())
        by_abbreviation = any(_contains(tokens, english(abbr)) for abbr in concept.abbreviations)
        if not (by_label or by_abbreviation):
            missing.append((p["concept_id"], p["en"]))
    assert missing == []


def test_the_parsed_taxonomy_is_cached_by_content(tmp_path):
    """Issue 16: a cold query reads the taxonomy as JSON after the first parse; an edited file is parsed anew."""
    from nlp.taxonomy import BUNDLED_TAXONOMY, load_taxonomy

    source = tmp_path / "taxonomy.yaml"
    source.write_text(BUNDLED_TAXONOMY.read_text(encoding="utf-8"), encoding="utf-8")
    cache = tmp_path / "models"
    first = load_taxonomy(source, parsed_cache=cache)
    assert len(list(cache.glob("taxonomy-*.json"))) == 1
    assert load_taxonomy(source, parsed_cache=cache) == first == load_taxonomy(source)
    edited = source.read_text(encoding="utf-8").replace(first.concepts[0].labels_en()[0], "zz edited label", 1)
    source.write_text(edited, encoding="utf-8")
    assert "zz edited label" in load_taxonomy(source, parsed_cache=cache).concepts[0].labels_en()
    assert len(list(cache.glob("taxonomy-*.json"))) == 2
    for cached in cache.glob("taxonomy-*.json"):
        cached.write_text("{damaged", encoding="utf-8")
    assert "zz edited label" in load_taxonomy(source, parsed_cache=cache).concepts[0].labels_en()  # parsed again


def test_area_labels_are_whole_and_a_stray_field_is_refused(taxonomy):
    """Seven areas' English names were cut at their first comma by YAML's flow mappings ("Data science",
    "Positioning", "Chemical"), the rest read as stray keys; the screens and the mail's chart legend showed the
    stump. An area with a field the model does not know is refused."""
    from pydantic import ValidationError

    from nlp.taxonomy import Area

    by_id = {a.id: a.en for a in taxonomy.areas}
    assert by_id["jp-sensing"] == "Advanced surveillance, positioning and sensor technology"
    assert by_id["us-pnt"] == "Positioning, navigation and timing technologies"
    assert by_id["jp-cbrn"] == "Chemical, biological, radiological and nuclear (CBRN)"
    with pytest.raises(ValidationError):
        Area.model_validate({"id": "jp-data", "scheme": "jp", "en": "Data science", "ja": "データ科学",
                             "analytics": None})


def test_one_plural_rule_for_the_label_matcher_and_the_translators_counts():
    """The taxonomy matcher finds a label's plural ("radar absorbing materials") and the translator counts a
    word with its plural ("battery" with "batteries"): one rule (nlp.tokens.english_plural), where two copies
    had differed in their vowels and their endings."""
    from nlp.components import _english_variants
    from nlp.tokens import english_plural
    from nlp.translate import _count

    assert [english_plural(w) for w in ("battery", "array", "switch", "box", "brush", "lens", "process", "sensor")] \
        == ["batteries", "arrays", "switches", "boxes", "brushes", "lenses", "processes", "sensors"]
    for label in {c.en.lower() for c in load_taxonomy().concepts}:
        if not label[-1:].isalpha() or label.endswith("s") and not label.endswith("ss"):
            continue
        plural = english_plural(label)
        assert plural in _english_variants(label), label
        last = label.split()[-1]
        assert _count({english_plural(last): 7}, last) == 7, label
    assert "quantum sensor" in _english_variants("quantum sensors")  # a plural label gets its singular
