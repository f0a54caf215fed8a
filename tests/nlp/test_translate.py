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
    assert translator.gloss("手法") == "technique"  # close in use: the dictionary's order stands (not "method")
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
    # ーター is the agent noun, not the verb the vocabulary holds
    assert back_transliterate("インテグレーター") == "integrator" and back_transliterate("セパレータ") == "separator"
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
    assert "anode" in translator.render(doc) and "negative pole" not in translator.render(doc)
    others = translator.alternatives(doc)
    assert "negative pole" in others and "respiration" in others and "anode" not in others


@pytest.fixture(scope="module")
def ja_nlp():
    from nlp.components import get_pipeline

    return get_pipeline("ja", "", "ja_ginza")


def test_adjectival_nouns_are_content_words(translator, ja_nlp):
    # サイバー, ロバスト are 形状詞 (adjectival nouns) to the tokenizer: they were dropped
    assert translator.render(ja_nlp.make_doc("ロバストな制御")) == "robust control"
    assert translator.render(ja_nlp.make_doc("静的な解析")) == "static analysis"
    # a kana one is a function word's part, not content
    assert translator.render(ja_nlp.make_doc("故障しそうな部品")) == "failure parts"  # 故障: "breakdown; failure", technical English says failure


def test_the_suffix_teki_makes_an_adjective_never_the_noun_target(translator, ja_nlp):
    from nlp.translate import adjectival

    assert adjectival("statistics") == "statistical" and adjectival("electricity") == "electrical"
    assert adjectival("quantum mechanics") == "quantum mechanical"
    assert adjectival("zzzz") == "zzzz"  # no form technical English uses: unchanged
    assert translator.split_gloss("戦略的") == "strategic"  # one token the dictionary lacks: not "strategy target"
    rendering = translator.render(ja_nlp.make_doc("量子力学的な効果と電気的特性"))
    assert rendering.startswith("quantum mechanical effect") and "electrical" in rendering
    assert "target" not in translator.render(ja_nlp.make_doc("経済的な設計と政治的な判断"))


def test_verbs_read_as_their_dictionary_form_and_kana_verbs_as_function_words(translator, ja_nlp):
    rendering = translator.render(ja_nlp.make_doc("宇宙空間においてセンサを通じて計測する"))
    assert "hey!" not in rendering and "bowel movement" not in rendering  # おい(て), 通じ as nouns
    assert rendering.startswith("outer space sensor") and rendering.endswith("measurement")
    assert "say" not in translator.render(ja_nlp.make_doc("量子センサという装置"))


def test_a_taxonomy_synonym_reads_as_its_own_english_label_not_the_concept_name(translator):
    assert translator.labels["グラフェン"] == "two-dimensional material"  # its concept
    assert translator.gloss("グラフェン") == "graphene"
    assert translator.gloss("二次元材料") == "two-dimensional material"  # the concept's own label
    # a loanword synonym no dictionary knows: the concept's English label it writes
    assert translator.labels["メタサーフェス"] == "metamaterial" and translator.gloss("メタサーフェス") == "metasurface"
    assert translator.gloss("ジャマー") == "jammer"  # not its concept, "electronic attack"


def test_a_synonym_of_katakana_and_kanji_reads_as_the_english_label_its_words_say(translator, ja_nlp):
    # each run's own word ("drone" + "detection"), when the concept lists it in English; else its concept
    assert translator.labels["ドローン検知"] == "counter-uas" and translator.gloss("ドローン検知") == "drone detection"
    rendering = translator.render(ja_nlp.make_doc("水中ロボットとレーザー溶接によるドローン検知装置の試作"))
    assert "underwater robot" in rendering and "laser welding" in rendering and "drone detection" in rendering
    assert "counter-uas" not in rendering and "unmanned underwater vehicle" not in rendering


def test_a_word_of_katakana_and_kanji_no_dictionary_knows_reads_as_its_runs(translator, ja_nlp):
    assert translator.split_gloss("サイバー空間") == "cyber space"
    assert translator.split_gloss("ナノ構造体") == "nano-structure"
    assert translator.split_gloss("ゾゾゾ空間") is None  # a run no dictionary knows: nothing made up
    assert translator.render(ja_nlp.make_doc("サイバー空間の防御")) == "cyber space defense"


def test_latin_words_and_numbers_keep_their_written_form(translator, ja_nlp):
    rendering = translator.render(ja_nlp.make_doc("低SWaP-C・3Dプリント部品（1000-477）とGaN-on-Si基板、Wi-Fi通信"))
    for written in ("SWaP-C", "3D", "1000-477", "GaN-on-Si", "Wi-Fi"):
        assert written in rendering.split()  # not "3 D", "Wi Fi"
    assert translator.render(ja_nlp.make_doc("TRL 3の試作")).startswith("TRL 3 ")  # a space still parts them


def test_a_prefix_gloss_joins_the_word_it_prefixes(translator, ja_nlp):
    assert translator.gloss("マルチチャネル") == "multi-channel"
    assert translator.render(ja_nlp.make_doc("ナノ構造体")) == "nano-structure"


def test_a_first_gloss_technical_english_never_uses_gives_way_to_a_longer_one_last(translator):
    from nlp.translate import _usage

    assert _usage("dynamo") == 0
    assert translator.gloss("発電機") == "power generator"  # JMdict: "dynamo; power generator"
    assert translator.gloss("劣化") == "degradation"  # a gloss as short first: not "drop in quality"
    assert translator.gloss("ナノ秒") == "nanosecond"  # a used first gloss stands


def test_a_phrase_gloss_counts_by_its_words_side_by_side_not_apart(translator, ja_nlp):
    from nlp.translate import _usage, _word_usage

    # "injured person": two words technical English uses, seldom together; it says "casualty"
    assert _usage("injured person") < _word_usage("injured person")
    assert _usage("printed circuit board") > _usage("printed wiring board")
    assert translator.gloss("負傷者") == "casualty"  # JMdict: "injured person; wounded person; casualty"
    assert translator.gloss("負極") == "anode"  # JMdict: "negative pole; anode; south magnetic pole"
    rendering = translator.render(ja_nlp.make_doc("災害現場の負傷者を搬送する無人航空機とリチウム電池の負極材料"))
    assert "casualty" in rendering and "anode" in rendering and "injured person" not in rendering
    # a phrase never seen whole keeps its place by its words: not every short gloss beats it
    assert translator.gloss("人工衛星") == "artificial satellite"  # not "man-made satellite"


def test_the_dictionarys_compounds_of_a_word_say_which_of_its_glosses_technical_japanese_means(translator, ja_nlp):
    """A gloss's count in technical English is of all its senses there ("the ability to ...", a system's
    "availability"): JMdict's compounds of the word (高性能 "high performance", 性能評価, 仮想記憶 "virtual memory")
    say which gloss the word carries."""
    from nlp.translate import _compound_glosses, _said_by

    assert _said_by("performance", _compound_glosses("性能")) > _said_by("ability", _compound_glosses("性能"))
    assert translator.gloss("性能") == "performance"  # JMdict: "ability; performance; efficiency"
    assert translator.gloss("調整") == "adjustment"  # not "regulation"
    assert translator.gloss("仮想") == "virtual"  # JMdict: "imagination; supposition; virtual; potential"
    assert translator.gloss("装置") == "device"  # JMdict: "equipment; device; installation; apparatus"
    assert translator.gloss("可能性") in ("likelihood", "possibility")  # never "availability" (可用性)
    rendering = translator.render(ja_nlp.make_doc("小型センサの性能を向上させ、故障の可能性を下げる仮想試験装置を開発した"))
    assert "performance" in rendering and "virtual" in rendering
    assert "ability" not in rendering and "availability" not in rendering
    # a single character's compounds are the character's senses, not the word's: none are read
    assert _compound_glosses("経") == []


def test_an_abbreviation_never_replaces_the_words_it_stands_for(translator):
    assert translator.gloss("人工知能") == "artificial intelligence"  # JMdict: "artificial intelligence; AI"
    assert translator.gloss("研究開発") == "research and development"  # not "R&D"


def test_the_katakana_vocabulary_is_the_same_in_every_process():
    """Two processes with other string hashing read a loanword the same way: the unseen dictionary words were
    listed in a set's order, and the first of two equally close ones won."""
    import os
    import subprocess
    import sys

    code = ("import hashlib, nlp.katakana as k; v = k._vocabulary(); "
            "print(hashlib.sha1(repr(sorted(v.items())).encode() + repr(list(v.items())).encode()).hexdigest())")
    seen = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                           env={**os.environ, "PYTHONHASHSEED": seed}).stdout for seed in ("1", "2")}
    assert len(seen) == 1


def test_a_word_with_an_entry_of_its_own_never_reads_as_a_variant_spelling_of_another(translator, ja_nlp):
    # JMdict: 比 heads "ratio; proportion"; as a rare spelling of 頃 it is "(approximate) time", which technical
    # English uses far more: that entry's glosses competed with the word's own and won
    assert translator.gloss("比") == "ratio"
    assert "pressure ratio" in translator.render(ja_nlp.make_doc("圧縮機の圧力比を高める"))
    # a word whose own entry only describes it keeps the other entries' words
    assert translator.gloss("訓") != "native Japanese reading of a Chinese character"


def test_a_long_katakana_word_reads_as_the_fewest_known_loanwords_it_is_made_of(translator, ja_nlp):
    # one token to the tokenizer, unknown to JMdict as a whole, more than two words: it was dropped
    assert translator.gloss("ナノコンポジットフィルムコンデンサー") == "nano-composite film capacitor"
    rendering = translator.render(ja_nlp.make_doc("高耐熱のナノコンポジットフィルムコンデンサーを量産する"))
    assert "nano-composite film capacitor" in rendering
    assert translator.gloss("オープンシステムアーキテクチャ") == "open system architecture"  # the longer head first
    # short dictionary words never cut an unknown loanword into nonsense (オート|クレー|ブレス: auto, clay, breath)
    assert "clay" not in (translator.gloss("オートクレーブレス") or "")


def test_a_label_ending_inside_a_word_leaves_the_rest_of_the_word_read(translator, ja_nlp):
    # カーボンナノチューブ is a taxonomy label; the tokenizer keeps the whole word, and its rest was dropped
    rendering = translator.render(ja_nlp.make_doc("カーボンナノチューブトランジスタの試作"))
    assert "carbon nanotube" in rendering and "transistor" in rendering


def test_a_later_sense_of_the_word_wins_where_its_compounds_say_it(translator, ja_nlp):
    # JMdict: 同期 "same period" (then "same year; classmate", then "synchronization"); its compounds (同期化,
    # 非同期, 同期信号) say synchronization; 移転 "moving" (then "transfer"); only first senses were read
    assert "synchronization" in translator.render(ja_nlp.make_doc("クロック信号の同期をとる回路"))
    assert "transfer" in translator.render(ja_nlp.make_doc("装備品の移転を促進する"))
    # a first gloss technical English never uses gives way to a later sense it uses (当社: "shrine", then "company")
    assert translator.render(ja_nlp.make_doc("当社の製品")) == "company product"
    # where the compounds do not say otherwise the first sense stands
    assert translator.gloss("設計") == "design" and translator.gloss("性能") == "performance"


def test_a_clipping_the_dictionary_marks_as_an_abbreviation_reads_as_the_word_it_clips(translator, ja_nlp):
    # JMdict: ラボ "lab" (abbreviation of ラボラトリー "laboratory"); English documents write "laboratory", which no
    # stemmer joins to "lab"
    assert translator.gloss("ラボ") == "laboratory"
    assert "material laboratory" in translator.render(ja_nlp.make_doc("大学の材料ラボで試験した"))
    # a loanword that is no clipping keeps its word (サイクル is "cycle", not "cyclewear"; ツール not "toolkit")
    assert translator.gloss("サイクル") == "cycle" and translator.gloss("ツール") == "tool"
