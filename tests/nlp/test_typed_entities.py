"""Typed technology entities from the trained tagger (issue 26): what an analyst reads as a term is a whole
term at the right offsets, of a technology type only when it is one; plain words are GENERIC; ORG stays ORG."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from domain.models import TECHNOLOGY_ENTITY_TYPES
from domain.settings import NlpSettings
from nlp.entity_tagger import MODELS_DIR, decode, features_version_path, model_path
from nlp.pipeline import Enricher

ROOT = Path(__file__).resolve().parents[2]


def test_bio_decoding():
    assert decode(["B-METHOD", "I-METHOD", "O", "B-TASK", "B-TASK", "I-MATERIAL"]) == [
        (0, 2, "METHOD"), (3, 4, "TASK"), (4, 5, "TASK"), (5, 6, "MATERIAL")]
    assert decode(["I-TERM", "I-TERM"]) == [(0, 2, "TERM")]
    assert decode([]) == []


def test_bilou_decoding():
    assert decode(["U-TERM", "B-TERM", "I-TERM", "L-TERM", "I-TERM", "O", "L-TERM", "U-TERM", "U-TERM"]) == [
        (0, 1, "TERM"), (1, 4, "TERM"), (4, 5, "TERM"), (6, 7, "TERM"), (7, 8, "TERM"), (8, 9, "TERM")]


@pytest.fixture(scope="module")
def enricher(tmp_path_factory) -> Enricher:
    # An empty models folder: only the shipped models count.
    return Enricher(NlpSettings(cache=False, onnx_dir=tmp_path_factory.mktemp("models")))


JA = ("近年、株式会社日立製作所はLVQ ニューラルネットワークを用いた画像認識手法を提案し、"
      "炭素繊維強化プラスチックの劣化を評価した。")


@pytest.mark.skipif(not (MODELS_DIR / "ja.crfsuite").exists(), reason="the Japanese tagger model is not installed")
def test_japanese_terms_are_typed_whole_and_plain_words_are_generic(enricher):
    found = enricher.analyse_text(JA, "ja").entities
    for e in found:
        assert JA[e.start:e.end] == e.text
    by_text = {e.text: str(e.label) for e in found if str(e.label) != "TECH"}
    assert by_text.get("近年") == "GENERIC"
    assert by_text.get("評価", "GENERIC") == "GENERIC"
    assert by_text.get("LVQ ニューラルネットワーク") in TECHNOLOGY_ENTITY_TYPES  # not cut after LVQ
    assert by_text.get("炭素繊維強化プラスチック") == "MATERIAL"
    # The taxonomy concept rides on the typed term that holds it.
    cfrp = [e for e in found if e.text == "炭素繊維強化プラスチック" and str(e.label) == "MATERIAL"]
    assert cfrp and cfrp[0].concept_id == "cfrp"
    # An organization's name is never a technology term.
    org = [e for e in found if str(e.label) == "ORG"]
    assert org and not any(str(e.label) in TECHNOLOGY_ENTITY_TYPES and e.start >= org[0].start
                           and e.end <= org[0].end for e in found)


def test_plain_japanese_words_are_never_technology(enricher):
    text = "近年、評価の方法が大きく変わった。結果を検討し、有効性を確認した。"
    for e in enricher.analyse_text(text, "ja").entities:
        assert str(e.label) not in TECHNOLOGY_ENTITY_TYPES or e.text not in ("近年", "評価", "結果", "方法", "有効性"), e


def test_without_a_model_the_rule_keyphrases_stand_in(enricher, tmp_path):
    off = Enricher(NlpSettings(cache=False, typed_entities=False, onnx_dir=tmp_path))
    labels = {str(e.label) for e in off.analyse_text("We train deep convolutional networks on satellite imagery.",
                                                     "en").entities}
    assert labels <= {"TECH", "KEYPHRASE", "ORG"} and "KEYPHRASE" in labels


def test_a_locally_trained_model_is_found_and_used(real_embedder, tmp_path):
    """The models folder's entities/ holds a model trained here (scripts/train_entities.py does the same)."""
    from tests.nlp.test_context_features import _train_context_model

    path = _train_context_model(tmp_path / "entities", real_embedder)
    assert model_path("en", tmp_path) == path
    local = Enricher(NlpSettings(cache=False, onnx_dir=tmp_path), embedder=real_embedder)
    found = {(e.text, str(e.label)) for e in local.analyse_text("Graphene oxide membranes and beam search decoding.",
                                                                "en").entities}
    assert ("Graphene oxide membranes", "MATERIAL") in found
    assert ("beam search decoding", "METHOD") in found

    # A model of an older feature set would tag with features it never saw: passed over (the rules stand in).
    features_version_path(path).write_text("1\n", encoding="utf-8")
    assert model_path("en", tmp_path) is None
    old = Enricher(NlpSettings(cache=False, onnx_dir=tmp_path), embedder=real_embedder)
    labels = {str(e.label) for e in old.analyse_text("Graphene oxide membranes and beam search decoding.",
                                                     "en").entities}
    assert labels <= {"TECH", "KEYPHRASE", "ORG"}


def test_the_training_script_makes_models_the_enricher_picks_up(real_embedder, tmp_path):
    """`scripts/train_entities.py --lang en` (the one command) writes the typed and the BILOU boundary model
    with their feature set and the head on the encoder's word states into the models folder, where the
    enricher finds them; from a tiny gold folder."""
    import subprocess
    import sys

    gold = tmp_path / "gold"
    (gold / "scierc").mkdir(parents=True)
    rows = [{"doc_key": f"d{i}", "sentences": [["We", "study", "graphene", "oxide", "membranes", "with", "beam",
                                                 "search", "decoding", "."]],
             "ner": [[[2, 4, "Material"], [6, 8, "Method"]]]} for i in range(6)]
    for split in ("train", "dev"):
        (gold / "scierc" / f"{split}.json").write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
    models = tmp_path / "models"
    done = subprocess.run([sys.executable, "scripts/train_entities.py", "--lang", "en", "--en-sets", "SciERC",
                           "--gold", str(gold), "--out", str(models / "entities"), "--iterations", "30"],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    spans = models / "entities" / "en-spans.crfsuite"
    assert {"B-TERM", "L-TERM"} <= set(_labels(spans))  # BILOU tags
    assert model_path("en", models) == models / "entities" / "en.crfsuite"
    assert (models / "entities" / "en.head.npz").exists() and not (models / "entities" / "en.context.npz").exists()
    assert {features_version_path(models / "entities" / name).read_text().strip()
            for name in ("en.crfsuite", "en-spans.crfsuite")} == {"5"}
    local = Enricher(NlpSettings(cache=False, onnx_dir=models), embedder=real_embedder)
    found = {(e.text, str(e.label)) for e in local.analyse_text("We study graphene oxide membranes with beam "
                                                                "search decoding .", "en").entities}
    assert ("graphene oxide membranes", "MATERIAL") in found and ("beam search decoding", "METHOD") in found


def test_english_models_are_fitted_on_train_and_dev_unless_a_dev_report_is_asked_for(tmp_path):
    """The settings chosen, the one command refits the English models on all non-test data (train + dev); with
    --dev-report they learn from train alone, and only then are dev figures printed (not scored in-sample)."""
    import subprocess
    import sys

    gold = tmp_path / "gold"
    (gold / "scierc").mkdir(parents=True)
    row = {"sentences": [["We", "study", "graphene", "oxide", "membranes", "."]], "ner": [[[2, 4, "Material"]]]}
    for split, n in (("train", 6), ("dev", 3)):
        (gold / "scierc" / f"{split}.json").write_text(
            "\n".join(json.dumps({**row, "doc_key": f"{split}{i}"}) for i in range(n)), encoding="utf-8")
    tokens = {}
    for flag in ([], ["--dev-report"]):
        done = subprocess.run([sys.executable, "scripts/train_entities.py", "--lang", "en", "--en-sets", "SciERC",
                               "--gold", str(gold), "--out", str(tmp_path / f"out{len(flag)}"), "--iterations", "10",
                               "--only", "spans", "--contextual", "none", *flag],
                              cwd=ROOT, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stderr[-2000:]
        tokens[bool(flag)] = int(done.stdout.split("trained on ", 1)[1].split()[0])
        assert ("dev exact span P/R/F1" in done.stdout) == bool(flag), done.stdout
    assert tokens == {True: 6 * 6, False: 9 * 6}


def test_a_parenthesised_acronym_splits_an_english_term_into_the_term_and_the_acronym():
    """"digital signal processor (DSP) implementation" -> "digital signal processor" and "DSP"; a parenthesis
    that holds no acronym (a lower-case word, several words, a number alone) leaves the term whole."""
    import spacy

    from nlp.entity_tagger import split_acronym

    en = spacy.blank("en")

    def parts(text):
        doc = en.make_doc(text)
        return [doc[a:b].text for a, b in split_acronym(doc, 0, len(doc))]

    assert parts("digital signal processor (DSP) implementation") == ["digital signal processor", "DSP"]
    assert parts("Complex Langevin (CL)") == ["Complex Langevin", "CL"]
    assert parts("(CL) dynamics") == ["CL"]
    assert parts("carbon nanotubes (CNTs)") == ["carbon nanotubes", "CNTs"]
    assert parts("MoS2 (n-type) layers") == ["MoS2 (n-type) layers"]
    assert parts("log (d) overheads") == ["log (d) overheads"]
    assert parts("pressure (in bar) sensors") == ["pressure (in bar) sensors"]
    assert parts("2 (3) 4") == ["2 (3) 4"]
    assert parts("graphene oxide membranes") == ["graphene oxide membranes"]
    doc = en.make_doc("We use digital signal processor (DSP) implementation here.")
    assert split_acronym(doc, 2, 8) == [(2, 5), (6, 7)]  # token offsets inside the doc


def _labels(path):
    import pycrfsuite

    tagger = pycrfsuite.Tagger()
    tagger.open(str(path))
    return tagger.labels()


def test_english_features_are_the_same_with_the_word_caches_cold_or_warm():
    import spacy

    from nlp import entity_tagger

    doc = spacy.blank("en").make_doc("Graphene oxide membranes filter water; graphene-based filters scale.")
    entity_tagger._CLUSTER_CACHE.clear()
    entity_tagger._english_word.cache_clear()
    entity_tagger.word_class.cache_clear()
    cold = entity_tagger.english_features(doc)
    warm = entity_tagger.english_features(doc)
    assert cold == warm and cold[0][:2] == ["b", "w=graphene"]
    assert any(f.startswith("ctx=") for f in cold[1]) and "3w=filter" in cold[0]


def test_english_words_carry_their_parts_of_speech_from_the_lexicon():
    """A term rarely starts with a verb form, and ends where its nouns end: the tagger sees each word's possible
    parts of speech (LemmInflect's lexicon), a word the lexicon does not know (often a term) as X."""
    import spacy

    from nlp.entity_tagger import english_features, word_class

    assert word_class("combining") == ("VERB", "VBG")
    assert word_class("Removes") == ("VERB", "VBZ")
    assert word_class("exhibits")[0] == "NOUN|VERB"
    assert word_class("graphene") == ("X", "")
    assert word_class("the") == ("S", "") and word_class("2.5") == ("N", "")
    feats = english_features(spacy.blank("en").make_doc("Combining graphene membranes"))
    assert "a=VERB" in feats[0] and "pt=VBG" in feats[0] and "1a=X" in feats[0]
    assert "a=X" in feats[1] and "-1pt=VBG" in feats[1] and "a2+=X|NOUN" in feats[1]


def test_the_training_script_cross_validates_without_writing_a_model(tmp_path):
    """`--cv K` scores the boundary model fold by fold on a set's train split (a steadier guide than dev) and
    writes no model; a fold whose terms it learned from the other folds scores above zero."""
    import subprocess
    import sys

    gold = tmp_path / "gold"
    (gold / "scierc").mkdir(parents=True)
    rows = [{"doc_key": f"d{i}", "sentences": [["We", "study", "graphene", "oxide", "membranes", "with", "beam",
                                                 "search", "decoding", "."]],
             "ner": [[[2, 4, "Material"], [6, 8, "Method"]]]} for i in range(6)]
    (gold / "scierc" / "train.json").write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
    out = tmp_path / "out"
    done = subprocess.run([sys.executable, "scripts/train_entities.py", "--cv", "2", "--cv-set", "SciERC",
                           "--en-sets", "SciERC", "--gold", str(gold), "--out", str(out), "--iterations", "30"],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    folds = [line for line in done.stdout.splitlines() if line.strip().startswith("fold ")]
    assert len(folds) == 2 and all(float(line.rsplit(" ", 1)[1]) > 0.5 for line in folds), done.stdout
    assert "2-fold exact span F1" in done.stdout
    assert not out.exists() or not any(out.rglob("*.crfsuite"))


@pytest.mark.parametrize("phrase", ["反射損失10dB以上", "1GHz程度", "3倍", "吸収性能", "耐熱性", "検出精度",
                                    "Development of a Lightweight Radar Absorbing Material"])
def test_measures_qualities_and_english_titles_in_japanese_text_are_not_technologies(enricher, phrase):
    """What a technology achieves (反射損失10dB以上, 吸収性能) and a Japanese document's English title are what
    the tagger may mark as terms, but never as a technology an analyst would facet on."""
    from nlp.entity_tagger import japanese_type

    doc = enricher.pipeline("ja")(phrase)
    assert japanese_type(doc, 0, len(doc)) == "GENERIC"


@pytest.mark.parametrize("phrase", ["電波吸収体", "炭素繊維強化プラスチック", "5G通信", "4Kカメラ", "3Dプリンタ",
                                    "Internet of Things"])
def test_technologies_with_numbers_or_latin_words_keep_a_technology_type(enricher, phrase):
    from nlp.entity_tagger import japanese_type

    doc = enricher.pipeline("ja")(phrase)
    assert japanese_type(doc, 0, len(doc)) in TECHNOLOGY_ENTITY_TYPES


@pytest.mark.skipif(not (MODELS_DIR / "ja.crfsuite").exists(), reason="the Japanese tagger model is not installed")
def test_japanese_technology_terms_never_carry_particles_punctuation_or_list_suffixes(enricher):
    """The need page's "shared terms" read レーダなど (radar etc.), 窒化ガリウム等 and 制御。: a technology term
    is the thing itself, without "etc.", a plural suffix, a particle or punctuation at its edges."""
    text = ("赤外線カメラ、可視光カメラ、レーダなど性質の異なるセンサを統合する。深層学習などの手法を用いて、"
            "窒化ガリウム等の材料を評価した。ドローンらの制御。「量子センサ」を用いた。極めて高い精度を得た。")
    terms = [e for e in enricher.analyse_text(text, "ja").entities if e.label.value in TECHNOLOGY_ENTITY_TYPES]
    shown = {e.text for e in terms}
    assert {"レーダ", "深層学習", "窒化ガリウム", "量子センサ"} <= shown, shown
    for e in terms:
        assert text[e.start:e.end] == e.text
        assert not e.text.endswith(("など", "等", "ら", "。", "」", "、", "を", "の")), e.text
        assert not e.text.startswith(("「", "、", "極めて")), e.text
        assert e.text != "極めて"


def test_japanese_term_bounds_keep_brackets_that_pair_inside(enricher):
    from nlp.entity_tagger import japanese_term_bounds

    for phrase, core in (("「深層学習」を", "深層学習"), ("レーダなど", "レーダ"), ("ナトリウム（Na）", "ナトリウム（Na）"),
                         ("制御。", "制御"), ("など", ""), ("樹脂フィルム上に", "樹脂フィルム"),
                         ("インターネット上", "インターネット"), ("システム内", "システム"), ("性能向上", "性能向上"),
                         ("極めて", ""), ("さらに高速", "高速"), ("この手法", "手法")):
        doc = enricher.pipeline("ja")(phrase)
        start, end = japanese_term_bounds(doc, 0, len(doc))
        assert doc[start:end].text == core, phrase
