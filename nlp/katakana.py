"""Katakana loanwords back to the English words technical text uses (コンフォーマル -> conformal).

A katakana word that no dictionary knows is usually an English word written by sound. Both spellings are
reduced to a consonant skeleton on which they agree (vowels dropped, l/r, b/v, s/z merged, English
silent or non-rhotic letters removed: "bolometer" and ボロメータ both become `brmt`), and the skeleton is
looked up among the words of the English term-frequency list (nlp/en_term_freq.txt) and of JMdict's English
glosses; the closest spelling wins, the more frequent one on a tie. Only words of four katakana or more with a skeleton of three consonants or more are matched: short
skeletons are ambiguous.
"""

from __future__ import annotations

import re
import unicodedata
from difflib import SequenceMatcher
from functools import lru_cache
from pathlib import Path

FREQ_PATH = Path(__file__).with_name("en_term_freq.txt")
KATAKANA = re.compile(r"^[\u30a0-\u30ffー・]+$")

# two-character sounds first, then single kana (Hepburn, with the loanword extensions)
_DIGRAPHS = {
    "ファ": "fa", "フィ": "fi", "フェ": "fe", "フォ": "fo", "フュ": "fyu", "ティ": "ti", "ディ": "di", "トゥ": "tu",
    "ドゥ": "du", "ウィ": "wi", "ウェ": "we", "ウォ": "wo", "ヴァ": "va", "ヴィ": "vi", "ヴェ": "ve", "ヴォ": "vo",
    "シェ": "she", "ジェ": "je", "チェ": "che", "ツァ": "tsa", "ツィ": "tsi", "ツェ": "tse", "ツォ": "tso",
    "キャ": "kya", "キュ": "kyu", "キョ": "kyo", "シャ": "sha", "シュ": "shu", "ショ": "sho", "チャ": "cha",
    "チュ": "chu", "チョ": "cho", "ニャ": "nya", "ニュ": "nyu", "ニョ": "nyo", "ヒャ": "hya", "ヒュ": "hyu",
    "ヒョ": "hyo", "ミャ": "mya", "ミュ": "myu", "ミョ": "myo", "リャ": "rya", "リュ": "ryu", "リョ": "ryo",
    "ギャ": "gya", "ギュ": "gyu", "ギョ": "gyo", "ジャ": "ja", "ジュ": "ju", "ジョ": "jo", "ビャ": "bya",
    "ビュ": "byu", "ビョ": "byo", "ピャ": "pya", "ピュ": "pyu", "ピョ": "pyo", "デュ": "dyu", "テュ": "tyu",
}
_KANA = dict(zip(
    "アイウエオカキクケコサシスセソタチツテトナニヌネノハヒフヘホマミムメモヤユヨラリルレロワヲン"
    "ガギグゲゴザジズゼゾダヂヅデドバビブベボパピプペポヴァィゥェォャュョ",
    "a i u e o ka ki ku ke ko sa shi su se so ta chi tsu te to na ni nu ne no ha hi fu he ho ma mi mu me mo "
    "ya yu yo ra ri ru re ro wa o n ga gi gu ge go za ji zu ze zo da ji zu de do ba bi bu be bo pa pi pu pe po "
    "vu a i u e o ya yu yo".split()))


def romanize(word: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(word):
        pair = word[i:i + 2]
        if pair in _DIGRAPHS:
            out.append(_DIGRAPHS[pair])
            i += 2
            continue
        ch = word[i]
        if ch == "ッ":
            out.append("")  # gemination: doubled consonants collapse in the skeleton anyway
        elif ch in ("ー", "・"):
            pass
        else:
            out.append(_KANA.get(ch, ""))
        i += 1
    return "".join(out)


_VOWELS = set("aeiouy")


def _collapse(chars: list[str]) -> str:
    out: list[str] = []
    for ch in chars:
        if not out or out[-1] != ch:
            out.append(ch)
    return "".join(out)


def _classes(ch: str) -> str:
    return {"l": "r", "v": "b", "z": "s", "q": "k", "c": "k"}.get(ch, ch)


def skeleton_of_english(word: str) -> str:
    w = word.lower()
    w = re.sub(r"tion", "sn", w)
    w = re.sub(r"sion", "sn", w)
    w = w.replace("ph", "f").replace("th", "s").replace("ck", "k").replace("sh", "s").replace("ch", "c")
    w = re.sub(r"x", "ks", w)
    w = re.sub(r"c(?=[eiy])", "s", w)
    w = re.sub(r"g(?=[eiy])", "j", w)
    w = re.sub(r"(?<=[aeiou])r(?=[^aeiouy]|$)", "", w)  # non-rhotic: "motor" モーター, "conformal" コンフォーマル
    w = re.sub(r"(?<=[aeiou])l(?=$)", "r", w)
    w = re.sub(r"[hw]", "", w)
    return _collapse([_classes(c) for c in w if c not in _VOWELS])


def katakana_skeleton(word: str) -> str:
    romaji = romanize(word)
    text = romaji.replace("shi", "s").replace("sh", "s").replace("chi", "c").replace("ch", "c")
    text = text.replace("tsu", "ts").replace("fu", "f")
    text = re.sub(r"n(?=[bpm])", "m", text)
    text = re.sub(r"h", "", text)
    text = re.sub(r"w", "", text)
    return _collapse([_classes(c) for c in text if c not in _VOWELS])


def read_counts(path: Path) -> dict[str, int]:
    """A `word or phrase<TAB>count` list, in its order (lines starting with # are comments); {} when the file is
    missing."""
    out: dict[str, int] = {}
    if path.exists():
        for line in path.read_text(encoding="utf-8").splitlines():
            key, sep, count = line.partition("\t")
            if sep and not line.startswith("#"):
                out[key] = int(count)
    return out


@lru_cache(maxsize=1)
def term_freq() -> dict[str, int]:
    """nlp/en_term_freq.txt, read once per process: the katakana vocabulary, the renderer's adjective forms and the
    entity tagger's word ranks all read it."""
    return read_counts(FREQ_PATH)


@lru_cache(maxsize=1)
def _vocabulary() -> dict[str, list[tuple[str, int]]]:
    """skeleton -> the English words with it, and their counts."""
    out: dict[str, list[tuple[str, int]]] = {}
    for word, count in term_freq().items():
        if len(word) < 4:
            continue
        key = skeleton_of_english(word)
        if len(key) >= 3:
            out.setdefault(key, []).append((word, count))
    seen = {w for words in out.values() for w, _ in words}
    # a wider vocabulary: words of JMdict's English glosses, count 0, in a fixed order (a set's order changes with
    # each process's string hashing, and the first of two equally close unseen words wins in back_transliterate)
    for word in sorted(dictionary_words() - seen):
        key = skeleton_of_english(word)
        if len(key) >= 3:
            out.setdefault(key, []).append((word, 0))
    return out


def jmdict_path() -> Path | None:
    """The installed JMdict (jamdict-data's SQLite file), or None without it: the one place every reader of the
    dictionary (this vocabulary, `nlp.reverse`, `nlp.translate`'s headword index) finds it."""
    try:
        import jamdict_data
    except ImportError:
        return None
    path = Path(jamdict_data.__file__).with_name("jamdict.db")
    return path if path.exists() else None


@lru_cache(maxsize=1)
def dictionary_words() -> frozenset[str]:
    """Every English word (4 letters or more) of the installed JMdict's glosses; empty without jamdict-data.
    Read once per process (the vocabulary here and the renderer's adjective forms both ask)."""
    path = jmdict_path()
    if path is None:
        return frozenset()
    try:
        import sqlite3

        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            rows = db.execute("SELECT text FROM SenseGloss").fetchall()
        finally:
            db.close()
    except Exception:  # the corpus words still work without it
        return frozenset()
    return frozenset(w for (gloss,) in rows for w in re.findall(r"[a-z]{4,}", gloss.lower()))


MIN_SPELLING_SIMILARITY = 0.6
MIN_SPELLING_SIMILARITY_UNSEEN = 0.75  # for a word only the dictionary has, not the abstracts


@lru_cache(maxsize=50_000)
def back_transliterate(word: str) -> str | None:
    """The English word a katakana loanword most likely writes, or None.

    Among the words sharing its skeleton, the one whose spelling is closest to the romanized katakana (vowels
    count here) wins, if close enough (MIN_SPELLING_SIMILARITY): ハイブリッド is "hybrid", not "build"."""
    word = unicodedata.normalize("NFKC", word)
    if len(word) < 4 or not KATAKANA.match(word):
        return None
    key = katakana_skeleton(word)
    if len(key) < 3:
        return None
    romaji = romanize(word)
    # ーター writes the English agent noun in -ator (インテグレーター: integrator), which shares its skeleton with
    # the verb in -ate the vocabulary more often holds (integrate)
    agent = word.endswith(("ーター", "ータ"))
    if agent:
        romaji += "r"  # the long vowel is the r English writes and does not sound
    best, best_score = None, 0.0
    for english, count in _vocabulary().get(key, ()):
        if agent and english.endswith("ate"):
            english = english[:-1] + "or"
        score = SequenceMatcher(None, romaji, _spelled(english)).ratio()
        if score > best_score or (score == best_score and best is not None and count > best[1]):
            best, best_score = (english, count), score
    if best is None:
        return None
    return best[0] if best_score >= (MIN_SPELLING_SIMILARITY if best[1] else MIN_SPELLING_SIMILARITY_UNSEEN) else None


def written_as(word: str, candidates: list[str]) -> str | None:
    """Which of `candidates` (English words or phrases) the katakana `word` writes: the same consonant
    skeleton (a phrase's words run together) and the closest spelling, if close enough; else None."""
    key = katakana_skeleton(unicodedata.normalize("NFKC", word).replace("・", ""))
    if len(key) < 3:
        return None
    romaji = romanize(word)
    best, best_score = None, MIN_SPELLING_SIMILARITY
    listed = set(candidates)
    for english in candidates:
        if english.endswith("s") and english[:-1] in listed:
            continue  # a plural: katakana writes the singular (メタサーフェス, not "metasurfaces")
        joined = re.sub(r"[\s\-]", "", english)
        if skeleton_of_english(joined) == key:
            score = SequenceMatcher(None, romaji, _spelled(joined)).ratio()
            if score > best_score or (best is None and score == best_score):  # the first listed on a tie
                best, best_score = english, score
    return best


def _spelled(english: str) -> str:
    """English spelling moved toward romaji (y as a vowel is i, c is k, ph is f, l is r)."""
    w = english.lower().replace("ph", "f").replace("th", "s").replace("ck", "k")
    w = re.sub(r"c(?=[eiy])", "s", w).replace("c", "k").replace("l", "r").replace("v", "b").replace("y", "i")
    return w


def long_vowel_variants(word: str) -> list[str]:
    """Spellings a dictionary may use instead (センサ / センサー, ボロメータ / ボロメーター)."""
    out = []
    if word.endswith("ー"):
        out.append(word[:-1])
    elif len(word) >= 3 and word[-1] in "タダラサザナマカガパバハャ":
        out.append(word + "ー")
    return out
