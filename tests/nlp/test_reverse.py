"""English -> Japanese query terms (nlp/reverse.py): taxonomy labels and JMdict first senses, main readings first."""

from __future__ import annotations

import pytest

from nlp.reverse import ReverseGlossary
from nlp.taxonomy import load_taxonomy


@pytest.fixture(scope="module")
def glossary():
    return ReverseGlossary(load_taxonomy())


def test_words_and_phrases_find_their_japanese_headwords(glossary):
    assert glossary.lookup("camera")[0] == "カメラ"
    assert "検出" in glossary.lookup("detection")  # "detection" is its main reading (the first gloss of its first sense)
    assert "ヒーター" in glossary.lookup("heaters")  # plural read as the singular
    assert glossary.lookup("composite material")[0] == "複合材料"  # a phrase, not its words


def test_taxonomy_labels_come_first_and_phrases_are_matched_longest_first(glossary):
    tax = load_taxonomy()
    concept = next(c for c in tax.concepts if " " in c.en)
    assert glossary.lookup(concept.en.lower())[0] == concept.ja
    terms = glossary.terms("Composite material testing")
    assert terms[0] == "複合材料" and "複合" not in terms


def test_function_words_and_unknown_words_give_nothing(glossary):
    assert glossary.terms("for the of with") == []
    assert glossary.lookup("xqzvw") == []
    # a one-kanji headword whose main reading is something else is left out (医 glosses "curing" in a later
    # place of its first sense; alone it is mostly part of longer words)
    assert "医" not in glossary.lookup("curing")


def test_without_jmdict_only_the_taxonomy_answers():
    glossary = ReverseGlossary(load_taxonomy(), use_jmdict=False)
    assert glossary.lookup("camera") == []
    tax = load_taxonomy()
    assert glossary.lookup(tax.concepts[0].en.lower())[0] == tax.concepts[0].ja


def test_no_japanese_equivalent_brings_latin_letters_into_an_english_query(glossary):
    import unicodedata

    # the taxonomy's Japanese labels include NVセンター and 干渉SAR: their Latin part would add "nv", "sar"
    terms = glossary.terms("A nitrogen-vacancy center camera for interferometric synthetic aperture radar")
    assert "カメラ" in terms and not any(c.isascii() and c.isalnum() for t in terms for c in unicodedata.normalize("NFKC", t))


def test_every_reader_of_jmdict_finds_it_in_one_place(monkeypatch):
    """The loanword vocabulary (nlp.katakana.dictionary_words), the reverse glossary and the translator's
    headword index read one JMdict, found by one function (nlp.katakana.jmdict_path; two copies of the lookup
    had stood side by side): without it, each does without."""
    import nlp.katakana as katakana
    import nlp.translate as translate

    found = katakana.jmdict_path()
    assert found is None or found.name == "jamdict.db"
    assert ReverseGlossary(load_taxonomy())._path == found
    monkeypatch.setattr(katakana, "jmdict_path", lambda: None)
    assert ReverseGlossary(load_taxonomy())._path is None
    assert katakana.dictionary_words.__wrapped__() == frozenset()
    monkeypatch.setattr(translate, "_HEADWORDS", None)
    assert translate._headword_index() is None
