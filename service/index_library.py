"""The real `Library`: the Qdrant index, the nlp stage and the ranker behind the CLI, the web app and the report."""

from __future__ import annotations

import itertools
import json
from collections import Counter
from pathlib import Path
from typing import Iterable, Iterator

from index.rank import Ranker
from index.store import Index
from nlp.orgs import normalize_org
from nlp.passages import analysed_text
from nlp.pipeline import Enricher, clean_control
from service.library import OrgProfile, SearchResult
from domain.models import Document, DocKind, Evidence, Match, NeedMatches, OrgMatch, SearchFilters, SearchHit
from domain.settings import IndexSettings, NlpSettings

FACETS = ("kind", "source", "language", "concept", "area", "year")


def _analysed(doc: Document | dict) -> str:
    """The text nlp analysed (title, newline, text, control characters blanked): evidence offsets point into it."""
    title, text = (doc.title, doc.text) if isinstance(doc, Document) else (doc.get("title", ""), doc.get("text", ""))
    title, text = clean_control(title or ""), clean_control(text or "")
    return analysed_text(title.strip() and title, text.strip() and text)


def _as_written(evidence: Evidence | None, analysed: str | None) -> Evidence | None:
    """Evidence in the document's own words. A Japanese passage is also indexed as its dictionary rendering
    into English (for cross-lingual matching); when that rendering is the best pair, the ranker hands back the
    rendering ("stock company broadband radar absorbing material development ..."), which no one wrote. Its
    offsets are those of the source passage, so the source text is cut from the analysed text."""
    if evidence is None or analysed is None:
        return evidence
    source = analysed[evidence.start : evidence.end]
    if not source.strip() or source == evidence.text:
        return evidence
    return evidence.model_copy(update={"text": source})


def _hit(doc: Document, payload: dict | None = None) -> SearchHit:
    payload = payload or {}
    return SearchHit(doc_id=doc.id, score=0.0, title=doc.title, url=doc.url, kind=doc.kind, source=doc.source,
                     language=doc.language or payload.get("language"), organizations=doc.organizations,
                     concepts=list(payload.get("concepts", [])), published=doc.published)


class IndexLibrary:
    """One index, one enricher, one ranker; use as a context manager or call `close()`."""

    thread_safe = False  # the web app serializes calls

    def __init__(self, index: Index, enricher: Enricher, ranker: Ranker | None = None):
        self.index = index
        self.enricher = enricher
        self.ranker = ranker or Ranker(index, enricher)

    # -- Library -------------------------------------------------------------------------------------
    def search(self, query: str, filters: SearchFilters | None = None, limit: int = 20) -> SearchResult:
        filters = filters or SearchFilters()
        if query.strip():
            hits = self.ranker.search(query, filters, limit)
            texts = self._analysed_texts([h.doc_id for h in hits])
            hits = [h.model_copy(update={"evidence": _as_written(h.evidence, texts.get(h.doc_id))}) for h in hits]
        else:  # browsing by filters alone (concept and organization links on the pages)
            hits = [_hit(d, p) for d, p in self._browse(filters, limit)]
        facets = self.index.facets(filters, keys=FACETS)
        years = facets.pop("year", {})
        if years:  # newest year first, like the result list
            facets["year"] = dict(sorted(years.items(), reverse=True))
        return SearchResult(query=query, hits=hits, facets=facets)

    def needs(self) -> list[Document]:
        return sorted(self.index.documents(kind=DocKind.need), key=lambda d: (d.source, d.title))

    def match(self, need_id: str, limit: int = 20) -> NeedMatches:
        # The screens' contract: any id that is not a need is a KeyError (the ranker raises ValueError for a
        # document of another kind).
        doc = self.index.get(need_id)
        if doc is None or doc.kind != DocKind.need:
            raise KeyError(f"unknown need id {need_id!r}")
        result = self.ranker.match(need_id, limit=limit)
        need_text = _analysed(result.need)
        texts = self._analysed_texts([m.doc_id for m in result.matches])
        for m in result.matches:
            m.need_evidence = _as_written(m.need_evidence, need_text)
            m.doc_evidence = _as_written(m.doc_evidence, texts.get(m.doc_id))
        return result

    def document(self, doc_id: str) -> Document | None:
        return self.index.get(doc_id)

    def organization(self, name_or_key: str) -> OrgProfile | None:
        key = normalize_org(name_or_key) or name_or_key
        docs = self._browse(SearchFilters(organization=key), limit=200)
        if not docs:
            return None
        names = Counter()
        for doc, payload in docs:
            for org_key, org_name in (payload.get("analysis_orgs") or {}).items():
                if org_key == key:
                    names[org_name] += 1
            for org_name in doc.organizations:
                if normalize_org(org_name) == key:
                    names[org_name] += 1
        name = names.most_common(1)[0][0] if names else name_or_key
        doc_ids = {d.id for d, _ in docs}
        per_need: list[OrgMatch] = []
        for need in self.needs():
            matches = [m for m in self.ranker.match(need.id, limit=50).matches if m.doc_id in doc_ids]
            if matches:
                per_need.append(OrgMatch(key=need.id, name=need.title, score=sum(m.score for m in matches),
                                         doc_ids=[m.doc_id for m in matches]))
        per_need.sort(key=lambda o: -o.score)
        return OrgProfile(key=key, name=name, known_supplier=key in self.ranker.known_suppliers,
                          documents=[_hit(d, p) for d, p in docs], needs=per_need)

    def all_matches(self, limit_per_need: int = 20) -> Iterable[Match]:
        for need in self.needs():
            yield from self.match(need.id, limit=limit_per_need).matches

    # -- helpers -------------------------------------------------------------------------------------
    def _analysed_texts(self, doc_ids: list[str]) -> dict[str, str]:
        if not doc_ids:
            return {}
        return {d: _analysed(p["document"]) for d, p in self.index.get_many(doc_ids, ["document"]).items()
                if p.get("document")}

    def _browse(self, filters: SearchFilters, limit: int) -> list[tuple[Document, dict]]:
        out: list[tuple[Document, dict]] = []
        for h in itertools.islice(self.index.document_points(filters, ["document", "concepts", "analysis"]), limit):
            analysis = h.payload.get("analysis") or {}
            out.append((Document.model_validate(h.payload["document"]),
                        {"concepts": h.payload.get("concepts", []),
                         "analysis_orgs": analysis.get("organizations", {})}))
        # newest first; undated documents last
        out.sort(key=lambda dp: (dp[0].published is not None, dp[0].published and dp[0].published.timestamp()),
                 reverse=True)
        return out[:limit]

    def close(self) -> None:
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
    index = Index(index_settings or IndexSettings(), dim=_embedding_dim(enricher, nlp_settings), command=command)
    return IndexLibrary(index, enricher)
