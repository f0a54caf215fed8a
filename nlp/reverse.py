"""English -> Japanese query terms: so an English need's lexical channel also meets a Japanese document's
own words, not only the dictionary rendering of them (cross-language query translation).

A Japanese document is indexed with its Japanese terms and with an English rendering that picks one gloss
per term; when the English need says "curing" and the rendering chose "hardening" for 硬化, only the Japanese
side can still match. The need's English words and phrases (up to three words, longest first) are looked up
in reverse: the taxonomy's English labels give their Japanese labels; JMdict gives the headwords of the
entries whose *first* sense has that exact gloss (a word's main meaning, not a figurative use), those
whose main reading it is first, then common (priority-tagged) ones, at most MAX_PER_TERM of them. The terms are noisier than the
need's own words, so the caller weighs them below those (`NlpSettings.reverse_weight`).
"""

from __future__ import annotations

import re
import sqlite3
import threading
import unicodedata
from functools import lru_cache

from nlp import katakana
from nlp.taxonomy import Taxonomy

MAX_PER_TERM = 2  # Japanese headwords kept per English word or phrase
MAX_WORDS = 3  # longest English phrase looked up
_WORD = re.compile(r"[A-Za-z][A-Za-z\-]*[A-Za-z]|[A-Za-z]")
# Words whose Japanese equivalents say nothing about a technology (and would match every Japanese text).
_STOP = frozenset(
    "a an the of to in on for with by and or as at from into via over under using use used based new novel "
    "this that these those it its is are be been being was were will can may should must not no than such "
    "which who whom whose what when where how all any each both more most other some very also".split()
)


class ReverseGlossary:
    """English text -> Japanese terms (taxonomy labels, then JMdict first-sense headwords); thread-safe."""

    def __init__(self, taxonomy: Taxonomy, use_jmdict: bool = True) -> None:
        self.labels: dict[str, list[str]] = {}
        for concept in taxonomy.concepts:
            for label in concept.labels_en():
                japanese = [j for j in (concept.ja, *concept.synonyms_ja) if not _latin(j)]  # as below
                if japanese:
                    self.labels.setdefault(label.lower(), japanese[:MAX_PER_TERM])
        self._path = katakana.jmdict_path() if use_jmdict else None  # the one place JMdict is found
        self._local = threading.local()  # one SQLite connection per thread

    def _conn(self) -> sqlite3.Connection | None:
        if self._path is None:
            return None
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(f"file:{self._path}?mode=ro", uri=True, check_same_thread=False)
            self._local.conn = conn
        return conn

    def terms(self, text: str) -> list[str]:
        """Japanese equivalents of the words and phrases of English `text`, in text order (repeats kept:
        a need that says "radar" ten times weighs 16 -> レーダー as it weighs "radar")."""
        return [term for _, found in self.phrases(text) for term in found]

    def phrases(self, text: str) -> list[tuple[str, list[str]]]:
        """`terms` by the English word or phrase each translates, in text order: ("radar", ["レーダー",
        "レーダ"]) says the two are one word of the query spelled two ways, not two words."""
        words = [w.lower() for w in _WORD.findall(text or "")]
        out: list[tuple[str, list[str]]] = []
        i = 0
        while i < len(words):
            step = 1
            for n in range(min(MAX_WORDS, len(words) - i), 0, -1):
                phrase = " ".join(words[i:i + n])
                if n == 1 and (phrase in _STOP or len(phrase) < 3):
                    break
                found = self.lookup(phrase)
                if found:
                    out.append((phrase, list(found)))
                    step = n
                    break
            i += step
        return out

    def lookup(self, phrase: str) -> list[str]:
        """Japanese for one lower-case English word or phrase ([] when neither source knows it)."""
        if phrase in self.labels:
            return self.labels[phrase]
        found = self._jmdict(phrase)
        if not found and " " not in phrase:
            for singular in _singulars(phrase):
                found = self.labels.get(singular) or self._jmdict(singular)
                if found:
                    break
        return found

    def _jmdict(self, phrase: str) -> list[str]:
        conn = self._conn()
        return list(_jmdict_headwords(conn, phrase)) if conn is not None else []


def _singulars(word: str) -> list[str]:
    if len(word) < 4 or not word.endswith("s") or word.endswith("ss"):
        return []
    out = [word[:-1]]
    if word.endswith("ies"):
        out.insert(0, word[:-3] + "y")
    elif word.endswith("es"):
        out.append(word[:-2])
    return out


_QUERY = """
SELECT s.idseq, g.rowid, g.text, (SELECT min(rowid) FROM SenseGloss WHERE sid = s.ID) FROM SenseGloss g
JOIN Sense s ON s.ID = g.sid
WHERE (g.text = ? OR (g.text >= ? AND g.text < ?)) AND s.ID = (SELECT min(ID) FROM Sense WHERE idseq = s.idseq)
"""
_HEAD_KANJI = "SELECT k.text, (SELECT count(*) FROM KJP WHERE kid = k.ID) FROM Kanji k WHERE k.idseq = ? ORDER BY k.ID LIMIT 1"
_HEAD_KANA = "SELECT k.text, (SELECT count(*) FROM KNP WHERE kid = k.ID) FROM Kana k WHERE k.idseq = ? ORDER BY k.ID LIMIT 1"
_PAREN = re.compile(r"\s*\([^)]*\)")
_LATIN = re.compile(r"[A-Za-z0-9]")


def _latin(word: str) -> bool:
    return bool(_LATIN.search(unicodedata.normalize("NFKC", word)))


@lru_cache(maxsize=100_000)
def _jmdict_headwords(conn: sqlite3.Connection, phrase: str) -> tuple[str, ...]:
    """Headwords of the entries whose first sense glosses `phrase` exactly (a parenthesised note aside), at
    most MAX_PER_TERM, best first: those whose main reading it is (the sense's first gloss: 検出 ->
    detection), then common (priority-tagged) ones, then those that gloss it earlier in the sense. A one-kanji
    headword counts only as its main reading: alone it is mostly a piece of longer words (医, 間)."""
    rows = conn.execute(_QUERY, (phrase, phrase + " (", phrase + " )")).fetchall()
    found: dict[int, tuple[int, int, int, str]] = {}
    for idseq, gloss_row, gloss, first_row in rows:
        if _PAREN.sub("", gloss).strip().lower() != phrase or idseq in found:
            continue
        head = conn.execute(_HEAD_KANJI, (idseq,)).fetchone() or conn.execute(_HEAD_KANA, (idseq,)).fetchone()
        if not head:
            continue
        word, common = head
        if _latin(word):
            continue  # ＧＰＳ, Ｘ線: their Latin part would add English terms to an English query
        main = gloss_row == first_row
        if len(word) == 1 and not main:
            continue
        found[idseq] = (0 if main else 1, 0 if common else 1, gloss_row - first_row, word)
    return tuple(dict.fromkeys(h for *_, h in sorted(found.values())))[:MAX_PER_TERM]
