"""Research-source queries derived from the published needs, so a new need widens the crawl without editing YAML.

A source argument whose value is `from-needs` (or `from-needs:ja`, `from-needs:en`) is filled in before the
crawl from the needs in the index: their technology concepts (taxonomy labels in the asked language; a
Japanese need's concepts give English queries too, and the other way round) and, in the need's own
language, its key phrases. Terms shared by more needs come first, capped at `max_queries` (the argument
`max_queries` of the same source, default 8).

List-valued arguments (arXiv `keywords`, comma-separated and OR-ed by the spider) receive every query at
once; single-query arguments (J-STAGE `keyword`, KAKEN `kw`, OpenAlex `search`) get one crawl per query,
labelled `spider[query]`. With no needs indexed yet (a first run), such a source is skipped with a warning.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

from domain.models import SourceSpec

log = logging.getLogger(__name__)

FROM_NEEDS = "from-needs"
LIST_ARGS = frozenset({"keywords"})  # arguments a spider splits on commas itself
DEFAULT_MAX_QUERIES = 8
_JA = re.compile(r"[\u3040-\u30ff\u3400-\u9fff]")


@dataclass
class NeedTerms:
    """What a need contributes to the crawl: its concept ids and key phrases, and its language."""

    language: str
    concepts: list[str] = field(default_factory=list)
    keyphrases: list[str] = field(default_factory=list)


def wants_needs(source: SourceSpec) -> bool:
    return any(_is_from_needs(v) for v in source.args.values())


def _is_from_needs(value: str) -> bool:
    return value == FROM_NEEDS or value.startswith(FROM_NEEDS + ":")


def derive_queries(needs: Iterable[NeedTerms], taxonomy: Any, language: str, limit: int) -> list[str]:
    """Crawl queries in `language` ("ja" or "en"), most shared first.

    Concepts are counted once per need, only the most specific ones (a concept that is an ancestor of another
    concept of the same need is left out: "sensors" says less than "quantum sensing"); key phrases count in
    their own language only and need at least two words (English) or four characters (Japanese)."""
    counts: Counter[str] = Counter()
    first_seen: dict[str, int] = {}
    for need in needs:
        concepts = [c for c in need.concepts if c in taxonomy.by_id]
        ancestors = {a for c in concepts for a in taxonomy.ancestors(c)}
        terms: list[str] = []
        for cid in concepts:
            if cid in ancestors or taxonomy.by_id[cid].parent is None:
                continue
            concept = taxonomy.by_id[cid]
            terms.append(concept.ja if language == "ja" else concept.en)
        if need.language == language:
            for phrase in need.keyphrases:
                phrase = " ".join(phrase.split())
                if (len(phrase) >= 4 if _JA.search(phrase) else len(phrase.split()) >= 2) and len(phrase) <= 40:
                    terms.append(phrase)
        for term in dict.fromkeys(t for t in terms if t):
            counts[term] += 1
            first_seen.setdefault(term, len(first_seen))
    ranked = sorted(counts, key=lambda t: (-counts[t], first_seen[t]))
    return ranked[:limit]


def plan_sources(sources: Sequence[SourceSpec], needs: Sequence[NeedTerms], taxonomy: Any) -> list[SourceSpec]:
    """`sources` with every `from-needs` argument filled in (see the module docstring)."""
    out: list[SourceSpec] = []
    for source in sources:
        if not wants_needs(source):
            out.append(source)
            continue
        args = dict(source.args)
        try:
            limit = max(1, int(args.pop("max_queries", DEFAULT_MAX_QUERIES)))
        except ValueError:
            raise ValueError(f"{source.name}: max_queries must be a whole number") from None
        single: list[tuple[str, list[str]]] = []
        for key, value in list(args.items()):
            if not _is_from_needs(value):
                continue
            language = value.partition(":")[2] or "en"
            if language not in ("ja", "en"):
                raise ValueError(f"{source.name}: {key}={value!r}: the language after from-needs: is ja or en")
            queries = derive_queries(needs, taxonomy, language, limit)
            if key not in LIST_ARGS:
                single.append((key, queries))
            elif queries:
                args[key] = ",".join(q.replace(",", " ") for q in queries)
            else:  # a list argument narrows the source's own query: without needs, the source runs unnarrowed
                args.pop(key)
        if not single:
            out.append(source.model_copy(update={"args": args}))
            continue
        if len(single) > 1:
            raise ValueError(f"{source.name}: from-needs in more than one query argument "
                             f"({', '.join(k for k, _ in single)})")
        key, queries = single[0]
        if not queries:
            log.warning("%s: no needs indexed yet to derive its %s queries from; skipped this run", source.name, key)
            continue
        for query in queries:
            out.append(source.model_copy(update={"args": {**args, key: query},
                                                 "label": f"{source.name}[{query}]"}))
    return out
