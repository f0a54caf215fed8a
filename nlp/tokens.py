"""Content-word tokens with their character offsets, for highlighting and evidence choice.

Japanese is cut by SudachiPy (mode C, dictionary forms, content parts of speech), so that "センサ" marks the
word センサ and not the "セン" inside センター; English words are lower-cased and lightly stemmed.
"""

from __future__ import annotations

import re
import threading
from functools import lru_cache
from typing import NamedTuple

_JA_SCRIPT = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff\uff66-\uff9f]")
_JA_RUN = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff\uff66-\uff9f\u30fc0-9A-Za-z\uff10-\uff5a]+")
_WORD = re.compile(r"[A-Za-z0-9]+(?:[-'][A-Za-z0-9]+)*")
_JA_CONTENT_POS = {"名詞", "形状詞"}  # nouns carry the subject; verbs such as 用いる light up everywhere
_JA_DROP_SUBPOS = {"数詞", "非自立可能", "代名詞"}
_EN_STOP = frozenset(
    "the and for with from that this are was were has have had not but its our their which when where who into onto "
    "than then them they can could should would will may must also such use used using per via any all".split()
)
# Words that say nothing about a technology: they break keyphrases (nlp/components.py) and are never marked as a
# word a need and a document share ("system", "method", "data" stand in every abstract and every topic).
EN_GENERIC = frozenset(
    "novel new approach approaches method methods paper work results result study studies problem problems "
    "proposed propose show shows based using use used phase program effort efforts technology technologies "
    "system systems data performance well also however first second various different significant high low "
    "able ability development develop developed design designs goal objective objectives need needs "
    "important major huge negative positive proven existing valuable additional recent traditional current "
    "main key several many various numerous careful good better best large small great certain".split()
)
# The Japanese nouns of the same kind, in Sudachi's dictionary forms (system, method, data, technology,
# information, research, development, result, problem, performance, design, purpose, need, ability, proposal).
JA_GENERIC = frozenset(
    "システム 体系 手法 方法 方式 手段 データ 情報 技術 研究 開発 結果 成果 問題 課題 性能 設計 目的 必要 ニーズ "
    "能力 機能 提案 実現 利用 活用 対応 向上 実施 構築 可能 重要 従来 既存 新規 様々 今回 本研究 研究開発 アプローチ "
    "ため こと もの よう".split()
)
# Words of a query that name the kind of work it asks for, not its subject ("radar research", 水中音響通信の研究):
# a document holding them holds nothing of what was asked (index/ranking/ranker.py `word_cover`). Fewer than
# the generic words above: "small", "high", "data" or 性能 can be part of a subject ("small satellite"). The
# English list holds the English renderings of the Japanese one (研究 -> "study", 方式 -> "system"): a Japanese
# query's rendering spells them again (tests/nlp/test_pipeline.py keeps the two in step).
QUERY_FILLER_EN = frozenset(
    "research researches study studies development developments technology technologies technique techniques "
    "method methods approach approaches system systems novel new proposed".split()
)
QUERY_FILLER_JA = frozenset("研究 開発 研究開発 本研究 技術 手法 方法 方式 システム アプローチ 提案 新規".split())
_lock = threading.Lock()


class Token(NamedTuple):
    start: int
    end: int
    term: str  # the normalised form that is compared


@lru_cache(maxsize=1)
def _sudachi():
    from sudachipy import Dictionary, SplitMode

    return Dictionary(dict="core").create(), SplitMode.C


def english_plural(word: str) -> str:
    """The regular English plural of a singular noun: "battery" -> "batteries", "switch" -> "switches",
    "lens" -> "lenses", "sensor" -> "sensors". One rule for the taxonomy matcher's label variants
    (nlp/components.py) and the translator's word counts (nlp/translate.py)."""
    if word.endswith("y") and len(word) > 1 and word[-2] not in "aeiou":
        return word[:-1] + "ies"
    return word + ("es" if word.endswith(("s", "x", "ch", "sh")) else "s")


def _stem(word: str) -> str:
    word = word.lower()
    return word[:-1] if len(word) > 4 and word.endswith("s") and not word.endswith("ss") else word


def english_tokens(text: str) -> list[Token]:
    out = []
    for m in _WORD.finditer(text):
        term = _stem(m.group())
        if len(term) >= 3 and term not in _EN_STOP:
            out.append(Token(m.start(), m.end(), term))
    return out


def japanese_tokens(text: str) -> list[Token]:
    """Content words of the Japanese runs of `text` (Latin words between them are left to `english_tokens`)."""
    out: list[Token] = []
    for run in _JA_RUN.finditer(text):
        chunk = run.group()
        if not _JA_SCRIPT.search(chunk) or len(chunk.encode()) > 40_000:
            continue
        tokenizer, mode = _sudachi()
        with _lock:  # a Sudachi tokenizer is not thread-safe
            morphemes = [(m.begin(), m.end(), m.part_of_speech(), m.dictionary_form())
                         for m in tokenizer.tokenize(chunk, mode)]
        for begin, end, pos, form in morphemes:
            surface = chunk[begin:end]
            if pos[0] not in _JA_CONTENT_POS or pos[1] in _JA_DROP_SUBPOS or not _JA_SCRIPT.search(surface):
                continue
            if len(surface) == 1 and pos[0] != "名詞":
                continue  # one-kana verb stems (する, ある) say nothing
            out.append(Token(run.start() + begin, run.start() + end, form))
    return out


def content_tokens(text: str) -> list[Token]:
    text = text or ""
    tokens = english_tokens(text)
    if _JA_SCRIPT.search(text):
        tokens += japanese_tokens(text)
    return sorted(tokens)


def content_terms(*texts: str | None, generic: bool = True) -> set[str]:
    """The terms of `texts`; with generic=False, less the words that say nothing about a technology."""
    terms = {t.term for text in texts for t in content_tokens(text or "")}
    return terms if generic else terms - GENERIC_TERMS


GENERIC_TERMS = frozenset({_stem(w) for w in EN_GENERIC} | JA_GENERIC)  # as content_tokens normalise them
