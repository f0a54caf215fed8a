"""Evidence for a hit the dense channel did not find (lexical only): the document passage closest to the query,
on both backends."""

from __future__ import annotations

import numpy as np
import pytest

from index.ranking import Ranker
from index.ranking.evidence import evidence_pairs
from index.store import Index
from index.suppliers import KnownSuppliers
from tests.index.conftest import corpus, make_doc


def test_evidence_of_lexical_only_hits_is_their_closest_passage(settings, enricher):
    long_text = " ".join(f"Sentence {i} is about {topic}." for i, topic in enumerate(
        ["crop spraying", "radar cross section", "water savings", "magnetic anomaly maps"] * 40))
    docs = corpus() + [make_doc("l1", "A long report", long_text)]
    with Index(settings, dim=32) as ix:
        ix.upsert(enricher.enrich(docs)[0])
        ranker = Ranker(ix, enricher, KnownSuppliers())
        q = ranker.query_input("radar absorbing metamaterial coating. Navigation by magnetic maps.")
        ids = [d.id for d in docs[1:]] + ["missing-doc"]
        evidence = evidence_pairs(ix, q, [(d, None) for d in ids])  # no dense pair known: the fallback
        assert evidence[-1] == (None, None)  # a document not in the index has no evidence
        for doc_id, (query_ev, doc_ev) in zip(ids, evidence[:-1]):
            passages = {p.payload["passage_index"]: p for p in ix.passages(doc_id, vectors=True)}
            sims = q.vectors @ np.array([p.dense for p in passages.values()], dtype=np.float32).T
            chosen = passages[doc_ev.passage_index]
            assert doc_ev.text == chosen.payload["text"] and doc_ev.start == chosen.payload["start"]
            qi = q.passages.index(query_ev)
            # the best pair (the hashing fake ties sentences that differ by a number only: compare scores)
            assert float(q.vectors[qi] @ np.array(chosen.dense, dtype=np.float32)) == pytest.approx(sims.max())
        assert len(ix.passages(docs[-1].id)) > 1  # the long report really has passages to choose from
