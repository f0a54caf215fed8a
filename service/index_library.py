"""The real `Library`: the Qdrant index, the nlp stage and the ranker behind the CLI, the web app and the report."""

from __future__ import annotations

import itertools
import json
import logging
import re
import threading
from collections import Counter
from contextlib import AbstractContextManager, closing, nullcontext
from datetime import datetime
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

from index.backends.base import Cond, Where
from index.ranking.feedback import Feedback
from index.organizations import OrgStatus, alias_classes, award_topics, organization_status
from index.grouping import Member, group_members, lazy_cosine_lookup, mean_vectors, versions_of
from index.ranking import Ranker, organization_score
from index.store import DOC_POINT, TERM_FIELDS, Index, filters_to_where, term_fields
from domain.orgs import answering_organizations, normalize_org
from nlp.pipeline import Enricher
from service import labels
from service.evidence import analysed as _analysed, match_evidence, shown_evidence
from service.library import OrgProfile, SearchResult, SupplierEvidence
from domain.limits import MAX_QUERY_CHARS, checked_text
from domain.models import (Document, DocKind, Evidence, Match, NeedMatches, OrgMatch, SearchFilters, SearchHit,
                           TermRef, document_terms, query_terms, shared_terms)
from domain.settings import IndexSettings, NlpSettings

log = logging.getLogger(__name__)

FACETS = ("kind", "source", "language", "concept", "area", "year")
# A need's organization rows score each organization's documents among the need's best ORGANIZATION_DEPTH matches
# (judged not relevant aside), whatever page or page size was asked for: the same row on every page of the need,
# in `scout match --limit 3`, the API and the brief, and the depth the organization and document pages read from
# the ledger. (They had been scored over the matches asked for: 東都工業大学 0.955 with one document at
# `--limit 3`, 0.959 with two on the page; page 2 of a need re-scored its table over 41 matches.) As many as a
# match run stores by default, so a need the ledger has not seen yet, ranked for those pages this deep, reads
# the same as one it has.
ORGANIZATION_DEPTH = 20
# A document judged relevant or shortlisted for a need is looked for this deep when the match ledger did not
# store it (the depth a judgement's document prefix and the shortlist brief reach)
JUDGED_DEPTH = 200
# Search facets count the query's hits: its best FACET_HITS results (a result grouping several versions counts
# once), not the whole corpus.
FACET_HITS = 100
_FACET_FIELDS = {"kind": "kind", "source": "source", "language": "language", "concept": "concepts",
                 "area": "areas", "year": "year"}
_FACET_PAYLOAD = (*_FACET_FIELDS.values(), *TERM_FIELDS.values())  # the payload fields the facets count


def _newest_years_first(facets: dict[str, dict[str, int]]) -> dict[str, dict[str, int]]:
    years = facets.pop("year", {})
    if years:  # newest year first, like the result list
        facets["year"] = dict(sorted(years.items(), reverse=True))
    return facets


# Typed-term facets (issue 26): a query's hits counted by the technology terms nlp typed in them.
TERM_FACETS = {"method": "METHOD", "material": "MATERIAL", "task": "TASK"}
TERM_FACET_VALUES = 12
_JAPANESE = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff]")


def _count_facets(payloads: list[dict]) -> dict[str, dict[str, int]]:
    """Facet counts over some documents' payloads (their facet fields and `TERM_FIELDS`), most frequent value
    first."""
    out: dict[str, dict[str, int]] = {}
    for facet, kind in TERM_FACETS.items():
        counts: Counter = Counter()
        for payload in payloads:
            counts.update(payload.get(TERM_FIELDS[kind]) or ())
        top = sorted(((v, c) for v, c in counts.items() if c > 1), key=lambda kv: (-kv[1], kv[0]))
        out[facet] = dict(top[:TERM_FACET_VALUES])
    for facet, field in _FACET_FIELDS.items():
        counts: Counter = Counter()
        for payload in payloads:
            value = payload.get(field)
            for v in (value if isinstance(value, list) else [value]):
                if v not in (None, ""):
                    counts[str(v)] += 1
        out[facet] = dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))
    return _newest_years_first(out)


def _term_glosses(facets: dict[str, dict[str, int]]) -> dict[str, str]:
    """Each Japanese value of the term facets the taxonomy knows -> its English name (SearchResult.term_glosses)."""
    values = {v for facet in TERM_FACETS for v in facets.get(facet, {}) if _JAPANESE.search(v)}
    return {v: gloss for v in sorted(values) if (gloss := labels.term_gloss(v))}


def _hit(doc: Document, payload: dict | None = None) -> SearchHit:
    payload = payload or {}
    return SearchHit(doc_id=doc.id, score=0.0, title=doc.title, url=doc.url, kind=doc.kind, source=doc.source,
                     language=doc.language or payload.get("language"), organizations=doc.organizations,
                     concepts=list(payload.get("concepts", [])), terms=document_terms(doc)[:6],
                     published=doc.published)


class JudgementFeedback:
    """A need's judgements (service/analyst.py) as the ranking's relevance feedback (index/ranking/feedback.py).

    The analysts' database is looked up on every call, so judgements made by another process (the web app,
    `scout judge`) count at once; where no analyst ever judged anything (no database file) it costs a stat and
    opens nothing."""

    def __init__(self) -> None:
        self._stores: dict[str, object] = {}

    def _store(self, need_id: str):
        """The analysts' store, or None where no analyst ever judged this need (no database file: a stat)."""
        from domain.settings import AnalystSettings

        settings = AnalystSettings()
        if not settings.database_url and not _may_have_judgements(settings.path, need_id):
            return None
        return self._open(settings)

    def _open(self, settings):
        from service.analyst import AnalystStore, database_url

        url = database_url(settings)
        store = self._stores.get(url)
        if store is None:
            store = self._stores[url] = AnalystStore(url)
        return store

    def __call__(self, need_id: str) -> Feedback | None:
        store = self._store(need_id)
        if store is None:
            return None
        relevant, not_relevant = store.feedback(need_id)
        return Feedback(tuple(relevant), tuple(not_relevant)) if relevant or not_relevant else None

    def states(self, need_id: str) -> dict[str, str]:
        """The need's current document judgements: doc id -> relevant, not_relevant or shortlisted."""
        store = self._store(need_id)
        if store is None:
            return {}
        return {j.target_id: j.state.value for j in store.judgements(need_id, target="document")}

    def document_states(self) -> dict[str, dict[str, str]]:
        """Every need's current document judgements (need id -> doc id -> state), in one query: the
        organization and document pages look at every need."""
        from domain.settings import AnalystSettings

        settings = AnalystSettings()
        if not settings.database_url and not settings.path.exists():
            return {}
        store = self._open(settings)
        out: dict[str, dict[str, str]] = {}
        for j in store.judgements(target="document"):
            out.setdefault(j.need_id, {})[j.target_id] = j.state.value
        return out

    def close(self) -> None:
        for store in self._stores.values():
            store.close()
        self._stores.clear()


def _may_have_judgements(path: Path, need_id: str) -> bool:
    """False when the default SQLite database surely holds no judgement of this need. A plain sqlite3 look
    (read-only) before the store: importing SQLAlchemy would be a third of a cold `scout match`."""
    import sqlite3

    if not path.exists():
        return False
    try:
        with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)) as db:
            return db.execute("SELECT 1 FROM judgements WHERE need_id = ? LIMIT 1", (need_id,)).fetchone() is not None
    except sqlite3.Error:  # no table yet, another layout, locked: let the store decide
        return True


class IndexLibrary:
    """One index, one enricher, one ranker; use as a context manager or call `close()`.

    `feedback` gives a need's judgements to its ranking (None: rank without them, exactly as with none)."""

    thread_safe = False  # the web app serializes calls

    def __init__(self, index: Index, enricher: Enricher, ranker: Ranker | None = None,
                 feedback: Callable[[str], Feedback | None] | None = None, ledger_path: Path | None = None):
        self.index = index
        self.enricher = enricher
        self.ranker = ranker or Ranker(index, enricher)
        self.feedback = feedback
        self.ledger_path = ledger_path  # the match ledger: each need's matches as its last match run stored them
        self._org_cache: dict = {}  # aliases, issuers, statuses: valid while the index is as it was
        self._org_cache_version: tuple[int, int] | None = None  # the `Index.version` they were read at
        self._org_lock = threading.Lock()  # one reading of every document's organizations at a time (`_org_state`)

    def warm_up(self, turn: Callable[[], AbstractContextManager[Any]] = nullcontext) -> None:
        """Load the query models and warm the index up now, so that the first person to search waits for
        neither (at 100k documents the first three searches took 0.8, 0.6 and 0.3 s without it, under 0.1 s with
        it): `Enricher.warm_up_queries` (an English and a Japanese query, past the caches), `Index.warm_up` (the
        point table), `Ranker.warm_up` (the two queries ranked as searches, nothing kept), then the figures every
        need page uses: `Ranker.warm_up_needs` (the needs' statistics) and the organizations' aliases and
        issuers (`_org_state`). Nothing is stored; with an enricher without it, the models load and the searches
        read on first use. `turn()`: held while the models and the ranker's searches work (a caller that
        serializes the library's calls passes its lock), not while the index's table builds or the needs' and
        organizations' figures are computed (they read the index only, and each is computed once: a need page
        that asks meanwhile waits for it)."""
        warm = getattr(self.enricher, "warm_up_queries", None)
        queries = []
        if callable(warm):
            with turn():
                queries = warm()
        self.index.warm_up()
        if queries:
            with turn():
                self.ranker.warm_up(queries)
        self.refresh_figures()

    def refresh_figures(self) -> None:
        """Compute what every need page uses of the corpus (the needs' statistics: `Ranker.warm_up_needs`; the
        organizations' aliases and issuers: `_org_state`) if the corpus changed since they were computed, or
        they were never: `warm_up` runs it last, and `scout serve` every minute after, so that the first need
        page after a crawl does not pay them (at a million documents some 50 s). Nothing when nothing changed.
        It reads the index only: it runs beside the searches, without the library's turn."""
        self.ranker.warm_up_needs()
        self._org_state()

    # -- Library -------------------------------------------------------------------------------------
    def search(self, query: str, filters: SearchFilters | None = None, limit: int = 20,
               feedback: Feedback | None = None) -> SearchResult:
        # A person's free text, bounded at this door too (the CLI, the API, watchlists and the relay reach it):
        # past MAX_QUERY_CHARS, or with a character that is not text, it is refused whole (InputRejected).
        checked_text(query, "the query", MAX_QUERY_CHARS)
        filters = filters or SearchFilters()
        if not query.strip():  # browsing by filters alone (concept and organization links on the pages)
            facets = self.index.facets(filters, keys=(*TERM_FACETS, *FACETS))
            for facet in TERM_FACETS:  # as a query's: the most frequent terms, each in two documents at least
                facets[facet] = dict(list({v: c for v, c in facets[facet].items() if c > 1}.items())
                                     [:TERM_FACET_VALUES])
            return SearchResult(query=query, hits=[self._filter_terms(_hit(d, p), document_terms(d), filters)
                                                  for d, p in self._browse(filters, limit)],
                                facets=_newest_years_first(facets), term_glosses=_term_glosses(facets))
        # The page's hits and the facets' FACET_HITS: every hit is ranked and grouped, the facets count the
        # payload fields of each result's lead, and only the page's results (and their versions) have their
        # documents read and their evidence found: what a search shows, for a fifth of the reading.
        q, ranked = self.ranker.search_ranked(query, filters, max(limit, FACET_HITS), feedback=feedback,
                                              fields=_FACET_PAYLOAD)
        hits = [self.ranker.search_hit(r) for r in ranked]
        fields = self._facet_fields({r.doc_id: r.payload for r in ranked})
        groups = self._groups(hits, alone=set(feedback.not_relevant) if feedback is not None else set())
        facets = _count_facets([fields.get(g[0].doc_id, {}) for g in groups])
        page = groups[:limit]
        payloads = self.index.get_many([m.doc_id for g in page for m in g], ["document"])
        texts = {d: _analysed(p["document"]) for d, p in payloads.items() if p.get("document")}
        by_id = {r.doc_id: r for r in ranked}
        evidence = self.ranker.search_evidence(q, [by_id[g[0].doc_id] for g in page])
        concepts = set(self.ranker.query_concepts(query))
        shown = []
        for group, found in zip(page, evidence):
            h = group[0].item
            for m in group:
                m.text = texts.get(m.doc_id, "")
            terms = document_terms(payloads.get(h.doc_id, {}).get("document"))
            shown.append(h.model_copy(update={
                "versions": versions_of(group),
                "evidence": shown_evidence(found, texts.get(h.doc_id), query, title=h.title),
                "terms": terms[:6], "shared_terms": query_terms(query, terms, concepts)[:8]}))
        # the Japanese terms of an English (or other) query's hits named in English too; a Japanese query's
        # reader reads them as they are
        glosses = _term_glosses(facets) if q.language != "ja" else {}
        return SearchResult(query=query, hits=shown, facets=facets, facet_hits=len(groups), term_glosses=glosses)

    def _facet_fields(self, payloads: dict[str, dict]) -> dict[str, dict]:
        """doc id -> the payload fields the facets count (`payloads`: read with `_FACET_PAYLOAD`); the typed
        terms from the document where the payload lacks their fields (an index written before them)."""
        fields = dict(payloads)
        older = [d for d, p in fields.items() if any(f not in p for f in TERM_FIELDS.values())]
        for d, p in self.index.get_many(older, ["document"]).items() if older else ():
            fields[d] = {**fields[d], **term_fields(document_terms(p.get("document")))}
        return fields

    def _filter_terms(self, hit: SearchHit, terms: list[TermRef], filters: SearchFilters) -> SearchHit:
        """A browsed hit with its terms under the concept or area filtered on (its shared terms with the browse)."""
        if not (filters.concept or filters.area) or not terms:
            return hit
        taxonomy = self.enricher.taxonomy
        known = taxonomy.by_id

        def under(term: TermRef) -> bool:
            if not term.concept or term.concept not in known:
                return False
            if filters.concept and filters.concept not in (term.concept, *taxonomy.ancestors(term.concept)):
                return False
            return not filters.area or filters.area in taxonomy.areas_of(term.concept)

        return hit.model_copy(update={"shared_terms": [t for t in terms if under(t)][:8]})

    def needs(self) -> list[Document]:
        return sorted(self.index.documents(kind=DocKind.need), key=lambda d: (d.source, d.title))

    def match(self, need_id: str, limit: int = 20) -> NeedMatches:
        # The screens' contract: any id that is not a need is a KeyError (the ranker raises ValueError for a
        # document of another kind).
        doc = self.index.get(need_id)
        if doc is None or doc.kind != DocKind.need:
            raise KeyError(f"unknown need id {need_id!r}")
        # Versions of one technology fold into one result: ask for more, so that `limit` results remain (and
        # the ORGANIZATION_DEPTH best that score the organization rows).
        depth = max(limit, ORGANIZATION_DEPTH)
        need, ranked = self.ranker.matches(need_id, limit=2 * depth + 10, feedback=self.feedback_for(need_id))
        need_text = _analysed(need)
        texts = self._analysed_texts([m.doc_id for m in ranked])
        states = self.judgement_states(need_id)
        # A document judged not relevant is never folded into another result as one of its versions (its
        # feedback moves it below a sibling version, which would then list it, unjudged, as its own): it stays
        # a result of its own, listed with its judgement.
        matches = self._grouped(ranked, texts, alone={d for d, state in states.items() if state == "not_relevant"})
        for m in matches:
            m.judgement = states.get(m.doc_id)
        # A match judged not relevant never rises: it goes below every other one (the page hides it), kept in
        # the list so that every view can say how it was judged.
        kept = [m for m in matches if m.judgement != "not_relevant"]
        # one technology counts once for its firm; one firm under its Japanese and English names is one row;
        # a document judged not relevant vouches for no organization; the rows never depend on `limit`. The
        # window is the best ORGANIZATION_DEPTH by score, judged or not, not the first in the order judgements
        # give: a judgement then moves the rows of the organizations its document names, and no other (its
        # window had taken the first 20 after relevance feedback, so judging one firm's document moved another's
        # row in or out). A document judged relevant or shortlisted below it counts too, as on the organization
        # page.
        window = {m.doc_id for m in sorted(matches, key=lambda m: -m.score)[:ORGANIZATION_DEPTH]}
        counted = [m for m in sorted(kept, key=lambda m: -m.score)
                   if m.doc_id in window or m.judgement in ("relevant", "shortlisted")]
        matches = kept[:limit] + [m for m in matches if m.judgement == "not_relevant"]
        need_terms = document_terms(need)
        doc_terms = self._terms([m.doc_id for m in matches]) if need_terms else {}
        for rank, m in enumerate(matches, start=1):
            m.rank = rank
            m.need_evidence, m.doc_evidence = match_evidence(m, need, need_text, texts.get(m.doc_id))
            m.shared_terms = shared_terms(need_terms, doc_terms.get(m.doc_id, []))[:8]
        result = NeedMatches(need=need, matches=matches,
                             organizations=self._merge_aliases(
                                 self.ranker.organizations(counted, issuers=need.organizations), counted))
        for org in result.organizations:
            status = self._org_status(org.name, org.key)
            org.known_supplier, org.org_type = status.known_supplier, str(status.org_type)
            org.issuer, org.new_entrant = status.issuer, status.new_entrant
        return result

    # -- organizations -------------------------------------------------------------------------------
    def _merge_aliases(self, orgs: list[OrgMatch], matches: list[Match]) -> list[OrgMatch]:
        """Organizations that records show to be one (株式会社X (X Inc.)) become one row: the most frequent
        key leads, documents are united, the score is recomputed over them like the ranker's."""
        aliases = self._org_state()["aliases"]
        groups: dict[str, list[OrgMatch]] = {}
        for org in orgs:
            groups.setdefault(min(aliases.get(org.key, {org.key})), []).append(org)
        if all(len(g) == 1 for g in groups.values()):
            return orgs
        score_of = {m.doc_id: m.score for m in matches}
        out = []
        for group in groups.values():
            lead = max(group, key=lambda o: (len(o.doc_ids), o.score))
            doc_ids = list(dict.fromkeys(d for o in group for d in o.doc_ids))
            doc_ids.sort(key=lambda d: -score_of.get(d, 0.0))
            score = organization_score([score_of.get(d, 0.0) for d in doc_ids], self.ranker.weights.org_decay)
            out.append(lead.model_copy(update={"doc_ids": doc_ids, "score": score,
                                               "known_supplier": any(o.known_supplier for o in group)}))
        return sorted(out, key=lambda o: -o.score)

    def _org_state(self) -> dict:
        """The organizations' aliases, the needs' issuers and the award topics, read from every document (4 s at
        100k documents, about 20 s at a million): kept while the index is as it was (`Index.version`, cheap: a
        need page asks some 40 times, and an exact count of the documents took 70 ms at a million);
        computed once, a caller that comes meanwhile (a need page while `warm_up` computes it) waits for it."""
        version = self.index.version()
        if version == self._org_cache_version:
            return self._org_cache
        with self._org_lock:
            if version == self._org_cache_version:  # computed while this caller waited
                return self._org_cache
            names, issuers, issuer_names = [], set(), []
            where = Where((Cond("point", value=DOC_POINT),))
            for h in self.index.scan(where, payload=["organizations", "org_keys", "kind"]):
                names += h.payload.get("organizations") or []
                if h.payload.get("kind") == DocKind.need:
                    issuers.update(h.payload.get("org_keys") or [])
                    issuer_names += h.payload.get("organizations") or []
            self._org_cache = {"aliases": alias_classes(names), "issuers": issuers,
                               "issuer_names": list(dict.fromkeys(issuer_names)), "status": {},
                               "topics": award_topics(self.index.documents(kind=DocKind.need))}
            self._org_cache_version = version
            return self._org_cache

    def _org_keys(self, key: str) -> set[str]:
        return set(self._org_state()["aliases"].get(key, {key}))

    def _org_status(self, name: str, key: str) -> OrgStatus:
        """One organization's status, cached while the index is as it was (the status only: its records are
        read as a stream, each once, and none is kept; at a million documents, 200 records an organization,
        15.7 ms an organization, and the records held would have grown with every organization shown)."""
        state = self._org_state()
        if key not in state["status"]:
            keys = self._org_keys(key)
            where = Where((Cond("point", value=DOC_POINT), Cond("org_keys", any=tuple(sorted(keys)))))
            records = (Document.model_validate(h.payload["document"])
                       for h in self.index.scan(where, payload=["document"]))
            listed = any(k in self.ranker.known_suppliers for k in keys)
            state["status"][key] = organization_status(name, keys, records, listed=listed,
                                                       issuer_keys=state["issuers"], topics=state["topics"],
                                                       issuer_names=state["issuer_names"])
        return state["status"][key]


    def _groups(self, results: list, alone: frozenset[str] | set[str] = frozenset()) -> list[list[Member]]:
        """The results grouped by technology (see `index.grouping`), best version first; a result's passage
        vectors are read only if a pair's grouping depends on them. A result in `alone` (judged not relevant)
        is a group of its own, in its place: it neither joins nor leads another's versions."""
        members = [Member(r, r.doc_id, r.title, r.organizations, r.published, r.score, r.url, r.source)
                   for r in results]
        if len(members) < 2:
            return [[m] for m in members]

        def vectors(ids: list[str]) -> dict:
            return mean_vectors(*self.index.passage_vectors(doc_ids=ids))

        groups = group_members([m for m in members if m.doc_id not in alone], lazy_cosine_lookup(vectors))
        if not alone:
            return groups
        # group_members orders the groups by their leads' places: the ones left alone go back to theirs
        place = {m.doc_id: i for i, m in enumerate(members)}
        return sorted(groups + [[m] for m in members if m.doc_id in alone], key=lambda g: place[g[0].doc_id])

    def _grouped(self, results: list, texts: dict[str, str], alone: frozenset[str] | set[str] = frozenset()) -> list:
        """One result per technology: the best version leads, the others are listed (see `_groups`)."""
        if len(results) < 2:
            return results
        groups = self._groups(results, alone)
        for group in groups:
            for m in group:
                m.text = texts.get(m.doc_id, "")
        return [g[0].item.model_copy(update={"versions": versions_of(g)}) for g in groups]

    def document(self, doc_id: str) -> Document | None:
        return self.index.get(doc_id)

    def _terms(self, doc_ids: list[str]) -> dict[str, list]:
        """Each document's typed technology terms (domain.models.document_terms)."""
        payloads = self.index.get_many(doc_ids, ["document"])
        return {d: document_terms(p.get("document")) for d, p in payloads.items()}

    def organization(self, name_or_key: str) -> OrgProfile | None:
        key = normalize_org(name_or_key) or name_or_key
        keys = self._org_keys(key)
        docs = self._browse(SearchFilters(), limit=200, org_keys=keys)
        if not docs:
            return None
        names = Counter()
        for doc, payload in docs:
            for org_key, org_name in (payload.get("analysis_orgs") or {}).items():
                if org_key in keys:
                    names[org_name] += 1
            for org_name in doc.organizations:
                if normalize_org(org_name) in keys:
                    names[org_name] += 1
        name = names.most_common(1)[0][0] if names else name_or_key
        status = self._org_status(name, key)
        per_need = self._needs_answered_by({d.id for d, _ in docs}, org_names=list(names) or [name])
        return OrgProfile(key=key, name=name, known_supplier=status.known_supplier, org_type=str(status.org_type),
                          issuer=status.issuer, new_entrant=status.new_entrant,
                          listed=any(k in self.ranker.known_suppliers for k in keys),
                          evidence=[SupplierEvidence(doc_id=e.doc_id, title=e.title, source=e.source, reason=e.reason)
                                    for e in status.evidence],
                          names=[n for n, _ in names.most_common()],
                          documents=[_hit(d, p) for d, p in docs], needs=per_need)

    def needs_answered(self, doc_id: str) -> list[OrgMatch]:
        return self._needs_answered_by({doc_id})

    def _needs_answered_by(self, doc_ids: set[str], org_names: list[str] | None = None) -> list[OrgMatch]:
        """The needs some of `doc_ids` (one organization's documents) answer, best first, each scored over
        those documents like a need page's organization row; with `org_names` (the organization's), not the
        needs it issued (AFRL answers no Air Force topic: the need page leaves it out too).

        Read from the match ledger: each need's matches as its last match run (`scout run match`, the
        pipeline) stored them, so a page costs one query, not one ranking per need. A need the ledger has not
        seen yet (added since, or no run at all) is ranked here, its best ORGANIZATION_DEPTH. The need's
        judgements are read now, not as the run saw them (scores do not move with judgements): a document
        judged not relevant since counts for nothing, as on the need page and in the weekly report; one judged
        relevant or shortlisted counts even where the run ranked it below what it stored (the need page pins
        it), scored by ranking that need (JUDGED_DEPTH deep)."""
        stored: dict[str, list[tuple[str, float]]] = {}
        for m in self._stored_matches():
            stored.setdefault(m.need_id, []).append((m.doc_id, m.score))
        every = getattr(self.feedback, "document_states", None)  # every need's judgements in one query
        judged = every() if callable(every) else None
        per_need: list[OrgMatch] = []
        for need in self.needs():
            if org_names and not answering_organizations(org_names, need.organizations):
                continue
            states = judged.get(need.id, {}) if judged is not None else self.judgement_states(need.id)
            if need.id in stored:
                matches = [(d, score) for d, score in stored[need.id] if d in doc_ids]
            else:
                ranked = self.ranker.matches(need.id, limit=ORGANIZATION_DEPTH,
                                             feedback=self.feedback_for(need.id))[1]
                matches = [(m.doc_id, m.score) for m in ranked if m.doc_id in doc_ids]
            matches = [(d, score) for d, score in matches if states.get(d) != "not_relevant"]
            listed = {d for d, _ in matches}
            vouched = {d for d, state in states.items()
                       if state in ("relevant", "shortlisted") and d in doc_ids and d not in listed}
            if vouched:
                ranked = self.ranker.matches(need.id, limit=JUDGED_DEPTH, feedback=self.feedback_for(need.id))[1]
                matches = sorted([*matches, *((m.doc_id, m.score) for m in ranked if m.doc_id in vouched)],
                                 key=lambda ds: -ds[1])
            if matches:
                score = organization_score([s for _, s in matches], self.ranker.weights.org_decay)
                per_need.append(OrgMatch(key=need.id, name=need.title, score=score, doc_ids=[d for d, _ in matches]))
        per_need.sort(key=lambda o: -o.score)
        return per_need

    def match_run_time(self) -> datetime | None:
        """When the last match run started: the needs' matches the organization and document pages read from
        the ledger are as it ranked them. None without a run (those pages rank the needs themselves)."""
        if self.ledger_path is None or not Path(self.ledger_path).exists():
            return None
        from index.ledger import Ledger

        last = Ledger(self.ledger_path).last_match_run()
        return last[1] if last else None

    def _stored_matches(self) -> list:
        if self.ledger_path is None or not Path(self.ledger_path).exists():
            return []
        from index.ledger import Ledger

        return Ledger(self.ledger_path).latest_matches()

    def all_matches(self, limit_per_need: int = 20) -> Iterable[Match]:
        for need in self.needs():
            yield from self.match(need.id, limit=limit_per_need).matches

    # -- helpers -------------------------------------------------------------------------------------
    def _analysed_texts(self, doc_ids: list[str]) -> dict[str, str]:
        if not doc_ids:
            return {}
        return {d: _analysed(p["document"]) for d, p in self.index.get_many(doc_ids, ["document"]).items()
                if p.get("document")}

    def _browse(self, filters: SearchFilters, limit: int,
                org_keys: set[str] | None = None) -> list[tuple[Document, dict]]:
        where = filters_to_where(filters).and_(Cond("point", value=DOC_POINT))
        if org_keys:  # an organization under all its names
            where = where.and_(Cond("org_keys", any=tuple(sorted(org_keys))))
        out: list[tuple[Document, dict]] = []
        for h in itertools.islice(self.index.scan(where, payload=["document", "concepts", "analysis"]), limit):
            analysis = h.payload.get("analysis") or {}
            out.append((Document.model_validate(h.payload["document"]),
                        {"concepts": h.payload.get("concepts", []),
                         "analysis_orgs": analysis.get("organizations", {})}))
        # newest first; undated documents last
        out.sort(key=lambda dp: (dp[0].published is not None, dp[0].published and dp[0].published.timestamp()),
                 reverse=True)
        return out[:limit]

    def judgement_states(self, need_id: str) -> dict[str, str]:
        """The need's current document judgements (doc id -> state), {} without a judgement source."""
        states = getattr(self.feedback, "states", None)
        return states(need_id) if callable(states) else {}

    def feedback_for(self, need_id: str) -> Feedback | None:
        """The need's judgements as relevance feedback, or None when it has none (or no source is set)."""
        return self.feedback(need_id) if self.feedback is not None else None

    def close(self) -> None:
        close_feedback = getattr(self.feedback, "close", None)
        if callable(close_feedback):
            close_feedback()
        self.index.close()

    def __enter__(self) -> "IndexLibrary":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def model_folder_dim(folder: Path) -> int | None:
    """The output size of a sentence-transformers model folder, read from its module configs (the last
    Pooling or Dense module), or None when the folder does not say. Reading two small JSON files instead of
    loading the model keeps `scout needs`, `scout match` and a locked-index error instant."""
    try:
        modules = json.loads((folder / "modules.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    dim = None
    for module in sorted(modules, key=lambda m: m.get("idx", 0)):
        kind = str(module.get("type", ""))
        if not kind.endswith((".Pooling", ".Dense")):
            continue
        try:
            config = json.loads((folder / module.get("path", "") / "config.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        dim = config.get("out_features" if kind.endswith(".Dense") else "word_embedding_dimension", dim)
    return int(dim) if dim else None


def _embedding_dim(enricher: Enricher, settings: NlpSettings) -> int:
    folder = Path(settings.model) if settings.model else None
    if folder is None:
        try:
            from nlp.embedder import default_model_path

            folder = default_model_path()
        except ImportError:
            folder = None
    dim = model_folder_dim(folder) if folder is not None and folder.is_dir() else None
    return dim if dim is not None else enricher.embedder.dim  # a hub name: the model tells


def open_library(read_only: bool = False, *, index_settings: IndexSettings | None = None,
                 nlp_settings: NlpSettings | None = None, command: str | None = None) -> IndexLibrary:
    """The library over the configured index. `read_only` is advisory: screens never write.

    The index (and its owner lock) opens before any model loads: a locked index fails at once, and commands
    that never embed text (needs, match, org, export) never load the model at all.
    """
    nlp_settings = nlp_settings or NlpSettings()
    enricher = Enricher(nlp_settings)
    settings = index_settings or IndexSettings()
    multilingual = nlp_settings.multilingual != "off"
    index = Index(settings, dim=_embedding_dim(enricher, nlp_settings), command=command, sentences=multilingual)
    if multilingual and not index.has_sentences():
        # Created with the channel off (or before it): a shard cannot gain a named vector, so the channel stays
        # off for this index, its rankings those without it, until a re-index.
        log.warning(missing_sentences_notice(settings))
        enricher.turn_multilingual_off()
    return IndexLibrary(index, enricher, feedback=JudgementFeedback(), ledger_path=settings.ledger_path)


def missing_sentences_notice(settings: IndexSettings) -> str:
    """The one line said when the multilingual channel is on but the index has no storage for its vectors."""
    if settings.backend == "server":
        where, anew = f"collection {settings.collection!r} at {settings.url}", "a new collection (SCOUT_INDEX_COLLECTION)"
    else:
        where, anew = f"index at {settings.resolved_path}", "a new index (move this folder aside)"
    return (f"the {where} was created without the multilingual sentence vectors (SCOUT_NLP_MULTILINGUAL=off), so "
            f"the language-agnostic channel is off for it and ranking goes without it; a re-index adds it: into "
            f"{anew}, move inbox/done/*.jsonl back to the inbox and run `scout run enrich`")


def owner_endpoint(library: object, endpoint: str, commands: Callable[[dict], dict] | None = None):
    """The routes through which `scout serve` serves `library`'s index to the other processes of this machine at
    `endpoint` (`index.owner`), when `library` owns an embedded index; else None (a Qdrant server needs no
    owner; a test's in-memory library has no index). `commands` runs relayed query commands (`scout.relay`)."""
    if not isinstance(library, IndexLibrary) or not library.index.owned:
        return None
    from index.backends.owner_routes import owner_router

    token = library.index.share(endpoint)
    return owner_router(library.index.backend, token, commands)
