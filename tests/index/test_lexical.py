from __future__ import annotations

import subprocess
import sys

from nlp.base import SparseEncoder
from nlp.lexical import LexicalEncoder, term_id

enc = LexicalEncoder()


def test_is_a_sparse_encoder():
    assert isinstance(enc, SparseEncoder)


def test_english_terms_are_stemmed_lowercased_without_stop_words():
    assert enc.tokens("The Sensors are sensing the magnetic fields", "en") == ["sensor", "sens", "magnet", "field"]


def test_japanese_terms_are_dictionary_forms_of_content_words():
    toks = enc.tokens("量子センシングを用いた磁気センサーを開発した。", "ja")
    assert "用いる" in toks and "開発" in toks and "量子" in toks
    assert "を" not in toks and "た" not in toks


def test_bm25_document_weights_saturate_and_normalise_length():
    def weight(text: str, term: str) -> float:
        v = enc.encode_document(text, "en")
        return dict(zip(v.indices, v.values))[term_id(term)]

    once, twice, many = (weight(" ".join(["radar"] * n + ["coating"]), "radar") for n in (1, 2, 20))
    assert once < twice < many < enc.k1 + 1  # more occurrences help, with a ceiling
    short = weight("radar coating", "radar")
    long = weight("radar coating " + " ".join(f"word{i}" for i in range(300)), "radar")
    assert long < short


def test_ids_are_stable_across_processes():
    code = "from nlp.lexical import term_id; print(term_id('radar'), term_id('量子'))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={"PYTHONHASHSEED": "123", "PYTHONPATH": "."}).stdout.split()
    assert [int(x) for x in out] == [term_id("radar"), term_id("量子")]


def test_query_vector_and_empty_text():
    q = enc.encode_query("radar radar coating", "en")
    w = dict(zip(q.indices, q.values))
    assert w[term_id("radar")] > w[term_id("coat")] > 0
    assert enc.encode_document("", "en").indices == [] and enc.encode_query("  ", "ja").indices == []
    assert q.indices == sorted(q.indices)


def test_a_japanese_document_and_its_english_rendering_are_length_normalised_apart():
    """An English query scores the rendering of a Japanese document as it would score that rendering alone."""
    japanese = "電波吸収体の設計と評価を行い、広い周波数帯で高い吸収性能を持つ薄型材料を開発した。"
    rendering = "radio wave absorber design evaluation broad frequency band high absorption thin material development"
    both = enc.encode_document(f"{japanese}\n{rendering}", "ja")
    alone = enc.encode_document(rendering, "en")
    weights, english = dict(zip(both.indices, both.values)), dict(zip(alone.indices, alone.values))
    assert weights[term_id("absorb")] == english[term_id("absorb")]
    only_japanese = dict(zip(*(lambda v: (v.indices, v.values))(enc.encode_document(japanese, "ja"))))
    assert weights[term_id("吸収")] == only_japanese[term_id("吸収")]
    # one script: unchanged BM25 (the English documents' vectors do not move)
    text = "radar coating " + " ".join(f"word{i}" for i in range(50))
    norm = enc.k1 * (1 - enc.b + enc.b * len(enc.tokens(text, "en")) / enc.avgdl)
    assert dict(zip(*(lambda v: (v.indices, v.values))(enc.encode_document(text, "en"))))[term_id("radar")] \
        == 1 * (enc.k1 + 1) / (1 + norm)
