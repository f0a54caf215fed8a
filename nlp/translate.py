"""Dictionary-based Japanese -> English term translation for cross-lingual matching.

An English-only embedder cannot read Japanese; an English *rendering* of a Japanese text (its technology
terms and content words, glossed in order) gives the dense and lexical channels something to match English
documents with. Glosses come first from the taxonomy's ja->en labels (exact, domain-specific), then from
JMdict (the PyPI packages `jamdict` + `jamdict-data`, an offline SQLite dictionary) for compounds and words.
"""

from __future__ import annotations

import bisect
import logging
import math
import re
import sqlite3
import threading
from functools import lru_cache
from pathlib import Path

import nlp.spacy_light  # noqa: F401  (before spaCy: keeps torch out of a query's process)
from spacy.tokens import Doc

from nlp.katakana import (KATAKANA, back_transliterate, dictionary_words, long_vowel_variants, read_counts, term_freq,
                          written_as)
from nlp.taxonomy import Taxonomy
from nlp.tokens import english_plural

log = logging.getLogger(__name__)

_PAREN = re.compile(r"\s*\([^)]*\)")
_KANJI = re.compile(r"^[\u3400-\u9fff\uf900-\ufaff]+$")
# 形状詞: adjectival nouns, which technical Japanese writes its loanword and kanji modifiers as (サイバー, 動的);
# left out, "cyber warfare lab" read "lab".
_CONTENT_TAGS = ("名詞", "動詞-一般", "形容詞", "形状詞")
_SCRIPT_RUNS = re.compile(r"[\u30a0-\u30ffー]+|[\u3400-\u9fff\uf900-\ufaff]+")
_LATIN_WORD = re.compile(r"^[A-Za-z0-9]+$")
_LATIN_PIECE = re.compile(r"^(?:[A-Za-z0-9]+|[-./])$")
_HIRAGANA = re.compile(r"^[\u3041-\u309f]+$")
_SKIP_WORDS = frozenset(
    "こと もの ため よう 等 など これ それ 本 当 為 する ある いる なる できる れる られる "
    "よる 因る 依る おける 於く 於ける 関する 対する 伴う 基づく 向ける 係る".split()
)


class TermTranslator:
    """Renders Japanese text as a sequence of English glosses; safe to share between threads."""

    def __init__(self, taxonomy: Taxonomy, use_jmdict: bool = True, katakana: bool = True) -> None:
        self.taxonomy = taxonomy
        self.labels: dict[str, str] = {}
        self._label_concepts: dict[str, object] = {}
        for concept in taxonomy.concepts:
            for label in concept.labels_ja():
                self.labels.setdefault(label, concept.en)
                self._label_concepts.setdefault(label, concept)
        self._specific: dict[str, str] = {}
        from nlp.components import LabelScanner

        self._scanner = LabelScanner(self.labels, fold_case=False)
        self.use_jmdict = use_jmdict
        self.katakana = katakana
        self._jmd = None
        self._jmd_failed = False
        self._lock = threading.Lock()

    # -- JMdict, opened lazily ---------------------------------------------------------------------------
    def _jamdict(self):
        if self._jmd is None and not self._jmd_failed and self.use_jmdict:
            with self._lock:
                if self._jmd is None and not self._jmd_failed:
                    try:
                        from jamdict import Jamdict

                        jmd = Jamdict(memory_mode=False)
                        if not jmd.ready:
                            raise RuntimeError("jamdict-data is not installed")
                        self._jmd = jmd
                    except Exception as exc:  # the taxonomy labels still work without JMdict
                        log.warning("JMdict unavailable, translating with taxonomy labels only: %s", exc)
                        self._jmd_failed = True
        return self._jmd

    def gloss(self, term: str) -> str | None:
        """The English gloss of a Japanese term: taxonomy label first, then JMdict (the sense technical English
        uses most), then, for a katakana loanword JMdict lacks, its other long-vowel spelling, the English word
        it writes (nlp.katakana), or its split into two such words (コンフォーマルアンテナ)."""
        if term in self.labels:
            return self.label_gloss(term)
        found = _jmdict_gloss(self, term)
        if found or not self.katakana or not KATAKANA.match(term):
            return found
        return self._loanword(term)

    def label_gloss(self, label: str) -> str:
        """A taxonomy label's English: the concept's name, unless the label is a narrower synonym whose own
        reading (JMdict, the English word a loanword writes, or its katakana and kanji runs' words: シリコン負極
        "silicon anode", not "lithium-metal battery") is one of the concept's English labels (グラフェン
        is "graphene", not "two-dimensional material": the concept is matched as a concept anyway, and the
        rendering should say what the text says)."""
        found = self._specific.get(label)
        if found is None:
            concept = self._label_concepts.get(label)
            found = self.labels[label]
            if concept is not None and label != concept.ja:
                english = {e.lower(): e for e in concept.labels_en()}
                own = _jmdict_gloss(self, label) or (
                    back_transliterate(label) if self.katakana and KATAKANA.match(label) else None)
                if not (own and own.lower() in english) and _SCRIPT_RUNS.fullmatch(label) is None:
                    own = self.split_gloss(label) or own  # katakana and kanji: each run's own word (シリコン負極)
                if own and own.lower() in english:
                    found = english[own.lower()]
                elif KATAKANA.match(label) and self.katakana:  # or the concept's English label it writes (メタサーフェス)
                    found = written_as(label, list(english.values())) or found
            self._specific[label] = found
        return found

    def _loanword(self, term: str) -> str | None:
        """A katakana word JMdict lacks: its other long-vowel spelling; else a compound of two dictionary
        loanwords (レーザーライン); else the English word it writes; else a compound with one part so read."""
        found = self._known_loanword(term)
        if found:
            return found
        cuts = range(len(term) - 3, 2, -1) if len(term) >= 6 else range(0)  # parts of three or more
        for strict in (True, False):
            if strict and len(term) >= 9:
                # three loanwords or more run together (ナノコンポジットフィルムコンデンサー): the fewest known ones
                found = self._loanword_parts(term)
                if found:
                    return found
            for cut in cuts:
                head, tail = term[:cut], term[cut:]
                if not strict and min(len(head), len(tail)) < 4:
                    continue
                left = self._known_loanword(head) or (None if strict else back_transliterate(head))
                right = left and (self._known_loanword(tail) or (None if strict else back_transliterate(tail)))
                if left and right:
                    return _with_prefix(left, right)
            if strict:
                found = back_transliterate(term)
                if found:
                    return found
        return None

    def _loanword_parts(self, term: str, most: int = 5) -> str | None:
        """`term` as the fewest (at most `most`) loanwords the taxonomy or JMdict knows, each of four katakana or
        more (shorter known words cut long unknown ones into nonsense: オートクレーブレス is not "auto clay breath"),
        or a prefix JMdict glosses as one (ナノ "nano-") before the next; their glosses joined; None where no such
        cut exists."""
        n = len(term)
        # best[k]: (parts, last cut) of term[:k]; of two as few, the longer head (as the two-part split above)
        best: list[tuple[int, int] | None] = [None] * (n + 1)
        best[0] = (0, -1)
        glosses: dict[tuple[int, int], str] = {}
        for end in range(2, n + 1):
            for start in range(max(0, end - 16), end - 1):
                if best[start] is None or best[start][0] >= most or (best[end] and best[start][0] + 1 > best[end][0]):
                    continue
                part = term[start:end]
                if len(part) >= 4:
                    gloss = self._known_loanword(part)
                elif end < n and self._jamdict() is not None:  # a prefix, never last
                    gloss = prefix_gloss(part)
                    gloss = gloss if gloss and gloss.endswith("-") else None
                else:
                    gloss = None
                if gloss is None:
                    continue
                glosses[(start, end)] = gloss
                best[end] = (best[start][0] + 1, start)
        if best[n] is None or best[n][0] < 2:
            return None
        parts, end = [], n
        while end > 0:
            start = best[end][1]
            parts.append(glosses[(start, end)])
            end = start
        joined = ""
        for gloss in reversed(parts):
            joined = _with_prefix(joined, gloss) if joined else gloss
        return joined

    def _known_loanword(self, term: str) -> str | None:
        """`term` or its other long-vowel spelling in the taxonomy or JMdict."""
        for spelling in (term, *long_vowel_variants(term)):
            found = (self.label_gloss(spelling) if spelling in self.labels else None) or _jmdict_gloss(self, spelling)
            if found:
                return found
        return None

    # -- rendering ------------------------------------------------------------------------------------------
    def alternatives(self, doc: Doc) -> list[str]:
        """The other readings of the dictionary words a rendering of `doc` chose one gloss for (負極 ->
        "anode" beside "negative pole"): a Japanese query's extra English terms, as an English query carries
        its Japanese equivalents (nlp/reverse.py)."""
        out: list[str] = []
        self.render(doc, alternatives=out)
        return out

    def render(self, doc: Doc, start_char: int = 0, end_char: int | None = None,
               alternatives: list[str] | None = None) -> str:
        """English rendering of a Japanese Doc (tokens from the ja pipeline), or of its [start_char, end_char):
        taxonomy labels as units, then noun compounds glossed whole when JMdict knows them, else word by
        word; Latin words kept as they are."""
        end_char = len(doc.text) if end_char is None else end_char
        text = doc.text
        out: list[str] = []
        covered_until = 0
        label_spans = self._scanner.scan(text, start_char, end_char)
        li = 0
        span = doc.char_span(start_char, end_char, alignment_mode="expand") if (start_char, end_char) != (0, len(text)) else doc[:]
        tokens = list(span) if span is not None else []
        prefix: str | None = None  # a prefix's gloss waiting for the word it modifies
        i = 0
        while i < len(tokens):
            token = tokens[i]
            start = token.idx
            if prefix and (i == 0 or not tokens[i - 1].tag_.startswith("接頭辞")):
                prefix = None  # only the word right after the prefix takes it
            while li < len(label_spans) and label_spans[li][1] <= start:
                li += 1
            if li < len(label_spans) and label_spans[li][0] <= start < label_spans[li][1]:
                if label_spans[li][0] >= covered_until:
                    label = text[label_spans[li][0]:label_spans[li][1]]
                    english = self.label_gloss(label) if label in self.labels else label_spans[li][2]
                    out.append(_with_prefix(prefix, english))
                    covered_until = label_spans[li][1]
                    word_end = start + len(token.text)
                    rest = text[covered_until:word_end]
                    if rest and not any(covered_until <= s < word_end for s, _, _ in label_spans[li + 1:]):
                        # a label ending inside a word the tokenizer keeps whole (カーボンナノチューブ|トランジスタ):
                        # the rest is read too, not dropped
                        g = self.gloss(rest) or self.split_gloss(rest)
                        if g:
                            out.append(g)
                        covered_until = word_end
                i += 1
                continue
            if start < covered_until:
                i += 1
                continue
            if token.is_ascii and (token.is_alpha or token.like_num) and not token.is_space:
                # Latin letters and digits as written, one word however the tokenizer cut them (3D, Li-Fi, SWaP-C:
                # not "3 D", "Li Fi"), a joining hyphen, dot or slash kept inside
                k = i
                while (k + 1 < len(tokens) and tokens[k + 1].idx == tokens[k].idx + len(tokens[k].text)
                       and _LATIN_PIECE.match(tokens[k + 1].text)
                       and (tokens[k + 1].text not in "-./" or (k + 2 < len(tokens) and _LATIN_WORD.match(tokens[k + 2].text)
                                                               and tokens[k + 2].idx == tokens[k + 1].idx + 1))):
                    k += 1
                out.append(text[token.idx : tokens[k].idx + len(tokens[k].text)])
                i = k + 1
                continue
            prefixed = token.tag_.startswith("接頭辞") and i + 1 < len(tokens) and tokens[i + 1].tag_.startswith("名詞")
            verb = token.tag_.startswith("動詞")
            if not prefixed and (not token.tag_.startswith(_CONTENT_TAGS) or token.text in _SKIP_WORDS
                                 or token.lemma_ in _SKIP_WORDS
                                 or (token.tag_.startswith(("動詞", "形状詞")) and _HIRAGANA.match(token.text))):
                # a verb or adjectival noun in kana is a function word's part (において's おい read "hey!",
                # という's いう "say", そう "so")
                i += 1
                continue
            # Longest run of nouns that JMdict knows as one entry (e.g. 複合材料 -> composite material), a
            # prefix included (高温 -> high temperature).
            j = i + 1 if prefixed else i
            while j + 1 < len(tokens) and tokens[j + 1].tag_.startswith(("名詞", "接尾辞-名詞的")) and j - i < 3:
                j += 1
            done = False
            while j > i:
                compound = text[tokens[i].idx : tokens[j].idx + len(tokens[j].text)]
                g = self.gloss(compound)
                if g and alternatives is not None:
                    alternatives.extend(_other_glosses(compound, g))
                if g:
                    g, j = self._adjectival_suffix(g, tokens, j)
                    out.append(_with_prefix(prefix, g))
                    prefix = None
                    i = j + 1
                    done = True
                    break
                j -= 1
            if done:
                continue
            if prefixed:
                # A productive prefix JMdict has no compound for: its own gloss joins the next word's (高分解能
                # -> high resolution, 非冷却 -> un-cooling); dropped, it would turn "uncooled" into "cooled".
                prefix = self.prefix(token.text)
                i += 1
                continue
            # a verb by its dictionary form: a conjugated form can spell another word (通じ "bowel movement" in を通じて)
            forms = (token.lemma_, token.text) if verb else (token.text, token.lemma_)
            g = (self.gloss(forms[0]) or (self.gloss(forms[1]) if forms[1] != forms[0] else None)
                 or self.split_gloss(token.text))
            if g and alternatives is not None:
                alternatives.extend(_other_glosses(token.text, g))
            last = i
            if g:
                g, last = self._adjectival_suffix(g, tokens, i)
                out.append(_with_prefix(prefix, g))
            prefix = None
            i = last + 1
        joined: list[str] = []
        for g in out:  # a gloss that is a prefix joins the next ("nano-" + "structure": ナノ is a noun to the tokenizer)
            if joined and joined[-1].endswith("-") and not g.startswith("-"):
                joined[-1] += g
            else:
                joined.append(g)
        return " ".join(joined)

    @staticmethod
    def _adjectival_suffix(gloss: str, tokens: list, j: int) -> tuple[str, int]:
        """A word followed by the suffix 的 (-ic, -al) reads as its English adjective (電気 + 的 -> "electrical"),
        the suffix taken with it; else as it was."""
        if j + 1 < len(tokens) and tokens[j + 1].text == "的" and tokens[j + 1].tag_.startswith("接尾辞"):
            return adjectival(gloss), j + 1
        return gloss, j

    def split_gloss(self, term: str) -> str | None:
        """A kanji word no dictionary knows, as its longest known head and a known rest (防護具 -> protection
        tool): the tokenizer keeps such words whole, and dropped they lose the need's subject. One ending in
        the suffix 的 reads as its head's adjective (戦術的 -> "tactical", never 的's noun "target")."""
        if len(term) < 3 or self._jamdict() is None:
            return None
        runs = _SCRIPT_RUNS.findall(term)
        if len(runs) > 1 and "".join(runs) == term:
            # katakana and kanji in one word the tokenizer keeps whole (サイバー空間 -> "cyber space"): each run
            # as it reads alone, or nothing
            parts = [self.gloss(run) or self.split_gloss(run) for run in runs]
            if not all(parts):
                return None
            joined = parts[0]
            for part in parts[1:]:  # a prefix gloss joins its word ("nano-" + "structure")
                joined = _with_prefix(joined, part)
            return joined
        if not _KANJI.match(term):
            return None
        if term.endswith("的"):
            head = self.labels.get(term[:-1]) or _lookup(term[:-1]) or self.split_gloss(term[:-1])
            return adjectival(head) if head else None
        for cut in range(len(term) - 1, 1, -1):
            head = self.labels.get(term[:cut]) or _lookup(term[:cut])
            tail = head and (self.labels.get(term[cut:]) or _lookup(term[cut:]))
            if head and tail:
                return f"{head} {tail}"
        return None

    def prefix(self, term: str) -> str | None:
        return prefix_gloss(term) if self._jamdict() is not None else None


# English adjectives of nouns, as the suffix 的 makes them: (ending, replacement), tried in order; a form counts only
# where it is an English word (nlp/en_term_freq.txt, or a word of JMdict's English glosses).
_ADJECTIVE_ENDINGS = (("ics", "ical"), ("ity", "ical"), ("ity", "ic"), ("ity", "al"), ("ism", "istic"), ("ogy", "ogical"),
                      ("y", "ic"), ("y", "ical"), ("e", "al"), ("e", "ic"), ("ion", "ional"), ("ion", "ive"),
                      ("", "al"), ("", "ic"), ("", "ical"))


def adjectival(gloss: str) -> str:
    """`gloss` with its last word made the adjective technical English uses (tactics -> tactical, electricity
    -> electrical, strategy -> strategic); unchanged when no such form is known."""
    head, _, word = gloss.rpartition(" ")
    freq, words = term_freq(), dictionary_words()
    for ending, replacement in _ADJECTIVE_ENDINGS:
        if word.endswith(ending) and len(word) > len(ending) + 2:
            form = word[: len(word) - len(ending)] + replacement
            if freq.get(form, 0) > 0 or form in words:
                return f"{head} {form}" if head else form
    return gloss


def _unclipped(term: str, gloss: str) -> str:
    """The word a clipping stands for, where JMdict marks the sense an abbreviation of a longer word whose first
    gloss begins with this one: ラボ "lab" (of ラボラトリー) is "laboratory", which technical English writes, エアコン
    "air con" "air conditioner"; else `gloss`."""
    try:
        for entry in _by_headword(_entries(term), term)[:3]:
            for sense in entry.senses[:1]:  # the sense a gloss is chosen from (`_lookup`)
                if "abbreviation" not in (sense.misc or []) or not any(g.text == gloss for g in sense.gloss):
                    continue
                for ref in getattr(sense, "xref", None) or []:
                    word = ref.split("・")[0]
                    for other in _entries(word)[:1]:
                        if other.senses and other.senses[0].gloss:
                            full = _PAREN.sub("", other.senses[0].gloss[0].text).strip()
                            if full.lower().startswith(gloss.lower()) and len(full) > len(gloss):
                                return full
                return gloss
    except Exception:
        return gloss
    return gloss


def _with_prefix(prefix: str | None, gloss: str) -> str:
    if not prefix:
        return gloss
    return f"{prefix}{gloss}" if prefix.endswith("-") else f"{prefix} {gloss}"


def _jmdict_gloss(translator: TermTranslator, term: str) -> str | None:
    jmd = translator._jamdict()
    if jmd is None or not term.strip():
        return None
    return _lookup(term)


# A gloss other than the dictionary's first replaces it only when technical English uses it this much more
# (in log frequency: about 4.5 times as often), and only among the first senses of the entries.
SENSE_MARGIN = 1.5
ENTRY_PENALTY = 0.5
MAX_GLOSS_WORDS = 3
# How much the dictionary's compounds of a word (性能評価, 高性能: "performance") weigh in its sense choice, per
# log count of the compounds whose glosses say a gloss, beside its log count in technical English (`_usage`).
COMPOUND_WEIGHT = 1.0
COMPOUND_EXTRA_CHARS = 4  # compounds at most this much longer than the word (not whole phrases)
# The entry's second and third senses compete too, each ENTRY_PENALTY further back, where the compounds say one
# this much more (in log count) than the first gloss.
LATER_SENSES = 2
LATER_SENSE_VOTES = 1.0


@lru_cache(maxsize=50_000)
def _entries(term: str) -> tuple:
    """JMdict's entries that have `term` as a form, or none."""
    try:
        return tuple(_shared_jamdict().lookup(term, strict_lookup=True, lookup_chars=False, lookup_ne=False).entries)
    except Exception:
        return ()


@lru_cache(maxsize=200_000)
def _lookup(term: str) -> str | None:
    """`_sense(term)`, a clipping read as the word it clips (`_unclipped`)."""
    found = _sense(term)
    return _unclipped(term, found) if found else None


def _sense(term: str) -> str | None:
    """The gloss of `term` that technical English uses: the dictionary's first, unless another gloss of an
    entry's first sense (or of the word's own entry's second or third, where its compounds say it) is used much
    more in nlp/en_sense_freq.txt (SENSE_MARGIN, `_usage`: a phrase by its
    words side by side) and is no longer (JMdict gives 設計 as "plan, design", 社 as "shrine" before the entry
    "company", 負傷者 as "injured person; wounded person; casualty")."""
    entries = _by_headword(_entries(term), term)
    own = [entry for entry in entries if _form_rank(entry, term) < 2]
    if own and own[0].senses and own[0].senses[0].gloss and len(own[0].senses[0].gloss[0].text.split()) <= 4:
        # a word with an entry of its own never reads as a rare variant spelling of another word (比 is "ratio";
        # as a variant of 頃 it would read "time", which technical English uses far more); unless its own
        # entry gives a description, not a word (訓: "native Japanese reading of a Chinese character")
        entries = own
    candidates: list[tuple[str, int]] = []
    for e, entry in enumerate(entries[:3]):
        for gloss in (entry.senses[0].gloss[:4] if entry.senses else []):
            text = re.sub(r"^to\s+", "", _PAREN.sub("", gloss.text).strip())
            if text:
                candidates.append((text, e))
    # The word's own later noun senses (同期: "same period", then "synchronization"), which only its compounds
    # (同期化, 非同期, 同期信号) can bring forward: a word's count in technical English says nothing of which word
    # it translates
    later: set[str] = set()
    if entries and len(term) >= 2:
        for k, sense in enumerate(entries[0].senses[1:LATER_SENSES + 1], 1):
            if not any(p == "noun (common) (futsuumeishi)" or p.startswith("noun or participle") for p in sense.pos):
                continue
            for gloss in sense.gloss[:4]:
                text = re.sub(r"^to\s+", "", _PAREN.sub("", gloss.text).strip())
                if text and all(text != c for c, _ in candidates):
                    candidates.append((text, k))
                    later.add(text)
    if not candidates:
        return None
    first = candidates[0][0]
    if first.upper() != first:  # an abbreviation (AI, R&D) never replaces the words it stands for
        candidates = [(text, e) for text, e in candidates if text.upper() != text]
    if len(candidates) == 1:
        return first
    # A word's count in technical English is of every sense it has there ("ability to ...", a system's
    # "availability"), not of this word's: the dictionary's compounds of the word say which of its glosses
    # technical Japanese means by it (性能評価 "performance evaluation", 高性能 "high performance": not "ability").
    compounds = _compound_glosses(term)
    votes = {text: COMPOUND_WEIGHT * math.log1p(_said_by(text, compounds)) for text, _ in candidates}
    best, best_score = first, _usage(first) + votes[first] + SENSE_MARGIN
    for text, e in candidates[1:]:
        if text in later and votes[text] < votes[first] + LATER_SENSE_VOTES:
            continue  # a later sense only where the word's compounds say it clearly more than the first
        score = _usage(text) + votes[text] - ENTRY_PENALTY * e
        if score > best_score and len(text.split()) <= len(first.split()):
            best, best_score = text, score
    if best == first and _usage(first) == 0:
        # a phrase never seen whole is weighed by its words here
        best_score = _word_usage(first) + votes[first] + SENSE_MARGIN
        # A first gloss technical English never uses that no gloss as short replaces (発電機: "dynamo") gives
        # way to a longer one it uses ("power generator"); a gloss as short wins first (劣化: "degradation",
        # not "drop in quality", whose common words score high); a later sense too (当社: "shrine", then "company")
        for text, e in candidates[1:]:
            score = _word_usage(text) + votes[text] - ENTRY_PENALTY * e
            if score > best_score and len(text.split()) <= MAX_GLOSS_WORDS:
                best, best_score = text, score
    return best


def _said_by(gloss: str, compounds: list[frozenset[str]]) -> int:
    """How many compounds' glosses say every content word of `gloss` (a word or a form of it: "respiration" in
    "respiratory")."""
    words = _content_words(gloss)
    if not words:
        return 0
    return sum(1 for said in compounds if all(any(_same_word(w, s) for s in said) for w in words))


def _same_word(a: str, b: str) -> bool:
    """The same English word or a form of it: sharing 5 letters or more and 70% of the shorter word, or 6 and 70%
    of the shorter stem (`_stem`): performance/performances, likelihood/likely, measuring/measurement,
    synthesis/synthetic, respiration/respiratory."""
    if a == b or _shared(a, b) >= max(5, 0.7 * min(len(a), len(b))):
        return True
    a, b = _stem(a), _stem(b)
    return _shared(a, b) >= max(6, 0.7 * min(len(a), len(b)))


def _shared(a: str, b: str) -> int:
    n = 0
    for x, y in zip(a, b):
        if x != y:
            break
        n += 1
    return n


_SUFFIXES = ("ements", "ement", "ments", "ment", "ations", "ation", "ities", "ity", "ings", "ing", "ions", "ion",
             "ical", "ory", "ic", "al", "ies", "es", "ed", "s", "e", "y")


def _stem(word: str) -> str:
    """`word` without one common English ending, at least 4 letters kept."""
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            return word[: -len(suffix)]
    return word


@lru_cache(maxsize=20_000)
def _compound_glosses(term: str) -> list[frozenset[str]]:
    """The words of the first-sense glosses of each JMdict entry whose kanji headword holds `term` and is
    longer (by COMPOUND_EXTRA_CHARS at most): 性能 -> 高性能 {high, performance, efficiency}, 性能評価 {benchmark}, ...;
    none for a single character (経's compounds are sutras, 経る's "pass" aside)."""
    index = _headword_index()
    if index is None or len(term) < 2:  # a single kanji's compounds are the character's senses, not the word's
        return []
    joined, starts, ids, conn = index
    found: list[int] = []
    at = joined.find(term)
    while at >= 0:
        k = bisect.bisect_right(starts, at) - 1
        end = starts[k + 1] - 1 if k + 1 < len(starts) else len(joined)
        if len(term) < end - starts[k] <= len(term) + COMPOUND_EXTRA_CHARS:
            found.append(ids[k])
        at = joined.find(term, at + 1)
    if not found:
        return []
    words: dict[int, set[str]] = {}
    found = list(dict.fromkeys(found))
    rows = []
    for i in range(0, len(found), 500):
        chunk = found[i:i + 500]
        with _HEADWORDS_LOCK:  # one connection, shared by the threads
            rows += conn.execute(
                "SELECT s.idseq, g.text FROM Sense s JOIN SenseGloss g ON g.sid = s.ID WHERE s.idseq IN "
                f"({','.join('?' * len(chunk))}) AND s.ID = (SELECT min(ID) FROM Sense WHERE idseq = s.idseq)",
                chunk).fetchall()
    for idseq, text in rows:
        words.setdefault(idseq, set()).update(re.findall(r"[a-z]+", _PAREN.sub("", text).lower()))
    return [frozenset(w) for w in words.values()]


_HEADWORDS = None
_HEADWORDS_LOCK = threading.Lock()


def _headword_index():
    """Every kanji headword of JMdict in one string, for finding the compounds that hold a word (loaded once per
    process when a sense is first chosen: about 0.16 s of CPU); None without the dictionary's data."""
    global _HEADWORDS
    with _HEADWORDS_LOCK:
        if _HEADWORDS is None:
            from nlp.katakana import jmdict_path

            path = jmdict_path()
            if path is None:
                _HEADWORDS = ()
            else:
                conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
                rows = conn.execute("SELECT idseq, text FROM Kanji").fetchall()
                starts, at = [], 0
                for _, text in rows:
                    starts.append(at)
                    at += len(text) + 1
                _HEADWORDS = ("\n".join(text for _, text in rows), starts, [idseq for idseq, _ in rows], conn)
        return _HEADWORDS or None


def _form_rank(entry, term: str) -> int:
    """0: `term` is the entry's headword (its first kanji form, or first kana form when it has no kanji);
    1: a form of it marked common (a priority tag); 2: a rare variant spelling of the entry."""
    kanji, kana = list(entry.kanji_forms), list(entry.kana_forms)
    first = kanji[0].text if kanji else (kana[0].text if kana else None)
    if first == term:
        return 0
    return 1 if any(f.text == term and f.pri for f in (*kanji, *kana)) else 2


def _by_headword(entries, term: str) -> list:
    """Entries where `term` is the headword first (stable): JMdict lists entries by id, and a word that is
    only a variant spelling of another entry is seldom meant by it (銀 is the entry "silver"; as a variant of
    金 it reads "money")."""
    return sorted(entries, key=lambda entry: _form_rank(entry, term))


@lru_cache(maxsize=4096)
def prefix_gloss(term: str) -> str | None:
    """English for a Sino-Japanese prefix (高 -> high, 非 -> un-, 多 -> multi-): the first gloss of the first
    sense JMdict marks as a prefix, when it is a word or two (not a usage note such as "indicates ...")."""
    try:
        result = _shared_jamdict().lookup(term, strict_lookup=True, lookup_chars=False, lookup_ne=False)
    except Exception:
        return None
    for entry in _by_headword(result.entries, term):
        if _form_rank(entry, term) == 2:
            continue
        for sense in entry.senses:
            if "prefix" in sense.pos and sense.gloss:
                text = _PAREN.sub("", sense.gloss[0].text).strip()
                if text and "..." not in text and len(text.split()) <= 2:
                    return text
                return None
    return None


@lru_cache(maxsize=100_000)
def _other_glosses(term: str, chosen: str) -> tuple[str, ...]:
    """The glosses of the first sense of the entry `term` heads, but `chosen` (at most three; none for a
    taxonomy label or a loanword JMdict lacks)."""
    if _shared_jamdict is None or not term.strip():
        return ()
    try:
        result = _shared_jamdict().lookup(term, strict_lookup=True, lookup_chars=False, lookup_ne=False)
    except Exception:
        return ()
    entries = _by_headword(result.entries, term)
    if not entries or not entries[0].senses:
        return ()
    glosses = [re.sub(r"^to\s+", "", _PAREN.sub("", g.text).strip()) for g in entries[0].senses[0].gloss]
    return tuple(g for g in dict.fromkeys(glosses) if g and g != chosen)[:3]


SENSE_FREQ_PATH = Path(__file__).with_name("en_sense_freq.txt")
_FUNCTION_WORDS = frozenset("a an the of to in on for with by and or as at from one's something someone etc".split())


def _usage(gloss: str) -> float:
    """How much technical English uses a gloss (log count in nlp/en_sense_freq.txt, a word's plural counted
    with it): a word by its count; a phrase by how often its content words stand side by side there (the mean
    over its adjacent pairs), not by how common they are apart ("injured person" is two common words technical
    English seldom puts together; it says "casualty"). 0 for none known."""
    words = _content_words(gloss)
    if len(words) < 2:
        return _word_usage(gloss)
    freq = _sense_freq()
    pairs = list(zip(words, words[1:]))
    return sum(math.log1p(_count(freq, b, a)) for a, b in pairs) / len(pairs)


def _word_usage(gloss: str) -> float:
    """The mean log count of a gloss's content words, each alone."""
    freq = _sense_freq()
    words = _content_words(gloss)
    return sum(math.log1p(_count(freq, w)) for w in words) / len(words) if words else 0.0


def _content_words(gloss: str) -> list[str]:
    return [w for w in re.findall(r"[a-z]+", gloss.lower()) if w not in _FUNCTION_WORDS]


def _count(freq: dict[str, int], word: str, before: str | None = None) -> int:
    """The count of `word` (after `before`, as a pair) and of its plural."""
    key = f"{before} {word}" if before else word
    plural = english_plural(word)
    return freq.get(key, 0) + freq.get(f"{before} {plural}" if before else plural, 0)


@lru_cache(maxsize=1)
def _sense_freq() -> dict[str, int]:
    return read_counts(SENSE_FREQ_PATH)


_PER_THREAD = threading.local()


def _shared_jamdict():
    """This thread's JMdict. Jamdict keeps the SQLite connection it opened, which only its thread may use: one
    shared by every thread failed every lookup made from a second thread (a web request's, a helper's) and the
    failure was cached as "no entry", so a sentence rendered there lost every word JMdict glosses ("this study
    metasurface use thin broadband radar absorbing material design" read "metasurface radar absorbing material")."""
    jmd = getattr(_PER_THREAD, "jamdict", None)
    if jmd is None:
        from jamdict import Jamdict

        jmd = _PER_THREAD.jamdict = Jamdict(memory_mode=False)
    return jmd
