"""The library that the CLI, the web app, the JSON API and the report all call.

`Library` is the seam; `service.index_library.open_library()` builds the real one from settings. Screens depend on this Protocol only, so tests can also drive them with a deterministic fake.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterable, Protocol, runtime_checkable

from pydantic import Field

from domain.models import Document, DomainModel, Match, NeedMatches, OrgMatch, SearchFilters, SearchHit

if TYPE_CHECKING:  # the ranking package (numpy, the index) is not what `scout --help` should import
    from datetime import datetime

    from index.ranking.feedback import Feedback


class SearchResult(DomainModel):
    query: str
    hits: list[SearchHit]
    # facet name (kind, source, language, concept, area, year) -> value -> count
    facets: dict[str, dict[str, int]] = Field(default_factory=dict)
    facet_hits: int | None = None  # the facets count this many of the query's best hits; None: all documents
    # A query not in Japanese, or a browse: each Japanese value of a term facet the taxonomy knows -> its English
    # name (service.labels.term_gloss), shown beside it: out of the box only Japanese documents have typed terms
    term_glosses: dict[str, str] = Field(default_factory=dict)

    def summary(self, limit: int) -> str:
        """What the list holds, as its heading says it: "the best 20 hits" where a query found as many as it
        asked for (more lie below), "3 hits" where it found fewer (all it found); a browse, "20 of 26 hits,
        newest first" where the filters select more than it lists (its facets count every document they select),
        "3 hits, newest first" otherwise. A heading of "20 hits" had stood above the first 20 of many."""
        n = len(self.hits)
        hits = f"{n} hit" + ("" if n == 1 else "s")
        if self.query.strip():
            return f"the best {hits}" if n >= limit and n > 1 else hits
        total = sum(self.facets.get("kind", {}).values())
        return f"{n} of {total} hits, newest first" if total > n else f"{hits}, newest first"


class SupplierEvidence(DomainModel):
    """A record in the index showing the organization already performs for a defense funder."""

    doc_id: str
    title: str
    source: str
    reason: str  # "sbir award record", "record says “Air Force Phase II award”"


class OrgProfile(DomainModel):
    key: str
    name: str
    known_supplier: bool = False
    org_type: str = "organization"  # company | university | research institute | government | organization
    issuer: bool = False
    new_entrant: bool = False
    evidence: list[SupplierEvidence] = Field(default_factory=list)  # why it is a known supplier (records)
    listed: bool = False  # on the configurable known-suppliers list
    names: list[str] = Field(default_factory=list)  # every name it goes by (株式会社X, X Inc.)
    documents: list[SearchHit] = Field(default_factory=list)
    needs: list[OrgMatch] = Field(default_factory=list)  # needs this organization answers, best first


@runtime_checkable
class Library(Protocol):
    def search(self, query: str, filters: SearchFilters | None = None, limit: int = 20,
               feedback: Feedback | None = None) -> SearchResult:
        """Free-text search (or, with no query, browsing by the filters). A hit's score is its match strength
        for the query: the same whatever the filters, the limit or `feedback` (judgements, as a watchlist's),
        which moves the order only."""
        ...

    def needs(self) -> list[Document]:
        """Every published need, ordered by source, then title."""
        ...

    def match(self, need_id: str, limit: int = 20) -> NeedMatches: ...

    def document(self, doc_id: str) -> Document | None: ...

    def organization(self, name_or_key: str) -> OrgProfile | None: ...

    def needs_answered(self, doc_id: str) -> list[OrgMatch]:
        """The needs `doc_id` is a match of (among each need's best, as the organization page counts them), best
        first: `key` the need's id, `name` its title, `score` the match's score."""
        ...

    def all_matches(self, limit_per_need: int = 20) -> Iterable[Match]: ...

    def match_run_time(self) -> datetime | None:
        """When the matches `organization` and `needs_answered` read were ranked (the last match run), or None
        when they rank the needs themselves."""
        ...

    def judgement_states(self, need_id: str) -> dict[str, str]:
        """The need's current judgements: doc id -> relevant | not_relevant | shortlisted ({} when none)."""
        ...
