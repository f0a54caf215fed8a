"""The nlp front: `Enricher` turns Documents into EnrichedDocuments (language, entities, concepts, areas,
organizations, keyphrases, passages, passage vectors, sparse vector) and free text into EnrichedQuery.

Bad input never stops a batch: an empty document or one that fails analysis becomes a `Reject` (stage
"nlp") with its reason; unknown languages are analysed with the English rules; control characters are
blanked (offsets kept); huge texts are processed in chunks and their passages capped with a recorded note.
"""

from __future__ import annotations

import logging
import threading
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator, Sequence

import numpy as np

from nlp.base import Embedder, EnrichedDocument, EnrichedQuery, Readings, SparseEncoder, SparseVector
from nlp.language import detect_language
from domain.orgs import display_name, record_organizations
from nlp.passages import DEFAULT_MAX_PASSAGES, analysed_text, sentence_spans, split_passages
from nlp.cache import passage_hash
from domain.models import Analysis, DocKind, Document, Entity, EntityLabel, Passage, Reject
from domain.settings import NlpSettings

log = logging.getLogger(__name__)

# SudachiPy refuses inputs over 49,149 bytes; Japanese is 3 bytes a character in UTF-8.
_CHUNK_CHARS = {"ja": 12_000, "en": 100_000}
# Entity extraction on huge texts is bounded too (a recorded note says where it stopped).
MAX_ANALYSED_CHARS = 300_000


def clean_control(text: str) -> str:
    """Control characters (except newline and tab) become spaces: same length, so offsets stay valid."""
    if text.isprintable():
        return text
    return "".join(ch if ch in "\n\t" or unicodedata.category(ch)[0] != "C" else " " for ch in text)


def past_cache(encoder: Embedder | None) -> Embedder | None:
    """The encoder behind an embedding cache (`nlp.cache.CachedEmbedder.inner`), or the encoder itself: what a
    warm-up runs, so that it loads the model and stores nothing."""
    return getattr(encoder, "inner", encoder)


def _chunks(text: str, size: int) -> list[tuple[int, str]]:
    """Sentence-aligned pieces of at most `size` characters (a longer sentence is cut hard)."""
    if len(text) <= size:
        return [(0, text)]
    out: list[tuple[int, str]] = []
    start = end = 0
    for a, b in sentence_spans(text):
        if b - start > size and end > start:
            out.append((start, text[start:end]))
            start = end
        while b - start > size:
            out.append((start, text[start : start + size]))
            start += size
        end = b
    if start < len(text):
        out.append((start, text[start:]))
    return out


@dataclass
class TextAnalysis:
    """Entities in analysed-text offsets, plus what follows from them."""

    language: str
    entities: list[Entity] = field(default_factory=list)
    concepts: list[str] = field(default_factory=list)
    areas: list[str] = field(default_factory=list)
    organizations: dict[str, str] = field(default_factory=dict)
    keyphrases: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass
class QueryAnalysis:
    """A query's analysis short of its vectors: what the analysis cache keeps."""

    language: str
    concepts: list[str]
    texts: list[str]  # the query's passages
    rendered: list[tuple[int, str]]  # (source passage, English rendering) of a Japanese query
    sparse: SparseVector
    readings: Readings = field(default_factory=list)  # EnrichedQuery.readings

    def to_json(self) -> str:
        import json

        return json.dumps({"language": self.language, "concepts": self.concepts, "texts": self.texts,
                           "rendered": self.rendered, "sparse": [self.sparse.indices, self.sparse.values],
                           "readings": self.readings}, ensure_ascii=False)

    @classmethod
    def from_json(cls, data: str | None) -> "QueryAnalysis | None":
        import json

        if not data:
            return None
        try:
            row = json.loads(data)
            return cls(language=row["language"], concepts=list(row["concepts"]), texts=list(row["texts"]),
                       rendered=[(int(i), str(r)) for i, r in row["rendered"]],
                       sparse=SparseVector(indices=list(row["sparse"][0]), values=list(row["sparse"][1])),
                       readings=[[[[int(i) for i in spelling] for spelling in word] for word in reading]
                                 for reading in row["readings"]])
        except (ValueError, KeyError, TypeError, IndexError):
            return None  # a damaged row is a miss


MAX_TERMS = 24


def technology_terms(entities: list[Entity], limit: int = MAX_TERMS) -> list[dict]:
    """A document's technology terms for people: typed terms of the technology types (METHOD, MATERIAL, TASK),
    most frequent first, one per distinct text, each with its taxonomy concept where one lies in it:
    [{"type": "MATERIAL", "text": "carbon fiber composite", "concept": "composite-material"}, ...]."""
    from domain.models import TECHNOLOGY_ENTITY_TYPES

    counts: dict[str, int] = {}
    first: dict[str, dict] = {}
    for e in entities:
        if str(e.label) not in TECHNOLOGY_ENTITY_TYPES:
            continue
        key = " ".join(e.text.split()).casefold()
        counts[key] = counts.get(key, 0) + 1
        if key not in first:
            first[key] = {"type": str(e.label), "text": " ".join(e.text.split()), "concept": e.concept_id}
    ranked = sorted(first, key=lambda k: -counts[k])[:limit]
    return [first[k] for k in ranked]


def _with_terms(document: Document, entities: list[Entity]) -> Document:
    """`document` with its typed technology terms in `meta["terms"]`: what the pages, facets and match
    explanations show (domain.models.TermRef); as it was when it has none."""
    terms = technology_terms(entities)
    return document.model_copy(update={"meta": {**document.meta, "terms": terms}}) if terms else document


def _document_entities(entities: list[Entity], base: int | None) -> list[Entity]:
    """Entities of the analysed text (title, newline, body) in Document.text offsets: those in the title are
    left out (they count for concepts only); none when the text is the title alone (`base` None)."""
    if base is None:
        return []
    return [e.model_copy(update={"start": e.start - base, "end": e.end - base}) for e in entities if e.start >= base]


@dataclass
class _PendingTerms:
    """A document whose typed terms wait for the token states of its passages' embedding: its spaCy docs (with
    their offsets in the analysed text), language, title offset (`_document_entities`) and own passages."""

    docs: list
    language: str
    base: int | None
    passages: int


# SCOUT_NLP_MODEL=hashing selects the deterministic hashing embedder (no model): for tests and dry runs.
HASHING_MODEL = "hashing"


class Enricher:
    """One front for the nlp stage. The spaCy pipelines, the embedder and the lexical encoder load lazily."""

    def __init__(
        self,
        settings: NlpSettings | None = None,
        embedder: Embedder | None = None,
        sparse: SparseEncoder | None = None,
        max_passages: int = DEFAULT_MAX_PASSAGES,
        multilingual: Embedder | None = None,
        cache_path: Path | None = None,
    ) -> None:
        self.settings = settings or NlpSettings()
        #: the embedding cache's file (with `settings.cache`); None: the home's (`NlpSettings.cache_path`)
        self.cache_path = cache_path
        self._embedder_arg = embedder
        self._embedder: Embedder | None = None
        self._multilingual_arg = multilingual
        self._multilingual: Embedder | bool | None = None  # False: off or not installed
        self._sparse = sparse
        self._translator = None
        self._reverse = None
        self._filler_terms: frozenset[str] | None = None
        self._plain = None  # PlainEnglish tables; False: looked for, none saved yet
        self._fingerprint: str | None = None
        self._warned_no_states = False
        self.max_passages = max_passages
        self._taxonomy_path = str(self.settings.taxonomy_path or "")
        self._lock = threading.Lock()

    # -- lazily built parts -------------------------------------------------------------------------------
    @property
    def taxonomy(self):
        from nlp.taxonomy import cached_taxonomy

        return cached_taxonomy(self._taxonomy_path)

    def plain_english_path(self):
        from nlp.plain_english import tables_path
        from nlp.taxonomy import BUNDLED_TAXONOMY

        return tables_path(self.settings.models_dir,
                           Path(self._taxonomy_path) if self._taxonomy_path else BUNDLED_TAXONOMY)

    @property
    def plain_english(self):
        """`nlp.plain_english.PlainEnglish` tables saved by an earlier English pipeline, or None: plain English
        queries are then analysed without spaCy."""
        if self._plain is None:
            from nlp.plain_english import PlainEnglish

            try:
                self._plain = PlainEnglish.load(self.plain_english_path()) or False
            except OSError:  # an unreadable taxonomy file fails where the pipeline loads it, with its name
                self._plain = False
        return self._plain or None

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            with self._lock:
                if self._embedder is None:
                    base = self._embedder_arg
                    if base is None and self.settings.model == HASHING_MODEL:
                        from nlp.fake import HashingEmbedder

                        base = HashingEmbedder()
                    if base is None:
                        from nlp.embedder import SentenceTransformerEmbedder

                        base = SentenceTransformerEmbedder(self.settings)
                    if self.settings.cache:
                        from nlp.cache import CachedEmbedder, EmbeddingCache

                        base = CachedEmbedder(base, EmbeddingCache(self.cache_path or self.settings.cache_path))
                    self._embedder = base
        return self._embedder

    @property
    def multilingual(self) -> Embedder | None:
        """The language-agnostic sentence encoder (nlp/multilingual.py), or None: `SCOUT_NLP_MULTILINGUAL=off`
        or its package is not installed; documents and queries then carry no multilingual vectors and ranking
        goes without that channel."""
        if self._multilingual is None:
            with self._lock:
                if self._multilingual is None:
                    self._multilingual = self._make_multilingual() or False
        return self._multilingual or None

    def turn_multilingual_off(self) -> None:
        """The language-agnostic channel off for this enricher, as `SCOUT_NLP_MULTILINGUAL=off` has it: for an index
        created without storage for the sentence vectors (`index.store.Index.has_sentences`), so that neither
        documents nor queries are encoded for a channel that index cannot hold."""
        with self._lock:
            self.settings = self.settings.model_copy(update={"multilingual": "off"})
            self._multilingual = False

    def _make_multilingual(self) -> Embedder | None:
        if self.settings.multilingual == "off":
            return None
        base = self._multilingual_arg
        if base is None and self.settings.model == HASHING_MODEL:
            from nlp.fake import HashingEmbedder
            from nlp.multilingual import DIM

            base = HashingEmbedder(dim=DIM, name="hashing-multilingual")
        if base is None:
            from nlp.multilingual import UniversalSentenceEncoder

            try:
                base = UniversalSentenceEncoder(self.settings.models_dir)
            except ImportError as exc:
                log.warning("no multilingual channel: %s (ranking goes without it)", exc)
                return None
        if self.settings.cache:
            from nlp.cache import CachedEmbedder, EmbeddingCache

            base = CachedEmbedder(base, EmbeddingCache(self.cache_path or self.settings.cache_path))
        return base

    def _start_passages(self, texts: list[str], wanted: list[bool] | None = None) -> "_PassageJob":
        """The embedder's call for a batch's passages and titles, started on a helper thread: ONNX Runtime
        releases the GIL, so this thread meanwhile encodes the multilingual sentences, analyses the next batch
        or writes the last one. `wanted`: the texts whose token states the typed-term tagger waits for. On one
        core (`overlaps` false: a Dask worker's share, `SCOUT_NLP_THREADS=1`) it runs here, before the rest."""
        job = _PassageJob(self, texts, wanted)
        job.start() if texts and self.overlaps else job.run()
        return job

    @property
    def overlaps(self) -> bool:
        """Whether a batch's passages are embedded on a helper thread beside the rest of its enrichment: only with
        more than one core to compute on (`SCOUT_NLP_THREADS`, else this machine's cores). A process given one
        core (a Dask worker, one per core) computes on one thread: two would only take turns on it."""
        from nlp.embedder import physical_cores

        return (self.settings.threads or physical_cores()) > 1

    def embeddings(self, job: "_PassageJob", per_doc_sentences: list[list[str]],
                   ) -> tuple[np.ndarray | None, list[np.ndarray | None]]:
        """A batch's vectors: the passage job's (None: the embedder failed, logged; the caller embeds document by
        document) and each document's sentences in the multilingual space, encoded here while the job runs."""
        try:
            sentence_vectors = self._sentence_vectors(per_doc_sentences)
        finally:
            job.join()
        if job.error is not None:
            log.error("batch embedding failed; retrying document by document", exc_info=job.error)
        return job.vectors, sentence_vectors

    def _sentence_vectors(self, per_doc: list[list[str]]) -> list[np.ndarray | None]:
        """Each document's sentence vectors in the multilingual space (None for all when the channel is off,
        or when its encoder fails: the documents are still indexed, without that channel, and it is logged)."""
        encoder = self.multilingual
        if encoder is None:
            return [None] * len(per_doc)
        flat = [s for sentences in per_doc for s in sentences]
        try:
            vectors = np.asarray(encoder.encode(flat), dtype=np.float32) if flat else np.zeros((0, encoder.dim))
        except Exception:
            log.exception("multilingual sentence encoding failed; these documents go without that channel")
            return [None] * len(per_doc)
        out: list[np.ndarray | None] = []
        row = 0
        for sentences in per_doc:
            out.append(vectors[row:row + len(sentences)].astype(np.float32) if sentences else None)
            row += len(sentences)
        return out

    @property
    def sparse(self) -> SparseEncoder:
        if self._sparse is None:
            try:
                from nlp.lexical import LexicalEncoder
            except ImportError as exc:
                raise RuntimeError("nlp.lexical.LexicalEncoder is not available; pass sparse= to Enricher") from exc
            self._sparse = LexicalEncoder(plain=self.plain_english)
        return self._sparse

    @property
    def translator(self):
        if self._translator is None:
            from nlp.translate import TermTranslator

            self._translator = TermTranslator(self.taxonomy)
        return self._translator

    def pipeline(self, language: str):
        from nlp.components import get_pipeline

        nlp = get_pipeline(language, self._taxonomy_path, self.settings.ja_pipeline, self._tagger_path(language))
        if language != "ja" and not self._plain:
            self._save_plain_english(nlp)
        return nlp

    def _tagger_path(self, language: str) -> str:
        """The typed-term tagger model for a language ("" when none is installed: rule keyphrases then)."""
        if not self.settings.typed_entities:
            return ""
        from nlp.entity_tagger import model_path

        found = model_path(language, self.settings.models_dir)
        return str(found) if found else ""

    def _save_plain_english(self, nlp) -> None:
        from nlp.plain_english import PlainEnglish

        with self._lock:
            if self._plain:
                return
            path = self.plain_english_path()
            tables = PlainEnglish.load(path)
            if tables is None:
                tables = PlainEnglish.from_pipeline(nlp)
                try:
                    tables.save(path)
                except OSError as exc:  # a read-only models folder costs speed, never an answer
                    log.warning("cannot save %s: %s", path, exc)
            self._plain = tables
            from nlp.lexical import LexicalEncoder

            if isinstance(self._sparse, LexicalEncoder):
                self._sparse.plain = tables

    # -- text analysis ------------------------------------------------------------------------------------
    def analyse_text(self, text: str, language: str, pieces: list | None = None) -> TextAnalysis:
        """Entities (offsets in `text`), concepts with their ancestors, areas, organizations, keyphrases.

        An English tagger of feature set 4 tags with the encoder's token states of the text: `pieces` as
        `text_pieces` gives them; without them, one encoder pass over the text's passages makes them here (the
        ingest hands over those of the pass that embeds the passages instead: `enrich`)."""
        if pieces is None and self._needs_context(language):
            pieces = self.text_pieces(text)
        docs, notes = self._docs(text, language, pieces)
        return self._analysis_of(docs, language, notes)

    def _needs_context(self, language: str) -> bool:
        """True when the language's typed-term tagger tags with the encoder's token states."""
        nlp = self.pipeline(language)
        return ("dualscout_typed_terms" in nlp.pipe_names
                and nlp.get_pipe("dualscout_typed_terms").tagger.needs_context)

    def text_pieces(self, text: str) -> list:
        """The encoder's word pieces of `text`, as the ingest makes them: [(passage start in text, TokenStates)]
        of each of its passages (empty where the embedder gives no token states: torch, the hashing embedder)."""
        passages, _ = self._passages(text)
        return self._pieces_of(passages, self._encode_with_states([p.text for p in passages])[1])

    def _encode_with_states(self, texts: list[str], wanted: list[bool] | None = None) -> tuple:
        """(vectors, token states or None per text) from the embedder's one pass (see nlp.embedder)."""
        encode = getattr(self.embedder, "encode_with_states", None)
        if encode is None:
            return self.embedder.encode(texts), [None] * len(texts)
        return encode(texts) if wanted is None else encode(texts, wanted)

    @staticmethod
    def _pieces_of(passages: list[Passage], states: list) -> list:
        return [(p.start, found) for p, found in zip(passages, states) if found is not None]

    def _docs(self, text: str, language: str, pieces: list | None) -> tuple[list[tuple[int, object]], list[str]]:
        """The spaCy docs of `text` (a huge text in chunks) with their offsets, and notes. Without `pieces`, an
        English tagger that wants them leaves its docs pending (components.TYPED_PENDING: `_finish_typed`)."""
        from nlp.components import TOKEN_PIECES

        nlp = self.pipeline(language)
        notes = []
        if len(text) > MAX_ANALYSED_CHARS:
            notes.append(f"entities extracted from the first {MAX_ANALYSED_CHARS} of {len(text)} characters")
            text = text[:MAX_ANALYSED_CHARS]
        docs = []
        for offset, chunk in _chunks(text, _CHUNK_CHARS["ja" if language == "ja" else "en"]):
            if not chunk.strip():
                continue
            doc = nlp.make_doc(chunk)
            if pieces is not None:
                doc.user_data[TOKEN_PIECES] = [(start - offset, found) for start, found in pieces]
            docs.append((offset, nlp(doc)))
        return docs, notes

    def _finish_typed(self, docs: list[tuple[int, object]], language: str, pieces: list) -> None:
        """Tag the pending docs of `_docs` with the encoder's word pieces of their text."""
        from nlp.components import TOKEN_PIECES, TYPED_PENDING

        tagger = self.pipeline(language).get_pipe("dualscout_typed_terms")
        for offset, doc in docs:
            if doc.user_data.get(TYPED_PENDING):
                doc.user_data[TOKEN_PIECES] = [(start - offset, found) for start, found in pieces]
                tagger(doc)

    def _analysis_of(self, docs: list[tuple[int, object]], language: str, notes: list[str]) -> TextAnalysis:
        result = TextAnalysis(language=language, notes=list(notes))
        direct: list[str] = []
        phrase_counts: dict[str, int] = {}
        for offset, doc in docs:
            for span in doc.spans["tech"]:
                result.entities.append(
                    Entity(text=span.text, label=EntityLabel.technology, start=offset + span.start_char,
                           end=offset + span.end_char, concept_id=span.kb_id_)
                )
                direct.append(span.kb_id_)
            for span in doc.spans["orgs"]:
                result.entities.append(
                    Entity(text=span.text, label=EntityLabel.organization, start=offset + span.start_char,
                           end=offset + span.end_char, key=span.kb_id_)
                )
                result.organizations.setdefault(span.kb_id_, display_name(span.text))
            typed = doc.spans["typed"] if "typed" in doc.spans else None
            for span in typed or []:
                result.entities.append(
                    Entity(text=span.text, label=EntityLabel(span.label_), start=offset + span.start_char,
                           end=offset + span.end_char, concept_id=span.kb_id_ or None)
                )
            for rank, span in enumerate(doc.spans["keyphrases"]):
                if typed is None:  # rule keyphrases are entities only where no tagger types terms
                    result.entities.append(
                        Entity(text=span.text, label=EntityLabel.keyphrase, start=offset + span.start_char,
                               end=offset + span.end_char)
                    )
                phrase_counts.setdefault(span.text, rank)
        result.entities.sort(key=lambda e: (e.start, e.end))
        result.concepts = self._with_ancestors(direct)
        areas: list[str] = []
        for cid in dict.fromkeys(direct):
            areas.extend(a for a in self.taxonomy.areas_of(cid) if a not in areas)
        result.areas = areas
        result.keyphrases = sorted(phrase_counts, key=phrase_counts.get)[:20]
        return result

    def _with_ancestors(self, direct: list[str]) -> list[str]:
        """Concepts found, then their ancestors (so a filter on a parent finds its children's documents)."""
        concepts = list(dict.fromkeys(direct))
        for cid in list(concepts):
            for parent in self.taxonomy.ancestors(cid):
                if parent not in concepts:
                    concepts.append(parent)
        return concepts

    def _plain_concepts(self, text: str, language: str) -> list[str] | None:
        """`analyse_text(text).concepts` without spaCy, for plain English text once the tables exist."""
        plain = self.plain_english if language != "ja" and len(text) <= _CHUNK_CHARS["en"] else None
        tokens = plain.tokens(text) if plain is not None else None
        if tokens is None:
            return None
        return self._with_ancestors(plain.concept_ids(tokens))

    def _passages(self, text: str) -> tuple[list[Passage], list[str]]:
        split = split_passages(
            text, self.embedder, overlap_tokens=self.settings.passage_overlap_tokens, max_passages=self.max_passages
        )
        return split.passages, split.notes

    def _renderings(self, passages: list[Passage], language: str) -> list[tuple[int, str]]:
        """(source passage index, English rendering) for a Japanese text; nothing for other languages."""
        if language != "ja" or not self.settings.translate:
            return []
        nlp = self.pipeline("ja")
        out: list[tuple[int, str]] = []
        budget = self.embedder.max_tokens
        for passage in passages:
            rendering = self.translator.render(nlp.make_doc(passage.text))
            if not rendering.strip():
                continue
            if self.embedder.count_tokens([rendering])[0] <= budget:
                out.append((passage.index, rendering))
            else:  # never let the encoder truncate a rendering silently
                for piece in split_passages(rendering, self.embedder, overlap_tokens=0).passages:
                    out.append((passage.index, piece.text))
        return out

    # -- documents ----------------------------------------------------------------------------------------
    def _title_text(self, title: str, language: str) -> str:
        """What the title vector embeds: the title, or its English rendering for a Japanese title (the
        default model reads English)."""
        if language == "ja" and self.settings.translate:
            rendering = self.translator.render(self.pipeline("ja").make_doc(title)).strip()
            if rendering:
                return rendering
        return title

    def _prepare(self, document: Document) -> tuple[Document, Analysis, dict[int, int], list[str], str,
                                                    list[str], tuple[str, str], "_PendingTerms | None"]:
        """(document, analysis, translated_from, notes, text for BM25, sentences for the multilingual channel,
        (title to embed, title for BM25), typed terms still to tag: with the token states of the passages'
        embedding, in `_assemble`)."""
        title = clean_control(document.title or "")
        body = clean_control(document.text or "")
        text = analysed_text(title.strip() and title, body.strip() and body) if (title.strip() or body.strip()) else ""
        if not text.strip():
            raise ValueError("empty text")
        language = document.language if document.language in ("ja", "en", "other") else detect_language(text)
        docs, analysis_notes = self._docs(text, language, None)  # typed terms may wait for the token states
        found = self._analysis_of(docs, language, analysis_notes)
        # Entities are reported in Document.text offsets; those in the title count for concepts only.
        base = len(title) + 1 if (title.strip() and body.strip()) else (0 if not title.strip() else None)
        entities = _document_entities(found.entities, base)
        organizations = record_organizations(found.organizations, document.organizations)
        passages, notes = self._passages(text)
        notes = found.notes + notes
        from nlp.components import TYPED_PENDING

        pending = (_PendingTerms(docs, language, base, len(passages))
                   if any(doc.user_data.get(TYPED_PENDING) for _, doc in docs) else None)
        translated_from: dict[int, int] = {}
        for source_index, rendering in self._renderings(passages, language):
            src = passages[source_index]
            translated_from[len(passages)] = source_index
            passages.append(
                Passage(index=len(passages), start=src.start, end=src.end, text=rendering, hash=passage_hash(rendering))
            )
        analysis = Analysis(
            doc_id=document.id,
            language=language,
            entities=entities,
            concepts=found.concepts,
            areas=found.areas,
            organizations=organizations,
            keyphrases=found.keyphrases,
            passages=passages,
        )
        if document.language != language:
            document = document.model_copy(update={"language": language})
        document = _with_terms(document, found.entities)
        renderings = " ".join(p.text for i, p in enumerate(passages) if i in translated_from)
        sparse_text = f"{text}\n{renderings}" if renderings else text
        title_text = self._title_text(title.strip(), language) if title.strip() else ""
        title_terms = title.strip() if title_text == title.strip() else f"{title.strip()}\n{title_text}"
        if self.settings.multilingual != "off":
            from nlp.multilingual import sentences

            vector_sentences = sentences(text)
        else:
            vector_sentences = []
        return (document, analysis, translated_from, notes, sparse_text, vector_sentences, (title_text, title_terms),
                pending)

    def warm_up(self, stop: Callable[[], bool] = lambda: False) -> None:
        """Load now what the first enrich would load on its way (the language detector and pipelines, the lexical
        encoder, the encoders' sessions) by analysing and encoding two short texts, one a language, past the
        embedding cache: nothing is stored. A Dask worker runs it while the flow opens the index. `stop()` is
        asked between the parts (each a second or two): once it says so, the rest is left to load on first use."""
        texts = {"en": "Radar absorbing metamaterials. " + "We study a broadband metamaterial absorber for radar "
                       "and infrared signatures, with a graphene layer tuned by a gate voltage. " * 5,
                 "ja": "量子センシングによる磁気計測。" + "ダイヤモンド中の窒素空孔中心を用いて、室温で高感度な磁気センサーを開発した。" * 5}
        prepared = []
        for language, text in texts.items():
            if stop():
                return
            doc = Document.make(kind="research", source="warm-up", source_id=language, url="https://example.org/",
                                title=text.split("。")[0].split(".")[0], text=text)
            prepared += self._prepare_batch([doc])[0]
            self.sparse.encode_document(text, language)
        self._encode_past_caches([(self.embedder, self._texts(prepared)[0]),
                                  (self.multilingual, [s for p in prepared for s in p[5]])], stop)

    def warm_up_queries(self) -> list[EnrichedQuery]:
        """Load now what the first query of either language would load (the language detector, the query
        analysis and renderings, the lexical encoder, both encoders' sessions) by analysing and encoding an
        English and a Japanese query past the caches: nothing is stored. `scout serve` runs it as it starts, so
        that the first person to search does not wait seconds for the models. Returns the two queries (the
        library ranks them to warm the index up, keeping nothing: `Ranker.warm_up`)."""
        # the Japanese text holds a compound no dictionary headword covers, so its glosses' index loads too
        return [self._enriched_query(text, self._analyse_query, past_cache(self.embedder),
                                     past_cache(self.multilingual))
                for text in ("radar absorbing metamaterials for small drones", "水中音響センサーによる磁気計測の研究")]

    @staticmethod
    def _encode_past_caches(work: Sequence[tuple[Embedder | None, list[str]]],
                            stop: Callable[[], bool] = lambda: False) -> None:
        """Each encoder, past its cache (`past_cache`), run on its inputs; `stop()` asked before each."""
        for encoder, inputs in work:
            if stop():
                return
            if encoder is not None and inputs:
                past_cache(encoder).encode(inputs)

    def enrich(self, docs: Sequence[Document]) -> tuple[list[EnrichedDocument], list[Reject]]:
        """Analyse and embed a batch; every document comes back enriched or as a Reject."""
        return next(self.enrich_batches([docs]))

    def enrich_batches(self, batches: Iterable[Sequence[Document]],
                       ) -> Iterator[tuple[list[EnrichedDocument], list[Reject]]]:
        """`enrich` of each batch, in order, overlapped so both cores work (`overlaps`: with more than one core to
        compute on; else the same steps on this thread, one after the other): while the embedder (on a helper thread)
        embeds one batch's passages, this thread encodes that batch's multilingual sentences, analyses the next
        batch and hands back the one before (the caller writes it meanwhile). Each batch is embedded in its own
        call, as `enrich` embeds it (the int8 encoder's vectors depend on which texts share a run): the same
        results as `enrich` batch by batch."""
        pending = None  # (prepared, rejects, passage job) of the batch whose passages are being embedded

        def embedded(batch: tuple) -> tuple:
            """`_assemble`'s arguments for a pending batch, once its passage job is done."""
            prepared, rejects, job = batch
            return (prepared, rejects, *self.embeddings(job, [p[5] for p in prepared]), job.states)

        try:
            for docs in batches:
                prepared, rejects = self._prepare_batch(docs)
                done = embedded(pending) if pending is not None else None
                pending = (prepared, rejects, self._start_passages(*self._texts(prepared)))
                if done is not None:
                    yield self._assemble(*done)
            if pending is not None:
                done, pending = embedded(pending), None
                yield self._assemble(*done)
        finally:
            if pending is not None:  # the caller stopped early: the helper thread finishes before we return
                pending[2].join()

    def _prepare_batch(self, docs: Sequence[Document]) -> tuple[list[tuple], list[Reject]]:
        prepared = []
        rejects: list[Reject] = []
        for document in docs:
            try:
                prepared.append(self._prepare(document))
            except Exception as exc:  # one bad document must not stop the batch
                rejects.append(self._reject(document, exc))
        return prepared, rejects

    @staticmethod
    def _texts(prepared: list[tuple]) -> tuple[list[str], list[bool] | None]:
        """What the embedder embeds for a batch, in one call (it batches, the cache skips what it has seen):
        every passage, then every title; and which of them the typed-term tagger wants the token states of (the
        own passages of a document whose terms wait for them; None: none)."""
        texts = ([p.text for _, analysis, *_ in prepared for p in analysis.passages]
                 + [p[6][0] for p in prepared if p[6][0]])
        wanted = [pending is not None and i < pending.passages
                  for _, analysis, *_, pending in prepared for i in range(len(analysis.passages))]
        return texts, (wanted + [False] * (len(texts) - len(wanted)) if any(wanted) else None)

    def _assemble(self, prepared: list[tuple], rejects: list[Reject], vectors: np.ndarray | None,
                  sentence_vectors: list[np.ndarray | None], states: list | None = None,
                  ) -> tuple[list[EnrichedDocument], list[Reject]]:
        per_doc = vectors is None
        titles = sum(1 for p in prepared if p[6][0])
        texts_count = sum(len(analysis.passages) for _, analysis, *_ in prepared) + titles
        out: list[EnrichedDocument] = []
        row = 0
        title_row = texts_count - titles
        for (document, analysis, translated_from, notes, sparse_text, _, (title_text, title_terms), pending), \
                sentence_vecs in zip(prepared, sentence_vectors):
            n = len(analysis.passages)
            try:
                title_vector = title_sparse = None
                doc_states = None
                if per_doc:
                    texts = [p.text for p in analysis.passages]
                    if pending is None:
                        doc_vectors = self.embedder.encode(texts)
                    else:
                        doc_vectors, doc_states = self._encode_with_states(texts, [True] * n)
                    if title_text:
                        title_vector = self.embedder.encode([title_text])[0]
                else:
                    doc_vectors = vectors[row : row + n]
                    doc_states = states[row : row + n] if states is not None else None
                    if title_text:
                        title_vector = vectors[title_row]
                if pending is not None:
                    document, analysis = self._with_typed_terms(document, analysis, pending, doc_states)
                doc_vectors = self._ja_vectors(np.asarray(doc_vectors, dtype=np.float32), translated_from,
                                               analysis.language)
                row += n
                if title_text:
                    title_row += 1
                    title_sparse = self.sparse.encode_title(title_terms, analysis.language)
                sparse = self._with_other_language(self.sparse.encode_document(sparse_text, analysis.language),
                                                   sparse_text, analysis.language, document.kind == DocKind.need)
                if notes:
                    document = document.model_copy(update={"meta": {**document.meta, "nlp_notes": notes}})
                out.append(
                    EnrichedDocument(
                        document=document,
                        analysis=analysis,
                        passage_vectors=np.asarray(doc_vectors, dtype=np.float32),
                        sparse=sparse,
                        translated_from=translated_from,
                        notes=notes,
                        title_vector=None if title_vector is None else np.asarray(title_vector, dtype=np.float32),
                        title_sparse=title_sparse,
                        sentence_vectors=sentence_vecs,
                    )
                )
            except Exception as exc:
                rejects.append(self._reject(document, exc))
        return out, rejects

    def _with_typed_terms(self, document: Document, analysis: Analysis, pending: _PendingTerms,
                          states: list | None) -> tuple[Document, Analysis]:
        """The document and its analysis with the typed terms tagged from its passages' token states (None: the
        embedder gives none, e.g. the torch backend; the tagger then goes without its contextual features)."""
        pieces = self._pieces_of(analysis.passages[: pending.passages], states or [])
        if not pieces and not self._warned_no_states:
            self._warned_no_states = True
            log.warning("the embedder gives no token states (torch backend?): typed English terms are tagged "
                        "without their contextual features, less accurately")
        self._finish_typed(pending.docs, pending.language, pieces)
        found = self._analysis_of(pending.docs, pending.language, [])
        analysis = analysis.model_copy(update={"entities": _document_entities(found.entities, pending.base)})
        document = _with_terms(document, found.entities)
        return document, analysis

    def _ja_vectors(self, vectors: np.ndarray, translated_from: dict[int, int], language: str) -> np.ndarray:
        """With `ja_vectors=rendering`, each Japanese passage that has an English rendering takes the
        rendering's vector (the mean of its pieces'): the passage keeps its own text for evidence, and a
        Japanese query or need then meets Japanese and English documents in the same space, not by script."""
        if language != "ja" or self.settings.ja_vectors != "rendering" or not translated_from:
            return vectors
        out = vectors.copy()
        pieces: dict[int, list[int]] = {}
        for rendered, source in translated_from.items():
            pieces.setdefault(source, []).append(rendered)
        for source, rendered in pieces.items():
            if len(rendered) == 1:  # the rendering's own vector, bit for bit: searched once (Index.search_dense)
                out[source] = vectors[rendered[0]]
                continue
            mean = vectors[rendered].mean(axis=0)
            norm = float(np.linalg.norm(mean))
            if norm > 0:
                out[source] = mean / norm
        return out

    def _with_other_language(self, sparse: SparseVector, text: str, language: str,
                             query: bool = True) -> SparseVector:
        """A query's (or need's) BM25 vector with terms for the other language added at `reverse_weight`: an
        English one's Japanese equivalents (nlp/reverse.py; query translation, so it also meets a Japanese
        document's own words), a Japanese one's other readings of the words its rendering glossed once.
        Documents are not expanded: they carry one rendering, the query all the readings."""
        weight = self.settings.reverse_weight
        if language not in ("en", "ja") or not query or not weight or not self.settings.translate:
            return sparse
        if language == "ja":  # a Japanese one: the other readings of the words its rendering glossed
            terms = self.translator.alternatives(self.pipeline("ja").make_doc(text))
        else:
            terms = self.reverse.terms(text)
        if not terms:
            return sparse
        extra = self.sparse.encode_document(" ".join(terms), "en" if language == "ja" else "ja")
        merged = dict(zip(sparse.indices, sparse.values))
        for i, v in zip(extra.indices, extra.values):
            merged[i] = max(merged.get(i, 0.0), weight * v)  # a shared id (a Latin word) is not counted twice
        items = sorted(merged.items())
        return SparseVector(indices=[i for i, _ in items], values=[v for _, v in items])

    @property
    def reverse(self):
        if self._reverse is None:
            from nlp.reverse import ReverseGlossary

            self._reverse = ReverseGlossary(self.taxonomy)
        return self._reverse

    @staticmethod
    def _reject(document: Document, exc: Exception) -> Reject:
        reason = str(exc) if isinstance(exc, ValueError) else f"nlp failed: {type(exc).__name__}"
        return Reject(source=document.source, url=document.url, reason=reason, stage="nlp", detail=repr(exc)[:500])

    # -- queries ------------------------------------------------------------------------------------------
    def query(self, text: str, analysed: Callable[[SparseVector], None] | None = None) -> EnrichedQuery:
        """A free-text query (or a need's title + text) ready for hybrid retrieval. Empty text is a ValueError.
        `analysed`: called with the query's BM25 vector before the encoders run (nlp.base.Enricher.query)."""
        clean = clean_control(text or "").strip()
        if not clean:
            raise ValueError("empty query")
        return self._enriched_query(clean, self._query_analysis, self.embedder, self.multilingual, analysed)

    def _enriched_query(self, clean: str, analysis: Callable[[str], QueryAnalysis], embedder: Embedder,
                        multilingual: Embedder | None,
                        analysed: Callable[[SparseVector], None] | None = None) -> EnrichedQuery:
        """`query` of clean text with these parts: the analysis and encoders behind the caches, or in front."""
        preload = getattr(past_cache(multilingual), "preload", None)
        if preload is not None:
            preload()  # its start-up overlaps the analysis and the other encoder's (a cold query)
        found = analysis(clean)
        if analysed is not None:
            analysed(found.sparse)
        language, texts, rendered = found.language, found.texts, found.rendered
        renderings = [r for _, r in rendered]
        vectors = np.asarray(embedder.encode(texts + renderings), dtype=np.float32)
        # the query's first vector (a need title's, in ranking) is its rendering's too
        vectors = self._ja_vectors(vectors, {len(texts) + i: src for i, (src, _) in enumerate(rendered)}, language)
        multilingual_vector = None
        if multilingual is not None:
            try:
                multilingual_vector = np.asarray(multilingual.encode([clean]), dtype=np.float32)[0]
            except Exception:  # the query is still answered, by the other channels
                log.exception("multilingual query encoding failed; searching without that channel")
        return EnrichedQuery(
            text=clean,
            language=language,
            concepts=found.concepts,
            passage_vectors=np.asarray(vectors, dtype=np.float32),
            sparse=found.sparse,
            passages=texts + renderings,
            rendering=" ".join(renderings),
            multilingual_vector=multilingual_vector,
            readings=found.readings,
        )

    def _readings(self, clean: str, sparse_text: str, language: str) -> Readings:
        """The query's words as BM25 term ids, one list per language it is spelled in (EnrichedQuery.readings).

        English: one reading, each word spelled by its own term and by its Japanese equivalents (nlp/reverse.py:
        "radar" by レーダー and by レーダ), so a document holding any spelling holds the word. A phrase's
        equivalent spells each of its words and is held when all its parts are ("underwater acoustic
        communication": 水中音響通信, three terms; each part a spelling of its own, a document holding 通信 had
        held all three words, and a cyber-security release read 0.707, strong, for that query on the demo).
        Japanese: its own words and its English rendering, two readings (the rendering spells the same words
        again). The other readings of a rendering's glosses are in neither: extra spellings, never words.

        A word that names the kind of work asked for, not its subject (`query_filler_terms`: 研究, "study",
        "technology"), is no word of a query that has others: "水中音響通信の研究" is three words, and a paper
        on optical switches for quantum communication holding 通信 and 研究 had held half of four (0.550,
        moderate, on the demo's search page) where it holds one of three."""
        tokens = getattr(self.sparse, "tokens", None)
        if tokens is None:  # another sparse encoder: the ranking counts each term as a word
            return []
        from nlp.lexical import _JA_CHARS, term_id

        def subject(reading: list[str]) -> list[str]:
            filler = self.query_filler_terms()
            return [t for t in reading if t not in filler] or reading

        terms = list(dict.fromkeys(tokens(sparse_text, language)))
        if language == "ja":
            own, rendered = [t for t in terms if _JA_CHARS.search(t)], [t for t in terms if not _JA_CHARS.search(t)]
            readings = [subject(own), subject(rendered)]
            return [[[[term_id(t)]] for t in reading] for reading in readings if reading]
        words = {term_id(t): [[term_id(t)]] for t in subject(terms)}
        if language == "en" and self.settings.reverse_weight and self.settings.translate:
            for phrase, japanese in self.reverse.phrases(clean):
                spellings = [[term_id(t) for t in dict.fromkeys(tokens(j, "ja"))] for j in japanese]
                for t in tokens(phrase, "en"):
                    if term_id(t) in words:
                        word = words[term_id(t)]
                        word.extend(s for s in spellings if s and s not in word)
        return [list(words.values())] if words else []

    def query_filler_terms(self) -> frozenset[str]:
        """The BM25 terms (as the sparse encoder spells them) of the words that name the kind of work a query
        asks for, not its subject (nlp/tokens.py QUERY_FILLER_EN, QUERY_FILLER_JA: the English list holds the
        renderings of the Japanese one, 研究 -> "study", so a Japanese query's rendering reads them too)."""
        if self._filler_terms is None:
            from nlp.tokens import QUERY_FILLER_EN, QUERY_FILLER_JA

            tokens = self.sparse.tokens
            self._filler_terms = frozenset(tokens(" ".join(QUERY_FILLER_EN), "en")) | frozenset(
                t for word in QUERY_FILLER_JA for t in tokens(word, "ja"))
        return self._filler_terms

    def _query_analysis(self, clean: str) -> QueryAnalysis:
        """Everything of a query but its vectors: from the analysis cache when this text was analysed before by
        the same code and data (a need title, ranked by every match run; a repeated search), else computed."""
        cache = getattr(self.embedder, "cache", None) if self.settings.cache else None
        key = passage_hash(clean)
        if cache is not None:
            found = QueryAnalysis.from_json(cache.get_analysis(self.analysis_fingerprint, key))
            if found is not None:
                return found
        found = self._analyse_query(clean)
        if cache is not None:
            cache.put_analysis(self.analysis_fingerprint, key, found.to_json())
        return found

    def _analyse_query(self, clean: str) -> QueryAnalysis:
        language = detect_language(clean)
        concepts = self._plain_concepts(clean, language)
        if concepts is None:
            # concepts only: no encoder pass for the typed terms' token states (none given: [])
            concepts = self.analyse_text(clean, language, []).concepts
        passages, _ = self._passages(clean)
        rendered = self._renderings(passages, language)
        rendering = " ".join(r for _, r in rendered)
        sparse_text = f"{clean}\n{rendering}" if rendering else clean
        found = QueryAnalysis(language=language, concepts=concepts, texts=[p.text for p in passages],
                              rendered=rendered,
                              sparse=self._with_other_language(self.sparse.encode_query(sparse_text, language),
                                                               clean, language),
                              readings=self._readings(clean, sparse_text, language))
        return found

    @property
    def analysis_fingerprint(self) -> str:
        """What a cached query analysis depends on: this package's nlp code and data, the libraries and
        dictionaries that tokenize and translate, the taxonomy and the settings that shape passages."""
        if self._fingerprint is None:
            from nlp.cache import code_fingerprint

            s = self.settings
            self._fingerprint = code_fingerprint(
                extra_files=[Path(self._taxonomy_path)] if self._taxonomy_path else [],
                settings=[s.model, s.ja_pipeline, s.translate, s.ja_vectors, s.max_passage_tokens,
                          s.passage_overlap_tokens, self.max_passages, s.reverse_weight])
        return self._fingerprint


class _PassageJob:
    """One `encode` call of the embedder, run on a helper thread (`start`, then `join`) or here (`run`); with
    `wanted`, the same pass gives those texts' token states too (`states`)."""

    def __init__(self, enricher: Enricher, texts: list[str], wanted: list[bool] | None = None) -> None:
        self.enricher, self.texts, self.wanted = enricher, texts, wanted
        self.vectors: np.ndarray | None = None
        self.states: list | None = None
        self.error: Exception | None = None
        self._thread: threading.Thread | None = None

    def run(self) -> None:
        try:
            if not self.texts:
                self.vectors = np.zeros((0, 0), dtype=np.float32)
            elif self.wanted is None:
                self.vectors = self.enricher.embedder.encode(self.texts)
            else:
                self.vectors, self.states = self.enricher._encode_with_states(self.texts, self.wanted)
        except Exception as exc:  # noqa: BLE001 - the caller logs it and embeds document by document
            self.error = exc

    def start(self) -> None:
        self._thread = threading.Thread(target=self.run, name="passage-embedder", daemon=True)
        self._thread.start()

    def join(self) -> None:
        if self._thread is not None:
            self._thread.join()
