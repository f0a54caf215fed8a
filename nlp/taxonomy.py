"""The bilingual technology taxonomy (`nlp/taxonomy.yaml`): concepts with English and Japanese labels,
synonyms and abbreviations, a parent, and the critical-technology areas they belong to."""

from __future__ import annotations

import hashlib
import json
import os
from collections import Counter
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from domain.files import write_secret

BUNDLED_TAXONOMY = Path(__file__).with_name("taxonomy.yaml")

# Sense checks for one-word English labels that are also common adjectives: the label is no match when the
# next word shows the other sense ("composite model", "composite score", "explosive growth"); "composite
# panels" and "explosive detection" still match. Both matchers (nlp.components, nlp.plain_english) apply it.
NOT_BEFORE: dict[str, frozenset[str]] = {
    "composite": frozenset(
        "model models score scores index indices image images function functions signal signals kernel kernels "
        "likelihood key keys video indicator indicators variable variables measure measures metric metrics number "
        "numbers endpoint endpoints outcome outcomes feature features pattern patterns distribution distributions "
        "estimate estimates estimator hypothesis view views service services application applications query "
        "queries event events operator operators type types object objects".split()),
    "explosive": frozenset("growth increase increases rise demand expansion popularity development".split()),
}


AREA_SCHEMES = {"jp": "Japan", "us": "US"}  # an area's scheme as the screens name it


class Area(BaseModel):
    """A critical-technology area: Japan's 特定重要技術 (scheme `jp`) or the US CET list (scheme `us`)."""

    # A field it does not know is an error: an unquoted comma in a YAML flow mapping ("en: Data science,
    # analytics, ...") cut the label at the comma and made the rest stray keys, shown on every screen as "Data science".
    model_config = ConfigDict(extra="forbid")

    id: str
    scheme: Literal["jp", "us"]
    en: str
    ja: str


class Concept(BaseModel):
    id: str
    en: str
    ja: str
    synonyms_en: list[str] = Field(default_factory=list)
    synonyms_ja: list[str] = Field(default_factory=list)
    abbreviations: list[str] = Field(default_factory=list)  # matched case-sensitively
    parent: str | None = None
    areas: list[str] = Field(default_factory=list)

    def labels_en(self) -> list[str]:
        return [self.en, *self.synonyms_en]

    def labels_ja(self) -> list[str]:
        return [self.ja, *self.synonyms_ja]


class Taxonomy(BaseModel):
    version: int = 1
    areas: list[Area]
    concepts: list[Concept]

    @model_validator(mode="after")
    def _check_references(self) -> "Taxonomy":
        area_ids = {a.id for a in self.areas}
        concept_ids: set[str] = set()
        for concept in self.concepts:
            if concept.id in concept_ids:
                raise ValueError(f"duplicate concept id {concept.id!r}")
            concept_ids.add(concept.id)
        for concept in self.concepts:
            if concept.parent is not None and concept.parent not in concept_ids:
                raise ValueError(f"concept {concept.id!r} has unknown parent {concept.parent!r}")
            unknown = [a for a in concept.areas if a not in area_ids]
            if unknown:
                raise ValueError(f"concept {concept.id!r} names unknown areas {unknown}")
        # A parent cycle would silently cut ancestors() and areas_of() short: refuse it at load time.
        parents = {c.id: c.parent for c in self.concepts}
        for concept_id in parents:
            seen: list[str] = []
            node: str | None = concept_id
            while node is not None:
                if node in seen:
                    cycle = " -> ".join([*seen[seen.index(node):], node])
                    raise ValueError(f"concept parents form a cycle: {cycle}")
                seen.append(node)
                node = parents[node]
        return self

    @cached_property
    def by_id(self) -> dict[str, Concept]:
        return {c.id: c for c in self.concepts}

    @cached_property
    def areas_by_id(self) -> dict[str, Area]:
        return {a.id: a for a in self.areas}

    @cached_property
    def area_labels(self) -> dict[str, str]:
        """Each area's English label as the screens name it: two schemes name some areas alike (Japan's and
        the US's "Hypersonics"), and such labels carry their scheme ("Hypersonics (Japan)")."""
        seen = Counter(a.en for a in self.areas)
        return {a.id: a.en if seen[a.en] == 1 else f"{a.en} ({AREA_SCHEMES.get(a.scheme, a.scheme)})"
                for a in self.areas}

    def get(self, concept_id: str) -> Concept:
        return self.by_id[concept_id]

    def ancestors(self, concept_id: str) -> list[str]:
        out: list[str] = []
        parent = self.by_id[concept_id].parent
        while parent is not None and parent not in out:
            out.append(parent)
            parent = self.by_id[parent].parent
        return out

    def areas_of(self, concept_id: str) -> list[str]:
        """A concept's areas, inherited from its ancestors when it names none itself."""
        for cid in [concept_id, *self.ancestors(concept_id)]:
            if self.by_id[cid].areas:
                return list(self.by_id[cid].areas)
        return []


def load_taxonomy(path: Path | None = None, parsed_cache: Path | None = None) -> Taxonomy:
    """The taxonomy at `path` (default: the bundled one). With `parsed_cache` (a folder), the parsed YAML is
    kept there as JSON under the file's content hash: JSON reads far faster than even libyaml parses the
    bundled file, which a cold query would otherwise pay for."""
    path = Path(path) if path else BUNDLED_TAXONOMY
    raw = path.read_bytes()
    cached = parsed_cache / f"taxonomy-{hashlib.sha1(raw).hexdigest()[:16]}.json" if parsed_cache else None
    data = None
    if cached is not None:
        try:
            data = json.loads(cached.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            data = None
    if data is None:
        # libyaml's loader where installed: the pure-Python one is several times slower on the bundled taxonomy
        data = yaml.load(raw.decode("utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
        if cached is not None and isinstance(data, dict):
            try:
                text = json.dumps(data, ensure_ascii=False)
                if json.loads(text) == data:  # only what JSON keeps exactly (no dates, no non-string keys)
                    write_secret(cached, text)  # whole and renamed over: never half a file to a reader
            except (OSError, TypeError, ValueError):
                pass  # the parse again next time, nothing else
    if not isinstance(data, dict):
        raise ValueError(f"{path}: a taxonomy is a mapping with 'areas' and 'concepts'")
    return Taxonomy.model_validate(data)


@lru_cache(maxsize=8)
def cached_taxonomy(path: str = "") -> Taxonomy:
    """The taxonomy at `path` (empty: the bundled one), loaded once per process (parsed once per file
    content, into the models folder: SCOUT_NLP_ONNX_DIR or $SCOUT_HOME/models)."""
    from domain.settings import NlpSettings

    return load_taxonomy(Path(path) if path else None, parsed_cache=NlpSettings().models_dir)


def configured_taxonomy() -> Taxonomy:
    """The taxonomy the index is analysed with: SCOUT_NLP_TAXONOMY_PATH, or the bundled one."""
    return cached_taxonomy(configured_taxonomy_path())


def configured_taxonomy_path() -> str:
    """SCOUT_NLP_TAXONOMY_PATH as NlpSettings reads it ("": the bundled taxonomy), worked out once per value of
    the variable: building the settings reads the whole environment (3-6 ms), and evidence and the CLI's tables
    ask for every match."""
    return _configured_path(os.environ.get("SCOUT_NLP_TAXONOMY_PATH"))


@lru_cache(maxsize=8)
def _configured_path(setting: str | None) -> str:
    from domain.settings import NlpSettings

    return str(NlpSettings().taxonomy_path or "")
