"""What an organization is, read from its name and from the records that name it.

- Type: company, university, research institute or government, from the name (legal forms, 大学, 研究所,
  Ministry, Laboratory ...) and, failing that, from its records (a startup announcement names a company).
- Known defense performer: the configurable list of known suppliers, or evidence in the index — a record
  that is a DoD SBIR/STTR award or an ATLA contract (funding) held by the organization, named in the profile.
- Issuer: an organization that publishes needs (防衛装備庁, AFRL); it is never a new entrant.
- New entrant: a company with no such evidence.
- One organization under a Japanese and an English name (株式会社X / X Inc.) is merged where a record writes
  both names together ("株式会社アクセルスペース (Axelspace Corporation)").
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum
from typing import Iterable, Mapping

from domain.models import Document, DocKind
from domain.orgs import COMPANY_FORM, issued_by, normalize_org


class OrgType(StrEnum):
    company = "company"
    university = "university"
    institute = "research institute"
    government = "government"
    unknown = "organization"


# Order matters: "Air Force Research Laboratory" is government before it is a laboratory; "Tokyo Institute
# of Technology" a university before an institute.
_GOVERNMENT = re.compile(
    r"防衛装備庁|防衛省|自衛隊|内閣|省$|庁$|^(?:経済産業|文部科学|総務|国土交通)省|"
    r"\b(?:ministry|department|dept\.?)\s+of\b|\bagency\b|\bcommand\b|\bgovernment\b|"
    r"\b(?:u\.?s\.?|united states)\s+(?:army|navy|air force|marine corps|space force|department)\b|"
    r"\b(?:air force|army|naval|navy)\s+research\s+(?:laboratory|lab|office)\b|\boffice of naval research\b|"
    r"^(?:afrl|arl|nrl|onr|darpa|diu|atla|devcom|nasa|dtra|mda|socom|nato|diana)$|"
    r"\bdefense innovation unit\b|\bacquisition,? technology (?:&|and) logistics agency\b",
    re.IGNORECASE)
_UNIVERSITY = re.compile(r"大学|高等専門学校|高専|\buniversit|\bcollege\b|\binstitute of technology\b|\bschool of\b|"
                         r"\buniversidad|\buniversité|\bhochschule\b|^(?:mit|caltech|kaist|eth zurich)$",
                         re.IGNORECASE)
_INSTITUTE = re.compile(r"研究所|研究機構|研究開発法人|研究センター|研究院|理化学研究所|産業技術総合研究所|"
                        r"\binstitute\b|\blaborator(?:y|ies)\b|\bresearch (?:center|centre|council)\b|"
                        r"\bfraunhofer\b|\bnational lab\b|^(?:aist|riken|jaxa|nict|nims|jamstec|cnrs|csiro)$",
                        re.IGNORECASE)
# A company by its legal form (domain.orgs) or by a word companies put last in their names.
_COMPANY = re.compile(rf"{COMPANY_FORM.pattern}|(?:^|[\s,])(?:technologies|systems|solutions|labs)\.?$", re.IGNORECASE)

# A record that is an award or contract from a defense funder: the ingested SBIR/STTR award records, and
# ATLA's 安全保障技術研究推進制度 (its research-funding contracts).
AWARD_SOURCES = frozenset({"sbir", "sbir_awards", "sttr", "atla_contracts", "atla_awards"})
_AWARD_TEXT = re.compile(
    r"\b(?:sbir|sttr)\b[^.。]{0,60}\b(?:award|contract|phase\s+(?:i{1,3}|[123]))\b|"
    r"\bphase\s+(?:i{1,3}|[123])\s+(?:sbir|sttr)\b|\bdirect[ -]to[ -]phase[ -](?:ii|2)\b|"
    r"\b(?:air force|army|navy|dod|darpa|missile defense agency|socom)\b[^.。]{0,30}\bphase\s+(?:i{1,3}|[123])\s+award\b|"
    r"安全保障技術研究推進制度|防衛装備庁[^。]{0,40}(?:契約|委託|採択)",
    re.IGNORECASE)
_BILINGUAL = re.compile(r"^\s*(?P<a>[^()（）/／]+?)\s*[（(/／]\s*(?P<b>[^()（）/／]+?)\s*[）)]?\s*$")
_JA = re.compile(r"[\u3040-\u30ff\u3400-\u9fff]")


def organization_type(name: str, kinds: Iterable[DocKind | str] = ()) -> OrgType:
    """The type from the name; a name that does not say is a company when a startup record names it."""
    text = " ".join(unicodedata.normalize("NFKC", name or "").split())
    for pattern, kind in ((_GOVERNMENT, OrgType.government), (_UNIVERSITY, OrgType.university),
                          (_INSTITUTE, OrgType.institute), (_COMPANY, OrgType.company)):
        if pattern.search(text):
            return kind
    if DocKind.startup in {DocKind(k) for k in kinds}:
        return OrgType.company
    return OrgType.unknown


@dataclass(frozen=True)
class AwardEvidence:
    """A record showing that an organization already performs for a defense funder."""

    doc_id: str
    title: str
    source: str
    reason: str


# Needs that are the topics of an award programme (DoD SBIR/STTR): a record under a topic's exact title is an
# award to that topic (award abstracts carry their topic's title).
TOPIC_SOURCES = frozenset({"sbir_topics"})
_TOPIC_PROGRAMMES = frozenset({"sbir", "sttr"})
MIN_TOPIC_TITLE = 20  # characters: shorter titles ("Radar", "Autonomy") are not one topic's own


def title_key(title: str) -> str:
    """A title compared as words: NFKC, case-folded, punctuation and spacing ignored."""
    return " ".join(re.sub(r"[\W_]+", " ", unicodedata.normalize("NFKC", title or "").casefold()).split())


def award_topics(needs: Iterable[Document]) -> dict[str, str]:
    """title key -> how to name the topic, for needs that are award-programme topics (see TOPIC_SOURCES)."""
    out: dict[str, str] = {}
    for need in needs:
        programme = str((need.meta or {}).get("program") or "").casefold()
        if need.kind == DocKind.need and (need.source in TOPIC_SOURCES or programme in _TOPIC_PROGRAMMES):
            key = title_key(need.title)
            if len(key) >= MIN_TOPIC_TITLE:
                out[key] = f"{(need.meta or {}).get('program') or 'SBIR'} topic “{' '.join(need.title.split())}”"
    return out


def award_evidence(doc: Document, topics: Mapping[str, str] | None = None) -> str | None:
    """Why `doc` is a defense award or contract record, or None. `topics` (from `award_topics`): a record
    under an award topic's exact title is an award to that topic."""
    if doc.kind == DocKind.need:
        return None
    if doc.source in AWARD_SOURCES:
        return f"{doc.source} award record"
    if topics and (topic := topics.get(title_key(doc.title))):
        return f"record carries the title of the {topic}"
    meta = doc.meta or {}
    programme = " ".join(str(meta.get(k) or "") for k in ("programme", "program", "phase", "agency", "award_type"))
    found = _AWARD_TEXT.search(programme) or _AWARD_TEXT.search(f"{doc.title}\n{doc.text[:600]}")
    if found:
        return f"record says “{' '.join(found.group().split())}”"
    return None


def bilingual_parts(name: str) -> tuple[str, str] | None:
    """("株式会社X", "X Inc.") for a name written with its other-language form beside it, else None."""
    found = _BILINGUAL.match(unicodedata.normalize("NFKC", name or ""))
    if not found:
        return None
    a, b = found["a"].strip(), found["b"].strip()
    if bool(_JA.search(a)) == bool(_JA.search(b)) or not normalize_org(a) or not normalize_org(b):
        return None
    return a, b


def alias_classes(names: Iterable[str]) -> dict[str, set[str]]:
    """key -> every key of the same organization, from names that write a Japanese and an English form
    together; organizations without such a record map to themselves only (absent from the result)."""
    parent: dict[str, str] = {}

    def find(k: str) -> str:
        while parent.setdefault(k, k) != k:
            parent[k] = parent[parent[k]]
            k = parent[k]
        return k

    for name in names:
        parts = bilingual_parts(name)
        if parts is None:
            continue
        keys = [normalize_org(name), normalize_org(parts[0]), normalize_org(parts[1])]
        for k in keys[1:]:
            parent[find(k)] = find(keys[0])
    classes: dict[str, set[str]] = {}
    for k in list(parent):
        classes.setdefault(find(k), set()).add(k)
    return {k: members for members in classes.values() for k in members}


@dataclass
class OrgStatus:
    org_type: OrgType
    known_supplier: bool
    issuer: bool
    new_entrant: bool
    evidence: list[AwardEvidence]


def organization_status(name: str, keys: set[str], records: Iterable[Document], *, listed: bool,
                        issuer_keys: Mapping[str, object] | set[str] = frozenset(),
                        topics: Mapping[str, str] | None = None, issuer_names: Iterable[str] = ()) -> OrgStatus:
    """Classify one organization (all its `keys`) from its name and its records (`topics`: `award_topics`;
    `issuer_names`: the organizations the needs name, under one of which an issuer may lie: AFRL under "Air
    Force")."""
    evidence, kinds = [], set()
    for d in records:  # one pass: an organization's records are read as a stream, none kept
        kinds.add(DocKind(d.kind))
        if (reason := award_evidence(d, topics)) is not None:
            evidence.append(AwardEvidence(d.id, d.title, d.source, reason))
    issuer_names = list(issuer_names)
    issuer = (bool(keys & set(issuer_keys)) or DocKind.need in kinds
              or (bool(issuer_names) and issued_by(name, issuer_names)))
    org_type = organization_type(name, kinds)
    if org_type == OrgType.unknown and issuer:
        org_type = OrgType.government
    known = listed or bool(evidence)
    return OrgStatus(org_type=org_type, known_supplier=known, issuer=issuer, evidence=evidence,
                     new_entrant=org_type == OrgType.company and not known and not issuer)
