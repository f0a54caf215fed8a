"""spaCy components (registered with `@Language.factory`) for technology concepts, organizations and
keyphrases, and the two lazily built pipelines that carry them (English on `spacy.blank("en")`, Japanese on
the `ja_ginza` tokenizer alone: SudachiPy gives tokens and POS tags, the slow tok2vec/parser/NER are excluded).

Each component writes a span group: `doc.spans["tech"]` (label TECH, `kb_id_` = concept id),
`doc.spans["orgs"]` (label ORG, `kb_id_` = normalized key), `doc.spans["typed"]` (typed terms of the trained
tagger, nlp.entity_tagger, when its model is there) and `doc.spans["keyphrases"]` (label KEYPHRASE);
`doc.ents` holds TECH and ORG spans with overlaps resolved (longest wins).
"""

from __future__ import annotations

import logging
import re
import threading
from collections import Counter
from pathlib import Path

import nlp.spacy_light  # noqa: F401  (before spaCy: keeps torch out of a query's process)
from spacy.lang.en.stop_words import STOP_WORDS as EN_STOP_WORDS
from spacy.language import Language
from spacy.matcher import PhraseMatcher
from spacy.tokens import Doc, Span
from spacy.util import filter_spans

from domain.orgs import EN_ORG_NAME, EN_ORG_TRIGGER, JA_ORG_NAME, JA_ORG_TRIGGER, normalize_org
from nlp.taxonomy import NOT_BEFORE, cached_taxonomy
from nlp.tokens import EN_GENERIC, english_plural

log = logging.getLogger(__name__)

JA_EXCLUDE = ["tok2vec", "parser", "ner", "morphologizer", "compound_splitter", "bunsetu_recognizer", "attribute_ruler"]


def _english_variants(label: str) -> set[str]:
    """The label and a naive plural/singular of its last word: "quantum sensor" <-> "quantum sensors"."""
    out = {label}
    if label[-1:].isalpha() and label.lower() == label:
        # a label ending in a single s reads as a plural already ("quantum sensors")
        out.add(label[:-1] if label.endswith("s") and not label.endswith("ss") else english_plural(label))
    return out


class LabelScanner:
    """Finds labels in raw text, longest first at each position, with a first-character index (a Python
    `re` alternation of a thousand labels is tried label by label at every position: far too slow).
    Latin labels must not sit inside a longer Latin word."""

    def __init__(self, labels: dict[str, str], fold_case: bool) -> None:
        self.fold_case = fold_case
        self.index: dict[str, list[tuple[str, str]]] = {}
        for label, value in labels.items():
            key = label.lower() if fold_case else label
            if key:
                self.index.setdefault(key[0], []).append((key, value))
        for candidates in self.index.values():
            candidates.sort(key=lambda kv: len(kv[0]), reverse=True)

    def scan(self, text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int, str]]:
        """Non-overlapping (start, end, value) matches in text[start:end]."""
        end = len(text) if end is None else end
        hay = text.lower() if self.fold_case else text
        out: list[tuple[int, int, str]] = []
        index = self.index
        i = start
        while i < end:
            candidates = index.get(hay[i])
            if candidates is not None and not (_is_latin_alnum(hay[i]) and i > 0 and _is_latin_alnum(hay[i - 1])):
                for label, value in candidates:
                    j = i + len(label)
                    if j <= end and hay.startswith(label, i) and not (
                        _is_latin_alnum(label[-1]) and j < len(hay) and _is_latin_alnum(hay[j])
                    ):
                        out.append((i, j, value))
                        i = j - 1
                        break
            i += 1
        return out


# Sudachi parts of speech a technology name is never made of. Sense check for Japanese labels matched on
# their normalized form: みちびき (QZSS) normalizes to 導く, so 「結論を導いた」 would name a satellite system.
_NOT_A_NAME_POS = ("動詞", "形容詞", "助動詞", "助詞", "副詞", "連体詞", "接続詞", "感動詞")


def _names_a_thing(span: Span) -> bool:
    """True when no token of a Japanese span is a verb, adjective or function word (or a conjugated form)."""
    return not any(t.tag_.startswith(_NOT_A_NAME_POS) for t in span)


def _is_latin_alnum(ch: str) -> bool:
    return ch.isascii() and ch.isalnum()


class TaxonomyMatcher:
    """Marks taxonomy concepts: English labels on LOWER, Japanese labels on NORM (plus a character-level
    pass, since Japanese has no word boundaries and Sudachi may cut a label differently in context),
    abbreviations case-sensitively on ORTH. Longest match wins."""

    def __init__(self, nlp: Language, name: str, taxonomy_path: str, char_fallback: bool) -> None:
        self.name = name
        self.taxonomy = cached_taxonomy(taxonomy_path)
        self.char_fallback = char_fallback
        self.concept_of: dict[str, str] = {}  # label (case as matched) -> concept id
        self.lower = PhraseMatcher(nlp.vocab, attr="LOWER")
        self.norm = PhraseMatcher(nlp.vocab, attr="NORM")
        self.orth = PhraseMatcher(nlp.vocab, attr="ORTH")
        ja_labels: dict[str, str] = {}
        en_labels: dict[str, str] = {}
        abbrs: dict[str, str] = {}
        for concept in self.taxonomy.concepts:
            for label in concept.labels_en():
                for variant in _english_variants(label.strip()):
                    en_labels.setdefault(variant.lower(), concept.id)
            for label in concept.labels_ja():
                ja_labels.setdefault(label.strip(), concept.id)
            for abbr in concept.abbreviations:
                abbrs.setdefault(abbr.strip(), concept.id)
        self.en_labels, self.ja_labels, self.abbrs = en_labels, ja_labels, abbrs
        # Each pattern's tokens as the matcher compares them, kept for `nlp.plain_english` (queries matched
        # without spaCy); the first concept of a pattern wins there, as it does here for a repeated label.
        self.pattern_keys: dict[str, dict[str, str]] = {"lower": {}, "norm": {}, "orth": {}}
        for attr, matcher, labels in (("lower", self.lower, en_labels), ("norm", self.norm, ja_labels),
                                      ("orth", self.orth, abbrs)):
            if char_fallback and attr != "norm":
                continue  # Japanese text meets English labels and abbreviations in the character scans only
            keys = self.pattern_keys[attr]
            for label, cid in labels.items():
                pattern = nlp.make_doc(label)
                matcher.add(cid, [pattern])
                words = [t.lower_ if attr == "lower" else t.norm_ if attr == "norm" else t.text for t in pattern]
                keys.setdefault("\x1f".join(words), cid)
        # Character-level passes for Japanese text, where tokens do not align with labels.
        self.scanners = [
            LabelScanner(ja_labels, fold_case=False),
            LabelScanner(en_labels, fold_case=True),
            LabelScanner(abbrs, fold_case=False),
        ]

    def __call__(self, doc: Doc) -> Doc:
        spans: list[Span] = []
        # In Japanese text the character scans below cover English labels and abbreviations; the NORM
        # matcher stays for Sudachi's normalized spellings (e.g. コンピュータ -> コンピューター).
        matchers = (self.norm,) if self.char_fallback else (self.lower, self.norm, self.orth)
        for matcher in matchers:
            for match_id, start, end in matcher(doc):
                if matcher is self.norm and self.char_fallback and not _names_a_thing(doc[start:end]):
                    continue
                if end - start == 1 and end < len(doc) and doc[end].lower_ in NOT_BEFORE.get(doc[start].lower_, ()):
                    continue  # "composite model": the other sense of a one-word label
                spans.append(Span(doc, start, end, label="TECH", kb_id=doc.vocab.strings[match_id]))
        if self.char_fallback:
            for scanner in self.scanners:
                for start, end, cid in scanner.scan(doc.text):
                    span = doc.char_span(start, end, alignment_mode="expand")
                    if span is not None:
                        spans.append(Span(doc, span.start, span.end, label="TECH", kb_id=cid))
        doc.spans["tech"] = filter_spans(spans)
        doc.ents = filter_spans(list(doc.spans["tech"]) + list(doc.spans.get("orgs", [])))
        return doc


# -- organizations ------------------------------------------------------------------------------------------
# The name patterns and their cheap triggers live in domain.orgs (one set of organization-name rules for every
# layer); the full patterns only run on windows around a trigger (a plain scan of every capitalized word of
# every document is the slowest part of recognition otherwise).
_JA_ORG, _JA_TRIGGER, _EN_ORG, _EN_TRIGGER = JA_ORG_NAME, JA_ORG_TRIGGER, EN_ORG_NAME, EN_ORG_TRIGGER


def _windows(text: str, trigger: re.Pattern, before: int, after: int) -> list[tuple[int, int]]:
    """Merged [start, end) windows around trigger matches."""
    out: list[tuple[int, int]] = []
    for m in trigger.finditer(text):
        a, b = max(0, m.start() - before), min(len(text), m.end() + after)
        while a > 0 and text[a - 1].isalnum():  # never start a window inside a word
            a -= 1
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def _trim_english(name: str) -> str:
    """Drop leading capitalized function words ("In", "The", "Our"...) picked up at sentence starts."""
    words = name.split()
    while len(words) > 1 and words[0].lower() in EN_STOP_WORDS:
        words.pop(0)
    return " ".join(words)


class OrganizationRecognizer:
    """Rule-based ORG spans: Japanese legal forms and 大学/研究所/研究開発法人, English legal forms and
    University/Institute/Laboratory names. `kb_id_` holds the normalized key (domain.orgs.normalize_org)."""

    def __init__(self, nlp: Language, name: str) -> None:
        self.name = name

    def __call__(self, doc: Doc) -> Doc:
        spans: list[Span] = []
        text = doc.text
        matches = []
        for regex, trigger, before, after in ((_JA_ORG, _JA_TRIGGER, 40, 40), (_EN_ORG, _EN_TRIGGER, 160, 120)):
            for a, b in _windows(text, trigger, before, after):
                matches.extend((regex, a + m.start(), a + m.end()) for m in regex.finditer(text[a:b]))
        for regex, start, end in matches:
            found = text[start:end]
            if regex is _EN_ORG:
                trimmed = _trim_english(found)
                start += len(found) - len(trimmed) if found.endswith(trimmed) else 0
                found = text[start:end]
            found_stripped = found.rstrip(" ,")
            end = start + len(found_stripped)
            key = normalize_org(found_stripped)
            if not key or len(key) < 2:
                continue
            span = doc.char_span(start, end, alignment_mode="expand")
            if span is not None:
                spans.append(Span(doc, span.start, span.end, label="ORG", kb_id=key))
        doc.spans["orgs"] = filter_spans(spans)
        doc.ents = filter_spans(list(doc.spans.get("tech", [])) + list(doc.spans["orgs"]))
        return doc


# -- keyphrases ---------------------------------------------------------------------------------------------
# Common verbs of abstracts and proposals: without POS tags they would glue onto noun phrases.
_EN_VERBS = frozenset(
    "propose proposes present presents introduce introduces combine combines play plays leverage leverages "
    "provide provides improve improves extract extracts ingest ingests enable enables allow allows achieve "
    "achieves demonstrate demonstrates require requires extend extends affect affects describe describes "
    "show shows use uses make makes offer offers reduce reduces increase increases support supports "
    "outperform outperforms perform performs consider considers address addresses remain remains apply "
    "applies capture captures learn learns generate generates produce produces explore explores build "
    "builds include includes yield yields obtain obtains exploit exploits focus focuses help helps "
    "describing extracting combining using providing leveraging including improving enabling".split()
)
_KATAKANA_LATIN = re.compile(r"[\u30a0-\u30ffA-Za-z\-]{4,}")
_JA_STOP = frozenset("こと もの ため よう 等 など 的 これ それ 本 当 各 上 下 中 内 外 間 後 前 際 場合 方 点 件 為 他".split())


def _english_word_kind(word: str) -> int:
    """1: can be part of a keyphrase, 2: a hyphen, 3: an "-ed"/"-ly" word, 0: breaks a phrase."""
    if word == "-":
        return 2
    lower = word.lower()
    if not word.isalpha() or len(word) < 2 or lower in EN_STOP_WORDS or lower in EN_GENERIC or lower in _EN_VERBS:
        return 0
    # Without POS tags, lower-case "-ed"/"-ly" words are mostly verbs and adverbs.
    if word.islower() and lower.endswith(("ed", "ly")):
        return 3
    return 1


class KeyphraseExtractor:
    """Candidate technology terms beyond the taxonomy. English (no POS on blank("en")): maximal runs of
    2-4 non-stopword alphabetic tokens (hyphens allowed inside). Japanese: Sudachi noun compounds
    (consecutive 名詞/接頭辞/接尾辞 tokens), or long katakana/Latin single nouns. Ranked by frequency."""

    def __init__(self, nlp: Language, name: str, language: str, max_phrases: int) -> None:
        self.name = name
        self.language = language
        self.max_phrases = max_phrases
        self._word_cache: dict[int, int] = {}
        self._tag_cache: dict[int, int] = {}

    def _english(self, doc: Doc) -> list[Span]:
        # Token attributes as arrays and a per-word cache: building Token objects is the slow path.
        words = [t for t in doc.to_array(["ORTH"]).tolist()] if len(doc) else []
        spaces = doc.to_array(["SPACY"]).tolist() if len(doc) else []
        strings = doc.vocab.strings
        cache = self._word_cache
        ok: list[int] = []  # 1: phrase word, 2: hyphen, 0: breaker
        for i, orth in enumerate(words):
            kind = cache.get(orth)
            if kind is None:
                kind = _english_word_kind(strings[orth])
                if len(cache) < 200_000:
                    cache[orth] = kind
            if kind == 3:  # "-ed"/"-ly" word: a phrase word only right after a hyphen ("GPS-denied")
                kind = 1 if i > 0 and ok[i - 1] == 2 else 0
            if kind == 2 and not (ok and ok[-1] == 1 and not spaces[i - 1] and not spaces[i]):
                kind = 0
            ok.append(kind)
        out: list[Span] = []
        run: list[int] = []

        def flush() -> None:
            while run and ok[run[-1]] == 2:
                run.pop()
            n_words = sum(1 for i in run if ok[i] == 1)
            if 2 <= n_words <= 4:
                out.append(doc[run[0] : run[-1] + 1])
            elif n_words > 4:
                out.append(doc[run[-4] : run[-1] + 1])  # the head is at the end in English noun phrases
            run.clear()

        for i, kind in enumerate(ok):
            if kind:
                run.append(i)
            else:
                flush()
        flush()
        return out

    def _japanese(self, doc: Doc) -> list[Span]:
        if not len(doc):
            return []
        strings = doc.vocab.strings
        orths = doc.to_array(["ORTH"]).tolist()
        tags = doc.to_array(["TAG"]).tolist()
        tag_kind = self._tag_cache
        # Per token: 0 breaks a compound, 1 noun, 2 prefix (not at the end), 3 suffix (not at the start).
        kinds: list[int] = []
        for orth, tag in zip(orths, tags):
            kind = tag_kind.get(tag)
            if kind is None:
                t = strings[tag]
                if "数詞" in t or "代名詞" in t or t.startswith("補助記号") or t.startswith("空白"):
                    kind = 0
                elif t.startswith("名詞"):
                    kind = 1
                elif t.startswith("接頭辞"):
                    kind = 2
                elif t.startswith("接尾辞-名詞的"):
                    kind = 3
                else:
                    kind = -1  # decided by the word: Latin words count as nouns
                tag_kind[tag] = kind
            if kind == -1:
                word = strings[orth]
                kind = 1 if word.isascii() and word.isalpha() else 0
            elif kind and strings[orth] in _JA_STOP:
                kind = 0
            kinds.append(kind)
        out: list[Span] = []
        i, n = 0, len(kinds)
        while i < n:
            if not kinds[i]:
                i += 1
                continue
            j = i
            while j + 1 < n and kinds[j + 1]:
                j += 1
            a, b = i, j
            while a <= b and kinds[a] == 3:
                a += 1
            while b >= a and kinds[b] == 2:
                b -= 1
            if a <= b:
                span = doc[a : b + 1]
                text = span.text
                if (b > a and len(text) >= 3) or _KATAKANA_LATIN.fullmatch(text):
                    out.append(span)
            i = j + 1
        return out

    def __call__(self, doc: Doc) -> Doc:
        candidates = self._japanese(doc) if self.language == "ja" else self._english(doc)
        tech = [(s.start_char, s.end_char) for s in doc.spans.get("tech", [])]
        orgs = [(s.start_char, s.end_char) for s in doc.spans.get("orgs", [])]
        counts: Counter[str] = Counter()
        first: dict[str, Span] = {}
        for span in candidates:
            if any(a <= span.start_char and span.end_char <= b for a, b in tech):
                continue  # already a taxonomy concept
            if any(span.start_char < b and a < span.end_char for a, b in orgs):
                continue  # a name, not a technology
            key = span.text.lower()
            counts[key] += 1
            first.setdefault(key, span)
        ranked = sorted(counts, key=lambda k: (-counts[k], first[k].start))[: self.max_phrases]
        doc.spans["keyphrases"] = [Span(doc, first[k].start, first[k].end, label="KEYPHRASE") for k in ranked]
        return doc


# doc.user_data keys of the typed-term tagger: the encoder's word pieces of the doc's text (a list of (start of
# a passage in doc.text, nlp.embedder.TokenStates)), which a model of English feature set 4 tags with; and the
# mark of a doc whose tagging waits for them (its "typed" group is empty meanwhile).
TOKEN_PIECES = "dualscout_token_pieces"
TYPED_PENDING = "dualscout_typed_pending"


class TypedTermTagger:
    """Typed terms (METHOD, MATERIAL, TASK, METRIC, TERM, GENERIC) from the trained tagger of
    nlp.entity_tagger, in `doc.spans["typed"]`; `kb_id_` holds the taxonomy concept of a TECH span inside it."""

    def __init__(self, nlp: Language, name: str, language: str, model_path: str) -> None:
        from nlp.entity_tagger import EntityTagger

        self.name = name
        self.tagger = EntityTagger(Path(model_path), language)

    def __call__(self, doc: Doc) -> Doc:
        pieces = doc.user_data.get(TOKEN_PIECES)
        if self.tagger.needs_context and pieces is None:
            # the model wants the encoder's token states, which come later (nlp.pipeline runs this again with them)
            doc.spans["typed"] = []
            doc.user_data[TYPED_PENDING] = True
            return doc
        doc.user_data.pop(TYPED_PENDING, None)
        tech = sorted(doc.spans.get("tech", []), key=lambda s: s.start)
        orgs = [(s.start, s.end) for s in doc.spans.get("orgs", [])]
        spans = []
        for start, end, kind in self.tagger.spans(doc, pieces):
            if any(start < b and a < end for a, b in orgs):
                continue  # an organization's name stays ORG, also inside a longer term (開発 株式会社メタウェーブ)
            inside = [t for t in tech if start <= t.start and t.end <= end]
            # The concept named by the longest taxonomy match inside the term, if any.
            kb = max(inside, key=lambda t: (len(t), -t.start)).kb_id_ if inside else ""
            spans.append(Span(doc, start, end, label=kind, kb_id=kb))
        doc.spans["typed"] = spans
        return doc


@Language.factory("dualscout_typed_terms", default_config={"language": "en", "model_path": ""})
def make_typed_terms(nlp: Language, name: str, language: str, model_path: str) -> TypedTermTagger:
    return TypedTermTagger(nlp, name, language, model_path)


@Language.factory("dualscout_taxonomy", default_config={"taxonomy_path": "", "char_fallback": False})
def make_taxonomy_matcher(nlp: Language, name: str, taxonomy_path: str, char_fallback: bool) -> TaxonomyMatcher:
    return TaxonomyMatcher(nlp, name, taxonomy_path, char_fallback)


@Language.factory("dualscout_orgs")
def make_org_recognizer(nlp: Language, name: str) -> OrganizationRecognizer:
    return OrganizationRecognizer(nlp, name)


@Language.factory("dualscout_keyphrases", default_config={"language": "en", "max_phrases": 20})
def make_keyphrases(nlp: Language, name: str, language: str, max_phrases: int) -> KeyphraseExtractor:
    return KeyphraseExtractor(nlp, name, language, max_phrases)


# -- the pipelines, built lazily, once per process -------------------------------------------------------------
_PIPELINES: dict[tuple[str, str, str, str], Language] = {}
_LOCK = threading.Lock()


def japanese_tokenizer_only(name: str) -> Language | None:
    """A blank Japanese pipeline with the tokenizer of the installed pipeline `name` (its config and saved
    tokenizer settings), or None when `name` is not laid out so. Only the tokenizer is used here, and loading
    GiNZA itself reads its 46 MB vocabulary of vectors first: 1.5 s of a cold Japanese query."""
    import spacy
    from spacy.util import get_package_path, is_package, load_config

    root = Path(name) if Path(name).is_dir() else get_package_path(name) if is_package(name) else None
    if root is None:
        return None
    configs = [root / "config.cfg"] if (root / "config.cfg").exists() else sorted(root.glob("*/config.cfg"))
    if len(configs) != 1:
        return None
    try:
        config = load_config(configs[0], interpolate=False)
        tokenizer = dict(config["nlp"]["tokenizer"])
        if config["nlp"].get("lang") != "ja" or tokenizer.get("@tokenizers") != "spacy.ja.JapaneseTokenizer":
            return None
        nlp = spacy.blank("ja", config={"nlp": {"tokenizer": tokenizer}})
        saved = configs[0].parent / "tokenizer"
        if saved.exists():
            nlp.tokenizer.from_disk(saved)
    except Exception:  # noqa: BLE001 - any surprise: load the whole pipeline, as before
        log.warning("loading %s whole: its tokenizer alone could not be built", name, exc_info=True)
        return None
    return nlp


def get_pipeline(language: str, taxonomy_path: str = "", ja_pipeline: str = "ja_ginza", tagger_path: str = "") -> Language:
    """The spaCy pipeline for 'ja' or for everything else ('en', 'other'), built on first use; with the typed
    term tagger when `tagger_path` names its model (nlp.entity_tagger.model_path)."""
    lang = "ja" if language == "ja" else "en"
    key = (lang, taxonomy_path, ja_pipeline if lang == "ja" else "", tagger_path)
    with _LOCK:
        if key not in _PIPELINES:
            if lang == "ja":
                import spacy

                # Only the SudachiPy tokenizer pays here: tokens + POS tags at ~600 docs/s.
                nlp = japanese_tokenizer_only(ja_pipeline)
                if nlp is None:
                    nlp = spacy.load(ja_pipeline, exclude=JA_EXCLUDE)
                    for pipe in list(nlp.pipe_names):
                        nlp.remove_pipe(pipe)
            else:
                import spacy

                nlp = spacy.blank("en")
                # Present for callers that want doc.sents, but disabled: passages are cut by nlp.passages
                # with the model's own token counts, and the sentencizer was 15% of entity extraction time.
                nlp.add_pipe("sentencizer")
                nlp.disable_pipe("sentencizer")
            nlp.max_length = 2_000_000
            nlp.add_pipe("dualscout_orgs")
            nlp.add_pipe(
                "dualscout_taxonomy", config={"taxonomy_path": taxonomy_path, "char_fallback": lang == "ja"}
            )
            if tagger_path:
                nlp.add_pipe("dualscout_typed_terms", config={"language": lang, "model_path": tagger_path})
            nlp.add_pipe("dualscout_keyphrases", config={"language": lang, "max_phrases": 20})
            _PIPELINES[key] = nlp
        return _PIPELINES[key]
