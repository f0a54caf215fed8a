"""The seams of the nlp stage (Haystack-style Protocols) and the data it hands to the index."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Protocol, Sequence, runtime_checkable

import numpy as np

from domain.models import Analysis, Document, Reject


@dataclass(frozen=True)
class SparseVector:
    """Term weights for the lexical channel; Qdrant applies IDF (Modifier.IDF) at query time."""

    indices: list[int] = field(default_factory=list)
    values: list[float] = field(default_factory=list)


@runtime_checkable
class Embedder(Protocol):
    """Dense sentence embeddings; vectors are float32 and L2-normalised."""

    name: str
    dim: int
    max_tokens: int  # the longest input, in model tokens, that is embedded without truncation

    def count_tokens(self, texts: Sequence[str]) -> list[int]: ...

    def encode(self, texts: Sequence[str]) -> np.ndarray: ...


@runtime_checkable
class SparseEncoder(Protocol):
    """Lexical (BM25-style) term-frequency vectors: Sudachi tokens for Japanese, spaCy tokens for English."""

    def encode_document(self, text: str, language: str) -> SparseVector: ...

    def encode_query(self, text: str, language: str) -> SparseVector: ...

    def encode_title(self, text: str, language: str) -> SparseVector:
        """A document's title alone (its own length normalisation: titles run 5-15 terms)."""
        ...


@dataclass
class EnrichedDocument:
    """A document with everything the index stores for it."""

    document: Document
    analysis: Analysis
    passage_vectors: np.ndarray  # shape (len(analysis.passages), dim)
    sparse: SparseVector
    # Japanese documents get English renderings (nlp.translate) appended to analysis.passages: such a passage's
    # text is the rendering and its start/end point at the Japanese passage it renders. index -> source index.
    translated_from: dict[int, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)  # e.g. passages capped on a huge text
    # The title alone, a short focused statement that ranking compares with a need's (None: no title).
    title_vector: np.ndarray | None = None  # shape (dim,)
    title_sparse: SparseVector | None = None
    # The language-agnostic channel (nlp/multilingual.py): one vector per sentence of title + text, in the
    # document's own language; None when the channel is off or its encoder is not installed.
    sentence_vectors: np.ndarray | None = None  # shape (n_sentences, multilingual dim)


# readings -> words -> spellings -> term ids. A word's spellings are its own term, then its other-language
# equivalents; a document holds the word when it holds every term of one spelling (one term mostly; a phrase's
# Japanese compound all of its parts: 水中音響通信 is 水中, 音響 and 通信, and a document holding 通信 alone does
# not hold "underwater").
Readings = list[list[list[list[int]]]]


@dataclass
class EnrichedQuery:
    """A free-text query (or a need) ready for hybrid retrieval."""

    text: str
    language: str
    concepts: list[str]
    passage_vectors: np.ndarray  # (n_passages, dim); a short query has one
    sparse: SparseVector
    passages: list[str] = field(default_factory=list)
    rendering: str = ""  # English rendering of a Japanese query (nlp.translate); "" otherwise
    # The whole query in the language-agnostic space (nlp/multilingual.py); None when that channel is off.
    multilingual_vector: np.ndarray | None = None  # shape (multilingual dim,)
    # The query's words as its BM25 term ids, per language it is spelled in (`Readings`). An absolute ceiling's
    # share of the query's words is read per reading (index/ranking/ranker.py). []: each term of `sparse` is a
    # word.
    readings: Readings = field(default_factory=list)


@runtime_checkable
class Enricher(Protocol):
    """What the index stage takes of the nlp stage: `nlp.pipeline.Enricher` is the real one; the test fakes
    (`tests/index/fakes.py FakeEnricher`) satisfy it too. Ranking, ingest and `scout eval` are typed on this."""

    @property
    def embedder(self) -> Embedder:
        """The dense model (its `dim` sizes the index)."""
        ...

    def enrich(self, docs: Sequence[Document]) -> tuple[list[EnrichedDocument], list[Reject]]:
        """Documents ready for the index, and the ones that could not be used (with the reason)."""
        ...

    def query(self, text: str, analysed: Callable[[SparseVector], None] | None = None) -> EnrichedQuery:
        """A free-text query (or a need's title) ready for hybrid retrieval. `analysed`: called with the
        query's BM25 vector as soon as it is made, before the encoders run (a caller may search with it
        meanwhile)."""
        ...
