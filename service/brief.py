"""The shortlist brief for a matching meeting: per need, the shortlisted technologies and organizations with
their evidence and the analysts' notes, as rows for a CSV (UTF-8 with BOM, so Excel reads Japanese) and for the
printable page."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import datetime

from domain.models import Document, Evidence, Match, OrgMatch, Version, score_label, utcnow
from domain.times import in_display_zone
from service.analyst import AnalystStore, Judgement, JudgementState
from service.library import Library
from service.csv_cells import BOM, csv_cell
from service.evidence import RENDERING_LABEL, analysed, english_rendering, shown_evidence
from service.queries import Subjects, UnknownNeed, resolve_need

__all__ = ["Brief", "BriefItem", "UnknownNeed", "brief_csv", "build_brief"]

RANKED = 200  # matches searched for the shortlisted ones' evidence
FIRST_PAGE = 20  # the need page's first page, searched first
# `organizations`: a technology's organizations, or the organization itself on its own row; `documents`: an
# organization's matching document titles. `judgement` is always shortlisted (a brief lists nothing else): it
# is there so that every export says which judgement it carries.
CSV_COLUMNS = ["need_id", "need_title", "type", "name", "organizations", "documents", "score", "label", "judgement",
               "evidence_need", "evidence_document", "note", "judged_by", "judged_at", "url", "id",
               "evidence_need_english_gist", "evidence_document_english_gist"]  # fmt: skip


@dataclass
class BriefItem:
    kind: str  # technology | organization
    id: str
    name: str
    judgement: Judgement
    url: str = ""
    organizations: list[str] = field(default_factory=list)
    score: float | None = None  # None: no longer among the need's ranked matches
    need_evidence: str = ""
    doc_evidence: str = ""
    documents: list[str] = field(default_factory=list)  # an organization's matching document titles
    version_of: str = ""  # ranked as a version of this result (its title), folded into it as one technology

    @property
    def need_evidence_en(self) -> str:
        """The English gist of Japanese evidence (service.evidence.english_rendering), "" for English."""
        return english_rendering(self.need_evidence)

    @property
    def doc_evidence_en(self) -> str:
        return english_rendering(self.doc_evidence)

    @property
    def label(self) -> str:
        return "" if self.score is None else score_label(self.score)


@dataclass
class Brief:
    need: Document
    generated_at: datetime
    technologies: list[BriefItem]
    organizations: list[BriefItem]

    rendering_label = RENDERING_LABEL  # what the English beside Japanese evidence is, said where it is shown

    @property
    def is_empty(self) -> bool:
        return not self.technologies and not self.organizations


def build_brief(library: Library, store: AnalystStore, need_id: str, *, now: datetime | None = None) -> Brief:
    """The need's shortlist (`need_id`: an id or a unique prefix), each item with the score the need page
    shows for it (its match strength, which judgements never change), best first."""
    need_id = resolve_need(library, need_id)
    need = library.document(need_id)
    shortlisted = [j for j in store.judgements(need_id) if j.state == JudgementState.shortlisted]
    # The need page's first 20 hold most shortlists (and every organization row, which never depends on the
    # limit); the ranking goes RANKED deep only for a document shortlisted below them. Ranking 200 with their
    # evidence for every brief took 1.2-2.6 s on the demo, the need page 0.4 s.
    result = library.match(need_id, limit=FIRST_PAGE) if shortlisted else None
    wanted = {j.target_id for j in shortlisted if j.target == "document"}
    if shortlisted and not wanted <= _ranked_ids(result.matches):
        result = library.match(need_id, limit=RANKED)
    if result is None:  # nothing shortlisted: nothing to rank
        return Brief(need=need, generated_at=now or utcnow(), technologies=[], organizations=[])
    matches: dict[str, Match] = {m.doc_id: m for m in result.matches}
    # a document ranked as a version of another result (one technology's Phase I and Phase II) is ranked: its
    # own score is the version's (it had read "no longer ranked")
    folded: dict[str, tuple[Match, Version]] = {v.doc_id: (m, v) for m in result.matches for v in m.versions
                                                if v.doc_id != m.doc_id and v.score is not None}
    orgs: dict[str, OrgMatch] = {o.key: o for o in result.organizations}
    technologies, organizations = [], []
    names = Subjects(library)  # an organization no longer among the need's by its name, never its key
    for j in sorted(shortlisted, key=lambda j: j.at):
        if j.target == "document":
            m = matches.get(j.target_id)
            doc = library.document(j.target_id) if m is None else None
            if m is None and doc is not None and j.target_id in folded:
                lead, version = folded[j.target_id]
                technologies.append(BriefItem(
                    kind="technology", id=j.target_id, judgement=j, name=doc.title, url=doc.url,
                    organizations=list(doc.organizations), score=version.score, version_of=lead.title,
                    need_evidence=lead.need_evidence.text if lead.need_evidence else "",
                    doc_evidence=_unranked_evidence(doc, need)))
                continue
            technologies.append(BriefItem(
                kind="technology", id=j.target_id, judgement=j,
                name=m.title if m else (doc.title if doc else j.target_id),
                url=m.url if m else (doc.url if doc else ""),
                organizations=list(m.organizations if m else (doc.organizations if doc else [])),
                score=m.score if m else None,
                need_evidence=m.need_evidence.text if m and m.need_evidence else "",
                doc_evidence=m.doc_evidence.text if m and m.doc_evidence else _unranked_evidence(doc, need)))
        else:
            o = orgs.get(j.target_id)
            titles = [matches[d].title for d in (o.doc_ids if o else []) if d in matches]
            best = next((matches[d] for d in (o.doc_ids if o else []) if d in matches), None)
            organizations.append(BriefItem(
                kind="organization", id=j.target_id, judgement=j, name=o.name if o else names.organization(j.target_id),
                score=o.score if o else None, documents=titles,
                need_evidence=best.need_evidence.text if best and best.need_evidence else "",
                doc_evidence=best.doc_evidence.text if best and best.doc_evidence else ""))
    key = lambda i: (i.score is None, -(i.score or 0.0))  # noqa: E731 - best first, the no-longer-ranked last
    technologies.sort(key=key)
    organizations.sort(key=key)
    return Brief(need=need, generated_at=now or utcnow(), technologies=technologies, organizations=organizations)


def _ranked_ids(matches: list[Match]) -> set[str]:
    """The documents a ranking shows: its results and the versions folded into them."""
    return {m.doc_id for m in matches} | {v.doc_id for m in matches for v in m.versions}


def _unranked_evidence(doc: Document | None, need: Document) -> str:
    """What a shortlisted document no longer among the need's ranked matches says: its sentence or two that
    share most with the need, whole (it had been its text's first 300 characters, cut mid-word)."""
    if doc is None:
        return ""
    text = analysed(doc)
    whole = Evidence(passage_index=0, start=0, end=len(text), text=text)
    shown = shown_evidence(whole, text, need.title, need.text, title=doc.title)
    return shown.text if shown is not None else ""


def brief_csv(brief: Brief) -> bytes:
    """UTF-8 with a byte-order mark: spreadsheet programs then read the Japanese correctly; crawled text and
    notes cannot become formulas."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for item in [*brief.organizations, *brief.technologies]:
        writer.writerow([csv_cell(v) for v in (
            brief.need.id, brief.need.title, item.kind, item.name,
            "; ".join(item.organizations if item.kind == "technology" else [item.name]), "; ".join(item.documents),
            "" if item.score is None else f"{item.score:.3f}", item.label, item.judgement.state.value,
            item.need_evidence, item.doc_evidence,
            # the judgement's time in the zone the page shows it in, with its offset (it had been UTC beside a
            # page saying 09:56 JST)
            item.judgement.note, item.judgement.user, in_display_zone(item.judgement.at).isoformat(timespec="seconds"),
            item.url,
            item.id, item.need_evidence_en, item.doc_evidence_en,
        )])
    return (BOM + buf.getvalue()).encode("utf-8")
