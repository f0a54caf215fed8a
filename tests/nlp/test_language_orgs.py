"""Language detection and organization normalization / recognition."""

from __future__ import annotations

import pytest

from nlp.language import detect_language
from domain.orgs import normalize_org


@pytest.mark.parametrize(
    "text, expected",
    [
        ("量子センシングを用いた高感度な磁場計測を実証した。", "ja"),
        ("本研究ではGNSS非依存の航法システムとLiDARを用いたSLAMを開発する。", "ja"),  # half Latin
        ("Quantum sensing for navigation in GPS-denied environments", "en"),
        ("The Army needs a lightweight composite structure that survives impact and keeps its strength.", "en"),
        ("Die Quantensensorik ist ein Forschungsgebiet der Physik und wird in der Industrie eingesetzt.", "other"),
        ("量子传感技术的发展与应用研究", "other"),  # Chinese: kanji without kana, simplified forms
        ("航空機搭乗員の受動的衝撃保護", "ja"),  # a Japanese title with one kana
        ("赤外線小目標検出", "ja"),  # or none
        ("熱電発電機向け最適化熱管理技術", "ja"),
        ("基于深度学习的红外小目标检测", "other"),
        ("量子計測技術の高感度化", "ja"),
        ("量子計測技術" * 20, "other"),  # a long text without kana is not Japanese prose
        ("Ku帯 SAR", "en"),
        ("Квантовые сенсоры для навигации", "other"),
        ("", "other"),
        ("12345 67 -- !!", "other"),
    ],
)
def test_detect_language(text, expected):
    assert detect_language(text) == expected


@pytest.mark.parametrize(
    "variants",
    [
        ["株式会社アクセルスペース", "アクセルスペース株式会社", "(株)アクセルスペース", "（株）アクセルスペース", "㈱アクセルスペース"],
        ["Axelspace Inc.", "AXELSPACE, INC.", "Axelspace, Inc", "axelspace inc"],
        ["三菱重工業株式会社", "三菱重工業(株)", "三菱重工業"],
        ["Mitsubishi Heavy Industries, Ltd.", "MITSUBISHI HEAVY INDUSTRIES LTD", "Mitsubishi Heavy Industries"],
        ["ispace, inc.", "ispace Inc.", "株式会社ispace", "ｉｓｐａｃｅ"],
        ["国立研究開発法人産業技術総合研究所", "産業技術総合研究所"],
        ["Physical Sciences Inc.", "PHYSICAL SCIENCES, INC.", "Physical Sciences Incorporated"],
        ["Sony Group Corporation", "Sony Group Corp.", "SONY GROUP CORP"],
        ["Foo Robotics Co., Ltd.", "FOO ROBOTICS CO LTD", "Foo Robotics"],
        ["Anduril Industries, LLC", "Anduril Industries LLC"],
    ],
)
def test_one_key_per_organization(variants):
    keys = {normalize_org(v) for v in variants}
    assert len(keys) == 1, keys
    assert next(iter(keys))


def test_different_organizations_keep_different_keys():
    names = ["アクセルスペース", "Axelspace Inc.", "Synspective Inc.", "東京大学", "京都大学", "ADA Technologies Inc."]
    assert len({normalize_org(n) for n in names}) == len(names)


def test_english_org_recognizer():
    from nlp.components import get_pipeline

    nlp = get_pipeline("en")
    doc = nlp(
        "Axelspace Inc. and the University of Tokyo work with MIT Lincoln Laboratory. "
        "In 2018 Physical Sciences Inc. licensed it to Foo Robotics Co., Ltd. and the Institute for Defense Analyses."
    )
    keys = {s.kb_id_ for s in doc.spans["orgs"]}
    assert {"axelspace", "universityoftokyo", "mitlincolnlaboratory", "physicalsciences", "foorobotics"} <= keys
    assert "institutefordefenseanalyses" in keys
    assert not any(s.text.startswith("In ") for s in doc.spans["orgs"])


@pytest.mark.slow
def test_japanese_org_recognizer():
    from nlp.components import get_pipeline

    nlp = get_pipeline("ja")
    doc = nlp("株式会社アクセルスペースと東京大学、三菱重工業株式会社、国立研究開発法人産業技術総合研究所が(株)ispaceと連携する。")
    keys = {s.kb_id_ for s in doc.spans["orgs"]}
    assert {"アクセルスペース", "東京大学", "三菱重工業", "産業技術総合研究所", "ispace"} <= keys
