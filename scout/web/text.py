"""Safe rendering of untrusted crawled text: highlighting with `<mark>` over escaped text, link vetting, bars.

Everything that comes from a crawl is escaped here or by Jinja's autoescape; templates never use `|safe` on it.
"""

from __future__ import annotations

import re

from markupsafe import Markup, escape

from domain.urls import safe_url  # noqa: F401 - templates get it from here
from nlp.tokens import content_terms, content_tokens

_WORD = re.compile(r"[A-Za-z0-9]+(?:[-'][A-Za-z0-9]+)*")
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uff66-\uff9f]+")


def highlight(text: str | None, *others: str | None, generic: bool = True) -> Markup:
    """`text` escaped, with the content words it shares with `others` wrapped in `<mark>`: English words by
    stem, Japanese words as Sudachi cuts them (so "センサ" marks センサ, never the "セン" of センター).

    generic=False (a need's evidence beside a document's) marks no word that says nothing about a technology
    (nlp.tokens.GENERIC_TERMS: "system", "data", 技術): a shared "system" is no shared technology. A search
    keeps marking every word of the query the person typed."""
    text = text or ""
    terms = content_terms(*others, generic=generic)
    spans = [(t.start, t.end) for t in content_tokens(text) if t.term in terms] if terms else []
    out: list[str] = []
    pos = 0
    for start, end in spans:
        if start < pos:
            continue
        out.append(str(escape(text[pos:start])))
        out.append(f"<mark>{escape(text[start:end])}</mark>")
        pos = end
    out.append(str(escape(text[pos:])))
    return Markup("".join(out).replace("</mark><mark>", ""))


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


# What a source's own identifier is called, where a reader can use it (cite it, look it up at the source). The
# others are keys the crawl keeps for itself: a feed's "feed title|guid" or its item's link (the 'original' link
# already), ATLA's "page#theme-N". A URL-shaped identifier repeats the link too.
_SOURCE_ID_NAMES = {
    "arxiv": "arXiv id", "jstage": "DOI", "kaken": "KAKEN project", "openalex": "OpenAlex id",
    "sbir_topics": "topic number", "needs_file": "needs file id", "diu": "solicitation", "nato_diana": "challenge",
}


def source_reference(source: str, source_id: str | None) -> tuple[str, str] | None:
    """(what it is, the identifier) for a document's page, or None where the source's id means nothing to a
    reader; a J-STAGE article without a DOI keeps its J-STAGE id (JOI), not its link."""
    name = _SOURCE_ID_NAMES.get(source)
    if not name or not source_id or "://" in source_id:
        return None
    if source == "jstage" and not source_id.startswith("10."):
        name = "J-STAGE id"
    return name, source_id
