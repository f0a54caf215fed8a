"""The domain model shared by every stage.

Imports nothing of ours: spiders, nlp, index, flows and screens all speak these types.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
import uuid
from datetime import date, datetime, timezone
from enum import StrEnum
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, computed_field

# Fixed namespace so that ids are stable across machines and releases.
DUALSCOUT_NAMESPACE = uuid.UUID("6f6b2d0e-6a3c-5b8e-9d8c-2f1f3a0c7d41")


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class DomainModel(BaseModel):
    """The base of the domain's models: each builds its validator on first use, not at import (a cold CLI
    command validates a few of them; building all at import was a tenth of its start-up)."""

    model_config = ConfigDict(defer_build=True)


class DocKind(StrEnum):
    research = "research"
    startup = "startup"
    need = "need"


def document_id(source: str, source_id: str | None = None, url: str | None = None) -> str:
    """uuid5 of the source-native id when there is one, else of the canonical URL."""
    if source_id:
        return str(uuid.uuid5(DUALSCOUT_NAMESPACE, f"{source}:{source_id}"))
    if url:
        return str(uuid.uuid5(uuid.NAMESPACE_URL, url))
    raise ValueError("a document needs a source-native id or a canonical URL")


def normalize_text(text: str) -> str:
    """NFKC, no control characters, collapsed white space: the form that is hashed and analysed."""
    text = unicodedata.normalize("NFKC", text)
    text = "".join(ch if (ch in "\n\t" or unicodedata.category(ch)[0] != "C") else " " for ch in text)
    return " ".join(text.split())


def content_hash(title: str, text: str) -> str:
    return hashlib.sha256(f"{normalize_text(title)}\n{normalize_text(text)}".encode()).hexdigest()


class Document(DomainModel):
    """One crawled record: a research output, a startup announcement or a published need."""

    model_config = ConfigDict(extra="forbid")

    id: str
    kind: DocKind
    source: str
    source_id: str | None = None
    url: str
    title: str
    text: str
    language: str | None = None  # "ja", "en" or "other"; nlp fills it when the source does not say
    organizations: list[str] = Field(default_factory=list)
    published: datetime | None = None
    first_seen: datetime = Field(default_factory=utcnow)
    content_hash: str = ""
    meta: dict[str, Any] = Field(default_factory=dict)

    @classmethod
    def make(
        cls,
        *,
        kind: DocKind | str,
        source: str,
        url: str,
        title: str,
        text: str,
        source_id: str | None = None,
        **fields: Any,
    ) -> "Document":
        """Build a document with its deterministic id and content hash."""
        title = normalize_text(title)
        text = normalize_text(text)
        return cls(
            id=document_id(source, source_id, url),
            kind=DocKind(kind),
            source=source,
            source_id=source_id,
            url=url,
            title=title,
            text=text,
            content_hash=content_hash(title, text),
            **fields,
        )


class Reject(DomainModel):
    """A record that could not be used, with the reason; kept in the rejects log, never silently dropped."""

    source: str
    url: str | None = None
    reason: str
    stage: str = "crawl"  # crawl | nlp | index
    detail: str | None = None
    at: datetime = Field(default_factory=utcnow)


class SourceSpec(DomainModel):
    """One source to crawl: a spider name and its arguments (e.g. `base_url`, `query`, `feeds`)."""

    spider: str
    args: dict[str, str] = Field(default_factory=dict)
    label: str | None = None
    # An optional source that lacks its credentials (e.g. KAKEN without SCOUT_CRAWL_KAKEN_APPID) is skipped with
    # a warning instead of failing the run; any other failure of it still fails.
    optional: bool = False

    @property
    def name(self) -> str:
        return self.label or self.spider


class CrawlStats(DomainModel):
    source: str
    fetched: int = 0
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    errors: list[str] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)  # problems worked around (an ill-formed feed read leniently)
    batch_path: str | None = None  # JSONL of the new and updated documents
    started: datetime | None = None
    finished: datetime | None = None


class EntityLabel(StrEnum):
    technology = "TECH"  # a taxonomy concept
    keyphrase = "KEYPHRASE"  # a candidate technology term beyond the taxonomy (rules: no tagger model)
    organization = "ORG"
    # Typed terms from the trained tagger (nlp.entity_tagger); concept_id is set when a taxonomy concept lies in one.
    method = "METHOD"  # a technology or method
    material = "MATERIAL"  # a material, device or data set
    task = "TASK"  # a task or application
    metric = "METRIC"  # a measure of quality
    term = "TERM"  # another scientific term
    generic = "GENERIC"  # a plain word of the field (近年, 評価): never a technology


# What an analyst reads for each entity type (pages, facets, the report).
ENTITY_TYPE_NAMES: dict[str, str] = {
    "TECH": "technology (taxonomy)", "KEYPHRASE": "key phrase", "ORG": "organization", "METHOD": "technology / method",
    "MATERIAL": "material", "TASK": "task / application", "METRIC": "metric", "TERM": "scientific term",
    "GENERIC": "generic term",
}
TECHNOLOGY_ENTITY_TYPES = ("METHOD", "MATERIAL", "TASK")


class TermRef(DomainModel):
    """One typed technology term of a document as people read it (`Document.meta["terms"]`, written by nlp)."""

    type: str  # METHOD | MATERIAL | TASK
    text: str
    concept: str | None = None  # the taxonomy concept inside the term, if any

    @property
    def type_name(self) -> str:
        return ENTITY_TYPE_NAMES.get(self.type, self.type.lower())


def document_terms(doc: "Document | dict | None") -> list[TermRef]:
    """The typed technology terms nlp recorded for a document (none for one indexed before them)."""
    meta = (doc.get("meta") if isinstance(doc, dict) else getattr(doc, "meta", None)) or {}
    out = []
    for row in meta.get("terms") or []:
        try:
            out.append(TermRef.model_validate(row))
        except ValueError:
            continue  # a damaged row is skipped, never fatal for the page
    return out


def shared_terms(need: list[TermRef], doc: list[TermRef]) -> list[TermRef]:
    """The document's terms that the need names too: the same words (case and spacing aside) or the same
    taxonomy concept (so a Japanese need and an English document share 炭素繊維強化プラスチック / CFRP)."""
    texts = {" ".join(t.text.split()).casefold() for t in need}
    concepts = {t.concept for t in need if t.concept}
    return [t for t in doc if " ".join(t.text.split()).casefold() in texts or (t.concept and t.concept in concepts)]


def _words(text: str) -> str:
    return " ".join(text.split()).casefold()


def _names(phrase: str, text: str) -> bool:
    """`phrase` occurs in `text` as whole words (Japanese has no spaces: anywhere in it)."""
    if not phrase:
        return False
    if not phrase.isascii():
        return phrase in text
    return re.search(rf"(?<![\w-]){re.escape(phrase)}(?![\w-])", text) is not None


def query_terms(query: str, doc: list[TermRef], concepts: "set[str] | frozenset[str]" = frozenset()) -> list[TermRef]:
    """The document's terms that a free-text query names, its search hit's explanation (as `shared_terms` is a
    match's): the term in the query's words ("radar" in "radar absorbing metamaterial"), the query in the term's
    ("synthetic aperture radar" for "radar"), or the same taxonomy concept as one of `concepts`."""
    words = _words(query)
    return [t for t in doc if _names(_words(t.text), words) or _names(words, _words(t.text))
            or (t.concept and t.concept in concepts)]


class Entity(DomainModel):
    text: str
    label: EntityLabel
    start: int  # character offsets in Document.text
    end: int
    concept_id: str | None = None  # for TECH
    key: str | None = None  # normalized key for ORG


class Passage(DomainModel):
    """A span of a document's title+text that fits the embedding model; passages cover the whole text."""

    index: int
    start: int  # character offsets in the analysed text (title + "\n" + text)
    end: int
    text: str
    hash: str


class Analysis(DomainModel):
    """What nlp/ says of one document (vectors are kept beside it, not in it)."""

    doc_id: str
    language: str
    entities: list[Entity] = Field(default_factory=list)
    concepts: list[str] = Field(default_factory=list)
    areas: list[str] = Field(default_factory=list)  # critical-technology areas
    organizations: dict[str, str] = Field(default_factory=dict)  # normalized key -> display name
    keyphrases: list[str] = Field(default_factory=list)
    passages: list[Passage] = Field(default_factory=list)


# Score labels (see README "Scores"): a match's score is in [0, 1]; these are the lower bounds of the labels.
STRONG_SCORE = 0.70
MODERATE_SCORE = 0.55
ScoreLabel = Literal["strong", "moderate", "weak"]


SCORE_DECIMALS = 3  # every face shows a score to three places ("0.843 strong")


def score_label(score: float) -> ScoreLabel:
    """strong (>= STRONG_SCORE), moderate (>= MODERATE_SCORE) or weak: the same words in every view, read off
    the score as the faces show it, so one figure never carries two labels (a watchlist had listed "0.550
    moderate" above "0.550 weak": 0.55 and 0.5499...)."""
    shown = round(score, SCORE_DECIMALS)
    return "strong" if shown >= STRONG_SCORE else "moderate" if shown >= MODERATE_SCORE else "weak"


class ScoreBreakdown(DomainModel):
    """Why a document scored what it did: contributions on the score's own scale that add up to `total`.

    `dense` and `sparse` are what the embedding channels and the BM25 channels added, `multilingual` what the
    language-agnostic sentence channel added (a Japanese document meeting an English need by meaning);
    `generic` and `generic_lexical` are the (negative) hubness corrections of the embedding channels (the
    multilingual one included) and of the BM25 ones (the document resembles needs in general); `concept`,
    `recency` and `kind` the re-scoring terms; `clipped` the amount that keeps the total in [0, 1] or, for a
    free-text query, under the ceiling its best passage pair allows. `feedback` is no part of the total: what
    the need's judgements (Rocchio, centred) did to the document's place in the order, and `moved` how many
    places that moved it (up +, down -; 0: its place is the one it has without judgements, where a note would
    say nothing true), among the ranking's documents (versions counted, documents judged not relevant aside).
    `similarity` and `bm25` are not contributions: the raw best passage-pair cosine and BM25 score, for the
    curious.
    """

    dense: float = 0.0
    sparse: float = 0.0
    multilingual: float = 0.0
    generic: float = 0.0
    generic_lexical: float = 0.0
    concept: float = 0.0
    recency: float = 0.0
    kind: float = 0.0
    feedback: float = 0.0
    moved: int = 0
    clipped: float = 0.0
    total: float = 0.0
    similarity: float = 0.0
    bm25: float = 0.0

    # `feedback` is not among them: judgements move the order, never the score
    CONTRIBUTIONS: ClassVar[tuple[str, ...]] = (
        "dense", "sparse", "multilingual", "generic", "generic_lexical", "concept", "recency", "kind", "clipped")

    def contributions(self) -> dict[str, float]:
        """The parts that add up to `total`, in display order (zero ones included)."""
        return {part: getattr(self, part) for part in self.CONTRIBUTIONS}


class Evidence(DomainModel):
    passage_index: int
    start: int
    end: int
    text: str


class Version(DomainModel):
    """One document of a technology shown as one result (Phase I and Phase II of one award, one announcement
    under two URLs): grouped at query time, each still stored as its own document."""

    doc_id: str
    title: str
    label: str  # "Phase II 2019"; without a phase, the source and year
    url: str = ""
    source: str = ""
    published: datetime | None = None
    score: float | None = None


class Match(DomainModel):
    need_id: str
    doc_id: str
    rank: int
    score: float
    breakdown: ScoreBreakdown
    shared_concepts: list[str] = Field(default_factory=list)
    shared_terms: list[TermRef] = Field(default_factory=list)  # typed technology terms both name
    need_evidence: Evidence | None = None
    doc_evidence: Evidence | None = None
    # denormalized for screens and reports
    title: str = ""
    url: str = ""
    kind: DocKind | None = None
    source: str = ""
    organizations: list[str] = Field(default_factory=list)
    published: datetime | None = None
    is_new: bool = False
    versions: list[Version] = Field(default_factory=list)  # this result's documents, oldest first, when several
    # The analysts' current judgement of this match (relevant, not_relevant, shortlisted), None when unjudged.
    # It moves the match in the ranking (a not-relevant one sinks below every other), never its score.
    judgement: str | None = None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def label(self) -> ScoreLabel:
        """strong / moderate / weak, from `score` (see `score_label`)."""
        return score_label(self.score)


class OrgMatch(DomainModel):
    key: str
    name: str
    score: float
    doc_ids: list[str] = Field(default_factory=list)
    known_supplier: bool = False  # on the known-suppliers list, or holds a defense award in the index
    # company | university | research institute | government | organization (the name and records do not say)
    org_type: str = "organization"
    issuer: bool = False  # publishes needs (防衛装備庁, AFRL): never a new entrant
    new_entrant: bool = False  # a company with no defense award or contract in the index and not on the list


class SearchFilters(DomainModel):
    kind: DocKind | None = None
    source: str | None = None
    language: str | None = None
    since: date | None = None
    until: date | None = None
    concept: str | None = None
    area: str | None = None
    organization: str | None = None


class ScoreCeiling(DomainModel):
    """Why a free-text hit's score is held where it is (index/ranking/rescore.py `absolute_ceiling`): the best
    its absolute evidence allows, the larger of what its best passage's similarity to the query allows and what
    the share of the query's words it holds allows. Shown where it held the score below its strength, so that
    hits tied at one score say why."""

    value: float  # the ceiling: the hit's score
    similarity: float  # the cosine of its best passage pair with the query
    words_held: int  # the query's words it holds (in the language it holds most of them in) ...
    words: int  # ... of so many

    def note(self, sep: str = ", ") -> str:
        """What every face prints beside a held score: "capped: 1 of 3 query words, similarity 0.26"."""
        words = f"{self.words_held} of {self.words} query words{sep}" if self.words else ""
        return f"capped: {words}similarity {self.similarity:.2f}"


class SearchHit(DomainModel):
    doc_id: str
    score: float
    title: str
    url: str
    kind: DocKind
    source: str
    language: str | None = None
    organizations: list[str] = Field(default_factory=list)
    concepts: list[str] = Field(default_factory=list)
    terms: list[TermRef] = Field(default_factory=list)  # its typed technology terms, most frequent first
    # its terms the search names (the query's words or concepts, or the concept/area filtered on): a
    # watchlist's explanation of each hit, as a match's shared_terms
    shared_terms: list[TermRef] = Field(default_factory=list)
    published: datetime | None = None
    evidence: Evidence | None = None
    versions: list[Version] = Field(default_factory=list)  # as Match.versions
    held: ScoreCeiling | None = None  # its score is its ceiling, below its strength: why

    @computed_field  # type: ignore[prop-decorator]
    @property
    def label(self) -> ScoreLabel:
        """strong / moderate / weak, from `score` (see `score_label`)."""
        return score_label(self.score)


class NeedMatches(DomainModel):
    need: Document
    matches: list[Match]
    organizations: list[OrgMatch] = Field(default_factory=list)


class IngestStats(DomainModel):
    """What the enrich step did with one crawl batch."""

    batch: str
    documents: int = 0
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    duplicates: int = 0  # new ids whose content is already indexed under another id (recorded, not indexed)
    passages_embedded: int = 0
    # per crawl source, of this batch: {"rejected": n, "duplicates": m} (the ledger keeps them for the weekly
    # report: how many of the crawls' new documents were duplicates, and the enrichment's rejects among its rejects)
    by_source: dict[str, dict[str, int]] = Field(default_factory=dict)
    quarantined: str | None = None  # why the batch was moved to inbox/quarantine/ instead of being ingested
