"""Deterministic stand-ins for the nlp stage in index tests: a hashing embedder (behind the Embedder
Protocol) and a small enricher that uses the real LexicalEncoder and sentence passages."""

from __future__ import annotations

import hashlib
import re
from typing import Sequence

import numpy as np

from index.suppliers import normalize_org
from nlp.base import EnrichedDocument, EnrichedQuery
from nlp.lexical import LexicalEncoder
from domain.models import Analysis, Document, Passage, Reject

try:
    from nlp.fake import HashingEmbedder  # the nlp stage's fake, once merged
except ImportError:
    _TOKEN = re.compile(r"[a-z0-9]+|[^\sa-z0-9]", re.IGNORECASE)

    class HashingEmbedder:  # same behaviour: token hashing into a normalized vector
        def __init__(self, dim: int = 384, max_tokens: int = 128, name: str = "hashing-fake") -> None:
            self.dim, self.max_tokens, self.name = dim, max_tokens, name

        def count_tokens(self, texts: Sequence[str]) -> list[int]:
            return [len(_TOKEN.findall(t)) for t in texts]

        def encode(self, texts: Sequence[str]) -> np.ndarray:
            out = np.zeros((len(texts), self.dim), dtype=np.float32)
            for row, text in enumerate(texts):
                for token in _TOKEN.findall(text.lower()):
                    d = hashlib.blake2b(token.encode(), digest_size=8).digest()
                    out[row, int.from_bytes(d[:4], "little") % self.dim] += 1.0 if d[4] & 1 else -1.0
                n = np.linalg.norm(out[row])
                if n > 0:
                    out[row] /= n
            return out


_SENTENCE = re.compile(r"[^.!?。\n]+[.!?。]?")
# A tiny concept table: label -> (concept id, areas); parents come from the bundled taxonomy's shape.
CONCEPTS = {
    "quantum sensing": ("quantum-sensing", ["jp-quantum", "us-quantum"]),
    "量子センシング": ("quantum-sensing", ["jp-quantum", "us-quantum"]),
    "metamaterial": ("metamaterial", ["jp-materials"]),
    "radar absorbing material": ("radar-absorbing-material", ["jp-materials"]),
}


class FakeEnricher:
    """One passage per sentence; concepts by label; organizations from Document.organizations. With a
    `multilingual` embedder (512-d), every sentence also gets a vector in that space, and a query one."""

    def __init__(self, dim: int = 32, multilingual=None):
        self.embedder = HashingEmbedder(dim=dim)
        self.sparse = LexicalEncoder()
        self.multilingual = multilingual

    def _analyse(self, doc: Document) -> Analysis:
        full = f"{doc.title}\n{doc.text}"
        passages = [Passage(index=i, start=m.start(), end=m.end(), text=m.group(),
                            hash=hashlib.sha1(m.group().encode()).hexdigest())
                    for i, m in enumerate(m for m in _SENTENCE.finditer(full) if m.group().strip())]
        low = full.lower()
        concepts = sorted({cid for lab, (cid, _) in CONCEPTS.items() if lab in low})
        areas = sorted({a for lab, (_, ar) in CONCEPTS.items() if lab in low for a in ar})
        lang = "ja" if re.search(r"[\u3040-\u30ff\u4e00-\u9fff]", full) else "en"
        orgs = {normalize_org(o): o for o in doc.organizations}
        return Analysis(doc_id=doc.id, language=lang, concepts=concepts, areas=areas, organizations=orgs,
                        passages=passages)

    def enrich(self, docs: Sequence[Document]) -> tuple[list[EnrichedDocument], list[Reject]]:
        out, rejects = [], []
        for doc in docs:
            a = self._analyse(doc)
            if not a.passages:
                rejects.append(Reject(source=doc.source, url=doc.url, reason="empty text", stage="nlp"))
                continue
            vecs = self.embedder.encode([p.text for p in a.passages] + ([doc.title] if doc.title.strip() else []))
            title_vector = vecs[len(a.passages)] if doc.title.strip() else None
            sentences = None
            if self.multilingual is not None:
                sentences = self.multilingual.encode([p.text for p in a.passages])
            out.append(EnrichedDocument(doc, a, vecs[: len(a.passages)],
                                        self.sparse.encode_document(f"{doc.title}\n{doc.text}", a.language),
                                        title_vector=title_vector,
                                        title_sparse=self.sparse.encode_title(doc.title, a.language)
                                        if doc.title.strip() else None,
                                        sentence_vectors=sentences))
        return out, rejects

    def query(self, text: str, analysed=None) -> EnrichedQuery:
        doc = Document.make(kind="need", source="q", url="q:", title="", text=text)
        a = self._analyse(doc)
        passages = [p.text for p in a.passages] or [text]
        sparse = self.sparse.encode_query(text, a.language)
        if analysed is not None:
            analysed(sparse)
        return EnrichedQuery(text=text, language=a.language, concepts=a.concepts,
                             passage_vectors=self.embedder.encode(passages),
                             sparse=sparse, passages=passages,
                             multilingual_vector=None if self.multilingual is None
                             else self.multilingual.encode([text])[0])
