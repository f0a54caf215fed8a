"""One result per technology: near-duplicate documents (Phase I and Phase II of one award, one announcement
under two URLs) are grouped at query time into one result that lists its versions. Nothing stored changes.

Two results are versions of one technology when they share an organization and their titles say the same
thing once the programme words are set aside ("Phase I", "SBIR", "STTR", "(Phase II)", "フェーズ2") — the same
title key, or nearly the same words — or when their texts are nearly the same vectors. Results that name no
organization group only on the same title key with near-identical text (a copy under another URL).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cached_property
from datetime import datetime
from typing import Callable, Generic, Iterable, Sequence, TypeVar

import numpy as np

from domain.labels import source_label
from domain.models import Version
from domain.orgs import normalize_org

T = TypeVar("T")

# Same organization: titles with at least this share of words in common (Jaccard) are one technology.
TITLE_OVERLAP = 0.8
# Mean-passage cosine similarity above which two texts are near-identical (the same abstract, lightly edited).
TEXT_SIMILARITY = 0.95

_PHASE = re.compile(r"\bphase[\s-]*(iii|ii|i|[123])\b|フェーズ\s*([123ⅠⅡⅢ])", re.IGNORECASE)
_PROGRAMME = re.compile(r"\b(?:sbir|sttr|phase[\s-]*(?:iii|ii|i|[123]))\b|フェーズ\s*[123ⅠⅡⅢ]", re.IGNORECASE)
_WORDS = re.compile(r"[^\W_]+", re.UNICODE)
_ROMAN = {"1": "I", "2": "II", "3": "III", "i": "I", "ii": "II", "iii": "III", "Ⅰ": "I", "Ⅱ": "II", "Ⅲ": "III"}


def title_words(title: str) -> list[str]:
    text = unicodedata.normalize("NFKC", title or "").casefold()
    return _WORDS.findall(_PROGRAMME.sub(" ", text))


def title_key(title: str) -> str:
    """The title without programme words, case, punctuation or spacing."""
    return "".join(title_words(title))


def phase_of(title: str, text: str = "") -> str | None:
    """"Phase II" when the title (or, failing that, the start of the text) names an SBIR/STTR phase."""
    found = _PHASE.search(title or "") or _PHASE.search((text or "")[:300])
    if not found:
        return None
    return f"Phase {_ROMAN.get((found[1] or found[2]).lower(), (found[1] or found[2]).upper())}"


def version_label(title: str, published: datetime | None, text: str = "", source: str = "") -> str:
    """"Phase I 2017"; without a phase, the source as readers know it and the year ("arXiv 2021", "news feeds
    2025"; `domain.labels.source_label`)."""
    phase = phase_of(title, text)
    year = str(published.year) if published else ""
    return " ".join(x for x in (phase or source_label(source), year) if x) or "undated"


@dataclass
class Member(Generic[T]):
    """What grouping needs to know of one result (a Match, a SearchHit, a report item)."""

    item: T
    doc_id: str
    title: str
    organizations: Sequence[str]
    published: datetime | None
    score: float
    url: str = ""
    source: str = ""
    text: str = ""

    # Computed once per result: grouping compares each result with every group's lead.
    @cached_property
    def org_keys(self) -> set[str]:
        return {k for k in (normalize_org(o) for o in self.organizations) if k}

    @cached_property
    def words(self) -> list[str]:
        return title_words(self.title)

    @cached_property
    def key(self) -> str:
        return "".join(self.words)

    def version(self) -> Version:
        return Version(doc_id=self.doc_id, title=self.title, url=self.url, source=self.source,
                       published=self.published, score=self.score,
                       label=version_label(self.title, self.published, self.text, self.source))


def _overlap(a: list[str], b: list[str]) -> float:
    sa, sb = set(a), set(b)
    return len(sa & sb) / len(sa | sb) if sa and sb else 0.0


def needs_similarity(a: Member, b: Member) -> bool:
    """Whether `same_technology(a, b, similarity)` depends on the texts' similarity: where it does not, the
    vectors need not be read."""
    if a.org_keys & b.org_keys:
        return not ((bool(a.key) and a.key == b.key) or _overlap(a.words, b.words) >= TITLE_OVERLAP)
    return not (a.org_keys or b.org_keys) and bool(a.key) and a.key == b.key


def same_technology(a: Member, b: Member, similarity: float | None = None) -> bool:
    key_a, key_b = a.key, b.key
    near_text = similarity is not None and similarity >= TEXT_SIMILARITY
    if a.org_keys & b.org_keys:
        return (bool(key_a) and key_a == key_b) or _overlap(a.words, b.words) >= TITLE_OVERLAP or near_text
    if a.org_keys or b.org_keys:
        return False  # two organizations, or one named and one not: not known to be one technology
    return bool(key_a) and key_a == key_b and (similarity is None or near_text)


def group_members(members: Sequence[Member[T]],
                  similarity: Callable[[str, str], float | None] | None = None) -> list[list[Member[T]]]:
    """Groups in the order of their best member (members in the given order, best first); each group's first
    member is its lead. `similarity(doc_a, doc_b)` gives the texts' similarity when it is known; it is asked
    only for the pairs whose answer depends on it (`needs_similarity`), so it may read the vectors lazily.

    A member joins the first group whose lead is one technology with it. Only leads that share an
    organization with it, or (neither naming one) its title key, can be (`same_technology`): the groups are
    found through those keys rather than by trying every lead (a search groups its best 100 hits)."""
    groups: list[list[Member[T]]] = []
    by_org: dict[str, list[int]] = {}  # organization key -> the groups whose lead names it, in order
    by_key: dict[str, list[int]] = {}  # title key -> the groups whose lead names no organization, in order
    for member in members:
        found = set()
        for k in member.org_keys:
            found.update(by_org.get(k, ()))
        if not member.org_keys and member.key:
            found.update(by_key.get(member.key, ()))
        for g in sorted(found):
            lead = groups[g][0]
            known = similarity(lead.doc_id, member.doc_id) if similarity and needs_similarity(lead, member) else None
            if same_technology(lead, member, known):
                groups[g].append(member)
                break
        else:
            for k in member.org_keys:
                by_org.setdefault(k, []).append(len(groups))
            if not member.org_keys and member.key:
                by_key.setdefault(member.key, []).append(len(groups))
            groups.append([member])
    return groups


def versions_of(group: Sequence[Member]) -> list[Version]:
    """A group's versions, oldest first (undated last); empty for a result that stands alone."""
    if len(group) < 2:
        return []
    versions = sorted((m.version() for m in group),
                      key=lambda v: (v.published is None, v.published.timestamp() if v.published else 0, v.doc_id))
    if len({v.label for v in versions}) < len(versions):  # "feeds 2025" twice says nothing: give the dates
        versions = [v.model_copy(update={"label": v.label.rsplit(" ", 1)[0] + " " + v.published.date().isoformat()})
                    if v.published else v for v in versions]
    return versions


def mean_vectors(doc_ids: Iterable[str], rows: np.ndarray) -> dict[str, np.ndarray]:
    """doc id -> the unit mean of its passage vectors (`doc_ids` names each row's document)."""
    sums: dict[str, np.ndarray] = {}
    for doc_id, row in zip(doc_ids, rows):
        sums[doc_id] = sums[doc_id] + row if doc_id in sums else row.astype(np.float64)
    return {d: v / (np.linalg.norm(v) or 1.0) for d, v in sums.items()}


def lazy_cosine_lookup(load: Callable[[list[str]], dict[str, np.ndarray]]) -> Callable[[str, str], float | None]:
    """`cosine_lookup` of vectors read as the pairs asked need them: `load(doc_ids)` gives the documents' vectors
    (those it has), called for the documents of a pair not read yet. A search of 100 hits asks about 0-2 pairs
    (at 100k documents): it reads their 2-4 documents' passages, not the 100's."""
    vectors: dict[str, np.ndarray] = {}
    read: set[str] = set()
    lookup = cosine_lookup(vectors)

    def similarity(a: str, b: str) -> float | None:
        missing = [d for d in dict.fromkeys((a, b)) if d not in read]
        if missing:
            vectors.update(load(missing))
            read.update(missing)
        return lookup(a, b)

    return similarity


def cosine_lookup(vectors: dict[str, np.ndarray]) -> Callable[[str, str], float | None]:
    def similarity(a: str, b: str) -> float | None:
        if a not in vectors or b not in vectors:
            return None
        return float(np.dot(vectors[a], vectors[b]))

    return similarity
