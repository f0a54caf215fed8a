"""Plain English text analysed without spaCy: what a typed query needs, at a fraction of spaCy's start-up.

A cold `scout search` spent most of its CPU importing spaCy and building the English pipeline
(its tokenizer's regexes and the taxonomy's 6,000 phrase patterns), all to tokenize a few words. Most queries
are plain: ASCII words, numbers and hyphenated words separated by single spaces, perhaps a closing
punctuation mark. For such text spaCy's English tokenizer does something simple and fixed (a hyphen between
letters is split off, a closing mark after a letter too, a full stop only after a lower-case letter, everything
else is one token), except for its special
cases ("cannot" -> "can" "not"), which are looked up. `PlainEnglish.tokens()` does exactly that and returns
None for any other text, which then goes to spaCy as before.

The tables come from the live spaCy pipeline, never written by hand: the tokenizer's special cases, the stop
words, and the taxonomy matcher's patterns as spaCy tokenized them. The first process that builds the English
pipeline saves them (`$SCOUT_HOME/models/plain-english-<key>.json`, keyed by spaCy's version and the taxonomy
file's content), like the ONNX export; until then queries take the spaCy path. `tests/nlp/test_plain_english.py`
holds the two paths equal on real titles and made-up awkward strings.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from domain.files import write_secret
from nlp.taxonomy import NOT_BEFORE

FORMAT = 1
_ALLOWED = re.compile(r"[A-Za-z0-9 ,.;:!?-]+")
# One whitespace-separated chunk: letters (then digits: "F35"), digits alone, or letters joined by hyphens.
# Digits followed by letters are left to spaCy: its suffix rules split units ("10km") but not "3D".
_CHUNK = re.compile(r"[A-Za-z]+[0-9]*|[0-9]+|[A-Za-z]+(?:-[A-Za-z]+)+")
_CLOSING = ",.;:!?"
PUNCT = frozenset("-" + _CLOSING)


@dataclass(frozen=True)
class PlainEnglish:
    """spaCy's English tokens and taxonomy matches for plain text, from tables saved by the spaCy pipeline.

    `patterns` maps a token attribute ("lower", "norm", "orth", the taxonomy matcher's three phrase matchers,
    in its order) to {pattern tokens joined by U+001F: concept id}."""

    special_cases: frozenset[str]
    stop_words: frozenset[str]
    patterns: dict[str, dict[str, str]]
    longest: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "longest", {attr: max((k.count("\x1f") + 1 for k in table), default=0)
                                             for attr, table in self.patterns.items()})

    def tokens(self, text: str) -> list[str] | None:
        """The texts of spaCy's tokens of `text` when it is plain, else None."""
        if not text or not _ALLOWED.fullmatch(text) or text[0] == " " or text[-1] == " " or "  " in text:
            return None
        out: list[str] = []
        for chunk in text.split(" "):
            core, closing = chunk, ""
            if chunk in self.special_cases:
                return None
            # spaCy splits a closing mark off after a letter, but a full stop only after a lower-case one
            # ("radar." -> "radar" "."; "E. coli" keeps "E.")
            if (chunk[-1] in _CLOSING and len(chunk) > 1 and chunk[-2].isalpha()
                    and (chunk[-1] != "." or chunk[-2].islower())):
                core, closing = chunk[:-1], chunk[-1]
            if core in self.special_cases or not _CHUNK.fullmatch(core):
                return None
            if "-" in core:
                parts = core.split("-")
                # spaCy may read a piece as a special case ("...-co." keeps "co."): leave those to it
                if closing or any(part in self.special_cases for part in parts):
                    return None
                for i, part in enumerate(parts):
                    if i:
                        out.append("-")
                    out.append(part)
            else:
                out.append(core)
            if closing:
                out.append(closing)
        return out

    def concept_ids(self, tokens: list[str]) -> list[str]:
        """The taxonomy matcher's concepts for these tokens, in text order: every pattern match of the
        three matchers, then spaCy's `filter_spans` (longest first, then earliest; no overlaps)."""
        keys = {"lower": [t.lower() for t in tokens], "orth": tokens}
        keys["norm"] = keys["lower"]  # a plain token's NORM is its lower case (special cases are refused)
        spans: list[tuple[int, int, str]] = []
        for attr in ("lower", "norm", "orth"):
            table, words = self.patterns.get(attr, {}), keys[attr]
            if not table:
                continue
            longest = self.longest[attr]
            for start in range(len(words)):
                for end in range(start + 1, min(len(words), start + longest) + 1):
                    cid = table.get("\x1f".join(words[start:end]))
                    if cid is not None and not (end - start == 1 and end < len(words)
                                                and keys["lower"][end] in NOT_BEFORE.get(keys["lower"][start], ())):
                        spans.append((start, end, cid))
        chosen: list[tuple[int, int, str]] = []
        taken: set[int] = set()
        for start, end, cid in sorted(spans, key=lambda s: (s[1] - s[0], -s[0]), reverse=True):
            if not taken.intersection(range(start, end)):
                chosen.append((start, end, cid))
                taken.update(range(start, end))
        return [cid for _, _, cid in sorted(chosen)]

    # -- tables ---------------------------------------------------------------------------------------------
    @classmethod
    def from_pipeline(cls, nlp) -> "PlainEnglish":
        """The tables of a built English pipeline (`nlp.components.get_pipeline("en")`)."""
        matcher = nlp.get_pipe("dualscout_taxonomy")
        return cls(special_cases=frozenset(nlp.tokenizer.rules), stop_words=frozenset(nlp.Defaults.stop_words),
                   patterns={attr: dict(table) for attr, table in matcher.pattern_keys.items()})

    def save(self, path: Path) -> None:
        # written whole and renamed over: a reader sees the old file or the whole new one
        write_secret(path, json.dumps({"format": FORMAT, "special_cases": sorted(self.special_cases),
                                       "stop_words": sorted(self.stop_words), "patterns": self.patterns},
                                      ensure_ascii=False))

    @classmethod
    def load(cls, path: Path) -> "PlainEnglish | None":
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            return None
        return cls(frozenset(data["special_cases"]), frozenset(data["stop_words"]), data["patterns"])


def tables_path(models_dir: Path, taxonomy_file: Path) -> Path:
    """Where the tables for this spaCy version and taxonomy file live."""
    from nlp.cache import installed_versions  # not importlib.metadata: its look-up scans every path entry

    spacy_version = installed_versions().get("spacy", "none")
    digest = hashlib.sha1(f"{FORMAT}\n{spacy_version}\n".encode() + taxonomy_file.read_bytes()).hexdigest()[:12]
    return models_dir / f"plain-english-{digest}.json"
