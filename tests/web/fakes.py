"""`MemoryLibrary`: a deterministic in-memory `service.library.Library` over a small bilingual fixture set.

It stands in for the real library (Qdrant + nlp) in the CLI, API and browser tests and in `bench/web_load.py --fake`.
Ranking is plain TF-IDF over English words and Japanese character bigrams, plus a concept channel that bridges
the two languages, so results are stable, explainable and differ by query; nothing here is hard-coded per test.

Conventions the screens rely on (the real library follows the same ones):
- `match()` raises `KeyError` for an id that is not a need;
- `OrgProfile.needs` holds one `OrgMatch` per need the organization answers: `key` is the need id, `name` the
  need title, `score` the organization's score for that need, `doc_ids` its documents that match it.
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from datetime import datetime, timezone
from typing import Iterable

from index.organizations import organization_type
from service.library import OrgProfile, SearchResult
from domain.models import (
    DocKind,
    Document,
    Evidence,
    Match,
    NeedMatches,
    OrgMatch,
    ScoreBreakdown,
    SearchFilters,
    SearchHit,
)

# Fixed "now" so that recency scores never change between runs.
REFERENCE_NOW = datetime(2026, 11, 1, tzinfo=timezone.utc)

# concept id -> (areas, labels in both languages); ids follow nlp/taxonomy.yaml where it has them.
CONCEPTS: dict[str, tuple[list[str], list[str]]] = {
    "metamaterial": (["jp-materials", "us-materials"], ["metamaterial", "metasurface", "メタマテリアル", "メタサーフェス"]),
    "radar-absorbing-material": (
        ["jp-materials", "us-materials"],
        ["radar absorbing", "radar-absorbing", "microwave absorber", "電波吸収", "レーダー吸収"],
    ),
    "quantum-sensing": (
        ["jp-quantum", "jp-sensing", "us-quantum", "us-sensing"],
        ["quantum sensing", "quantum sensor", "magnetometer", "量子センサ", "量子センシング"],
    ),
    "navigation": (["jp-sensing", "us-sensing"], ["navigation", "gps-denied", "航法", "測位"]),
    "counter-uas": (["jp-sensing", "us-sensing"], ["counter-uas", "drone detection", "counter-drone", "ドローン検知", "対ドローン"]),
    "rf-sensing": (["jp-sensing", "us-sensing"], ["rf sensing", "passive rf", "radio frequency", "電波センシング"]),
    "battery": (["us-materials"], ["battery", "batteries", "lithium", "蓄電池", "電池"]),
}

KNOWN_SUPPLIERS = {"lockheed-martin", "mitsubishi-electric"}


def _doc(kind: str, source: str, sid: str, title: str, text: str, lang: str, orgs: list[str], published: str,
         concepts: list[str], new: bool = False, url: str | None = None) -> Document:
    return Document.make(
        kind=kind,
        source=source,
        source_id=sid,
        url=url or f"https://example.org/{source}/{sid}",
        title=title,
        text=text,
        language=lang,
        organizations=orgs,
        published=datetime.fromisoformat(published).replace(tzinfo=timezone.utc),
        first_seen=datetime(2026, 10, 30 if new else 1, tzinfo=timezone.utc),
        meta={"concepts": concepts, "is_new": new},
    )


PAYLOAD_TITLE = "<script>alert(1)</script> Radar absorbing <b>paint</b> for drones"
PAYLOAD_TEXT = (
    'Radar absorbing metamaterial paint. <img src=x onerror="alert(2)"> '
    '"><svg onload=alert(3)> <a href="javascript:alert(5)">click</a> & more radar absorbing tests.'
)
PAYLOAD_ORG = "<i>Evil</i> Corp"


def fixture_documents() -> list[Document]:
    """Thirteen needs, research results and startups; Japanese and English; one hostile record."""
    return [
        # Needs
        _doc("need", "atla", "atla-2026-07", "電波吸収材を用いた艦艇の低被探知化技術",
             "防衛装備庁は、艦艇の上部構造物に適用可能な広帯域の電波吸収材を求めている。"
             "メタマテリアルやメタサーフェスを用いた薄型・軽量の電波吸収体により、レーダー反射断面積を低減すること。"
             "耐候性と量産性も重視する。", "ja", ["防衛装備庁"], "2026-06-15", ["radar-absorbing-material", "metamaterial"]),
        _doc("need", "sbir", "AF262-001", "Quantum sensors for GPS-denied navigation",
             "The Air Force seeks compact quantum sensors for navigation when GPS is denied or jammed. "
             "Magnetometer arrays for magnetic anomaly navigation are of particular interest. "
             "Solutions must fit small aircraft and tolerate vibration.", "en", ["U.S. Air Force"], "2026-03-02",
             ["quantum-sensing", "navigation"]),
        _doc("need", "diu", "diu-cuas-2025", "Passive RF sensing for counter-UAS detection",
             "DIU is looking for passive RF sensing that detects small drones at the tactical edge. "
             "Counter-UAS systems should classify drone emissions without transmitting. "
             "Low size, weight and power matters.", "en", ["Defense Innovation Unit"], "2025-11-20",
             ["counter-uas", "rf-sensing"]),
        _doc("need", "diana", "diana-2026-energy", "Lightweight batteries for dismounted soldiers",
             "NATO DIANA invites lightweight high energy density batteries that reduce the load carried by "
             "dismounted soldiers. Safe lithium chemistries that work in cold weather are preferred.", "en",
             ["NATO DIANA"], "2026-01-10", ["battery"]),
        # Research
        _doc("research", "arxiv", "2604.01234", "Broadband radar absorbing metamaterial with resistive frequency selective surfaces",
             "We design a thin broadband radar absorbing metamaterial built from resistive frequency selective surfaces. "
             "The absorber reaches 90 percent absorption from 6 to 18 GHz. It is light and suits ship superstructures.",
             "en", ["Tohoku University"], "2026-04-02", ["metamaterial", "radar-absorbing-material"]),
        _doc("research", "jstage", "jst-2025-1187", "メタサーフェスを用いた広帯域電波吸収体の設計",
             "本研究では、メタサーフェスを用いた薄型の広帯域電波吸収体を設計した。"
             "8から12 GHzで反射損失マイナス20 dB以下を達成した。量産可能な印刷工程で製作した。",
             "ja", ["東北大学"], "2025-09-01", ["metamaterial", "radar-absorbing-material"]),
        _doc("research", "arxiv", "2603.04567", "Atomic magnetometer arrays for magnetic anomaly navigation",
             "We demonstrate quantum sensing with atomic magnetometer arrays for magnetic anomaly navigation without GPS. "
             "Flight tests on a small aircraft show vibration tolerance.", "en",
             ["Massachusetts Institute of Technology"], "2026-03-15", ["quantum-sensing", "navigation"]),
        _doc("research", "kaken", "23K01234", "ダイヤモンドNV中心を用いた量子センサによる航法",
             "ダイヤモンドNV中心を用いた量子センサにより、衛星測位が使えない環境での航法を実現する。"
             "小型化と耐振動性を検証した。", "ja", ["東京工業大学"], "2024-04-01", ["quantum-sensing", "navigation"]),
        _doc("research", "openalex", "W4400000001", "Solid-state lithium metal batteries with high energy density",
             "Solid-state lithium metal batteries reach high energy density and keep capacity in cold weather. "
             "The cells are safe under puncture.", "en", ["Kyoto University"], "2025-02-20", ["battery"]),
        # Startups
        _doc("startup", "rss", "metasurface-labs-seed", "Metasurface Labs raises seed round for radar absorbing coatings",
             "Metasurface Labs makes printable radar absorbing coatings from metasurface films for ships and drones.",
             "en", ["Metasurface Labs Inc."], "2026-10-28", ["metamaterial", "radar-absorbing-material"], new=True),
        _doc("startup", "rss", "quantnav-launch", "QuantNav ships a chip-scale quantum magnetometer",
             "QuantNav ships a chip-scale quantum magnetometer for navigation in GPS-denied environments.",
             "en", ["QuantNav"], "2026-08-05", ["quantum-sensing", "navigation"]),
        _doc("startup", "rss", "lm-rf-cuas", "Lockheed Martin partners on passive RF drone detection",
             "Lockheed Martin announced a partnership on passive RF sensing for counter-drone detection.",
             "en", ["Lockheed Martin"], "2025-12-01", ["counter-uas", "rf-sensing"]),
        _doc("startup", "prtimes", "metatech-2026", "株式会社メタテック、薄型電波吸収シートを発表",
             "株式会社メタテックは、メタマテリアル構造を用いた薄型の電波吸収シートを発表した。ドローンや艦艇への適用を想定する。",
             "ja", ["株式会社メタテック"], "2026-09-10", ["metamaterial", "radar-absorbing-material"], new=True),
        # A hostile record: crawled text is untrusted.
        _doc("startup", "rss", "payload-1", PAYLOAD_TITLE, PAYLOAD_TEXT, "en", [PAYLOAD_ORG], "2026-05-05",
             ["radar-absorbing-material"], url="javascript:alert(4)"),
    ]


_WORD = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uff66-\uff9f]+")
_STOP = set("a an and are as at be by for from in is it of on or that the this to with we without when our its".split())
_SENTENCE = re.compile(r"[^.!?。！？\n]+[.!?。！？]?")


def tokens(text: str) -> list[str]:
    """English words (no stop words) and Japanese character bigrams."""
    low = text.lower()
    out = [w for w in _WORD.findall(low) if w not in _STOP and len(w) > 1]
    for run in _CJK.findall(text):
        out.extend(run[i : i + 2] for i in range(len(run) - 1)) if len(run) > 1 else out.append(run)
    return out


def concepts_in(text: str) -> list[str]:
    low = text.lower()
    return sorted(cid for cid, (_, labels) in CONCEPTS.items() if any(label.lower() in low for label in labels))


def org_key(name: str) -> str:
    name = re.sub(r"(株式会社|\binc\.?|\bltd\.?|\bcorp\.?)", "", name, flags=re.IGNORECASE)
    key = re.sub(r"[^\w]+", "-", name.casefold()).strip("-")
    return key or "unknown"


class MemoryLibrary:
    """The Library Protocol over fixture documents held in memory."""

    def __init__(self, documents: Iterable[Document] | None = None) -> None:
        self.docs: dict[str, Document] = {d.id: d for d in (documents if documents is not None else fixture_documents())}
        self._order = sorted(self.docs)  # deterministic tie-break
        self._tf = {i: Counter(tokens(self._analysed(d))) for i, d in self.docs.items()}
        df: Counter[str] = Counter()
        for tf in self._tf.values():
            df.update(tf.keys())
        n = len(self.docs)
        self._idf = {t: math.log(1 + n / c) for t, c in df.items()}
        self._vec = {i: self._weights(tf) for i, tf in self._tf.items()}

    def add(self, doc: Document) -> None:
        """A document arrives (a crawl): the statistics are rebuilt, as re-indexing would."""
        self.__init__([*self.docs.values(), doc])

    # -- helpers -------------------------------------------------------------------------------------
    @staticmethod
    def _analysed(doc: Document) -> str:
        return f"{doc.title}\n{doc.text}"

    def concepts(self, doc: Document) -> list[str]:
        return list(doc.meta.get("concepts", []))

    def areas(self, doc: Document) -> list[str]:
        return sorted({a for c in self.concepts(doc) for a in CONCEPTS.get(c, ([], []))[0]})

    def _weights(self, tf: Counter[str]) -> dict[str, float]:
        w = {t: (1 + math.log(c)) * self._idf.get(t, 1.0) for t, c in tf.items()}
        norm = math.sqrt(sum(v * v for v in w.values())) or 1.0
        return {t: v / norm for t, v in w.items()}

    @staticmethod
    def _cos(a: dict[str, float], b: dict[str, float]) -> float:
        if len(a) > len(b):
            a, b = b, a
        return sum(v * b.get(t, 0.0) for t, v in a.items())

    def _best_sentence(self, doc: Document, terms: set[str]) -> Evidence | None:
        text = self._analysed(doc)
        best: tuple[float, int, int] | None = None
        for m in _SENTENCE.finditer(text):
            sentence = m.group().strip()
            if not sentence:
                continue
            overlap = len(terms & set(tokens(sentence)))
            if best is None or overlap > best[0]:
                start = m.start() + (len(m.group()) - len(m.group().lstrip()))
                best = (overlap, start, start + len(sentence))
        if best is None:
            return None
        _, start, end = best
        return Evidence(passage_index=0, start=start, end=end, text=text[start:end])

    def _hit(self, doc: Document, score: float, terms: set[str]) -> SearchHit:
        return SearchHit(
            doc_id=doc.id, score=round(score, 6), title=doc.title, url=doc.url, kind=doc.kind, source=doc.source,
            language=doc.language, organizations=doc.organizations, concepts=self.concepts(doc),
            published=doc.published, evidence=self._best_sentence(doc, terms),
        )

    def _passes(self, doc: Document, f: SearchFilters) -> bool:
        day = doc.published.date() if doc.published else None
        return not (
            (f.kind and doc.kind != f.kind)
            or (f.source and doc.source != f.source)
            or (f.language and doc.language != f.language)
            or (f.since and (day is None or day < f.since))
            or (f.until and (day is None or day > f.until))
            or (f.concept and f.concept not in self.concepts(doc))
            or (f.area and f.area not in self.areas(doc))
            or (f.organization and org_key(f.organization) not in {org_key(o) for o in doc.organizations})
        )

    # -- the Library Protocol -----------------------------------------------------------------------------
    def search(self, query: str, filters: SearchFilters | None = None, limit: int = 20,
               feedback=None) -> SearchResult:
        from domain.limits import MAX_QUERY_CHARS, checked_text

        checked_text(query, "the query", MAX_QUERY_CHARS)  # the contract: the library bounds its door too
        filters = filters or SearchFilters()
        qterms = tokens(query)
        qvec = self._weights(Counter(qterms)) if qterms else {}
        qconcepts = set(concepts_in(query))
        scored: list[tuple[float, str]] = []
        for doc_id in self._order:
            doc = self.docs[doc_id]
            if not self._passes(doc, filters):
                continue
            if not query.strip():
                score = 0.0
            else:
                shared = qconcepts & set(self.concepts(doc))
                score = 0.7 * self._cos(qvec, self._vec[doc_id]) + 0.3 * (len(shared) / len(qconcepts) if qconcepts else 0)
                if score <= 0:
                    continue
            scored.append((score, doc_id))
        if query.strip():
            scored.sort(key=lambda s: (-s[0], s[1]))
        else:  # no query: newest first
            scored.sort(key=lambda s: (-(self.docs[s[1]].published or REFERENCE_NOW).timestamp(), s[1]))
        if feedback is not None:  # judgements move the order only: not relevant below every other
            scored.sort(key=lambda s: s[1] in feedback.not_relevant)
        facets: dict[str, dict[str, int]] = defaultdict(dict)
        for _, doc_id in scored:
            doc = self.docs[doc_id]
            values = {
                "kind": [doc.kind.value], "source": [doc.source], "language": [doc.language or "other"],
                "concept": self.concepts(doc), "area": self.areas(doc),
                "year": [str(doc.published.year)] if doc.published else [],
            }
            for facet, vals in values.items():
                for v in vals:
                    facets[facet][v] = facets[facet].get(v, 0) + 1
        terms = set(qterms)
        hits = [self._hit(self.docs[i], s, terms) for s, i in scored[:limit]]
        ordered = {k: dict(sorted(v.items(), key=lambda kv: (-kv[1], kv[0]))) for k, v in sorted(facets.items())}
        return SearchResult(query=query, hits=hits, facets=ordered)

    def needs(self) -> list[Document]:
        return sorted((d for d in self.docs.values() if d.kind == DocKind.need), key=lambda d: (d.source, d.title))

    def document(self, doc_id: str) -> Document | None:
        return self.docs.get(doc_id)

    def _match_all(self, need: Document) -> list[Match]:
        nconcepts = set(self.concepts(need))
        nvec = self._vec[need.id]
        rows: list[tuple[float, str, ScoreBreakdown, list[str]]] = []
        for doc_id in self._order:
            doc = self.docs[doc_id]
            if doc.kind == DocKind.need:
                continue
            shared = sorted(nconcepts & set(self.concepts(doc)))
            sparse = self._cos(nvec, self._vec[doc_id])
            concept = len(shared) / len(nconcepts | set(self.concepts(doc))) if nconcepts else 0.0
            dense = 0.5 * sparse + 0.5 * concept  # stands in for the multilingual embedding
            if sparse <= 0 and not shared:
                continue
            age_years = max(0.0, (REFERENCE_NOW - (doc.published or REFERENCE_NOW)).days / 365.25)
            recency = math.exp(-age_years / 2)
            kind = 1.0 if doc.kind == DocKind.research else 0.9
            # contributions on the score's scale, adding up to it (every part in [0, 1], weights sum to 1)
            parts = {"dense": 0.275 * dense, "sparse": 0.275 * sparse, "concept": 0.3 * concept,
                     "recency": 0.1 * recency, "kind": 0.05 * kind}
            parts = {k: round(v, 4) for k, v in parts.items()}
            b = ScoreBreakdown(**parts, total=round(sum(parts.values()), 4), similarity=round(dense, 4),
                               bm25=round(sparse, 4))
            rows.append((b.total, doc_id, b, shared))
        rows.sort(key=lambda r: (-r[0], r[1]))
        matches = []
        for rank, (total, doc_id, b, shared) in enumerate(rows, start=1):
            doc = self.docs[doc_id]
            need_ev = self._best_sentence(need, set(self._tf[doc_id]))
            doc_ev = self._best_sentence(doc, set(self._tf[need.id]))
            matches.append(Match(
                need_id=need.id, doc_id=doc_id, rank=rank, score=total, breakdown=b, shared_concepts=shared,
                need_evidence=need_ev, doc_evidence=doc_ev, title=doc.title, url=doc.url, kind=doc.kind,
                source=doc.source, organizations=doc.organizations, published=doc.published,
                is_new=bool(doc.meta.get("is_new")),
            ))
        return matches

    @staticmethod
    def _orgs(matches: list[Match]) -> list[OrgMatch]:
        by_key: dict[str, OrgMatch] = {}
        for m in matches:
            for name in m.organizations:
                key = org_key(name)
                known = key in KNOWN_SUPPLIERS
                kind = str(organization_type(name))
                om = by_key.setdefault(key, OrgMatch(key=key, name=name, score=0.0, known_supplier=known,
                                                     org_type=kind, new_entrant=kind == "company" and not known))
                om.doc_ids.append(m.doc_id)
                om.score = round(max(om.score, m.score) + 0.01 * (len(om.doc_ids) - 1), 4)
        return sorted(by_key.values(), key=lambda o: (-o.score, o.key))

    def match(self, need_id: str, limit: int = 20) -> NeedMatches:
        need = self.docs.get(need_id)
        if need is None or need.kind != DocKind.need:
            raise KeyError(f"unknown need id {need_id!r}")
        matches = self._match_all(need)
        # organization rows over the need's best 20, whatever the limit (service/index_library.py ORGANIZATION_DEPTH)
        return NeedMatches(need=need, matches=matches[:limit], organizations=self._orgs(matches[:20]))

    def needs_answered(self, doc_id: str) -> list[OrgMatch]:
        out = [OrgMatch(key=need.id, name=need.title, score=m.score, doc_ids=[doc_id])
               for need in self.needs() for m in self.match(need.id, limit=20).matches if m.doc_id == doc_id]
        return sorted(out, key=lambda o: (-o.score, o.key))

    def organization(self, name_or_key: str) -> OrgProfile | None:
        wanted = org_key(name_or_key)
        docs = [d for i, d in sorted(self.docs.items()) if wanted in {org_key(o) for o in d.organizations}]
        if not docs:
            return None
        name = next(o for o in docs[0].organizations if org_key(o) == wanted)
        needs: list[OrgMatch] = []
        for need in self.needs():
            for om in self._orgs(self._match_all(need)):
                if om.key == wanted:
                    needs.append(OrgMatch(key=need.id, name=need.title, score=om.score, doc_ids=om.doc_ids,
                                          known_supplier=om.known_supplier))
        needs.sort(key=lambda o: (-o.score, o.key))
        kind = str(organization_type(name, [d.kind for d in docs]))
        return OrgProfile(key=wanted, name=name, known_supplier=wanted in KNOWN_SUPPLIERS, org_type=kind,
                          listed=wanted in KNOWN_SUPPLIERS,
                          new_entrant=kind == "company" and wanted not in KNOWN_SUPPLIERS,
                          documents=[self._hit(d, 1.0, set()) for d in docs if d.kind != DocKind.need] or
                          [self._hit(d, 1.0, set()) for d in docs], needs=needs)

    def all_matches(self, limit_per_need: int = 20) -> Iterable[Match]:
        for need in self.needs():
            yield from self._match_all(need)[:limit_per_need]

    # need id -> doc id -> judgement state; tests set it as an analyst's judgements would
    judgements: dict[str, dict[str, str]] = {}

    def judgement_states(self, need_id: str) -> dict[str, str]:
        return dict(self.judgements.get(need_id, {}))

    def match_run_time(self):
        return None  # every need is ranked for the organization and document pages
