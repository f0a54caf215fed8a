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
_lock = threading.Lock()


class Token(NamedTuple):
    start: int
    end: int
    term: str  # the normalised form that is compared


@lru_cache(maxsize=1)
def _sudachi():
    from sudachipy import Dictionary, SplitMode

    return Dictionary(dict="core").create(), SplitMode.C


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


def content_terms(*texts: str | None) -> set[str]:
    return {t.term for text in texts for t in content_tokens(text or "")}
