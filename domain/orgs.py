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
- `issued_by(name, issuers)`: whether an organization is a need's issuer (one the need's source names, or one
  under it: AFRL under "Air Force"), which is never a technology provider answering that need.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
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


# -- issuers ------------------------------------------------------------------------------------------------
# Defense organizations: other names of one (`_SAME`) and the one above each (`_PARENT`), as normalize_org keys.
# A need names its issuer ("Department of Defense", "Air Force" for an Air Force SBIR topic; 防衛装備庁 for an
# ATLA theme); the laboratories and offices under it write its topics and sponsor the awards that answer them,
# so a document that names AFRL as its sponsor makes AFRL no answer to the Air Force's need.
_SAME = {
    "afrl": "airforceresearchlaboratory", "afosr": "airforceofficeofscientificresearch",
    "usairforce": "airforce", "unitedstatesairforce": "airforce", "departmentoftheairforce": "airforce",
    "usspaceforce": "spaceforce", "arl": "armyresearchlaboratory", "aro": "armyresearchoffice",
    "usarmy": "army", "unitedstatesarmy": "army", "departmentofthearmy": "army",
    "onr": "officeofnavalresearch", "nrl": "navalresearchlaboratory", "navsea": "navalseasystemscommand",
    "navair": "navalairsystemscommand", "usnavy": "navy", "unitedstatesnavy": "navy", "departmentofthenavy": "navy",
    "usmarinecorps": "marinecorps", "darpa": "defenseadvancedresearchprojectsagency", "mda": "missiledefenseagency",
    "socom": "specialoperationscommand", "ussocom": "specialoperationscommand", "dtra": "defensethreatreductionagency",
    "diu": "defenseinnovationunit", "dla": "defenselogisticsagency", "dha": "defensehealthagency",
    "dod": "departmentofdefense", "usdepartmentofdefense": "departmentofdefense", "usdod": "departmentofdefense",
    "atla": "防衛装備庁", "acquisitiontechnologylogisticsagency": "防衛装備庁", "diana": "natodiana",
}
_PARENT = {
    "airforceresearchlaboratory": "airforce", "airforceofficeofscientificresearch": "airforce",
    "afwerx": "airforce", "spaceforce": "airforce",
    "armyresearchlaboratory": "army", "armyresearchoffice": "army", "devcom": "army",
    "officeofnavalresearch": "navy", "navalresearchlaboratory": "navy", "navalseasystemscommand": "navy",
    "navalairsystemscommand": "navy", "marinecorps": "navy",
    "airforce": "departmentofdefense", "army": "departmentofdefense", "navy": "departmentofdefense",
    "defenseadvancedresearchprojectsagency": "departmentofdefense", "missiledefenseagency": "departmentofdefense",
    "specialoperationscommand": "departmentofdefense", "defensethreatreductionagency": "departmentofdefense",
    "defenseinnovationunit": "departmentofdefense", "defenselogisticsagency": "departmentofdefense",
    "defensehealthagency": "departmentofdefense",
    "防衛装備庁": "防衛省", "陸上自衛隊": "防衛省", "海上自衛隊": "防衛省", "航空自衛隊": "防衛省", "自衛隊": "防衛省",
    "natodiana": "nato",
}
_US_PREFIX = re.compile(r"^(?:u\.?\s?s\.?|united\s+states)\s+", re.IGNORECASE)


def _name_words(name: str) -> list[str]:
    return _US_PREFIX.sub("", display_name(name)).casefold().split()


def issued_by(name: str, issuers: Iterable[str]) -> bool:
    """Whether the organization `name` is one of `issuers` (a need's organizations) or lies under one: by the
    table of defense organizations above, or by its name opening with an issuer's words ("Air Force Research
    Laboratory" under "Air Force", 防衛装備庁航空装備研究所 under 防衛装備庁)."""
    issuer_keys, heads, kanji_keys = _issuer_heads(tuple(issuers))
    key = normalize_org(name)
    if not issuer_keys or not key:
        return False
    seen: set[str] = set()
    step = _SAME.get(key, key)
    while step and step not in seen:
        if step in issuer_keys:
            return True
        seen.add(step)
        step = _PARENT.get(step, "")
    words = _name_words(name)
    return (any(words[:len(head)] == head for head in heads)
            or any(key.startswith(issuer_key) for issuer_key in kanji_keys))


@lru_cache(maxsize=256)
def _issuer_heads(issuers: tuple[str, ...]) -> tuple[frozenset[str], tuple[list[str], ...], tuple[str, ...]]:
    """What `issued_by` compares a name with, worked out once per list of issuers (a match run asks for every
    organization of every match against every need's publishers): their keys as the table names them, their
    names' words, and their keys in Japanese script (matched as a prefix of the name's key)."""
    keys = [normalize_org(issuer) for issuer in issuers]
    return (frozenset(_SAME.get(k, k) for k in keys) - {""},
            tuple(head for head in map(_name_words, issuers) if head),
            tuple(k for k in keys if k and not k.isascii()))


def publishers(needs: Iterable) -> list[str]:
    """Every organization the `needs` (documents) name, each once, in order: the needs' publishers, whose
    bodies are never a technology's "new organization" (the match run's ledger and the weekly report ask)."""
    return list(dict.fromkeys(name for need in needs for name in need.organizations))


def answering_organizations(names: Iterable[str], issuers: Iterable[str] = ()) -> list[str]:
    """The organizations of a matched document that answer the need: its `names` less the need's issuer and the
    organizations under it (`issuers`: the need's own organizations; `domain.orgs.issued_by`). A document
    sponsored by AFRL names AFRL, but AFRL wrote the Air Force's topic: it does not answer it. The need page,
    `scout match`, the API, the ledger's first sightings and the weekly report all read organizations here."""
    issuers = list(issuers)
    return [n for n in names if not (issuers and issued_by(n, issuers))]
