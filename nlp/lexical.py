"""BM25-style sparse vectors for Qdrant's lexical channel.

Documents carry saturated, length-normalised term frequencies (the BM25 tf part); Qdrant multiplies in the
IDF at query time (`Modifier.IDF` on the sparse vector config), so the index always uses current corpus
statistics and a document never has to be re-encoded when the corpus grows.

Japanese is tokenised with SudachiPy (dictionary form, content words only); English with spaCy's blank
tokenizer, lower-cased, stop words out, Snowball-stemmed. Term ids are a stable 32-bit hash of the
normalised term (blake2b, not Python's salted `hash()`), so ids agree across processes and machines.
"""

from __future__ import annotations

import hashlib
import math
import re
import threading
import unicodedata
from collections import Counter
from functools import lru_cache
from typing import Any

from nlp.base import SparseVector

_JA_CHARS = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff]")
_HAS_ALNUM = re.compile(r"\w")
# Sudachi parts of speech that carry content; particles, auxiliaries, symbols and blanks are dropped.
_JA_CONTENT_POS = {"名詞", "動詞", "形容詞", "形状詞", "接頭辞", "副詞"}
_JA_DROP_SUBPOS = {"数詞", "非自立可能"}


TITLE_AVGDL = 8.0  # content terms in a typical title


@lru_cache(maxsize=1_000_000)
def term_id(term: str) -> int:
    """Stable 32-bit id of a normalised term."""
    return int.from_bytes(hashlib.blake2b(term.encode("utf-8"), digest_size=4).digest(), "little")


class LexicalEncoder:
    """`SparseEncoder` with BM25 term weighting.

    `k1` and `b` are the usual BM25 parameters; `avgdl` stands in for the corpus' mean document length (in
    content tokens) because a document is encoded before the corpus is known; abstracts and announcements run
    100-300 content tokens.
    """

    def __init__(self, *, k1: float = 1.2, b: float = 0.75, avgdl: float = 120.0, max_terms: int = 4096,
                 plain: Any = None):
        self.k1 = k1
        # `nlp.plain_english.PlainEnglish`: plain English text (a typed query) is tokenized without spaCy
        self.plain = plain
        self.b = b
        self.avgdl = avgdl
        self.max_terms = max_terms
        self._en: Any = None
        self._en_stop: frozenset[str] = frozenset()
        self._stemmer: Any = None
        self._ja: Any = None
        self._ja_mode: Any = None
        self._lock = threading.Lock()

    # -- tokenisation ------------------------------------------------------------------------------------
    def _load_en(self) -> None:
        import snowballstemmer

        import nlp.spacy_light  # noqa: F401  (before spaCy: keeps torch out of a query's process)
        import spacy
        from spacy.lang.en.stop_words import STOP_WORDS

        self._en = spacy.blank("en")
        self._en_stop = frozenset(STOP_WORDS)
        self._stemmer = snowballstemmer.stemmer("english")

    def _load_ja(self) -> None:
        from sudachipy import Dictionary, SplitMode

        self._ja = Dictionary(dict="core").create()
        self._ja_mode = SplitMode.C

    @lru_cache(maxsize=200_000)
    def _stem(self, word: str) -> str:
        return self._stemmer.stemWord(word)

    def _tokens_en(self, text: str) -> list[str]:
        plain = self.plain.tokens(text) if self.plain is not None else None
        if plain is not None:
            from nlp.plain_english import PUNCT

            if self._stemmer is None:
                with self._lock:
                    if self._stemmer is None:
                        import snowballstemmer

                        self._stemmer = snowballstemmer.stemmer("english")
            return self._content_terms(((t, t in PUNCT) for t in plain), self.plain.stop_words)
        if self._en is None:
            with self._lock:
                if self._en is None:
                    self._load_en()
        tokens = ((tok.text, tok.is_punct) for tok in self._en.tokenizer(text) if not tok.is_space)
        return self._content_terms(tokens, self._en_stop)

    def _content_terms(self, tokens, stop_words: frozenset[str]) -> list[str]:
        """(token text, is punctuation) pairs -> lower-cased, stop words out, stemmed terms."""
        out: list[str] = []
        for text, is_punct in tokens:
            if is_punct:
                continue
            word = text.lower().strip("-'.")
            if len(word) < 2 and not word.isdigit():
                continue
            if word in stop_words or not _HAS_ALNUM.search(word):
                continue
            out.append(self._stem(word) if word.isalpha() else word)
        return out

    def _tokens_ja(self, text: str) -> list[str]:
        if self._ja is None:
            with self._lock:
                if self._ja is None:
                    self._load_ja()
        out: list[str] = []
        # Sudachi refuses inputs over ~49 KB; analyse long texts in slices cut at line/sentence ends.
        for chunk in _slices(text, 20_000):
            for m in self._ja.tokenize(chunk, self._ja_mode):
                pos = m.part_of_speech()
                if pos[0] not in _JA_CONTENT_POS or pos[1] in _JA_DROP_SUBPOS:
                    continue
                form = m.dictionary_form()
                if not _HAS_ALNUM.search(form):
                    continue
                if _JA_CHARS.search(form):
                    out.append(form)
                else:  # Latin words inside Japanese text: same normalisation as English
                    out.extend(self._tokens_en(form))
        return out

    def tokens(self, text: str, language: str | None = None) -> list[str]:
        """Normalised content terms of `text`; Japanese when asked or when the text has Japanese script."""
        text = unicodedata.normalize("NFKC", text or "")
        if not text.strip():
            return []
        if language == "ja" or (language != "en" and _JA_CHARS.search(text)):
            return self._tokens_ja(text)
        return self._tokens_en(text)

    # -- vectors -----------------------------------------------------------------------------------------
    def encode_document(self, text: str, language: str) -> SparseVector:
        return self._vector(self._saturated(self.tokens(text, language), self.avgdl))

    def encode_title(self, text: str, language: str) -> SparseVector:
        return self._vector(self._saturated(self.tokens(text, language), TITLE_AVGDL))

    def _saturated(self, terms: list[str], avgdl: float) -> dict[str, float]:
        """BM25 tf saturation with length normalisation per script: a Japanese document indexed with its
        English rendering is two texts of about its length, not one text twice as long, so an English query
        (which can only match the rendering) scores it as it scores an English document of that length."""
        weights: dict[str, float] = {}
        for group in _by_script(terms):
            norm = self.k1 * (1.0 - self.b + self.b * len(group) / avgdl)
            for t, c in Counter(group).items():
                weights[t] = c * (self.k1 + 1.0) / (c + norm)
        return weights

    def encode_query(self, text: str, language: str) -> SparseVector:
        # A need runs to 1,000+ words: a term repeated across it matters more, but sub-linearly.
        counts = Counter(self.tokens(text, language))
        return self._vector({t: 1.0 + math.log(c) for t, c in counts.items()})

    def _vector(self, weights: dict[str, float]) -> SparseVector:
        merged: dict[int, float] = {}
        for term, w in weights.items():
            tid = term_id(term)
            merged[tid] = merged.get(tid, 0.0) + w  # a 32-bit collision merges two rare terms; harmless
        items = sorted(merged.items(), key=lambda kv: -kv[1])[: self.max_terms]
        items.sort()
        return SparseVector(indices=[i for i, _ in items], values=[float(v) for _, v in items])


def _by_script(terms: list[str]) -> list[list[str]]:
    """Terms split into Japanese-script terms and the rest (one group when a text has one script)."""
    ja = [t for t in terms if _JA_CHARS.search(t)]
    if not ja or len(ja) == len(terms):
        return [terms] if terms else []
    return [ja, [t for t in terms if not _JA_CHARS.search(t)]]


def _slices(text: str, size: int) -> list[str]:
    if len(text) <= size:
        return [text]
    out, start = [], 0
    while start < len(text):
        end = min(len(text), start + size)
        if end < len(text):
            cut = max(text.rfind("\n", start, end), text.rfind("。", start, end))
            if cut > start:
                end = cut + 1
        out.append(text[start:end])
        start = end
    return out
