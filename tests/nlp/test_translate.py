"""Japanese -> English term translation: sense choice by technical usage, katakana loanwords back to English."""

from __future__ import annotations

import pytest

from nlp.katakana import back_transliterate, katakana_skeleton, long_vowel_variants, romanize, skeleton_of_english
from nlp.taxonomy import load_taxonomy
from nlp.translate import TermTranslator


@pytest.fixture(scope="module")
def translator():
    return TermTranslator(load_taxonomy())


def test_a_later_gloss_wins_only_where_technical_english_uses_it_much_more(translator):
    assert translator.gloss("設計") == "design"  # JMdict: "plan, design, layout"
    assert translator.gloss("社") == "company" or translator.gloss("社") == "association"  # not "(Shinto) shrine"
    assert translator.gloss("電気") == "electricity"  # the second sense, "(electric) light", is never chosen
    assert translator.gloss("装置") == "equipment"  # close in use: the dictionary's order stands
    assert translator.gloss("ナノ秒") == "nanosecond"  # a longer gloss never replaces a shorter first one


def test_katakana_and_english_spellings_share_a_consonant_skeleton():
    assert romanize("コンフォーマル") == "konfomaru"
    assert katakana_skeleton("ボロメータ") == skeleton_of_english("bolometer") == "brmt"
    assert katakana_skeleton("コンフォーマル") == skeleton_of_english("conformal")
    assert long_vowel_variants("ボロメータ") == ["ボロメーター"] and long_vowel_variants("センサー") == ["センサ"]


def test_unknown_loanwords_are_read_back_to_corpus_words_and_short_or_unlike_ones_are_not():
    assert back_transliterate("コンフォーマル") == "conformal"
    assert back_transliterate("ハイブリッド") == "hybrid"  # closest spelling, not the more frequent "build"
    assert back_transliterate("スペクトロメータ") == "spectrometer"
    assert back_transliterate("ノッチ") is None  # too short to tell
    assert back_transliterate("量子") is None  # not katakana


def test_loanword_compounds_split_into_dictionary_words_first(translator):
    assert translator.gloss("ボロメータ") == "bolometer"  # JMdict spells it ボロメーター
    assert translator.gloss("コンフォーマルアンテナ") == "conformal antenna"
    assert translator.gloss("レーザーライン") == "laser line"  # two dictionary words, not a transliteration


def test_rendering_keeps_the_loanwords_of_a_title(translator):
    from nlp.components import get_pipeline

    nlp = get_pipeline("ja", "", "ja_ginza")
    rendering = translator.render(nlp.make_doc("画素内デジタル処理を備えた非冷却長波長赤外線ボロメータカメラ"))
    assert "bolometer camera" in rendering and "pixel" in rendering


def test_a_word_reads_as_the_entry_it_heads_not_as_a_variant_spelling_of_another(translator):
    # JMdict lists 銀 and 銅 also as rare variant spellings of 金 ("money"), in an entry with a lower id
    assert translator.gloss("銀") == "silver"
    assert translator.gloss("銅") == "copper"


def test_prefixes_are_glossed_with_the_word_they_modify(translator):
    from nlp.components import get_pipeline
    from nlp.translate import prefix_gloss

    assert prefix_gloss("高") == "high" and prefix_gloss("非") == "un-" and prefix_gloss("多") == "multi-"
    assert prefix_gloss("被") is None  # a usage note, not a gloss
    nlp = get_pipeline("ja", "", "ja_ginza")
    assert translator.render(nlp.make_doc("高分解能")) == "high resolution"
    assert translator.render(nlp.make_doc("非冷却")) == "un-cooling"  # not "cooling": the meaning turned over
    # a prefix modifies the next word only
    assert translator.render(nlp.make_doc("低照度対応")) == "low illumination correspondence"


def test_a_kanji_word_no_dictionary_knows_is_read_as_its_known_parts(translator):
    from nlp.components import get_pipeline

    assert translator.split_gloss("防護具") == "protection tool"  # one token to the tokenizer, not in JMdict
    assert translator.split_gloss("送波器") is None  # no known head: nothing made up
    assert translator.split_gloss("防護") is None  # two kanji: a word or nothing
    nlp = get_pipeline("ja", "", "ja_ginza")
    assert translator.render(nlp.make_doc("呼吸防護具")).endswith("protection tool")


def test_the_other_readings_of_the_glossed_words_are_kept_for_queries(translator):
    from nlp.components import get_pipeline

    nlp = get_pipeline("ja", "", "ja_ginza")
    doc = nlp.make_doc("負極材料の呼吸")
    assert "negative pole" in translator.render(doc) and "anode" not in translator.render(doc)
    others = translator.alternatives(doc)
    assert "anode" in others and "respiration" in others and "negative pole" not in others
