"""Evidence people read: the sentence or two of a passage that best support a match, not the whole passage.

`shown_evidence` is the one function every face uses (need page, search, API, the weekly mail and its CSV, the
exports, the brief): the same match shows the same evidence everywhere, in the document's own words (a Japanese
document's Japanese sentence, never the English rendering it was also matched through), and never a reference
list, a keyword list or solicitation boilerplate.

Sentences are split on Latin and Japanese full stops; a full stop glued to the next sentence by the source
("feasible.This will") still ends a sentence, and the sentences keep a space between them when shown. A passage
that starts with the document's title (the analysed text is title + text, and many texts repeat the title)
does not spend its evidence on the title again.
"""

from __future__ import annotations

import logging
import re
from functools import lru_cache
from typing import Callable, Iterable

from domain.models import Document, Evidence, Match
from nlp.passages import analysed_text
from nlp.pipeline import clean_control
from nlp.tokens import content_terms, content_tokens

log = logging.getLogger(__name__)

# Sentence ends: Japanese full stops; . ! ? before white space and a non-lowercase start, or at the end; and a
# full stop with no space after a lowercase word or an acronym and before a capitalised word ("feasible.This",
# "the loss of GPS.System & Technology Research is ...", which the demo had shown as one sentence).
_SENTENCE_END = re.compile(r"[。．！？]|[.!?](?=\s+[^a-z\s])|(?<=[a-z]{2}|[A-Z]{2})[.!?](?=[A-Z][a-z])|[.!?]\s*$|\n")
_GLUED = re.compile(r"(?<=[a-z]{2}|[A-Z]{2})([.!?])(?=[A-Z][a-z])")
_ABBREVIATIONS = {"e.g.", "i.e.", "al.", "fig.", "figs.", "eq.", "dr.", "prof.", "no.", "vs.", "cf.", "approx.",
                  "inc.", "ltd.", "co.", "corp.", "mr.", "ms.", "st.", "u.s.", "u.k.", "jr.", "ref.", "refs.", "pp.",
                  "vol."}  # fmt: skip
MAX_CHARS = 320
# What no one should read as evidence: section labels of references and keywords, solicitation boilerplate
# (export control, instructions to offerors, contacts), addresses and links. An address's name is tried from
# the start of a run of its characters only, taken whole (`(?<!...)`, `++`): tried from every position, a
# long run without an @ cost time in the square of its length (1 ms for 450 characters of one word).
_ADDRESS = r"(?<![\w.+-])[\w.+-]++@[\w-]+\.[\w.]+"
_BOILERPLATE = re.compile(
    r"\b(?:KEY ?WORDS?|REFERENCES?|TECHNOLOGY AREA\(S\))\s*:|キーワード|参考文献|"
    r"Traffic in Arms|\bITAR\b|Export Administration Regulation|\bOfferors?\b|direct (?:all )?questions to|"
    rf"Contracting Officer|{_ADDRESS}|https?://|\bdoi:", re.IGNORECASE)
# Marks of a bibliographic reference: "et al.", pages, volumes, "Surname, J.", a journal or proceedings.
_REFERENCE = re.compile(r"\bet al\b|\b(?:Paper|Report|Memorandum|Thesis)\s+[A-Z]*-?\d|\bpp?\.\s?\d|\bvol\.\s?\d|\b[A-Z][a-z]+, [A-Z]\.|\b(?:Journal|Proceedings|"
                        r"Conference|Symposium|Press|Retrieved)\b|\b(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)"
                        r"[a-z]*\.? (?:19|20)\d\d\b")


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence of `text`, white space trimmed."""
    spans, start = [], 0
    for end_mark in _SENTENCE_END.finditer(text):
        end = end_mark.start() + 1
        words = text[start:end].rsplit(None, 1)
        if text[end_mark.start()] == "." and words and words[-1].lower().lstrip("([") in _ABBREVIATIONS:
            continue  # "e.g. 1 pT", "U.S. Army", "(Ref. 1)": not the end of a sentence
        spans.append((start, end))
        start = end
    spans.append((start, len(text)))
    out = []
    for a, b in spans:
        while a < b and text[a].isspace():
            a += 1
        while b > a and text[b - 1].isspace():
            b -= 1
        if b > a:
            out.append((a, b))
    return out


def is_boilerplate(sentence: str) -> bool:
    """A reference, a keyword list or boilerplate: never evidence (see _BOILERPLATE, _REFERENCE)."""
    if _BOILERPLATE.search(sentence):
        return True
    if len(_REFERENCE.findall(sentence)) >= 2:
        return True
    pieces = [p for p in re.split(r"[;,、；]", sentence) if p.strip()]
    # a list of short items ("drone; UAS; counter-UAS; RF; jamming"): keywords or names, not a statement
    return len(pieces) >= 5 and len(sentence.split()) <= 3 * len(pieces) and not re.search(r"[。]", sentence)


def analysed(doc: Document | dict) -> str:
    """The text nlp analysed (title, newline, text, control characters blanked): evidence offsets point into it."""
    title, text = (doc.title, doc.text) if isinstance(doc, Document) else (doc.get("title", ""), doc.get("text", ""))
    title, text = clean_control(title or ""), clean_control(text or "")
    return analysed_text(title.strip() and title, text.strip() and text)


def as_written(evidence: Evidence | None, analysed_text_: str | None) -> Evidence | None:
    """Evidence in the document's own words. A Japanese passage is also indexed as its dictionary rendering
    into English (for cross-lingual matching); when that rendering is the best pair, the ranker hands back the
    rendering ("stock company broadband radar absorbing material development ..."), which no one wrote. Its
    offsets are those of the source passage, so the source text is cut from the analysed text."""
    if evidence is None or analysed_text_ is None:
        return evidence
    source = analysed_text_[evidence.start : evidence.end]
    if not source.strip() or source == evidence.text:
        return evidence
    return evidence.model_copy(update={"text": source})


def shown_evidence(evidence: Evidence | None, analysed_text_: str | None, *wanted_texts: str,
                   title: str = "", bridge: Iterable[str] = ()) -> Evidence | None:
    """The evidence people read, the same on every face: `evidence` (a ranker's passage, offsets in the analysed
    text) in the document's own words, narrowed to its best sentence or two for `wanted_texts` (the other side
    of the match, or the query). References, keyword lists and boilerplate are never chosen: when the passage
    holds nothing else, the best other sentence of the whole text is. Without the analysed text (a match read
    back from the ledger without its document) the stored text is narrowed as it is."""
    evidence = as_written(evidence, analysed_text_)
    if evidence is None or not evidence.text:
        return evidence
    shown = focus(evidence, *wanted_texts, title=title, bridge=bridge)
    if shown is not None and (is_boilerplate(shown.text) or _is_title(shown.text, title)) and analysed_text_:
        # a boilerplate sentence, or the title alone (a ranker's evidence span can be the title line: the demo's
        # mail had quoted "Load Bearing Thermal Protection Structure for Hypersonic Flight" as what that document
        # says): the best other sentence of the whole text, when it has one
        whole = Evidence(passage_index=evidence.passage_index, start=0, end=len(analysed_text_), text=analysed_text_)
        better = focus(whole, *wanted_texts, title=title, bridge=bridge)
        if better is not None and not is_boilerplate(better.text):
            return better
    return shown


def _is_title(text: str, title: str) -> bool:
    """`text` says nothing but the title (white space, case and a closing full stop aside)."""
    key = lambda t: " ".join((t or "").split()).rstrip(".。").casefold()  # noqa: E731
    return bool(key(title)) and key(text) == key(title)


def concept_terms(concept_ids: Iterable[str]) -> frozenset[str]:
    """The content terms of these taxonomy concepts' words in both languages (labels, synonyms, abbreviations).
    A Japanese need and an English document share no word, so without them the evidence fell back to the
    passage's first sentence ("After the Daiichi nuclear disaster ..." for a radar-absorbing metamaterial); the
    concepts the two share name the same thing in each language. Unknown ids, or a taxonomy that does not load,
    give none."""
    try:
        from nlp.taxonomy import configured_taxonomy_path

        path = configured_taxonomy_path()
    except Exception:  # noqa: BLE001 - the terms only steer which sentence is shown
        return frozenset()
    return frozenset().union(*(_concept_terms(path, cid) for cid in concept_ids))


@lru_cache(maxsize=None)
def _concept_terms(taxonomy_path: str, concept_id: str) -> frozenset[str]:
    # once per concept and process: Sudachi on a concept's ~15 labels took about 8 ms, paid by every match shown
    try:
        from nlp.taxonomy import cached_taxonomy

        concept = cached_taxonomy(taxonomy_path).by_id.get(concept_id)
    except Exception:  # noqa: BLE001 - the terms only steer which sentence is shown
        return frozenset()
    if concept is None:
        return frozenset()
    return frozenset(content_terms(*concept.labels_en(), *concept.labels_ja(), *concept.abbreviations))


def match_evidence(match: Match, need: Document, need_text: str | None,
                   doc_text: str | None) -> tuple[Evidence | None, Evidence | None]:
    """(what the need says, what the document says) for one match, as every face shows them; `need_text` and
    `doc_text` are the analysed texts (`analysed`), None when the document is not at hand. Each side's sentence
    is the one that shares most words with the other side; where it shares none (across languages), the one
    that names most of the concepts both hold, in either language (`concept_terms`)."""
    bridge = concept_terms(match.shared_concepts)
    return (shown_evidence(match.need_evidence, need_text, match.title, need.title, title=need.title, bridge=bridge),
            shown_evidence(match.doc_evidence, doc_text, need.title, need.text, title=match.title, bridge=bridge))


def split_sentences(text: str) -> list[str]:
    return [text[a:b] for a, b in sentence_spans(text or "")]


def readable(text: str) -> str:
    """Sentences glued by the source get their space back ("feasible.This" -> "feasible. This")."""
    return _GLUED.sub(r"\1 ", text or "")


def shorten(text: str, max_chars: int = MAX_CHARS) -> str:
    """Cut at a word boundary (spaced scripts) or where it stands (Japanese), marked with an ellipsis."""
    if len(text) <= max_chars:
        return text
    cut = text[: max_chars - 1]
    space = cut.rfind(" ")
    if space > max_chars // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:、") + "…"


def best_sentences(text: str, wanted: Iterable[str] = (), *, title: str = "", max_sentences: int = 2,
                   max_chars: int = MAX_CHARS, exclude: Callable[[str], bool] | None = is_boilerplate,
                   bridge: Iterable[str] = ()) -> tuple[int, int] | None:
    """The span of the one or two adjacent sentences of `text` that share most content words with `wanted`
    (ties: the earlier); when none shares any (a Japanese need and an English document), the one sentence sharing
    most with `bridge`; a sentence that only repeats `title`, or that `exclude` rejects (references, keyword
    lists, boilerplate), is passed over when there is another."""
    spans = sentence_spans(text or "")
    if not spans:
        return None
    title_key = " ".join((title or "").split()).casefold()
    body = [s for s in spans if " ".join(text[s[0]:s[1]].split()).casefold() != title_key] or spans
    if exclude is not None:
        body = [s for s in body if not exclude(text[s[0]:s[1]])] or body
    terms = set(wanted)
    words = [{t.term for t in content_tokens(text[a:b])} for a, b in body]
    scored = [(len(w & terms), (a, b)) for w, (a, b) in zip(words, body)]
    shared = any(score for score, _ in scored)
    if not shared:  # the bridge only speaks where the two sides share no word at all, and picks one sentence
        bridge_terms = set(bridge)
        scored = [(len(w & bridge_terms), (a, b)) for w, (a, b) in zip(words, body)]
    candidates: list[tuple[int, int, tuple[int, int]]] = []
    for i, (score, (a, b)) in enumerate(scored):
        candidates.append((score, -a, (a, b)))
        if shared and max_sentences > 1 and i + 1 < len(scored):
            nscore, (_, nb) = scored[i + 1]
            if nb - a <= max_chars and score and nscore:  # a second sentence only when both tell
                candidates.append((score + nscore, -a, (a, nb)))
    best = max(candidates, key=lambda c: (c[0], c[1]))  # most shared words, then the earliest
    return best[2]


def _after_title(text: str, title: str) -> int:
    """Where `text` starts once the title (repeated as the text's first words, as many sources do: "Atomic
    Magnetometer Improved magnetic anomaly detection ...") is set aside; 0 when it does not start with it or
    nothing would remain."""
    key = " ".join((title or "").split()).casefold()
    if not key:
        return 0
    pos = 0
    while True:
        rest = text[pos:]
        stripped = len(rest) - len(rest.lstrip())
        words, i, matched = rest.lstrip(), 0, []
        # compare word by word, so that line breaks and double spaces inside the title still match
        for word in key.split():
            found = re.match(r"\s*" + re.escape(word), words[i:], re.IGNORECASE)
            if not found:
                matched = []
                break
            i += found.end()
            matched.append(word)
        if not matched:
            return pos
        end = pos + stripped + i
        end += len(text[end:]) - len(text[end:].lstrip(" .:-–—\n\t。"))
        if not text[end:].strip():
            return pos  # the title is all there is
        pos = end


def focus(evidence: Evidence | None, *wanted_texts: str, title: str = "",
          bridge: Iterable[str] = ()) -> Evidence | None:
    """`evidence` narrowed to its best sentence or two for `wanted_texts` (the need, the query), or for the
    content terms in `bridge` (`concept_terms`) where it shares no word with them; offsets stay in the analysed
    text, the text is made readable and kept within MAX_CHARS."""
    if evidence is None or not evidence.text:
        return evidence
    skip = _after_title(evidence.text, title)
    span = best_sentences(evidence.text[skip:], content_terms(*wanted_texts), title=title, bridge=bridge)
    if span is None:
        return evidence
    a, b = span[0] + skip, span[1] + skip
    return evidence.model_copy(update={"start": evidence.start + a, "end": evidence.start + b,
                                       "text": shorten(readable(evidence.text[a:b]))})


RENDERING_LABEL = "English gist (dictionary rendering, word by word; not a translation)"


def english_rendering(text: str) -> str:
    """Japanese evidence rendered into English for a reader of English, shown beside the Japanese it renders
    (the mail, the brief): nlp/translate.py's dictionary rendering, the English words the index matches a
    Japanese passage through (taxonomy labels, JMdict glosses), in the sentence's order. A gist, not a
    translation: every face labels it so (RENDERING_LABEL). "" for text that is not Japanese, or when the
    renderer cannot load (the evidence is then shown alone, as before)."""
    from nlp.language import detect_language

    if not text or not text.strip() or detect_language(text) != "ja":
        return ""
    return _rendered(text)


@lru_cache(maxsize=4096)
def _rendered(text: str) -> str:
    try:
        translator, nlp = _renderer()
        return " ".join(translator.render(nlp.make_doc(text)).split())
    except Exception as exc:  # noqa: BLE001 - a gist beside the evidence; never a reason to fail a mail or a page
        log.warning("no English rendering of Japanese evidence: %s", exc)
        return ""


@lru_cache(maxsize=1)
def _renderer():
    """(TermTranslator, a Japanese tokenizer) on the configured taxonomy and Japanese pipeline, once a process
    (about 2 s: Sudachi and JMdict)."""
    from domain.settings import NlpSettings
    from nlp.components import get_pipeline, japanese_tokenizer_only
    from nlp.taxonomy import configured_taxonomy, configured_taxonomy_path
    from nlp.translate import TermTranslator

    settings = NlpSettings()
    nlp = japanese_tokenizer_only(settings.ja_pipeline)
    if nlp is None:
        nlp = get_pipeline("ja", str(configured_taxonomy_path()), settings.ja_pipeline)
    return TermTranslator(configured_taxonomy()), nlp
