"""Characterization of the ranking: ids, scores, breakdowns, shared concepts and evidence pairs of several
rankings over the demo bundle's real texts, compared with what the ranking gave when this test was written
(`golden/ranking.json`).

It pins what a user reads while the ranking's code is reorganised: a change that moves any of them fails
here. A change that is meant to alter the ranking regenerates the file (SCOUT_REGENERATE_GOLDEN=1) and says
so in its commit. The corpus: the demo bundle's 11 needs (8 DoD SBIR topics cut to their first 1,500
characters to keep the test quick, 3 Japanese analyst needs), SBIR award abstracts, arXiv abstracts and
Japanese records, embedded by the deterministic hashing fake. Two weight settings: the defaults (11 needs are
too few for the need-IDF weighting and the hubness correction) and the same with those on
(`need_idf_min_needs=4`).

Deterministic on purpose: the store orders equal scores in no fixed way, so sentences that would embed alike
are left out (`_tie_free`) and every channel searches deeper than the corpus has passages (no cut among
equal scores: a free-text query's scale too, `search_scale_depth`; at its default of 500 the hashing fake's
passages tie at the cut, and which of them the store keeps differs from one machine to another). Scores are
compared to a millionth (relative, or 1e-7 absolute): the store's BM25 scores vary in their last float32 bits
from one build of the index to the next.
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from pathlib import Path

import pytest
import yaml

from index.ranking.feedback import Feedback
from index.ranking import Ranker, RankWeights
from index.store import Index
from index.suppliers import KnownSuppliers
from domain.models import Document
from domain.settings import IndexSettings
from tests.index.fakes import _SENTENCE, FakeEnricher
from nlp.fake import _TOKEN

DATA = Path(__file__).resolve().parents[2] / "scout" / "demo" / "data"
GOLDEN = Path(__file__).parent / "golden" / "ranking.json"
NOW = datetime(2026, 1, 1, tzinfo=timezone.utc).timestamp()  # recency is measured from a fixed day
LIMIT = 15
DIM = 256  # wide enough that hashed words rarely collide (a collision can tie two passages)
# Deeper than the corpus has passages: no search cuts its list among equal scores.
DEPTH = 3000
QUERIES = ["counter drone detection with radar and cameras", "量子センシングによる磁気センサー"]


def _date(text: str) -> datetime | None:
    for fmt in ("%Y/%m/%d", "%Y-%m-%d", "%Y"):
        try:
            return datetime.strptime(text[:10] if fmt != "%Y" else text[:4], fmt).replace(tzinfo=timezone.utc)
        except ValueError:
            continue
    return None


def _doc(kind: str, source: str, key: str, title: str, text: str, published: datetime | None,
         orgs: list[str] = ()) -> Document:
    return Document.make(kind=kind, source=source, source_id=key, url=f"https://example.org/{source}/{key}",
                         title=title, text=text, organizations=list(orgs), published=published)


def _tie_free(docs: list[Document]) -> list[Document]:
    """The documents with every sentence whose words an earlier sentence already had left out, and documents
    whose title another already had left out. The hashing fake gives such sentences the same vector, and the
    store breaks ties between equal scores in no fixed order, so they would make the expected output a draw."""
    seen: set[str] = set()
    out = []
    for doc in docs:
        title = " ".join(sorted(set(_TOKEN.findall(doc.title.lower()))))
        if title in seen:
            continue
        seen.add(title)
        kept = []
        for sentence in (m.group().strip() for m in _SENTENCE.finditer(doc.text)):
            key = " ".join(sorted(set(_TOKEN.findall(sentence.lower()))))
            if key and key not in seen:
                seen.add(key)
                kept.append(sentence)
        if kept:
            out.append(doc.model_copy(update={"text": " ".join(kept)}))
    return out


def demo_corpus() -> list[Document]:
    docs: list[Document] = []
    for sol in json.loads((DATA / "sbir_topics.json").read_text(encoding="utf-8")):
        for t in sol["solicitation_topics"]:
            docs.append(_doc("need", "sbir", t["topic_number"], t["topic_title"], t["topic_description"][:1500],
                             _date(sol["release_date"]), [sol["agency"]]))
    for n in yaml.safe_load((DATA / "needs.yaml").read_text(encoding="utf-8"))["needs"]:
        docs.append(_doc("need", "analyst", n["id"], n["title"], n["text"], None, [n["organization"]]))
    for line in (DATA / "announcements.jsonl").read_text(encoding="utf-8").splitlines()[:120]:
        a = json.loads(line)
        docs.append(_doc("startup" if a["phase"] == "Phase II" else "research", "sbir_awards", a["id"], a["title"],
                         a["text"], _date(str(a["year"])), [a["company"]]))
    for line in (DATA / "arxiv.jsonl").read_text(encoding="utf-8").splitlines()[:40]:
        a = json.loads(line)
        docs.append(_doc("research", "arxiv", a["id"], a["title"], a["summary"], None))
    ja = json.loads((DATA / "japanese.json").read_text(encoding="utf-8"))
    for a in ja["jstage"]:
        docs.append(_doc("research", "jstage", a["id"], a["title_ja"], a["abstract"], _date(a["published"]),
                         a["institutions"]))
    for a in ja["kaken"]:
        docs.append(_doc("research", "kaken", a["id"], a["title_ja"], a["outline_ja"], _date(str(a["start_year"])),
                         [a["institution_ja"]]))
    for a in ja["prtimes"]:
        docs.append(_doc("startup", "prtimes", a["id"], a["title"], "\n".join(a["paragraphs"]),
                         _date(a["published"]), [a["company"]]))
    return _tie_free(docs)


def _ranked(ranked) -> list[dict]:
    return [{"doc_id": r.doc_id, "score": r.score, "breakdown": r.breakdown.model_dump(),
             "shared_concepts": r.shared_concepts,
             "pair": [r.passage_pair[0], r.passage_pair[1]["passage_index"]] if r.passage_pair else None}
            for r in ranked]


def current_rankings(tmp_path: Path) -> dict:
    enricher = FakeEnricher(dim=DIM)
    docs = demo_corpus()
    needs = [d for d in docs if d.kind == "need"]
    out: dict = {}
    with Index(IndexSettings(backend="edge", path=tmp_path / "ix"), dim=DIM) as ix:
        enriched, rejects = enricher.enrich(docs)
        assert not rejects
        ix.upsert(enriched)
        deep = {"depth": DEPTH, "search_scale_depth": DEPTH}
        settings = {"default": RankWeights(**deep), "hubness": RankWeights(**deep, need_idf_min_needs=4)}
        for name, weights in settings.items():
            ranker = Ranker(ix, enricher, KnownSuppliers(), weights=weights)
            for need in needs if name == "hubness" else needs[::3]:
                _, q = ranker.need_input(need.id)
                out[f"{name}/{need.id}"] = _ranked(ranker.rank(q, limit=LIMIT, now=NOW))
            for need in needs[:2]:
                _, q = ranker.need_input(need.id)
                for mode in ("bm25", "dense"):
                    out[f"{name}/{mode}/{need.id}"] = _ranked(ranker.rank(q, limit=LIMIT, mode=mode, now=NOW))
                top = [r.doc_id for r in ranker.rank(q, limit=5, now=NOW)]
                feedback = Feedback(relevant=(top[2],), not_relevant=(top[0], top[4]))
                out[f"{name}/feedback/{need.id}"] = _ranked(ranker.rank(q, limit=LIMIT, now=NOW, feedback=feedback))
            for i, text in enumerate(QUERIES):
                q = ranker.query_input(text)
                out[f"{name}/query{i}"] = _ranked(ranker.rank(q, limit=LIMIT, exclude_kind=None, now=NOW))
    return out


def test_rankings_are_what_they_were(tmp_path):
    got = current_rankings(tmp_path)
    if os.environ.get("SCOUT_REGENERATE_GOLDEN"):
        GOLDEN.parent.mkdir(exist_ok=True)
        GOLDEN.write_text(json.dumps(got, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    want = json.loads(GOLDEN.read_text(encoding="utf-8"))
    assert list(got) == list(want)
    for key, ranking in want.items():
        assert [r["doc_id"] for r in got[key]] == [r["doc_id"] for r in ranking], key
        for g, w in zip(got[key], ranking):
            assert g["shared_concepts"] == w["shared_concepts"] and g["pair"] == w["pair"], (key, w["doc_id"])
            assert g["score"] == pytest.approx(w["score"], rel=1e-6, abs=1e-7), (key, w["doc_id"])
            assert g["breakdown"] == pytest.approx(w["breakdown"], rel=1e-6, abs=1e-7), (key, w["doc_id"])
    # the settings differ where they should: the hubness correction is on for the second one only
    assert any(r["breakdown"]["generic"] < 0 for r in want["hubness/" + next(k.split("/")[1] for k in want)])
    assert all(r["breakdown"]["generic"] == 0 for k, v in want.items() if k.startswith("default/") for r in v)
