"""Sense errors of the taxonomy matcher (issue 26): a common Japanese verb or word, or an English phrase that
only shares words with a label, never names a technology; the real names still do.

Each case is (text, language, the words that must not be tagged, concepts that must not appear). The positive
controls beside them keep the checks honest: a matcher that tags nothing would fail them.
"""

from __future__ import annotations

import pytest

from domain.settings import NlpSettings
from nlp.pipeline import Enricher


@pytest.fixture(scope="module")
def enricher() -> Enricher:
    return Enricher(NlpSettings(cache=False))


def _tech(enricher: Enricher, text: str, language: str) -> list[tuple[str, str]]:
    return [(e.text, e.concept_id) for e in enricher.analyse_text(text, language).entities
            if e.label == "TECH"]


# Common Japanese verbs (several conjugations each) and everyday words of abstracts, in sentences.
JAPANESE_COMMON = [
    "この実験から結論を導いた。",
    "新しい方針を導く必要がある。",
    "議論は合意へと導かれた。",
    "学生を正しい方向に導き、成果を得た。",
    "その装置は光を集めて遠くまで届ける。",
    "近年、評価の方法が大きく変わった。",
    "我々は問題を解き、結果を示した。",
    "データを守り、利用者を支える仕組みを作る。",
    "計算を進めて精度を高めた。",
    "地図を見ながら目的地へ向かった。",
    "彼は研究室で遅くまで働いている。",
    "表面が光る材料を選んだ。",
    "結果を比べると差は小さかった。",
    "試料を冷やし、温度を測った。",
    "会議で計画を決めた後、作業に移った。",
    "手順を繰り返して誤差を減らす。",
    "音を聞き分けて話者を当てる。",
    "問題を解決するために設計を変えた。",
]


@pytest.mark.parametrize("text", JAPANESE_COMMON)
def test_common_japanese_words_name_no_technology(enricher, text):
    assert _tech(enricher, text, "ja") == []


ENGLISH_NEIGHBOURS = [
    # (text, concepts that must not be found)
    ("We cluster the samples with unsupervised learning.", {"self-supervised-learning"}),
    ("A language model scores each sentence.", {"large-language-model"}),
    ("We fit a composite model of the two effects.", {"composite-material"}),
    ("The composite score combines three tests.", {"composite-material"}),
    ("Sales showed explosive growth last year.", {"energetic-material"}),
    ("The composite index of the survey rose.", {"composite-material"}),
    ("Semi-supervised learning uses few labels.", {"self-supervised-learning"}),
]


@pytest.mark.parametrize("text,wrong", ENGLISH_NEIGHBOURS)
def test_english_phrase_is_not_its_neighbour(enricher, text, wrong):
    found = {cid for _, cid in _tech(enricher, text, "en")}
    assert not found & wrong, found
    # Plain English queries are matched without spaCy (nlp.plain_english): the same sense checks hold there.
    enricher.pipeline("en")  # saves the plain-English tables
    plain = enricher._plain_concepts(text, "en")
    assert plain is not None and not set(plain) & wrong, plain


POSITIVE_CONTROLS = [
    ("みちびきの信号で測位する。", "ja", "qzss"),
    ("準天頂衛星システムを利用する。", "ja", "qzss"),
    ("教師なし学習で異常を見つける。", "ja", "unsupervised-learning"),
    ("大規模言語モデルで要約する。", "ja", "large-language-model"),
    ("We use a large language model.", "en", "large-language-model"),
    ("Self-supervised learning needs no labels.", "en", "self-supervised-learning"),
    ("Composite materials resist corrosion.", "en", "composite-material"),
    ("The navigation uses QZSS signals.", "en", "qzss"),
    ("Explosives are stored apart from fuel.", "en", "energetic-material"),
    ("Composite panels repaired in the field.", "en", "composite-material"),
    ("A hypersonic vehicle needs thermal protection.", "en", "hypersonics"),
]


@pytest.mark.parametrize("text,language,concept", POSITIVE_CONTROLS)
def test_real_names_still_match(enricher, text, language, concept):
    assert concept in {cid for _, cid in _tech(enricher, text, language)}


# A Japanese press release's header (PR TIMES style) and a research credit: the company, the head office's city,
# the chief executive and the professor are no technology; the metamaterial sheet is.
PRESS_RELEASE = ("株式会社メタウェーブ(本社:神奈川県川崎市、代表取締役:加藤 里奈)は、厚さ0.5mmで電波を吸収する"
                 "メタマテリアルシートを開発しました。東京工業大学の山田太郎教授と共同で開発 株式会社メタウェーブ")


def test_press_release_names_are_no_technology(enricher):
    entities = enricher.analyse_text(PRESS_RELEASE, "ja").entities
    technology = {"METHOD", "MATERIAL", "TASK", "METRIC", "TERM"}
    typed = [(e.text, str(e.label.value)) for e in entities if str(e.label.value) in technology]
    assert ("メタマテリアルシート", "METHOD") in typed or any("メタマテリアル" in t for t, _ in typed)
    for name in ("神奈川県川崎市", "加藤", "山田太郎", "メタウェーブ"):
        assert not any(name in text for text, _ in typed), (name, typed)
    assert any(str(e.label.value) == "ORG" and "メタウェーブ" in e.text for e in entities)
