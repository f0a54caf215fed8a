"""How every face names a taxonomy concept and a critical-technology area: one rule for the CLI
(`scout search`'s facets, `scout match`, `scout watch list`, `scout audit`), the pages (facets, chips, filters)
and a watchlist's filters (`service.watch.filter_label`).

A concept reads as its English label ("counter-UAS", not "counter-uas"); an area as `Taxonomy.area_labels`
("Hypersonics (Japan)" where two schemes name an area alike). The taxonomy is the one the index is analysed
with (SCOUT_NLP_TAXONOMY_PATH, the bundled one by default). A label is a nicety: an id the taxonomy does not
know, or a taxonomy that does not load, reads as the id, never an error.

A source reads as `source_label` ("SBIR topics", "J-STAGE", "news feeds"), defined in `domain.labels` so
that a technology's version labels (index/grouping.py: "news feeds 2025") name it the same way.
"""

from __future__ import annotations

from typing import Any

from domain.labels import source_label  # noqa: F401 - the faces' one rule for sources, re-exported


def taxonomy() -> Any | None:
    """The configured taxonomy, or None where it does not load (a broken SCOUT_NLP_TAXONOMY_PATH)."""
    try:
        from nlp.taxonomy import configured_taxonomy

        return configured_taxonomy()
    except Exception:  # noqa: BLE001 - a label is a nicety; the id still says which concept or area
        return None


def concept_label(concept_id: str) -> str:
    """A taxonomy concept as the screens name it: its English label; the id where the taxonomy does not load
    or know it. The ids stay what `--concept` and `?concept=` take."""
    tax = taxonomy()
    concept = tax.by_id.get(concept_id) if tax is not None else None
    return concept.en if concept is not None else concept_id


def area_label(area_id: str) -> str:
    """A critical-technology area as the screens name it ('Hypersonics (Japan)', not 'jp-hypersonics'); the id
    where the taxonomy does not load or know it."""
    tax = taxonomy()
    return tax.area_labels.get(area_id, area_id) if tax is not None else area_id


def term_gloss(term: str) -> str | None:
    """The English name of a Japanese technology term the taxonomy knows, for a reader of English: the label
    of the concept whose Japanese label (or synonym) it is (レーダー -> "radar", 深層学習 -> "deep learning");
    None for any other term, or where the taxonomy does not load."""
    tax = taxonomy()
    return _japanese_labels(tax).get(_key(term)) if tax is not None else None


def _key(text: str) -> str:
    import unicodedata

    return " ".join(unicodedata.normalize("NFKC", text).split()).casefold()


_JA_LABELS: dict[int, dict[str, str]] = {}


def _japanese_labels(tax: Any) -> dict[str, str]:
    found = _JA_LABELS.get(id(tax))
    if found is None:
        found = {}
        for concept in tax.concepts:
            for label in concept.labels_ja():
                found.setdefault(_key(label), concept.en)
        _JA_LABELS.clear()  # one taxonomy at a time (another SCOUT_NLP_TAXONOMY_PATH replaces it)
        _JA_LABELS[id(tax)] = found
    return found
