"""Organization names: the one set of rules every layer uses (spiders, nlp, index, service, faces).

- The legal forms, Japanese (prefix or suffix: 株式会社X, X株式会社, (株)X) and English (suffix: "X Inc.",
  "X Co., Ltd."), in one list each.
- `normalize_org(name)`: an organization's identity. "株式会社アクセルスペース", "アクセルスペース株式会社" and
  "(株)アクセルスペース" share a key, as do "Axelspace Inc." and "AXELSPACE, INC.". The ledger, the index, the
  ranker, the pages and the report all key organizations by it.
- `display_name(name)`: the tidy form shown to people (legal form kept, as people write it).
- `JA_ORG_NAME` / `EN_ORG_NAME`: organization names written out in running text (nlp's recognizer, the feeds
  spider). A name never spans a line break: a title ending in a capitalized word ("… Effects on Materials")
  followed by a body starting with a company ("Physical Sciences Inc. proposes …") is one company, not
  "Materials Physical Sciences Inc.".
"""

from __future__ import annotations

import re
import unicodedata
from typing import Iterable, Mapping

# -- legal forms ----------------------------------------------------------------------------------------------
# Japanese company forms (a company's name carries one as a prefix or a suffix) and their abbreviations (NFKC
# turns （株） and ㈱ into (株)).
JA_COMPANY_FORMS = ("株式会社", "有限会社", "合同会社", "合資会社", "合名会社")
JA_COMPANY_ABBREVIATIONS = ("(株)", "(有)", "(同)")
# Japanese forms of public bodies, associations and schools (prefixes): stripped from keys, never a company.
JA_PUBLIC_FORMS = ("一般社団法人", "公益社団法人", "一般財団法人", "公益財団法人", "国立研究開発法人", "独立行政法人",
                   "国立大学法人", "公立大学法人", "学校法人")
# English company forms, only ever at the end of a name (repeatedly: "Foo Co., Ltd.").
EN_COMPANY_FORMS = ("inc", "incorporated", "corp", "corporation", "co", "company", "ltd", "limited", "llc",
                    "l.l.c", "llp", "plc", "gmbh", "ag", "s.a", "sa", "k.k", "kk", "pte")


def _alternation(words) -> str:
    return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))


# Regular-expression fragments (no groups) for patterns that find names in text.
JA_COMPANY_FORM = rf"(?:{_alternation(JA_COMPANY_FORMS + JA_COMPANY_ABBREVIATIONS)})"
JA_LEGAL_FORM = rf"(?:{_alternation(JA_COMPANY_FORMS + JA_COMPANY_ABBREVIATIONS + JA_PUBLIC_FORMS)})"
# English company forms as written after a name in text ("Inc.", "Co., Ltd.", "K.K."); case-sensitive.
EN_COMPANY_SUFFIX = (r"(?:Inc\b\.?|Incorporated\b|Corp\b\.?|Corporation\b|Co\.,?[ \t]*Ltd\b\.?|Ltd\b\.?|Limited\b|"
                     r"LLC\b|L\.L\.C\.|LLP\b|GmbH\b|plc\b|K\.K\.)")

_JA_LEGAL = re.compile(JA_LEGAL_FORM)
_EN_LEGAL = re.compile(rf"(?:[\s,]+(?:{_alternation(EN_COMPANY_FORMS)})\.?)+\s*$", re.IGNORECASE)
_PUNCT_SPACE = re.compile(r"[\W_]+", re.UNICODE)

# A company named by its legal form alone (for a name's type): Japanese anywhere, English at the end.
COMPANY_FORM = re.compile(rf"{JA_COMPANY_FORM}|(?:^|[\s,])(?:{_alternation(EN_COMPANY_FORMS)})\.?$", re.IGNORECASE)


def normalize_org(name: str) -> str:
    """The normalized key of an organization name: NFKC, legal forms stripped, a leading "The" dropped,
    case-folded, punctuation and spaces removed; empty when nothing but a legal form is left."""
    text = unicodedata.normalize("NFKC", name or "").strip()
    text = _JA_LEGAL.sub(" ", text)
    text = re.sub(r"^\s*the\s+", "", text, flags=re.IGNORECASE)
    previous = None
    while previous != text:
        previous = text
        text = _EN_LEGAL.sub("", text.strip(" ,."))
    return _PUNCT_SPACE.sub("", text.casefold())


def display_name(name: str) -> str:
    """A tidy display form: NFKC with collapsed white space (legal form kept, as people write it)."""
    return " ".join(unicodedata.normalize("NFKC", name or "").split())


def same_organization(a: str, b: str) -> bool:
    """Whether two spellings name one organization (their keys are equal and not empty)."""
    key = normalize_org(a)
    return bool(key) and key == normalize_org(b)


def record_organizations(found: Mapping[str, str], declared: Iterable[str]) -> dict[str, str]:
    """key -> display name of a record's organizations: those its source declares (their own spelling wins)
    and those found in its text, less a found name that is a declared one with words picked up before it:
    "Materials Physical Sciences Inc." beside the declared "Physical Sciences Inc." (a title ending in
    "Materials" ran into a body opening with the company) is that company, not another one."""
    mine = {normalize_org(n): display_name(n) for n in declared}
    mine.pop("", None)
    out: dict[str, str] = {}
    for key, name in found.items():
        words = display_name(name).split()
        if key in mine or any(normalize_org(" ".join(words[i:])) in mine for i in range(1, len(words))):
            continue
        out[key] = name
    return out | mine


# -- names in running text -------------------------------------------------------------------------------------
# Japanese: characters of a company name (Latin, digits, katakana, kanji, a few joiners); hiragana (particles)
# ends a name.
JA_NAME_CHAR = r"[\u30a0-\u30ff\u3005\u4e00-\u9fffA-Za-z0-9&・ー\-\.]"
JA_ORG_NAME = re.compile(
    rf"{JA_COMPANY_FORM}[ \t]?{JA_NAME_CHAR}+?(?={JA_COMPANY_FORM}|(?!{JA_NAME_CHAR})|$)"
    rf"|{JA_NAME_CHAR}+?{JA_COMPANY_FORM}"
    r"|(?:国立研究開発法人|独立行政法人|国立大学法人)?[\u30a0-\u30ff\u4e00-\u9fffA-Za-z]{1,20}?"
    r"(?:大学院?|研究所|研究機構|研究開発機構|高等専門学校)"
)
# English: capitalized words joined by spaces or tabs on one line, then a company form; or a university,
# institute or laboratory name.
# A capitalized word of a name; an apostrophe inside it only before a capital ("D'Angelo", "O’Neil"), so a
# possessive ("Boeing's") never joins the name after it. The feeds spider builds its names from it too.
_NAME_CHARS = r"A-Za-z0-9\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u00ff&\-"
EN_NAME_WORD = rf"[A-Z][{_NAME_CHARS}]*(?:['\u2019][A-Z][{_NAME_CHARS}]*)?"
_CAP = EN_NAME_WORD
_GAP = r"[ \t]+"
EN_ORG_NAME = re.compile(
    rf"\b((?:{_CAP}\.?{_GAP}){{0,5}}{_CAP}),?{_GAP}{EN_COMPANY_SUFFIX}"
    rf"|\b(?:The{_GAP})?University{_GAP}of{_GAP}{_CAP}(?:{_GAP}{_CAP}){{0,3}}"
    rf"|\b(?:{_CAP}{_GAP}){{1,4}}(?:University|Institute{_GAP}of{_GAP}Technology|Institute|Laborator(?:y|ies)|"
    rf"Research{_GAP}Cent(?:er|re))\b"
    rf"|\b(?:Institute|Laboratory){_GAP}(?:of|for){_GAP}{_CAP}(?:{_GAP}(?:and{_GAP})?{_CAP}){{0,4}}"
)
# Cheap triggers: the full patterns run only on windows around them.
JA_ORG_TRIGGER = re.compile(rf"{JA_COMPANY_FORM}|大学|研究所|機構|高等専門学校")
EN_ORG_TRIGGER = re.compile(
    r"\b(?:Inc|Incorporated|Corp|Corporation|Ltd|Limited|LLC|L\.L\.C|LLP|GmbH|plc|K\.K|University|Institute|"
    r"Laborator(?:y|ies)|Research\s+Cent(?:er|re))\b"
)
