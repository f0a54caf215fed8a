"""Safe rendering of untrusted crawled text: highlighting with `<mark>` over escaped text, link vetting, bars.

Everything that comes from a crawl is escaped here or by Jinja's autoescape; templates never use `|safe` on it.
"""

from __future__ import annotations

import re

from markupsafe import Markup, escape

from domain.urls import safe_url  # noqa: F401 - templates get it from here

_WORD = re.compile(r"[A-Za-z0-9]+(?:[-'][A-Za-z0-9]+)*")
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uff66-\uff9f]+")
_HIRAGANA = re.compile(r"[\u3040-\u309f]")
_STOP = frozenset(
    "the and for with from that this are was were has have had not but its our their which when where who into onto "
    "than then them they can could should would will may must also such use used using per via any all".split()
)


def _stem(word: str) -> str:
    word = word.lower()
    return word[:-1] if len(word) > 4 and word.endswith("s") and not word.endswith("ss") else word


def terms_of(*texts: str) -> tuple[set[str], set[str]]:
    """English word stems (3+ letters, no stop words) and Japanese character bigrams of kanji and katakana
    (hiragana is grammar: particles and okurigana would light up everywhere)."""
    words: set[str] = set()
    bigrams: set[str] = set()
    for text in texts:
        for m in _WORD.finditer(text or ""):
            w = _stem(m.group())
            if len(w) >= 3 and w not in _STOP:
                words.add(w)
        for run in _CJK.findall(text or ""):
            for i in range(len(run) - 1):
                pair = run[i : i + 2]
                if not _HIRAGANA.search(pair):
                    bigrams.add(pair)
    return words, bigrams


def highlight(text: str | None, *others: str | None) -> Markup:
    """`text` escaped, with the words and Japanese bigrams it shares with `others` wrapped in `<mark>`."""
    text = text or ""
    words, bigrams = terms_of(*(o or "" for o in others))
    marked = [False] * len(text)
    if words:
        for m in _WORD.finditer(text):
            if _stem(m.group()) in words:
                marked[m.start() : m.end()] = [True] * (m.end() - m.start())
    if bigrams:
        for m in _CJK.finditer(text):
            run = m.group()
            for i in range(len(run) - 1):
                if run[i : i + 2] in bigrams:
                    marked[m.start() + i] = marked[m.start() + i + 1] = True
    out: list[str] = []
    i = 0
    while i < len(text):
        j = i
        while j < len(text) and marked[j] == marked[i]:
            j += 1
        chunk = str(escape(text[i:j]))
        out.append(f"<mark>{chunk}</mark>" if marked[i] else chunk)
        i = j
    return Markup("".join(out))


_KANA = re.compile(r"[\u3040-\u30ff]")


def guess_lang(text: str | None) -> str | None:
    """`ja` for text with kana or with kanji and no Latin words, `en` for Latin-only text, else None.

    Screens set `lang` from it where the library gives no language, so that browsers pick Japanese glyph forms.
    """
    if not text:
        return None
    if _KANA.search(text) or (_CJK.search(text) and not _WORD.search(text)):
        return "ja"
    if _CJK.search(text):
        return None
    return "en" if _WORD.search(text) else None


def bar_class(value: float | None, top: float = 1.0) -> str:
    """A CSS width class (`w0` .. `w100` in steps of 5): bars need no inline style, so CSP can forbid it."""
    top = top if top and top > 0 else 1.0
    frac = min(1.0, max(0.0, (value or 0.0) / top))
    return f"w{int(round(frac * 20)) * 5}"


def is_loopback(host: str) -> bool:
    import ipaddress

    if host.strip().lower() in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
