"""Offline language detection by script ratios: Japanese (kana/kanji), English (Latin + stopwords), other.

Fast enough to run on every document (a regex pass over at most the first few thousand characters);
needs no model and no download.
"""

from __future__ import annotations

import re

_SAMPLE_CHARS = 4000
_KANA = re.compile(r"[\u3040-\u30ff\u31f0-\u31ff\uff66-\uff9f]")
_KANJI = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN = re.compile(r"[A-Za-z\u00c0-\u024f]")
_SHORT_CJK = 60  # kanji + kana in a title or a query
# Common simplified Chinese characters that Japanese does not write (it has 這 → none, 電, 発, 術, 計, 伝, ...).
_SIMPLIFIED = re.compile(
    "[这们说对时为过还发现经开关问题长进动种实样应业车东电话语书见气头义产网络统计设处术质类变线级让认识选项"
    "报论传证转运连达边层仅从无么吗哪谁广门间闻飞马鸟鱼龙齐图测检验视频导卫复杂结构优习练单严压热]")
_LETTER = re.compile(r"[^\W\d_]")
_WORD = re.compile(r"[A-Za-z]+")
# The commonest English function words: their share separates English from other Latin-script text.
_EN_STOPWORDS = frozenset(
    "the of and to in a is for that on with as by are this be from or an at we it which our these has have "
    "will can its their been was were not than also such into more using based use used new two".split()
)

# Function words of the other big Latin-script languages (de, fr, es, it, nl, pt) that are not English words.
_OTHER_STOPWORDS = frozenset(
    "der das und ist ein eine nicht mit von zu dem des sich auch wird werden le la les et est une des du "
    "pour dans sur pas qui que el los las del por para con una il della di che sono het een van niet "
    "zijn os da em não".split()
)


def detect_language(text: str) -> str:
    """'ja', 'en' or 'other' for one text (title + body); empty or letterless text is 'other'."""
    sample = text[:_SAMPLE_CHARS]
    letters = len(_LETTER.findall(sample))
    if letters == 0:
        return "other"
    kana = len(_KANA.findall(sample))
    kanji = len(_KANJI.findall(sample))
    latin = len(_LATIN.findall(sample))
    # Kana is the mark of Japanese (Chinese has kanji but no kana); Japanese technical text is often
    # half Latin (abbreviations, English terms), so a modest kana share is enough.
    if kana >= 3 and (kana + kanji) / letters >= 0.2 and kana / max(kana + kanji, 1) >= 0.1:
        return "ja"
    # A Japanese title or query may carry one kana or none ("航空機搭乗員の受動的衝撃保護", "赤外線小目標検出").
    # Chinese has no kana either, but writes simplified forms Japanese never uses; a long text without kana
    # is Chinese (Japanese prose always has kana).
    if 2 <= kanji and kana + kanji <= _SHORT_CJK and (kana + kanji) / letters >= 0.5 and not _SIMPLIFIED.search(sample):
        return "ja"
    if latin / letters >= 0.6:
        words = [w.lower() for w in _WORD.findall(sample)]
        if not words:
            return "other"
        stop_share = sum(w in _EN_STOPWORDS for w in words) / len(words)
        if sum(w in _OTHER_STOPWORDS for w in words) / len(words) > stop_share:
            return "other"
        # Titles and keyword lists carry few stopwords: accept short texts on script alone.
        if stop_share >= 0.15 or len(words) < 12:
            return "en"
    return "other"
